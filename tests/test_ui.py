"""What students and instructors see, tested in a real JupyterLab in a real (headless) Chromium.

Source notebooks are run with Run All and must show no error, every widget rendered and
responding to its slider, and their plots. Release notebooks open as students get them and
nbgrader's Validate button reports failing checks; a filled-in scratch copy validates, and with
one function wrong the dialog names that check without showing hidden tests. Self-study
notebooks open with outputs shown and solutions folded (a click unfolds one); the landing page
opens without showing as modified. The formgrader lists every assignment.

Screenshots go to test-artifacts/ui/ (not committed). Without Chromium the module is skipped
with one line, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import time
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest
from conftest import (
    RELEASE_NOTEBOOKS,
    ROOT,
    SELF_STUDY_NOTEBOOKS,
    SOURCE_NOTEBOOKS,
    copy_course,
    nb_id,
    nbgrader_meta,
    read_nb,
)
from labserver import running_lab

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
RUN_TIMEOUT_MS = int(os.environ.get("UI_RUN_TIMEOUT_MS", "120000"))
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")
WIDGET_CLASS = re.compile(r"\bwidgets\.[A-Z]\w+\(")  # an explorer built from helpers.widgets


def _browser_or_skip():
    in_ci = os.environ.get("CI", "").lower() == "true"
    problem = None
    if not CHROMIUM.exists():
        problem = f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "the playwright package is not installed (pip install -e '.[dev]')"
    if problem:
        if in_ci:
            pytest.fail(f"browser tests cannot run in CI: {problem}", pytrace=False)
        pytest.skip(f"browser tests skipped: {problem}", allow_module_level=True)


_browser_or_skip()

from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

CLUTTER = ("dl_foundations.egg-info", "__pycache__", "test-artifacts")


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("ui") / "course")
    (course / "scratch").mkdir()
    for name in CLUTTER:  # what a checkout holds after `make install` and `make test`
        (course / name).mkdir()
    with running_lab(course) as server:
        yield server


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _shutdown_kernels(lab) -> None:
    with urllib.request.urlopen(lab.url("api/sessions"), timeout=30) as resp:
        sessions = json.loads(resp.read())
    for session in sessions:
        request = urllib.request.Request(lab.url(f"api/sessions/{session['id']}"), method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
        _shutdown_kernels(lab)


def shot(page, name: str, locator=None) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    (locator or page).screenshot(path=str(path))
    return path


def goto_notebook(page, lab, rel_path: str) -> None:
    # A fresh named workspace per visit: nothing from an earlier test is restored beside it.
    page.goto(lab.url(f"lab/workspaces/ui-{uuid.uuid4().hex[:12]}/tree/{rel_path}"))


def open_notebook(page, lab, rel_path: str):
    goto_notebook(page, lab, rel_path)
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=90_000)
    # Wait for the kernel, so that Run All and Validate are not queued behind its start-up.
    expect(page.locator(".jp-NotebookPanel:visible .jp-Notebook-ExecutionIndicator")
           ).to_have_attribute("data-status", "idle", timeout=90_000)
    return panel


STARTED_JS = """() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-InputPrompt')]
    .some(p => /\\[(\\*|\\d+)\\]/.test(p.textContent))"""


def run_all(page, panel, n_code_cells: int) -> float:
    """Run All Cells from the menu and wait until every code cell has run; returns the seconds taken."""
    # Under load a menu click can land before the notebook is the current widget and do nothing:
    # focus the notebook, and retry until some cell is queued or running.
    start = time.monotonic()
    for _attempt in range(4):
        panel.locator(".jp-Cell").first.click()
        page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
        try:
            page.wait_for_function(STARTED_JS, timeout=15_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
    try:
        page.wait_for_function(
            """([n]) => {
                const prompts = [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) '
                                                              + '.jp-CodeCell .jp-InputPrompt')];
                return prompts.length === n && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            arg=[n_code_cells], timeout=RUN_TIMEOUT_MS)
    except PlaywrightTimeout:
        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
        first_error = errors.first.inner_text()[:800] if errors.count() else "none"
        shot(page, "run-all-timeout")
        raise AssertionError(f"Run All did not finish: {len(prompts)} of {n_code_cells} code cells "
                             f"rendered, prompts {prompts}; first error: {first_error}") from None
    return time.monotonic() - start


RUN_ALL_TIMES = ARTIFACTS / "run-all-seconds.json"


