"""The environment and configuration that `make lab` and grading depend on."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

from grader.course import Course


def _jupyter(*args: str) -> str:
    exe = Path(sys.executable).parent / "jupyter"
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)
    return proc.stdout + proc.stderr


def test_nbgrader_labextension_enabled_and_ok():
    text = re.sub(r"\x1b\[[0-9;]*m", "", _jupyter("labextension", "list"))
    line = next((ln for ln in text.splitlines() if "@jupyter/nbgrader" in ln), "")
    assert "enabled" in line and "OK" in line, text
    widgets = next((ln for ln in text.splitlines() if "@jupyter-widgets/jupyterlab-manager" in ln), "")
    assert "enabled" in widgets and "OK" in widgets, text


def test_nbgrader_server_extensions_enabled():
    text = re.sub(r"\x1b\[[0-9;]*m", "", _jupyter("server", "extension", "list"))
    for ext in ("nbgrader.server_extensions.formgrader",
                "nbgrader.server_extensions.validate_assignment"):
        assert re.search(rf"{re.escape(ext)} enabled", text), text


def test_widget_versions_agree():
    import ipywidgets
    import jupyterlab_widgets

    assert ipywidgets.__version__.split(".")[0] == "8"
    assert jupyterlab_widgets.__version__.split(".")[0] == "3"


def test_grading_configuration():
    cfg = Course(ROOT).config
    assert cfg.OverwriteCells.add_missing_cells is True
    assert 0 < cfg.Execute.timeout <= 120
    assert cfg.CourseDirectory.course_id
    assert cfg.Exchange.root
    assert Path(cfg.CourseDirectory.root) == ROOT


def test_gitignore_keeps_grading_state_out():
    ignored = set((ROOT / ".gitignore").read_text().split())
    for entry in ("submitted/", "autograded/", "feedback/", "gradebook.db", ".venv/"):
        assert entry in ignored, entry


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make test" in readme and "make lab" in readme
    assert re.search(r"^make test\b", (ROOT / ".ci" / "run").read_text(), re.M)


def test_make_test_provides_the_browser_and_playwright():
    makefile = (ROOT / "Makefile").read_text()
    recipe = subprocess.run(["make", "-n", "-C", str(ROOT), "browser"], capture_output=True, text=True).stdout
    assert "test: $(STAMP) browser" in makefile and "apt-get install -y -qq chromium" in recipe
    assert "playwright" in (ROOT / "pyproject.toml").read_text()
