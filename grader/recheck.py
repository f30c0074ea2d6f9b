"""A clean re-check of every graded submission, in a fresh sandboxed process.

nbgrader runs a student's notebook in one kernel, test cells included, so student code can change
what the tests rely on: replace ``numpy.testing.assert_allclose`` or a ``helpers.checks`` function,
silence IPython's tracebacks, patch ``builtins``. The re-check runs the submission again without
IPython's machinery, with the test and given cells taken from ``source/`` (never from the
submission), and watches the modules tests rely on: after every cell it compares them with a
snapshot taken before any student code ran, restores them, and fails a test cell during which they
changed. ``grading.autograde`` keeps, for each test cell, the lower of nbgrader's score and the
re-check's, and marks the submission "needs review" when they differ.

Run as ``python -m grader.recheck`` it is the child: a job on stdin, results on stdout.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

# What test cells rely on; their attributes are compared by identity after every cell.
GUARDED = ("builtins", "numpy", "numpy.testing", "numpy.linalg", "numpy.random", "math", "warnings",
           "helpers.checks", "helpers.gradcheck", "helpers.examples", "helpers.data")
SYS_GUARDED = ("excepthook", "exit", "modules", "meta_path", "settrace", "setprofile", "gettrace")


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


@dataclass
class Result:
    """What the re-check found for one notebook."""

    passed: dict[str, bool] = field(default_factory=dict)  # grade_id -> passed
    tampered: list[str] = field(default_factory=list)  # what student code changed
    complete: bool = False  # False: the process died or ran out of time before the end


def run(source_path: Path, submitted_path: Path, cwd: Path, course_root: Path, timeout: float) -> Result:
    """Re-check one notebook in the sandbox, from ``cwd``; ``timeout`` is per cell, in seconds."""
    from grader import kernels, sandbox  # kernels imports matplotlib: not in the child


    nonce = secrets.token_hex(16)
    job = {"nonce": nonce, "cell_timeout": timeout,
           "cells": plan(nbformat.read(str(source_path), as_version=4),
                         nbformat.read(str(submitted_path), as_version=4))}
    deadline = timeout * (2 + sum(c["kind"] == "test" for c in job["cells"])) + 60
    result = Result()
    uid = sandbox.new_uid()
    folder = kernels.kernel_dir(uid)
    cmd = kernels.sandboxed([sys.executable, "-m", "grader.recheck"], folder, uid, course_root)
    env = {**os.environ, **kernels.kernel_env(folder)}
    try:
        proc = subprocess.run(cmd, input=json.dumps(job).encode(), capture_output=True, cwd=cwd,
                              timeout=deadline, env=env, start_new_session=True)
        out = proc.stdout
    except subprocess.TimeoutExpired as err:
        out = err.stdout or b""
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    for line in out.decode(errors="replace").splitlines():
        if not line.startswith(nonce):
            continue  # not from the runner (student code writing to the same pipe)
        item = json.loads(line[len(nonce):])
        if "grade_id" in item:
            result.passed.setdefault(item["grade_id"], bool(item["passed"]))
        result.tampered += [t for t in item.get("tampered", []) if t not in result.tampered]
        result.complete = result.complete or bool(item.get("done"))
    return result


# ---------------------------------------------------------------- the child process

class Guard:
    """A snapshot of GUARDED modules (their attributes and the code of their functions)."""

    def __init__(self, modules: list[types.ModuleType]):
        self.modules = modules
        self.saved = [(m, dict(vars(m))) for m in modules]
        self.code = {}
        self.classes = {}
        for _, attrs in self.saved:
            for value in attrs.values():
                if isinstance(value, types.FunctionType):
                    self.code[value] = (value.__code__, value.__defaults__, value.__kwdefaults__)
                elif isinstance(value, type) and (value.__module__ or "").startswith("helpers"):
                    self.classes[value] = dict(vars(value))
        self.sys = {name: getattr(sys, name) for name in SYS_GUARDED}

    def changed(self) -> list[str]:
        found = []
        for module, attrs in self.saved:
            now = vars(module)
            found += [f"{module.__name__}.{k}" for k, v in attrs.items() if now.get(k, _MISSING) is not v]
        for fn, state in self.code.items():
            if (fn.__code__, fn.__defaults__, fn.__kwdefaults__) != state:
                found.append(f"{fn.__module__}.{fn.__qualname__} (its code)")
        for cls, attrs in self.classes.items():
            now = vars(cls)
            if now.keys() != attrs.keys() or any(now[k] is not v for k, v in attrs.items()):
                found.append(f"{cls.__module__}.{cls.__qualname__} (its attributes)")
        found += [f"sys.{name}" for name, v in self.sys.items() if getattr(sys, name) is not v]
        return found

    def restore(self) -> None:
        for module, attrs in self.saved:
            now = vars(module)
            for k, v in attrs.items():
                if now.get(k, _MISSING) is not v:
                    now[k] = v
        for fn, (code, defaults, kwdefaults) in self.code.items():
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
        for cls, attrs in self.classes.items():
            for k, v in attrs.items():
                if k not in ("__dict__", "__weakref__") and vars(cls).get(k, _MISSING) is not v:
                    setattr(cls, k, v)
        for name, v in self.sys.items():
            setattr(sys, name, v)


_MISSING = object()


def _pinnable(value) -> bool:
    """Modules, and functions or classes of GUARDED modules: what test cells call by name."""
    if isinstance(value, types.ModuleType):
        return True
    kinds = (type, types.FunctionType, types.BuiltinFunctionType)
    return isinstance(value, kinds) and getattr(value, "__module__", None) in GUARDED


class _NoShell:
    """What ``get_ipython()`` gives cells in the re-check: magics and shell escapes do nothing."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


