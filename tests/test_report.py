"""`course report`, due dates and late work, on a small gradebook (no grading run).

The class of tests/test_cli_term.py (made with nbgrader's Gradebook API), plus: a due date for hw1,
ada's hw1 handed in 26 hours late, bob's to review, hand-made autograded notebooks whose error
outputs are real failed checks of helpers.checks, and one hw2 submission. Commands run through
`grader.cli.main` in this process. The same on a graded class: tests/test_autograde.py.
"""

from __future__ import annotations

import csv
import datetime
import html
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from test_cli_term import LONG_CELL, make_course

from grader import deadlines, report
from grader.course import Course, CourseError
from helpers import checks

DUE = datetime.datetime(2027, 1, 15, 23, 59)
SUM_SENTENCE = "the 1/m is missing: this is the sum of squared errors, not their mean."


def _failed_check(**kwargs) -> str:
    """The message of a failed check of helpers.checks, as a student reads it."""
    with pytest.raises(AssertionError) as info:
        checks.check_close(**kwargs)
    return str(info.value)


SUM_MESSAGE = _failed_check(name="mse_loss", got=1.75, expected=0.4375,
                            mistakes={SUM_SENTENCE: 1.75})
SIGN_MESSAGE = _failed_check(name="dw", got=[[-1.0, 2.0]], expected=[[1.0, -2.0]])


def _graded_notebook(path: Path, errors: dict[str, tuple[str, str]]) -> None:
    """An autograded notebook: a passing cell, then one test cell per grade_id failing with
    (ename, evalue)."""
    nb = nbformat.v4.new_notebook()
    # An ungraded cell that failed too (a demo using an unanswered function): no test's failure.
    demo = nbformat.v4.new_code_cell("plot(answer())")
    demo.outputs = [nbformat.v4.new_output("error", ename="NameError", evalue="name 'x' is not defined",
                                           traceback=[])]
    nb.cells.append(demo)
    for grade_id in errors:
        cell = nbformat.v4.new_code_cell("check()")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": grade_id, "points": 1,
                                     "locked": True, "solution": False, "schema_version": 3}
        ename, evalue = errors[grade_id]
        # As IPython stores it: the message, and a traceback with colour codes.
        cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=evalue,
                                               traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])]
        nb.cells.append(cell)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def make_class(root: Path) -> Path:
    make_course(root)
    course = Course(root)
    with course.api.gradebook as gb:
        gb.add_submission("hw2", "ada")
        gb.find_assignment("hw1").duedate = DUE
        gb.find_submission("hw1", "ada").timestamp = DUE + datetime.timedelta(hours=26)
        gb.find_submission("hw1", "bob").timestamp = DUE - datetime.timedelta(hours=1)
        gb.find_grade("test-short", "nb1", "hw2", "ada").auto_score = 2.0
        gb.db.commit()
    deadlines.settle(course, "hw1")  # the course's policy: 10% per started day, 2 days
    statuses = json.loads((root / "grading-status.json").read_text())
    statuses["hw1"]["bob"] = {"status": "needs review", "detail": "nb1.ipynb: a cell timed out"}
    statuses["hw2"] = {"ada": {"status": "graded", "detail": ""}}
    (root / "grading-status.json").write_text(json.dumps(statuses))
    graded = root / "autograded"
    # ada and bob both forgot the 1/m; bob also flipped a sign, and left a cell unanswered.
    _graded_notebook(graded / "ada" / "hw1" / "nb1.ipynb",
                     {"test-short": ("AssertionError", SUM_MESSAGE)})
    _graded_notebook(graded / "bob" / "hw1" / "nb1.ipynb",
                     {"test-short": ("AssertionError", SUM_MESSAGE),
                      LONG_CELL: ("AssertionError", SIGN_MESSAGE)})
    _graded_notebook(graded / "bob" / "hw1" / "nb2.ipynb",
                     {"test-other": ("NotImplementedError", "")})
    # cy was not graded: whatever an autograded notebook of cy says is no mistake of the class.
    _graded_notebook(graded / "cy" / "hw1" / "nb1.ipynb",
                     {"test-short": ("AssertionError", SUM_MESSAGE)})
    return root


