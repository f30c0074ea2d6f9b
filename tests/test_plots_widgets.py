"""Unit tests of helpers.plots and helpers.widgets, run off-screen without a browser.

The backend is set to Agg here (``matplotlib.use("Agg")`` below), so this module does not depend
on MPLBACKEND or on conftest.py. Nothing here should create a pyplot figure: the helpers draw on
``matplotlib.figure.Figure`` objects that pyplot does not know about.
"""

from __future__ import annotations

import io
import struct
import warnings

import ipywidgets as ipw
import matplotlib as mpl
import numpy as np
import pytest
from conftest import forward_difference
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from helpers import gradcheck, plots
from helpers.widgets import StepSizeExplorer

mpl.use("Agg")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
EPS = float(np.finfo(float).eps)


pytestmark = pytest.mark.usefixtures("no_warnings_and_no_pyplot_figures")


@pytest.fixture
def restore_rc():
    with mpl.rc_context():
        yield


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def rc_matches_style() -> bool:
    for key, value in plots.STYLE.items():
        current = mpl.rcParams[key]
        if key == "axes.prop_cycle":
            if current.by_key()["color"] != list(plots.COLORS):
                return False
        elif key == "figure.figsize":
            if tuple(current) != tuple(value):
                return False
        elif current != value:
            return False
    return True


# --------------------------------------------------------------------------------------------
# Style.
# --------------------------------------------------------------------------------------------


def test_the_default_style_differs_from_the_course_style(restore_rc):
    mpl.rcdefaults()
    assert not rc_matches_style()  # otherwise the tests below would prove nothing
    assert mpl.rcParams["axes.spines.top"] is True


def test_use_course_style_applies_the_style(restore_rc):
    mpl.rcdefaults()
    plots.use_course_style()
    assert rc_matches_style()
    assert mpl.rcParams["axes.spines.top"] is False


def test_use_course_style_is_undone_by_rc_context():
    before = dict(mpl.rcParams)
    with mpl.rc_context():
        mpl.rcdefaults()
        plots.use_course_style()
        assert rc_matches_style()
    assert dict(mpl.rcParams) == before


def test_course_style_applies_inside_and_restores_after(restore_rc):
    mpl.rcdefaults()
    before = dict(mpl.rcParams)
    with plots.course_style():
        assert rc_matches_style()
    assert dict(mpl.rcParams) == before
    assert not rc_matches_style()


def test_course_style_restores_after_an_exception(restore_rc):
    mpl.rcdefaults()
    before = dict(mpl.rcParams)
    with pytest.raises(RuntimeError), plots.course_style():
        raise RuntimeError("inside the block")
    assert dict(mpl.rcParams) == before


def test_new_figure_is_styled_and_unknown_to_pyplot(restore_rc):
    mpl.rcdefaults()
    fig, ax = plots.new_figure(5.0, 3.0)
    assert isinstance(fig, Figure) and isinstance(ax, Axes) and ax.figure is fig
    assert tuple(fig.get_size_inches()) == (5.0, 3.0)
    assert fig.dpi == plots.STYLE["figure.dpi"]
    (line,) = ax.plot([0, 1], [1, 2])  # the colour cycle was fixed when the axes were made
    assert line.get_color() == plots.COLORS[0]
    assert not ax.spines["top"].get_visible()
    assert not rc_matches_style()  # the global style is untouched


# --------------------------------------------------------------------------------------------
# figure_png.
# --------------------------------------------------------------------------------------------


def test_figure_png_returns_png_bytes_without_pyplot():
    fig, ax = plots.new_figure(3.0, 2.0)
    ax.plot([0, 1, 2], [0, 1, 4])
    data = plots.figure_png(fig)
    assert isinstance(data, bytes)
    width, height = png_size(data)
    assert 50 < width <= 300 and 50 < height <= 200  # 3 x 2 inches at 100 dpi, bbox tight


def test_figure_png_is_reproducible():
    fig, ax = plots.new_figure(3.0, 2.0)
    ax.plot([0, 1, 2], [0, 1, 4])
    assert plots.figure_png(fig) == plots.figure_png(fig)


def test_figure_png_draws_once_and_crops_like_a_tight_savefig():
    fig, ax = plots.new_figure(4.0, 3.0)
    ax.plot([0, 1, 2], [0, 1, 4])
    ax.set_xlabel("a label reaching the bottom edge")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    tight = png_size(buf.getvalue())
    draws = []
    real_draw = fig.draw
    fig.draw = lambda renderer: (draws.append(1), real_draw(renderer))[1]
    data = plots.figure_png(fig)
    assert len(draws) == 1
    width, height = png_size(data)
    assert abs(width - tight[0]) <= 1 and abs(height - tight[1]) <= 1, ((width, height), tight)
    assert (width, height) != (400, 300)  # cropped, not the whole figure


