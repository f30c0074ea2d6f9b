"""The CNN-shapes topic's helpers: the lecture's inputs and the shape calculator explorer."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers import examples
from helpers.widgets import ConvShapeExplorer


def size_formula(n, f, p=0, s=1):
    """A stand-in for the student's conv_output_size, written here so the test owns it."""
    if f > n + 2 * p:
        raise ValueError(f"the {f} x {f} window does not fit in {n + 2 * p} x {n + 2 * p}")
    return (n + 2 * p - f) // s + 1


def count_formula(f, c_in, c_out, bias=True):
    return (f * f * c_in + int(bias)) * c_out


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_lecture_inputs_of_the_topic_are_recorded_with_their_source():
    assert examples.CONV_INPUT_SHAPE == (100, 3, 64, 64)
    assert examples.CNN_TABLE_INPUT_HWC == (128, 128, 3)
    assert len(examples.CNN_TABLE_LAYERS) == 7 and examples.CNN_TABLE_LAYERS[-1] == "FC-3"
    # Named by subject (students never get the lecture files): the recitation and the midterm review.
    assert examples.source("CONV_INPUT_SHAPE") == examples.BACKPROP_SEED
    assert examples.source("CNN_TABLE_LAYERS") == examples.GRADIENTS_SEED


def test_explorer_shows_what_the_functions_it_is_given_return():
    explorer = ConvShapeExplorer(size_formula, count_formula)
    assert explorer.values() == {"n": 7, "f": 3, "p": 0, "s": 1, "window": 0}
    assert explorer.state(7, 3, 0, 1)["out"] == 5
    assert explorer.state(7, 3, 0, 1)["params"] == (9 * 3 + 1) * 2
    # A wrong formula is displayed as it is: the explorer computes no size of its own.
    wrong = ConvShapeExplorer(lambda n, f, p, s: n - f, count_formula)
    assert wrong.state(7, 3, 0, 1)["out"] == 4


def test_explorer_places_the_window_at_stride_multiples():
    explorer = ConvShapeExplorer(size_formula, count_formula)
    state = explorer.state(8, 3, 1, 2, window=5)  # output 4 x 4, cell (1, 1)
    assert state["out"] == 4 and state["cell"] == (1, 1) and state["corner"] == (2, 2)
    assert explorer.state(8, 3, 1, 2, window=16)["cell"] == (0, 0)  # wraps around
    last = explorer.state(7, 3, 0, 2, window=8)
    assert last["corner"] == (4, 4) and last["corner"][0] + 3 <= 7  # the last window still fits


def test_explorer_reports_a_window_that_does_not_fit():
    explorer = ConvShapeExplorer(size_formula, count_formula)
    state = explorer.state(3, 7, 0, 1)
    assert state["out"] is None and "does not fit" in state["error"]
    assert "no output" in explorer.update(3, 7, 0, 1)
    png_size(explorer.image.value)


@pytest.mark.parametrize("name", ["n", "f", "p", "s", "window"])
def test_every_slider_changes_the_drawing_and_the_readout(name):
    explorer = ConvShapeExplorer(size_formula, count_formula)
    image, text = explorer.image.value, explorer.readout.value
    explorer.sliders[name].value += 1
    assert explorer.image.value != image and explorer.readout.value != text
    assert f"{name} = {explorer.values()[name]}" in explorer.readout.value or name == "window"


def test_every_slider_sits_in_its_own_box_above_the_drawing():
    # The browser test moves the first slider of each box and watches that box's image and text.
    explorer = ConvShapeExplorer(size_formula, count_formula)
    box = explorer.ui
    for slider in explorer.sliders.values():
        assert box.children[0] is slider
        box = box.children[1]
    assert box.children == (explorer.readout, explorer.image)


def test_static_figure_shows_three_settings():
    explorer = ConvShapeExplorer(size_formula, count_formula)
    fig = explorer.static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[1] == "output 5 x 5" and titles[3] == "output 7 x 7" and titles[5] == "output 3 x 3"
    assert np.isfinite(fig.get_size_inches()).all()


def test_explorer_waits_for_functions_not_written_yet():
    def stub(*args):
        raise NotImplementedError()

    explorer = ConvShapeExplorer(stub, stub)
    assert "write conv_output_size" in explorer.readout.value
    png_size(explorer.image.value)
