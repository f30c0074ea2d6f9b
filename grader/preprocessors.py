"""nbgrader preprocessors that make grading output safe to keep and safe to show.

``LimitOutputBytes`` caps what an executed notebook keeps (nbgrader's ``LimitOutput`` counts
lines, so 10 MB printed on one line survive it). ``HideHiddenTests`` runs before feedback is
rendered: hidden-test code is removed from test cells, and the traceback of a failing hidden test
is replaced by one line saying what was checked.
"""

from __future__ import annotations

import json
import re

from nbformat import from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade
from traitlets import Integer, Unicode

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
TRUNCATED = "\n... output truncated by the grader ({} bytes over the limit of {} per {}) ...\n"


def _size(output) -> int:
    """Bytes an output takes in the notebook file."""
    return len(json.dumps(output, ensure_ascii=False).encode("utf-8"))


class LimitOutputBytes(NbGraderPreprocessor):
    """Cap outputs in bytes: per cell and per notebook, whatever the number of lines."""

    max_cell_bytes = Integer(100_000, help="bytes of output kept per cell").tag(config=True)
    max_notebook_bytes = Integer(1_000_000, help="bytes of output kept per notebook").tag(config=True)

    def preprocess(self, nb, resources):
        self._left = self.max_notebook_bytes
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code":
            return cell, resources
        budget = min(self.max_cell_bytes, self._left)
        kept, used, dropped = [], 0, 0
        for output in cell.outputs:
            size = _size(output)
            if used + size <= budget:
                kept.append(output)
                used += size
                continue
            room = budget - used
            if output.output_type == "stream" and room > 200:
                text = output.text.encode("utf-8")[: room - 200].decode("utf-8", errors="ignore")
                output.text = text
                kept.append(output)
                used += _size(output)
            dropped += size
        if dropped:
            scope = "cell" if budget == self.max_cell_bytes else "notebook"
            limit = self.max_cell_bytes if scope == "cell" else self.max_notebook_bytes
            note = {"output_type": "stream", "name": "stdout",
                    "text": TRUNCATED.format(dropped, limit, scope)}
            kept.append(from_dict(note))
            used += _size(note)
        cell.outputs = kept
        self._left = max(0, self._left - used)
        return cell, resources


def hidden_lines(source: str) -> list[str]:
    """Non-blank lines between the hidden-test markers of a test cell, stripped."""
    lines, inside = [], False
    for line in source.splitlines():
        if HIDDEN_BEGIN in line:
            inside = True
        elif HIDDEN_END in line:
            inside = False
        elif inside and line.strip():
            lines.append(line.strip())
    return lines


ARROW = re.compile(r"^\s*-+>\s*\d+")  # IPython's marker of the line that raised, "---> 40"


def failing_lines(traceback_text: str) -> list[str]:
    """The lines a traceback marks as the ones that raised (one per frame), ANSI codes removed."""
    return [ln for ln in ANSI.sub("", traceback_text).splitlines() if ARROW.match(ln)]


def failed_in_hidden(source: str, traceback_text: str) -> bool:
    """Whether the line that raised, in a test cell with this source, is a hidden-test line."""
    hidden = hidden_lines(source)
    return any(h in ln for ln in failing_lines(traceback_text) for h in hidden)


def hidden_failure_line(ename: str, evalue: str) -> str:
    """The one line a student sees for a failing hidden test."""
    what = (evalue or ename).strip().splitlines()[0] if (evalue or ename).strip() else ename
    return f"hidden test failed: {what}"


class HideHiddenTests(NbGraderPreprocessor):
    """Remove hidden tests from test cells, and reduce their failures to one line."""

    placeholder = Unicode("# (hidden tests: not shown)").tag(config=True)

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type != "code" or not is_grade(cell) or HIDDEN_BEGIN not in cell.source:
            return cell, resources
        hidden = hidden_lines(cell.source)
        for output in cell.outputs:
            if output.output_type != "error":
                continue
            frames = [ANSI.sub("", entry) for entry in output.get("traceback", [])]
            if failed_in_hidden(cell.source, "\n".join(frames)):
                line = hidden_failure_line(output.get("ename", ""), output.get("evalue", ""))
                output.traceback = [line]
                output.evalue = line
            else:  # a visible check failed: keep its traceback, minus any hidden line shown as context
                output.traceback = ["\n".join(ln for ln in frame.splitlines()
                                              if not any(h in ln for h in hidden)) for frame in frames]
        cell.source = cell.source.split(HIDDEN_BEGIN)[0].rstrip() + "\n\n" + self.placeholder
        return cell, resources
