"""The instructor's view of a class: one self-contained HTML page per assignment, or for the term.

An assignment's page: the grade distribution, each test's pass rate, the mistakes the checks
recognised in the autograded notebooks (the same sentences the students read, counted), the other
failures, and the late, not graded and needs-review submissions. The term's page: every student's
score in every assignment, flagged the same way, and each assignment's distribution.

Plots are matplotlib (Agg) PNGs embedded as base64: the page opens offline. Nothing in it depends
on the time or the machine it was made on, so two reports of one gradebook are the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import MissingEntry

from grader import deadlines
from grader.course import CANARY_STUDENT, Course, CourseError
from grader.grading import GRADED, NEEDS_REVIEW, NOT_GRADED, read_notebook, read_statuses
from grader.preprocessors import ANSI
from helpers.checks import likely_mistakes

NO_SUBMISSION = "no submission"


@dataclass
class Entry:
    """One student's submission of one assignment (or its absence)."""

    student: str
    name: str
    status: str
    detail: str = ""
    raw: float | None = None
    penalty: float = 0.0
    max_score: float = 0.0
    seconds_late: float = 0.0

    @property
    def counted(self) -> bool:
        """Whether the score is a grade (graded or needs review): not graded is no zero."""
        return self.raw is not None and self.status in (GRADED, NEEDS_REVIEW)

    @property
    def final(self) -> float | None:
        return max(0.0, self.raw - self.penalty) if self.counted else None

    @property
    def percent(self) -> float | None:
        final = self.final
        return None if final is None or not self.max_score else 100.0 * final / self.max_score


@dataclass
class CellRow:
    notebook: str
    grade_id: str
    max_score: float
    scores: list[float]

    @property
    def label(self) -> str:
        return f"{self.notebook}:{self.grade_id}"

    @property
    def full(self) -> int:
        return sum(s >= self.max_score for s in self.scores)

    @property
    def zero(self) -> int:
        return sum(s <= 0 for s in self.scores)

    @property
    def partial(self) -> int:
        return len(self.scores) - self.full - self.zero

    @property
    def pass_rate(self) -> float:
        return self.full / len(self.scores) if self.scores else 0.0


@dataclass
class Failure:
    """A failure seen in the autograded notebooks: a recognised mistake or another error."""

    cell: str  # notebook:grade_id of the test cell
    text: str
    recognised: bool
    students: list[str] = field(default_factory=list)


@dataclass
class AssignmentView:
    assignment: str
    due: str
    entries: list[Entry]
    cells: list[CellRow]
    failures: list[Failure]


def _student_name(student) -> str:
    return " ".join(p for p in (student.first_name, student.last_name) if p)


def _entries(course: Course, gb, assignment: str, statuses: dict) -> list[Entry]:
    record = gb.find_assignment(assignment)
    max_score = float(record.max_score)
    entries = []
    for student in sorted(gb.students, key=lambda s: s.id):
        if student.id == CANARY_STUDENT:
            continue
        status = statuses.get(student.id, {})
        entry = Entry(student.id, _student_name(student), status.get("status", NO_SUBMISSION),
                      status.get("detail", ""), max_score=max_score)
        try:
            sub = gb.find_submission(assignment, student.id)
        except MissingEntry:
            if entry.status != NOT_GRADED:  # too big to read: not graded, yet no submission
                entry.status = NO_SUBMISSION
            entries.append(entry)
            continue
        if not status:
            entry.status = GRADED  # graded by nbgrader alone (the formgrader), not by `course`
        entry.raw = float(sub.score)
        entry.penalty = float(sub.late_submission_penalty or 0.0)
        entry.seconds_late = float(sub.total_seconds_late or 0.0)
        entries.append(entry)
    return entries


def _cells(gb, assignment: str, counted: list[str]) -> list[CellRow]:
    rows = []
    for notebook in gb.find_assignment(assignment).notebooks:
        for cell in notebook.grade_cells:
            scores = []
            for student in counted:
                try:
                    scores.append(float(gb.find_grade(cell.name, notebook.name, assignment,
                                                      student).score))
                except MissingEntry:
                    continue
            rows.append(CellRow(notebook.name, cell.name, float(cell.max_score), scores))
    return sorted(rows, key=lambda r: (r.pass_rate, r.label))


