"""Unit tests of the grading sandbox and the clean re-check (class-wide: test_hostile_*.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import types
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, read_nb

from grader.containment import sandbox
from grader.containment import warm as warm_kernels
from grader.containment.kernels import shown_paths
from grader.recheck import recheck, student_side


def _nb(*cells):
    """A notebook of (grade_id or None, kind, source); kind: solution, test, given or plain."""
    nb = nbformat.v4.new_notebook()
    for gid, kind, source in cells:
        cell = nbformat.v4.new_code_cell(source)
        if gid:
            cell.metadata["nbgrader"] = {"grade_id": gid, "solution": kind == "solution",
                                         "grade": kind == "test", "locked": kind != "solution"}
        nb.cells.append(cell)
    return nb


SOURCE = _nb(("imports", "given", "import math"), ("f", "solution", "def f(): ..."),
             ("test-f", "test", "assert f() == 1"), ("g", "solution", "def g(): ..."),
             ("test-g", "test", "assert g() == 2"))


def _kinds(cells):
    return [(c["kind"], c["grade_id"], c["code"]) for c in cells]


def test_plan_takes_tests_from_source_and_answers_from_the_student():
    student = _nb(("imports", "given", "import os  # edited"), ("f", "solution", "def f(): return 1"),
                  ("test-f", "test", "pass  # edited"), (None, "plain", "x = 3"),
                  ("g", "solution", "def g(): return 2"), ("test-g", "test", "assert g() == 2"))
    assert _kinds(recheck.plan(SOURCE, student)) == [
        ("given", "imports", "import math"), ("student", "f", "def f(): return 1"),
        ("test", "test-f", "assert f() == 1"), ("student", None, "x = 3"),
        ("student", "g", "def g(): return 2"), ("test", "test-g", "assert g() == 2")]


def test_plan_puts_a_deleted_test_back_after_the_cell_before_it():
    student = _nb(("imports", "given", "import math"), ("f", "solution", "def f(): return 1"),
                  ("g", "solution", "def g(): return 2"), ("test-g", "test", ""))
    plan = _kinds(recheck.plan(SOURCE, student))
    assert [k[1] for k in plan] == ["imports", "f", "test-f", "g", "test-g"]
    assert plan[2] == ("test", "test-f", "assert f() == 1")


def test_plan_runs_a_duplicated_test_once_from_source():
    student = _nb(("imports", "given", "import math"), ("f", "solution", "def f(): return 1"),
                  ("test-f", "test", "assert f() == 1"), ("test-f", "test", "pass"),
                  ("g", "solution", "def g(): return 2"), ("test-g", "test", ""))
    plan = recheck.plan(SOURCE, student)
    assert [c["kind"] for c in plan if c["grade_id"] == "test-f"] == ["test", "student"]


def test_the_recheck_stops_where_nothing_after_it_can_lower_a_score_or_show_tampering():
    stubs = {"f": "def f(): raise NotImplementedError", "g": "def g(): raise NotImplementedError"}
    student = _nb(("imports", "given", "import math"), ("f", "solution", stubs["f"]),
                  ("test-f", "test", ""), ("g", "solution", stubs["g"]), ("test-g", "test", ""))
    plan = recheck.plan(SOURCE, student)
    assert recheck.until_last(plan, set(), stubs) == []  # blank, nothing passed: nothing to run
    assert [c["grade_id"] for c in recheck.until_last(plan, {"test-f"}, stubs)] == [
        "imports", "f", "test-f"]  # g is its stub and nbgrader failed test-g
    plan[3]["code"] = "def g(): return 2"  # the student's own g: run, with the test that calls it
    assert [c["grade_id"] for c in recheck.until_last(plan, set(), stubs)] == [
        "imports", "f", "test-f", "g", "test-g"]
    plan.append({"kind": "student", "grade_id": None, "code": "x = 1"})  # a cell of their own
    assert len(recheck.until_last(plan, set(), stubs)) == len(plan)


def test_guard_names_and_undoes_changes():
    module = types.ModuleType("helpers.fake")

    def check(x):
        return x

    module.check, module.value = check, 1
    guard = student_side.Guard([module])
    assert guard.changed() == []
    module.check = lambda x: None
    check.__code__ = (lambda x: None).__code__
    module.value = 2
    changed = guard.changed()
    assert "helpers.fake.check" in changed and "helpers.fake.value" in changed
    assert any("(its code)" in item for item in changed)
    guard.restore()
    assert guard.changed() == [] and module.check is check and module.check(5) == 5


def _change_one(kind: str, module, check, cls) -> str:
    """Make one kind of change the guard must see on its own; what it should name."""
    if kind == "attribute":
        module.value = 2
        return "helpers.fake.value"
    if kind == "deleted":
        del module.value
        return "helpers.fake.value"
    if kind == "code":
        check.__code__ = (lambda x: None).__code__
        return "(its code)"
    if kind == "defaults":
        check.__defaults__ = (3,)
        return "(its code)"
    if kind == "class":
        cls.size = lambda self: 0
        return "(its attributes)"
    if kind == "sys hook":
        sys.excepthook = lambda *args: None
        return "sys.excepthook"
    sys.setprofile(lambda *args: None)
    return "a tracer"


@pytest.mark.parametrize("kind", ["attribute", "deleted", "code", "defaults", "class", "sys hook", "tracer"])
def test_guard_sees_each_kind_of_change_on_its_own(kind):
    module = types.ModuleType("helpers.fake")

    def check(x=1):
        return x

    cls = type("Shape", (), {"__module__": "helpers.fake", "size": lambda self: 1})
    module.check, module.value, module.Shape = check, 1, cls
    guard = student_side.Guard([module])
    assert guard.changed() == []
    hook = sys.excepthook
    try:
        expected = _change_one(kind, module, check, cls)
        changed = guard.changed()
    finally:
        sys.setprofile(None)
        sys.excepthook = hook
    assert any(expected in item for item in changed), changed
    guard.restore()
    assert guard.changed() == []


def _solved_gradients(tmp_path, extra: str = ""):
    from test_autograde import solution_sources, submission

    src = ROOT / "source" / "01_gradients" / "gradients.ipynb"
    nb = submission(read_nb(ROOT / "release" / "01_gradients" / src.name), solution_sources(read_nb(src)))
    if extra:
        nb.cells.insert(2, nbformat.v4.new_code_cell(extra))
    path = tmp_path / src.name
    nbformat.write(nb, str(path))
    return src, path


def test_recheck_passes_a_correct_notebook_and_catches_a_patched_checker(tmp_path):
    src, path = _solved_gradients(tmp_path)
    result = recheck.run(src, path, tmp_path, tmp_path, timeout=30)
    assert result.complete and result.tampered == []
    assert result.passed and all(result.passed.values()), result.passed
    src, path = _solved_gradients(tmp_path, "from helpers import checks\nchecks.check_close = print")
    debug = tmp_path / "recheck-debug.txt"
    os.environ["COURSE_RECHECK_DEBUG"] = str(debug)  # read by the warm runner as it starts
    try:
        warm = recheck.WarmRunner()  # the runner forked from a warm one: the same verdicts
    finally:
        del os.environ["COURSE_RECHECK_DEBUG"]
    try:
        result = recheck.run(src, path, tmp_path, tmp_path, timeout=30, warm=warm)
    finally:
        warm.close()
    assert warm.proc.returncode is not None
    if warm_kernels.usable():  # and its student side forked too, not started anew
        assert "student side forked" in debug.read_text()
    assert "helpers.checks.check_close" in result.tampered
    assert all(result.passed.values())  # undone before the tests ran: a correct notebook still passes


def test_switched_off_sandbox_says_what_is_missing(tmp_path):
    env = {**os.environ, "COURSE_SANDBOX": "off"}
    code = "from grader.containment import sandbox; p = sandbox.detect(); print(p.namespaces, p.missing)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True).stdout
    assert out.startswith("False") and "switched off" in out


@pytest.mark.skipif(not sandbox.detect().namespaces, reason="this machine gives no namespaces")
def test_sandboxed_command_hides_the_course_and_the_network(tmp_path):
    (tmp_path / "secret.txt").write_text("solution")
    secrets = [str(tmp_path / "secret.txt"), str(ROOT / "source")]
    probe = ("import os, socket\n"
             f"print(*[os.path.exists(p) for p in {secrets!r}])\n"
             "try:\n    socket.create_connection(('127.0.0.1', 22), timeout=2)\n    print('net')\n"
             "except OSError:\n    print('no net')\nprint(os.getuid())")
    cmd = sandbox.command([sys.executable, "-c", probe], show=shown_paths(), writable=[],
                          uid=sandbox.new_uid(),
                          hide=[str(tmp_path), str(ROOT)])
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd="/", timeout=60)
    lines = proc.stdout.split("\n")
    assert lines[0] == "False False" and lines[1] == "no net", proc.stdout + proc.stderr
    if sandbox.detect().separate_user:
        assert int(lines[2]) in sandbox.UIDS


def test_autograde_says_at_start_up_what_is_missing(tmp_path):
    from conftest import copy_course

    course = copy_course(tmp_path / "course", with_editions=False)
    # No submissions: the command stops right after its start-up report.
    proc = subprocess.run([str(Path(sys.executable).parent / "course"), "--root", str(course),
                           "autograde", "01_gradients"], capture_output=True, text=True,
                          env={**os.environ, "COURSE_SANDBOX": "off"})
    assert proc.returncode != 0
    assert "grading without full protection" in proc.stderr and "switched off" in proc.stderr


def test_a_submission_that_blocks_nbgrader_is_stopped_and_the_next_is_graded(tmp_path):
    """The watchdog of grading.Worker: past its time limit the worker and its kernel are killed."""
    from conftest import copy_course
    from test_autograde import solution_sources, submission

    from grader import grading
    from grader.course import Course

    root = copy_course(tmp_path / "course", with_editions=False)
    src = root / "source" / "01_gradients" / "gradients.ipynb"
    solved = submission(read_nb(ROOT / "release" / "01_gradients" / src.name), solution_sources(read_nb(src)))
    slow = nbformat.from_dict(solved)
    slow.cells.insert(3, nbformat.v4.new_code_cell("import time\ntime.sleep(30)"))
    for student, nb in (("slow", slow), ("quick", solved)):
        out = root / "submitted" / student / "01_gradients" / src.name
        out.parent.mkdir(parents=True)
        nbformat.write(nb, str(out))
    course = Course(root)
    grading.ensure_in_gradebook(course, "01_gradients")
    worker = grading.Worker(course, "01_gradients")
    seen: set[int] = set()
    watching = threading.Event()

    def watch():  # every process the worker starts while it grades "slow", kernels included
        while not watching.is_set():
            if worker.proc is not None:
                seen.update(_descendants(worker.proc.pid))
            time.sleep(0.2)

    try:
        # First a quick one, so that the limit below is spent in the kernel, not importing nbgrader.
        assert worker.grade("quick", limit=300)["success"]
        watcher = threading.Thread(target=watch)
        watcher.start()
        try:
            blocked = worker.grade("slow", limit=10)
        finally:
            watching.set()
            watcher.join()
        assert not blocked["success"] and "stopped after 10 s" in blocked["log"]
        assert worker.restarts == 1 and seen
        time.sleep(1)
        assert not [pid for pid in seen if _running(pid)], "processes outlived the kill"
        assert worker.grade("quick", limit=300)["success"]
    finally:
        worker.close()


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


_KERNEL_PROBE = """\
import json, os, random, socket, sys
import numpy as np
try:
    socket.create_connection(("127.0.0.1", 22), timeout=2)
    net = True
