"""`course release` (nbgrader's exchange, as the formgrader sees it) and `course bundle` (a zip for a
class without JupyterHub: no solution, no hidden test, helpers installable).

In this process through grader.cli.main; no grading. `course return`: tests/test_autograde.py.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT, copy_course
from test_leaks import protected_lines

from grader.cli import main
from grader.course import Course
from grader.term import OWN_EXCHANGE

ASSIGNMENT = "01_gradients"


@pytest.fixture
def course_copy(tmp_path):
    return copy_course(tmp_path / "course")


def test_release_puts_the_notebook_in_the_exchange_and_the_formgrader_shows_it_released(
        course_copy, tmp_path, monkeypatch, capsys):
    exchange = tmp_path / "exchange"
    exchange.mkdir()
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(exchange))
    assert Course(course_copy).api.get_assignment(ASSIGNMENT) is None or \
        Course(course_copy).api.get_assignment(ASSIGNMENT)["status"] != "released"
    assert main(["--root", str(course_copy), "release", ASSIGNMENT]) == 0
    out = capsys.readouterr().out
    outbound = exchange / "dl-foundations" / "outbound" / ASSIGNMENT
    assert str(outbound) in out
    for nb in (ROOT / "release" / ASSIGNMENT).glob("*.ipynb"):
        assert (outbound / nb.name).read_bytes() == nb.read_bytes()
    # The formgrader's own view (NbGraderAPI.get_assignment), with the same configuration.
    assert Course(course_copy).api.get_assignment(ASSIGNMENT)["status"] == "released"
    # Again: refused in one line unless --force.
    assert main(["--root", str(course_copy), "release", ASSIGNMENT]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err, err
    assert main(["--root", str(course_copy), "release", ASSIGNMENT, "--force"]) == 0


def test_without_an_exchange_release_uses_the_courses_own_as_make_lab_does(course_copy, tmp_path,
                                                                          monkeypatch):
    monkeypatch.delenv("NBGRADER_EXCHANGE", raising=False)
    with (course_copy / "nbgrader_config.py").open("a") as fh:  # the configured one is absent here
        fh.write(f"\nc.Exchange.root = {str(tmp_path / 'srv-nbgrader-exchange')!r}\n")
    assert main(["--root", str(course_copy), "release", ASSIGNMENT]) == 0
    own = course_copy / OWN_EXCHANGE
    assert (own / "dl-foundations" / "outbound" / ASSIGNMENT / "gradients.ipynb").is_file()
    assert (own / ".gitignore").read_text() == "*\n"


def test_a_missing_exchange_is_one_line(course_copy, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NBGRADER_EXCHANGE", str(tmp_path / "nowhere"))
    assert main(["--root", str(course_copy), "release", ASSIGNMENT]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "nowhere is missing or not writable" in err, err


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory):
    """The bundle of the committed course, unpacked."""
    tmp = tmp_path_factory.mktemp("bundle")
    dest = tmp / f"{ASSIGNMENT}.zip"
    assert main(["--root", str(ROOT), "bundle", ASSIGNMENT, "--output", str(dest)]) == 0
    with zipfile.ZipFile(dest) as zf:
        zf.extractall(tmp / "unpacked")
    return dest, tmp / "unpacked" / ASSIGNMENT


def test_the_bundle_holds_the_release_helpers_and_a_setup_line_only(unpacked):
    dest, folder = unpacked
    names = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    notebooks = sorted(p.name for p in (ROOT / "release" / ASSIGNMENT).glob("*.ipynb"))
    helpers = sorted(f"helpers/{p.name}" for p in (ROOT / "helpers").glob("*.py"))
    assert names == sorted([*notebooks, *helpers, "README.md", "pyproject.toml"])
    for name in notebooks:
        assert (folder / name).read_bytes() == (ROOT / "release" / ASSIGNMENT / name).read_bytes()
    assert "python -m pip install ." in (folder / "README.md").read_text()
    # The same bytes every time (fixed dates in the zip).
    again = dest.with_name("again.zip")
    assert main(["--root", str(ROOT), "bundle", ASSIGNMENT, "--output", str(again)]) == 0
    assert again.read_bytes() == dest.read_bytes()


def test_a_course_folder_apart_from_the_checkout_bundles_the_installed_helpers(course_copy, unpacked):
    # copy_course holds no helpers/: the package comes from where grading kernels import it.
    assert not (course_copy / "helpers").exists()
    dest = course_copy / "apart.zip"
    assert main(["--root", str(course_copy), "bundle", ASSIGNMENT, "--output", str(dest)]) == 0
    assert dest.read_bytes() == unpacked[0].read_bytes()


@pytest.mark.parametrize("kind", ["solution", "hidden test"])
def test_the_bundle_holds_no_solution_and_no_hidden_test(unpacked, kind):
    """The leak check of tests/test_leaks.py, over every file of the unpacked bundle."""
    import nbformat

    _, folder = unpacked
    lines = protected_lines(kind)
    assert lines
    leaks = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.read(str(path), as_version=4).cells)
        present = {ln.strip() for ln in text.splitlines()}
        leaks += [f"{path.name}: {line!r} ({origin})" for line, origin in lines.items() if line in present]
    assert not leaks, "\n".join(leaks)
    assert not [p for p in folder.rglob("*") if p.name in ("solutions.py", "nbgrader_config.py")
                or {"grader", "source", "notebooks"} & set(p.relative_to(folder).parts)]


def test_the_bundles_helpers_install_and_import_on_their_own(unpacked, tmp_path):
    """`pip install .` as the README says (no dependencies fetched: they are in this environment)."""
    _, folder = unpacked
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(folder)],
                   check=True, capture_output=True, timeout=300)
    proc = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); "
         "import helpers, helpers.checks, helpers.widgets; print(helpers.__file__)"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().startswith(str(target)), proc.stdout