def record_run_all(rel: str, seconds: float) -> None:
    """Keep the measured Run All time of a notebook in test-artifacts/ui/run-all-seconds.json."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    times = json.loads(RUN_ALL_TIMES.read_text()) if RUN_ALL_TIMES.is_file() else {}
    times[rel] = round(seconds, 2)
    RUN_ALL_TIMES.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")


def code_cell_count(path: Path) -> int:
    return sum(1 for c in read_nb(path).cells if c.cell_type == "code")


# --- source notebooks: Run All ------------------------------------------------------------------


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_source_notebook_runs_all_with_widgets_and_plots(page, lab, path):
    rel = path.relative_to(ROOT).as_posix()
    panel = open_notebook(page, lab, rel)
    record_run_all(rel, run_all(page, panel, code_cell_count(path)))
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    assert errors.count() == 0, f"{rel}: error or stderr output: {errors.first.inner_text()[:500]}"
    assert panel.get_by_text("Error displaying widget").count() == 0, f"{rel}: a widget failed to render"
    assert panel.locator(".jp-RenderedImage img").count() >= 1, f"{rel}: no plot shown"
    sliders = panel.locator(".jupyter-widgets .widget-slider")
    expected_widgets = sum(len(WIDGET_CLASS.findall(c.source)) for c in read_nb(path).cells
                           if c.cell_type == "code")
    assert sliders.count() >= expected_widgets, f"{rel}: {sliders.count()} sliders rendered"
    for i in range(sliders.count()):
        box = panel.locator(".jupyter-widgets.widget-vbox").nth(i)
        image = box.locator(".widget-image").first
        before = image.get_attribute("src")
        readout = box.locator(".widget-html").first.inner_text()
        handle = box.locator(".widget-slider .noUi-handle").first
        handle.focus()
        page.keyboard.press("ArrowRight")
        expect(image).not_to_have_attribute("src", before or "", timeout=30_000)
        # The readout is redrawn after the image on a loaded machine: wait for it as well.
        with contextlib.suppress(AssertionError):
            expect(box.locator(".widget-html").first).not_to_have_text(readout, timeout=30_000)
        new_readout = box.locator(".widget-html").first.inner_text()
        assert new_readout != readout, f"{rel}: widget {i} readout unchanged"
        shot(page, f"widget-{path.stem}-{i}", box)
    page.locator(".jp-NotebookPanel:visible .jp-WindowedPanel-outer, .jp-NotebookPanel:visible .jp-Notebook"
                 ).first.evaluate("el => el.scrollTo(0, 0)")
    shot(page, f"source-{path.stem}")


# --- release notebooks: nbgrader's Validate button ----------------------------------------------


def validate(page) -> tuple[str, str]:
    """Click Validate; returns (outcome class, dialog text) of nbgrader's result dialog."""
    page.locator(".jp-NotebookPanel:visible .jp-Toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.get_by_text("Validation Results")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    body = dialog.locator(".validation-success, .validation-failed, .validation-changed")
    expect(body.first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    outcome = body.first.get_attribute("class") or ""
    text = dialog.inner_text()
    return outcome, text


# The button, on one untouched release notebook (the newest topic; 01 is filled in below). That
# every test of every release notebook fails untouched is nbgrader's own validate --invert, without
# a browser, in tests/test_notebooks.py; each notebook renders in the lab: the self-study test below.
@pytest.mark.parametrize("path", RELEASE_NOTEBOOKS[-1:], ids=nb_id)
def test_release_notebook_opens_and_validate_reports_failing_checks(page, lab, path):
    rel = path.relative_to(ROOT).as_posix()
    open_notebook(page, lab, rel)
    outcome, text = validate(page)
    shot(page, f"release-validate-{path.stem}")
    assert "validation-failed" in outcome, f"{rel}: Validate did not report failures:\n{text[:800]}"
    assert "NotImplementedError" in text


def _put_notebook(lab, rel_path: str, nb) -> None:
    body = json.dumps({"type": "notebook", "format": "json", "content": nb}).encode()
    request = urllib.request.Request(lab.url(f"api/contents/{rel_path}"), data=body, method="PUT",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as resp:
        assert resp.status in (200, 201)


def _filled_release(assignment_nb: Path, wrong: dict[str, tuple[str, str]] | None = None):
    """The release notebook with every solution filled in from source; ``wrong`` edits some."""
    source = read_nb(ROOT / "source" / assignment_nb)
    answers = {nbgrader_meta(c)["grade_id"]: "\n".join(
        ln for ln in c.source.splitlines() if ln.strip() not in MARKERS)
        for c in source.cells if nbgrader_meta(c).get("solution")}
    for gid, (old, new) in (wrong or {}).items():
        assert old in answers[gid]
        answers[gid] = answers[gid].replace(old, new)
    nb = copy.deepcopy(read_nb(ROOT / "release" / assignment_nb))
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if nbgrader_meta(cell).get("solution") and gid in answers:
            cell.source = answers[gid]
    return nbformat.from_dict(json.loads(nbformat.writes(nb)))


FILLED = Path("01_gradients/gradients.ipynb")


def test_validate_passes_on_a_filled_in_copy(page, lab):
    _put_notebook(lab, "scratch/solved.ipynb", _filled_release(FILLED))
    open_notebook(page, lab, "scratch/solved.ipynb")
    outcome, text = validate(page)
    shot(page, "release-validate-solved")
    assert "validation-success" in outcome, text[:1500]
    assert "Success! Your notebook passes all the tests." in text


def test_validate_names_the_failing_check_without_hidden_tests(page, lab):
    nb = _filled_release(FILLED, {"mse_loss": ("np.sum(residuals**2) / y.size", "np.sum(residuals**2)")})
    _put_notebook(lab, "scratch/one-wrong.ipynb", nb)
    open_notebook(page, lab, "scratch/one-wrong.ipynb")
    outcome, text = validate(page)
    shot(page, "release-validate-one-wrong")
    assert "validation-failed" in outcome, text[:1500]
    assert "mse_loss is not what was expected" in text and "the 1/m is missing" in text, text[:1500]
    # The failure is the test's line and the message, nothing of the helpers' internals.
    assert "---> 4" in text and "Traceback" not in text and "helpers/checks.py" not in text, text[:1500]
    hidden = [ln.strip() for c in read_nb(ROOT / "source" / FILLED).cells if nbgrader_meta(c).get("grade")
              for ln in c.source.split("### BEGIN HIDDEN TESTS")[-1].splitlines()[1:] if len(ln.strip()) > 20]
    assert "HIDDEN TESTS" not in text
    assert not [ln for ln in hidden if ln in text], "hidden test code appears in the Validate dialog"


# --- self-study notebooks and the formgrader -----------------------------------------------------


@pytest.mark.parametrize("path", SELF_STUDY_NOTEBOOKS, ids=nb_id)
def test_self_study_notebook_shows_outputs_with_solutions_folded(page, lab, path):
    rel = path.relative_to(ROOT).as_posix()
    goto_notebook(page, lab, rel)
    panel = page.locator(".jp-NotebookPanel:visible")
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=90_000)
    nb = read_nb(path)
    n_folds = sum(1 for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("<details>"))
    assert n_folds > 0, f"{rel} has no folded solution"
    reference = page.locator("summary", has_text="Reference solution")
    folds = panel.locator(".jp-MarkdownOutput details", has=reference)
    expect(folds).to_have_count(n_folds, timeout=60_000)  # Markdown renders after the cells show
    assert not [i for i in range(n_folds) if folds.nth(i).evaluate("d => d.open")], "a fold is open"
    code = folds.first.locator("pre").first
    expect(code).to_be_hidden()
    folds.first.locator("summary").click()
    expect(code).to_be_visible()
    assert "def " in code.inner_text()
    assert panel.locator(".jp-RenderedImage img").count() >= 1, f"{rel}: no plot shown"
    assert panel.locator(".jp-OutputArea-output").count() > 10, f"{rel}: outputs missing"
    shot(page, f"self-study-{path.stem}")


def test_landing_page_opens_unmodified(page, lab):
    """index.ipynb is generated: opening it (and its kernel starting) must not mark it modified."""
    open_notebook(page, lab, "index.ipynb")
    page.wait_for_timeout(3_000)  # kernel info (language_info) arrives after idle
    tab = page.locator(".lm-TabBar-tab", has_text="index.ipynb")
    expect(tab).to_have_count(1)
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "index.ipynb shows as modified"


def test_formgrader_lists_every_assignment(page, lab):
    page.goto(lab.url("formgrader"))
    for assignment in sorted({p.parent.name for p in SOURCE_NOTEBOOKS}):
        expect(page.get_by_text(assignment, exact=True).first).to_be_visible(timeout=60_000)
    shot(page, "formgrader")


# --- a quiet lab: the course's settings (jupyter-config/, as `make lab` applies them) -------------


def test_the_lab_is_quiet_no_news_no_clutter_long_lines_wrapped(page, lab):
    page.goto(lab.url(f"lab/workspaces/ui-{uuid.uuid4().hex[:12]}"))
    listing = page.locator(".jp-DirListing-itemName")
    expect(listing.filter(has_text="release").first).to_be_visible(timeout=90_000)
    page.wait_for_timeout(5_000)  # JupyterLab asks about news a moment after it starts
    shot(page, "quiet-lab")
    assert page.get_by_text("official Jupyter news").count() == 0, "the news pop-up is shown"
    assert page.locator(".Toastify__toast").count() == 0, page.locator(".Toastify__toast").all_inner_texts()
    names = [n.strip() for n in listing.all_inner_texts()]
    assert "release" in names and not [n for n in names if n in CLUTTER], names
    # Long lines wrap in code cells instead of running off the right edge.
    open_notebook(page, lab, "release/01_gradients/gradients.ipynb")
    assert page.locator(".jp-CodeCell .cm-content.cm-lineWrapping").count() > 0
