"""A clean re-check of every graded submission: tests and student code in separate processes.

nbgrader runs a student's notebook in one kernel, test cells included, so student code can change
what the tests rely on (replace ``numpy.testing.assert_allclose`` or a ``helpers.checks``
function, silence IPython's tracebacks, patch ``builtins``), or read what a test computed before
calling it (the expected value, from the caller's frame). The re-check runs the notebook again in
two processes:

- the *test runner* (``grader.recheck.runner``) runs the given and test cells, taken
  from ``source/`` and never from the submission; it never runs student code;
- the *student side* (``grader.recheck.student_side``, in ``grader.containment.sandbox``) runs the
  student's cells, and the given cells too, so that student code sees what it expects.

When a test calls a student function, the call crosses ``grader.recheck.bridge``: arguments go over as
data, the result comes back as data (or as a reference that no check accepts as a number), and
the test runner decides by itself whether each check passed. Whatever student code changes on
its own side, numpy, the checks, the process, the pipe, cannot change a check. ``helpers.checks``
given to a test's ``substitute`` reaches both sides, so stand-ins work as in the notebook.

``grading.autograde`` keeps, for each test cell, the lower of nbgrader's score and the
re-check's, and marks the submission "needs review" when they differ.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import symtable
import sys
import threading
import time
import types
from dataclasses import dataclass, field
from pathlib import Path

STARTUP_TIMEOUT = 120.0  # seconds for the student side to start (a loaded machine)
INTERRUPT_GRACE = 5.0  # seconds student code gets to obey an interrupt before it is restarted
MAX_NOTE = 200  # characters of one note from the re-check
MISSING = object()


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def plan(source_nb, submitted_nb) -> list[dict]:
    """The cells to run, in the submission's order, with test and given code taken from source.

    A test or locked cell that the student deleted comes back after the source cell before it;
    student cells (answers, their own cells, duplicates of known cells) run as the student wrote them.
    """
    source_cells = {_meta(c)["grade_id"]: c for c in source_nb.cells
                    if c.cell_type == "code" and _meta(c).get("grade_id")}
    fixed = {g for g, c in source_cells.items() if not _meta(c).get("solution")}
    cells, used = [], set()
    for cell in submitted_nb.cells:
        if cell.get("cell_type") != "code":
            continue
        gid = _meta(cell).get("grade_id")
        if gid in fixed and gid not in used:
            used.add(gid)
            src = source_cells[gid]
            cells.append({"kind": "test" if _meta(src).get("grade") else "given", "grade_id": gid,
                          "code": src.source})
        else:
            cells.append({"kind": "student", "grade_id": gid, "code": cell.get("source", "")})
    order = [g for g in (_meta(c).get("grade_id") for c in source_nb.cells) if g in source_cells]
    for gid in order:
        if gid in fixed and gid not in used:  # deleted by the student: put back where it was
            before = order[:order.index(gid)]
            at = max((i + 1 for i, c in enumerate(cells) if c["grade_id"] in before), default=0)
            src = source_cells[gid]
            cells.insert(at, {"kind": "test" if _meta(src).get("grade") else "given",
                              "grade_id": gid, "code": src.source})
            used.add(gid)
    return cells


def answer_names(source_nb) -> list[str]:
    """The names the answer cells of ``source_nb`` define at top level: what tests may read."""
    return sorted(set().union(*(_defined(c.source) for c in source_nb.cells
                                if c.cell_type == "code" and _meta(c).get("solution"))))


@functools.lru_cache(maxsize=1024)
def _defined(code: str) -> frozenset[str]:
    """The names one answer cell defines at top level (cached: the same source for every student)."""
    try:
        tree = ast.parse(transformer()(code))
    except SyntaxError:
        return frozenset()
    found = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            found |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return frozenset(found)


@dataclass
class Result:
    """What the re-check found for one notebook."""

    passed: dict[str, bool] = field(default_factory=dict)  # grade_id -> passed
    tampered: list[str] = field(default_factory=list)  # what student code changed on its side
    notes: list[str] = field(default_factory=list)  # student code restarted, timed out, ...
    complete: bool = False  # False: the test runner died or ran out of time before the end


def until_last(cells: list[dict], confirm, stubs: dict[str, str], demos=frozenset()) -> list[dict]:
    """The part of ``cells`` that can change a score or show tampering: up to the last test cell
    in ``confirm`` or the last student cell that is not its release stub (``stubs``: grade_id ->
    code), whichever is later, and the cells after that one until the next student cell (the
    test that calls it). The re-check only ever lowers a score; what is cut holds only stubs and
    demo cells (``demos``: plain cells) as released and tests nbgrader already failed. Nothing to
    confirm and no student code: no cells.
    """
    def own(cell: dict) -> bool:
        code = cell["code"].strip()
        return cell["kind"] == "student" and code != stubs.get(cell["grade_id"], None) and not (
            cell["grade_id"] is None and code in demos)

    pivot = max((i for i, c in enumerate(cells)
                 if (c["kind"] == "test" and c["grade_id"] in confirm) or own(c)), default=-1)
    if pivot < 0:
        return []
    end = next((i for i in range(pivot + 1, len(cells)) if cells[i]["kind"] == "student"), len(cells))
    return cells[:end]


def read_release(release_path: Path | None):
    """The release notebook at ``release_path``; None when there is none or it cannot be read."""
    try:
        return course_notebook(release_path) if release_path is not None else None
    except Exception:  # noqa: BLE001 - missing or unreadable: nothing is known about what was released
        return None


def course_notebook(path: Path):
    """The source or release notebook at ``path``, read once per version of the file: it is the
    same for every student (shared between lanes: read it, never change it)."""
    stat = path.stat()
    return _read_notebook(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=64)
def _read_notebook(path: str, mtime_ns: int, size: int):
    import nbformat

    return nbformat.read(path, as_version=4)


def stubs_of(release_nb) -> dict[str, str]:
    """grade_id -> code of each answer cell of the release notebook, stripped ({} if none)."""
    return {} if release_nb is None else {
        _meta(c)["grade_id"]: c.source.strip() for c in release_nb.cells
        if c.cell_type == "code" and _meta(c).get("solution") and _meta(c).get("grade_id")}


def demos_of(release_nb) -> set[str]:
    """The code of the release notebook's plain code cells (no nbgrader role), stripped."""
    return set() if release_nb is None else {c.source.strip() for c in release_nb.cells
                                             if c.cell_type == "code" and not _meta(c)}


