"""Unit tests of what topic 06 adds to helpers: surfaces, trajectory_plot, OptimizerExplorer."""

from __future__ import annotations

import warnings

import matplotlib as mpl
import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers import gradcheck, plots, surfaces
from helpers.widgets import Explorer, OptimizerExplorer

mpl.use("Agg")


pytestmark = pytest.mark.usefixtures("no_warnings_and_no_pyplot_figures")


SURFACES = [surfaces.ill_conditioned_quadratic(), surfaces.ill_conditioned_quadratic(2.0, 50.0),
            surfaces.rosenbrock(), surfaces.rosenbrock(0.5, 10.0)]


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_gradients_agree_with_finite_differences(surface):
    rng = np.random.default_rng(0)
    for _ in range(5):
        w = rng.uniform(-2, 2, size=2)
        numeric = gradcheck.numeric_grad(lambda p: float(surface.f(p)), w)
        assert gradcheck.relative_error(surface.grad(w), numeric) < 1e-7


@pytest.mark.parametrize("surface", SURFACES, ids=lambda s: s.name)
def test_the_minimum_is_a_stationary_point_below_its_neighbours(surface):
    w_star = np.array(surface.minimum)
    assert np.allclose(surface.grad(w_star), 0.0)
    for d in np.random.default_rng(1).normal(size=(8, 2)) * 1e-2:
        assert surface.f(w_star + d) > surface.f_min()


def test_the_start_lies_in_the_window_and_the_grid_covers_it():
    for surface in SURFACES:
        (x0, x1), (y0, y1) = surface.xlim, surface.ylim
        assert x0 < surface.start[0] < x1 and y0 < surface.start[1] < y1
        gx, gy, z = surface.grid(20)
        assert gx.shape == gy.shape == z.shape == (20, 20)
        assert z[3, 7] == pytest.approx(surface.f(np.array([gx[3, 7], gy[3, 7]])))


def test_the_quadratic_refuses_non_positive_curvature():
    with pytest.raises(ValueError, match="positive"):
        surfaces.ill_conditioned_quadratic(1.0, 0.0)


def gd(lr):
    return lambda w, dw: w - lr * dw


def test_trajectory_records_every_point_and_converges_on_the_quadratic():
    q = surfaces.ill_conditioned_quadratic()
    path = surfaces.trajectory(gd(0.09), q, 400)
    assert path.shape == (401, 2)
    assert np.array_equal(path[0], q.start)
    # Each step of gradient descent on a diagonal quadratic multiplies w_i by (1 - lr * curvature_i).
    assert np.allclose(path[5], np.array(q.start) * np.array([0.91, 1 - 0.09 * 20]) ** 5)
    assert q.f(path[-1]) < 1e-12


def test_trajectory_stops_early_and_quietly_when_the_step_diverges():
    q = surfaces.ill_conditioned_quadratic()
    path = surfaces.trajectory(gd(0.2), q, 500)   # 0.2 > 2 / 20: unstable
    assert 1 < len(path) < 501
    assert np.all(np.isfinite(path)) and np.abs(path).max() <= 1e3


def test_trajectory_refuses_a_step_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"\(3,\)"):
        surfaces.trajectory(lambda w, dw: np.zeros(3), surfaces.rosenbrock(), 3)


def test_steps_to_tolerance_is_the_first_step_close_enough():
    q = surfaces.ill_conditioned_quadratic()
    path = surfaces.trajectory(gd(0.05), q, 300)
    k = surfaces.steps_to_tolerance(path, q, 1e-4)
    gaps = [q.f(p) for p in path]
    assert gaps[k] < 1e-4 <= gaps[k - 1]
    assert surfaces.steps_to_tolerance(path[:3], q, 1e-4) is None


def test_trajectory_plot_draws_contours_one_line_per_path_and_the_window():
    q = surfaces.ill_conditioned_quadratic()
    paths = {"a": surfaces.trajectory(gd(0.05), q, 20), "b": surfaces.trajectory(gd(0.09), q, 20)}
    fig, ax = plots.new_figure()
    plots.trajectory_plot(q, paths, ax=ax, resolution=40)
    labels = [line.get_label() for line in ax.get_lines()]
    assert "a" in labels and "b" in labels
    assert ax.get_xlim() == q.xlim and ax.get_ylim() == q.ylim
    assert ax.collections, "no contour drawn"
    assert plots.figure_png(fig)[:4] == b"\x89PNG"


