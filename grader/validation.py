"""`course validate`: run a notebook's tests the way the grader will, and say what fails.

Thin over nbgrader's ``Validator``; adds what students need from a command line: each failing
test named by its grade id with the check's own message, hidden tests reduced to one line, and an
exit status that is non-zero when anything fails (nbgrader's ``validate`` exits 0 either way).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.validator import Validator
from traitlets.config import Config

from grader.preprocessors import ANSI, failed_in_hidden, hidden_failure_line


@dataclass
class Report:
    """Validation of one notebook."""

    path: Path
    failed: list[tuple[str, str]] = field(default_factory=list)  # (test name, message)
    changed: list[str] = field(default_factory=list)  # test cells whose code was edited
    error: str = ""  # the notebook could not be validated at all

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
    for cell in results.get("failed", []):
        name = names.get(cell["source"], "a cell")
        report.failed.append((name, _message(cell["source"], cell.get("raw_error", ""))))
    return report


def format_report(report: Report) -> str:
    lines = []
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
