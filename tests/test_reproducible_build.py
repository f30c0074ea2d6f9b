"""Reproducible builds: two `course build` runs give the same bytes, and `--check` compares them.

What varies between builds is pinned in grader.reproducible; the checks on the real course are
static (the committed notebooks/ and source/), and one tiny course is built twice end to end.
"""

from __future__ import annotations

import base64
import platform
import re
import shutil

import nbformat
import pytest
from conftest import ROOT, SELF_STUDY_NOTEBOOKS, SOURCE_NOTEBOOKS, nb_id, read_nb, run_course

from grader.build import stale_files
from grader.course import Course
from grader.reproducible import TIMING_NOTE, TIMING_TAG, is_timing_cell

MEASURES_TIME = re.compile(r"\btime\.(perf_counter|time|monotonic|process_time)\(|\btimeit\b")


def _pngs(nb):
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            png = out.get("data", {}).get("image/png")
            if png:
                yield base64.b64decode(png)


def _text_chunks(png: bytes) -> list[bytes]:
    """Keywords of the tEXt/iTXt/zTXt chunks of a PNG."""
    found, at = [], 8
    while at < len(png):
        length = int.from_bytes(png[at:at + 4], "big")
        kind = png[at + 4:at + 8]
        if kind in (b"tEXt", b"iTXt", b"zTXt"):
            found.append(png[at + 8:at + 8 + length].split(b"\0", 1)[0])
        at += 12 + length
    return found


def test_the_chunk_reader_sees_matplotlibs_software_chunk():
    import io

    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(1, 1))
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    assert _text_chunks(buf.getvalue()) == [b"Software"]


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=nb_id)
def test_every_cell_that_measures_time_is_tagged_timing(path):
    untagged = [i for i, c in enumerate(read_nb(path).cells)
                if c.cell_type == "code" and MEASURES_TIME.search(c.source) and not is_timing_cell(c)]
    assert not untagged, f"cells {untagged} print timings: tag them {TIMING_TAG!r} (grader.reproducible)"


@pytest.mark.parametrize("path", SELF_STUDY_NOTEBOOKS, ids=nb_id)
def test_the_committed_edition_holds_nothing_that_varies(path):
    """PNGs without version metadata; timing cells with the fixed note, not this machine's numbers."""
    nb = read_nb(path)
    tagged = [_text_chunks(png) for png in _pngs(nb) if _text_chunks(png)]
    assert not tagged, f"{len(tagged)} PNGs carry text metadata: {tagged[0]} (rebuild: course build)"
    for cell in nb.cells:
        if is_timing_cell(cell):
            assert [o.get("text") for o in cell.outputs] == [TIMING_NOTE]


TINY = [
    "import os, sys\nimport numpy as np\nimport matplotlib.pyplot as plt",
    # Pinned environment, and what it pins: a hash seed (set order), the inline backend.
    "print(os.environ['OPENBLAS_NUM_THREADS'], os.environ['OMP_NUM_THREADS'], hash('course'),\n"
    "      os.environ.get('OPENBLAS_CORETYPE'))\n"
    "print(plt.matplotlib.get_backend())",
    "x = np.linspace(0, 1, 50)\nplt.plot(x, np.sin(7 * x))\nplt.show()",
    "import time\nstart = time.perf_counter()\nprint(f'{time.perf_counter() - start:.9f} s')",
]


@pytest.fixture(scope="module")
def tiny_course(tmp_path_factory):
    """A one-notebook course, built once (executed)."""
    root = tmp_path_factory.mktemp("tiny") / "course"
    (root / "source" / "hw").mkdir(parents=True)
    shutil.copy2(ROOT / "nbgrader_config.py", root / "nbgrader_config.py")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Tiny\n\n$x^2$")]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in TINY]
    nb.cells[-1].metadata["tags"] = [TIMING_TAG]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(root / "source" / "hw" / "hw.ipynb"))
    run_course("--root", str(root), "build", check=True)
    return root


def test_two_builds_give_the_same_bytes_and_check_compares_outputs(tiny_course):
    edition = tiny_course / "notebooks" / "hw" / "hw.ipynb"
    nb = read_nb(edition)
    texts = ["".join(o.get("text", "") for o in c.outputs) for c in nb.cells if c.cell_type == "code"]
    assert texts[1].split()[:2] == ["1", "1"] and "matplotlib_inline" in texts[1]
    # The same BLAS kernels on every x86-64 processor (AVX-512 ones round sums differently).
    x86 = platform.machine().lower() in ("x86_64", "amd64")
    assert texts[1].split()[3] == ("Haswell" if x86 else "None")
    assert texts[3] == TIMING_NOTE
    pngs = list(_pngs(nb))
    assert len(pngs) == 1 and _text_chunks(pngs[0]) == []
    course = Course(tiny_course)
    # A second build, executed, compared byte for byte with the first (what `--check` does).
    assert stale_files(course) == []
    # An output changed by hand: the check sees it; without executing it compares sources only.
    nb.cells[2].outputs[0]["text"] = "1 1 0\nagg\n"
    nbformat.write(nb, str(edition))
    assert stale_files(course) == ["notebooks/hw/hw.ipynb"]
    assert stale_files(course, run=False) == []
