"""Shared fixtures: the repository root, the course's notebooks and a runner for `course`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_NOTEBOOKS = sorted((ROOT / "source").glob("*/*.ipynb"))
RELEASE_NOTEBOOKS = sorted((ROOT / "release").glob("*/*.ipynb"))
SELF_STUDY_NOTEBOOKS = sorted((ROOT / "notebooks").glob("*/*.ipynb"))

os.environ.setdefault("MPLBACKEND", "Agg")


def nb_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def read_nb(path: Path):
    return nbformat.read(str(path), as_version=4)


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def forward_difference(f, x, h):
    """One-sided difference, the other method the step-size plot compares."""
    x = np.asarray(x, dtype=float)
    grad = np.zeros_like(x)
    f0 = f(x)
    for k in range(x.size):
        moved = x.copy()
        moved.flat[k] += h
        grad.flat[k] = (f(moved) - f0) / h
    return grad


def run_course(*args: str, cwd: Path | None = None, check: bool = False):
    """Run the installed `course` command; returns the CompletedProcess (text mode)."""
    exe = shutil.which("course", path=str(Path(sys.executable).parent)) or "course"
    proc = subprocess.run(
        [exe, *args], cwd=cwd or ROOT, capture_output=True, text=True, timeout=900,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"course {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


def copy_course(dest: Path, with_editions: bool = True) -> Path:
    """A copy of the course (config, source/ and optionally release/, notebooks/) at ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "nbgrader_config.py", dest / "nbgrader_config.py")
    names = ["source", "release", "notebooks"] if with_editions else ["source"]
    for name in names:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    if with_editions and (ROOT / "index.ipynb").is_file():
        shutil.copy2(ROOT / "index.ipynb", dest / "index.ipynb")
    return dest


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


# The slowest modules first (seconds of work on a 2-core machine), so that `pytest -n 2 --dist
# loadfile --no-loadscope-reorder` hands them out longest first and both workers finish together.
SLOWEST_FIRST = ("test_hostile_code.py", "test_autograde.py", "test_ui.py", "test_hostile_files.py",
                 "test_hub.py", "test_sandbox.py", "test_course_copy.py", "test_notebooks.py",
                 "test_reproducible_build.py", "test_release_bundle.py", "test_validate_cli.py",
                 "test_build.py", "test_book.py", "test_report.py", "test_cli_term.py", "test_hints.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.fixture
def no_warnings_and_no_pyplot_figures():
    """No warning (it would reach a notebook's stderr) and no pyplot figure left behind."""
    import matplotlib.pyplot as plt  # only the tests that use this fixture need pyplot

    before = plt.get_fignums()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    assert plt.get_fignums() == before


@pytest.fixture
def course(capsys):
    """Run `course ARGS...` in this process: (exit status, stdout, stderr). Cheaper than a
    `course` process (importing nbgrader costs seconds); modules with a course of their own
    (test_validate_cli.py) define their own ``course``."""
    from grader.cli import main

    def run(*args):
        capsys.readouterr()
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err
    return run
