"""The grader's layout: imports go one way, cli -> grading -> containment/recheck -> helpers."""

from __future__ import annotations

import ast

from conftest import ROOT

GRADER = ROOT / "grader"
# package -> packages/modules of grader it must never import
FORBIDDEN = {
    "containment": ("grader.cli", "grader.grading", "grader.course", "grader.preprocessors",
                    "grader.validation", "grader.build", "grader.recheck"),
    "recheck": ("grader.cli", "grader.grading", "grader.course", "grader.preprocessors",
                "grader.validation", "grader.build"),
}


def imported(path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return found


def test_subsystems_never_import_upwards():
    wrong = []
    for package, forbidden in FORBIDDEN.items():
        modules = sorted((GRADER / package).glob("*.py"))
        assert len(modules) >= 4, package
        for path in modules:
            for name in imported(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    wrong.append(f"{package}/{path.name} imports {name}")
    assert not wrong, wrong


def test_nothing_below_the_cli_imports_it():
    for path in GRADER.rglob("*.py"):
        if path.name != "cli.py":
            assert not any(n.startswith("grader.cli") for n in imported(path)), path


def test_each_subsystem_says_what_it_guarantees():
    for package in FORBIDDEN:
        doc = ast.get_docstring(ast.parse((GRADER / package / "__init__.py").read_text()))
        assert doc and "Guarantees" in doc and "Imports go one way" in doc, package
