"""Why a submission could not be graded, or was graded as another assignment, in the student's terms.

nbgrader's own error for an unreadable notebook is the same whatever the file holds; the
instructor answering a student needs the file's actual fault: empty, not JSON (where), not a
notebook, too big, missing, or a notebook of another assignment.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat


def _grade_ids(nb: dict) -> set[str]:
    ids = set()
    for cell in nb.get("cells", []) if isinstance(nb, dict) else []:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if isinstance(meta, dict) and isinstance(meta.get("grade_id"), str):
            ids.add(meta["grade_id"])
    return ids


def file_fault(path: Path, max_bytes: int) -> str:
    """What keeps ``path`` from being read as a notebook ("" if nothing does)."""
    name = path.name
    if not path.is_file():
        return f"{name} missing"
    size = path.stat().st_size
    if size > max_bytes:
        return (f"{name} is {size / 2**20:.0f} MB, over the limit of {max_bytes / 2**20:.0f} MB: "
                "not read")
    raw = path.read_bytes()
    if not raw.strip():
        return f"{name} is empty ({size} bytes): the notebook was not saved, or saved blank"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        return f"{name} is not UTF-8 text (byte {err.start}): not a notebook file"
    except json.JSONDecodeError as err:
        return (f"{name} is not valid JSON: {err.msg} at line {err.lineno}, column {err.colno} "
                "(a cut-off or hand-edited file)")
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        return f"{name} is JSON but not a notebook (no list of cells)"
    try:
        nbformat.validate(nbformat.reads(raw.decode("utf-8"), as_version=4))
    except Exception as err:  # noqa: BLE001 - nbformat raises several kinds; each is the reason
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        return f"{name} is not a valid notebook: {first[:200]}"
    return ""


def other_assignment(path: Path, own: set[str], others: dict[str, set[str]]) -> str:
    """Whether ``path`` holds more cells of another notebook than of its own ("" if not).

    own: grade ids of the notebook expected there; others: "<assignment>/<notebook>" -> grade ids.
    """
    try:
        ids = _grade_ids(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return ""
    if not ids:
        return ""
    # Cell ids such as "imports" recur across notebooks: the one sharing the most cells is the one.
    best = max(others.items(), key=lambda item: len(item[1] & ids), default=(None, set()))
    if len(best[1] & ids) <= len(own & ids):
        return ""
    return f"{path.name} holds the cells of {best[0]}: the notebook of another assignment"


def _notebook_ids(course, exclude: str) -> dict[str, set[str]]:
    found = {}
    for assignment in course.assignments():
        for src in course.notebooks(assignment):
            if assignment != exclude:
                found[f"{assignment}/{src.name}"] = _grade_ids(json.loads(src.read_text(encoding="utf-8")))
    return found


def explain(course, assignment: str, outcomes, max_bytes: int) -> None:
    """Give each outcome its specific reason: for one not graded, the file's fault (in place of
    nbgrader's generic error); for any, a notebook of another assignment handed in."""
    others = None
    own = {src: _grade_ids(json.loads(src.read_text(encoding="utf-8")))
           for src in course.notebooks(assignment)}
    for outcome in outcomes:
        folder = course.root / "submitted" / outcome.student / assignment
        notes = []
        for src in own:
            path = folder / src.name
            if not outcome.graded:
                fault = file_fault(path, max_bytes)
                if fault:
                    notes.append(fault)
                    continue
            if path.is_file() and path.stat().st_size <= max_bytes:
                others = _notebook_ids(course, assignment) if others is None else others
                wrong = other_assignment(path, own[src], others)
                if wrong:
                    notes.append(wrong)
        if not notes:
            continue
        if outcome.graded:
            outcome.problem = "; ".join(p for p in (*notes, outcome.problem) if p)
        else:
            outcome.problem = "; ".join(notes)