def test_figure_png_of_a_plain_figure():
    fig = Figure(figsize=(2, 2))
    fig.add_subplot().plot([1, 2])
    assert plots.figure_png(fig).startswith(PNG_SIGNATURE)


# --------------------------------------------------------------------------------------------
# step_size_plot.
# --------------------------------------------------------------------------------------------

HS = np.logspace(-13, -1, 13)
ERRORS = {"centred": np.logspace(-3, -11, 13), "one-sided": np.linspace(1e-2, 1e-8, 13)}


def test_step_size_plot_draws_one_line_per_method_plus_guides():
    ax = plots.step_size_plot(HS, ERRORS)
    assert isinstance(ax, Axes)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.lines]
    assert labels[:2] == ["centred", "one-sided"]
    assert len(ax.lines) == len(ERRORS) + 3  # + round-off and two truncation guides
    assert any("eps/h" in label for label in labels) and any("h²" in label for label in labels)
    np.testing.assert_allclose(ax.lines[0].get_xdata(), HS)
    np.testing.assert_allclose(ax.lines[0].get_ydata(), ERRORS["centred"])
    np.testing.assert_allclose(ax.lines[2].get_ydata(), EPS / HS)  # round-off guide
    np.testing.assert_allclose(ax.lines[3].get_ydata(), HS)  # one-sided truncation guide
    np.testing.assert_allclose(ax.lines[4].get_ydata(), HS**2)  # centred truncation guide
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend_texts[:2] == ["centred", "one-sided"] and len(legend_texts) == 5
    assert ax.get_ylim() == pytest.approx((EPS / 10, 10))


def test_step_size_plot_marks_h_and_uses_the_given_axes():
    fig, ax = plots.new_figure()
    returned = plots.step_size_plot(HS, {"centred": ERRORS["centred"]}, h_mark=1e-5, ax=ax)
    assert returned is ax
    assert len(ax.lines) == 1 + 3 + 1  # method, three guides, the vertical mark
    assert list(ax.lines[-1].get_xdata()) == [1e-5, 1e-5]
    assert plots.figure_png(fig).startswith(PNG_SIGNATURE)


def test_step_size_plot_draws_zero_errors_at_eps():
    ax = plots.step_size_plot(HS, {"exact": np.zeros(13)})
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), EPS)


# --------------------------------------------------------------------------------------------
# StepSizeExplorer.
# --------------------------------------------------------------------------------------------

X = np.array([0.3, -1.2, 2.0])


def sin_sum(v):
    return float(np.sum(np.sin(v)))


METHODS = {"centred": gradcheck.numeric_grad, "one-sided": forward_difference}


def make_explorer():
    return StepSizeExplorer(METHODS, sin_sum, np.cos(X), X, hs=np.logspace(-13, -1, 13))


@pytest.fixture
def explorer():
    """A fresh explorer, for the tests that move its slider."""
    return make_explorer()


