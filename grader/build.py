"""Generate release/ (students) and notebooks/ (self-study) from source/, or check they are current.

release/ is nbgrader's own ``generate_assignment`` output. notebooks/ is the source with hidden
tests removed, solution markers dropped, solution cells folded, nbgrader metadata stripped, then
executed so that plots show when read on GitHub. ``index.ipynb`` links every topic's editions.
"""

from __future__ import annotations

import copy
import filecmp
import shutil
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbgrader.preprocessors import ClearHiddenTests

from grader.course import CONFIG_FILE, Course, CourseError

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
FOLD_NOTE = (
    "*Try it yourself first: write your own version in a new cell below, then unfold the "
    "reference solution (click the bar under this note) and compare.*"
)
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "Interactive widget: open this notebook in JupyterLab and run it to use it."
EXECUTION_TIMEOUT = 120
INDEX = "index.ipynb"


def _write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def _is_solution(cell) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def self_study_edition(source_nb) -> nbformat.NotebookNode:
    """The self-study version of a source notebook (not executed)."""
    nb = copy.deepcopy(source_nb)
    nb, _ = ClearHiddenTests().preprocess(nb, {})
    cells = []
    for cell in nb.cells:
        solution = _is_solution(cell)
        cell.metadata.pop("nbgrader", None)
        if cell.cell_type == "code":
            lines = cell.source.splitlines()
            cell.source = "\n".join(ln for ln in lines if ln.strip() not in SOLUTION_MARKERS)
            cell.outputs, cell.execution_count = [], None
        if solution and cell.cell_type == "code":
            cells.append(nbformat.v4.new_markdown_cell(FOLD_NOTE))
            cell.metadata["jupyter"] = {"source_hidden": True}
        cells.append(cell)
    nb.cells = cells
    _number_cell_ids(nb)
    return nb


def _number_cell_ids(nb) -> None:
    """Stable cell ids, so rebuilding gives byte-identical files."""
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"


def execute(nb, folder: Path) -> None:
    """Run ``nb`` in ``folder``; raises nbclient's CellExecutionError if a cell fails.

    The kernel's ``language_info`` (which names the exact Python version) is put back as the source
    had it, so the edition does not change with the machine that built it.
    """
    language_info = nb.metadata.get("language_info")
    client = NotebookClient(
        nb,
        timeout=EXECUTION_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        record_timing=False,
        store_widget_state=False,
    )
    client.execute()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):
                # No widget state is saved, so a live view would say "model not found".
                out["data"] = {"text/plain": WIDGET_NOTE}
    nb.metadata.pop("widgets", None)
    if language_info is None:
        nb.metadata.pop("language_info", None)
    else:
        nb.metadata["language_info"] = language_info


def topic_title(nb, fallback: str) -> str:
    """The first Markdown heading of a notebook, without the hashes."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


def landing_page(course: Course) -> nbformat.NotebookNode:
    """index.ipynb: what the course is and links to each topic's three editions."""
    rows = []
    for assignment in course.assignments():
        for path in course.notebooks(assignment):
            title = topic_title(nbformat.read(str(path), as_version=4), assignment)
            rel = f"{assignment}/{path.name}"
            rows.append(
                f"| {title} | [read and try](notebooks/{rel}) | [assignment](release/{rel}) "
                f"| [instructor](source/{rel}) |"
            )
    intro = (
        "# Foundations of deep learning, in NumPy\n\n"
        "Each topic is a notebook that explains, derives and visualises, then asks you to write "
        "the pieces yourself and checks them.\n\n"
        "- **Students**: open the *assignment* edition, replace every "
        "`raise NotImplementedError()` with your code, run the checks under each exercise, "
        "then press **Validate** in the toolbar before you submit.\n"
        "- **Self-study**: the *read and try* edition is executed, with plots, and holds the "
        "reference solutions folded: try first, then unfold and compare.\n"
        "- **Instructors**: edit the *instructor* edition (solutions and hidden tests), then run "
        "`course build` to regenerate the other two.\n"
    )
    table = "| topic | self-study | student | instructor |\n|---|---|---|---|\n" + "\n".join(rows)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(intro), nbformat.v4.new_markdown_cell(table)]
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python",
                                 "name": "python3"}
    _number_cell_ids(nb)
    return nb


def build(course: Course, out_root: Path | None = None, run: bool = True, log=print) -> None:
    """Write release/, notebooks/ and index.ipynb for every assignment under ``out_root``.

    ``out_root`` defaults to the course itself; ``run=False`` skips executing notebooks/.
    """
    out_root = course.root if out_root is None else Path(out_root).resolve()
    target = course if out_root == course.root else Course(out_root, course.log_level)
    for assignment in course.assignments():
        log(f"release/{assignment}")
        result = target.api.generate_assignment(assignment, force=True, create=True)
        if not result["success"]:
            raise CourseError(f"generate_assignment {assignment} failed:\n{result.get('log', '')}")
        edition = out_root / "notebooks" / assignment
        if edition.exists():
            shutil.rmtree(edition)
        shutil.copytree(
            course.source_dir / assignment, edition,
            ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints", "__pycache__"),
        )
        for path in course.notebooks(assignment):
            log(f"notebooks/{assignment}/{path.name}")
            nb = self_study_edition(nbformat.read(str(path), as_version=4))
            if run:
                try:
                    execute(nb, edition)
                except CellExecutionError as err:
                    summary = str(err).strip().splitlines()[-1] if str(err).strip() else repr(err)
                    raise CourseError(f"source/{assignment}/{path.name} failed to run: {summary}") from err
            _write(nb, edition / path.name)
    _write(landing_page(course), out_root / INDEX)


def _strip_outputs(nb) -> dict:
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


def _tree(folder: Path) -> set[str]:
    if not folder.is_dir():
        return set()
    skip = {".ipynb_checkpoints", "__pycache__"}
    return {
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and not skip.intersection(p.parts)
    }


def stale_files(course: Course) -> list[str]:
    """Paths (relative to the course) whose committed version differs from a fresh build."""
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        scratch = Path(tmp)
        shutil.copy2(course.root / CONFIG_FILE, scratch / CONFIG_FILE)
        shutil.copytree(course.source_dir, scratch / "source")
        build(course, scratch, run=False, log=lambda _msg: None)
        stale = []
        for edition, compare in (("release", _same_file), ("notebooks", _same_without_outputs)):
            fresh, committed = _tree(scratch / edition), _tree(course.root / edition)
            for rel in sorted(fresh | committed):
                a, b = scratch / edition / rel, course.root / edition / rel
                if not (a.is_file() and b.is_file() and compare(a, b)):
                    stale.append(f"{edition}/{rel}")
        if not _same_file(scratch / INDEX, course.root / INDEX):
            stale.append(INDEX)
        return stale


def _same_file(a: Path, b: Path) -> bool:
    return b.is_file() and filecmp.cmp(a, b, shallow=False)


def _same_without_outputs(a: Path, b: Path) -> bool:
    if a.suffix != ".ipynb":
        return _same_file(a, b)
    try:
        theirs = nbformat.read(str(b), as_version=4)
    except Exception:  # noqa: BLE001 - an unreadable committed notebook is simply stale
        return False
    ours = nbformat.read(str(a), as_version=4)
    return nbformat.writes(_strip_outputs(ours)) == nbformat.writes(_strip_outputs(theirs))
