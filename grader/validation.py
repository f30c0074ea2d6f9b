"""`course validate`: run a notebook's tests the way the grader will, and say what fails.

Thin over nbgrader's ``Validator``; adds what students need from a command line: every test cell
passed or failed with its points, the points the visible tests would earn, each failing test named
by its grade id with the line of the test that failed and the check's own message, hidden tests
reduced to one line, and an exit status that is non-zero when anything fails (nbgrader's
``validate`` exits 0 either way). Visible and hidden failures are told apart by the failing line's
number against the hidden block's line range (``grader.preprocessors.failed_in_hidden``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.validator import Validator
from traitlets.config import Config

from grader.preprocessors import (
    ANSI,
    HIDDEN_BEGIN,
    failed_in_hidden,
    failing_line,
    hidden_failure_line,
)


@dataclass
class TestCell:
    """One test cell's outcome."""

    grade_id: str
    points: float
    passed: bool
    hidden: bool  # the cell has hidden tests (an instructor's notebook)


@dataclass
class Report:
    """Validation of one notebook."""

    path: Path
    failed: list[tuple[str, str]] = field(default_factory=list)  # (test name, message)
    changed: list[str] = field(default_factory=list)  # test cells whose code was edited
    error: str = ""  # the notebook could not be validated at all
    tests: list[TestCell] = field(default_factory=list)  # every test cell, in notebook order

    @property
    def ok(self) -> bool:
        return not (self.failed or self.changed or self.error)


def _cell_names(nb) -> dict[str, str]:
    """Stripped cell source -> a readable name (grade id and points for test cells)."""
    names = {}
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            points = meta.get("points", 0)
            unit = "point" if points == 1 else "points"
            names[cell.source.strip()] = f"{meta.get('grade_id', '?')} ({points:g} {unit})"
        elif meta.get("solution"):
            names[cell.source.strip()] = f"{meta.get('grade_id', '?')} (your answer)"
    return names


def _test_line(source: str, raw_error: str) -> str:
    """``test line 16: <that line>`` for a failure in a visible line of the cell, else ""."""
    number = failing_line(raw_error)
    lines = source.splitlines()
    if number is None or not 1 <= number <= len(lines) or failed_in_hidden(source, raw_error):
        return ""
    return f"test line {number}: {lines[number - 1].strip()}"


def _message(source: str, raw_error: str) -> str:
    """The part of a failure a student needs: the check's message, or one line for a hidden test."""
    text = ANSI.sub("", raw_error or "").strip()
    last_error = ""
    for match in re.finditer(r"^(\w+(?:Error|Exception|Exit|Interrupt)\w*): ?(.*)$", text, re.MULTILINE):
        last_error = text[match.start():]
    if failed_in_hidden(source, text):
        name, _, rest = last_error.partition(": ")
        return hidden_failure_line(name, rest)
    if last_error.rstrip(": ") == "NotImplementedError":
        return "not implemented yet (the function still raises NotImplementedError)"
    if last_error:
        return last_error
    return text.splitlines()[-1] if text else "failed"


def validate_notebook(path: Path, config: Config | None = None) -> Report:
    """Run every cell of ``path`` in a fresh kernel and report failing tests."""
    path = Path(path)
    report = Report(path)
    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file is reported, not raised
        report.error = f"cannot read {path.name} as a notebook: {type(err).__name__}: {err}"
        return report
    names = _cell_names(nb)
    sources = {cell.source.strip(): cell.source for cell in nb.cells}  # nbgrader strips them
    tests = {cell.source.strip() for cell in nb.cells
             if cell.get("metadata", {}).get("nbgrader", {}).get("grade")}
    validator = Validator(config=config or Config())
    try:
        results = validator.validate(str(path.resolve()))
    except Exception as err:  # noqa: BLE001
        report.error = f"validation could not run: {type(err).__name__}: {err}"
        return report
    for cell in results.get("type_changed", []):
        report.changed.append(f"a cell's type was changed: {cell['source'][:60]!r}")
    for cell in results.get("changed", []):
        report.changed.append(names.get(cell["source"], cell["source"][:60]))
    failed = set()
    for cell in results.get("failed", []):
        name = names.get(cell["source"], "a cell")
        source, raw = sources.get(cell["source"], cell["source"]), cell.get("raw_error", "")
        message = _message(source, raw)
        where = _test_line(source, raw) if cell["source"] in tests else ""
        report.failed.append((name, f"{where}\n{message}" if where else message))
        failed.add(cell["source"])
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            report.tests.append(TestCell(str(meta.get("grade_id", "?")), float(meta.get("points", 0)),
                                         cell.source.strip() not in failed, HIDDEN_BEGIN in cell.source))
    return report


def _summary(report: Report) -> list[str]:
    """Per test cell passed or failed with points, and the total the visible tests would earn."""
    if not report.tests or report.error or report.changed:
        return []
    width = max(len(t.grade_id) for t in report.tests)
    lines = [f"{report.path}:"]
    for t in report.tests:
        earned = t.points if t.passed else 0.0
        lines.append(f"  {'passed' if t.passed else 'failed'}  {t.grade_id:<{width}}  "
                     f"{earned:g}/{t.points:g} {'point' if t.points == 1 else 'points'}")
    earned = sum(t.points for t in report.tests if t.passed)
    total = sum(t.points for t in report.tests)
    which = "all the tests, hidden ones included" if any(t.hidden for t in report.tests) \
        else "the visible tests"
    lines.append(f"  {earned:g}/{total:g} points would be earned by {which}")
    return lines


def format_report(report: Report) -> str:
    lines = _summary(report)
    if report.failed and lines:
        lines.append("")
    if report.error:
        lines.append(f"{report.path}: {report.error}")
    for name in report.changed:
        lines.append(f"{report.path}: test cell edited, restore it from the release: {name}")
    for name, message in report.failed:
        indented = message.replace("\n", "\n    ")
        lines.append(f"{report.path}: FAILED {name}\n    {indented}")
    if report.ok:
        lines.append(f"{report.path}: all tests pass")
    return "\n".join(lines)
