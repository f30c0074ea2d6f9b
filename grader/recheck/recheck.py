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
import json
import os
import shutil
import signal
import subprocess
import sys
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
    found = set()
    for cell in source_nb.cells:
        if cell.cell_type != "code" or not _meta(cell).get("solution"):
            continue
        try:
            tree = ast.parse(transformer()(cell.source))
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                found.add(node.name)
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return sorted(found)


@dataclass
class Result:
    """What the re-check found for one notebook."""

    passed: dict[str, bool] = field(default_factory=dict)  # grade_id -> passed
    tampered: list[str] = field(default_factory=list)  # what student code changed on its side
    notes: list[str] = field(default_factory=list)  # student code restarted, timed out, ...
    complete: bool = False  # False: the test runner died or ran out of time before the end


def run(source_path: Path, submitted_path: Path, cwd: Path, course_root: Path, timeout: float,
        grace: float = INTERRUPT_GRACE) -> Result:
    """Re-check one notebook; student code runs sandboxed from ``cwd``; ``timeout`` per cell (s),
    ``grace`` for student code to obey an interrupt."""
    # Imported here, not at the top: both child processes import this module, and nbformat
    # (jsonschema) takes a second and a half to import; kernels imports matplotlib.
    import nbformat

    from grader.containment import kernels, sandbox

    source_nb = nbformat.read(str(source_path), as_version=4)
    cells = plan(source_nb, nbformat.read(str(submitted_path), as_version=4))
    uid = sandbox.new_uid()
    folder = kernels.kernel_dir(uid)
    student_cmd = kernels.sandboxed([sys.executable, "-P", "-m", "grader.recheck.student_side", "{fd}"],
                                    folder, uid, course_root)
    job = {"cells": cells, "cell_timeout": timeout, "grace": grace,
           "student_names": answer_names(source_nb),
           "student": {"cmd": student_cmd, "cwd": str(cwd),
                       "env": {**os.environ, **kernels.kernel_env(folder)}}}
    # Every cell may take its timeout, and each restart of student code its grace and a start.
    deadline = (timeout + grace + 10) * (len(cells) + 1) + 60 + STARTUP_TIMEOUT
    result = Result()
    proc = subprocess.Popen([sys.executable, "-P", "-m", "grader.recheck.runner"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "MPLBACKEND": "Agg", **kernels.ONE_THREAD})
    try:
        out, _ = proc.communicate(json.dumps(job).encode(), timeout=deadline)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
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


# ---------------------------------------------------------------- for both child processes

class NoShell:
    """What ``get_ipython()`` gives cells in the re-check: magics and shell escapes do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


def transformer():
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager().transform_cell


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
