"""Time every source notebook top to bottom, against an empty notebook run in the same process.

The target is under 10 s per notebook on a 2-core machine. The ratio to the empty notebook
(kernel start-up and shutdown only) shows how much the notebook itself costs, independent of
how fast this machine starts kernels.
"""

from __future__ import annotations

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 10.0


def run(nb, folder: Path) -> float:
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
    return time.perf_counter() - start


def main() -> int:
    baseline = run(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")]), ROOT)
    print(f"baseline (empty notebook): {baseline:.2f} s")
    over = 0
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        seconds = run(nbformat.read(str(path), as_version=4), path.parent)
        flag = "" if seconds < TARGET_SECONDS else f"  OVER the {TARGET_SECONDS:.0f} s target"
        over += bool(flag)
        print(f"{path.parent.name}/{path.name}: {seconds:.2f} s, "
              f"{seconds / baseline:.1f}x the empty notebook{flag}")
    return 1 if over else 0


if __name__ == "__main__":
    raise SystemExit(main())
