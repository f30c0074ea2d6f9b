"""Nothing a student receives (release/, helpers/) holds a solution line or a hidden-test line."""

from __future__ import annotations

import re

import pytest
from conftest import ROOT, SOURCE_NOTEBOOKS, read_nb

REGIONS = {
    "solution": ("### BEGIN SOLUTION", "### END SOLUTION"),
    "hidden test": ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
}
# Lines too generic to identify a solution (they may appear anywhere).
TRIVIAL = re.compile(r"^(return\b.{0,12}|pass|else:|try:|\)|\]|\}|.{0,11}|for \w+ in range\(\w+\):)$")


# Cells tagged "given-code" hand students code on purpose (the planted-bug exercise gives a broken
# backward pass to repair); their lines are public even where the repaired solution repeats them.
GIVEN_TAG = "given-code"


def given_lines() -> set[str]:
    return {line.strip() for path in SOURCE_NOTEBOOKS for cell in read_nb(path).cells
            if GIVEN_TAG in cell.get("metadata", {}).get("tags", []) for line in cell.source.splitlines()}


def visible_test_lines() -> set[str]:
    """Lines of test cells outside hidden regions: shown to students by design."""
    begin, end = REGIONS["hidden test"]
    found = set()
    for path in SOURCE_NOTEBOOKS:
        for cell in read_nb(path).cells:
            if not cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
                continue
            inside = False
            for line in cell.source.splitlines():
                inside = (inside or begin in line) and end not in line
                if not inside:
                    found.add(line.strip())
    return found


def protected_lines(kind: str) -> dict[str, str]:
    begin, end = REGIONS[kind]
    found = {}
    # A hidden test may repeat a line of a visible check (a loop over unchanged inputs); only
    # lines that are hidden everywhere are secret. Solution lines get no such exemption.
    public = given_lines() | (visible_test_lines() if kind == "hidden test" else set())
    for path in SOURCE_NOTEBOOKS:
        for cell in read_nb(path).cells:
            inside = False
            for line in cell.source.splitlines():
                stripped = line.strip()
                if begin in stripped:
                    inside = True
                elif end in stripped:
                    inside = False
                elif (inside and stripped and not stripped.startswith("#") and not TRIVIAL.match(stripped)
                      and stripped not in public):
                    found[stripped] = f"{path.parent.name}/{path.name}"
    return found


def student_files():
    for folder in ("release", "helpers"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in {".ipynb", ".py", ".md", ".txt", ".json"}:
                yield path


def test_regions_found():
    assert protected_lines("solution"), "no solution lines found in source/"
    assert protected_lines("hidden test"), "no hidden-test lines found in source/"


@pytest.mark.parametrize("kind", sorted(REGIONS))
def test_nothing_leaks_to_students(kind):
    lines = protected_lines(kind)
    leaks = []
    for path in student_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.suffix == ".ipynb":
            # Compare against the decoded cell sources, not the JSON escaping.
            text = "\n".join(c.source for c in read_nb(path).cells)
        present = {ln.strip() for ln in text.splitlines()}
        for line, origin in lines.items():
            if line in present:
                leaks.append(f"{path.relative_to(ROOT)} holds a {kind} line of {origin}: {line!r}")
    assert not leaks, "\n".join(leaks)


def test_given_code_cells_hold_no_protected_region():
    for path in SOURCE_NOTEBOOKS:
        for cell in read_nb(path).cells:
            if GIVEN_TAG in cell.get("metadata", {}).get("tags", []):
                assert not any(b in cell.source for pair in REGIONS.values() for b in pair), path
                assert "nbgrader" not in cell.metadata or not cell.metadata["nbgrader"].get("solution"), path


def test_no_markers_in_release():
    for path in (ROOT / "release").rglob("*.ipynb"):
        text = path.read_text()
        for begin, end in REGIONS.values():
            assert begin not in text and end not in text, path


# Lecture files are named by their subject wherever a student or reader looks; the file names
# themselves live only in each source notebook's metadata.course.lectures, for instructors.
LECTURE_FILE = re.compile(r"\b\d{3}_(?:\*|[0-9a-f]{6,})\.txt\b")


def test_the_lecture_file_pattern_sees_both_spellings():
    assert LECTURE_FILE.search("the convention of `001_*.txt`)")
    assert LECTURE_FILE.search('SOURCE = "004_03dd2cdc7acdc09e.txt"')
    assert not LECTURE_FILE.search("the lecture on regularization, dropout and early stopping")


def _cell_texts(cell):
    yield cell.source
    for out in cell.get("outputs", []):
        yield out.get("text", "")
        for value in out.get("data", {}).values():
            yield "\n".join(map(str, value)) if isinstance(value, list) else str(value)
        yield out.get("evalue", "")


@pytest.mark.parametrize("folder", ["source", "release", "notebooks"])
def test_no_notebook_cell_names_a_lecture_file(folder):
    found = []
    for path in sorted((ROOT / folder).rglob("*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        for i, cell in enumerate(read_nb(path).cells):
            for text in _cell_texts(cell):
                found += [f"{path.relative_to(ROOT)} cell {i}: {m}" for m in LECTURE_FILE.findall(text)]
    assert not found, "name the lecture by its subject:\n" + "\n".join(found)


@pytest.mark.parametrize("folder", ["release", "notebooks"])
def test_students_and_readers_get_no_lecture_file_names_at_all(folder):
    """Not even in notebook metadata: the source's metadata.course stays with instructors."""
    found = [f"{path.relative_to(ROOT)}: {m}" for path in sorted((ROOT / folder).rglob("*.ipynb"))
             for m in LECTURE_FILE.findall(path.read_text(encoding="utf-8"))]
    assert not found, "\n".join(found)


def test_no_helpers_module_names_a_lecture_file():
    found = [f"{path.relative_to(ROOT)}: {m}" for path in sorted((ROOT / "helpers").rglob("*.py"))
             for m in LECTURE_FILE.findall(path.read_text(encoding="utf-8"))]
    assert not found, "students receive helpers/; name the lecture by its subject:\n" + "\n".join(found)


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=lambda p: p.parent.name)
def test_lecture_files_are_listed_in_the_notebook_metadata(path):
    lectures = read_nb(path).metadata.get("course", {}).get("lectures", {})
    assert lectures, f"{path.name}: metadata.course.lectures is missing"
    for subject, file_name in lectures.items():
        assert not LECTURE_FILE.search(subject), subject
        assert LECTURE_FILE.fullmatch(file_name), file_name
