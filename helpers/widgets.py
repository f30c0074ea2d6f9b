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

__all__ = [
    "BackpropStepper",
    "ConvShapeExplorer",
    "Explorer",
    "RegularizationExplorer",
    "StepSizeExplorer",
]


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
        self.errors = {
            label: gradcheck.step_size_errors(fd, f, self.exact, self.x, self.hs)
            for label, fd in self.methods.items()
        }
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
                raise ValueError(f"{key} should have shape {shape}, got {self.values[key].shape}")
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


class ConvShapeExplorer(Explorer):
    """Slide n, f, p and s of a convolution and watch its f x f window slide over the input.

    The drawing shows the n x n input inside its border of p zeros, the window at the output
    position chosen by the ``window`` slider, the top-left corner of every position the window
    takes, and the output grid with the current cell marked. The output size and the parameter
    count are not computed here: they come from ``output_size(n, f, p, s) -> int`` and
    ``param_count(f, c_in, c_out) -> int`` (the notebook's functions), so the explorer shows what
    those return; a ``ValueError`` they raise is shown as the reason no output exists.
    """

    LIMITS = {"n": (1, 16), "f": (1, 7), "p": (0, 3), "s": (1, 4), "window": (0, 63)}

    def __init__(self, output_size: Callable, param_count: Callable, n: int = 7, f: int = 3,
                 p: int = 0, s: int = 1, c_in: int = 3, c_out: int = 2):
        self.output_size, self.param_count = output_size, param_count
        self.c_in, self.c_out = int(c_in), int(c_out)
        start = {"n": n, "f": f, "p": p, "s": s, "window": 0}
        self.sliders = {
            name: ipw.IntSlider(value=int(start[name]), min=lo, max=hi, description=name,
                                continuous_update=False)
            for name, (lo, hi) in self.LIMITS.items()
        }
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        # One box per slider, nested: each slider's box holds the readout and drawing it changes.
        box = ipw.VBox([self.readout, self.image])
        for slider in reversed(list(self.sliders.values())):
            box = ipw.VBox([slider, box])
        self.ui = box
        for slider in self.sliders.values():
            slider.observe(lambda _change: self.update(**self.values()), names="value")
        self.update(**self.values())

    def values(self) -> dict[str, int]:
        """The sliders' current settings, {"n", "f", "p", "s", "window"}."""
        return {name: int(slider.value) for name, slider in self.sliders.items()}

    def state(self, n: int, f: int, p: int, s: int, window: int = 0) -> dict:
        """What the drawing shows: {"out", "params", "corner", "cell", "error"}.

        out: output size from ``output_size`` (None when it raised ValueError, whose message is
        "error"); params: ``param_count(f, c_in, c_out)``; cell: the (row, col) output cell shown,
        ``window`` taken modulo out * out; corner: that window's top-left (row, col) in the padded
        input, (row * s, col * s). Functions still raising NotImplementedError give an error too.
        """
        try:
            out = int(self.output_size(n, f, p, s))
            params = int(self.param_count(f, self.c_in, self.c_out))
        except NotImplementedError:
            return {"out": None, "params": None, "corner": (0, 0), "cell": None,
                    "error": "write conv_output_size and conv_param_count first"}
        except ValueError as err:
            return {"out": None, "params": None, "corner": (0, 0), "cell": None, "error": str(err)}
        k = int(window) % (out * out) if out > 0 else 0
        cell = (k // out, k % out) if out > 0 else (0, 0)
        return {"out": out, "params": params, "corner": (cell[0] * s, cell[1] * s), "cell": cell,
                "error": None}

    def draw(self, ax_in, ax_out, n: int, f: int, p: int, s: int, window: int = 0) -> dict:
        """Draw the padded input with the window on ``ax_in``, the output grid on ``ax_out``."""
        from matplotlib.patches import Rectangle

        st = self.state(n, f, p, s, window)
        size = n + 2 * p
        for ax in (ax_in, ax_out):
            ax.set_aspect("equal")
            ax.set_axis_off()
        for r in range(size):
            for c in range(size):
                pad = not (p <= r < p + n and p <= c < p + n)
                ax_in.add_patch(Rectangle((c, size - 1 - r), 1, 1, fc="#e6e6e6" if pad else "white",
                                          ec=plots.COLORS[-1], lw=0.5))
        top, left = st["corner"]
        ok = st["error"] is None
        color = plots.COLORS[1] if ok else plots.COLORS[3]
        ax_in.add_patch(Rectangle((left, size - top - f), f, f, fc=color, alpha=0.25, ec=color, lw=2.5))
        if ok:
            corners = [(i * s, j * s) for i in range(st["out"]) for j in range(st["out"])]
            ax_in.scatter([c + 0.5 for _, c in corners], [size - r - 0.5 for r, _ in corners],
                          s=12, color=plots.COLORS[0], zorder=3)
        span = max(size, f)
        ax_in.set_xlim(-0.2, span + 0.2)
        ax_in.set_ylim(size - span - 0.2, size + 0.2)
        ax_in.set_title(f"input {n} x {n}, padding {p}: {size} x {size}", fontsize=10)
        if ok:
            out = st["out"]
            for r in range(out):
                for c in range(out):
                    hot = (r, c) == st["cell"]
                    ax_out.add_patch(Rectangle((c, out - 1 - r), 1, 1, fc=color if hot else "white",
                                               alpha=0.6 if hot else 1.0, ec=plots.COLORS[0], lw=0.8))
            ax_out.set_xlim(-0.2, span + 0.2)
            ax_out.set_ylim(out - span - 0.2, out + 0.2)
            ax_out.set_title(f"output {out} x {out}", fontsize=10)
        else:
            ax_out.text(0.5, 0.5, "no output:\nthe window does not fit", ha="center", va="center",
                        transform=ax_out.transAxes, color=color)
        return st

    def figure(self, n: int, f: int, p: int, s: int, window: int = 0) -> Figure:
        """The drawing for one setting, as a matplotlib Figure."""
        fig = Figure(figsize=(8.0, 3.8), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            ax_in, ax_out = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
            self.draw(ax_in, ax_out, n, f, p, s, window)
        return fig

    def text(self, n: int, f: int, p: int, s: int, window: int = 0) -> str:
        """The readout for one setting (HTML)."""
        st = self.state(n, f, p, s, window)
        head = f"<b>n = {n}, f = {f}, p = {p}, s = {s}</b>: "
        if st["error"] is not None:
            return head + f"no output ({st['error']})"
        (r, c), (top, left) = st["cell"], st["corner"]
        return (head + f"output {st['out']} x {st['out']}; output cell ({r}, {c}) reads rows "
                f"{top}..{top + f - 1} and columns {left}..{left + f - 1} of the padded input. "
                f"Parameters for {self.c_in} input and {self.c_out} output channels: {st['params']}")

    def update(self, n: int, f: int, p: int, s: int, window: int = 0) -> str:
        """Redraw for one setting; returns the readout shown."""
        self.image.value = plots.figure_png(self.figure(n, f, p, s, window))
        self.readout.value = self.text(n, f, p, s, window)
        return self.readout.value

    def static_figure(self) -> Figure:
        """Three settings of a 3 x 3 window on a 7 x 7 input: valid, same padding, stride 2."""
        settings = [(7, 3, 0, 1), (7, 3, 1, 1), (7, 3, 0, 2)]
        fig = Figure(figsize=(12.0, 3.6), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            axes = fig.subplots(1, 6, gridspec_kw={"width_ratios": [3, 2] * 3})
            for k, (n, f, p, s) in enumerate(settings):
                st = self.draw(axes[2 * k], axes[2 * k + 1], n, f, p, s, window=1)
                axes[2 * k].set_title(f"n={n}, f={f}, p={p}, s={s}", fontsize=10)
                if st["out"] is not None:
                    axes[2 * k + 1].set_title(f"output {st['out']} x {st['out']}", fontsize=10)
        return fig