@pytest.fixture(scope="module")
def shared_explorer():
    """One explorer for the tests that only read it (each explorer renders a PNG: ~0.2 s)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return make_explorer()


def png(image: ipw.Image) -> bytes:
    return bytes(image.value)  # the widget holds a memoryview


def test_explorer_shows_a_png_and_a_readout_for_the_initial_h(explorer):
    assert explorer.image.format == "png"
    assert png(explorer.image).startswith(PNG_SIGNATURE)
    readout = explorer.readout.value
    assert "h = 1.0e-05" in readout
    assert "centred" in readout and "one-sided" in readout
    assert explorer.slider.value == pytest.approx(1e-5)


def test_explorer_slider_redraws_without_a_browser(explorer):
    image, readout = png(explorer.image), explorer.readout.value
    explorer.slider.value = 1e-9
    assert png(explorer.image).startswith(PNG_SIGNATURE)
    assert png(explorer.image) != image
    assert explorer.readout.value != readout
    assert "h = 1.0e-09" in explorer.readout.value
    shown = explorer.errors_at(1e-9)
    assert f"{shown['centred']:.2e}" in explorer.readout.value


def test_explorer_update_returns_the_errors_per_method(explorer):
    shown = explorer.update(1e-3)
    assert set(shown) == set(METHODS)
    for label, fd in METHODS.items():
        assert shown[label] == gradcheck.relative_error(fd(sin_sum, X, 1e-3), np.cos(X))
        assert f"{label}: {shown[label]:.2e}" in explorer.readout.value
    assert shown["centred"] < shown["one-sided"]  # second order beats first order at h = 1e-3


def test_explorer_errors_at_matches_relative_error(shared_explorer):
    explorer = shared_explorer
    for h in (1e-1, 1e-5, 1e-12):
        at_h = explorer.errors_at(h)
        assert set(at_h) == set(METHODS)
        for label, fd in METHODS.items():
            assert at_h[label] == gradcheck.relative_error(fd(sin_sum, X, h), np.cos(X))


def test_explorer_precomputes_the_curve_for_every_method(shared_explorer):
    explorer = shared_explorer
    for label, fd in METHODS.items():
        curve = explorer.errors[label]
        assert curve.shape == explorer.hs.shape == (13,)
        np.testing.assert_array_equal(
            curve, gradcheck.step_size_errors(fd, sin_sum, np.cos(X), X, explorer.hs)
        )


def test_explorer_default_steps_and_slider_range():
    single = StepSizeExplorer({"centred": gradcheck.numeric_grad}, sin_sum, np.cos(X), X, h=1e-4)
    assert single.hs.shape == (49,)
    assert single.hs[0] == pytest.approx(1e-13) and single.hs[-1] == pytest.approx(1e-1)
    assert (single.slider.min, single.slider.max, single.slider.base) == (-13, -1, 10)
    assert "h = 1.0e-04" in single.readout.value


def test_explorer_ui_and_notebook_display(shared_explorer):
    explorer = shared_explorer
    assert isinstance(explorer.ui, ipw.VBox)
    assert list(explorer.ui.children) == [explorer.slider, explorer.readout, explorer.image]
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == explorer.ui.model_id


# --- plots for training and the network drawing --------------------------------------------------


def test_loss_curve_plot_draws_each_curve_on_a_log_scale():
    fig, ax = plots.new_figure()
    out = plots.loss_curve_plot({"a": [1.0, 0.5, 0.25], "b": [2.0, 1.0]}, ax=ax)
    assert out is ax and ax.get_yscale() == "log"
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["a"].get_xdata()) == [1, 2, 3] and list(lines["b"].get_ydata()) == [2.0, 1.0]
    png_size(plots.figure_png(fig))


def test_loss_curve_plot_accepts_one_sequence():
    _, ax = plots.new_figure()
    plots.loss_curve_plot([3.0, 2.0, 1.0], ax=ax, log=False)
    assert ax.get_yscale() == "linear" and ax.get_lines()[0].get_label() == "training loss"


def test_decision_boundary_plot_evaluates_the_classifier_on_a_grid_covering_the_data():
    X = np.array([[-1.0, 0.0, 2.0], [0.5, -1.0, 1.0]])
    Y = np.array([[0.0, 1.0, 1.0]])
    seen = []

    def predict(P):
        seen.append(P.shape)
        return 1.0 / (1.0 + np.exp(-P[0:1]))

    fig, ax = plots.new_figure()
    plots.decision_boundary_plot(predict, X, Y, ax=ax, resolution=50, margin=0.5)
    assert seen == [(2, 2500)]
    x0, x1 = ax.get_xlim()
    assert x0 <= -1.5 and x1 >= 2.5
    assert len(ax.collections) >= 3  # filled contours, the 0.5 line, two scatter sets
    png_size(plots.figure_png(fig))


def test_decision_boundary_plot_refuses_points_that_are_not_2d_columns():
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        plots.decision_boundary_plot(lambda P: P[0], np.zeros((3, 4)), np.zeros((1, 4)))


def test_network_diagram_places_units_and_labels():
    fig, ax = plots.new_figure()
    plots.network_diagram([("i1", "i2"), ("h1", "h2", "h3"), ("o",)],
                          node_text={"h2": "out=0.5"}, edge_text={("i1", "h1"): "w=0.1"},
                          highlight=["h2", ("i1", "h1")], ax=ax, title="net")
    texts = [t.get_text() for t in ax.texts]
    for expected in ("i1", "i2", "h1", "h2", "h3", "o", "out=0.5", "w=0.1"):
        assert expected in texts
    assert len(ax.get_lines()) == 2 * 3 + 3 * 1  # one line per weight
    assert ax.get_title() == "net"
    png_size(plots.figure_png(fig))


# --- BackpropStepper --------------------------------------------------------------------------


def _stepper_inputs():
    x, target = np.array([0.05, 0.10]), np.array([0.01, 0.99])
    W1, W2 = np.array([[0.15, 0.20], [0.25, 0.30]]), np.array([[0.40, 0.45], [0.50, 0.55]])
    forward = {"net_h": np.array([0.3775, 0.3925]), "out_h": np.array([0.5933, 0.5969]),
               "net_o": np.array([1.1059, 1.2249]), "out_o": np.array([0.7514, 0.7729])}
    grads = (np.array([[1e-4, 2e-4], [3e-4, 4e-4]]), np.array([[0.08, 0.081], [-0.02, -0.021]]))
    updated = (W1 - 0.5 * grads[0], W2 - 0.5 * grads[1])
    return x, target, W1, W2, forward, (np.array([0.2748, 0.0236]), 0.2984), grads, updated


def test_backprop_stepper_reveals_one_quantity_per_step():
    from helpers.widgets import BackpropStepper

    stepper = BackpropStepper(*_stepper_inputs())
    assert stepper.slider.max == len(stepper.steps) - 1 >= 8
    first, last = stepper.steps[0], stepper.steps[-1]
    assert "net" not in " ".join(first["nodes"].values())
    assert any("0.3775" in text for text in stepper.steps[1]["nodes"].values())
    assert any("w5: dE=0.08" in text for text in stepper.steps[6]["edges"].values())
    assert any("w1: dE=0.0001" in text for text in stepper.steps[7]["edges"].values())
    assert any(text.startswith("new w5=0.36") for text in last["edges"].values())
    for earlier, later in zip(stepper.steps, stepper.steps[1:], strict=False):
        assert set(earlier["nodes"]) <= set(later["nodes"])


def test_backprop_stepper_slider_redraws():
    from helpers.widgets import BackpropStepper

    stepper = BackpropStepper(*_stepper_inputs())
    first_image = stepper.image.value
    stepper.slider.value = 5
    assert stepper.image.value != first_image and "step 5" in stepper.readout.value
    assert "E = sum" in stepper.readout.value
    png_size(stepper.image.value)
    with pytest.raises(ValueError, match="step"):
        stepper.figure(len(stepper.steps))
    assert isinstance(stepper.ui, ipw.VBox)


def test_backprop_stepper_refuses_wrong_shapes():
    from helpers.widgets import BackpropStepper

    args = list(_stepper_inputs())
    args[6] = (np.zeros((2, 3)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"dW1.*\(2, 3\)"):
        BackpropStepper(*args)


# --- regularization: weight paths, train/validation curves, the lambda explorer ------------------


def test_weight_paths_plot_draws_one_line_per_weight():
    fig, ax = plots.new_figure()
    lams = np.logspace(-3, 1, 5)
    plots.weight_paths_plot(lams, np.outer(1 / (1 + lams), [1.0, -0.5, 0.2]), ax=ax, title="L2")
    assert len([ln for ln in ax.get_lines() if ln.get_label().startswith("w")]) == 3
    assert ax.get_xscale() == "log" and ax.get_title() == "L2"
    png_size(plots.figure_png(fig))
    with pytest.raises(ValueError, match=r"\(5, n\)"):
        plots.weight_paths_plot(lams, np.zeros((4, 3)))


def test_train_val_plot_marks_stop_and_best():
    fig, ax = plots.new_figure()
    plots.train_val_plot([3, 2, 1, 0.5], [3, 2, 2.5, 3], steps=[0, 10, 20, 30], ax=ax, stop=3, best=1)
    labels = [ln.get_label() for ln in ax.get_lines()]
    assert "best (kept): 10" in labels and "stopped: 30" in labels
    png_size(plots.figure_png(fig))
    with pytest.raises(ValueError, match="must match"):
        plots.train_val_plot([1, 2], [1, 2, 3])


def test_ridge_fit_interpolates_without_penalty_and_shrinks_with_it():
    from helpers.widgets import polynomial_features, ridge_fit

    x = np.linspace(-1, 1, 6)
    y = 1.0 - 2.0 * x + 0.5 * x**3
    w = ridge_fit(x, y, 3, 0.0)
    assert np.allclose(w, [1.0, -2.0, 0.0, 0.5])
    assert polynomial_features(x, 3).shape == (4, 6)
    norms = [np.linalg.norm(ridge_fit(x, y, 3, lam)[1:]) for lam in (1e-3, 1e-1, 10.0)]
    assert norms[0] > norms[1] > norms[2]


def test_regularization_explorer_shows_overfitting_and_its_cure():
    from helpers import data
    from helpers.widgets import RegularizationExplorer

    X_t, Y_t = data.noisy_sine(15, np.random.default_rng(1))
    X_v, Y_v = data.noisy_sine(100, np.random.default_rng(2))
    explorer = RegularizationExplorer(X_t, Y_t, X_v, Y_v, degree=12)
    train_tiny, val_tiny = explorer.errors(1e-10)
    train_mid, val_mid = explorer.errors(1e-4)
    assert train_tiny < train_mid and val_tiny > 2 * val_mid  # over-fitting, then cured
    first = explorer.image.value
    explorer.slider.value = 1e-4
    assert explorer.image.value != first and "1.0e-04" in explorer.readout.value
    png_size(explorer.image.value)
    assert np.all(np.diff(explorer.train_curve) > -1e-9)  # more penalty never fits training better


def test_regularization_explorer_refuses_mismatched_data():
    from helpers.widgets import RegularizationExplorer

    with pytest.raises(ValueError, match="same number"):
        RegularizationExplorer(np.zeros((1, 5)), np.zeros((1, 4)), np.zeros((1, 3)), np.zeros((1, 3)))


# --- bad values: one line naming what is wrong with the values, never a library warning ----------

BAD_PLOTS = {
    "negative-loss-on-log-axis": (lambda: plots.loss_curve_plot({"2-16-16-1 network": [-0.7, -0.5, -0.4]}),
                                  "no value above 0"),
    "nan-and-inf-loss": (lambda: plots.loss_curve_plot([0.7, np.nan, np.inf]), "1 nan, 1 inf"),
    "negative-validation-loss": (lambda: plots.train_val_plot([1.0, 0.5, 0.0], [1.0, -1.0, 0.5]),
                                 "1 negative values"),
    "negative-lambda": (lambda: plots.weight_paths_plot([-1.0, 1.0], np.ones((2, 2))),
                        "'lams' has 1 negative values"),
    "nan-probabilities": (lambda: plots.decision_boundary_plot(
        lambda P: np.full(P.shape[1], np.nan), np.random.default_rng(0).normal(size=(2, 8)),
        np.arange(8) % 2, resolution=20), "400 nan"),
    "probabilities-outside-0-1": (lambda: plots.decision_boundary_plot(
        lambda P: 3.0 * np.ones((1, P.shape[1])), np.random.default_rng(0).normal(size=(2, 8)),
        np.arange(8) % 2, resolution=20), "400 values outside [0, 1]"),
    "nan-step-size-errors": (lambda: plots.step_size_plot([1e-6, 1e-4], {"mine": [np.nan, 1e-3]}),
                             "1 nan"),
}


@pytest.mark.parametrize("case", sorted(BAD_PLOTS))
def test_a_plot_of_bad_values_says_so_in_one_line_without_warnings(capsys, case):
    draw, words = BAD_PLOTS[case]
    ax = draw()  # the autouse fixture turns any warning into an error
    png = plots.figure_png(ax.figure)  # drawing is where matplotlib warns about what it cannot draw
    assert png.startswith(PNG_SIGNATURE)
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 1 and words in lines[0], out
    assert "helpers" not in out and "Warning" not in out


def test_a_plot_of_good_values_says_nothing(capsys):
    plots.figure_png(plots.loss_curve_plot([0.7, 0.5, 0.0]).figure)  # a loss may reach 0
    plots.figure_png(plots.train_val_plot([1.0, 0.5], [1.0, 0.7]).figure)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("draw", "words"),
    [(lambda: plots.decision_boundary_plot(lambda P: np.ones((2, P.shape[1])), np.zeros((2, 4)),
                                           np.arange(4) % 2, resolution=10),
      "returned shape (2, 100); it should return one probability per point"),
     (lambda: plots.loss_curve_plot([[0.5, 0.4], [0.3, 0.2]]), "got shape (2, 2)"),
     (lambda: StepSizeExplorer({"mine": lambda f, x, h: np.zeros(3)}, lambda v: float(np.sum(v**2)),
                               [2.0, 4.0], [1.0, 2.0], hs=[1e-4]),
      "'mine' returned a gradient that cannot be compared with the exact one of shape (2,)")],
    ids=["predict-shape", "loss-shape", "explorer-gradient-shape"],
)
def test_values_of_the_wrong_shape_are_one_clear_error(draw, words):
    with pytest.raises(plots.BadValues) as info:
        draw()
    assert words in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, ValueError)  # what callers caught before
