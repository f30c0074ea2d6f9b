"""Every source notebook runs cleanly and passes nbgrader validate; every release test fails."""

from __future__ import annotations

import pytest
from conftest import RELEASE_NOTEBOOKS, ROOT, SOURCE_NOTEBOOKS, nb_id, nbgrader_meta, read_nb
from nbclient import NotebookClient
from nbgrader.validator import Validator

from grader.course import Course


def test_there_are_notebooks():
    assert SOURCE_NOTEBOOKS, "no source notebooks found"
    assert len(RELEASE_NOTEBOOKS) == len(SOURCE_NOTEBOOKS)


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_source_is_committed_without_outputs(path):
    nb = read_nb(path)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{nb_id(path)}: cells {dirty} have outputs; clear them before committing"


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_source_executes_without_errors_or_stderr(path):
    nb = read_nb(path)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    problems = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                problems.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream" and out.name == "stderr":
                problems.append(f"cell {i} wrote to stderr: {out.text[:300]!r}")
    assert not problems, "\n".join(problems)


def _validator(invert: bool) -> Validator:
    config = Course(ROOT).config.copy()
    config.Validator.invert = invert
    return Validator(config=config)


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_nbgrader_validate_passes_on_source(path):
    results = _validator(invert=False).validate(str(path))
    assert results == {}, f"nbgrader validate failed on {nb_id(path)}: {results}"


@pytest.mark.parametrize("path", RELEASE_NOTEBOOKS, ids=nb_id)
def test_nbgrader_validate_invert_every_release_test_fails(path):
    tests = [c for c in read_nb(path).cells if nbgrader_meta(c).get("grade") and c.cell_type == "code"]
    assert tests, f"{nb_id(path)} has no test cells"
    results = _validator(invert=True).validate(str(path))
    assert "changed" not in results and "type_changed" not in results, results
    passed = [r["source"].splitlines()[0] for r in results.get("passed", [])]
    assert not passed, f"these tests pass on the untouched release: {passed}"


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_nbgrader_conventions(path):
    """Each solution cell has a locked test cell test-<id> with points, a visible check first."""
    cells = read_nb(path).cells
    solutions = {nbgrader_meta(c)["grade_id"] for c in cells
                 if nbgrader_meta(c).get("solution") and c.cell_type == "code"}
    tests = {nbgrader_meta(c)["grade_id"]: c for c in cells if nbgrader_meta(c).get("grade")}
    assert solutions, "no solution cells"
    for sol in sorted(solutions):
        assert f"test-{sol}" in tests, f"solution {sol} has no test cell test-{sol}"
    for gid, cell in tests.items():
        meta = nbgrader_meta(cell)
        assert gid.startswith("test-"), gid
        assert meta.get("locked") and meta.get("points", 0) > 0, gid
        src = cell.source
        assert "### BEGIN HIDDEN TESTS" in src, f"{gid} has no hidden tests"
        visible = src.split("### BEGIN HIDDEN TESTS")[0]
        assert "checks." in visible or "gradcheck." in visible, f"{gid}: no visible check"
        hidden = src.split("### BEGIN HIDDEN TESTS")[1]
        assert "default_rng" in hidden, f"{gid}: hidden tests are not randomised"


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_given_code_is_locked(path):
    """Code handed to students (tagged given-code) is a locked nbgrader cell: grading runs the
    instructor's copy, so a student cannot edit what the tests rely on (regression_cost, say)."""
    for cell in read_nb(path).cells:
        if "given-code" in cell.get("metadata", {}).get("tags", []):
            meta = nbgrader_meta(cell)
            assert meta.get("locked") and not meta.get("solution") and not meta.get("grade"), cell.id
            assert meta.get("grade_id", "").startswith("given-"), cell.id
