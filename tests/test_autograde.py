"""End to end: submissions in a copy of the course, graded through `course autograde`.

For every assignment: the solved notebook scores full marks, the untouched release scores 0, and a
submission with one function left as its stub (the first, the last) scores exactly the points of the
other tests.
Feedback, the CSV export and the per-exercise summary are produced from the same gradebook.
"""

from __future__ import annotations

import copy
import csv
import html
import re

import nbformat
import pytest
from conftest import ROOT, SOURCE_NOTEBOOKS, copy_course, nbgrader_meta, read_nb, run_course

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
HUGE = 10_000_000  # bytes printed on one line by the huge-output submission
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


def points(source_nb) -> dict[str, float]:
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c)["points"])
            for c in source_nb.cells if nbgrader_meta(c).get("grade")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A course copy with fixture submissions, autograded once; returns (root, expectations)."""
    course = copy_course(tmp_path_factory.mktemp("class") / "course")
    expected = {}  # (assignment, student) -> (score, max_score)
    for assignment in ASSIGNMENTS:
        total_max, expected_scores = 0.0, {}
        for src in sorted((ROOT / "source" / assignment).glob("*.ipynb")):
            source_nb = read_nb(src)
            release_nb = read_nb(ROOT / "release" / assignment / src.name)
            answers, pts = solution_sources(source_nb), points(source_nb)
            total_max += sum(pts.values())
            variants = {"solved": answers, "untouched": {}}
            # One answer missing, first and last: costs exactly its points end to end (every
            # other exercise is checked the same way in-process: test_hints.py).
            for gid in (next(iter(answers)), list(answers)[-1]):
                variants[f"wrong-{gid}"] = {k: v for k, v in answers.items() if k != gid}
            # A correct answer that emits a harmless warning inside its graded function.
            # (Not one whose test demands warning-free code: there a warning is the mistake.)
            strict = {nbgrader_meta(c)["grade_id"].removeprefix("test-") for c in source_nb.cells
                      if nbgrader_meta(c).get("grade") and "check_warning_free" in c.source}
            warner = next(g for g, src in answers.items() if '    """\n' in src and g not in strict)
            variants["warns"] = {**answers, warner: answers[warner].replace(
                '    """\n', '    """\n    __import__("warnings").warn("harmless", UserWarning)\n', 1)}
            variants["huge-output"] = answers  # plus a cell printing 10 MB on one line, below
            for student, filled in variants.items():
                nb = submission(release_nb, filled)
                if student == "huge-output":
                    nb.cells.append(nbformat.v4.new_code_cell(f"print('x' * {HUGE})"))
                out = course / "submitted" / student / assignment / src.name
                out.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(out))
                lost = sum(p for g, p in pts.items() if g.removeprefix("test-") not in filled)
                expected_scores[student] = expected_scores.get(student, 0.0) + sum(pts.values()) - lost
        if assignment == ASSIGNMENTS[0]:
            for student, score in _broken_submissions(course, assignment).items():
                expected_scores[student] = total_max if score == "full" else 0.0
        for student, score in expected_scores.items():
            expected[(assignment, student)] = (score, total_max)
        proc = run_course("--root", str(course), "autograde", assignment)
        broken = assignment == ASSIGNMENTS[0]
        assert proc.returncode == (1 if broken else 0), proc.stdout + proc.stderr
    return course, expected


def _broken_submissions(course, assignment) -> dict[str, str]:
    """Submissions that cannot be graded normally; returns student -> expected score ("full"/"zero")."""
    [src] = sorted((ROOT / "source" / assignment).glob("*.ipynb"))
    release_nb = read_nb(ROOT / "release" / assignment / src.name)
    folder = lambda student: course / "submitted" / student / assignment  # noqa: E731
    for student in ("corrupt-json", "empty-file", "deleted-test"):
        folder(student).mkdir(parents=True, exist_ok=True)
    (folder("corrupt-json") / src.name).write_text('{"cells": [ {"cell_type": "code", ')
    (folder("empty-file") / src.name).write_text("")
    solved = submission(release_nb, solution_sources(read_nb(src)))
    first_test = next(i for i, c in enumerate(solved.cells) if nbgrader_meta(c).get("grade"))
    del solved.cells[first_test]
    nbformat.write(solved, str(folder("deleted-test") / src.name))
    return {"corrupt-json": "zero", "empty-file": "zero", "deleted-test": "full"}


def test_broken_submissions_are_reported_not_hidden_as_zero(graded):
    course, _ = graded
    rows = {r["student_id"]: r for r in _export(course) if r["assignment"] == ASSIGNMENTS[0]}
    assert rows["corrupt-json"]["status"] == "not graded" and rows["corrupt-json"]["status_detail"]
    assert rows["empty-file"]["status"] == "not graded"
    assert rows["deleted-test"]["status"] == "needs review"
    assert "deleted and restored" in rows["deleted-test"]["status_detail"]
    normal = [s for s in rows if s not in ("corrupt-json", "empty-file", "deleted-test")]
    statuses = {s: rows[s]["status"] for s in normal}
    # Students of the other assignments appear too, as "no submission" of this one.
    assert {statuses[s] for s in ("solved", "untouched", "warns", "huge-output")} == {"graded"}, statuses
    assert set(statuses.values()) <= {"graded", "no submission"}, statuses
    proc = run_course("--root", str(course), "summary", ASSIGNMENTS[0])
    assert "corrupt-json: not graded" in proc.stdout and "deleted-test: needs review" in proc.stdout


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
def test_feedback_for_every_student(graded, assignment):
    course, expected = graded
    proc = run_course("--root", str(course), "feedback", assignment)
    assert proc.returncode == 0, proc.stderr
    # Unreadable submissions are not graded, so they get no feedback (export reports them).
    students = {s for (a, s) in expected if a == assignment} - {"corrupt-json", "empty-file"}
    for student in students:
        files = list((course / "feedback" / student / assignment).glob("*.html"))
        assert files, f"no feedback for {student}"
        assert "Score" in files[0].read_text() or "score" in files[0].read_text()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_summary_lists_every_test_cell(graded, assignment):
    course, _ = graded
    proc = run_course("--root", str(course), "summary", assignment)
    assert proc.returncode == 0, proc.stderr
    for src in (ROOT / "source" / assignment).glob("*.ipynb"):
        for gid in points(read_nb(src)):
            assert f"{src.stem}:{gid}" in proc.stdout


def test_regrading_is_idempotent(graded):
    course, expected = graded
    assignment = ASSIGNMENTS[0]
    proc = run_course("--root", str(course), "autograde", assignment, "--student", "solved")
    assert proc.returncode == 0, proc.stderr
    rows = {(r["assignment"], r["student_id"]): r for r in _export(course)}
    assert float(rows[(assignment, "solved")]["score"]) == expected[(assignment, "solved")][0]
    assert float(rows[(assignment, "untouched")]["score"]) == 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_output_is_capped_in_bytes(graded, assignment):
    course, _ = graded
    for path in (course / "autograded" / "huge-output" / assignment).glob("*.ipynb"):
        size = path.stat().st_size
        assert size < 3_000_000, f"{path.name}: {size} bytes kept after printing {HUGE} on one line"
        assert "output truncated by the grader" in path.read_text()


def _visible_text(html_text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_text))


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_feedback_never_shows_hidden_tests(graded, assignment):
    course, expected = graded
    proc = run_course("--root", str(course), "feedback", assignment)
    assert proc.returncode == 0, proc.stderr
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
