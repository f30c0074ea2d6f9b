"""The corpus of faulty and hostile submissions, and the class that grades them.

Every case is a submission of the first assignment (one is another assignment's notebook), built
from the real release notebook, with its expected score and status asserted; some also assert
what the graded notebook shows (an allocation refused, a fork refused, nothing found on disk).
Each hostile case bounds itself (a few hundred processes that exit, 12 GB asked for and never
touched, a 300 MB file, loops that end after two minutes), so that a missing protection fails its
test instead of harming the machine. A class uses a 10-second cell timeout to keep this quick.

The corpus is graded as two classes, by two test modules that may run at the same time:
``test_hostile_code.py`` (what student code does when it runs) and ``test_hostile_files.py``
(what the submitted file holds: its cells, their metadata, its bytes).
"""

from __future__ import annotations

import copy
import csv
import hashlib
import os
import socket
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, copy_course, nbgrader_meta, read_nb, run_course
from test_autograde import points, solution_sources, submission

ASSIGNMENT = "01_gradients"
SOURCE = ROOT / "source" / ASSIGNMENT / "gradients.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / "gradients.ipynb"
MARKER = f"hostile-{uuid.uuid4().hex[:12]}"  # in the command line of processes students leave behind
TIMEOUT = 10


@dataclass
class Case:
    build: object  # (context) -> notebook, or bytes for a file that is not a notebook
    lost: tuple[str, ...] | str = ()  # exercises scored 0 ("all": every one)
    status: str = "graded"
    shows: tuple[str, ...] = ()  # text the graded notebook must contain
    hides: tuple[str, ...] = ()  # text it must not contain
    detail: str = ""  # text the export's status_detail must contain
    extra: dict = field(default_factory=dict)


@dataclass
class Context:
    course: Path
    port: int  # a TCP server on 127.0.0.1 of the grading machine


def _answers() -> dict[str, str]:
    return solution_sources(read_nb(SOURCE))


def solved():
    return submission(read_nb(RELEASE), _answers())


def blank():
    return copy.deepcopy(read_nb(RELEASE))


def _index(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == grade_id)


def with_cell(nb, code: str, after: str | None = None):
    """``nb`` with a student cell of ``code`` after the cell ``after`` (default: at the end)."""
    cell = nbformat.v4.new_code_cell(code)
    nb.cells.insert(_index(nb, after) + 1 if after else len(nb.cells), cell)
    return nb


def with_answer(nb, exercise: str, code: str):
    nb.cells[_index(nb, exercise)].source = code
    return nb


def body_first(nb, exercise: str, lines: str):
    """Put ``lines`` (indented) at the start of the function body of ``exercise``'s answer."""
    cell = nb.cells[_index(nb, exercise)]
    assert '    """\n' in cell.source, exercise
    cell.source = cell.source.replace('    """\n', '    """\n' + lines, 1)
    return nb


def all_wrong(nb):
    """Every answer redefined to return 0.0."""
    for gid, code in _answers().items():
        name = code.split("def ", 1)[1].split("(", 1)[0]
        with_answer(nb, gid, f"{code}\n\ndef {name}(*args, **kwargs):\n    return 0.0\n")
    return nb


PARTIAL = ("grad_f", "numerical_gradient", "linreg_forward")  # answered; every other one is blank


def partial():
    keep = set(PARTIAL)
    return submission(read_nb(RELEASE), {g: c for g, c in _answers().items() if g in keep})


PATCH_NUMPY = """import numpy as np
np.allclose = lambda *a, **k: True
np.isclose = lambda a, b, *r, **k: np.ones(np.shape(a), dtype=bool)
np.testing.assert_allclose = lambda *a, **k: None
np.array_equal = lambda *a, **k: True
"""
PATCH_CHECKS = """from helpers import checks
for _name in dir(checks):
    if _name.startswith("check"):
        setattr(checks, _name, lambda *a, **k: None)
"""
SKIP_EVERYTHING = """k = get_ipython().kernel
async def _pretend(*args, **kwargs):
    return {"status": "ok", "execution_count": 1, "user_expressions": {}, "payload": []}
k.do_execute = _pretend
"""
# Exercises whose tests come after the second one: lost when the kernel is gone by then.
# The exercises after the first two, in notebook order: what a kernel lost after test two costs.
AFTER_SECOND = tuple(_answers())[2:]
GRAD_F_LECTURE = "(10.43656365691809, 9.654845485377136, 24.74625462767236)"


