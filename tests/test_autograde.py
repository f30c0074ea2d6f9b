"""End to end: submissions in a copy of the course, graded through `course autograde`.

For every assignment: the solved notebook scores full marks, the untouched release scores 0, and a
submission with its first function left as its stub and a harmless warning in another, correct
answer scores exactly the points of the other tests.
Feedback, the CSV export and the per-exercise summary are produced from the same gradebook.
Broken, hostile and altered submissions, re-grading and output caps: tests/test_hostile_*.py.

Late work and the class report: the first assignment has a due date in the course's configuration,
the solved submission is on time and one more student, "mistaken", hands in two answers with
mistakes the checks recognise, 26 hours late (the course's penalty: 10% per started day).
"""

from __future__ import annotations

import copy
import csv
import html
import re
import sys

import nbformat
import pytest
from conftest import ROOT, SOURCE_NOTEBOOKS, copy_course, nbgrader_meta, read_nb, run_course

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
ASSIGNMENTS = sorted({p.parent.name for p in SOURCE_NOTEBOOKS})


def solution_sources(source_nb) -> dict[str, str]:
    """grade_id -> the solution cell's code as a student who solved it would have it."""
    return {
        nbgrader_meta(c)["grade_id"]: "\n".join(
            ln for ln in c.source.splitlines() if ln.strip() not in MARKERS)
        for c in source_nb.cells
        if nbgrader_meta(c).get("solution") and c.cell_type == "code"
    }


def submission(release_nb, answers: dict[str, str]):
    """The release notebook with the given solution cells filled in."""
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and gid in answers:
            cell.source = answers[gid]
    return nb


LATE_ASSIGNMENT, MISTAKEN = ASSIGNMENTS[0], "mistaken"
DUE = "2027-01-15 23:59"
# (answer, the solution's line, the mistaken line, the sentence its check names)
MISTAKES = (
    ("linreg_forward", "return w @ X + bias.reshape(1, 1)", "return w @ X",
     "b is missing: y_hat = w X + b."),
    ("mse_loss", "/ y.size)", ")",
     "the 1/m is missing: this is the sum of squared errors, not their mean."),
)


def mistaken_answers(answers: dict[str, str]) -> dict[str, str]:
    """Every answer of the first assignment right but two, each with a mistake its check names."""
    wrong = dict(answers)
    for name, right, mistaken, _ in MISTAKES:
        assert right in wrong[name], f"{name}'s solution changed: update MISTAKES"
        wrong[name] = wrong[name].replace(right, mistaken, 1)
    return wrong


