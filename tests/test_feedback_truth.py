"""Feedback that stays true and "not graded" reasons that say what is wrong with the file, in process.

End to end on graded classes: tests/test_autograde.py (feedback of every assignment, a regrade),
tests/test_hostile_files.py (corrupt, empty, huge files and another assignment's notebook).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import jinja2
import nbformat
import pytest
from conftest import ROOT
from jupyter_core.paths import jupyter_path

from grader.feedback import (
    EMBEDDED_MARK,
    STALE_ID,
    HideServerPaths,
    finish,
    mark_stale,
    refresh,
    strip_server_paths,
)
from grader.submissions import file_fault, other_assignment

COURSE = "/srv/course"


@pytest.mark.parametrize("text, shown", [
    ('  File "/srv/course/helpers/checks.py", line 88, in check_close',
     '  File "helpers/checks.py", line 88'),
    ("File \x1b[32m/opt/venv/lib/python3.11/site-packages/numpy/linalg.py:12\x1b[39m",
     "File \x1b[32mnumpy/linalg.py:12\x1b[39m"),
    ("/usr/lib/python3.11/json/decoder.py", "json/decoder.py"),
    ("cannot open /tmp/sandbox-x1/scratch/data.npy", "cannot open data.npy"),
    ("(in /home/ta/course/submitted/ada/01_gradients/gradients.ipynb)", "(in gradients.ipynb)"),
])
def test_folders_of_the_grading_machine_are_shortened(text, shown):
    got = strip_server_paths(text, COURSE)
    assert got.startswith(shown), got
    for folder in ("/srv", "/opt", "/usr", "/tmp", "/home", "site-packages"):
        assert folder not in got


def test_a_package_outside_the_course_keeps_its_package_folders(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    for folder in (tmp_path / "pkg", tmp_path / "pkg" / "sub"):
        (folder / "__init__.py").write_text("")
    got = strip_server_paths(f'File "{tmp_path}/pkg/sub/mod.py", line 3', COURSE)
    assert got == 'File "pkg/sub/mod.py", line 3'


@pytest.mark.parametrize("text", [
    "see https://numpy.org/doc/stable/reference.html", "loss = np.sum(r**2)/m/2", "a 1/m slip",
    "expected (n_x, m), got (m, n_x)", "helpers/checks.py line 3",
])
def test_text_that_is_no_server_path_is_left_alone(text):
    assert strip_server_paths(text, COURSE) == text


def test_the_preprocessor_cleans_tracebacks_errors_and_prints():
    cell = nbformat.v4.new_code_cell("f()")
    cell.outputs = [
        nbformat.v4.new_output("error", ename="ValueError", evalue="bad /srv/course/x/y.npy",
                               traceback=["File /srv/course/helpers/checks.py:3", "ValueError: bad"]),
        nbformat.v4.new_output("stream", name="stdout", text="wrote /tmp/ab/cd/out.txt\n"),
    ]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideServerPaths(course_root=COURSE).preprocess(nb, {})
    text = json.dumps(nb.cells[0].outputs)
    assert "/srv" not in text and "/tmp" not in text
    assert "helpers/checks.py:3" in text and "x/y.npy" in text and "out.txt" in text


def _template_page() -> str:
    """A page as nbgrader's feedback template writes it: its MathJax block (rendered from
    nbconvert's own macro) and one contents line per test cell."""
    bases = [str(Path(p) / "base") for p in jupyter_path("nbconvert", "templates")]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(bases))
    cdn = env.from_string("{% from 'mathjax.html.j2' import mathjax %}{{ mathjax() }}").render()
    assert "cdnjs" in cdn
    toc = ('<li><a href="#test-mse_loss">Test cell</a> (Score: 2.0 / 2.0)</li>'
           '<li><a href="#test-grad_f">Test cell</a> (Score: 0.0 / 3.0)</li>')
    return f"<html><head>{cdn}</head><body>{toc}<p>$x^2$</p></body></html>"


