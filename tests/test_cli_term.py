"""The `course` command over a term: options anywhere, quiet pipes, aligned summaries, `make lab`'s
exchange.

Everything runs on a small gradebook made with nbgrader's Gradebook API directly (no grading run),
through `grader.cli.main` in this process (importing nbgrader costs seconds per `course` process);
only the closed pipe needs a process of its own. Grading itself: tests/test_autograde.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT

from grader.cli import BROKEN_PIPE_STATUS, _parser, main
from grader.course import Course

LONG_CELL = "test-" + "a_cell_name_much_longer_than_the_old_fixed_column" * 2
CELLS = {"nb1": {"test-short": 2.0, LONG_CELL: 3.0}, "nb2": {"test-other": 5.0}}
# student -> (first, last, email, lms id) in the gradebook before any roster import
STUDENTS = {"ada": ("Ada", "Lovelace", "ada@example.org", "1001"), "bob": ("", "", "", ""),
            "cy": ("Cy", "Young", "cy@example.org", ""), "dee": ("Dee", "Zed", "", "")}
# (student, notebook, cell) -> score in hw1; ada, bob and cy submitted, dee did not
SCORES = {("ada", "nb1", "test-short"): 2.0, ("ada", "nb1", LONG_CELL): 3.0,
          ("ada", "nb2", "test-other"): 4.5, ("bob", "nb1", "test-short"): 1.0,
          ("bob", "nb1", LONG_CELL): 0.0, ("bob", "nb2", "test-other"): 5.0}


def make_course(root: Path) -> Path:
    """A course folder with assignments hw1 (two notebooks) and hw2, and a gradebook: four
    students, three submissions of hw1 (cy's not graded: an environment failure), none of hw2."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    for assignment in ("hw1", "hw2"):
        for name in CELLS:
            folder = root / "source" / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nbformat.v4.new_notebook(), str(folder / f"{name}.ipynb"))
    course = Course(root)
    with course.api.gradebook as gb:
        for assignment in ("hw1", "hw2"):
            gb.add_assignment(assignment)
            for notebook, cells in CELLS.items():
                gb.add_notebook(notebook, assignment)
                for cell, points in cells.items():
                    gb.add_grade_cell(cell, notebook, assignment, max_score=points, cell_type="code")
        for student, (first, last, email, lms_id) in STUDENTS.items():
            gb.add_student(student, first_name=first or None, last_name=last or None,
                           email=email or None, lms_user_id=lms_id or None)
        for student in ("ada", "bob", "cy"):
            gb.add_submission("hw1", student)
        for (student, notebook, cell), score in SCORES.items():
            gb.find_grade(cell, notebook, "hw1", student).auto_score = score
        for cell in ("test-short", LONG_CELL):
            gb.find_grade(cell, "nb1", "hw1", "cy").auto_score = 0.0
        gb.find_grade("test-other", "nb2", "hw1", "cy").auto_score = 0.0
        gb.db.commit()
    statuses = {"hw1": {"ada": {"status": "graded", "detail": ""},
                        "bob": {"status": "graded", "detail": ""},
                        "cy": {"status": "not graded", "detail": "nb1.ipynb: empty file"}}}
    (root / "grading-status.json").write_text(json.dumps(statuses))
    return root


@pytest.fixture
def course(capsys):
    """Run `course ARGS...` in this process: (exit status, stdout, stderr)."""
    def run(*args: str):
        capsys.readouterr()
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err
    return run


@pytest.fixture(scope="module")
def course_root(tmp_path_factory) -> Path:
    """The small course, for tests that change nothing in it."""
    return make_course(tmp_path_factory.mktemp("term") / "course")


@pytest.fixture
def fresh_course(course_root, tmp_path) -> Path:
    """A copy of the small course of one's own (making a gradebook takes seconds, copying it not)."""
    return Path(shutil.copytree(course_root, tmp_path / "course"))


# --- options after the command -----------------------------------------------------------------

@pytest.mark.parametrize("argv, root, verbose, debug", [
    (["autograde", "A", "--root", "D"], Path("D"), False, False),
    (["--root", "D", "autograde", "A"], Path("D"), False, False),
    (["--root", "X", "autograde", "A", "--root", "D", "--verbose"], Path("D"), True, False),
    (["--debug", "summary", "A"], None, False, True),
    (["export", "--output", "g.csv", "--root", "D", "--debug"], Path("D"), False, True),
])
def test_root_verbose_and_debug_are_taken_before_or_after_the_command(argv, root, verbose, debug):
    args = _parser().parse_args(argv)
    assert (args.root, args.verbose, args.debug) == (root, verbose, debug)