def failures(course: Course, assignment: str, students: list[str]) -> list[Failure]:
    """What failed in the test cells of the autograded notebooks of ``students``: recognised
    mistakes (the checks' "likely mistake:" lines) and other errors (their first line), and who."""
    found: dict[tuple[str, str, bool], set[str]] = defaultdict(set)
    for student in students:
        folder = course.root / "autograded" / student / assignment
        for path in sorted(folder.glob("*.ipynb")):
            for cell in read_notebook(path).cells:  # unreadable: no cells, no failures
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if not meta.get("grade") or cell.get("cell_type") != "code":
                    continue  # a failure elsewhere follows from an answer; its test says which
                where = f"{path.stem}:{meta.get('grade_id')}"
                for out in cell.get("outputs", []):
                    if out.get("output_type") != "error":
                        continue
                    message = ANSI.sub("", str(out.get("evalue", "")))
                    mistakes = likely_mistakes(message)
                    for sentence in mistakes:
                        found[(where, sentence, True)].add(student)
                    if not mistakes:
                        first = message.strip().splitlines()[0] if message.strip() else ""
                        text = f"{out.get('ename', 'Error')}: {first}" if first else str(
                            out.get("ename", "Error"))
                        found[(where, text[:240], False)].add(student)
    rows = [Failure(cell, text, recognised, sorted(who))
            for (cell, text, recognised), who in found.items()]
    return sorted(rows, key=lambda f: (-len(f.students), f.cell, f.text))


def assignment_view(course: Course, assignment: str) -> AssignmentView:
    course.require_assignment(assignment)
    statuses = read_statuses(course).get(assignment, {})
    with course.api.gradebook as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(f"{assignment} has not been autograded yet") from None
        entries = _entries(course, gb, assignment, statuses)
        counted = [e.student for e in entries if e.counted]
        cells = _cells(gb, assignment, counted)
    return AssignmentView(assignment, deadlines.describe(course, assignment), entries, cells,
                          failures(course, assignment, counted))


@dataclass
class TermView:
    assignments: list[str]
    dues: dict[str, str]
    students: list[tuple[str, str]]  # (id, name)
    entries: dict[tuple[str, str], Entry]  # (student, assignment)


def term_view(course: Course) -> TermView:
    statuses = read_statuses(course)
    with course.api.gradebook as gb:
        with_submissions = {a.name for a in gb.assignments if a.submissions}
        order = [a for a in course.assignments() if a in with_submissions]
        order += sorted(with_submissions - set(order))
        students = [(s.id, _student_name(s)) for s in sorted(gb.students, key=lambda s: s.id)
                    if s.id != CANARY_STUDENT]
        entries = {}
        for assignment in order:
            for entry in _entries(course, gb, assignment, statuses.get(assignment, {})):
                entries[(entry.student, assignment)] = entry
    dues = {a: deadlines.describe(course, a) if a in course.assignments() else "" for a in order}
    return TermView(order, dues, students, entries)


# --- plots ---------------------------------------------------------------------------------------

def _png(fig) -> str:
    """The figure as an <img> with its PNG inline; no software or date metadata in the file."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="" src="data:image/png;base64,{data}">'


def _figure(width: float, height: float):
    from matplotlib.figure import Figure  # no pyplot: no global state, the Agg canvas

    return Figure(figsize=(width, height), layout="constrained")


def _style():
    import matplotlib.style

    return matplotlib.style.context("default")  # the same look whatever the user's matplotlibrc


def distribution_plot(percents: list[float]) -> str:
    with _style():
        fig = _figure(6.4, 3.0)
        ax = fig.add_subplot()
        ax.hist(percents, bins=[i * 10 for i in range(11)], color="#4c72b0", edgecolor="white")
        if percents:
            ax.axvline(statistics.mean(percents), color="#dd8452", label="mean")
            ax.axvline(statistics.median(percents), color="#55a868", linestyle="--", label="median")
            ax.legend(loc="upper left")
        ax.set_xlim(0, 100)
        ax.set_xlabel("score (% of the maximum, after late penalties)")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        return _png(fig)


def _short(label: str, width: int = 40) -> str:
    return label if len(label) <= width else label[:width - 1] + "\u2026"


def pass_rate_plot(cells: list[CellRow]) -> str:
    with _style():
        fig = _figure(6.4, 1.1 + 0.32 * max(1, len(cells)))
        ax = fig.add_subplot()
        labels = [_short(c.label) for c in cells]
        n = [max(1, len(c.scores)) for c in cells]
        full = [100.0 * c.full / k for c, k in zip(cells, n, strict=True)]
        partial = [100.0 * c.partial / k for c, k in zip(cells, n, strict=True)]
        zero = [100.0 * c.zero / k for c, k in zip(cells, n, strict=True)]
        ax.barh(labels, full, color="#55a868", label="full marks")
        ax.barh(labels, partial, left=full, color="#ccb974", label="partial")
        ax.barh(labels, zero, left=[f + p for f, p in zip(full, partial, strict=True)],
                color="#c44e52", label="zero")
        ax.invert_yaxis()  # hardest first, at the top
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of the counted submissions")
        fig.legend(loc="outside upper center", ncols=3, fontsize="small")
        return _png(fig)


def term_plot(view: TermView) -> str:
    with _style():
        fig = _figure(6.4, 3.2)
        ax = fig.add_subplot()
        data = [[e.percent for (s, a), e in view.entries.items() if a == assignment
                 and e.percent is not None] for assignment in view.assignments]
        ax.boxplot([d or [float("nan")] for d in data], tick_labels=view.assignments)
        ax.set_ylim(-5, 105)
        ax.set_ylabel("score (%)")
        ax.tick_params(axis="x", labelrotation=30)
        return _png(fig)


# --- HTML ----------------------------------------------------------------------------------------

CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
td.num { text-align: right; }
.late { background: #fde9c9; }
.review { background: #fff6b3; }
.notgraded { background: #f4c7c7; }
.missing { color: #888; }
.small { font-size: 0.85em; color: #555; }
"""