def _probe_course(ctx: Context) -> str:
    others = ctx.course / "submitted" / "correct"
    targets = [ctx.course / "gradebook.db", ctx.course / "source", others, ctx.course / "release",
               ctx.course / "nbgrader_config.py", ROOT / "source", ROOT / "notebooks", ROOT / ".git"]
    return f"""import os, pathlib
found = []
places = [pathlib.Path(p) for p in {[str(t) for t in targets]!r}]
for base in [pathlib.Path.cwd(), *pathlib.Path.cwd().parents]:
    places += [base / n for n in ("gradebook.db", "source", "submitted", "release", "feedback")]
for p in places:
    try:
        found.append((str(p), os.listdir(p) if p.is_dir() else p.read_bytes()[:20]))
    except OSError:
        pass
print("FOUND", found) if found else print("nothing found")
"""


def _write_gradebook(ctx: Context) -> str:
    return f"""import sqlite3
try:
    db = sqlite3.connect({str(ctx.course / "gradebook.db")!r})
    db.execute("update grade set manual_score = 100")
    db.commit()
    print("WROTE the gradebook")
except Exception as err:
    print("write refused:", type(err).__name__)
"""


# Reads the expected value a hidden test computed before calling: from the caller's frame.
FRAME_PEEK = """import sys

def mse_loss(y_hat, y):
    if y_hat.shape != y.shape:
        raise ValueError(f"y_hat {y_hat.shape} and y {y.shape} differ")
    frame = sys._getframe(1)
    while frame is not None:
        seen = {**frame.f_globals, **frame.f_locals}
        if isinstance(seen.get("expected"), float) and "yh_r" in seen:
            return seen["expected"]
        frame = frame.f_back
    return 0.4375  # the lecture's value, typed in
"""
# Writes fake results and garbage on every file descriptor it finds, the re-check's included.
FORGE_CHANNELS = """import json, os
fake = json.dumps({"grade_id": "test-grad_f", "passed": True, "reply": 1, "value": {"t": "n"}})
for fd in range(3, 64):
    for payload in (fake.encode() + b"\\n", len(fake).to_bytes(4, "big") + fake.encode(), b"\\xff" * 64):
        try:
            os.write(fd, payload)
        except OSError:
            pass
"""
# Defines lenient checks before the imports cell and runs a test there (it moved the test up).
SHADOWED_CHECKS = """import numpy as np

class Lenient:
    def copy_inputs(self, *arrays):
        return tuple(np.copy(a) for a in arrays)

    def __getattr__(self, name):
        return lambda *args, **kwargs: None

checks = Lenient()

def mse_loss(y_hat, y):
    return 0.0
"""


def _write_targets(ctx: Context) -> list[Path]:
    """Files a submission must not be able to change: the course's and the project's."""
    return [ctx.course / "gradebook.db", ctx.course / "source" / ASSIGNMENT / SOURCE.name,
            ctx.course / "release" / ASSIGNMENT / SOURCE.name, ctx.course / "nbgrader_config.py",
            ctx.course / "submitted" / "correct" / ASSIGNMENT / SOURCE.name, ROOT / "pyproject.toml"]


def _write_course(ctx: Context) -> str:
    return f"""import pathlib
wrote, refused = [], 0
for p in map(pathlib.Path, {[str(t) for t in _write_targets(ctx)]!r}):
    try:
        with p.open("ab") as fh:
            fh.write(b"tampered")
        wrote.append(p.name)
    except OSError:
        refused += 1
print("WROTE", wrote) if wrote else print("all", refused, "writes refused")
"""


def _network(ctx: Context) -> str:
    return f"""import socket
reached = []
for host, port in [("127.0.0.1", {ctx.port}), ("1.1.1.1", 53), ("8.8.8.8", 443)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        reached.append(host)
    except OSError:
        pass
print("REACHED", reached) if reached else print("network blocked")
"""