@pytest.fixture(scope="module")
def class_root(tmp_path_factory) -> Path:
    return make_class(tmp_path_factory.mktemp("report") / "course")


@pytest.fixture
def fresh_class(class_root, tmp_path) -> Path:
    return Path(shutil.copytree(class_root, tmp_path / "course"))


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _rows(page: str, heading: str) -> list[list[str]]:
    """The rows (cell texts) of the first table after the <h2> ``heading``."""
    section = page.split(f"<h2>{heading}</h2>", 1)[1].split("</table>", 1)[0]
    return [[_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S)][1:]


# --- the checks' wording, read back --------------------------------------------------------------

def test_likely_mistakes_reads_the_sentences_a_failed_check_shows():
    assert checks.likely_mistakes(SUM_MESSAGE) == [SUM_SENTENCE]
    assert checks.likely_mistakes(SIGN_MESSAGE) and "sign" in checks.likely_mistakes(SIGN_MESSAGE)[0]
    with pytest.raises(AssertionError) as info:
        checks.check_shape("A", [[1.0, 2.0, 3.0]], (3, 1))
    assert checks.likely_mistakes(str(info.value)) == [
        "it looks transposed: check the order of a matrix product or a missing .T."]
    assert checks.likely_mistakes("y_hat is not what was expected.\n  expected: 1.0\n  got: 2.0") == []


# --- due dates and the penalty -------------------------------------------------------------------

def test_due_dates_are_utc_unless_they_name_a_zone():
    assert deadlines.parse_due("2027-01-15 23:59") == DUE
    assert deadlines.parse_due("2027-01-16 00:59 +01:00") == DUE
    assert deadlines.parse_due("2027-01-16 00:59 Europe/Berlin") == DUE  # winter: UTC+1
    assert deadlines.parse_due("2027-07-16 01:59 Europe/Berlin") == datetime.datetime(2027, 7, 15, 23, 59)
    assert deadlines.parse_due("2027-01-16 00:59", default_zone="Europe/Berlin") == DUE
    assert deadlines.format_due(DUE) == "2027-01-15 23:59 UTC"
    assert deadlines.format_due(DUE, "Europe/Berlin") == "2027-01-16 00:59 Europe/Berlin"
    for bad, words in (("15/01/2027", "YYYY-MM-DD HH:MM"), ("2027-02-30 10:00", "day is out of range"),
                       ("2027-01-15 23:59 Mars/Olympus", "unknown time zone")):
        with pytest.raises(CourseError, match=words):
            deadlines.parse_due(bad)


def test_the_penalty_is_a_share_per_started_day_up_to_the_cap():
    policy = deadlines.SharePerDayLate(share_per_day=0.1, max_share=0.5)
    day = deadlines.DAY
    got = [policy.late_submission_penalty("s", 10.0, s) for s in (0, 1, day, day + 1, 26 * 3600, 9 * day)]
    assert got == pytest.approx([0.0, 1.0, 1.0, 2.0, 2.0, 5.0])
    assert deadlines.SharePerDayLate(grace_minutes=15).share(14 * 60) == 0.0
    assert deadlines.SharePerDayLate(grace_minutes=15).share(16 * 60) == pytest.approx(0.1)
    assert deadlines.lateness(26 * 3600) == "1 day 2 h"
    assert deadlines.lateness(30) == "1 min"
    assert deadlines.lateness(3 * day + 61) == "3 days 2 min"


def test_the_course_configures_the_penalty_through_nbgraders_plugin(class_root):
    policy = deadlines.plugin(Course(class_root))
    assert isinstance(policy, deadlines.SharePerDayLate) and policy.share_per_day == 0.1
    with Course(class_root).api.gradebook as gb:
        sub = gb.find_submission("hw1", "ada")
        # 26 h late: two started days, 20% of each notebook's score (5 and 4.5 points).
        assert sub.total_seconds_late == 26 * 3600
        assert float(sub.late_submission_penalty) == pytest.approx(0.2 * 9.5)
        assert float(gb.find_submission("hw1", "bob").late_submission_penalty) == 0.0


