"""Loaded into every kernel that nbgrader starts for this course (see nbgrader_config.py).

nbgrader gives a test cell zero points for any output on stderr, and Python prints warnings to
stderr: a correct answer whose library emits a harmless DeprecationWarning would score 0. Here
warnings are printed to stdout instead, marked as warnings; they still show, and a wrong answer
still fails its checks.

Its ``KERNEL_ARGUMENTS`` also have grading kernels draw each figure once: IPython's inline backend
crops figures to their content by default (``bbox_inches="tight"``), which draws every figure
twice (a fifth of a correct notebook's cell time in this course). Graded figures keep their
margins; nothing graded depends on them.
"""

from __future__ import annotations

import sys
import warnings


def _show_on_stdout(message, category, filename, lineno, file=None, line=None):
    sys.stdout.write(f"warning (not an error): {category.__name__}: {message}\n")


def install() -> None:
    warnings.showwarning = _show_on_stdout


# Kernel command-line arguments: this module loaded before any notebook code runs, and figures
# drawn once (see above).
KERNEL_ARGUMENTS = ["--IPKernelApp.exec_lines="
                    "__import__('grader.containment.kernel_guard').containment.kernel_guard.install()",
                    "--InlineBackend.print_figure_kwargs={'bbox_inches': None}"]