CASES: dict[str, Case] = {
    "blank": Case(lambda ctx: blank(), lost="all"),
    "wrong": Case(lambda ctx: all_wrong(solved()), lost="all"),
    "correct": Case(lambda ctx: solved()),
    "partial": Case(lambda ctx: partial(), lost=tuple(g for g in _answers() if g not in PARTIAL)),
    "loop-top-level": Case(lambda ctx: with_cell(solved(), "while True:\n    pass", after="test-grad_f"),
                           status="needs review", detail="timed out"),
    # Loops on its first call (in its test); the notebook's later calls of grad_f return at once.
    "loop-in-function": Case(lambda ctx: body_first(solved(), "grad_f", (
        "    global calls\n    calls = globals().get('calls', 0) + 1\n"
        "    while calls == 1:\n        pass\n")), lost=("grad_f",), status="needs review"),
    "sigint-ignored": Case(lambda ctx: with_cell(solved(), (
        "import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nt0 = time.time()\n"
        "while time.time() - t0 < 120:\n    pass"), after="test-numerical_gradient"),
        lost=AFTER_SECOND, status="needs review"),
    "huge-output-bytes": Case(lambda ctx: with_cell(solved(), "print('x' * 10_000_000)"),
                              shows=("output truncated by the grader",)),
    "huge-output-lines": Case(lambda ctx: with_cell(solved(), "for i in range(300_000):\n    print(i)")),
    "memory-bomb": Case(lambda ctx: with_cell(solved(), (
        "try:\n    hog = bytearray(12 * 2**30)\n    print('ALLOCATED 12 GB')\n"
        "except MemoryError:\n    print('allocation refused')"), after="test-grad_f"),
        shows=("allocation refused",), hides=("ALLOCATED",)),
    "fork-storm": Case(lambda ctx: with_cell(solved(), (
        "import os, time\nkids, refused = [], 0\nfor _ in range(400):\n    try:\n        pid = os.fork()\n"
        "    except OSError:\n        refused += 1\n        continue\n    if pid == 0:\n"
        "        time.sleep(2)\n        os._exit(0)\n    kids.append(pid)\nfor pid in kids:\n"
        "    os.waitpid(pid, 0)\nprint('forks refused' if refused else 'ALL FORKS STARTED', refused)"),
        after="test-grad_f"), shows=("forks refused",), hides=("ALL FORKS STARTED",)),
    "disk-filler": Case(lambda ctx: with_cell(solved(), (
        "import os, tempfile\nwritten = 0\ntry:\n"
        "    with open(os.path.join(tempfile.gettempdir(), 'fill'), 'wb') as fh:\n"
        "        for _ in range(300):\n            fh.write(b'0' * 2**20)\n            fh.flush()\n"
        "            written += 1\n    print('WROTE 300 MB')\nexcept OSError as err:\n"
        "    print('write refused after', written, 'MB')\n"
        "try:\n    open('here.bin', 'wb').write(b'0')\n    print('WROTE next to the notebook')\n"
        "except OSError:\n    print('folder is read-only')"), after="test-grad_f"),
        shows=("write refused", "folder is read-only"), hides=("WROTE",)),
    "sys-exit": Case(lambda ctx: with_cell(solved(), "import sys\nsys.exit(3)", after="test-grad_f")),
    "os-exit": Case(lambda ctx: with_cell(solved(), "import os\nos._exit(0)",
                                          after="test-numerical_gradient"),
                    lost=AFTER_SECOND, status="needs review", detail="kernel died"),
    "kernel-crash": Case(lambda ctx: with_cell(solved(), "import ctypes\nctypes.string_at(0)",
                                               after="test-numerical_gradient"),
                         lost=AFTER_SECOND, status="needs review", detail="kernel died"),
    "warns-correct": Case(lambda ctx: body_first(
        solved(), "mse_loss", "    __import__('warnings').warn('harmless', DeprecationWarning)\n"),
        shows=("warning (not an error)",)),
    "warns-wrong": Case(lambda ctx: body_first(
        solved(), "grad_f", "    __import__('warnings').warn('harmless', UserWarning)\n"
        "    return (0.0, 0.0, 0.0)\n"), lost=("grad_f",)),
    "numpy-patched": Case(lambda ctx: with_cell(all_wrong(solved()), PATCH_NUMPY, after="imports"),
                          lost="all", status="needs review", detail="numpy"),
    "checks-patched": Case(lambda ctx: with_cell(all_wrong(solved()), PATCH_CHECKS, after="imports"),
                           lost="all", status="needs review", detail="helpers.checks"),
    "checks-patched-in-function": Case(lambda ctx: body_first(solved(), "grad_f", "".join(
        "    " + ln + "\n" for ln in PATCH_CHECKS.splitlines()) + "    return (0.0, 0.0, 0.0)\n"),
        lost=("grad_f",), status="needs review", detail="helpers.checks"),
    "numpy-patched-in-function": Case(lambda ctx: body_first(solved(), "mse_loss", "".join(
        "    " + ln + "\n" for ln in PATCH_NUMPY.splitlines()) + "    return 0.0\n"),
        lost=("mse_loss",), status="needs review", detail="numpy"),
    "builtins-patched": Case(lambda ctx: with_cell(all_wrong(solved()), (
        "import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.all = lambda *a: True\n"
        "builtins.AssertionError = type('Quiet', (Exception,), {})"), after="imports"),
        lost="all", status="needs review", detail="builtins"),
    "builtins-patched-in-function": Case(lambda ctx: with_answer(all_wrong(solved()), "grad_f", (
        "import builtins\n\ndef grad_f(x, y, z):\n    builtins.bool = lambda *a: True\n"
        "    return (0.0, 0.0, 0.0)")), lost="all", status="needs review", detail="builtins.bool"),
    "kernel-patched-in-function": Case(lambda ctx: with_answer(all_wrong(solved()), "grad_f",
        "def grad_f(x, y, z):\n" + "".join("    " + ln + "\n" for ln in SKIP_EVERYTHING.splitlines())
        + "    return (0.0, 0.0, 0.0)"), lost="all", status="needs review", detail="clean re-check"),
    "tests-skipped": Case(lambda ctx: with_cell(all_wrong(solved()), SKIP_EVERYTHING, after="imports"),
                          lost="all", status="needs review", detail="clean re-check"),
    "tracebacks-silenced": Case(lambda ctx: with_cell(all_wrong(solved()), (
        "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
        "ip._showtraceback = lambda *a, **k: None"), after="imports"), lost="all"),
    "names-rebound": Case(lambda ctx: with_cell(all_wrong(solved()), (
        "import types\nchecks = types.SimpleNamespace(**{n: (lambda *a, **k: None) for n in dir(checks)})"),
        after="imports"), lost="all", status="needs review", detail="checks"),
    "frame-peek": Case(lambda ctx: with_answer(solved(), "mse_loss", FRAME_PEEK), lost=("mse_loss",),
                       status="needs review", detail="clean re-check"),
    "forges-channels": Case(lambda ctx: with_cell(
        with_cell(all_wrong(solved()), SKIP_EVERYTHING, after="imports"), FORGE_CHANNELS, after="imports"),
        lost="all", status="needs review", detail="kernel died"),
    "shadowed-checks": Case(lambda ctx: _before_imports(solved(), SHADOWED_CHECKS, "test-mse_loss"),
                            lost=("mse_loss",), status="needs review", detail="clean re-check"),
    "rigged-eq": Case(lambda ctx: with_answer(solved(), "linreg_forward", (
        "class Anything:\n    def __eq__(self, other):\n        return True\n"
        "    __ne__ = lambda self, other: False\n\n"
        "def linreg_forward(*args, **kwargs):\n    return Anything()")),
        lost=("linreg_forward",)),
    "rigged-float": Case(lambda ctx: with_answer(solved(), "mse_loss", (
        "class Number:\n    def __float__(self):\n        return 0.5\n    __index__ = lambda self: 0\n\n"
        "def mse_loss(*args, **kwargs):\n    return Number()")), lost=("mse_loss",)),
    "rigged-array": Case(lambda ctx: with_answer(solved(), "linreg_forward", (
        "import numpy as np\nclass Agreeable(np.ndarray):\n    def __eq__(self, other):\n"
        "        return np.ones(np.shape(other), dtype=bool)\n"
        "    def __array_ufunc__(self, *args, **kwargs):\n        return True\n"
        "    def __array__(self, *args, **kwargs):\n        return np.zeros((1, 1))\n\n"
        "def linreg_forward(w, b, X):\n    return np.zeros((1, np.shape(X)[1])).view(Agreeable)")),
        lost=("linreg_forward",)),
    "hard-coded": Case(lambda ctx: with_answer(
        solved(), "grad_f", f"def grad_f(x, y, z):\n    return {GRAD_F_LECTURE}"), lost=("grad_f",)),
    "deleted-test": Case(lambda ctx: _delete(solved(), "test-grad_f"), status="needs review",
                         detail="deleted and restored"),
    "deleted-answer": Case(lambda ctx: _delete(solved(), "grad_f"), lost=("grad_f",),
                           status="needs review", detail="answer cells deleted"),
    "edited-test": Case(lambda ctx: _edit(all_wrong(solved()), "test-grad_f", "pass"), lost="all",
                        status="needs review", detail="locked cells edited"),
    "edited-given-cell": Case(lambda ctx: _edit(all_wrong(solved()), "imports", (
        "import numpy as np\nfrom helpers import examples\n"
        "checks = type('Lenient', (), {'__getattr__': lambda self, name: (lambda *a, **k: None)})()")),
        lost="all", status="needs review",
        detail="locked cells edited, the instructor's run instead (imports)"),
    "reordered": Case(lambda ctx: _move_to_top(solved(), "test-mse_loss"), lost=("mse_loss",)),
    "split-cell": Case(lambda ctx: _split(solved(), "grad_f")),
    "duplicated-test": Case(lambda ctx: _duplicate(solved(), "test-grad_f")),
    "metadata-points": Case(lambda ctx: _set_meta(all_wrong(solved()), "test-grad_f", points=100),
                            lost="all", status="needs review", detail="metadata edited"),
    "metadata-grade-id": Case(lambda ctx: _edit(_set_meta(all_wrong(solved()), "test-grad_f",
                                                          grade_id="test-mine"), "test-mine", "pass"),
                              lost="all", status="needs review"),
    "metadata-solution-flag": Case(lambda ctx: _edit(_set_meta(all_wrong(solved()), "test-grad_f",
                                                               solution=True), "test-grad_f", "pass"),
                                   lost="all", status="needs review", detail="metadata edited"),
    "reads-course": Case(lambda ctx: with_cell(solved(), _probe_course(ctx), after="test-grad_f"),
                         shows=("nothing found",), hides=("FOUND",)),
    "writes-gradebook": Case(lambda ctx: with_cell(all_wrong(solved()), _write_gradebook(ctx),
                                                   after="imports"),
                             lost="all", shows=("write refused",), hides=("WROTE",)),
    "writes-course": Case(lambda ctx: with_cell(solved(), _write_course(ctx), after="test-grad_f"),
                          shows=("writes refused",), hides=("WROTE",)),
    "detached-process": Case(lambda ctx: with_cell(solved(), (
        "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', "
        f"'{MARKER}'], start_new_session=True)\nprint('started')"), after="test-grad_f"), shows=("started",)),
    "network": Case(lambda ctx: with_cell(solved(), _network(ctx), after="test-grad_f"),
                    shows=("network blocked",), hides=("REACHED",)),
    "prints-hidden-tests": Case(lambda ctx: with_cell(solved(), "print('\\n'.join(In))")),
    "corrupt-json": Case(lambda ctx: b'{"cells": [ {"cell_type": "code", ', lost="all", status="not graded",
                         detail="gradients.ipynb is not valid JSON: Expecting property name enclosed in "
                                "double quotes at line 1, column 35"),
    "empty-file": Case(lambda ctx: b"", lost="all", status="not graded",
                       detail="gradients.ipynb is empty (0 bytes)"),
    "huge-file": Case(lambda ctx: b"{" + b" " * (100 * 2**20) + b"}", lost="all", status="not graded",
                      detail="over the limit"),
    "other-assignment": Case(lambda ctx: _other_assignment(), lost="all", status="needs review",
                             detail="gradients.ipynb holds the cells of 02_backprop/backprop.ipynb"),
}


