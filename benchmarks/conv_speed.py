"""Speed of topic 07's convolution: the plain loop, the reference solution, and NumPy's einsum.

On the lecture's batch (100 x 3 x 64 x 64, 2 filters of 5 x 5, stride 2, float64) it runs, in
one process, the notebook's loop version (the given `conv2d_loop`), the reference solution's
`conv2d_forward` (both read from the source notebook, solution markers dropped as `course
build` drops them) and the NumPy baseline: `np.einsum` over
`np.lib.stride_tricks.sliding_window_view`, with and without `optimize`, the faster of the two
counting. It prints the times, their ratios and whether each target is met: the reference at
least 100x faster than the loop and no slower than the baseline. It exits non-zero only when
the three disagree by more than 1e-10 (a wrong result); a missed speed target is reported, not
an error. Times are the best of several runs (the loop runs once); compare ratios, not seconds,
on a shared machine.

    python benchmarks/conv_speed.py [REPEATS]     (default 7)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from grader.build import SOLUTION_MARKERS
from helpers import examples

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "source" / "07_cnn_shapes" / "cnn_shapes.ipynb"
LOOP_TARGET, BASELINE_TARGET, TOLERANCE = 100.0, 1.0, 1e-10


def notebook_function(grade_id: str, name: str):
    """The function ``name`` defined by the cell ``grade_id`` of the source notebook."""
    for cell in nbformat.read(str(NOTEBOOK), as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            code = "\n".join(ln for ln in cell.source.splitlines() if ln.strip() not in SOLUTION_MARKERS)
            namespace = {"np": np}
            exec(compile(code, f"{NOTEBOOK.name}:{grade_id}", "exec"), namespace)
            return namespace[name]
    raise SystemExit(f"no cell {grade_id!r} in {NOTEBOOK}")


def einsum_conv(x, w, b, stride=1, pad=0, optimize=False):
    """The one-line NumPy baseline: every window as a view, contracted with the filters."""
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x
    windows = sliding_window_view(xp, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", windows, w, optimize=optimize) + b[None, :, None, None]


def best_times(candidates: dict, repeats: int, *args, **kwargs) -> tuple[dict, dict]:
    """Best time and result of each function; the candidates take turns, so a burst of load on
    the machine slows them all alike instead of one of them."""
    best = {name: float("inf") for name in candidates}
    results = {}
    for _ in range(repeats):
        for name, func in candidates.items():
            start = time.perf_counter()
            results[name] = func(*args, **kwargs)
            best[name] = min(best[name], time.perf_counter() - start)
    return best, results


def main() -> int:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    rng = np.random.default_rng(0)
    x = rng.normal(size=examples.CONV_INPUT_SHAPE)
    w, b = rng.normal(size=(2, 3, 5, 5)), rng.normal(size=2)
    loop = notebook_function("given-conv2d_loop", "conv2d_loop")
    reference = notebook_function("conv2d_forward", "conv2d_forward")

    start = time.perf_counter()
    out_loop = loop(x, w, b, stride=2)
    t_loop = time.perf_counter() - start
    times, outs = best_times({
        "reference": reference,
        "einsum": einsum_conv,
        "einsum optimize": lambda *a, **k: einsum_conv(*a, optimize=True, **k),
    }, repeats, x, w, b, stride=2)
    t_ref, t_plain, t_opt = times["reference"], times["einsum"], times["einsum optimize"]
    out_ref, out_plain, out_opt = outs["reference"], outs["einsum"], outs["einsum optimize"]
    t_base = min(t_plain, t_opt)

    worst = max(float(np.abs(a - out_loop).max()) for a in (out_ref, out_plain, out_opt))
    print(f"batch {x.shape}, w {w.shape}, stride 2, float64; output {out_ref.shape}")
    print(f"loop (conv2d_loop)          {1e3 * t_loop:9.1f} ms")
    print(f"reference conv2d_forward    {1e3 * t_ref:9.2f} ms   {t_loop / t_ref:6.0f}x faster than the loop")
    print(f"einsum baseline             {1e3 * t_plain:9.2f} ms   (optimize=True: {1e3 * t_opt:.2f} ms)")
    print(f"reference against the faster baseline: {t_base / t_ref:.2f}x "
          f"(above 1 means the reference is faster)")
    print(f"largest difference between the three: {worst:.1e}")
    speedup, against_base = t_loop / t_ref, t_base / t_ref
    print(f"target: reference >= {LOOP_TARGET:.0f}x faster than the loop: {speedup:.0f}x, "
          f"{'met' if speedup >= LOOP_TARGET else 'not met'}")
    print(f"target: reference no slower than the einsum baseline (>= {BASELINE_TARGET:.2f}x): "
          f"{against_base:.2f}x, {'met' if against_base >= BASELINE_TARGET else 'not met'}")
    # A missed speed target is a figure to report, not a failure of `make benchmark`; three
    # implementations that disagree are.
    if not worst <= TOLERANCE:                             # NaN counts as a disagreement
        print(f"FAILED: the three disagree by {worst:.1e} > {TOLERANCE:g}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
