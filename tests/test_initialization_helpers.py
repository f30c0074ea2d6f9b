"""Helpers of topic 04: the per-layer histogram plot and the initialisation explorer."""

from __future__ import annotations

import ipywidgets as ipw
import numpy as np
import pytest
from matplotlib.figure import Figure

from helpers import gradcheck, plots
from helpers.widgets import InitializationExplorer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def reference_init(layer_dims, method, rng, scale=0.01):
    """Initialiser written for the tests: one standard normal draw per layer, W1 first."""
    params = {}
    for layer in range(1, len(layer_dims)):
        n_in = layer_dims[layer - 1]
        std = {"random": scale, "xavier": (1 / n_in) ** 0.5, "he": (2 / n_in) ** 0.5}[method]
        params[f"W{layer}"] = rng.standard_normal((layer_dims[layer], n_in)) * std
        params[f"b{layer}"] = np.zeros((layer_dims[layer], 1))
    return params


def reference_forward(X, params, activation):
    outputs, A = [], X
    for layer in range(1, len(params) // 2 + 1):
        Z = params[f"W{layer}"] @ A + params[f"b{layer}"]
        A = np.tanh(Z) if activation == "tanh" else Z * (Z > 0)
        outputs.append(A)
    return outputs


def explorer(**kwargs):
    return InitializationExplorer(reference_init, reference_forward, **{"width": 60, "m": 40, **kwargs})


def test_layer_histograms_plot_draws_one_histogram_per_layer_and_piles_outliers_at_the_edge():
    fig, ax = plots.new_figure()
    acts = [np.full((3, 4), 0.5), np.full((3, 4), 100.0)]  # the second layer lies beyond the axis
    plots.layer_histograms_plot(acts, (0.0, 4.0), ax=ax, bins=8, title="t")
    steps = ax.patches
    assert len(steps) == 2 and ax.get_title() == "t"
    top = steps[1].get_data().values  # heights of layer 2, offset by its layer number
    assert top[-1] == pytest.approx(2.85) and np.allclose(top[:-1], 2.0)
    assert plots.figure_png(fig)[:8] == PNG_SIGNATURE
    with pytest.raises(ValueError, match="low < high"):
        plots.layer_histograms_plot(acts, (1.0, 1.0))


def test_explorer_spread_vanishes_with_small_weights_and_stays_with_the_matched_scheme():
    e = explorer()
    small = e.spread("random, scale 0.01", "tanh", 8)
    xavier = e.spread("xavier (1/n)", "tanh", 8)
    he_relu = e.spread("he (2/n)", "relu", 8)
    big_relu = e.spread("random, scale 1", "relu", 8)
    assert small["activations"][-1] < 1e-4 * small["activations"][0]
    assert small["gradients"][0] < 1e-6 * xavier["gradients"][0]
    assert 0.2 < xavier["activations"][-1] / xavier["activations"][0] <= 1.0
    assert 0.4 < he_relu["activations"][-1] / he_relu["activations"][0] < 2.5
    assert big_relu["activations"][-1] > 1e5 * big_relu["activations"][0]
    assert len(small["gradients"]) == 8


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_explorer_gradients_agree_with_numerical_ones(activation):
    """dW of layer l is the gradient of sum(upstream / m * A_L) with respect to W_l."""
    e = explorer(width=4, m=3, depth=3)
    acts, grads = e.layers("he (2/n)", activation, 3)
    params = reference_init([4] * 4, "he", np.random.default_rng(e.seed))
    for layer in (1, 2, 3):
        def loss(W, layer=layer):
            top = reference_forward(e.X, {**params, f"W{layer}": W}, activation)[-1]
            return float(np.sum(e.upstream / e.X.shape[1] * top))
        numeric = gradcheck.numeric_grad(loss, params[f"W{layer}"])
        assert gradcheck.relative_error(grads[layer - 1], numeric) < 1e-6, layer
    assert [a.shape for a in acts] == [(4, 3)] * 3


def test_explorer_controls_redraw_and_readout_names_the_depth():
    e = explorer(depth=4, max_depth=6)
    assert isinstance(e.ui, ipw.VBox) and e.image.value[:8] == PNG_SIGNATURE
    first_image, first_text = e.image.value, e.readout.value
    e.depth.value = 6
    assert e.image.value != first_image and "depth 6" in e.readout.value and e.readout.value != first_text
    e.scheme.value = "random, scale 1"
    assert "random, scale 1" in e.readout.value
    e.activation.value = "relu"
    assert "relu" in e.readout.value


def test_explorer_static_figure_shows_both_activations():
    fig = explorer(depth=3).static_figure()
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert all(len(ax.get_lines()) == 2 * len(InitializationExplorer.SCHEMES) for ax in fig.axes)


def test_explorer_refuses_bad_settings_and_a_forward_of_the_wrong_depth():
    with pytest.raises(ValueError, match="scheme"):
        explorer(scheme="glorot")
    with pytest.raises(ValueError, match="depth"):
        explorer(depth=0)
    with pytest.raises(ValueError, match="returned 1 layers"):
        InitializationExplorer(reference_init, lambda X, p, a: reference_forward(X, p, a)[:1], width=5, m=3,
                               depth=2)


def test_layer_histograms_plot_can_leave_out_the_zeros_of_relu():
    fig, ax = plots.new_figure()
    plots.layer_histograms_plot([np.array([0.0, 0.0, 0.0, 1.5])], (0.0, 2.0), ax=ax, bins=4, drop_zeros=True)
    heights = ax.patches[0].get_data().values
    assert heights[0] == pytest.approx(1.0) and heights[3] == pytest.approx(1.85)


def test_explorer_has_one_slider_and_its_readout_first():
    """The browser test moves the one slider of each explorer and reads the first HTML below it."""
    e = explorer(depth=2)
    sliders = [w for w in e.ui.children if isinstance(w, ipw.IntSlider)]
    html = [w for w in e.ui.children if isinstance(w, ipw.HTML)]
    assert sliders == [e.depth] and html[0] is e.readout