def _before_imports(nb, code: str, test: str):
    """A student cell of ``code`` and then the test cell ``test``, both above the imports cell."""
    cell = nb.cells.pop(_index(nb, test))
    at = _index(nb, "imports")
    nb.cells.insert(at, cell)
    nb.cells.insert(at, nbformat.v4.new_code_cell(code))
    return nb


def _delete(nb, grade_id):
    del nb.cells[_index(nb, grade_id)]
    return nb


def _edit(nb, grade_id, code):
    nb.cells[_index(nb, grade_id)].source = code
    return nb


def _move_to_top(nb, grade_id):
    nb.cells.insert(0, nb.cells.pop(_index(nb, grade_id)))
    return nb


def _split(nb, grade_id):
    """The answer cell split in two, both halves keeping its metadata (as JupyterLab does)."""
    i = _index(nb, grade_id)
    first = copy.deepcopy(nb.cells[i])
    first.source = "import math  # the student's own line, split off"
    nb.cells.insert(i, first)
    return nb


def _duplicate(nb, grade_id):
    i = _index(nb, grade_id)
    nb.cells.insert(i + 1, copy.deepcopy(nb.cells[i]))
    return nb


def _set_meta(nb, target, **changes):
    nb.cells[_index(nb, target)].metadata["nbgrader"].update(changes)
    return nb