def _child() -> None:
    import importlib
    import signal

    job = json.loads(sys.stdin.buffer.read())
    nonce, cell_timeout = job["nonce"], float(job["cell_timeout"])
    out = os.dup(1)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - for the life of the process
    write, dumps = os.write, json.dumps

    def report(**item) -> None:
        write(out, (nonce + dumps(item) + "\n").encode())

    from IPython.core.inputtransformer2 import TransformerManager

    transform = TransformerManager().transform_cell
    guard = Guard([importlib.import_module(name) for name in GUARDED])

    def on_alarm(signum, frame):
        raise TimeoutError("cell timed out")

    import builtins

    namespace = {"__name__": "__main__", "get_ipython": _NoShell}
    pinned = {}  # notebook names first bound to a module or to one of its functions: np, checks, ...
    for index, cell in enumerate(job["cells"]):
        ok = True
        namespace["__builtins__"] = builtins
        try:
            code = compile(transform(cell["code"]), f"<cell {index}>", "exec")
            signal.signal(signal.SIGALRM, on_alarm)
            signal.setitimer(signal.ITIMER_REAL, cell_timeout)
            exec(code, namespace)  # noqa: S102 - running the notebook is the point
        except BaseException:  # noqa: BLE001 - any exception, SystemExit included, fails the cell
            ok = False
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        tampered = guard.changed()
        if tampered:
            guard.restore()
        for name, value in pinned.items():
            if namespace.get(name, _MISSING) is not value:
                tampered.append(f"the notebook's name {name!r}")
                namespace[name] = value
        current = namespace.get("__builtins__")
        if current is not builtins and current is not vars(builtins):
            tampered.append("the notebook's __builtins__")
        for name, value in list(namespace.items()):
            if name not in pinned and _pinnable(value):
                pinned[name] = value
        if cell["kind"] == "test":
            report(grade_id=cell["grade_id"], passed=ok and not tampered, tampered=tampered)
        elif tampered:
            report(tampered=tampered)
    report(done=True)
    os._exit(0)  # skip interpreter shutdown: student objects' __del__ have nothing more to say


if __name__ == "__main__":
    _child()
