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
TRIVIAL = re.compile(r"^(return\b.{0,12}|pass|else:|try:|\)|\]|\}|.{0,11})$")


def protected_lines(kind: str) -> dict[str, str]:
    begin, end = REGIONS[kind]
    found = {}
    for path in SOURCE_NOTEBOOKS:
        for cell in read_nb(path).cells:
            inside = False
            for line in cell.source.splitlines():
                stripped = line.strip()
                if begin in stripped:
                    inside = True
                elif end in stripped:
                    inside = False
                elif inside and stripped and not stripped.startswith("#") and not TRIVIAL.match(stripped):
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


def test_no_markers_in_release():
    for path in (ROOT / "release").rglob("*.ipynb"):
        text = path.read_text()
        for begin, end in REGIONS.values():
            assert begin not in text and end not in text, path