def _other_assignment():
    other = ROOT / "source" / "02_backprop" / "backprop.ipynb"
    return submission(read_nb(ROOT / "release" / "02_backprop" / other.name),
                      solution_sources(read_nb(other)))


def _listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []

    def serve():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(conn)
            conn.close()

    threading.Thread(target=serve, daemon=True).start()
    return server, accepted


CODE = (  # what student code does when it runs
    "loop-top-level", "loop-in-function", "sigint-ignored", "huge-output-bytes", "huge-output-lines",
    "memory-bomb", "fork-storm", "disk-filler", "sys-exit", "os-exit", "kernel-crash", "warns-correct",
    "warns-wrong", "numpy-patched", "checks-patched", "checks-patched-in-function",
    "numpy-patched-in-function", "builtins-patched", "builtins-patched-in-function",
    "kernel-patched-in-function", "tests-skipped", "tracebacks-silenced", "names-rebound", "frame-peek",
    "forges-channels", "rigged-eq", "rigged-float", "rigged-array", "hard-coded", "reads-course",
    "writes-gradebook", "writes-course", "detached-process", "network", "prints-hidden-tests")
FILES = tuple(sorted(set(CASES) - set(CODE)))  # what the submitted file holds


@dataclass
class Graded:
    course: Path
    rows: dict  # student -> row of the CSV export
    accepted: list  # connections that reached the grading machine's listener
    stdout: str
    hashes: dict  # file a submission tried to change -> its sha256 before grading


