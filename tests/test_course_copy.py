"""Grading in a course folder that is a separate copy of the checkout, and the canary.

The kernel imports ``helpers`` from wherever its own interpreter finds it (here: the checkout
installed editable, or a non-editable install), not from the folder ``course`` runs in; the
sandbox must show that one. And a grading environment that cannot work (the kernel unable to
import ``helpers``) is refused before any student's grade is written, by the canary: the
instructor's solution graded first, as a student.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, copy_course, read_nb, run_course
from test_autograde import solution_sources, submission

ASSIGNMENT = "01_gradients"
SOURCE = ROOT / "source" / ASSIGNMENT / "gradients.ipynb"
RELEASE = ROOT / "release" / ASSIGNMENT / "gradients.ipynb"
MAX_SCORE = sum(float(c.metadata["nbgrader"]["points"]) for c in read_nb(SOURCE).cells
                if c.metadata.get("nbgrader", {}).get("grade"))


def checkout_copy(dest: Path) -> Path:
    """A full copy of the checkout (helpers/ and grader/ too), as an instructor's course folder."""
    copy_course(dest)
    for name in ("helpers", "grader"):
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


def submit(course: Path, student: str, answers: dict) -> None:
    out = course / "submitted" / student / ASSIGNMENT / SOURCE.name
    out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(submission(read_nb(RELEASE), answers), str(out))


def scores(course: Path) -> dict[str, float]:
    with sqlite3.connect(course / "gradebook.db") as db:
        rows = db.execute(
            "select submitted_assignment.student_id, sum(coalesce(grade.auto_score, 0)) from grade "
            "join submitted_notebook on grade.notebook_id = submitted_notebook.id "
            "join submitted_assignment on submitted_notebook.assignment_id = submitted_assignment.id "
            "group by submitted_assignment.student_id").fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def copied(tmp_path_factory) -> Path:
    course = checkout_copy(tmp_path_factory.mktemp("copy") / "course")
    submit(course, "solved", solution_sources(read_nb(SOURCE)))
    return course


def test_graded_right_from_inside_the_copy(copied):
    proc = run_course("autograde", ASSIGNMENT, "--jobs", "1", cwd=copied)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert scores(copied) == {"solved": MAX_SCORE}, proc.stdout
    # Not a terminal: one line per finished student (a log shows progress), then the table.
    assert "[1/1] solved: graded" in proc.stderr.splitlines(), proc.stderr
    assert "__instructor_solution__" not in proc.stdout + proc.stderr


def test_graded_right_from_outside_with_root(copied, tmp_path):
    proc = run_course("--root", str(copied), "autograde", ASSIGNMENT, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert scores(copied) == {"solved": MAX_SCORE}, proc.stdout


def test_graded_right_with_a_non_editable_install(copied, tmp_path):
    """The packages installed as plain files elsewhere (pip install --target), found first."""
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target",
                    str(target), str(ROOT)], check=True, capture_output=True)
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run([sys.executable, "-c", "import grader, helpers; print(grader.__file__, "
                            "helpers.__file__)"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout
    assert where.count(str(target)) == 2, where
    exe = shutil.which("course", path=str(Path(sys.executable).parent))
    proc = subprocess.run([exe, "autograde", ASSIGNMENT], cwd=copied, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert scores(copied) == {"solved": MAX_SCORE}, proc.stdout


def test_the_canary_stops_a_broken_environment_before_any_grade_is_written(tmp_path):
    course = copy_course(tmp_path / "course")
    with (course / "nbgrader_config.py").open("a") as fh:  # the grading kernel cannot import helpers
        fh.write("\nc.Execute.extra_arguments = "
                 "[\"--IPKernelApp.exec_lines=import sys; sys.modules['helpers'] = None\"]\n")
    submit(course, "solved", solution_sources(read_nb(SOURCE)))
    submit(course, "blank", {})
    proc = run_course("--root", str(course), "autograde", ASSIGNMENT)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"course: error: the instructor's solution scores 0/{MAX_SCORE:g} here: "
                           "imports: ModuleNotFoundError: "), proc.stderr
    assert "helpers" in line
    assert scores(course) == {}
    assert not (course / "autograded").exists() or not any((course / "autograded").iterdir())
    statuses = course / "grading-status.json"
    assert not statuses.exists() or json.loads(statuses.read_text()).get(ASSIGNMENT, {}) == {}
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["blank", "solved"]


def test_assignments_graded_in_one_run_stop_at_any_failing_canary(tmp_path):
    """`course autograde A B`: the canaries run side by side; one that fails names its assignment
    and stops both, before anyone's grade is written."""
    course = copy_course(tmp_path / "course")
    broken = course / "source" / "07_cnn_shapes" / "cnn_shapes.ipynb"
    nb = read_nb(broken)
    test_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
                     and not c.metadata["nbgrader"].get("solution"))
    test_cell.source += "\nassert False, 'broken on purpose'"
    nbformat.write(nb, str(broken))
    submit(course, "solved", solution_sources(read_nb(SOURCE)))
    other = course / "submitted" / "solved" / "07_cnn_shapes" / broken.name
    other.parent.mkdir(parents=True)
    nbformat.write(submission(read_nb(ROOT / "release" / "07_cnn_shapes" / broken.name),
                              solution_sources(read_nb(broken))), str(other))
    proc = run_course("--root", str(course), "autograde", ASSIGNMENT, "07_cnn_shapes")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    [line] = proc.stderr.strip().splitlines()[-1:]
    assert line.startswith("course: error: 07_cnn_shapes: the instructor's solution scores "), line
    assert line.endswith(f"{test_cell.metadata['nbgrader']['grade_id']}: AssertionError: broken on purpose")
    assert scores(course) == {}
    with sqlite3.connect(course / "gradebook.db") as db:
        assert db.execute("select id from student").fetchall() == []  # the canary left no row
    for stage in ("autograded", "feedback"):
        assert not (course / stage).exists() or not any((course / stage).iterdir())
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["solved"]
