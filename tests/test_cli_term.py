"""The `course` command over a term: options anywhere, quiet pipes, aligned summaries, `make lab`'s
exchange, LMS exports (Canvas, Moodle) and the roster import.

Everything runs on a small gradebook made with nbgrader's Gradebook API directly (no grading run),
through `grader.cli.main` in this process (importing nbgrader costs seconds per `course` process);
only the closed pipe needs a process of its own. Grading itself: tests/test_autograde.py.
"""

from __future__ import annotations

import csv
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

from grader import lms
from grader.cli import BROKEN_PIPE_STATUS, _parser
from grader.course import Course

LONG_CELL = "test-" + "a_cell_name_much_longer_than_the_old_fixed_column" * 2
CELLS = {"nb1": {"test-short": 2.0, LONG_CELL: 3.0}, "nb2": {"test-other": 5.0}}
# student -> (first, last, email, lms id) in the gradebook before any roster import
STUDENTS = {"ada": ("Ada", "Lovelace", "ada@example.org", "1001"), "bob": ("", "", "", ""),
            "cy": ("Cy", "Young", "cy@example.org", ""), "dee": ("Dee", "Zed", "", ""),
            "fay": ("Fay", "Ash", "", "")}
# (student, notebook, cell) -> score in hw1; ada, bob and cy submitted, dee's was too big to read,
# fay handed nothing in
SCORES = {("ada", "nb1", "test-short"): 2.0, ("ada", "nb1", LONG_CELL): 3.0,
          ("ada", "nb2", "test-other"): 4.5, ("bob", "nb1", "test-short"): 1.0,
          ("bob", "nb1", LONG_CELL): 0.0, ("bob", "nb2", "test-other"): 5.0}


