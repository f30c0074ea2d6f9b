"""`course validate`: failing tests named with their message, hidden tests one line, exit status."""

from __future__ import annotations

import copy
import shutil

import nbformat
import pytest
from conftest import ROOT, copy_course, nbgrader_meta, read_nb, run_course

NB = "01_gradients/gradients.ipynb"
TOTAL = sum(float(nbgrader_meta(c).get("points", 0)) for c in read_nb(ROOT / "source" / NB).cells
            if nbgrader_meta(c).get("grade"))
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _hidden_lines(nb) -> list[str]:
    lines = []
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade") and "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            lines += [ln.strip() for ln in hidden.splitlines() if len(ln.strip()) > 15]
    return lines


def _solved(edit: dict[str, tuple[str, str]] | None = None):
    """The source notebook with solution markers removed and some solutions edited."""
    nb = copy.deepcopy(read_nb(ROOT / "source" / NB))
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            cell.source = "\n".join(ln for ln in cell.source.splitlines() if ln.strip() not in MARKERS)
            if edit and meta["grade_id"] in edit:
                old, new = edit[meta["grade_id"]]
                assert old in cell.source
                cell.source = cell.source.replace(old, new)
    return nb


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    return copy_course(tmp_path_factory.mktemp("validate") / "course")


def test_release_fails_naming_every_test(course):
    proc = run_course("validate", str(course / "release" / NB), cwd=course)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for cell in read_nb(ROOT / "release" / NB).cells:
        if nbgrader_meta(cell).get("grade"):
            assert f"FAILED {nbgrader_meta(cell)['grade_id']} (" in proc.stdout
    assert "not implemented yet" in proc.stdout


def test_a_solved_notebook_passes_with_exit_0(course, tmp_path):
    path = tmp_path / "solved.ipynb"
    nbformat.write(_solved(), str(path))
    proc = run_course("validate", str(path), cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all tests pass" in proc.stdout


def test_a_visible_failure_shows_the_checks_message(course, tmp_path):
    path = tmp_path / "wrong.ipynb"
    edit = {"mse_loss": ("np.sum(residuals**2) / y.size", "np.sum(residuals**2)")}
    nbformat.write(_solved(edit), str(path))
    proc = run_course("validate", str(path), cwd=course)
    assert proc.returncode == 1
    assert "FAILED test-mse_loss (1 point)" in proc.stdout
    assert "the 1/m is missing" in proc.stdout


def test_a_hidden_failure_is_one_line_and_shows_no_hidden_code(course, tmp_path):
    # Hard-coding the lecture's answer passes the visible checks and fails the hidden ones.
    constants = "10.43656365691809, 9.654845485377136, 24.74625462767236"
    hard_coded = ("    e_x = np.exp(x)", f"    return {constants}\n    e_x = np.exp(x)")
    source = _solved({"grad_f": hard_coded})
    path = tmp_path / "hardcoded.ipynb"
    nbformat.write(source, str(path))
    proc = run_course("validate", str(path), cwd=course)
    assert proc.returncode == 1
    assert "FAILED test-grad_f" in proc.stdout and "hidden test failed:" in proc.stdout, proc.stdout
    leaked = [ln for ln in _hidden_lines(source) if ln in proc.stdout]
    assert not leaked, leaked


def test_a_correct_answer_that_warns_still_passes(course, tmp_path):
    warn = ('    """\n', '    """\n    __import__("warnings").warn("a harmless warning", UserWarning)\n')
    path = tmp_path / "warns.ipynb"
    nbformat.write(_solved({"mse_loss": warn}), str(path))
    proc = run_course("validate", str(path), cwd=course)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_validate_works_outside_any_course(tmp_path):
    shutil.copy(ROOT / "release" / NB, tmp_path / "mine.ipynb")
    proc = run_course("validate", "mine.ipynb", cwd=tmp_path)
    assert proc.returncode == 1 and "FAILED test-grad_f" in proc.stdout, proc.stdout + proc.stderr


def test_unreadable_and_missing_notebooks(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{ this is not json")
    proc = run_course("validate", str(bad), cwd=tmp_path)
    assert proc.returncode == 1 and "cannot read bad.ipynb as a notebook" in proc.stdout
    proc = run_course("validate", str(tmp_path / "missing.ipynb"), cwd=tmp_path)
    assert proc.returncode == 2 and "no such notebook" in proc.stderr


def test_validate_counts_points_per_test_cell_and_keeps_a_visible_hint(course, tmp_path):
    # grad_f's hidden block has bracket-only lines (")", "])"): a visible failure must still read
    # as visible, with its hint, and the summary must count the points of every test cell.
    path = tmp_path / "no-plus-one.ipynb"
    nbformat.write(_solved({"grad_f": ("dfdz = x * y + 1 + 2", "dfdz = x * y + 2")}), str(path))
    proc = run_course("validate", str(path), cwd=course)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    assert "failed  test-grad_f" in out and "passed  test-numerical_gradient" in out, out
    assert f"{TOTAL - 2:g}/{TOTAL:g} points would be earned" in out, out
    assert "likely mistake: the +1 from the lone term z is missing." in out, out
    assert 'test line 17: checks.check_scalar("dfdz at (1, 2, 0.5)"' in out, out
    assert "hidden test failed" not in out, out


def test_a_blank_notebook_reads_not_implemented_with_its_total(course):
    proc = run_course("validate", str(course / "release" / NB), cwd=course)
    assert proc.returncode == 1
    assert f"0/{TOTAL:g} points would be earned by the visible tests" in proc.stdout, proc.stdout
    assert "hidden test failed" not in proc.stdout
    assert "test line 2: result = grad_f(*examples.GRAD_F_POINT)" in proc.stdout, proc.stdout