# Names through which code reaches state by other ways than its own names: such code, or a demo
# that seeds the global random generators, keeps every demo cell in.
DYNAMIC = {"globals", "vars", "locals", "eval", "exec", "__import__", "get_ipython", "seed", "__dict__"}


@functools.lru_cache(maxsize=4096)
def _bound(code: str) -> frozenset[str] | None:
    """The global names ``code`` binds (assigned, imported, defined, declared global and set);
    None when that is not known from the code (a syntax error, ``import *``)."""
    try:
        top = symtable.symtable(transformer()(code), "<cell>", "exec")
    except (SyntaxError, ValueError):
        return None
    found, tables = set(), [top]
    while tables:
        table = tables.pop()
        for sym in table.get_symbols():
            if sym.get_name() == "*":
                return None
            if (sym.is_assigned() or sym.is_imported()) and (table is top or sym.is_declared_global()):
                found.add(sym.get_name())
        tables.extend(table.get_children())
    return frozenset(found)


@functools.lru_cache(maxsize=4096)
def reads(code: str) -> frozenset[str] | None:
    """Every name cell ``code`` may look up (``names_in``); None when it does not compile.
    Cached: most cells are the same for every student."""
    try:
        return frozenset(names_in(compile(transformer()(code), "<cell>", "exec")))
    except (SyntaxError, ValueError):
        return None


@functools.lru_cache(maxsize=4096)
def reads_from_outside(code: str) -> frozenset[str] | None:
    """The global names ``code`` may look up that it has not bound itself first: for the
    instructor's cells, whose own ``rng = ...`` must not count as a read of a demo's ``rng``.

    A name counts unless a statement before the look-up, in the order the cell runs, bound it for
    certain (assigned, imported, defined; a loop's target inside its loop only). What functions,
    lambdas and classes look up counts whatever came before (they may run later, after other
    cells rebound it). Code that deletes names or declares them global: ``reads``.
    None when it does not compile."""
    python = transformer()(code)
    try:
        tree = ast.parse(python)
        table = symtable.symtable(python, "<cell>", "exec")
    except (SyntaxError, ValueError):
        return None
    if any(isinstance(n, ast.Delete | ast.Global | ast.Nonlocal) for n in ast.walk(tree)):
        return reads(code)
    found = set(_deferred_globals(table))
    _walk_statements(tree.body, set(), found)
    return frozenset(found)


# Comprehensions, run where they stand; generators too (the instructor's cells consume theirs
# where they make them: ``sum(... for ...)``).
_INLINE = ("listcomp", "setcomp", "dictcomp", "genexpr")


