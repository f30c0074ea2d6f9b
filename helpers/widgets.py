"""Interactive explorers for the notebooks (ipywidgets).

Each explorer keeps its logic in plain methods (``update``) that tests call without a browser;
the widgets only forward slider values to them. Plots are rendered to PNG off-screen and shown in
an ``Image`` widget, so no pyplot state or output capture is involved.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Mapping

import ipywidgets as ipw
import matplotlib.ticker as mticker
import numpy as np
from matplotlib.figure import Figure

from helpers import gradcheck, plots, surfaces

__all__ = [
    "BackpropStepper",
    "ConvShapeExplorer",
    "DropoutExplorer",
    "Explorer",
    "InitializationExplorer",
    "OptimizerExplorer",
    "RegularizationExplorer",
    "StepSizeExplorer",
]


class Explorer:
    """Base of every explorer: a live ipywidgets UI in a kernel, a static figure for readers.

    A subclass sets ``self.ui`` (the ipywidgets layout) and implements ``static_figure()``: a
    matplotlib ``Figure`` of a few settings side by side that teaches what the sliders show, for
    anyone reading the notebook without a running kernel (the self-study edition, the book).

    Displayed as a cell's result, an explorer shows its live UI; when the environment variable
    ``COURSE_STATIC_WIDGETS`` is set (``course build`` sets it in the kernel that executes the
    self-study edition), it shows ``STATIC_NOTE`` and the static figure instead, so the saved
    notebook carries a picture wherever it is read. Subclasses get this for free.
    """

    STATIC_ENV = "COURSE_STATIC_WIDGETS"
    STATIC_NOTE = ("*A few settings side by side. In a running kernel (open this notebook in "
                   "JupyterLab and run it) this cell is an interactive explorer: move the slider.*")

    ui: ipw.Widget

    def static_figure(self) -> Figure:
        """A few settings of this explorer side by side, as one figure."""
        raise NotImplementedError(f"{type(self).__name__} has no static figure")

    @classmethod
    def static_mode(cls) -> bool:
        """True where explorers display their static figure (``COURSE_STATIC_WIDGETS`` set)."""
        return os.environ.get(cls.STATIC_ENV, "") not in ("", "0")

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)

    def _ipython_display_(self):
        from IPython.display import display  # only when displayed by IPython

        if not self.static_mode():
            display(self.ui)
            return
        display({"text/markdown": self.STATIC_NOTE, "text/plain": self.STATIC_NOTE.strip("*")},
                raw=True)
        png = plots.figure_png(self.static_figure())
        display({"image/png": base64.b64encode(png).decode("ascii"),
                 "text/plain": f"<{type(self).__name__}: static figure>"}, raw=True)


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

    def static_steps(self) -> tuple[float, float, float]:
        """Three steps worth seeing: too large (truncation), the best of the first method's
        curve, too small (round-off)."""
        first = next(iter(self.errors.values()))
        best = float(self.hs[int(np.argmin(first))])
        return float(self.hs[-1]), best, float(self.hs[0])

    def static_figure(self) -> Figure:
        """The error curves three times, marked at a large, the best and a tiny step."""
        fig = Figure(figsize=(15, 4.2), dpi=plots.STYLE["figure.dpi"])
        labels = ("too large: truncation", "about right", "too small: round-off")
        with plots.course_style():
            axes = fig.subplots(1, 3, sharey=True)
            for i, (ax, h, label) in enumerate(zip(axes, self.static_steps(), labels, strict=True)):
                plots.step_size_plot(self.hs, self.errors, h_mark=h, ax=ax)
                errs = ", ".join(f"{err:.0e}" for err in self.errors_at(h).values())
                ax.set_title(f"h = {h:.0e} ({label})\nrelative errors {errs}", fontsize=10)
                if i:
                    ax.get_legend().remove()
                    ax.set_ylabel("")
        return fig


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

    STATIC_STEPS = (2, 5, 7, 8)  # forward pass, error, gradients, update

    def static_figure(self) -> Figure:
        """Four steps in a 2x2 grid: the hidden activations, the error, every gradient, the update."""
        fig = Figure(figsize=(15, 8.6), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            axes = fig.subplots(2, 2).ravel()
            for ax, step in zip(axes, self.STATIC_STEPS, strict=True):
                s = self.steps[step]
                plots.network_diagram([self.INPUTS, self.HIDDEN, self.OUTPUTS], s["nodes"], s["edges"],
                                      highlight=s["hot"], ax=ax,
                                      title=f"step {step}: {s['title']}\n{s['text']}")
        return fig


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
        train, val = self.errors(lam)
        fig = Figure(figsize=(11, 3.8), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            ax_fit, ax_err = fig.subplots(1, 2)
            self._draw_fit(ax_fit, lam)
            ax_fit.set_title(f"lambda = {lam:.1e}")
            self._draw_errors(ax_err, [lam])
        self.image.value = plots.figure_png(fig)
        self.readout.value = (f"<b>lambda = {lam:.1e}</b>: training error {train:.3f}, "
                              f"validation error {val:.3f}")
        return train, val

    def _draw_fit(self, ax, lam: float) -> None:
        x, y, xv, yv = self.data
        w = ridge_fit(x, y, self.degree, lam)
        grid = np.linspace(min(x.min(), xv.min()), max(x.max(), xv.max()), 300)
        ax.scatter(xv, yv, s=10, color=plots.COLORS[-1], alpha=0.4, label="validation")
        ax.scatter(x, y, s=28, color=plots.COLORS[0], label="training")
        ax.plot(grid, w @ polynomial_features(grid, self.degree), color=plots.COLORS[1],
                lw=2, label=f"degree {self.degree} fit")
        ax.set_ylim(-2.5, 2.5)
        ax.legend(loc="lower right", fontsize=8)

    def _draw_errors(self, ax, marks) -> None:
        ax.loglog(self.lams, self.train_curve, label="training error")
        ax.loglog(self.lams, self.val_curve, label="validation error")
        for lam in marks:
            ax.axvline(lam, color=plots.COLORS[3], lw=2)
        ax.set_xlabel("lambda")
        ax.set_ylabel("mean squared error")
        ax.legend(fontsize=8)

    def static_lambdas(self) -> tuple[float, float, float]:
        """Three penalties worth seeing: the smallest (over-fitting), the one with the lowest
        validation error, the largest (under-fitting)."""
        best = float(self.lams[int(np.argmin(self.val_curve))])
        return float(self.lams[0]), best, float(self.lams[-1])

    def static_figure(self) -> Figure:
        """The fit at three lambdas side by side (over-fitting, about right, under-fitting), and
        both errors against lambda with those three marked."""
        labels = ("over-fits", "lowest validation error", "under-fits")
        fig = Figure(figsize=(18, 4.2), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            axes = fig.subplots(1, 4)
            lams = self.static_lambdas()
            for ax, lam, label in zip(axes, lams, labels, strict=False):
                self._draw_fit(ax, lam)
                train, val = self.errors(lam)
                ax.set_title(f"lambda = {lam:.0e}: {label}\ntraining {train:.3f}, validation {val:.3f}",
                             fontsize=10)
            self._draw_errors(axes[3], lams)
            axes[3].set_title("error against lambda (the three marked)", fontsize=10)
        return fig


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


def _slope_from_output(A: np.ndarray, activation: str) -> np.ndarray:
    """g'(z) read from a layer's output a = g(z), for tanh (1 - a**2) and relu (1 where a > 0)."""
    if activation == "tanh":
        return 1.0 - A * A
    return (A > 0).astype(float)


class InitializationExplorer(Explorer):
    """Pick an initialisation scheme, an activation and a depth; see what reaches each layer.

    Top row: histograms of the activations of a few layers (values beyond the axis are piled
    into its last bin; for relu, the exact zeros are left out). Bottom: the standard deviation
    of every layer's activations and of its weight gradient, on a log scale, for a random
    gradient arriving at the last layer.

    init: ``init(layer_dims, method, rng, scale) -> params``, the notebook's ``init_params``;
    forward: ``forward(X, params, activation) -> [A1, ..., AL]``, the notebook's
    ``layer_activations``. Every layer has ``width`` units and uses the same activation;
    the input is ``m`` standard normal examples.
    """

    SCHEMES = {
        "random, scale 0.01": ("random", 0.01),
        "xavier (1/n)": ("xavier", 0.01),
        "he (2/n)": ("he", 0.01),
        "random, scale 1": ("random", 1.0),
    }
    ACTIVATIONS = ("tanh", "relu")
    X_RANGE = {"tanh": (-1.0, 1.0), "relu": (0.0, 4.0)}

    def __init__(self, init: Callable, forward: Callable, width: int = 200, m: int = 200,
                 depth: int = 10, max_depth: int = 20, seed: int = 0,
                 scheme: str = "xavier (1/n)", activation: str = "tanh"):
        if scheme not in self.SCHEMES or activation not in self.ACTIVATIONS:
            raise ValueError(f"scheme must be one of {list(self.SCHEMES)} and activation one of "
                             f"{list(self.ACTIVATIONS)}; got {scheme!r}, {activation!r}")
        if not 1 <= depth <= max_depth:
            raise ValueError(f"depth must lie in 1..{max_depth}, got {depth}")
        self.init, self.forward = init, forward
        self.width, self.seed = int(width), int(seed)
        self._layers_cache: dict = {}
        data_rng = np.random.default_rng(self.seed + 1)
        self.X = data_rng.standard_normal((self.width, int(m)))
        self.upstream = data_rng.standard_normal((self.width, int(m)))
        self.scheme = ipw.Dropdown(options=list(self.SCHEMES), value=scheme, description="scheme")
        self.activation = ipw.Dropdown(options=list(self.ACTIVATIONS), value=activation,
                                       description="activation")
        self.depth = ipw.IntSlider(value=depth, min=1, max=max_depth, description="depth",
                                   continuous_update=False)
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        self.ui = ipw.VBox([ipw.HBox([self.scheme, self.activation]), self.depth, self.readout,
                            self.image])
        for control in (self.scheme, self.activation, self.depth):
            control.observe(lambda _change: self.update(), names="value")
        self.update()

    def layers(self, scheme: str, activation: str, depth: int):
        """(activations [A1..AL], weight gradients [dW1..dWL]) of a net of ``depth`` layers."""
        # Seeded, so one setting always gives the same layers: the figure and the readout share them.
        key = (scheme, activation, depth)
        if key not in self._layers_cache:
            self._layers_cache.clear()  # one setting kept: a deep net's layers are not small
            self._layers_cache[key] = self._compute_layers(scheme, activation, depth)
        return self._layers_cache[key]

    def _compute_layers(self, scheme: str, activation: str, depth: int):
        method, scale = self.SCHEMES[scheme]
        params = self.init([self.width] * (depth + 1), method, np.random.default_rng(self.seed), scale)
        acts = [np.asarray(A, dtype=float) for A in self.forward(self.X, params, activation)]
        if len(acts) != depth:
            raise ValueError(f"forward returned {len(acts)} layers for a net of depth {depth}")
        grads = [None] * depth
        upstream = self.upstream / self.X.shape[1]  # a gradient dL/dA_L arriving from above
        for k in range(depth - 1, -1, -1):  # k = layer index - 1
            delta = upstream * _slope_from_output(acts[k], activation)
            below = acts[k - 1] if k > 0 else self.X
            grads[k] = delta @ below.T
            upstream = np.asarray(params[f"W{k + 1}"], dtype=float).T @ delta
        return acts, grads

    def spread(self, scheme: str, activation: str, depth: int) -> dict[str, list[float]]:
        """Per layer: std of the activations ("activations") and of the weight gradient ("gradients")."""
        acts, grads = self.layers(scheme, activation, depth)
        return {"activations": [float(np.std(A)) for A in acts],
                "gradients": [float(np.std(g)) for g in grads]}

    def figure(self, scheme: str, activation: str, depth: int) -> Figure:
        """Histograms of a few layers (top) and the per-layer spread (bottom)."""
        acts, grads = self.layers(scheme, activation, depth)
        shown = sorted({int(round(v)) for v in np.linspace(1, depth, min(depth, 5))})
        low, high = self.X_RANGE[activation]
        fig = Figure(figsize=(12, 6.2), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            grid = fig.add_gridspec(2, len(shown), height_ratios=[1, 1.2], hspace=0.45)
            for col, layer in enumerate(shown):
                ax = fig.add_subplot(grid[0, col])
                values = acts[layer - 1].ravel()
                if activation == "relu":
                    values = values[values != 0]  # the switched-off units would hide the rest
                counts, edges = np.histogram(np.clip(values, low, high), bins=40, range=(low, high))
                ax.stairs(counts, edges, fill=True, color=plots.COLORS[0])  # one patch, not 40 bars
                ax.set_title(f"layer {layer}: std {np.std(acts[layer - 1]):.2g}", fontsize=9)
                ax.set_yticks([])
            ax = fig.add_subplot(grid[1, :])
            layers = np.arange(1, depth + 1)
            tiny = np.finfo(float).tiny
            ax.semilogy(layers, np.maximum([np.std(A) for A in acts], tiny), marker="o",
                        label="std of the activations")
            ax.semilogy(layers, np.maximum([np.std(g) for g in grads], tiny), marker="s",
                        label="std of the weight gradient dW")
            # Plain tick labels (1e-05): mathtext's 10^k costs more than the rest of the figure.
            ax.yaxis.set_major_formatter(mticker.LogFormatter())
            ax.yaxis.set_minor_formatter(mticker.LogFormatter(labelOnlyBase=False))
            ax.set_xlabel("layer")
            ax.set_xticks(layers)
            ax.legend(fontsize=8)
            ax.set_title(f"{scheme}, {activation}, {depth} layers of width {self.width}")
        return fig

    def update(self) -> dict[str, list[float]]:
        """Redraw for the current controls; returns the spread shown."""
        scheme, activation, depth = self.scheme.value, self.activation.value, self.depth.value
        self.image.value = plots.figure_png(self.figure(scheme, activation, depth))
        s = self.spread(scheme, activation, depth)
        self.readout.value = (
            f"<b>{scheme}, {activation}, depth {depth}</b>: activation std {s['activations'][0]:.2e} "
            f"in layer 1, {s['activations'][-1]:.2e} in layer {depth}; gradient std "
            f"{s['gradients'][0]:.2e} for W1, {s['gradients'][-1]:.2e} for W{depth}")
        return s

    def static_figure(self) -> Figure:
        """Activation and gradient spread per layer for every scheme, tanh and relu side by side."""
        depth = self.depth.value
        fig = Figure(figsize=(12, 4.2), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            axes = fig.subplots(1, 2)
            for ax, activation in zip(axes, self.ACTIVATIONS, strict=True):
                for color, scheme in zip(plots.COLORS, self.SCHEMES, strict=False):
                    s = self.spread(scheme, activation, depth)
                    layers = np.arange(1, depth + 1)
                    ax.semilogy(layers, s["activations"], marker="o", color=color, label=scheme)
                    ax.semilogy(layers, s["gradients"], ls="--", color=color)
                ax.set_title(f"{activation}: std per layer (solid: activations, dashed: dW)")
                ax.set_xlabel("layer")
                ax.set_xticks(layers)
            axes[0].legend(fontsize=8)
        return fig


class DropoutExplorer(Explorer):
    """Choose the drop probability ``p``: one thinned network, and what dropout does to activations.

    dropout: ``dropout(A, p, rng) -> (out, mask)``, an inverted-dropout forward pass (the
    notebook's ``dropout_forward``); every picture shown comes from it, bugs included.
    activations: (n, m) activations of a hidden layer (ReLU outputs, say) to apply it to.
    layer_sizes: units per layer of the drawn network, input first; dropout is drawn on the
    hidden layers only (inputs and outputs are kept). The masks for one ``p`` are always the
    same (seeded by ``seed`` and ``p``), so moving the slider back shows the same network.
    """

    def __init__(self, dropout: Callable, activations, layer_sizes=(4, 6, 6, 2), p: float = 0.5,
                 seed: int = 0):
        self.dropout = dropout
        self.activations = np.asarray(activations, dtype=float)
        if self.activations.ndim != 2 or self.activations.size == 0:
            raise ValueError(f"activations should be a non-empty (n, m) array, got shape "
                             f"{self.activations.shape}")
        self.layer_sizes = tuple(int(n) for n in layer_sizes)
        if len(self.layer_sizes) < 3 or min(self.layer_sizes) < 1:
            raise ValueError(f"layer_sizes needs an input, at least one hidden and an output layer "
                             f"of positive sizes, got {layer_sizes!r}")
        self.seed = int(seed)
        self.slider = ipw.FloatSlider(value=p, min=0.0, max=0.9, step=0.05, description="p (drop)",
                                      readout_format=".2f", continuous_update=False)
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        self.ui = ipw.VBox([self.slider, self.readout, self.image])
        self.slider.observe(lambda change: self.update(change["new"]), names="value")
        self.update(p)

    def _rng(self, p: float, which: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, which, int(round(1000 * p))])

    def masks(self, p: float) -> list[np.ndarray]:
        """Which units stay, per layer of the drawing: boolean arrays, input and output all True."""
        kept = [np.ones(self.layer_sizes[0], dtype=bool)]
        rng = self._rng(p, 0)
        for n in self.layer_sizes[1:-1]:
            _, mask = self.dropout(np.ones((n, 1)), p, rng)
            kept.append(np.asarray(mask, dtype=float).reshape(-1) != 0)
        kept.append(np.ones(self.layer_sizes[-1], dtype=bool))
        return kept

    def apply(self, p: float) -> tuple[np.ndarray, np.ndarray]:
        """(out, mask) of the dropout function on the activations, as float arrays."""
        out, mask = self.dropout(self.activations, p, self._rng(p, 1))
        return np.asarray(out, dtype=float), np.asarray(mask, dtype=float)

    def stats(self, p: float) -> dict[str, float]:
        """Fraction of activations kept, mean before and after dropout, scale of the kept ones."""
        out, mask = self.apply(p)
        kept = mask != 0
        nonzero = kept & (self.activations != 0)
        scale = float(np.median(out[nonzero] / self.activations[nonzero])) if nonzero.any() else float("nan")
        return {"kept": float(kept.mean()), "mean_in": float(self.activations.mean()),
                "mean_out": float(out.mean()), "scale": scale}

    def _draw(self, p: float, ax_net, ax_hist) -> dict[str, float]:
        kept = self.masks(p)
        hidden_kept = int(sum(k.sum() for k in kept[1:-1]))
        hidden_all = sum(self.layer_sizes[1:-1])
        plots.thinned_network_plot(self.layer_sizes, kept, ax=ax_net,
                                   title=f"p = {p:.2f}: {hidden_kept} of {hidden_all} hidden units kept")
        out, mask = self.apply(p)
        s = self.stats(p)
        # Exact zeros (ReLU's inactive units) would dwarf the rest and are unchanged by dropout.
        live = self.activations != 0
        values = self.activations[live]
        after = out[live & (mask != 0)]
        top = max(float(np.abs(values).max(initial=0.0)), float(np.abs(after).max(initial=0.0)), 1e-12)
        bins = np.linspace(0.0 if values.min(initial=0.0) >= 0 else -top, top, 31)
        with plots.course_style():
            # Filled steps, one patch per histogram: 30 bars each cost more to draw than the rest.
            ax_hist.stairs(np.histogram(values, bins=bins)[0], bins, fill=True, color=plots.COLORS[-1],
                           alpha=0.35, label="before dropout")
            ax_hist.stairs(np.histogram(after, bins=bins)[0], bins, fill=True, color=plots.COLORS[0],
                           alpha=0.6, label="kept, after dropout")
            ax_hist.axvline(s["mean_in"], color=plots.COLORS[-1], ls="--", lw=1.5,
                            label=f"mean of all, before: {s['mean_in']:.3f}")
            ax_hist.axvline(s["mean_out"], color=plots.COLORS[1], ls=":", lw=2,
                            label=f"mean of all, after: {s['mean_out']:.3f}")
            ax_hist.set_xlabel("activation (the non-zero ones)")
            ax_hist.set_ylabel("count")
            ax_hist.set_title(f"{100 * s['kept']:.0f} % kept, scaled by {s['scale']:.3g}", fontsize=11)
            ax_hist.legend(fontsize=7, loc="upper right")
        return s

    def figure(self, p: float) -> Figure:
        """The thinned network and the histogram for drop probability ``p``."""
        fig = Figure(figsize=(11, 3.8), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            ax_net, ax_hist = fig.subplots(1, 2)
        self._draw(p, ax_net, ax_hist)
        return fig

    def update(self, p: float) -> dict[str, float]:
        """Redraw for drop probability ``p``; returns the statistics shown."""
        p = float(p)
        fig = self.figure(p)
        s = self.stats(p)
        self.image.value = plots.figure_png(fig)
        self.readout.value = (f"<b>p = {p:.2f}</b> (keep probability {1 - p:.2f}): "
                              f"{100 * s['kept']:.1f} % of the activations kept, each multiplied by "
                              f"{s['scale']:.3g}; mean activation {s['mean_in']:.4f} before, "
                              f"{s['mean_out']:.4f} after")
        return s

    def static_figure(self) -> Figure:
        """Three drop probabilities side by side: networks above, histograms below."""
        settings = (0.2, 0.5, 0.8)
        fig = Figure(figsize=(13, 7), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            axes = fig.subplots(2, len(settings))
        for col, p in enumerate(settings):
            self._draw(p, axes[0, col], axes[1, col])
        fig.tight_layout()
        return fig


class OptimizerExplorer(Explorer):
    """Sliders for the learning rate, beta and beta2 redraw the paths of several optimizers.

    make_steps(lr, beta, beta2) -> {label: step}: fresh step rules ``step(w, dw) -> new w`` (each
    keeping its own state, a velocity or a running average), built in the notebook from its
    exercises, so the explorer shows whatever those return. surfaces: ``helpers.surfaces.Surface``
    objects, picked with a drop-down. Every path runs ``n_steps`` steps from the surface's start;
    the readout gives the steps each needed to come within ``tol`` of the minimum.
    """

    def __init__(self, make_steps: Callable, surfaces, lr: float = 0.05, beta: float = 0.9,
                 beta2: float = 0.999, n_steps: int = 200, tol: float = 1e-4, static_settings=None):
        self.make_steps = make_steps
        self.surfaces = list(surfaces)
        if not self.surfaces:
            raise ValueError("give at least one surface")
        self.n_steps, self.tol = int(n_steps), float(tol)
        self.static_settings = static_settings or [
            {"lr": lr / 5, "beta": beta, "beta2": beta2},
            {"lr": lr, "beta": beta, "beta2": beta2},
            {"lr": lr, "beta": 0.5, "beta2": beta2},
        ]
        self.picker = ipw.Dropdown(options=[(s.name, i) for i, s in enumerate(self.surfaces)], value=0,
                                   description="surface")
        self.lr = ipw.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.1, description="lr",
                                     readout_format=".1e", continuous_update=False)
        self.beta = ipw.FloatSlider(value=beta, min=0.0, max=0.99, step=0.01, description="beta",
                                    continuous_update=False)
        self.beta2 = ipw.FloatSlider(value=beta2, min=0.9, max=0.9999, step=0.0001, description="beta2",
                                     readout_format=".4f", continuous_update=False)
        self.image = ipw.Image(format="png")
        self.readout = ipw.HTML()
        # Nested boxes: each slider heads a box that also holds the readout and the picture.
        self.ui = ipw.VBox([self.picker, self.lr,
                            ipw.VBox([self.beta, ipw.VBox([self.beta2, self.readout, self.image])])])
        for control in (self.picker, self.lr, self.beta, self.beta2):
            control.observe(lambda change: self.update(), names="value")
        self.update()

    def paths(self, surface: int, lr: float, beta: float, beta2: float) -> dict[str, np.ndarray]:
        """label -> (k + 1, 2) points visited on surface number ``surface``."""
        target = self.surfaces[surface]
        return {label: surfaces.trajectory(step, target, self.n_steps)
                for label, step in self.make_steps(lr, beta, beta2).items()}

    def steps_needed(self, surface: int, paths: Mapping[str, np.ndarray]) -> dict[str, int | None]:
        """label -> steps to come within tol of the minimum (None: never, in n_steps)."""
        return {label: surfaces.steps_to_tolerance(path, self.surfaces[surface], self.tol)
                for label, path in paths.items()}

    def _draw(self, ax, surface: int, lr: float, beta: float, beta2: float):
        paths = self.paths(surface, lr, beta, beta2)
        plots.trajectory_plot(self.surfaces[surface], paths, ax=ax,
                              title=f"lr={lr:.2g}, beta={beta:.2f}, beta2={beta2:.4g}")
        return paths

    def figure(self, surface: int, lr: float, beta: float, beta2: float) -> Figure:
        fig, ax = plots.new_figure(7.5, 4.6)
        self._draw(ax, surface, lr, beta, beta2)
        return fig

    def update(self) -> dict[str, int | None]:
        """Redraw for the current controls; returns the steps each optimizer needed."""
        surface, lr, beta, beta2 = self.picker.value, self.lr.value, self.beta.value, self.beta2.value
        fig, ax = plots.new_figure(7.5, 4.6)
        paths = self._draw(ax, surface, lr, beta, beta2)
        self.image.value = plots.figure_png(fig)
        needed = self.steps_needed(surface, paths)
        rows = []
        for label, path in paths.items():
            if needed[label] is not None:
                rows.append(f"<li>{label}: {needed[label]} steps</li>")
            elif len(path) <= self.n_steps:
                rows.append(f"<li>{label}: diverged (left the plot after {len(path) - 1} steps)</li>")
            else:
                rows.append(f"<li>{label}: not within {self.tol:g} after {self.n_steps} steps</li>")
        self.readout.value = (f"<b>lr = {lr:.2g}, beta = {beta:.2f}, beta2 = {beta2:.4g}</b>: "
                              f"steps to come within {self.tol:g} of the minimum<ul>{''.join(rows)}</ul>")
        return needed

    def static_figure(self) -> Figure:
        """The first surface for each of ``static_settings``, side by side."""
        n = len(self.static_settings)
        fig = Figure(figsize=(5.0 * n, 4.2), dpi=plots.STYLE["figure.dpi"])
        with plots.course_style():
            axes = fig.subplots(1, n)
        for ax, setting in zip(np.atleast_1d(axes), self.static_settings, strict=True):
            self._draw(ax, 0, setting["lr"], setting["beta"], setting["beta2"])
        return fig


def _step_size_errors(label: str, fd: Callable, f: Callable, exact, x, hs) -> np.ndarray:
    """``gradcheck.step_size_errors``, with a student's wrong-shaped gradient said in one line."""
    try:
        return gradcheck.step_size_errors(fd, f, exact, x, hs)
    except (TypeError, ValueError) as err:
        raise plots.BadValues(f"StepSizeExplorer: {label!r} returned a gradient that cannot be "
                              f"compared with the exact one of shape {np.shape(exact)}: {err}") from None
