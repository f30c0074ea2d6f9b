"""What `course build` pins so that two builds, on any machine, give the same bytes.

An executed notebook's outputs depend on more than its code: BLAS thread counts change the order
of floating-point sums (round-off such as ``6.8e-12`` against ``5.8e-12``), and so does the
processor: OpenBLAS picks its kernels by CPU (AVX-512 ones on recent Intel, AVX2 ones on AMD Zen
4, a last digit apart). matplotlib writes its version into every PNG (``Software`` chunk) and
reads a user's ``matplotlibrc`` (DPI, fonts), an ``MPLBACKEND`` left in the shell (``Agg`` under
pytest) keeps figures out of the outputs, IPython runs a user's startup files, string hashing
changes set order, and a timing is a timing.
``kernel_environment`` pins the first ones; cells tagged ``TIMING_TAG`` keep a fixed output.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import matplotlib
import nbformat

# Environment variables set in every kernel that executes an edition.
PINNED_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "PYTHONHASHSEED": "0",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    # matplotlib's own defaults, not the builder's ~/.config/matplotlib/matplotlibrc
    "MATPLOTLIBRC": str(Path(matplotlib.get_data_path()) / "matplotlibrc"),
    "MKL_CBWR": "COMPATIBLE",  # MKL's own switch for the same sums on every processor
}
if platform.machine().lower() in ("x86_64", "amd64"):
    # The kernels every x86-64 processor of the last ten years runs (AVX2 and FMA).
    PINNED_ENV["OPENBLAS_CORETYPE"] = "Haswell"
# The kernel's IPython profile (IPYTHONDIR): no user startup files; PNGs without the Software chunk.
KERNEL_CONFIG = """\
# Written by `course build` (grader.reproducible): the kernel that executes an edition.
c.InlineBackend.print_figure_kwargs = {"bbox_inches": "tight", "metadata": {"Software": None}}
"""
# A code cell with this tag prints measurements of the machine it runs on (timings): it runs, so
# that later cells have its variables, but the edition keeps TIMING_NOTE as its output.
TIMING_TAG = "timing"
TIMING_NOTE = ("(This cell measures times on the machine that runs it: run it to see yours. "
               "The saved edition shows no numbers, so that every build gives the same file.)\n")


def kernel_environment(ipython_dir: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a kernel executing an edition; writes its IPython profile under ``ipython_dir``."""
    profile = Path(ipython_dir) / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "ipython_kernel_config.py").write_text(KERNEL_CONFIG, encoding="utf-8")
    env = dict(os.environ if base is None else base)
    env.update(PINNED_ENV, IPYTHONDIR=str(ipython_dir))
    return env


def is_timing_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and TIMING_TAG in cell.get("metadata", {}).get("tags", [])


def fix_timing_outputs(nb) -> None:
    """Give every cell tagged ``TIMING_TAG`` the fixed note as its output (an error stays)."""
    for cell in nb.cells:
        if is_timing_cell(cell) and not any(o.get("output_type") == "error" for o in cell.outputs):
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=TIMING_NOTE)]
