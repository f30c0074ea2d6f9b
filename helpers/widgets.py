"""Interactive explorers for the notebooks (ipywidgets).

Each explorer keeps its logic in plain methods (``update``) that tests call without a browser;
the widgets only forward slider values to them. Plots are rendered to PNG off-screen and shown in
an ``Image`` widget, so no pyplot state or output capture is involved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as ipw
import numpy as np
from matplotlib.figure import Figure

from helpers import gradcheck, plots

__all__ = ["BackpropStepper", "Explorer", "RegularizationExplorer", "StepSizeExplorer"]


class Explorer:
    """Base of every explorer: a live ipywidgets UI in a kernel, a static figure for readers.

    A subclass sets ``self.ui`` (the ipywidgets layout) and implements ``static_figure()``: a
    matplotlib ``Figure`` of a few settings side by side that teaches what the sliders show, for
    anyone reading the notebook without a running kernel (the self-study edition, the book).
    """

    ui: ipw.Widget

    def static_figure(self) -> Figure:
        """A few settings of this explorer side by side, as one figure."""
        raise NotImplementedError(f"{type(self).__name__} has no static figure")

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)


class StepSizeExplorer(Explorer):
    """Slide the step ``h`` of finite differences and watch truncation meet round-off.

    methods: label -> finite-difference function ``fd(f, x, h) -> gradient`` (e.g. the student's
    ``numerical_gradient``); f: scalar function of an array; exact: its true gradient at ``x``.
    """

    def __init__(
        self,
        methods: Mapping[str, Callable],
        f: Callable,
        exact,
        x,
        hs=None,
        h: float = 1e-5,
    ):
        self.hs = np.logspace(-13, -1, 49) if hs is None else np.asarray(hs, dtype=float)
        self.methods = dict(methods)
        self.f, self.x = f, np.asarray(x, dtype=float)
        self.exact = np.asarray(exact, dtype=float)
        self.errors = {label: _step_size_errors(label, fd, f, self.exact, self.x, self.hs)
                       for label, fd in self.methods.items()}
        self.slider = ipw.FloatLogSlider(
            value=h, base=10, min=-13, max=-1, step=0.25, description="h",
            readout_format=".1e", continuous_update=False,
        )
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        self.ui = ipw.VBox([self.slider, self.readout, self.image])
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.update(h)

    def errors_at(self, h: float) -> dict[str, float]:
        """Relative error of every method at step ``h``."""
        return {
            label: gradcheck.relative_error(fd(self.f, self.x, float(h)), self.exact)
            for label, fd in self.methods.items()
        }

    def update(self, h: float) -> dict[str, float]:
        """Redraw for step ``h``; returns the errors shown."""
        at_h = self.errors_at(h)
        fig, ax = plots.new_figure()
        plots.step_size_plot(self.hs, self.errors, h_mark=h, ax=ax)
        self.image.value = plots.figure_png(fig)
        rows = "".join(f"<li>{label}: {err:.2e}</li>" for label, err in at_h.items())
        self.readout.value = f"<b>h = {h:.1e}</b>: relative error <ul>{rows}</ul>"
        return at_h


class BackpropStepper(Explorer):
    """Step through the forward pass, the error, the backward pass and the update of a 2-2-2 net.

    The drawing shows the inputs i1, i2, hidden units h1, h2 and outputs o1, o2; values appear on
    the units and weights (later gradients, then updated weights) on the edges, one quantity more
    per step. Weight matrices have one row per receiving unit: ``W1[j, k]`` joins i_k to h_j.
    Every number shown is passed in (computed by the notebook's functions); nothing is computed
    here, so the stepper displays whatever those functions return, bugs included.

    x, target: (2,); W1, W2: (2, 2); forward: dict with ``net_h, out_h, net_o, out_o`` (2,);
    errors: (E_each (2,), E_total); grads: (dW1, dW2); updated: (W1_new, W2_new).
    """

    INPUTS, HIDDEN, OUTPUTS = ("i1", "i2"), ("h1", "h2"), ("o1", "o2")

    def __init__(self, x, target, W1, W2, forward, errors, grads, updated):
        arr = {
            "x": x, "target": target, "W1": W1, "W2": W2,
            **{key: forward[key] for key in ("net_h", "out_h", "net_o", "out_o")},
            "E_each": errors[0], "dW1": grads[0], "dW2": grads[1],
            "W1_new": updated[0], "W2_new": updated[1],
        }
        self.values = {k: np.array(v, dtype=float) for k, v in arr.items()}
        for key, shape in (("x", (2,)), ("W1", (2, 2)), ("W2", (2, 2)), ("dW1", (2, 2)),
                           ("dW2", (2, 2)), ("W1_new", (2, 2)), ("W2_new", (2, 2))):
            if self.values[key].shape != shape:
                raise plots.BadValues(f"{key} should have shape {shape}, got {self.values[key].shape}")
        self.E_total = float(errors[1])
        self.steps = self._steps()
        self.slider = ipw.IntSlider(value=0, min=0, max=len(self.steps) - 1, description="step",
                                    continuous_update=False)
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        self.ui = ipw.VBox([self.slider, self.readout, self.image])
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.update(0)

    def _edges(self, layer: int):
        """((from, to), row, col, weight name) for layer 1 (w1..w4) or 2 (w5..w8)."""
        left, right = (self.INPUTS, self.HIDDEN) if layer == 1 else (self.HIDDEN, self.OUTPUTS)
        first = 1 if layer == 1 else 5
        return [((left[k], right[j]), j, k, f"w{first + 2 * j + k}") for j in range(2) for k in range(2)]

    def _steps(self) -> list[dict]:
        v = self.values
        weights = {}
        for layer, key in ((1, "W1"), (2, "W2")):
            for edge, j, k, name in self._edges(layer):
                weights[edge] = f"{name}={v[key][j, k]:.4g}"
        nodes = {name: f"{v['x'][k]:.4g}" for k, name in enumerate(self.INPUTS)}
        steps = [dict(title="inputs and weights", nodes=dict(nodes), edges=dict(weights),
                      hot=list(self.INPUTS),
                      text="Each edge carries a weight; W1[j, k] joins input k to hidden unit j.")]

        def add(title, text, hot, new_nodes=None, new_edges=None):
            nodes.update(new_nodes or {})
            weights.update(new_edges or {})
            steps.append(dict(title=title, text=text, hot=hot, nodes=dict(nodes), edges=dict(weights)))

        add("net input of the hidden units", "net_h = W1 x + b1 (weighted sum plus bias)",
            list(self.HIDDEN), {h: f"net={v['net_h'][j]:.6g}" for j, h in enumerate(self.HIDDEN)})
        add("hidden activations", "out_h = sigmoid(net_h)", list(self.HIDDEN),
            {h: f"net={v['net_h'][j]:.6g}\nout={v['out_h'][j]:.6g}" for j, h in enumerate(self.HIDDEN)})
        add("net input of the outputs", "net_o = W2 out_h + b2", list(self.OUTPUTS),
            {o: f"net={v['net_o'][j]:.6g}" for j, o in enumerate(self.OUTPUTS)})
        add("outputs", "out_o = sigmoid(net_o)", list(self.OUTPUTS),
            {o: f"out={v['out_o'][j]:.6g}" for j, o in enumerate(self.OUTPUTS)})
        add("error", f"E = sum of 0.5 (target - out)^2 = {self.E_total:.9g}", list(self.OUTPUTS),
            {o: f"out={v['out_o'][j]:.6g}\nE={v['E_each'][j]:.6g}" for j, o in enumerate(self.OUTPUTS)})
        for layer, key, title in ((2, "dW2", "gradients of the output weights"),
                                  (1, "dW1", "gradients of the hidden weights")):
            edges = self._edges(layer)
            add(title, "dE/dw for each weight of this layer, from the chain rule",
                [e for e, *_ in edges],
                new_edges={e: f"{name}: dE={v[key][j, k]:.4g}" for e, j, k, name in edges})
        new_edges = {}
        for layer, key in ((1, "W1_new"), (2, "W2_new")):
            for e, j, k, name in self._edges(layer):
                new_edges[e] = f"new {name}={v[key][j, k]:.6g}"
        add("one gradient step", "w+ = w - eta dE/dw for all eight weights (biases stay)",
            list(new_edges), new_edges=new_edges)
        return steps

    def figure(self, step: int):
        """The drawing for ``step`` (0 .. len(steps) - 1), as a matplotlib Figure."""
        if not 0 <= step < len(self.steps):
            raise ValueError(f"step must lie in 0..{len(self.steps) - 1}, got {step}")
        s = self.steps[step]
        fig, ax = plots.new_figure(8.0, 4.6)
        plots.network_diagram([self.INPUTS, self.HIDDEN, self.OUTPUTS], s["nodes"], s["edges"],
                              highlight=s["hot"], ax=ax, title=f"step {step}: {s['title']}")
        return fig

    def update(self, step: int) -> str:
        """Show ``step``; returns the explanation displayed above the drawing."""
        self.image.value = plots.figure_png(self.figure(step))
        s = self.steps[step]
        self.readout.value = f"<b>step {step} of {len(self.steps) - 1}: {s['title']}</b><br>{s['text']}"
        return s["text"]


def polynomial_features(x, degree: int) -> np.ndarray:
    """Rows 1, x, x**2, ..., x**degree of the inputs ``x: (m,)`` or ``(1, m)``: shape (degree + 1, m)."""
    x = np.asarray(x, dtype=float).reshape(-1)
    return np.vstack([x**k for k in range(degree + 1)])


def ridge_fit(x, y, degree: int, lam: float) -> np.ndarray:
    """Polynomial least squares with an L2 penalty: the w minimising
    (1/m) * sum((w @ phi(x) - y)**2) + lam * sum(w[1:]**2) (the constant term is not penalised).

    x, y: (m,) or (1, m). Returns w: (degree + 1,).
    """
    phi = polynomial_features(x, degree)
    y = np.asarray(y, dtype=float).reshape(-1)
    m = y.size
    penalty = lam * np.eye(degree + 1)
    penalty[0, 0] = 0.0
    return np.linalg.solve(phi @ phi.T / m + penalty, phi @ y / m)


class RegularizationExplorer(Explorer):
    """Slide lambda of an L2-penalised polynomial fit and watch over-fitting come and go.

    Left: the training points, the validation points and the fitted curve. Right: training and
    validation error against lambda, with the current lambda marked. X_*, Y_*: (1, m) arrays.
    """

    def __init__(self, X_train, Y_train, X_val, Y_val, degree: int = 12, lams=None, lam: float = 1e-8):
        self.degree = int(degree)
        self.data = [np.asarray(a, dtype=float).reshape(-1) for a in (X_train, Y_train, X_val, Y_val)]
        if self.data[0].size != self.data[1].size or self.data[2].size != self.data[3].size:
            raise ValueError("X_train/Y_train and X_val/Y_val must hold the same number of examples")
        self.lams = np.logspace(-10, 1, 45) if lams is None else np.asarray(lams, dtype=float)
        curves = np.array([self.errors(value) for value in self.lams])
        self.train_curve, self.val_curve = curves[:, 0], curves[:, 1]
        self.slider = ipw.FloatLogSlider(value=lam, base=10, min=float(np.log10(self.lams[0])),
                                         max=float(np.log10(self.lams[-1])), step=0.25,
                                         description="lambda", readout_format=".1e",
                                         continuous_update=False)
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        self.ui = ipw.VBox([self.slider, self.readout, self.image])
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.update(lam)

    def errors(self, lam: float) -> tuple[float, float]:
        """(training MSE, validation MSE) of the fit with penalty ``lam``."""
        x, y, xv, yv = self.data
        w = ridge_fit(x, y, self.degree, lam)
        train = float(np.mean((w @ polynomial_features(x, self.degree) - y) ** 2))
        val = float(np.mean((w @ polynomial_features(xv, self.degree) - yv) ** 2))
        return train, val

    def update(self, lam: float) -> tuple[float, float]:
        """Redraw for ``lam``; returns its (training, validation) errors."""
        x, y, xv, yv = self.data
        w = ridge_fit(x, y, self.degree, lam)
        train, val = self.errors(lam)
        fig = Figure(figsize=(11, 3.8), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            ax_fit, ax_err = fig.subplots(1, 2)
            grid = np.linspace(min(x.min(), xv.min()), max(x.max(), xv.max()), 300)
            ax_fit.scatter(xv, yv, s=10, color=plots.COLORS[-1], alpha=0.4, label="validation")
            ax_fit.scatter(x, y, s=28, color=plots.COLORS[0], label="training")
            ax_fit.plot(grid, w @ polynomial_features(grid, self.degree), color=plots.COLORS[1],
                        lw=2, label=f"degree {self.degree} fit")
            ax_fit.set_ylim(-2.5, 2.5)
            ax_fit.legend(loc="lower right", fontsize=8)
            ax_fit.set_title(f"lambda = {lam:.1e}")
            ax_err.loglog(self.lams, self.train_curve, label="training error")
            ax_err.loglog(self.lams, self.val_curve, label="validation error")
            ax_err.axvline(lam, color=plots.COLORS[3], lw=2)
            ax_err.set_xlabel("lambda")
            ax_err.set_ylabel("mean squared error")
            ax_err.legend(fontsize=8)
        self.image.value = plots.figure_png(fig)
        self.readout.value = (f"<b>lambda = {lam:.1e}</b>: training error {train:.3f}, "
                              f"validation error {val:.3f}")
        return train, val


def _step_size_errors(label: str, fd: Callable, f: Callable, exact, x, hs) -> np.ndarray:
    """``gradcheck.step_size_errors``, with a student's wrong-shaped gradient said in one line."""
    try:
        return gradcheck.step_size_errors(fd, f, exact, x, hs)
    except (TypeError, ValueError) as err:
        raise plots.BadValues(f"StepSizeExplorer: {label!r} returned a gradient that cannot be "
                              f"compared with the exact one of shape {np.shape(exact)}: {err}") from None