def test_course_assignment_shows_sets_and_removes_a_due_date(fresh_class, course):
    assert course("--root", fresh_class, "assignment", "hw2") == (0, "hw2: no due date\n", "")
    status, out, err = course("--root", fresh_class, "assignment", "hw2", "--due", "2027-02-01 12:00")
    assert status == 0, err
    assert out == "hw2: due 2027-02-01 12:00 UTC (in the gradebook)\n"
    assert deadlines.recorded(Course(fresh_class), "hw2") == datetime.datetime(2027, 2, 1, 12, 0)
    status, out, err = course("--root", fresh_class, "assignment", "hw2", "--due", "1 Feb")
    assert status == 2 and "is not YYYY-MM-DD HH:MM" in err
    assert course("--root", fresh_class, "assignment", "hw2", "--due", "none")[1] == "hw2: no due date\n"
    assert course("--root", fresh_class, "assignment", "hw9")[0] == 2
    # A later date for hw1: ada (26 h after the old one) is on time, her penalty gone at once.
    status, out, err = course("--root", fresh_class, "assignment", "hw1", "--due", "2027-01-17 12:00")
    assert (status, out) == (0, "hw1: due 2027-01-17 12:00 UTC (in the gradebook)\n"), err
    assert deadlines.late_submissions(Course(fresh_class)) == []
    with Course(fresh_class).api.gradebook as gb:
        assert float(gb.find_submission("hw1", "ada").late_submission_penalty) == 0.0


def test_a_due_date_in_the_configuration_goes_into_the_gradebook_and_wins(fresh_class, course):
    config = fresh_class / "nbgrader_config.py"
    config.write_text(config.read_text() + '\nc.Deadlines.due = {"hw2": "2027-03-01 09:30 +02:00"}\n')
    status, out, err = course("--root", fresh_class, "assignment", "hw2")
    assert out == "hw2: due 2027-03-01 07:30 UTC (c.Deadlines.due in nbgrader_config.py)\n", err
    status, out, err = course("--root", fresh_class, "assignment", "hw2", "--due", "2027-04-01 10:00")
    assert status == 2 and "set in nbgrader_config.py" in err
    deadlines.sync(Course(fresh_class), "hw2")  # what `course autograde hw2` does first
    assert deadlines.recorded(Course(fresh_class), "hw2") == datetime.datetime(2027, 3, 1, 7, 30)
    config.write_text(config.read_text() + '\nc.Deadlines.due = {"hw7": "2027-03-01 09:30"}\n')
    status, out, err = course("--root", fresh_class, "assignment", "hw2")
    assert status == 2 and "'hw7', which is not an assignment" in err


# --- late work in summary and export ---------------------------------------------------------------

def test_summary_and_exports_flag_late_work(class_root, tmp_path, course):
    status, out, err = course("--root", class_root, "summary", "hw1")
    assert status == 0, err
    late = out.split("late submissions", 1)[1]
    assert late.splitlines()[0] == " (1, due 2027-01-15 23:59 UTC (in the gradebook)):"
    assert late.splitlines()[1:] == ["  ada: 1 day 2 h late, penalty 1.9 points"]
    dest = tmp_path / "grades.csv"
    assert course("--root", class_root, "export", "--output", dest)[0] == 0
    with dest.open() as fh:
        rows = {(r["assignment"], r["student_id"]): r for r in csv.DictReader(fh)}
    assert (rows[("hw1", "ada")]["late"], rows[("hw1", "ada")]["seconds_late"]) == ("yes", "93600")
    assert float(rows[("hw1", "ada")]["score"]) == pytest.approx(9.5 - 1.9)
    assert (rows[("hw1", "bob")]["late"], rows[("hw1", "bob")]["seconds_late"]) == ("no", "0")
    assert (rows[("hw1", "fay")]["late"], rows[("hw1", "fay")]["status"]) == ("", "no submission")
    canvas = tmp_path / "canvas.csv"
    assert course("--root", class_root, "export", "--format", "canvas", "--output", canvas)[0] == 0
    with canvas.open() as fh:
        ada = next(r for r in csv.DictReader(fh) if r["SIS User ID"] == "ada")
    assert float(ada["hw1"]) == pytest.approx(7.6)


# --- the report ------------------------------------------------------------------------------------

