"""`course build`: the generated editions are current, and drift is detected and named."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

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
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from grader.build import execute, self_study_edition, solutions_file
from helpers.practice import SOLUTIONS_FILE


def test_build_check_passes_on_the_repository():
    # Sources only (executing every notebook costs a minute); outputs: test_reproducible_build.py.
    proc = run_course("build", "--check", "--no-execute")
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
    other = SOURCE_NOTEBOOKS[1].parent.name
    with (course / "notebooks" / other / "solutions.py").open("a") as f:
        f.write("# edited by hand\n")
    # Sources only: the executing check, outputs compared byte for byte, is
    # tests/test_reproducible_build.py's, on a course of one small notebook.
    proc = run_course("--root", str(course), "build", "--check", "--no-execute")
    assert proc.returncode == 1
    rel = f"{src.parent.name}/{src.name}"
    assert f"release/{rel}" in proc.stdout
    assert f"notebooks/{rel}" in proc.stdout
    assert f"release/{src.parent.name}/stray.txt" in proc.stdout
    assert f"notebooks/{other}/solutions.py" in proc.stdout
    assert f"notebooks/{SOURCE_NOTEBOOKS[1].parent.name}/{SOURCE_NOTEBOOKS[1].name}" not in proc.stdout


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
    exercises = [nbgrader_meta(c)["grade_id"] for c in source.cells
                 if nbgrader_meta(c).get("solution") and c.cell_type == "code"]
    attempts = [c for c in edition.cells if c.cell_type == "code" and "practice.fill_in" in c.source]
    assert [c.source.rsplit('"', 2)[-2] for c in attempts] == exercises
    assert all("raise NotImplementedError()" in c.source for c in attempts), "the student's stub"
    folds = [c for c in edition.cells if c.cell_type == "markdown" and c.source.startswith("<details>")]
    assert len(folds) == len(exercises)
    assert all("def " in c.source and c.source.rstrip().endswith("</details>") for c in folds)
    assert read_nb(path) == source  # building the edition does not alter the source


def _solution_lines(source_nb, release_nb) -> list[str]:
    """Lines of every solution region that the student's copy does not show anywhere."""
    given = "".join("".join(c.source.split()) for c in release_nb.cells)
    lines = []
    for cell in source_nb.cells:
        if nbgrader_meta(cell).get("solution") and cell.cell_type == "code":
            region = cell.source.split("### BEGIN SOLUTION")[1:]
            for part in region:
                body = part.split("### END SOLUTION")[0]
                lines += [ln.strip() for ln in body.splitlines()
                          if len(ln.strip()) >= 12 and "".join(ln.split()) not in given]
    return lines


class _FoldedText(HTMLParser):
    """Text of a page, split into what lies inside a closed <details> and what lies outside."""

    def __init__(self):
        super().__init__()
        self.depth, self.inside, self.outside, self.opened = 0, [], [], 0

    def handle_starttag(self, tag, attrs):
        if tag == "details":
            self.depth += 1
            self.opened += any(name == "open" for name, _ in attrs)

    def handle_endtag(self, tag):
        if tag == "details":
            self.depth = max(0, self.depth - 1)

    def handle_data(self, data):
        (self.inside if self.depth else self.outside).append(data)


def folded_and_open_text(html: str) -> tuple[str, str, int]:
    """(text inside <details>, text outside, number of <details open>), whitespace removed."""
    parser = _FoldedText()
    parser.feed(html)
    squash = lambda parts: "".join("".join(parts).split())  # noqa: E731
    return squash(parser.inside), squash(parser.outside), parser.opened


@pytest.mark.parametrize("path", SELF_STUDY_NOTEBOOKS, ids=nb_id)
def test_no_solution_is_readable_unfolded_in_nbconvert_html(path):
    """As a repository page shows a notebook (it ignores source_hidden): every line of every
    reference solution is inside a closed <details>, none outside."""
    rel = f"{path.parent.name}/{path.name}"
    lines = _solution_lines(read_nb(ROOT / "source" / rel), read_nb(ROOT / "release" / rel))
    assert len(lines) > 10, "too few solution lines to check"
    html, _ = HTMLExporter().from_notebook_node(read_nb(path))
    inside, outside, opened = folded_and_open_text(html)
    assert opened == 0, "a <details> is open"
    leaks = [ln for ln in lines if "".join(ln.split()) in outside]
    assert not leaks, f"{rel}: solution lines readable unfolded: {leaks[:3]}"
    missing = [ln for ln in lines if "".join(ln.split()) not in inside]
    assert not missing, f"{rel}: solution lines not in any fold: {missing[:3]}"


def test_a_wrong_attempt_fails_its_visible_check_in_the_self_study_edition(tmp_path):
    """Practising: the reader's version replaces the stub and the checks test it, not the reference."""
    src = ROOT / "source" / "01_gradients" / "gradients.ipynb"
    source = read_nb(src)
    edition = self_study_edition(source)
    (tmp_path / SOLUTIONS_FILE).write_text(solutions_file({src.name: source}))
    cell = next(c for c in edition.cells if c.cell_type == "code" and '"mse_loss")' in c.source)
    wrong = "residuals = y - y_hat\n    return float(np.sum(residuals**2))  # forgot the 1/m"
    cell.source = cell.source.replace("raise NotImplementedError()", wrong)
    NotebookClient(edition, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    at = edition.cells.index(cell)
    assert "your version: mse_loss" in "".join(o.get("text", "") for o in cell.outputs)
    test_cell = next(c for c in edition.cells[at + 1:] if c.cell_type == "code")
    errors = [o for o in test_cell.outputs if o.output_type == "error"]
    assert errors, "the visible check passed on a wrong attempt"
    message = "\n".join(errors[0].traceback)
    assert "mse_loss is not what was expected" in message and "1/m" in message
    # Every other exercise took the reference: the cells before the wrong one ran cleanly.
    assert not [o for c in edition.cells[:at] for o in c.get("outputs", []) if o.output_type == "error"]


def test_execute_saves_the_same_outputs_however_prints_were_flushed(tmp_path):
    """Reproducible builds: output split by flush timing is merged into one stream output."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import sys, time\nprint('a', end='', flush=True)\ntime.sleep(0.3)\nprint('b')\n"
        "time.sleep(0.3)\nprint('c', flush=True)")]
    execute(nb, tmp_path)
    assert nb.cells[0].outputs == [nbformat.v4.new_output("stream", name="stdout", text="ab\nc\n")]


WIDGET_CELL = re.compile(r"\bwidgets\.[A-Z]\w+\(")  # an explorer built from helpers.widgets


@pytest.mark.parametrize("path", SELF_STUDY_NOTEBOOKS, ids=nb_id)
def test_every_widget_cell_shows_a_static_figure(path):
    cells = [c for c in read_nb(path).cells if c.cell_type == "code" and WIDGET_CELL.search(c.source)]
    for cell in cells:
        data = [o.get("data", {}) for o in cell.outputs]
        assert any("image/png" in d for d in data), f"no static figure in:\n{cell.source}"
        notes = "".join(d.get("text/markdown", "") for d in data)
        assert "running kernel" in notes and "interactive" in notes, "the sentence is missing"
        assert not [d for d in data if "application/vnd.jupyter.widget-view+json" in d]


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