def test_finish_embeds_mathjax_and_names_test_cells(tmp_path):
    page = tmp_path / "gradients.html"
    page.write_text(_template_page())
    finish(page)
    text = page.read_text()
    assert "cdnjs" not in text and "<script src=" not in text, "MathJax still from the internet"
    assert EMBEDDED_MARK in text and "MathJax" in text and len(text) > 1_000_000
    assert '["$", "$"]' in text, "inline $...$ maths must be typeset"
    assert ">Test cell <code>test-mse_loss</code></a>" in text
    assert ">Test cell <code>test-grad_f</code></a>" in text and ">Test cell</a>" not in text
    finish(page)
    assert page.read_text() == text, "finishing twice changes nothing"


def test_feedback_of_a_student_not_graded_again_is_marked_out_of_date(tmp_path):
    """refresh: existing feedback is written again for students graded, marked for the others;
    students without feedback get none."""
    root = tmp_path / "course"
    for student in ("ada", "bob", "cy"):
        if student != "cy":
            folder = root / "feedback" / student / "hw"
            folder.mkdir(parents=True)
            (folder / "nb.html").write_text("<html><body><p>Score: 5 / 5</p></body></html>")
    course = SimpleNamespace(root=root)
    outcomes = [SimpleNamespace(student="ada", graded=True, problem=""),
                SimpleNamespace(student="bob", graded=False, problem="nb.ipynb is empty (0 bytes)"),
                SimpleNamespace(student="cy", graded=True, problem="")]
    written = []
    refresh(course, "hw", outcomes, lambda c, a, students: written.extend(students) or [])
    assert written == ["ada"]
    bob = (root / "feedback" / "bob" / "hw" / "nb.html").read_text()
    assert STALE_ID in bob and "Out of date" in bob and "nb.ipynb is empty" in bob
    assert STALE_ID not in (root / "feedback" / "ada" / "hw" / "nb.html").read_text()
    mark_stale(root / "feedback" / "bob" / "hw" / "nb.html", "again")
    assert (root / "feedback" / "bob" / "hw" / "nb.html").read_text().count(STALE_ID) == 1


NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]))


@pytest.mark.parametrize("content, reason", [
    (b"", "is empty (0 bytes)"),
    (b"\n  \n", "is empty (4 bytes)"),
    (b'{"cells": [ {"cell_type": "code", ', "not valid JSON: Expecting property name enclosed in "
                                           "double quotes at line 1, column 35"),
    (b'{\n "cells": [],\n "metadata": {} \n "nbformat": 4}', "not valid JSON: Expecting ',' "
                                                            "delimiter at line 4, column 2"),
    (b"\xff\xfe{}", "is not UTF-8 text (byte 0)"),
    (b"[1, 2]", "is JSON but not a notebook"),
    (b'{"cells": [], "nbformat": 4, "nbformat_minor": 5, "metadata": {"kernelspec": 3}}',
     "is not a valid notebook"),
    (b"{" + b" " * 2000 + b"}", "over the limit of"),
    (NOTEBOOK.encode(), ""),
])
def test_a_file_that_cannot_be_read_says_why(tmp_path, content, reason):
    path = tmp_path / "gradients.ipynb"
    path.write_bytes(content)
    fault = file_fault(path, max_bytes=1000)
    assert (reason in fault) if reason else fault == "", fault
    assert fault.startswith("gradients.ipynb") or not reason


def test_a_missing_notebook_says_so(tmp_path):
    assert file_fault(tmp_path / "gradients.ipynb", max_bytes=1000) == "gradients.ipynb missing"


def test_another_assignments_notebook_is_named(tmp_path):
    def ids(path):
        return {c.metadata["nbgrader"]["grade_id"] for c in nbformat.read(str(path), as_version=4).cells
                if "grade_id" in c.metadata.get("nbgrader", {})}

    own = ids(ROOT / "source" / "01_gradients" / "gradients.ipynb")
    others = {"02_backprop/backprop.ipynb": ids(ROOT / "source" / "02_backprop" / "backprop.ipynb")}
    handed_in = tmp_path / "gradients.ipynb"
    handed_in.write_bytes((ROOT / "release" / "02_backprop" / "backprop.ipynb").read_bytes())
    assert other_assignment(handed_in, own, others) == (
        "gradients.ipynb holds the cells of 02_backprop/backprop.ipynb: the notebook of another assignment")
    handed_in.write_bytes((ROOT / "release" / "01_gradients" / "gradients.ipynb").read_bytes())
    assert other_assignment(handed_in, own, others) == ""