def make_steps(lr, beta, beta2):
    """Two stand-in rules: plain gradient descent and heavy-ball momentum (sum form)."""
    state = {"u": np.zeros(2)}

    def heavy_ball(w, dw):
        state["u"] = beta * state["u"] + dw
        return w - lr * (1 - beta) * state["u"]

    return {"gd": gd(lr), "heavy ball": heavy_ball}


@pytest.fixture(scope="module")
def explorer():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return OptimizerExplorer(make_steps, [surfaces.ill_conditioned_quadratic(), surfaces.rosenbrock()],
                                 lr=0.05, beta=0.9, n_steps=150, tol=1e-4)


def test_explorer_is_an_explorer_with_a_picture_and_a_readout(explorer):
    assert isinstance(explorer, Explorer)
    assert explorer.image.value[:4] == b"\x89PNG"
    assert "gd" in explorer.readout.value and "heavy ball" in explorer.readout.value
    assert "lr = 0.05" in explorer.readout.value


def test_explorer_counts_the_steps_the_stand_ins_need(explorer):
    paths = explorer.paths(0, 0.05, 0.9, 0.999)
    needed = explorer.steps_needed(0, paths)
    q = explorer.surfaces[0]
    assert needed["gd"] == surfaces.steps_to_tolerance(surfaces.trajectory(gd(0.05), q, 150), q, 1e-4)
    assert needed["gd"] is not None


def test_every_slider_and_the_picker_redraw(explorer):
    for control, value in ((explorer.lr, 0.02), (explorer.beta, 0.5), (explorer.beta2, 0.95),
                           (explorer.picker, 1)):
        before_image, before_text = explorer.image.value, explorer.readout.value
        control.value = value
        assert explorer.image.value != before_image
        assert explorer.readout.value != before_text
    explorer.picker.value = 0


def test_one_step_right_of_each_default_changes_the_picture_and_the_readout():
    """The browser test presses ArrowRight once on each slider: no default may sit at the maximum."""
    fresh = OptimizerExplorer(make_steps, [surfaces.ill_conditioned_quadratic()], n_steps=30)
    for slider in (fresh.lr, fresh.beta, fresh.beta2):
        top = 10.0**slider.max if slider is fresh.lr else slider.max   # a log slider's max is an exponent
        assert slider.value < top
        before_image, before_text = fresh.image.value, fresh.readout.value
        slider.value = slider.value * 10**slider.step if slider is fresh.lr else slider.value + slider.step
        assert fresh.image.value != before_image and fresh.readout.value != before_text


def test_explorer_reports_divergence(explorer):
    explorer.lr.value = 0.5   # far above 2 / 20 for gradient descent on the quadratic
    assert "diverged" in explorer.readout.value
    explorer.lr.value = 0.05


def test_each_slider_heads_a_box_holding_the_readout_and_picture(explorer):
    """The browser test moves the first slider of the i-th box for each slider i."""
    import ipywidgets as ipw

    boxes, todo = [], [explorer.ui]
    while todo:
        box = todo.pop(0)
        if isinstance(box, ipw.VBox):
            boxes.append(box)
            todo.extend(box.children)

    def descendants(w):
        out = [w]
        for child in getattr(w, "children", ()):
            out.extend(descendants(child))
        return out

    sliders = [w for w in descendants(explorer.ui) if isinstance(w, ipw.FloatSlider | ipw.FloatLogSlider)]
    assert len(boxes) >= len(sliders) == 3
    for i in range(len(sliders)):
        inside = descendants(boxes[i])
        assert explorer.image in inside and explorer.readout in inside
        first_slider = next(w for w in inside if w in sliders)
        assert first_slider is sliders[i]


def test_static_figure_shows_each_setting(explorer):
    fig = explorer.static_figure()
    assert isinstance(fig, Figure)
    assert len(fig.axes) == len(explorer.static_settings) == 3
    assert plots.figure_png(fig)[:4] == b"\x89PNG"


def test_explorer_needs_a_surface():
    with pytest.raises(ValueError, match="surface"):
        OptimizerExplorer(make_steps, [])