def _deferred_globals(table, deferred: bool = False) -> set[str]:
    """Globals looked up by the functions, lambdas and classes under ``table``."""
    found = set()
    for child in table.get_children():
        later = deferred or child.get_name() not in _INLINE
        if later:
            found |= {s.get_name() for s in child.get_symbols() if s.is_global() and s.is_referenced()}
        found |= _deferred_globals(child, later)
    return found


def _targets(node) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _loads(node) -> set[str]:
    """Names ``node`` looks up where it stands (not in the bodies of functions, lambdas or
    classes; in a comprehension, less its own targets)."""
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef):
        args = getattr(node, "args", None)
        parts = [*getattr(node, "decorator_list", []), *getattr(node, "bases", []),
                 *getattr(node, "keywords", []),
                 *((args.defaults + [d for d in args.kw_defaults if d is not None]) if args else [])]
        return set().union(*map(_loads, parts))
    if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
        first = node.generators[0].iter
        parts = [*(getattr(node, f) for f in ("elt", "key", "value") if hasattr(node, f)),
                 *(g.iter for g in node.generators[1:]), *(i for g in node.generators for i in g.ifs)]
        inner = set().union(*map(_loads, parts)) - set().union(*(_targets(g.target) for g in node.generators))
        return _loads(first) | inner
    return set().union(*map(_loads, ast.iter_child_nodes(node)))


def _walk_statements(stmts, bound: set[str], found: set[str]) -> set[str]:
    """Add to ``found`` what ``stmts`` look up that ``bound`` (certain) does not hold; the names
    bound for certain after them."""
    bound = set(bound)
    for stmt in stmts:
        if isinstance(stmt, ast.For | ast.AsyncFor):
            found |= _loads(stmt.iter) - bound
            _walk_statements(stmt.body, bound | _targets(stmt.target), found)
            _walk_statements(stmt.orelse, bound, found)
        elif isinstance(stmt, ast.While):
            found |= _loads(stmt.test) - bound
            _walk_statements(stmt.body, bound, found)
            _walk_statements(stmt.orelse, bound, found)
        elif isinstance(stmt, ast.If):
            found |= _loads(stmt.test) - bound
            bound = _walk_statements(stmt.body, bound, found) & _walk_statements(stmt.orelse, bound, found)
        elif isinstance(stmt, ast.With | ast.AsyncWith):
            for item in stmt.items:
                found |= _loads(item.context_expr) - bound
                if item.optional_vars is not None:
                    found |= _loads(item.optional_vars) - bound
                    bound |= _targets(item.optional_vars)
            bound = _walk_statements(stmt.body, bound, found)
        elif isinstance(stmt, ast.Try):
            after_body = _walk_statements(stmt.body, bound, found)
            for handler in stmt.handlers:
                if handler.type is not None:
                    found |= _loads(handler.type) - bound
                _walk_statements(handler.body, bound | ({handler.name} if handler.name else set()), found)
            _walk_statements(stmt.orelse, after_body, found)
            _walk_statements(stmt.finalbody, bound, found)
        elif isinstance(stmt, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in stmt.names if a.name != "*"}
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found |= _loads(stmt) - bound
            bound.add(stmt.name)
        elif isinstance(stmt, ast.Assign | ast.AnnAssign) and stmt.value is not None:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            found |= (_loads(stmt.value) | set().union(*map(_loads, targets))) - bound
            bound |= set().union(*map(_targets, targets))
        elif isinstance(stmt, ast.AugAssign):
            found |= (_loads(stmt.value) | _loads(stmt.target) | _targets(stmt.target)) - bound
        elif isinstance(stmt, ast.Match):  # rare: every name in it
            found |= {n.id for n in ast.walk(stmt) if isinstance(n, ast.Name)} - bound
        else:
            found |= _loads(stmt) - bound
    return bound


def without_demos(cells: list[dict], demos: set[str]) -> list[dict]:
    """``cells`` less the demo cells (plain cells as released, unedited: plots, explorers) whose
    effects nothing else in ``cells`` can see: no other cell (student code, given or test) reads
    a name they bind. They show; no score depends on them, and they are the better part of a
    notebook's time: neither the re-check nor ``course autograde``'s run of nbgrader
    (``grader.preprocessors.GuardedExecute.skip_demos``) runs them. All kept when student code
    reads state by other ways than names (``DYNAMIC``); given and test cells are the
    instructor's, from source."""
    idle = _idle(cells, demos)
    return [c for i, c in enumerate(cells) if i not in idle]


