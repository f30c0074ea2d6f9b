"""Due dates and late work: per assignment in the gradebook, a late penalty as an nbgrader plugin.

Due dates live where nbgrader keeps them, on the gradebook's ``Assignment.duedate`` (naive UTC, as
nbgrader stores every time). They are set by ``course assignment A --due 'YYYY-MM-DD HH:MM'`` or
in ``nbgrader_config.py``::

    c.Deadlines.due = {"01_gradients": "2027-01-15 23:59"}
    c.Deadlines.timezone = "UTC"          # the zone of a due date written without one (default)

A due date may end with its own zone (``2027-01-15 23:59 Europe/Berlin``, ``... +01:00``). The
configured dates are copied into the gradebook before each ``course autograde``; an assignment
whose date is configured cannot be given another with ``--due``.

nbgrader computes ``total_seconds_late`` from each submission's ``timestamp.txt`` (a timestamp
without a zone is UTC) and asks the plugin named by ``c.AssignLatePenalties.plugin_class`` for each
notebook's penalty; ``SharePerDayLate`` takes a share of the notebook's score per started day.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from dateutil import tz as dateutil_tz
from nbgrader.api import MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Dict, Float, Unicode
from traitlets.config import Configurable

from grader.course import CANARY_STUDENT, Course, CourseError

DAY = 86400.0
DUE_FORMAT = "YYYY-MM-DD HH:MM"
_DUE = re.compile(r"^\s*(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(?::\d{2})?\s*(.*?)\s*$")


class Deadlines(Configurable):
    """The course's due dates (``c.Deadlines`` in nbgrader_config.py)."""

    due = Dict(value_trait=Unicode(), default_value={},
               help="assignment -> due date 'YYYY-MM-DD HH:MM' (optionally followed by a zone)"
               ).tag(config=True)
    timezone = Unicode("UTC", help="zone of a due date given without one (default UTC)").tag(config=True)


class SharePerDayLate(LateSubmissionPlugin):
    """Late penalty: ``share_per_day`` of the notebook's score per started day late, at most
    ``max_share``; nothing within ``grace_minutes`` of the due date."""

    share_per_day = Float(0.1, help="share of the score lost per started day late").tag(config=True)
    max_share = Float(1.0, help="the largest share a late submission loses").tag(config=True)
    grace_minutes = Float(0.0, help="minutes after the due date that cost nothing").tag(config=True)

    def share(self, total_seconds_late: float) -> float:
        """The share of the score lost ``total_seconds_late`` seconds after the due date."""
        if total_seconds_late <= self.grace_minutes * 60:
            return 0.0
        return min(max(self.max_share, 0.0), max(self.share_per_day, 0.0) * started_days(total_seconds_late))

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float:
        return float(score) * self.share(total_seconds_late)


def started_days(seconds: float) -> int:
    """Days late, a started day counting as one (1 s late is 1 day)."""
    return max(0, math.ceil(seconds / DAY)) if seconds > 0 else 0


def lateness(seconds: float) -> str:
    """'1 day 2 h 5 min' for a number of seconds late."""
    minutes = math.ceil(seconds / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} day" + ("" if days == 1 else "s")] if days else []
    parts += [f"{hours} h"] if hours else []
    parts += [f"{minutes} min"] if minutes or not parts else []
    return " ".join(parts)


def _zone(name: str):
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if offset:
        sign = 1 if offset.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(offset.group(2)), minutes=int(offset.group(3))))
    zone = dateutil_tz.gettz(name)
    if zone is None:
        raise CourseError(f"unknown time zone {name!r} (use UTC, an offset like +01:00, or a name "
                          "like Europe/Berlin)")
    return zone


def parse_due(text: str, default_zone: str = "UTC") -> datetime:
    """'YYYY-MM-DD HH:MM[ ZONE]' -> naive UTC datetime, as nbgrader stores it."""
    match = _DUE.match(str(text))
    if not match:
        raise CourseError(f"due date {text!r} is not {DUE_FORMAT} (optionally followed by a zone)")
    try:
        local = datetime.strptime(f"{match.group(1)} {match.group(2)}", "%Y-%m-%d %H:%M")
    except ValueError as err:
        raise CourseError(f"due date {text!r}: {err}") from None
    aware = local.replace(tzinfo=_zone(match.group(3) or default_zone))
    return aware.astimezone(UTC).replace(tzinfo=None)


def format_due(due: datetime, zone: str = "UTC") -> str:
    """A naive UTC datetime as 'YYYY-MM-DD HH:MM ZONE' in ``zone``."""
    aware = due.replace(tzinfo=UTC).astimezone(_zone(zone))
    label = "UTC" if _zone(zone) is UTC else zone
    return aware.strftime("%Y-%m-%d %H:%M") + f" {label}"


def settings(course: Course) -> Deadlines:
    try:
        return Deadlines(config=course.config)
    except Exception as err:  # noqa: BLE001 - a wrong type in the user's config file
        raise CourseError(f"c.Deadlines in nbgrader_config.py: {err}") from None