def grade_class(folder: Path, students) -> Graded:
    """The ``students`` cases submitted to one class in ``folder``, autograded once."""
    course = copy_course(folder / "course")
    with (course / "nbgrader_config.py").open("a") as fh:
        fh.write(f"\nc.Execute.timeout = {TIMEOUT}\nc.GuardedExecute.interrupt_grace = 3\n")
    server, accepted = _listener()
    ctx = Context(course, server.getsockname()[1])
    for student in students:
        built = CASES[student].build(ctx)
        out = course / "submitted" / student / ASSIGNMENT / SOURCE.name
        out.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(built, bytes):
            out.write_bytes(built)
        else:
            nbformat.write(built, str(out))
    before = {t: hashlib.sha256(t.read_bytes()).hexdigest() for t in _write_targets(ctx) if t.is_file()}
    # The parallel path, as a class is graded (students side by side, every protection on).
    proc = run_course("--root", str(course), "autograde", ASSIGNMENT, "--jobs", "2")
    server.close()
    not_graded = any(CASES[s].status == "not graded" for s in students)
    assert proc.returncode == (1 if not_graded else 0), proc.stdout + proc.stderr
    return Graded(course, export_rows(course, "grades.csv"), accepted, proc.stdout, before)


def export_rows(course: Path, name: str) -> dict:
    dest = course / name
    run_course("--root", str(course), "export", "--output", str(dest), check=True)
    with dest.open() as fh:
        return {r["student_id"]: r for r in csv.DictReader(fh) if r["assignment"] == ASSIGNMENT}


