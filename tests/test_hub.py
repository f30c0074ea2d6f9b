"""A real classroom on one machine: JupyterHub (hub/), nbgrader's exchange, a PostgreSQL gradebook.

One module-scoped run: PostgreSQL on loopback, the hub of hub/jupyterhub_config.py with an
instructor and two students (unix users created here, removed at the end). The instructor releases
01_gradients from the formgrader service; each student fetches it, solves it (one fully, one all
but the first exercise) and submits through the HTTP APIs the lab uses; the instructor collects
from the formgrader, grades as root with `course autograde --jobs 2` (the sandbox, the canary, the
clean re-check, two nbgrader processes on one PostgreSQL gradebook), generates and releases
feedback from the formgrader, and each student fetches it. The same submissions, graded side by
side against SQLite, give the same scores. Students get 403 from the formgrader. Everything
started is stopped by its PID, whatever happens.

Without root, PostgreSQL, useradd or JupyterHub the module says so in one line and is skipped,
except under CI=true, where that is a failure.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from conftest import ROOT, copy_course, nbgrader_meta, read_nb

ASSIGNMENT = "01_gradients"
COURSE_ID = "dl-foundations"
BIN = Path(sys.executable).parent
HUB_CONFIG = ROOT / "hub" / "jupyterhub_config.py"
IN_CI = os.environ.get("CI", "").lower() == "true"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else None


def _reachable_by_others(path: Path) -> bool:
    """Whether a user other than root can execute ``path`` (every parent searchable by others)."""
    path = path.resolve()
    for folder in path.parents:
        if not folder.stat().st_mode & stat.S_IXOTH:
            return False
    return bool(path.stat().st_mode & stat.S_IXOTH)


@contextlib.contextmanager
def _searchable(paths: list[Path]):
    """Let other users pass through (search, not list) every private folder above ``paths`` for
    the run, and put the modes back after: a checkout cloned into a private folder (``mktemp -d``
    makes one) holds the environment and the editable helpers that the class's servers import."""
    opened = {}
    for path in paths:
        for folder in path.resolve().parents:
            mode = folder.stat().st_mode
            if not mode & stat.S_IXOTH and folder not in opened:
                opened[folder] = stat.S_IMODE(mode)
    try:
        for folder, mode in opened.items():
            folder.chmod(mode | stat.S_IXOTH)
        yield
    finally:
        for folder, mode in opened.items():
            folder.chmod(mode)


def _machine_problem() -> str | None:
    if os.geteuid() != 0:
        return "not root: the hub runs servers as the class's unix users"
    for tool in ("useradd", "userdel"):
        if shutil.which(tool) is None:
            return f"no {tool}"
    if _postgres_bin() is None:
        return "no PostgreSQL under /usr/lib/postgresql (apt-get install postgresql)"
    for name in ("jupyterhub", "configurable-http-proxy"):
        if not (BIN / name).exists() and shutil.which(name) is None:
            return f"no {name} (pip install -e '.[dev]')"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "no psycopg2 (pip install -e '.[dev]')"
    return None


def _gate() -> None:
    problem = _machine_problem()
    if problem:
        if IN_CI:
            pytest.fail(f"hub tests cannot run in CI: {problem}", pytrace=False)
        pytest.skip(f"hub tests skipped: {problem}", allow_module_level=True)


_gate()

import requests  # noqa: E402 - a JupyterHub dependency, there once the gate has passed
from labserver import free_port  # noqa: E402

# --- processes and users, each undone by what created it -------------------------------------

def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, wait: float = 30) -> None:
    """Stop ``proc`` and its process group (it was started in a session of its own)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    # Whatever of its group is still alive (children that outlived it).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _pids_of(uid: int) -> list[int]:
    """The live processes of ``uid`` (not zombies: those wait for their parent, not for us)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if entry.stat().st_uid == uid and state != "Z":
                    pids.append(int(entry.name))
    return pids