def make_course(root: Path) -> Path:
    """A course folder with assignments hw1 (two notebooks) and hw2, and a gradebook: five
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
                        "cy": {"status": "not graded", "detail": "nb1.ipynb: empty file"},
                        # too big to read: autograde records the student, not a submission
                        "dee": {"status": "not graded", "detail": "nb2.ipynb is 30 MB"}}}
    (root / "grading-status.json").write_text(json.dumps(statuses))
    return root


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
    (["students", "import", "r.csv", "--root", "D", "--debug"], Path("D"), False, True),
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
    """A `jupyter` that prints its PATH and the exchange it was given instead of starting a lab."""
    folder.mkdir()
    exe = folder / "jupyter"
    exe.write_text('#!/bin/sh\necho "path=$PATH"\necho "exchange=$NBGRADER_EXCHANGE"\n')
    exe.chmod(0o755)
    return folder


def _make_lab(course: Path, fake: Path, env: dict) -> str:
    proc = subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "lab", "STAMP=", f"BIN={fake}"],
                          cwd=course, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    path, exchange = proc.stdout.strip().splitlines()[-2:]
    # The formgrader runs `alembic` by name when it creates the gradebook: the lab's own
    # environment comes first on its PATH (without it, a 500 on the first formgrader page).
    assert path.removeprefix("path=").split(os.pathsep)[0] == str(fake), path
    return exchange.removeprefix("exchange=")


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


# --- exports for an LMS ------------------------------------------------------------------------

def _export(course, course_root: Path, fmt: str, tmp_path: Path):
    dest = tmp_path / f"{fmt}.csv"
    status, out, err = course("--root", course_root, "export", "--format", fmt, "--output", dest)
    assert status == 0, err
    with dest.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh)), err, out


def test_canvas_export_has_canvas_columns_one_row_per_student(course_root, tmp_path, course):
    rows, err, out = _export(course, course_root, "canvas", tmp_path)
    # Only hw1: hw2 has no submission, so no column of blanks for it.
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "hw1"]
    assert rows[1] == ["Points Possible", "", "", "", "", "10"]
    by_id = {r[2]: r for r in rows[2:]}
    assert len(rows) - 2 == len(by_id) == len(STUDENTS)
    assert by_id["ada"] == ["Lovelace, Ada", "1001", "ada", "", "", "9.5"]
    assert by_id["bob"] == ["bob", "", "bob", "", "", "6"]  # no name in the roster: the id
    # cy's and dee's grading could not work (not a zero): blank.
    assert by_id["cy"][0] == "Young, Cy" and by_id["cy"][-1] == ""
    assert by_id["dee"] == ["Zed, Dee", "", "dee", "", "", ""]
    assert by_id["fay"] == ["Ash, Fay", "", "fay", "", "", ""]  # no submission: blank, no warning
    assert "fay" not in err
    assert [r[0] for r in rows[2:]] == ["bob", "Ash, Fay", "Lovelace, Ada", "Young, Cy", "Zed, Dee"]
    assert "warning: cy, hw1: not graded, left blank (nb1.ipynb: empty file)" in err
    assert "warning: dee, hw1: not graded, left blank (nb2.ipynb is 30 MB)" in err
    assert "5 students, 1 assignment (hw1) written to" in out


def test_moodle_export_has_moodle_columns_one_row_per_student(course_root, tmp_path, course):
    rows, *_ = _export(course, course_root, "moodle", tmp_path)
    assert rows[0] == ["First name", "Last name", "ID number", "Email address", "hw1"]
    by_id = {r[2]: r for r in rows[1:]}
    assert len(rows) - 1 == len(by_id) == len(STUDENTS)
    assert by_id["ada"] == ["Ada", "Lovelace", "ada", "ada@example.org", "9.5"]
    assert by_id["bob"] == ["", "", "bob", "", "6"]
    assert by_id["cy"] == ["Cy", "Young", "cy", "cy@example.org", ""]
    assert by_id["dee"] == ["Dee", "Zed", "dee", "", ""]
    assert by_id["fay"] == ["Fay", "Ash", "fay", "", ""]


def test_csv_export_is_still_the_long_format(course_root, tmp_path, course):
    dest = tmp_path / "grades.csv"
    assert course("--root", course_root, "export", "--output", dest)[0] == 0
    with dest.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * len(STUDENTS)  # nbgrader's: every assignment times every student
    assert {"assignment", "student_id", "score", "status"} <= set(rows[0])


def test_late_penalty_is_taken_off_and_a_score_never_goes_negative(fresh_course):
    course = Course(fresh_course)
    with course.api.gradebook as gb:
        sub = gb.find_submission("hw1", "ada")
        nb1, nb2 = sorted(sub.notebooks, key=lambda nb: nb.name)
        nb1.late_submission_penalty, nb2.late_submission_penalty = 1.0, 0.5
        gb.find_submission("hw1", "bob").notebooks[0].late_submission_penalty = 50.0
        gb.db.commit()
    term = lms.read_term(course, {})
    assert term.scores[("ada", "hw1")] == pytest.approx(9.5 - 1.5)
    assert term.scores[("bob", "hw1")] == 0.0
    assert term.scores[("cy", "hw1")] == 0.0  # no status recorded: an ordinary zero


# --- the roster --------------------------------------------------------------------------------

def test_roster_import_adds_and_updates_students_through_the_gradebook(fresh_course, tmp_path,
                                                                     course):
    root = fresh_course
    roster = tmp_path / "roster.csv"
    # As a spreadsheet saves it: byte-order mark, headings in another case and order, extra column.
    roster.write_text("\ufeffEmail,ID,Last_Name,First_Name,lms_user_id,Section\n"
                      "bob@example.org,bob,Babbage,Bob,2002,A\n"
                      ",ada,,,,A\n"
                      "eve@example.org,eve,Noether,Emmy,,B\n"
                      ",,,,,\n", encoding="utf-8")
    status, out, err = course("--root", root, "students", "import", roster)
    assert status == 0, err
    assert "1 student added, 2 updated in the gradebook" in out
    with Course(root).api.gradebook as gb:
        got = {s.id: (s.first_name, s.last_name, s.email, s.lms_user_id) for s in gb.students}
    assert got["bob"] == ("Bob", "Babbage", "bob@example.org", "2002")
    assert got["ada"] == ("Ada", "Lovelace", "ada@example.org", "1001")  # blanks keep what was there
    assert got["eve"] == ("Emmy", "Noether", "eve@example.org", None)
    rows, *_ = _export(course, root, "canvas", tmp_path)
    assert ["Babbage, Bob", "2002", "bob", "", "", "6"] in rows
    assert ["Noether, Emmy", "", "eve", "", "", ""] in rows


@pytest.mark.parametrize("text, message", [
    ("name,email\nAda,ada@example.org\n", "has no 'id' column (its columns: name, email"),
    ("id,email\nada,a@x\nada,b@x\n", "line 3: student ada again (first on line 2)"),
    ("id,email\n,a@x\n", "line 2: a student without an id"),
])
def test_a_bad_roster_is_one_line_and_changes_nothing(fresh_course, tmp_path, text, message,
                                                      course):
    root = fresh_course
    roster = tmp_path / "roster.csv"
    roster.write_text(text)
    status, _, err = course("--root", root, "students", "import", roster)
    assert status == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1
    with Course(root).api.gradebook as gb:
        assert sorted(s.id for s in gb.students) == sorted(STUDENTS)
