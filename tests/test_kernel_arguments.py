"""The grading kernel's command-line settings (grader.containment.kernel_guard.KERNEL_ARGUMENTS),
seen in a real kernel: warnings on stdout, figures drawn once and whole."""

from __future__ import annotations

import base64
import io

import nbformat
from nbclient import NotebookClient
from PIL import Image

from grader.containment.kernel_guard import KERNEL_ARGUMENTS

CELL = """\
%matplotlib inline
import warnings
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(4, 3), dpi=50)
ax.plot([0, 1], [0, 1])
plt.show()
warnings.warn("harmless", DeprecationWarning)
"""


def test_a_grading_kernel_shows_whole_figures_and_warnings_on_stdout(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CELL)])
    NotebookClient(nb, timeout=60, extra_arguments=KERNEL_ARGUMENTS,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = nb.cells[0].outputs
    pngs = [o.data["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) == 1, outputs
    # Uncropped: the whole 4 x 3 inch figure at 50 dpi (the tight crop would make it smaller).
    assert Image.open(io.BytesIO(base64.b64decode(pngs[0]))).size == (200, 150)
    streams = {o.name: o.text for o in outputs if o.output_type == "stream"}
    assert "stderr" not in streams, streams
    assert "warning (not an error): DeprecationWarning: harmless" in streams.get("stdout", "")