def _idle(cells: list[dict], demos: set[str]) -> set[int]:
    """The indices of the demo cells ``without_demos`` leaves out of ``cells``."""
    candidates = {}  # index -> (names it binds, names it reads)
    for i, cell in enumerate(cells):
        if cell["kind"] == "student" and cell["grade_id"] is None and cell["code"].strip() in demos:
            bound, looked_up = _bound(cell["code"]), reads(cell["code"])
            if bound is not None and looked_up is not None and not looked_up & DYNAMIC:
                candidates[i] = (bound, looked_up)
    seen = set()  # names the cells that run look up
    for i, cell in enumerate(cells):
        if i not in candidates:
            found = reads(cell["code"]) if cell["kind"] == "student" else reads_from_outside(cell["code"])
            if found is None or (cell["kind"] == "student" and found & DYNAMIC):
                return set()  # what student code looks up is not known: every demo stays
            seen |= found
    kept = set()
    changed = True
    while changed:  # a demo that is kept keeps the demos whose names it reads
        changed = False
        for i, (bound, its_reads) in candidates.items():
            if i not in kept and bound & seen:
                kept.add(i)
                seen |= its_reads
                changed = True
    return set(candidates) - kept


def idle_demos(nb, release_nb) -> set[int]:
    """Indices of the cells of ``nb`` (a notebook as nbgrader runs it: its test and given cells
    the instructor's) that ``without_demos`` leaves out, given its release ``release_nb``."""
    demos = demos_of(release_nb)
    if not demos:
        return set()
    cells, at = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        meta = cell.get("metadata", {}).get("nbgrader", {})
        kind = "student" if not meta or meta.get("solution") else "test" if meta.get("grade") else "given"
        cells.append({"kind": kind, "grade_id": meta.get("grade_id"), "code": cell.source})
        at.append(index)
    return {at[i] for i in _idle(cells, demos)}


def run(source_path: Path, submitted_path: Path, cwd: Path, course_root: Path, timeout: float,
        grace: float = INTERRUPT_GRACE, confirm=None, warm: WarmRunner | None = None,
        release_path: Path | None = None) -> Result:
    """Re-check one notebook; student code runs sandboxed from ``cwd``; ``timeout`` per cell (s),
    ``grace`` for student code to obey an interrupt.

    ``confirm``: the grade_ids of the test cells that need confirming (those nbgrader scored above
    zero); with it, the run stops where nothing after can matter (``until_last``, the answer
    stubs read from ``release_path``); default: every cell. ``warm``: a ``WarmRunner`` to fork
    the test runner from (default: a new process)."""
    # Imported here, not at the top: both child processes import this module, and nbformat
    # (jsonschema) takes a second and a half to import; kernels imports matplotlib.
    import nbformat

    from grader.containment import kernels, sandbox

    source_nb = course_notebook(source_path)
    release_nb = read_release(release_path)
    demos = demos_of(release_nb)
    cells = without_demos(plan(source_nb, nbformat.read(str(submitted_path), as_version=4)), demos)
    if confirm is not None:
        cells = until_last(cells, set(confirm), stubs_of(release_nb), demos)
        if not cells:
            return Result(complete=True)
    uid = sandbox.new_uid()
    folder = kernels.kernel_dir(uid)
    student_cmd = [sys.executable, "-P", "-m", "grader.recheck.student_side", "{fd}"]
    where = kernels.where(student_cmd, folder, uid, course_root)
    student_cmd = kernels.sandboxed(student_cmd, folder, uid, course_root)
    cells = [{**c, "python": python_of(c["code"])} for c in cells]  # transformed here, once
    job = {"cells": cells, "cell_timeout": timeout, "grace": grace,
           "student_names": answer_names(source_nb),
           "student": {"cmd": student_cmd, "spec": sandbox.spec(**where), "cwd": str(cwd),
                       "env": {**os.environ, **kernels.kernel_env(folder)}}}
    # Every cell may take its timeout, and each restart of student code its grace and a start.
    deadline = (timeout + grace + 10) * (len(cells) + 1) + 60 + STARTUP_TIMEOUT
    result = Result()
    started = warm.spawn() if warm is not None else None
    try:
        if started is not None:
            out, late = _talk(*started, json.dumps(job).encode(), deadline)
        else:
            out, late = _talk_to_new(json.dumps(job).encode(), deadline)
        if late:
            result.notes.append("the clean re-check ran out of time")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for line in out.decode(errors="replace").splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if "grade_id" in item:
            result.passed.setdefault(item["grade_id"], bool(item["passed"]))
        result.tampered += [t for t in item.get("tampered", []) if t not in result.tampered]
        result.notes += [n for n in item.get("notes", []) if n not in result.notes]
        result.complete = result.complete or bool(item.get("done"))
    return result