except OSError:
    net = False
import mine
print(json.dumps({"uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(), "net": net,
                  "seen": [os.path.exists(p) for p in SECRETS], "procs": sorted(
                      int(p) for p in os.listdir("/proc") if p.isdigit()),
                  "mine": mine.VALUE, "draw": [random.random(), float(np.random.rand())],
                  "env": os.environ.get("COURSE_PROBE", "")}))
"""


async def _probe_kernel(cwd: Path, secrets: list[str]) -> tuple[dict, int]:
    """Start a grading kernel (as nbgrader does, through the course's kernel manager) in ``cwd``,
    run the probe in it, shut it down; (what it saw, the pid of its process)."""
    import json

    from grader.containment.kernels import SandboxedKernelManager

    km = SandboxedKernelManager(kernel_name="python3", course_root=str(ROOT))
    await km.start_kernel(cwd=str(cwd), env={**os.environ, "COURSE_PROBE": "kernel's own"})
    pid, forked = km.provisioner.pid, type(km.provisioner.process).__name__ == "Forked"
    kc = km.client()
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=60)
        msg = kc.execute(f"SECRETS = {secrets!r}\n" + _KERNEL_PROBE)
        out = []
        while True:
            reply = await kc.get_iopub_msg(timeout=60)
            if reply["parent_header"].get("msg_id") != msg:
                continue
            if reply["msg_type"] == "stream":
                out.append(reply["content"]["text"])
            elif reply["msg_type"] == "error":
                raise AssertionError(reply["content"]["evalue"])
            elif reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
                break
    finally:
        kc.stop_channels()
        await km.shutdown_kernel(now=True)
    return {**json.loads("".join(out)), "forked": forked}, pid


@pytest.mark.skipif(not sandbox.detect().separate_user, reason="kernels change user only as root")
@pytest.mark.parametrize("warm", ["1", "0"], ids=["forked warm", "started anew"])
def test_a_grading_kernel_is_contained_whether_forked_warm_or_started_anew(tmp_path, monkeypatch, warm):
    import asyncio

    monkeypatch.setenv("COURSE_WARM_KERNELS", warm)
    cwd = tmp_path / "submission"
    cwd.mkdir()
    (cwd / "mine.py").write_text("VALUE = 'the student\\'s own module'\n")
    (tmp_path / "secret.txt").write_text("solution")
    secrets = [str(tmp_path / "secret.txt"), str(ROOT / "source")]
    try:
        seen = [asyncio.run(_probe_kernel(cwd, secrets)) for _ in range(2)]
    finally:
        warm_kernels.close_all()
    for probe, pid in seen:
        assert probe["uid"] in sandbox.UIDS and probe["pid"] == 1 and probe["procs"] == [1]
        assert probe["cwd"] == str(cwd) and probe["mine"] == "the student's own module"
        assert probe["seen"] == [False, False] and not probe["net"]
        assert probe["env"] == "kernel's own" and probe["forked"] == (warm == "1")
        assert not _running(pid), "the kernel outlived its shutdown"
    assert seen[0][0]["uid"] != seen[1][0]["uid"]
    assert seen[0][0]["draw"] != seen[1][0]["draw"], "two kernels drew the same random numbers"


_FORK_PROBE = """
import json, os, socket, sys, time
from grader.containment import kernels, sandbox, warm

secrets, out = json.loads(sys.argv[1]), int(sys.argv[2])
watched = int(sys.argv[3])

def probe():
    try:
        socket.create_connection(("127.0.0.1", 22), timeout=2)
        net = True
    except OSError:
        net = False
    os.write(out, json.dumps({"uid": os.getuid(), "pid": os.getpid(), "net": net,
                              "seen": [os.path.exists(p) for p in secrets]}).encode() + b"\\n")
    os.close(out)
    time.sleep(60)

spec = sandbox.spec(show=kernels.shown_paths(), writable=[], hide=secrets, uid=sandbox.new_uid())
keeper = warm.fork_sandboxed(spec, "/", {"PATH": "/usr/bin:/bin"}, probe, watch=watched)
print(keeper, flush=True)
time.sleep(60)
"""


@pytest.mark.skipif(not warm_kernels.usable(), reason="no warm forks here (not root)")
def test_a_forked_sandbox_is_contained_and_ends_with_the_process_it_serves(tmp_path):
    import json

    (tmp_path / "secret.txt").write_text("solution")
    secrets = [str(tmp_path / "secret.txt"), str(ROOT / "source")]
    served = subprocess.Popen(["sleep", "60"])  # stands for the test runner a student side serves
    read, write = os.pipe()
    forker = subprocess.Popen([sys.executable, "-c", _FORK_PROBE, json.dumps(secrets), str(write),
                               str(served.pid)], pass_fds=(write,), stdout=subprocess.PIPE, text=True)
    os.close(write)
    try:
        keeper = int(forker.stdout.readline())
        with os.fdopen(read) as fh:  # a line: the write end stays open in the processes above
            probe = json.loads(fh.readline())
        assert probe["uid"] in sandbox.UIDS and probe["pid"] == 1
        assert probe["seen"] == [False, False] and not probe["net"]
        sandboxed = [p for p in _descendants(keeper)]
        assert _running(keeper) and sandboxed and all(_running(p) for p in sandboxed)
        served.kill()
        served.wait()
        deadline = time.monotonic() + 10
        while (_running(keeper) or any(map(_running, sandboxed))) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _running(keeper) and not any(map(_running, sandboxed)), "outlived what it served"
    finally:
        forker.kill()
        forker.wait()
        served.kill()
        served.wait()


@pytest.mark.parametrize(("code", "outside"), [
    ("rng = f(0)\nprint(rng)", {"f", "print"}),  # its own rng, bound first
    ("print(rng)\nrng = 1", {"print", "rng"}),  # read before it binds it
    ("for k in ks:\n    use(k)\nuse(k)", {"ks", "use", "k"}),  # a loop may not run
    ("x = 1\ndef g():\n    return x\ng()", {"x"}),  # a function reads when it runs
    ("h = lambda: y\ny = 2", {"y"}),
    ("total = sum(v * w for v in vals)", {"sum", "w", "vals"}),  # a generator's own v
    ("[(a, b) for a in xs for b in a]", {"xs"}),
    ("if c:\n    y = 1\nelse:\n    y = 2\nprint(y)", {"c", "print"}),  # bound on both ways
    ("if c:\n    y = 1\nprint(y)", {"c", "print", "y"}),
    ("try:\n    z = 1\nexcept E as e:\n    print(e)\nprint(z)", {"E", "print", "z"}),
    ("with open(p) as fh:\n    fh.read()\nfh.close()", {"open", "p"}),
    ("x += 1", {"x"}),
    ("x = 1\ndel x\nprint(x)", {"x", "print"}),  # deletes: every name
    ("%matplotlib inline\nimport numpy as np\nnp.zeros(1)", {"get_ipython"}),
])
def test_the_instructors_cells_read_only_the_names_they_do_not_bind_first(code, outside):
    assert recheck.reads_from_outside(code) == outside
    assert recheck.reads_from_outside("def (") is None


def test_idle_demos_are_the_demo_cells_no_other_cell_reads():
    def cell(code, **meta):
        made = nbformat.v4.new_code_cell(code)
        if meta:
            made.metadata["nbgrader"] = meta
        return made

    plot, data = "plt.plot(curve)", "X_demo = make(3)"
    release = nbformat.v4.new_notebook(cells=[cell("import math", grade_id="imports", locked=True),
                                              cell(plot), cell(data)])
    graded = nbformat.v4.new_notebook(cells=[
        release.cells[0], cell(plot), cell(data), nbformat.v4.new_markdown_cell("X_demo"),
        cell("def f(): return 1", grade_id="f", solution=True),
        cell("assert f() == 1\n### BEGIN HIDDEN TESTS\nassert X_demo\n### END HIDDEN TESTS",
             grade_id="test-f", grade=True, points=1)])
    assert recheck.idle_demos(graded, release) == {1}  # the hidden test reads X_demo
    graded.cells[5].source = "assert f() == 1"
    assert recheck.idle_demos(graded, release) == {1, 2}
    graded.cells[4].source = "def f(): return len(X_demo)"  # the student's answer reads it
    assert recheck.idle_demos(graded, release) == {1}
    assert recheck.idle_demos(graded, None) == set()  # nothing known of the release: all run


def test_the_recheck_leaves_out_demo_cells_nothing_else_reads():
    demo = "fig = plt.figure()\nplt.plot([1, 2])"
    reads = "curve = [1, 2]"
    cells = [{"kind": "given", "grade_id": "imports", "code": "%matplotlib inline\nimport math"},
             {"kind": "student", "grade_id": None, "code": demo},
             {"kind": "student", "grade_id": None, "code": reads},
             {"kind": "student", "grade_id": "f", "code": "def f(): return len(curve)"},
             {"kind": "student", "grade_id": None, "code": "mine = 1"},  # the student's own cell
             {"kind": "test", "grade_id": "test-f", "code": "assert f() == 2"}]
    demos = {demo, reads}
    kept = [c["code"] for c in recheck.without_demos(cells, demos)]
    assert demo not in kept and reads in kept and "mine = 1" in kept and len(kept) == 5
    edited = [*cells[:1], {**cells[1], "code": demo + "\ncurve = 3"}, *cells[2:]]
    assert len(recheck.without_demos(edited, demos)) == 6  # edited: the student's own code
    dynamic = [*cells, {"kind": "student", "grade_id": "g", "code": "def g(): return globals()['fig']"}]
    assert len(recheck.without_demos(dynamic, demos)) == 7  # read by other ways: all stay
    seeded = [{**cells[1], "code": "np.random.seed(0)"}, *cells[2:]]
    assert len(recheck.without_demos(seeded, {"np.random.seed(0)", reads})) == 5
    # Demos as released count as no one's code when the re-check is cut short.
    assert recheck.until_last(cells[:3], set(), {}, demos) == []


def test_cells_are_transformed_once_and_runners_take_the_graders_transform():
    code = "%matplotlib inline\nx = 1"
    python = recheck.python_of(code)
    assert "get_ipython().run_line_magic" in python and recheck.python_of(code) is python
    recheck.remember_python([{"code": "y = !ls", "python": "y = ['given']\n"}, {"code": 3, "python": "x"}])
    assert recheck.python_of("y = !ls") == "y = ['given']\n"