def configured(course: Course) -> dict[str, datetime]:
    """assignment -> due date (naive UTC) from nbgrader_config.py, every one checked."""
    deadlines = settings(course)
    known = set(course.assignments())
    dates = {}
    for assignment, text in sorted(deadlines.due.items()):
        if assignment not in known:
            raise CourseError(f"c.Deadlines.due in nbgrader_config.py names {assignment!r}, which "
                              f"is not an assignment (known: {', '.join(sorted(known)) or 'none'})")
        dates[assignment] = parse_due(text, deadlines.timezone)
    return dates


def _record(course: Course, assignment: str, due: datetime | None) -> None:
    from grader.grading import ensure_in_gradebook

    ensure_in_gradebook(course, assignment)  # the assignment's cells first, then its date
    with course.api.gradebook as gb:
        gb.find_assignment(assignment).duedate = due
        gb.db.commit()


def recorded(course: Course, assignment: str) -> datetime | None:
    """The due date in the gradebook (naive UTC), or None."""
    with course.api.gradebook as gb:
        try:
            return gb.find_assignment(assignment).duedate
        except MissingEntry:
            return None


def sync(course: Course, assignment: str) -> None:
    """Copy the configured due date of ``assignment`` (if any) into the gradebook."""
    due = configured(course).get(assignment)
    if due is not None and recorded(course, assignment) != due:
        _record(course, assignment, due)


def set_due(course: Course, assignment: str, text: str) -> datetime | None:
    """Record the due date ``text`` ('none' removes it) of ``assignment``, and settle the late
    penalties of the submissions already graded; the date recorded."""
    course.require_assignment(assignment)
    if assignment in configured(course):
        raise CourseError(f"the due date of {assignment} is set in nbgrader_config.py "
                          "(c.Deadlines.due): change it there")
    due = None if text.strip().lower() == "none" else parse_due(text, settings(course).timezone)
    _record(course, assignment, due)
    settle(course, assignment)  # penalties already assigned follow the new date
    return due


def describe(course: Course, assignment: str) -> str:
    """'due 2027-01-15 23:59 UTC (nbgrader_config.py)', or 'no due date'."""
    course.require_assignment(assignment)
    zone = settings(course).timezone
    due = configured(course).get(assignment)
    if due is not None:
        return f"due {format_due(due, zone)} (c.Deadlines.due in nbgrader_config.py)"
    due = recorded(course, assignment)
    return f"due {format_due(due, zone)} (in the gradebook)" if due else "no due date"


@dataclass
class Late:
    """A submission handed in after its due date."""

    student: str
    assignment: str
    seconds: float
    penalty: float  # points, nbgrader's late_submission_penalty summed over the notebooks

    @property
    def text(self) -> str:
        penalty = f"penalty {self.penalty:g} points" if self.penalty else "no penalty"
        return f"{lateness(self.seconds)} late, {penalty}"


def late_submissions(course: Course, assignment: str | None = None) -> list[Late]:
    """Every late submission in the gradebook (of ``assignment`` only, if given), sorted."""
    found = []
    with course.api.gradebook as gb:
        for record in gb.assignments:
            if assignment is not None and record.name != assignment:
                continue
            for sub in record.submissions:
                if sub.student.id == CANARY_STUDENT or not sub.total_seconds_late:
                    continue
                found.append(Late(sub.student.id, record.name, float(sub.total_seconds_late),
                                  float(sub.late_submission_penalty or 0.0)))
    return sorted(found, key=lambda late: (late.assignment, late.student))


def plugin(course: Course) -> LateSubmissionPlugin:
    """The late-penalty plugin nbgrader's AssignLatePenalties uses with this course's settings."""
    from nbgrader.preprocessors import AssignLatePenalties

    assigner = AssignLatePenalties(config=course.config)
    assigner.init_plugin()
    return assigner.plugin_inst


def settle(course: Course, assignment: str) -> list[Late]:
    """After ``course autograde``: each notebook's late penalty again, from its final score.

    nbgrader assigns the penalty while grading, before the clean re-check may lower a score; the
    plugin is asked again here so that a share-of-score penalty follows the score that stands."""
    policy = plugin(course)
    with course.api.gradebook as gb:
        try:
            record = gb.find_assignment(assignment)
        except MissingEntry:
            return []
        for sub in record.submissions:
            seconds = float(sub.total_seconds_late or 0)
            for notebook in sub.notebooks:
                penalty = None
                if seconds > 0:
                    penalty = policy.late_submission_penalty(sub.student.id, notebook.score, seconds)
                    if penalty is not None:
                        penalty = min(max(float(penalty), 0.0), float(notebook.score))
                notebook.late_submission_penalty = penalty
        gb.db.commit()
    return late_submissions(course, assignment)


LATE_COLUMNS = ("seconds_late", "late")


def mark_csv(course: Course, path: Path) -> None:
    """Add ``seconds_late`` and ``late`` (yes/no; blank without a submission) to an export CSV."""
    late = {(item.assignment, item.student): item.seconds for item in late_submissions(course)}
    path = Path(path)
    with path.open(newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = list(reader.fieldnames or []), list(reader)
    if not fields:
        return
    for row in rows:
        submitted = row.get("status") != "no submission"
        seconds = late.get((row.get("assignment"), row.get("student_id")), 0.0)
        row["seconds_late"] = f"{seconds:g}" if submitted else ""
        row["late"] = ("yes" if seconds else "no") if submitted else ""
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=[*fields, *LATE_COLUMNS])
        writer.writeheader()
        writer.writerows(rows)
