"""End to end: submissions in a copy of the course, graded through `course autograde`.

For every assignment: the solved notebook scores full marks, the untouched release scores 0, and a
submission with exactly one function left as its stub scores exactly the points of the other tests.
Feedback, the CSV export and the per-exercise summary are produced from the same gradebook.
"""

from __future__ import annotations

import copy
import csv

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
            for gid in answers:
                variants[f"wrong-{gid}"] = {k: v for k, v in answers.items() if k != gid}
            for student, filled in variants.items():
                nb = submission(release_nb, filled)
                out = course / "submitted" / student / assignment / src.name
                out.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, str(out))
                lost = sum(p for g, p in pts.items() if g.removeprefix("test-") not in filled)
                expected_scores[student] = expected_scores.get(student, 0.0) + sum(pts.values()) - lost
        for student, score in expected_scores.items():
            expected[(assignment, student)] = (score, total_max)
        proc = run_course("--root", str(course), "autograde", assignment)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    return course, expected


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
    students = {s for (a, s) in expected if a == assignment}
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