def _kill_processes_of(uid: int) -> None:
    """Every process of ``uid`` (a server the hub left behind), by PID."""
    for _ in range(50):
        pids = _pids_of(uid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.1)


@contextlib.contextmanager
def _unix_user(name: str):
    subprocess.run(["useradd", "--create-home", "--user-group", "--shell", "/bin/bash", name],
                   check=True, capture_output=True, text=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        _kill_processes_of(pwd.getpwnam(name).pw_uid)
        subprocess.run(["userdel", "--remove", name], capture_output=True, text=True)


@contextlib.contextmanager
def _postgres(base: Path, user):
    """PostgreSQL on a free loopback port, run as ``user``; yields the gradebook's URL."""
    pg_bin = _postgres_bin()
    data = base / "pgdata"
    data.mkdir(mode=0o700)
    os.chown(data, user.pw_uid, user.pw_gid)
    as_user = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": data}
    subprocess.run([pg_bin / "initdb", "-D", data, "-U", "grader", "-A", "trust", "-E", "UTF8",
                    "--locale=C", "--no-sync"], check=True, capture_output=True, **as_user)
    port = free_port()
    log = (base / "postgres.log").open("w")
    proc = subprocess.Popen(
        [pg_bin / "postgres", "-D", data, "-h", "127.0.0.1", "-p", str(port), "-k", "",
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **as_user)
    try:
        import psycopg2

        deadline = time.monotonic() + 60
        while True:
            try:
                conn = psycopg2.connect(host="127.0.0.1", port=port, user="grader", dbname="postgres")
                break
            except psycopg2.OperationalError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {(base / 'postgres.log').read_text()}"
                                       ) from None
                time.sleep(0.2)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE gradebook")
        conn.close()
        yield f"postgresql://grader@127.0.0.1:{port}/gradebook"
    finally:
        _stop(proc, signal.SIGINT)  # PostgreSQL's fast shutdown
        log.close()


VERSION = f"python{sys.version_info.major}.{sys.version_info.minor}"


def _link_or_copy(src: str, dst: str) -> None:
    try:
        os.link(src, dst)
    except OSError:  # another file system
        shutil.copy2(src, dst)


def _readable_python(base: Path) -> Path:
    """This environment's interpreter where the class's users can run it: a copy of its
    installation without site-packages (hard links where possible, a fraction of a second), its
    library found next to it (an absolute RUNPATH under a private folder becomes $ORIGIN/../lib)."""
    home, copy_ = Path(sys.base_prefix), base / "python"
    (copy_ / "bin").mkdir(parents=True)
    shutil.copytree(home / "lib" / VERSION, copy_ / "lib" / VERSION, copy_function=_link_or_copy,
                    ignore=lambda folder, names: [n for n in names if Path(folder) == home / "lib" / VERSION
                                                  and n in ("site-packages", "test")])
    for lib in (home / "lib").glob("libpython*.so*"):
        if lib.is_file() and not lib.is_symlink():
            _link_or_copy(str(lib), str(copy_ / "lib" / lib.name))
    binary = (home / "bin" / VERSION).read_bytes()
    old, new = f"{home}/lib".encode() + b"\0", b"$ORIGIN/../lib"
    if old in binary and len(old) > len(new):
        binary = binary.replace(old, new + b"\0" * (len(old) - len(new)))
    (copy_ / "bin" / VERSION).write_bytes(binary)
    (copy_ / "bin" / VERSION).chmod(0o755)
    return copy_ / "bin" / VERSION


def _readable_env(base: Path) -> tuple[Path, str]:
    """The course environment as the class's users can run it, and what it is.

    This environment when others can reach it; else (its Python under a private /root, say) a
    stand-in: a copy of its interpreter (``_readable_python``) with this environment's
    site-packages, jupyter config and data (symlinks) and its scripts."""
    if _reachable_by_others(Path(sys.executable)):
        return Path(sys.executable), "this environment"
    python = _readable_python(base)
    env = base / "env"
    (env / "bin").mkdir(parents=True)
    for name in ("python", "python3", VERSION):
        (env / "bin" / name).symlink_to(python)
    (env / "pyvenv.cfg").write_text(f"home = {python.parent}\ninclude-system-site-packages = false\n"
                                    f"version = {'.'.join(map(str, sys.version_info[:3]))}\n")
    (env / "lib" / VERSION).mkdir(parents=True)
    (env / "lib" / VERSION / "site-packages").symlink_to(Path(sys.prefix) / "lib" / VERSION / "site-packages")
    for name in ("etc", "share"):
        if (Path(sys.prefix) / name).is_dir():
            (env / name).symlink_to(Path(sys.prefix) / name)
    # Its scripts (nbgrader runs `alembic` by name), started by the stand-in python.
    shebang = f"#!{Path(sys.prefix) / 'bin' / 'python'}".encode()
    for script in BIN.iterdir():
        if script.name.startswith("python") or not script.is_file():
            continue
        with script.open("rb") as fh:
            head = fh.read(len(shebang) + 2)
        if head.startswith(shebang) and head[len(shebang):len(shebang) + 1] in (b"\n", b"3"):
            text = script.read_bytes().split(b"\n", 1)[1]
            (env / "bin" / script.name).write_bytes(f"#!{env / 'bin' / 'python'}\n".encode() + text)
            (env / "bin" / script.name).chmod(0o755)
    return env / "bin" / "python", f"a copy readable by the class of {Path(sys.base_prefix)}"


def _run(cmd: list, cwd: Path, env: dict, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(map(str, cmd))}:\n{proc.stdout}\n{proc.stderr}"
    return proc


class Hub:
    """The running hub, spoken to as its users are (each with an API token of its own)."""

    def __init__(self, url: str, admin_token: str, proc: subprocess.Popen, log: Path):
        self.url, self.admin, self.proc, self.log = url, admin_token, proc, log
        self.tokens: dict[str, str] = {}

    def wait(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(requests.ConnectionError):
                if self.api("GET", "/").status_code == 200:
                    return
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the hub did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.3)

    def request(self, method: str, path: str, token: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", timeout=120, allow_redirects=False,
                                headers={"Authorization": f"token {token}"}, **kwargs)

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.request(method, f"/hub/api{path}", self.admin, **kwargs)

    def token_for(self, user: str) -> str:
        if user not in self.tokens:
            resp = self.api("POST", f"/users/{user}/tokens", json={"note": "class test", "expires_in": 3600})
            assert resp.status_code == 201, resp.text
            self.tokens[user] = resp.json()["token"]
        return self.tokens[user]

    def start_servers(self, users: list[str], timeout: float = 120) -> None:
        """Start the users' servers side by side; return when every one is ready."""
        for user in users:
            resp = self.api("POST", f"/users/{user}/server")
            assert resp.status_code in (201, 202), resp.text
        deadline = time.monotonic() + timeout
        for user in users:
            while True:
                model = self.api("GET", f"/users/{user}").json()
                if model.get("servers", {}).get("", {}).get("ready"):
                    break
                assert time.monotonic() < deadline, f"the server of {user} did not start: {model}"
                time.sleep(0.3)

    def formgrader(self, user: str, path: str, method: str = "GET", timeout: float = 120):
        """The formgrader service's answer to ``user`` (JSON when it is 200)."""
        deadline = time.monotonic() + timeout
        while True:  # the hub answers before its service does
            resp = self.request(method, f"/services/{COURSE_ID}/formgrader/api/{path}",
                                self.token_for(user))
            if resp.status_code not in (502, 503) or time.monotonic() > deadline:
                return resp
            time.sleep(0.5)

    def instructor_step(self, user: str, step: str) -> None:
        """A button of the formgrader: release, collect, generate_feedback, release_feedback."""
        resp = self.formgrader(user, f"assignment/{ASSIGNMENT}/{step}", "POST")
        assert resp.status_code == 200, f"{step}: {resp.status_code} {resp.text[:500]}"
        assert resp.json()["success"], f"{step}: {resp.json()}"

    def as_user(self, user: str, method: str, path: str, **kwargs) -> requests.Response:
        return self.request(method, f"/user/{user}{path}", self.token_for(user), **kwargs)

    def assignment_action(self, user: str, action: str) -> dict:
        """What the lab's Assignments tab does: fetch, submit, fetch_feedback."""
        resp = self.as_user(user, "POST", f"/assignments/{action}",
                            data={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        assert resp.status_code == 200, f"{action} by {user}: {resp.status_code} {resp.text[:500]}"
        body = resp.json()
        assert body["success"], f"{action} by {user}: {body}"
        return body


@contextlib.contextmanager
def _hub(base: Path, env: dict):
    """The hub of hub/jupyterhub_config.py, plus a test service holding an admin token; yields
    at once (``Hub.wait``: until it answers), so that other work overlaps its start."""
    state = base / "hub-state"
    state.mkdir()
    admin_token = secrets.token_hex(32)
    (state / "test_config.py").write_text(
        f"load_subconfig({str(HUB_CONFIG)!r})\n"
        f"c.JupyterHub.services.append({{'name': 'class-test', 'api_token': {admin_token!r}}})\n"
        "c.JupyterHub.load_roles.append({'name': 'admin', 'services': ['class-test']})\n")
    port = free_port()
    env = {**env, "COURSE_HUB_URL": f"http://127.0.0.1:{port}", "COURSE_HUB_PORT": str(free_port()),
           "COURSE_PROXY_API_PORT": str(free_port()), "COURSE_FORMGRADER_PORT": str(free_port())}
    log = (base / "hub.log").open("w")
    proc = subprocess.Popen([str(BIN / "jupyterhub"), "-f", str(state / "test_config.py")],
                            cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", admin_token, proc, base / "hub.log")
    try:
        yield hub
    finally:
        _stop(proc)  # the hub stops its users' servers, its services and the proxy
        with contextlib.suppress(OSError, ValueError):  # a proxy the hub could not stop
            os.kill(int((state / "jupyterhub-proxy.pid").read_text()), signal.SIGKILL)
        log.close()


# --- the class ------------------------------------------------------------------------------------

def _answers(source_nb) -> dict[str, str]:
    """grade_id -> solution code as a student who solved it would write it."""
    return {nbgrader_meta(c)["grade_id"]: "\n".join(ln for ln in c.source.splitlines()
                                                    if ln.strip() not in MARKERS)
            for c in source_nb.cells if nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def _points(source_nb) -> dict[str, float]:
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
            for c in source_nb.cells if nbgrader_meta(c).get("grade")}


def _solve(fetched: dict, answers: dict[str, str]) -> dict:
    nb = copy.deepcopy(fetched)
    for cell in nb["cells"]:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and gid in answers:
            cell["source"] = answers[gid]
    return nb


# The same submissions graded by `course autograde`'s function against the SQLite default
# (the canary, which changes no student's score, was graded on PostgreSQL).
SQLITE_GRADING = """
import json, sys
from grader.course import Course
from grader.grading import autograde
outcomes = autograde(Course(sys.argv[1]), sys.argv[2], progress=False, jobs=2, check_solution=False)
print(json.dumps({o.student: [o.score, o.status] for o in outcomes}))
"""


@pytest.fixture(scope="module")
def classroom():
    """The whole run; returns what the tests check (scores, outputs, the hub's answers)."""
    tag = f"c{os.getpid() % 100000}"
    names = {"instructor": f"{tag}prof", "full": f"{tag}ana", "part": f"{tag}ben", "db": f"{tag}pg"}
    students = {"full": names["full"], "part": names["part"]}
    with contextlib.ExitStack() as stack:
        base = Path(tempfile.mkdtemp(prefix="hub-class-", dir="/tmp"))
        stack.callback(shutil.rmtree, base, ignore_errors=True)
        base.chmod(0o755)  # the class's users reach the exchange, the course and the environment
        users = {role: stack.enter_context(_unix_user(name)) for role, name in names.items()}
        db_url = stack.enter_context(_postgres(base, users["db"]))
        course = copy_course(base / "course")
        # The course folder is the grader's (the formgrader service runs as the instructor).
        prof = users["instructor"]
        for path in [course, *course.rglob("*")]:
            os.lchown(path, prof.pw_uid, prof.pw_gid)
        exchange = base / "exchange"
        exchange.mkdir()
        exchange.chmod(0o1777)
        stack.enter_context(_searchable([Path(sys.prefix), ROOT]))
        python, why = _readable_env(base)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
               "COURSE_DB_URL": db_url, "NBGRADER_EXCHANGE": str(exchange),
               "COURSE_ROOT": str(course), "COURSE_PYTHON": str(python),
               "COURSE_INSTRUCTORS": names["instructor"],
               "COURSE_STUDENTS": ",".join(students.values())}
        env.pop("JUPYTER_CONFIG_PATH", None)
        hub = stack.enter_context(_hub(base, env))
        for role in ("instructor", *students):  # first of all at the end: the hub then stops at once
            stack.callback(_kill_processes_of, users[role].pw_uid)
        hub.wait()
        hub.start_servers(list(students.values()))
        hub.instructor_step(names["instructor"], "release")
        out = {"hub": hub, "names": names, "course": course, "db_url": db_url, "python": why}
        listed = hub.as_user(names["full"], "GET", "/assignments", params={"course_id": COURSE_ID})
        out["listed"] = (listed.status_code, listed.json() if listed.ok else listed.text)

        source_nb = read_nb(ROOT / "source" / ASSIGNMENT / "gradients.ipynb")
        answers, points = _answers(source_nb), _points(source_nb)
        first = next(iter(answers))
        work = {"full": answers, "part": {g: a for g, a in answers.items() if g != first}}
        contents = f"/api/contents/{COURSE_ID}/{ASSIGNMENT}/gradients.ipynb"
        for role, user in students.items():
            hub.assignment_action(user, "fetch")
            got = hub.as_user(user, "GET", contents)
            assert got.status_code == 200, got.text
            saved = hub.as_user(user, "PUT", contents, json={
                "type": "notebook", "format": "json", "content": _solve(got.json()["content"], work[role])})
            assert saved.status_code == 200, saved.text
            hub.assignment_action(user, "submit")
        total = sum(points.values())
        out["expected"] = {students["full"]: total, students["part"]: total - points[f"test-{first}"]}
        out["max"] = total

        # The instructor collects, grades with every protection, and releases feedback.
        hub.instructor_step(names["instructor"], "collect")
        # The same submissions against SQLite, in a copy, side by side with the real grading.
        sqlite_course = base / "sqlite-course"
        shutil.copytree(course, sqlite_course, ignore=shutil.ignore_patterns("gradebook.db"))
        sqlite_env = {k: v for k, v in env.items() if k != "COURSE_DB_URL"}
        sqlite_log = (base / "sqlite-grading.out").open("w+")
        sqlite_grading = subprocess.Popen(
            [sys.executable, "-c", SQLITE_GRADING, str(sqlite_course), ASSIGNMENT], cwd=sqlite_course,
            env=sqlite_env, stdout=sqlite_log, stderr=subprocess.DEVNULL, start_new_session=True)
        stack.callback(_stop, sqlite_grading)
        out["autograde"] = _run([BIN / "course", "autograde", ASSIGNMENT, "--jobs", "2"], course, env)
        hub.instructor_step(names["instructor"], "generate_feedback")
        hub.instructor_step(names["instructor"], "release_feedback")
        out["feedback"] = {}
        for user in students.values():
            hub.assignment_action(user, "fetch_feedback")
            folder = hub.as_user(user, "GET", f"/api/contents/{COURSE_ID}/{ASSIGNMENT}/feedback").json()
            pages = []
            for stamp in folder["content"]:
                listing = hub.as_user(user, "GET", f"/api/contents/{stamp['path']}").json()
                for item in listing["content"]:
                    if item["name"].endswith(".html"):
                        pages.append(hub.as_user(user, "GET", f"/api/contents/{item['path']}",
                                                 params={"format": "text", "type": "file"}).json()["content"])
            out["feedback"][user] = pages
        out["formgrader"] = {role: hub.formgrader(user, "assignments")
                             for role, user in {"instructor": names["instructor"], **students}.items()}
        assert sqlite_grading.wait(timeout=600) == 0, "grading against SQLite failed"
        sqlite_log.seek(0)
        out["sqlite"] = json.loads(sqlite_log.read().strip().splitlines()[-1])
        out["sqlite_course"] = sqlite_course
        yield out


def _scores(db_url: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    from grader.course import gradebook_url

    with Gradebook(gradebook_url(db_url)) as gb:
        return {s.student.id: float(s.score) for s in gb.find_assignment(ASSIGNMENT).submissions}


def test_students_see_the_released_assignment(classroom):
    status, body = classroom["listed"]
    assert status == 200, body
    assert body["success"], body
    assert [a["assignment_id"] for a in body["value"]] == [ASSIGNMENT], body


def test_postgres_gradebook_holds_the_scores_of_the_collected_submissions(classroom):
    assert classroom["db_url"].startswith("postgresql://")
    assert _scores(classroom["db_url"]) == classroom["expected"]
    names = classroom["names"]
    assert classroom["expected"][names["full"]] == classroom["max"] > classroom["expected"][names["part"]]


def test_autograde_on_the_hub_keeps_every_protection(classroom):
    proc = classroom["autograde"]
    assert "student code runs sandboxed: its own user id" in proc.stderr, proc.stderr
    assert "2 of 2 submissions graded" in proc.stdout and "to review" not in proc.stdout, proc.stdout
    statuses = json.loads((classroom["course"] / "grading-status.json").read_text())[ASSIGNMENT]
    assert {s: e["status"] for s, e in statuses.items()} == dict.fromkeys(classroom["expected"], "graded")


def test_each_student_fetches_feedback_with_their_own_score(classroom):
    for user, score in classroom["expected"].items():
        pages = classroom["feedback"][user]
        assert len(pages) == 1, (user, len(pages))
        text = pages[0]
        assert f"{score:g}" in text and f"{classroom['max']:g}" in text, user
        assert "BEGIN HIDDEN TESTS" not in text


def test_only_instructors_reach_the_formgrader(classroom):
    answers = classroom["formgrader"]
    resp = answers.pop("instructor")
    assert resp.status_code == 200, resp.text[:500]
    mine = {a["name"]: a for a in resp.json()}
    assert mine[ASSIGNMENT]["num_submissions"] == 2, mine  # read from the PostgreSQL gradebook
    for role, resp in answers.items():
        assert resp.status_code == 403, (role, resp.status_code, resp.text[:300])


def test_sqlite_gives_the_same_scores(classroom):
    db = classroom["sqlite_course"] / "gradebook.db"
    assert db.is_file()
    assert _scores(f"sqlite:///{db}") == _scores(classroom["db_url"]) == classroom["expected"]
    assert {s: status for s, (_, status) in classroom["sqlite"].items()} == dict.fromkeys(
        classroom["expected"], "graded")


def test_gradebook_url_names_an_installed_driver():
    from grader.course import gradebook_url

    assert gradebook_url("postgresql://u@h:5/db") == "postgresql+psycopg2://u@h:5/db"
    assert gradebook_url("postgres://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert gradebook_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert gradebook_url("sqlite:///x/gradebook.db") == "sqlite:///x/gradebook.db"
