"""`course build`: the generated editions are current, and drift is detected and named."""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import (
    ROOT,
    SELF_STUDY_NOTEBOOKS,
    SOURCE_NOTEBOOKS,
    copy_course,
    nb_id,
    nbgrader_meta,
    read_nb,
    run_course,
)

from grader.build import self_study_edition


def test_build_check_passes_on_the_repository():
    proc = run_course("build", "--check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "up to date" in proc.stdout


def test_build_check_names_drifted_files(tmp_path):
    course = copy_course(tmp_path / "course")
    src = SOURCE_NOTEBOOKS[0]
    target = course / "source" / src.parent.name / src.name
    nb = read_nb(target)
    nb.cells.append(nbformat.v4.new_markdown_cell("An instructor's late addition."))
    nbformat.write(nb, str(target))
    (course / "release" / src.parent.name / "stray.txt").write_text("left over\n")
    proc = run_course("--root", str(course), "build", "--check")
    assert proc.returncode == 1
    rel = f"{src.parent.name}/{src.name}"
    assert f"release/{rel}" in proc.stdout
    assert f"notebooks/{rel}" in proc.stdout
    assert f"release/{src.parent.name}/stray.txt" in proc.stdout


def test_build_regenerates_in_a_copy(tmp_path):
    course = copy_course(tmp_path / "course", with_editions=False)
    proc = run_course("--root", str(course), "build", "--no-execute")
    assert proc.returncode == 0, proc.stderr
    for src in SOURCE_NOTEBOOKS:
        rel = f"{src.parent.name}/{src.name}"
        assert (course / "release" / rel).is_file()
        assert (course / "notebooks" / rel).is_file()
    assert (course / "index.ipynb").is_file()
    # Byte-identical to the committed release: the build is deterministic.
    for src in SOURCE_NOTEBOOKS:
        rel = f"{src.parent.name}/{src.name}"
        assert (course / "release" / rel).read_bytes() == (ROOT / "release" / rel).read_bytes()


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_self_study_edition_folds_solutions_and_drops_hidden_tests(path):
    source = read_nb(path)
    edition = self_study_edition(source)
    text = json.dumps(edition)
    assert "BEGIN HIDDEN TESTS" not in text and "END HIDDEN TESTS" not in text
    assert "### BEGIN SOLUTION" not in text
    assert all("nbgrader" not in c.metadata for c in edition.cells)
    n_solutions = sum(1 for c in source.cells
                      if nbgrader_meta(c).get("solution") and c.cell_type == "code")
    folded = [c for c in edition.cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    assert len(folded) == n_solutions
    assert all("def " in c.source for c in folded), "folded cells should hold the solutions"
    assert read_nb(path) == source  # building the edition does not alter the source


@pytest.mark.parametrize("path", SELF_STUDY_NOTEBOOKS, ids=nb_id)
def test_self_study_notebooks_are_executed_cleanly(path):
    nb = read_nb(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code if c.source.strip()), "not executed"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no plot in the outputs"


def test_landing_page_links_every_edition():
    text = json.dumps(read_nb(ROOT / "index.ipynb").cells)
    for src in SOURCE_NOTEBOOKS:
        rel = f"{src.parent.name}/{src.name}"
        for edition in ("source", "release", "notebooks"):
            assert f"({edition}/{rel})" in text
            assert (ROOT / edition / rel).is_file()


def test_cli_errors_are_one_line(tmp_path):
    proc = run_course("autograde", "no_such_assignment")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "Traceback" not in proc.stderr
    assert "unknown assignment 'no_such_assignment'" in proc.stderr
    proc = run_course("build", "--check", cwd=tmp_path)
    assert proc.returncode == 2 and "no course found" in proc.stderr
    assert "Traceback" not in proc.stderr