STATUS_CLASS = {GRADED: "", NEEDS_REVIEW: "review", NOT_GRADED: "notgraded", NO_SUBMISSION: "missing"}


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            + "\n".join(body) + "\n</body>\n</html>\n")


def _table(header: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    return f"<table>\n<tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _who(entry: Entry) -> str:
    return _e(entry.student + (f" ({entry.name})" if entry.name else ""))


def _stats(values: list[float]) -> str:
    if not values:
        return "no graded submission"
    spread = f", standard deviation {statistics.pstdev(values):.1f}" if len(values) > 1 else ""
    return (f"mean {statistics.mean(values):.1f}%, median {statistics.median(values):.1f}%, "
            f"lowest {min(values):.1f}%, highest {max(values):.1f}%{spread}")


def assignment_html(view: AssignmentView) -> str:
    entries = view.entries
    counted = [e for e in entries if e.counted]
    percents = [e.percent for e in counted if e.percent is not None]
    by_status = defaultdict(list)
    for e in entries:
        by_status[e.status].append(e)
    late = [e for e in entries if e.seconds_late > 0 and e.status != NO_SUBMISSION]
    body = [f"<h1>{_e(view.assignment)}</h1>",
            f"<p>{_e(view.due)}. {len(entries) - len(by_status[NO_SUBMISSION])} submissions of "
            f"{len(entries)} students: {len(by_status[GRADED])} graded, "
            f"{len(by_status[NEEDS_REVIEW])} to review, {len(by_status[NOT_GRADED])} not graded, "
            f"{len(by_status[NO_SUBMISSION])} without a submission; {len(late)} late.</p>",
            "<h2>Grade distribution</h2>",
            f"<p>Over the {len(percents)} graded submissions (not graded ones are left out, not "
            f"counted as zero): {_e(_stats(percents))}.</p>",
            distribution_plot(percents),
            "<h2>Tests, hardest first</h2>"]
    if view.cells:
        body.append(pass_rate_plot(view.cells))
        body.append(_table(["test cell", "points", "mean", "full marks", "partial", "zero", "of"], [
            f"<tr><td>{_e(c.label)}</td><td class=\"num\">{c.max_score:g}</td>"
            f"<td class=\"num\">{(statistics.mean(c.scores) if c.scores else 0):.2f}</td>"
            f"<td class=\"num\">{c.full}</td><td class=\"num\">{c.partial}</td>"
            f"<td class=\"num\">{c.zero}</td><td class=\"num\">{len(c.scores)}</td></tr>"
            for c in view.cells]))
    recognised = [f for f in view.failures if f.recognised]
    others = [f for f in view.failures if not f.recognised]
    body.append("<h2>Mistakes the checks recognised</h2>")
    body.append("<p class=\"small\">The \"likely mistake\" sentences of failed checks, as the "
                "students read them, counted over the graded submissions.</p>")
    body.append(_failure_table(recognised) if recognised else "<p>None.</p>")
    body.append("<h2>Other failures</h2>")
    body.append(_failure_table(others) if others else "<p>None.</p>")
    body.append("<h2>Late, not graded and needs review</h2>")
    flagged = [e for e in entries if e in late or e.status in (NEEDS_REVIEW, NOT_GRADED)]
    if flagged:
        body.append(_table(["student", "status", "late", "score", "penalty", "detail"], [
            f"<tr class=\"{'late' if e in late else ''} {STATUS_CLASS.get(e.status, '')}\">"
            f"<td>{_who(e)}</td><td>{_e(e.status)}</td>"
            f"<td>{_e(deadlines.lateness(e.seconds_late)) if e.seconds_late else ''}</td>"
            f"<td class=\"num\">{'' if e.final is None else f'{e.final:g} / {e.max_score:g}'}</td>"
            f"<td class=\"num\">{e.penalty:g}</td><td>{_e(e.detail)}</td></tr>" for e in flagged]))
    else:
        body.append("<p>None.</p>")
    body.append("<h2>Every student</h2>")
    body.append(_table(["student", "status", "score", "raw", "late penalty", "late"], [
        f"<tr class=\"{'late' if e in late else ''} {STATUS_CLASS.get(e.status, '')}\">"
        f"<td>{_who(e)}</td><td>{_e(e.status)}</td>"
        f"<td class=\"num\">{'' if e.final is None else f'{e.final:g} / {e.max_score:g}'}</td>"
        f"<td class=\"num\">{'' if e.raw is None else f'{e.raw:g}'}</td>"
        f"<td class=\"num\">{e.penalty:g}</td>"
        f"<td>{_e(deadlines.lateness(e.seconds_late)) if e.seconds_late else ''}</td></tr>"
        for e in entries]))
    return _page(f"{view.assignment}: class report", body)


def _failure_table(rows: list[Failure]) -> str:
    return _table(["test cell", "what", "students", "who"], [
        f"<tr><td>{_e(f.cell)}</td><td>{_e(f.text)}</td><td class=\"num\">{len(f.students)}</td>"
        f"<td class=\"small\">{_e(', '.join(f.students))}</td></tr>" for f in rows])


def _term_cell(entry: Entry | None) -> str:
    if entry is None or entry.status == NO_SUBMISSION:
        return "<td class=\"missing\">&ndash;</td>"
    classes = " ".join(c for c in (STATUS_CLASS.get(entry.status, ""),
                                   "late" if entry.seconds_late > 0 else "") if c)
    if entry.final is None:
        text = _e(entry.status)
    else:
        text = f"{entry.final:g}"
    marks = []
    if entry.seconds_late > 0:
        marks.append(f"late {deadlines.lateness(entry.seconds_late)}, -{entry.penalty:g}")
    if entry.status in (NEEDS_REVIEW, NOT_GRADED):
        marks.append(entry.status + (f": {entry.detail}" if entry.detail else ""))
    title = f" title=\"{_e('; '.join(marks))}\"" if marks else ""
    suffix = "".join(f" <span class=\"small\">({_e(m.split(':')[0])})</span>" for m in marks)
    return f"<td class=\"num {classes}\"{title}>{text}{suffix}</td>"


def term_html(view: TermView) -> str:
    body = ["<h1>The term</h1>",
            f"<p>{len(view.students)} students, {len(view.assignments)} assignments with "
            "submissions. Scores in points after late penalties; &ndash;: no submission; a "
            "submission that could not be graded is no zero and counts in no total.</p>"]
    if not view.assignments:
        body.append("<p>Nothing graded yet.</p>")
        return _page("The term: class report", body)
    body.append(term_plot(view))
    rows = []
    for assignment in view.assignments:
        group = [e for (s, a), e in view.entries.items() if a == assignment]
        percents = [e.percent for e in group if e.percent is not None]
        rows.append(
            f"<tr><td>{_e(assignment)}</td><td>{_e(view.dues[assignment])}</td>"
            f"<td class=\"num\">{sum(e.status != NO_SUBMISSION for e in group)}</td>"
            f"<td class=\"num\">{sum(e.seconds_late > 0 for e in group)}</td>"
            f"<td class=\"num\">{sum(e.status in (NEEDS_REVIEW, NOT_GRADED) for e in group)}</td>"
            f"<td>{_e(_stats(percents))}</td></tr>")
    body.append("<h2>Assignments</h2>")
    body.append(_table(["assignment", "due", "submissions", "late", "to review or not graded",
                        "scores"], rows))
    body.append("<h2>Students</h2>")
    maxima = {a: next((e.max_score for (s, b), e in view.entries.items() if b == a), 0.0)
              for a in view.assignments}
    header = ["student", *(f"{a} (/{maxima[a]:g})" for a in view.assignments), "total"]
    rows = []
    for student, name in view.students:
        cells = [view.entries.get((student, a)) for a in view.assignments]
        got = sum(e.final for e in cells if e is not None and e.final is not None)
        possible = sum(maxima[a] for a, e in zip(view.assignments, cells, strict=True)
                       if e is None or e.status != NOT_GRADED)
        total = f"{got:g} / {possible:g}" + (f" ({100 * got / possible:.0f}%)" if possible else "")
        who = _e(student + (f" ({name})" if name else ""))
        rows.append(f"<tr><td>{who}</td>{''.join(_term_cell(e) for e in cells)}"
                    f"<td class=\"num\">{_e(total)}</td></tr>")
    body.append(_table(header, rows))
    return _page("The term: class report", body)


def write(course: Course, assignment: str | None, dest: Path | None) -> Path:
    """Write the report of ``assignment`` (of the term when None) to ``dest``; the path written."""
    if assignment is None:
        text = term_html(term_view(course))
        default = Path("report-term.html")
    else:
        text = assignment_html(assignment_view(course, assignment))
        default = Path(f"report-{assignment}.html")
    dest = Path(dest or default).resolve()
    dest.write_text(text, encoding="utf-8")
    return dest