def _runner_env() -> dict[str, str]:
    from grader.containment import kernels

    return {**os.environ, "MPLBACKEND": "Agg", **kernels.ONE_THREAD}


def _talk_to_new(job: bytes, deadline: float) -> tuple[bytes, bool]:
    """Run the job in a new test runner process; (its output, whether it ran out of time)."""
    proc = subprocess.Popen([sys.executable, "-P", "-m", "grader.recheck.runner"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                            env=_runner_env())
    try:
        out, _ = proc.communicate(job, timeout=deadline)
        return out, False
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return out, True


def _talk(pid: int, stdin: int, stdout: int, job: bytes, deadline: float) -> tuple[bytes, bool]:
    """Send the job to a forked test runner (``pid``, heading a session) and read its output
    until it ends or ``deadline`` seconds pass (then its whole session is killed)."""
    chunks, late = [], False
    try:
        with open(stdin, "wb") as fh:  # read whole by the runner before it writes anything
            fh.write(job)
    except OSError:
        pass
    end = time.monotonic() + deadline
    with open(stdout, "rb", buffering=0) as fh:
        while True:
            left = end - time.monotonic()
            if left <= 0 or not select.select([fh], [], [], left)[0]:
                late = True
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
                break
            chunk = fh.read(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks), late


class WarmRunner:
    """A ``runner --serve`` process: each re-check's test runner is forked from it, NumPy,
    matplotlib and the helpers already imported (a second of start-up saved per notebook).

    It never runs a job or student code itself; a forked runner is the same as a new one. Used
    from several threads; ``close`` stops it (the runners it forked end with their jobs)."""

    def __init__(self):
        ours, theirs = socket.socketpair()
        self.proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "grader.recheck.runner", "--serve", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, env=_runner_env())
        theirs.close()
        self.sock = ours
        self.lock = threading.Lock()

    def spawn(self) -> tuple[int, int, int] | None:
        """(pid, its stdin, its stdout) of a new test runner; None if the warm runner is gone."""
        from grader.containment import warm

        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            with self.lock:
                socket.send_fds(self.sock, [b"run"], [in_r, out_w])
                pid = warm.read_pid(self.sock, STARTUP_TIMEOUT, "the warm runner")
            return pid, in_w, out_r
        except (OSError, ValueError):
            os.close(in_w)
            os.close(out_r)
            return None
        finally:
            os.close(in_r)
            os.close(out_w)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


# ---------------------------------------------------------------- for both child processes

class NoShell:
    """What ``get_ipython()`` gives cells in the re-check: magics and shell escapes do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


_PYTHON: dict[str, str] = {}  # cell (IPython syntax) -> plain Python, for cells seen before
MAX_REMEMBERED = 20_000  # cells


def python_of(code: str) -> str:
    """``code``, a cell in IPython's syntax (magics, ``!ls``), as plain Python. The given and test
    cells are the same for every student: each is transformed once per process."""
    found = _PYTHON.get(code)
    if found is None:
        if len(_PYTHON) >= MAX_REMEMBERED:
            _PYTHON.clear()
        found = _PYTHON[code] = _manager().transform_cell(code)
    return found


def remember_python(cells: list[dict]) -> None:
    """Take the plain Python of ``cells`` (their ``"python"``, made by the trusted ``run``)."""
    _PYTHON.update((c["code"], c["python"]) for c in cells
                   if isinstance(c.get("python"), str) and isinstance(c.get("code"), str))


_managers = threading.local()


def _manager():
    """This thread's IPython transformer (one each: lanes transform side by side)."""
    manager = getattr(_managers, "manager", None)
    if manager is None:
        from IPython.core.inputtransformer2 import TransformerManager

        manager = _managers.manager = TransformerManager()
    return manager


def transformer():
    """The function that turns a cell into plain Python (``python_of``)."""
    return python_of


def quiet_stdio() -> int:
    """Send fds 1 and 2 (and sys.stdout, sys.stderr) to /dev/null; returns a copy of fd 1."""
    out = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    return out


def names_in(code: types.CodeType) -> set[str]:
    """Every name ``code`` and the functions and classes in it may look up as a global."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= names_in(const)
    return found
