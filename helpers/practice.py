"""Practising in the self-study edition: your version of an exercise, or the reference until then.

Each exercise cell of a self-study notebook (``notebooks/``) holds the stub the student gets and
ends with ``practice.fill_in(globals(), "grad_f")``. Every function of that cell that still only
raises ``NotImplementedError`` is replaced by the reference solution, read from ``solutions.py``
next to the notebook (written by ``course build``); a function you wrote is kept, so the checks
below the cell test yours. Run All of an untouched notebook therefore works, with every output.
The reference runs in the notebook's own namespace, exactly as if its code stood in the cell.

There is nothing to find here for a graded assignment: ``release/`` has no ``solutions.py``.
"""

from __future__ import annotations

import ast
from collections.abc import MutableMapping
from pathlib import Path

__all__ = ["SOLUTIONS_FILE", "fill_in", "is_stub", "reference_source"]

SOLUTIONS_FILE = "solutions.py"
SECTION = "# %% "  # a section header of solutions.py, then the exercise's grade id


def _stub():
    raise NotImplementedError()


def is_stub(obj) -> bool:
    """True for a function whose whole body is ``raise NotImplementedError()`` (a docstring and
    comments aside), as in the student's copy."""
    code = getattr(obj, "__code__", None)
    return (code is not None and code.co_code == _stub.__code__.co_code
            and code.co_names == _stub.__code__.co_names)


def reference_source(exercise: str, path: str | Path = SOLUTIONS_FILE) -> tuple[str, int]:
    """(code, first line number) of the section ``exercise`` of the solutions file ``path``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the reference solutions sit next to the self-study notebook "
            f"(run it from its folder, or rebuild with `course build`)")
    lines = path.read_text(encoding="utf-8").splitlines()
    headers = [i for i, line in enumerate(lines) if line.startswith(SECTION)]
    for n, i in enumerate(headers):
        if lines[i][len(SECTION):].strip() == exercise:
            end = headers[n + 1] if n + 1 < len(headers) else len(lines)
            return "\n".join(lines[i + 1:end]).rstrip() + "\n", i + 2
    names = ", ".join(lines[i][len(SECTION):].strip() for i in headers)
    raise KeyError(f"{path} has no exercise {exercise!r} (it has: {names})")


def fill_in(namespace: MutableMapping, exercise: str, path: str | Path = SOLUTIONS_FILE) -> None:
    """Give ``namespace`` the reference of ``exercise`` for every function that is still a stub.

    namespace: the notebook's ``globals()``. Prints whose version each function is (nothing is
    returned, so the call can end a cell without an output of its own).
    """
    code, first_line = reference_source(exercise, path)
    defined = [node.name for node in ast.parse(code).body
               if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    yours = {name: namespace[name] for name in defined
             if name in namespace and not is_stub(namespace[name])}
    # Padding keeps line numbers, so a traceback through the reference points into the file.
    exec(compile("\n" * (first_line - 1) + code, str(Path(path).resolve()), "exec"), namespace)
    namespace.update(yours)
    filled = [name for name in defined if name not in yours]
    if yours:
        print(f"your version: {', '.join(yours)} (the checks below test it)")
    if filled:
        print(f"reference solution: {', '.join(filled)} (replace `raise NotImplementedError()` "
              "above with your code to test yours)")