def points(source_nb) -> dict[str, float]:
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
            for c in source_nb.cells if nbgrader_meta(c).get("grade")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course copy with fixture submissions, autograded once; returns (root, expectations)."""
    course = copy_course(tmp_path_factory.mktemp("class") / "course")
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text() + f"\nc.Deadlines.due = {{{LATE_ASSIGNMENT!r}: {DUE!r}}}\n")
    expected = {}  # (assignment, student) -> (score, max_score)
    for assignment in ASSIGNMENTS:
        total_max, expected_scores, pts_all = 0.0, {}, {}
        for src in sorted((ROOT / "source" / assignment).glob("*.ipynb")):
            source_nb = read_nb(src)
            release_nb = read_nb(ROOT / "release" / assignment / src.name)
            answers, pts = solution_sources(source_nb), points(source_nb)
            pts_all.update(pts)
            total_max += sum(pts.values())
            variants = {"solved": answers, "untouched": {}}
            # One submission for two behaviours: the first answer missing costs exactly its
            # points end to end (every other exercise is checked the same way in-process:
            # test_hints.py), and a correct answer that emits a harmless warning inside its graded
            # function loses nothing (not one whose test demands warning-free code: there a
            # warning is the mistake).
            first = next(iter(answers))
            strict = {nbgrader_meta(c)["grade_id"].removeprefix("test-") for c in source_nb.cells
                      if nbgrader_meta(c).get("grade") and "check_warning_free" in c.source}
            warner = next(g for g, src in answers.items()
                          if '    """\n' in src and g not in strict and g != first)
            variants[f"wrong-{first}-warns"] = {
                **{k: v for k, v in answers.items() if k != first},
                warner: answers[warner].replace(
                    '    """\n', '    """\n    __import__("warnings").warn("harmless", UserWarning)\n', 1)}
            if assignment == LATE_ASSIGNMENT:
                variants[MISTAKEN] = mistaken_answers(answers)
            for student, filled in variants.items():
                nb = submission(release_nb, filled)
                out = course / "submitted" / student / assignment / src.name
                out.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(out))
                lost = sum(p for g, p in pts.items() if g.removeprefix("test-") not in filled)
                expected_scores[student] = expected_scores.get(student, 0.0) + sum(pts.values()) - lost
        if assignment == LATE_ASSIGNMENT:
            # nbgrader's timestamp.txt, as its exchange writes it: solved on time, mistaken late.
            for student, stamp in (("solved", "2027-01-15 23:00:00.000000 UTC"),
                                   (MISTAKEN, "2027-01-17 01:59:00.000000 UTC")):
                (course / "submitted" / student / assignment / "timestamp.txt").write_text(stamp)
            wrong = sum(pts_all[f"test-{name}"] for name, *_ in MISTAKES)
            expected_scores[MISTAKEN] = (total_max - wrong) * (1 - 0.2)  # 2 started days late
        for student, score in expected_scores.items():
            expected[(assignment, student)] = (score, total_max)
    # The whole class in one run: one start, the canaries side by side (each assignment's table
    # under its name).
    proc = run_course("--root", str(course), "autograde", *ASSIGNMENTS, "--jobs", "2")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    tables = dict(re.findall(r"^(\S+):\n((?:.+\n)*?)\d+ of \d+ submissions graded", proc.stdout, re.M))
    assert sorted(tables) == ASSIGNMENTS, proc.stdout
    (course / "autograde-late.txt").write_text(tables[LATE_ASSIGNMENT])  # for the late-work test
    return course, expected


def test_every_submission_is_graded_and_other_students_show_as_no_submission(graded):
    # (Unreadable, errored and altered submissions: tests/test_hostile_files.py and _code.py.)
    course, expected = graded
    rows = {(r["assignment"], r["student_id"]): r for r in _export(course)}
    for assignment in ASSIGNMENTS:
        mine = {s for (a, s) in expected if a == assignment}
        for (a, student), row in rows.items():
            if a == assignment:
                want = ("graded", "") if student in mine else ("no submission", row["status_detail"])
                assert (row["status"], row["status_detail"]) == want, (a, student, row)
    proc = run_course("--root", str(course), "summary", ASSIGNMENTS[0])
    assert proc.returncode == 0 and "not graded" not in proc.stdout, proc.stdout


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_scores(graded, assignment):
    course, expected = graded
    rows = {(r["assignment"], r["student_id"]): r for r in _export(course)}
    wrong = []
    for (a, student), (score, max_score) in sorted(expected.items()):
        if a != assignment:
            continue
        row = rows[(a, student)]
        got = float(row["score"])
        assert float(row["max_score"]) == max_score
        if abs(got - score) > 1e-9:
            wrong.append(f"{student}: expected {score}, got {got}")
    assert not wrong, "\n".join(wrong)
    assert expected[(assignment, "solved")][0] == expected[(assignment, "solved")][1] > 0
    assert expected[(assignment, "untouched")][0] == 0