def test_the_assignment_report_shows_the_class(class_root, tmp_path, course):
    dest = tmp_path / "hw1.html"
    status, out, err = course("--root", class_root, "report", "hw1", "--output", dest)
    assert (status, out) == (0, f"report written to {dest}\n"), err
    page = dest.read_text()
    assert page.count('src="data:image/png;base64,') == 2  # distribution and pass rates, inline
    assert "http" not in page.replace("http-equiv", "")  # nothing to fetch: works offline
    text = _text(page)
    assert "due 2027-01-15 23:59 UTC" in text
    assert "1 graded, 1 to review, 2 not graded, 1 without a submission; 1 late" in text
    # ada 7.6 of 10 after the penalty, bob 6 of 10; cy and dee (not graded) are no zeros.
    assert "Over the 2 graded submissions" in text and "mean 68.0%, median 68.0%" in text
    mistakes = _rows(page, "Mistakes the checks recognised")
    assert mistakes[0] == ["nb1:test-short", SUM_SENTENCE, "2", "ada, bob"]
    assert mistakes[1:] == [[f"nb1:{LONG_CELL}", checks.likely_mistakes(SIGN_MESSAGE)[0], "1", "bob"]]
    assert _rows(page, "Other failures") == [["nb2:test-other", "NotImplementedError", "1", "bob"]]
    tests = {r[0]: r[1:] for r in _rows(page, "Tests, hardest first")}
    assert tests["nb1:test-short"] == ["2", "1.50", "1", "1", "0", "2"]  # ada 2, bob 1
    flagged = {r[0]: r[1:] for r in _rows(page, "Late, not graded and needs review")}
    assert flagged["ada (Ada Lovelace)"][:4] == ["graded", "1 day 2 h", "7.6 / 10", "1.9"]
    assert flagged["bob"][0] == "needs review" and "timed out" in flagged["bob"][4]
    assert flagged["cy (Cy Young)"][0] == "not graded" and flagged["cy (Cy Young)"][2] == ""
    assert flagged["dee (Dee Zed)"][0] == "not graded"
    assert "fay (Fay Ash)" not in flagged
    everyone = {r[0]: r[1] for r in _rows(page, "Every student")}
    assert everyone["fay (Fay Ash)"] == "no submission" and len(everyone) == 5


def test_the_term_report_is_one_row_per_student_one_column_per_assignment(class_root, tmp_path,
                                                                         course, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = course("--root", class_root, "report")
    assert (status, out) == (0, f"report written to {tmp_path / 'report-term.html'}\n"), err
    page = (tmp_path / "report-term.html").read_text()
    assert page.count('src="data:image/png;base64,') == 1
    students = {r[0]: r[1:] for r in _rows(page, "Students")}
    assert students["ada (Ada Lovelace)"] == ["7.6 (late 1 day 2 h, -1.9)", "2", "9.6 / 20 (48%)"]
    assert students["bob"] == ["6 (needs review)", "–", "6 / 20 (30%)"]
    assert students["cy (Cy Young)"] == ["not graded (not graded)", "–", "0 / 10 (0%)"]
    assert students["fay (Fay Ash)"] == ["–", "–", "0 / 20 (0%)"]
    assignments = {r[0]: r[1:] for r in _rows(page, "Assignments")}
    assert assignments["hw1"][:4] == ["due 2027-01-15 23:59 UTC (in the gradebook)", "4", "1", "3"]
    assert assignments["hw2"][:2] == ["no due date", "1"]


def test_two_reports_of_one_gradebook_are_the_same_bytes(class_root, tmp_path):
    course = Course(class_root)
    for assignment in ("hw1", None):
        first = report.write(course, assignment, tmp_path / "a.html").read_bytes()
        second = report.write(course, assignment, tmp_path / "b.html").read_bytes()
        assert first == second


def test_a_report_of_an_assignment_not_graded_yet_is_one_line(fresh_class, course):
    (fresh_class / "source" / "hw3").mkdir()
    nbformat.write(nbformat.v4.new_notebook(), str(fresh_class / "source" / "hw3" / "nb1.ipynb"))
    status, out, err = course("--root", fresh_class, "report", "hw3")
    assert (status, err) == (2, "course: error: hw3 has not been autograded yet\n")
    status, out, err = course("--root", fresh_class, "report", "hw9")
    assert status == 2 and "unknown assignment 'hw9'" in err
