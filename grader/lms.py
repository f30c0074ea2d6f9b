"""Grades for a learning management system: Canvas's and Moodle's gradebook import files, the roster.

One row per student, one column per assignment that has at least one submission in the gradebook.
A cell is the student's score in points (nbgrader's, less any late penalty), blank when there is
no submission or when grading could not work for it (``not graded``: an environment failure is
never a student's zero).

Columns, as the two systems document their gradebook import:

- Canvas ("How do I import grades in the Gradebook?", Canvas Instructor Guide): ``Student``,
  ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment; the
  second row, ``Points Possible``, gives each assignment's maximum, as in Canvas's own export.
  Canvas matches a row by ``ID``/``SIS User ID``/``SIS Login ID``: the nbgrader id is the SIS User
  ID, the roster's ``lms_user_id`` the Canvas ``ID``.
- Moodle ("Grade import", Moodle docs: the import file has the columns of the export, and the
  instructor maps one identifying column): ``First name``, ``Last name``, ``ID number``,
  ``Email address``, then one column per assignment. Map "Email address" to useremail, or
  "ID number" (the nbgrader id) to useridnumber.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import MissingEntry

from grader.course import CANARY_STUDENT, Course, CourseError

FORMATS = ("csv", "canvas", "moodle")
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_POINTS_ROW = "Points Possible"
MOODLE_COLUMNS = ("First name", "Last name", "ID number", "Email address")
# A roster: nbgrader's own student columns (as `nbgrader db student import` reads them).
ROSTER_COLUMNS = ("id", "first_name", "last_name", "email", "lms_user_id")


@dataclass
class Student:
    id: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    lms_user_id: str = ""

    @property
    def sortable_name(self) -> str:
        """'Last, First' as Canvas lists students; the id when the roster has no name."""
        if self.last_name and self.first_name:
            return f"{self.last_name}, {self.first_name}"
        return self.last_name or self.first_name or self.id


@dataclass
class Term:
    """Every student's score in every assignment that has a submission."""

    students: list[Student]
    assignments: list[str]
    max_scores: dict[str, float]
    scores: dict[tuple[str, str], float | None] = field(default_factory=dict)  # (student, assignment)
    withheld: list[tuple[str, str, str]] = field(default_factory=list)  # (student, assignment, why)


def read_term(course: Course, statuses: dict) -> Term:
    """The gradebook's scores; ``statuses``: what autograde recorded (grader.grading.read_statuses)."""
    with course.api.gradebook as gb:
        students = [Student(s.id, s.first_name or "", s.last_name or "", s.email or "",
                            s.lms_user_id or "")
                    for s in gb.students if s.id != CANARY_STUDENT]
        assignments = [a for a in gb.assignments if a.submissions]
        term = Term(students, [a.name for a in assignments],
                    {a.name: float(a.max_score) for a in assignments})
        for assignment in assignments:
            for student in students:
                term.scores[(student.id, assignment.name)] = None
                entry = statuses.get(assignment.name, {}).get(student.id, {})
                if entry.get("status") == "not graded":  # an oversized file has no submission
                    term.withheld.append((student.id, assignment.name, entry.get("detail", "")))
                    continue
                try:
                    sub = gb.find_submission(assignment.name, student.id)
                except MissingEntry:
                    continue
                penalty = float(sub.late_submission_penalty or 0.0)
                term.scores[(student.id, assignment.name)] = max(0.0, float(sub.score) - penalty)
    term.students.sort(key=lambda s: (s.last_name.lower(), s.first_name.lower(), s.id))
    return term


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def write_canvas(term: Term, dest: Path) -> None:
    with Path(dest).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*CANVAS_COLUMNS, *term.assignments])
        writer.writerow([CANVAS_POINTS_ROW, "", "", "", "",
                         *(_points(term.max_scores[a]) for a in term.assignments)])
        for s in term.students:
            writer.writerow([s.sortable_name, s.lms_user_id, s.id, "", "",
                             *(_points(term.scores[(s.id, a)]) for a in term.assignments)])


def write_moodle(term: Term, dest: Path) -> None:
    with Path(dest).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*MOODLE_COLUMNS, *term.assignments])
        for s in term.students:
            writer.writerow([s.first_name, s.last_name, s.id, s.email,
                             *(_points(term.scores[(s.id, a)]) for a in term.assignments)])


WRITERS = {"canvas": write_canvas, "moodle": write_moodle}


def import_roster(course: Course, path: Path) -> tuple[int, int]:
    """Add or update the students of the CSV file ``path`` in the gradebook; (new, updated).

    Columns (a header row, any order, any case): ``id`` (required), ``first_name``, ``last_name``,
    ``email``, ``lms_user_id``; other columns are ignored. A blank field leaves what the gradebook
    already holds."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte-order mark is fine
    except OSError as err:
        raise CourseError(f"cannot read the roster {path}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise CourseError(f"the roster {path} is not UTF-8 text") from None
    reader = csv.DictReader(text.splitlines())
    header = {(name or "").strip().lower(): name for name in reader.fieldnames or []}
    if "id" not in header:
        raise CourseError(f"the roster {path} has no 'id' column (its columns: "
                          f"{', '.join(reader.fieldnames or []) or 'none'}; expected "
                          f"{', '.join(ROSTER_COLUMNS)})")
    rows, seen = [], {}
    for line, row in enumerate(reader, start=2):
        fields = {key: (row.get(header[key]) or "").strip() for key in ROSTER_COLUMNS if key in header}
        if not fields["id"]:
            if any(fields.values()):
                raise CourseError(f"{path}, line {line}: a student without an id")
            continue  # a blank line
        if fields["id"] == CANARY_STUDENT:
            raise CourseError(f"{path}, line {line}: {CANARY_STUDENT} is reserved for the grader")
        if fields["id"] in seen:
            raise CourseError(f"{path}, line {line}: student {fields['id']} again "
                              f"(first on line {seen[fields['id']]})")
        seen[fields["id"]] = line
        rows.append(fields)
    new = updated = 0
    with course.api.gradebook as gb:
        known = {s.id for s in gb.students}
        for fields in rows:
            student_id = fields.pop("id")
            gb.update_or_create_student(student_id, **{k: v for k, v in fields.items() if v})
            if student_id in known:
                updated += 1
            else:
                new += 1
    return new, updated