def _export(course):
    dest = course / "grades.csv"
    proc = run_course("--root", str(course), "export", "--output", str(dest))
    assert proc.returncode == 0, proc.stderr
    with dest.open() as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_summary_lists_every_test_cell(graded, assignment):
    course, _ = graded
    proc = run_course("--root", str(course), "summary", assignment)
    assert proc.returncode == 0, proc.stderr
    for src in (ROOT / "source" / assignment).glob("*.ipynb"):
        for gid in points(read_nb(src)):
            assert f"{src.stem}:{gid}" in proc.stdout


def _visible_text(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_for_every_student_never_shows_hidden_tests(graded, assignment):
    course, expected = graded
    proc = run_course("--root", str(course), "feedback", assignment)
    assert proc.returncode == 0, proc.stderr
    for student in {s for (a, s) in expected if a == assignment}:
        files = list((course / "feedback" / student / assignment).glob("*.html"))
        assert files, f"no feedback for {student}"
        assert "score" in files[0].read_text().lower()
    hidden = set()
    for src in (ROOT / "source" / assignment).glob("*.ipynb"):
        for cell in read_nb(src).cells:
            if nbgrader_meta(cell).get("grade") and "### BEGIN HIDDEN TESTS" in cell.source:
                block = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
                hidden |= {ln.strip() for ln in block.splitlines() if len(ln.strip()) > 25}
    # Lines that a visible check also shows (a loop over unchanged inputs) are not secret.
    for src in (ROOT / "source" / assignment).glob("*.ipynb"):
        for cell in read_nb(src).cells:
            if nbgrader_meta(cell).get("grade"):
                hidden -= {ln.strip() for ln in cell.source.split("### BEGIN HIDDEN TESTS")[0].splitlines()}
            elif nbgrader_meta(cell).get("solution"):  # a student's own answer may repeat them
                hidden -= {ln.strip() for ln in cell.source.splitlines()}
    assert hidden
    checked = 0
    for path in (course / "feedback").glob(f"*/{assignment}/*.html"):
        text = _visible_text(path.read_text())
        assert "BEGIN HIDDEN TESTS" not in text, path
        leaked = sorted(ln for ln in hidden if ln in text)
        assert not leaked, f"{path}: hidden test code in feedback: {leaked[:3]}"
        checked += 1
    assert checked >= 3


def test_demo_cells_nothing_reads_are_left_out_and_say_so(graded):
    """`course autograde` does not run the plain cells, as released, that no other cell reads
    (no score depends on them): their output says so, in feedback too; every other cell ran."""
    from grader.preprocessors import NOT_RUN
    from grader.recheck.recheck import idle_demos

    course, _ = graded
    left_out = 0
    for assignment in ASSIGNMENTS:
        for src in sorted((ROOT / "source" / assignment).glob("*.ipynb")):
            nb = read_nb(course / "autograded" / "solved" / assignment / src.name)
            idle = idle_demos(nb, read_nb(ROOT / "release" / assignment / src.name))
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                said = any(o.get("text") == NOT_RUN for o in cell.outputs)
                assert said == (index in idle), (assignment, index, cell.source[:80])
                assert (cell.execution_count is None) == (index in idle), (assignment, index)
            left_out += len(idle)
    assert left_out
    run_course("--root", str(course), "feedback", ASSIGNMENTS[0], "--student", "solved", check=True)
    page = next((course / "feedback" / "solved" / ASSIGNMENTS[0]).glob("*.html")).read_text()
    assert html.escape(NOT_RUN.strip()) in page or NOT_RUN.strip() in page


def _test_cell_ids(assignment: str) -> list[str]:
    return [nbgrader_meta(c)["grade_id"] for src in sorted((ROOT / "source" / assignment).glob("*.ipynb"))
            for c in read_nb(src).cells
            if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")]


def test_feedback_renders_maths_offline_names_test_cells_and_shows_no_server_folder(graded):
    from grader.feedback import EMBEDDED_MARK

    course, _ = graded
    assignment = ASSIGNMENTS[0]
    run_course("--root", str(course), "feedback", assignment, check=True)
    pages = sorted((course / "feedback").glob(f"*/{assignment}/*.html"))
    assert len(pages) >= 3
    failed = 0
    for page in pages:
        text = page.read_text()
        assert EMBEDDED_MARK in text and "cdnjs" not in text and "<script src=" not in text, page
        for gid in _test_cell_ids(assignment):
            assert f">Test cell <code>{gid}</code></a>" in text, (page, gid)
        for folder in (str(course), str(ROOT), sys.prefix, "site-packages", "/tmp/"):
            assert folder not in text, f"{page}: {folder} shown"
        failed += "output_error" in text  # an error output shown (its traceback checked above)
    assert failed, "no feedback with a failure: nothing checked the tracebacks"


def test_regrading_a_student_writes_their_feedback_again(graded):
    from grader.feedback import EMBEDDED_MARK

    course, expected = graded
    assignment = ASSIGNMENTS[0]
    student = next(s for (a, s) in sorted(expected) if a == assignment and s.startswith("wrong-"))
    page = sorted((course / "feedback" / student / assignment).glob("*.html"))[0]
    page.write_text(page.read_text().replace("<body>", "<body>FEEDBACK-OF-THE-EARLIER-GRADING", 1))
    proc = run_course("--root", str(course), "autograde", assignment, "--student", student)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = page.read_text()
    assert "FEEDBACK-OF-THE-EARLIER-GRADING" not in text, "stale feedback left after the regrade"
    assert EMBEDDED_MARK in text and "Score" in text


def test_return_releases_feedback_through_the_exchange(graded, tmp_path, monkeypatch, capsys):
    """`course return`: feedback written and released as nbgrader's fetch_feedback finds it (by
    the submission secret); a submission that did not come through the exchange is named."""
    from nbgrader.utils import notebook_hash

    from grader.cli import main

    course, expected = graded
    assignment = ASSIGNMENTS[0]
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(exchange))
    # "solved" handed in through the exchange: nbgrader's submit writes these two files.
    folder = course / "autograded" / "solved" / assignment
    secret = "5e" * 64
    (folder / "timestamp.txt").write_text("2026-01-01 12:00:00.000000 UTC")
    (folder / "submission_secret.txt").write_text(secret)
    assert main(["--root", str(course), "return", assignment]) == 0
    out, err = capsys.readouterr()
    others = sorted(s for (a, s) in expected if a == assignment and s != "solved")
    assert "released to 1 student" in out and f"{len(others)} not released" in out, out
    for student in others:
        assert f"warning: {student}: feedback not released (no submission_secret.txt" in err, err
    for src in sorted((ROOT / "source" / assignment).glob("*.ipynb")):
        sent = exchange / "dl-foundations" / "feedback" / \
            f"{notebook_hash(secret=secret, notebook_id=src.stem)}.html"
        written = course / "feedback" / "solved" / assignment / f"{src.stem}.html"
        assert sent.read_bytes() == written.read_bytes()


# --- late work and the class report ----------------------------------------------------------------

def test_late_work_is_flagged_in_autograde_summary_and_export(graded):
    course, expected = graded
    lines = {line.split()[0]: line for line in (course / "autograde-late.txt").read_text().splitlines()}
    score, max_score = expected[(LATE_ASSIGNMENT, MISTAKEN)]
    raw = score / (1 - 0.2)
    assert lines[MISTAKEN].endswith(f"graded (1 day 2 h late, penalty {raw - score:g} points)")
    assert lines["solved"].endswith("graded")
    proc = run_course("--root", str(course), "summary", LATE_ASSIGNMENT)
    assert proc.returncode == 0, proc.stderr
    late = proc.stdout.split("late submissions ", 1)[1].splitlines()
    assert late[0] == f"(1, due {DUE} UTC (c.Deadlines.due in nbgrader_config.py)):"
    assert re.fullmatch(rf"  {MISTAKEN}: 1 day 2 h late, penalty [0-9.]+ points", late[1]), late
    rows = {(r["assignment"], r["student_id"]): r for r in _export(course)}
    assert (rows[(LATE_ASSIGNMENT, MISTAKEN)]["late"], rows[(LATE_ASSIGNMENT, MISTAKEN)]["seconds_late"]) \
        == ("yes", str(26 * 3600))
    assert rows[(LATE_ASSIGNMENT, "solved")]["late"] == "no"
    assert rows[(ASSIGNMENTS[1], MISTAKEN)]["late"] == ""  # no submission


def _table_rows(page: str, heading: str) -> list[list[str]]:
    section = page.split(f"<h2>{heading}</h2>", 1)[1].split("</table>", 1)[0]
    return [[" ".join(_visible_text(cell).split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section, re.S)][1:]


def test_the_report_counts_the_mistakes_the_checks_named(graded, tmp_path):
    course, expected = graded
    dest = tmp_path / "report.html"
    proc = run_course("--root", str(course), "report", LATE_ASSIGNMENT, "--output", str(dest))
    assert proc.returncode == 0 and str(dest) in proc.stdout, proc.stderr
    page = dest.read_text()
    recognised = _table_rows(page, "Mistakes the checks recognised")
    mistakes = {(cell, what): who for cell, what, _, who in recognised}
    for name, _, _, sentence in MISTAKES:
        assert mistakes[(f"{notebook_stem(LATE_ASSIGNMENT)}:test-{name}", sentence)] == MISTAKEN
    others = _table_rows(page, "Other failures")
    assert any(what.startswith("NotImplementedError") and "untouched" in who for _, what, _, who in others)
    flagged = {row[0]: row for row in _table_rows(page, "Late, not graded and needs review")}
    score, max_score = expected[(LATE_ASSIGNMENT, MISTAKEN)]
    assert flagged[MISTAKEN][2:4] == ["1 day 2 h", f"{score:g} / {max_score:g}"]
    assert set(flagged) == {MISTAKEN}
    term = tmp_path / "term.html"
    proc = run_course("--root", str(course), "report", "--output", str(term))
    assert proc.returncode == 0, proc.stderr
    students = {row[0]: row[1:] for row in _table_rows(term.read_text(), "Students")}
    assert len(students["solved"]) == len(ASSIGNMENTS) + 1  # every assignment, and the total
    assert students[MISTAKEN][0].startswith(f"{score:g} (late")
    assert students[MISTAKEN][1:-1] == ["\u2013"] * (len(ASSIGNMENTS) - 1)
    solved = sum(expected[(a, "solved")][0] for a in ASSIGNMENTS)
    assert students["solved"][-1] == f"{solved:g} / {solved:g} (100%)"


def notebook_stem(assignment: str) -> str:
    """The notebook name of a one-notebook assignment."""
    (notebook,) = (ROOT / "source" / assignment).glob("*.ipynb")
    return notebook.stem


def test_cell_metadata_is_checked_as_nbgrader_checks_it_schema_read_once():
    """grader.preprocessors.CheckCellMetadataOnce: nbgrader's checks, nbgrader's errors."""
    import jsonschema
    from nbgrader.nbgraderformat import ValidationError
    from nbgrader.nbgraderformat import common as nbgrader_format

    from grader.preprocessors import CheckCellMetadataOnce

    check = CheckCellMetadataOnce()
    nb = read_nb(SOURCE_NOTEBOOKS[0])
    assert check.preprocess(copy.deepcopy(nb), {})[0] == nb
    for value, where in (("ten", "points"), (None, "grade_id")):
        broken = copy.deepcopy(nb)
        cell = next(c for c in broken.cells if nbgrader_meta(c).get("grade"))
        cell.metadata["nbgrader"][where] = value
        with pytest.raises(ValidationError):
            check.preprocess(broken, {})
    assert nbgrader_format.jsonschema is jsonschema  # nothing left patched