def test_root_after_the_command_works_from_outside_the_course(course_root, tmp_path, course,
                                                             monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = course("summary", "hw1", "--root", course_root)
    assert status == 0, err
    assert "nb1:test-short" in out


# --- the summary -------------------------------------------------------------------------------

def test_summary_columns_line_up_whatever_the_cell_names(course_root, course):
    status, out, err = course("--root", course_root, "summary", "hw1")
    assert status == 0, err
    lines = out.splitlines()
    header, rows = lines[0], [ln for ln in lines[1:] if "(of " in ln]
    assert {f"nb1:{LONG_CELL}", "nb1:test-short", "nb2:test-other"} == {r.split()[0] for r in rows}
    # The last column (zeros) ends at the same place in the header and in every row.
    ends = {len(r.split("   (of ")[0]) for r in rows}
    assert ends == {len(header.rstrip())}, out
    # Each number sits under its heading: the mean column of every row ends where "mean" ends.
    mean_end = header.index("mean") + len("mean")
    for row in rows:
        name = row.split()[0]
        assert row[len(name):mean_end].strip().replace(".", "").isdigit(), (row, header)
    # cy's empty file: not an ordinary grade, said so.
    assert "cy: not graded: nb1.ipynb: empty file" in out


# --- a closed pipe on stdout -------------------------------------------------------------------

def _course_exe() -> str:
    return shutil.which("course", path=str(Path(sys.executable).parent)) or "course"


def test_a_reader_that_goes_away_ends_the_command_quietly(course_root):
    # The reader closes its end before `course` writes anything: every write fails with EPIPE.
    proc = subprocess.Popen([_course_exe(), "--root", str(course_root), "summary", "hw1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert err == "", err
    assert proc.returncode == BROKEN_PIPE_STATUS == 128 + signal.SIGPIPE
    # As an instructor types it: head takes the first line, nothing else is printed.
    shell = subprocess.run(f"'{_course_exe()}' --root '{course_root}' summary hw1 | head -1",
                           shell=True, capture_output=True, text=True, timeout=300)
    assert shell.stdout.startswith("test cell") and shell.stdout.count("\n") == 1
    assert shell.stderr == "", shell.stderr


# --- make help, make install and make lab's exchange -------------------------------------------

def test_make_help_and_the_readme_name_make_install():
    out = subprocess.run(["make", "-s", "-C", str(ROOT), "help"], capture_output=True, text=True,
                         check=True).stdout
    assert any(line.startswith("make install") for line in out.splitlines()), out
    assert "make install" in (ROOT / "README.md").read_text()


def _fake_jupyter(folder: Path) -> Path:
    """A `jupyter` that prints the exchange it was given instead of starting a lab."""
    folder.mkdir()
    exe = folder / "jupyter"
    exe.write_text('#!/bin/sh\necho "exchange=$NBGRADER_EXCHANGE"\n')
    exe.chmod(0o755)
    return folder


def _make_lab(course: Path, fake: Path, env: dict) -> str:
    proc = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "lab", "STAMP=", f"BIN={fake}"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout.strip().splitlines()[-1].removeprefix("exchange=")


def test_make_lab_gives_the_formgrader_a_writable_exchange(fresh_course, tmp_path, monkeypatch):
    course = fresh_course
    fake = _fake_jupyter(tmp_path / "bin")
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXCHANGE"}
    exchange = _make_lab(course, fake, env)
    assert Path(exchange) == course / ".exchange" and Path(exchange).is_dir()
    # Ignored by git without touching the course's .gitignore.
    subprocess.run(["git", "init", "-q", str(course)], check=True)
    ignored = subprocess.run(["git", "-C", str(course), "status", "--porcelain", "--ignored"],
                             capture_output=True, text=True, check=True).stdout
    assert "?? .exchange" not in ignored and "!! .exchange/" in ignored, ignored
    # nbgrader (as the formgrader builds it) finds it usable: no "Unwritable directory" error.
    monkeypatch.setenv("NBGRADER_EXCHANGE", exchange)
    assert Course(course).api.exchange_missing is False
    # Without it, the error the formgrader logged on every page.
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(tmp_path / "no-exchange-here"))
    assert Course(course).api.exchange_missing is True
    # An exchange the instructor set is kept, and nothing is created.
    shutil.rmtree(course / ".exchange")
    assert _make_lab(course, fake, {**env, "NBGRADER_EXCHANGE": "/srv/shared"}) == "/srv/shared"
    assert not (course / ".exchange").exists()
