"""Explorer's static figure: what the self-study edition and the book show where a widget stands."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import forward_difference
from IPython.core.interactiveshell import InteractiveShell
from matplotlib.figure import Figure
from test_plots_widgets import _stepper_inputs

from helpers import data, gradcheck, plots, widgets

X = np.array([0.3, -1.2, 2.0])


def sin_sum(v):
    return float(np.sum(np.sin(v)))


@pytest.fixture(scope="module")
def explorers():
    step = widgets.StepSizeExplorer({"centred": gradcheck.numeric_grad, "one-sided": forward_difference},
                                    sin_sum, np.cos(X), X, hs=np.logspace(-13, -1, 25))
    stepper = widgets.BackpropStepper(*_stepper_inputs())
    X_t, Y_t = data.noisy_sine(15, np.random.default_rng(1))
    X_v, Y_v = data.noisy_sine(100, np.random.default_rng(2))
    reg = widgets.RegularizationExplorer(X_t, Y_t, X_v, Y_v, degree=12, lam=1e-9)
    return {"step": step, "backprop": stepper, "regularization": reg}


def test_each_explorer_has_a_static_figure_of_several_panels(explorers):
    # Explorers of later topics are covered where they are used: the build fails on a missing
    # static figure, and test_build checks every widget cell of every self-study notebook.
    for name, explorer in explorers.items():
        fig = explorer.static_figure()
        assert isinstance(fig, Figure), name
        assert len([ax for ax in fig.axes if ax.get_visible()]) >= 3, f"{name}: not side by side"


def test_a_static_figure_is_reproducible(explorers):
    reg = explorers["regularization"]
    assert plots.figure_png(reg.static_figure()) == plots.figure_png(reg.static_figure())


def test_the_static_step_sizes_show_truncation_the_best_and_round_off(explorers):
    step = explorers["step"]
    large, best, small = (step.errors_at(h)["centred"] for h in step.static_steps())
    assert best < large / 100 and best < small / 100


def test_the_static_lambdas_show_over_fitting_a_good_fit_and_under_fitting(explorers):
    reg = explorers["regularization"]
    (t_lo, v_lo), (t_best, v_best), (t_hi, v_hi) = (reg.errors(lam) for lam in reg.static_lambdas())
    assert t_lo < t_best < t_hi, "training error should grow with lambda"
    assert v_best < v_lo / 5 and v_best < v_hi / 2, "the middle lambda should generalise best"


def _displayed(explorer, monkeypatch, static: bool) -> list:
    """What the explorer passes to IPython's display when it is a cell's result."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append(obj))
    if static:
        monkeypatch.setenv(widgets.Explorer.STATIC_ENV, "1")
    else:
        monkeypatch.delenv(widgets.Explorer.STATIC_ENV, raising=False)
    InteractiveShell.instance().display_formatter.format(explorer)
    return shown


def test_static_mode_displays_the_note_and_the_figure_instead_of_the_widget(explorers, monkeypatch):
    shown = _displayed(explorers["regularization"], monkeypatch, static=True)
    assert [sorted(b) for b in shown] == [["text/markdown", "text/plain"], ["image/png", "text/plain"]]
    assert "running kernel" in shown[0]["text/markdown"]
    assert not any("application/vnd.jupyter.widget-view+json" in b for b in shown)


def test_live_mode_displays_only_the_widget(explorers, monkeypatch):
    explorer = explorers["step"]
    assert _displayed(explorer, monkeypatch, static=False) == [explorer.ui]