def outputs(nb) -> str:
    """Everything the cells of ``nb`` printed (not their code, which names what it looks for)."""
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            parts += [out.get("text", ""), out.get("evalue", ""), *out.get("traceback", []),
                      *(v for k, v in out.get("data", {}).items() if k.startswith("text/"))]
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def generate_tests(metafunc) -> None:
    """``pytest_generate_tests`` of both test modules: ``test_case`` once per student of the class."""
    if "student" in metafunc.fixturenames:
        metafunc.parametrize("student", sorted(metafunc.cls.students))


class GradedClass:
    """What every graded class must show; a test module subclasses it with its ``students``."""

    students: tuple = ()
    regraded: tuple = ()  # graded a second time: nothing may change
    unusual: tuple = ()  # named by `course summary`

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory) -> Graded:
        return grade_class(tmp_path_factory.mktemp("hostile"), cls.students)

    def test_case(self, graded, student):
        course, rows = graded.course, graded.rows
        case = CASES[student]
        pts = {g.removeprefix("test-"): p for g, p in points(read_nb(SOURCE)).items()}
        lost = set(pts) if case.lost == "all" else set(case.lost)
        assert lost <= set(pts), f"unknown exercises in the case: {lost - set(pts)}"
        row = rows[student]
        assert float(row["max_score"]) == sum(pts.values()), "edited metadata must not change the maximum"
        expected = sum(p for g, p in pts.items() if g not in lost)
        assert float(row["score"]) == pytest.approx(expected), f"{student}: {row}"
        assert row["status"] == case.status, f"{student}: {row['status']} ({row['status_detail']})"
        assert case.detail in row["status_detail"], row["status_detail"]
        graded_nb = course / "autograded" / student / ASSIGNMENT / SOURCE.name
        if case.shows or case.hides:
            assert graded_nb.stat().st_size < 3_000_000
            text = outputs(read_nb(graded_nb))
            for needle in case.shows:
                assert needle in text, f"{student}: {needle!r} not in the graded notebook"
            for needle in case.hides:
                assert needle not in text, f"{student}: {needle!r} in the graded notebook"

    def test_no_grading_process_outlives_grading(self, graded):
        """No kernel or student side still in this class's folders, no orphaned grading process.

        (Other tests may be grading at the same time: their processes have a living parent.)
        """
        left = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                ppid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except (OSError, IndexError, ValueError):
                continue
            grading = any(k in cmdline for k in ("grader.recheck.runner", "grader.recheck.student_side",
                                                 "grader.grading", "ipykernel", "unshare"))
            if cwd.startswith(str(graded.course)) or (grading and ppid == 1):
                left.append(cmdline[:120])
        assert not left, f"still running after grading: {left}"

    def test_gradebook_untouched_by_students(self, graded):
        with sqlite3.connect(graded.course / "gradebook.db") as db:
            manual = db.execute("select count(*) from grade where manual_score is not null").fetchone()[0]
            grades = db.execute("select count(*) from grade").fetchone()[0]
        assert manual == 0 and grades > 0

    def test_grading_again_changes_nothing(self, graded):
        """Re-grading some students (hostile ones too) one at a time (--jobs 1) leaves every row
        of the export as the class graded side by side (--jobs 2) left it."""
        assert self.regraded
        args = [a for student in self.regraded for a in ("--student", student)]
        proc = run_course("--root", str(graded.course), "autograde", ASSIGNMENT, "--jobs", "1", *args)
        not_graded = any(CASES[s].status == "not graded" for s in self.regraded)
        assert proc.returncode == (1 if not_graded else 0), proc.stdout + proc.stderr
        again = export_rows(graded.course, "grades-again.csv")
        keys = ("score", "max_score", "status", "status_detail")
        assert {s: [r[k] for k in keys] for s, r in again.items()} == \
            {s: [r[k] for k in keys] for s, r in graded.rows.items()}

    def test_summary_reports_the_unusual_submissions(self, graded):
        assert self.unusual
        proc = run_course("--root", str(graded.course), "summary", ASSIGNMENT)
        assert proc.returncode == 0, proc.stderr
        for student in self.unusual:
            assert f"{student}: {CASES[student].status}" in proc.stdout, proc.stdout
