"""Grade a class with nbgrader's API: autograde every submission, feedback, export, summary."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

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
