"""Grade a class with nbgrader's API: autograde every submission, feedback, export, summary."""

from __future__ import annotations

import csv
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.plugins.export import CsvExportPlugin
from tqdm import tqdm

from grader.course import Course, CourseError


@dataclass
class Outcome:
    """What autograding one student's submission gave."""

    student: str
    graded: bool
    score: float = 0.0
    max_score: float = 0.0
    problem: str = ""

    @property
    def status(self) -> str:
        """One of "graded", "needs review" (cells restored, a kernel died) and "not graded"."""
        if not self.graded:
            return NOT_GRADED
        return NEEDS_REVIEW if self.problem else GRADED


STATUS_FILE = "grading-status.json"
GRADED, NEEDS_REVIEW, NOT_GRADED = "graded", "needs review", "not graded"


def _status_path(course: Course) -> Path:
    return course.root / STATUS_FILE


def read_statuses(course: Course) -> dict:
    """{assignment: {student: {"status": ..., "detail": ...}}} as recorded by autograde."""
    path = _status_path(course)
    if not path.is_file():
        return {}
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _write_statuses(course: Course, assignment: str, outcomes: list[Outcome]) -> None:
    statuses = read_statuses(course)
    record = statuses.setdefault(assignment, {})
    for o in outcomes:
        record[o.student] = {"status": o.status, "detail": o.problem}
    _status_path(course).write_text(json.dumps(statuses, indent=1, sort_keys=True) + "\n")


def _grade_ids(path: Path) -> set[str]:
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable notebook simply has no test cells
        return set()
    return {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("grade")}


KERNEL_TROUBLE = (("DeadKernelError", "the kernel died"), ("CellTimeoutError", "a cell timed out"))


def _submission_status(course: Course, assignment: str, student: str) -> tuple[str, str]:
    """Status beyond nbgrader's success flag: restored test cells, kernels that died."""
    problems = []
    for src in sorted((course.root / "source" / assignment).glob("*.ipynb")):
        submitted = course.root / "submitted" / student / assignment / src.name
        if not submitted.is_file():
            problems.append(f"{src.name} missing")
            continue
        missing = _grade_ids(src) - _grade_ids(submitted)
        if missing:
            problems.append(f"{src.name}: test cells deleted and restored ({', '.join(sorted(missing))})")
        graded = course.root / "autograded" / student / assignment / src.name
        if graded.is_file():
            text = graded.read_text(errors="replace")
            for marker, what in KERNEL_TROUBLE:
                if marker in text:
                    problems.append(f"{src.name}: {what}")
    if not problems:
        return GRADED, ""
    return NEEDS_REVIEW, "; ".join(problems)


def _first_error(result: dict) -> str:
    for line in (result.get("log") or "").splitlines():
        if line.startswith(("[ERROR]", "[CRITICAL]")):
            return line.split("]", 1)[1].strip()
    return "nbgrader reported a failure (see the log with --verbose)"


def ensure_in_gradebook(course: Course, assignment: str) -> None:
    """Record the assignment's cells in the gradebook (a fresh clone has no gradebook.db)."""
    with course.api.gradebook as gb:
        try:
            gb.find_assignment(assignment)
            known = True
        except MissingEntry:
            known = False
    if not known:
        result = course.api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"cannot record {assignment} in the gradebook: {_first_error(result)}")


def autograde(course: Course, assignment: str, students: list[str] | None = None,
              progress: bool = True) -> list[Outcome]:
    """Autograde ``students`` (default: everyone under submitted/) and read back their scores."""
    course.require_assignment(assignment)
    found = course.submitted_students(assignment)
    if students:
        missing = sorted(set(students) - set(found))
        if missing:
            raise CourseError(f"no submission of {assignment} for: {', '.join(missing)}")
        found = [s for s in found if s in students]
    if not found:
        raise CourseError(f"no submissions of {assignment} under {course.root / 'submitted'}")
    ensure_in_gradebook(course, assignment)
    outcomes = []
    for student in tqdm(found, desc=f"autograde {assignment}", unit="student",
                        disable=not progress, file=sys.stderr):
        result = course.api.autograde(assignment, student, force=True, create=True)
        outcome = Outcome(student, graded=bool(result["success"]))
        if not outcome.graded:
            outcome.problem = _first_error(result)
        outcomes.append(outcome)
    with course.api.gradebook as gb:
        for outcome in outcomes:
            try:
                sub = gb.find_submission(assignment, outcome.student)
            except MissingEntry:
                outcome.graded = False
                outcome.problem = outcome.problem or "no graded submission recorded"
                continue
            outcome.score, outcome.max_score = float(sub.score), float(sub.max_score)
    for outcome in outcomes:
        if outcome.graded:
            _, outcome.problem = _submission_status(course, assignment, outcome.student)
    _write_statuses(course, assignment, outcomes)
    return outcomes


def feedback(course: Course, assignment: str) -> list[Path]:
    """Generate HTML feedback for every autograded submission; returns the files written."""
    course.require_assignment(assignment)
    result = course.api.generate_feedback(assignment)
    if not result["success"]:
        raise CourseError(f"feedback for {assignment} failed: {_first_error(result)}")
    return sorted((course.root / "feedback").glob(f"*/{assignment}/*.html"))


def export(course: Course, dest: Path) -> Path:
    """Write every grade in the gradebook to the CSV file ``dest`` (nbgrader's CSV exporter)."""
    dest = Path(dest).resolve()
    plugin = CsvExportPlugin(config=course.config)
    plugin.to = str(dest)
    with course.api.gradebook as gb:
        plugin.export(gb)
    # Add what a plain 0 hides: whether the submission was graded normally, errored or is absent.
    statuses = read_statuses(course)
    with dest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0].keys()) if rows else []
    for row in rows:
        entry = statuses.get(row["assignment"], {}).get(row["student_id"])
        if entry is None:
            row["status"] = "graded" if row.get("timestamp") not in ("", "None") else "no submission"
            row["status_detail"] = ""
        else:
            row["status"], row["status_detail"] = entry["status"], entry.get("detail", "")
    with dest.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*fields, "status", "status_detail"] if fields else
                                ["assignment", "student_id", "score", "max_score", "status", "status_detail"])
        writer.writeheader()
        writer.writerows(rows)
    return dest


@dataclass
class CellStats:
    """How a class did on one graded cell."""

    notebook: str
    grade_id: str
    max_score: float
    mean: float
    full: int
    zero: int
    count: int


def summary(course: Course, assignment: str) -> list[CellStats]:
    """Per test cell: mean score, full marks and zeros over the graded submissions, worst first."""
    course.require_assignment(assignment)
    with course.api.gradebook as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"{assignment} has not been autograded yet") from None
        students = [s.student.id for s in record.submissions]
        stats = []
        for notebook in record.notebooks:
            for cell in notebook.grade_cells:
                scores = []
                for student in students:
                    try:
                        grade = gb.find_grade(cell.name, notebook.name, assignment, student)
                    except MissingEntry:
                        continue
                    scores.append(float(grade.score))
                if not scores:
                    continue
                stats.append(CellStats(
                    notebook.name, cell.name, float(cell.max_score),
                    sum(scores) / len(scores),
                    sum(s >= cell.max_score for s in scores), sum(s == 0 for s in scores),
                    len(scores),
                ))
    return sorted(stats, key=lambda c: (c.mean / c.max_score if c.max_score else 1.0, c.grade_id))
