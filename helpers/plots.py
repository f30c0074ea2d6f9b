"""One plotting style for the whole course, and the plots that several notebooks draw.

Functions draw on a matplotlib ``Axes`` they are given (or a new one), so a notebook can place
them anywhere and a widget can render them off-screen with ``figure_png``.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import matplotlib as mpl
import matplotlib.colors
import matplotlib.image
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import StepPatch

__all__ = [
    "COLORS",
    "STYLE",
    "course_style",
    "decision_boundary_plot",
    "figure_png",
    "layer_histograms_plot",
    "loss_curve_plot",
    "network_diagram",
    "new_figure",
    "step_size_plot",
    "thinned_network_plot",
    "train_val_plot",
    "trajectory_plot",
    "use_course_style",
    "weight_paths_plot",
]

COLORS = ("#1f5fa8", "#d1495b", "#2e8b57", "#edae49", "#6c4f9c", "#555555")

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "axes.prop_cycle": mpl.cycler(color=COLORS),
    "svg.hashsalt": "dl-foundations",  # reproducible output when notebooks are rebuilt
}


def use_course_style() -> None:
    """Apply the course style to every later plot in this process."""
    mpl.rcParams.update(STYLE)


@contextlib.contextmanager
def course_style() -> Iterator[None]:
    """Context manager: the course style inside the block only."""
    with mpl.rc_context(STYLE):
        yield


def new_figure(width: float = 6.4, height: float = 4.0) -> tuple[Figure, Axes]:
    """A figure that is not registered with pyplot (nothing is shown unless you display it)."""
    with course_style():
        fig = Figure(figsize=(width, height), dpi=STYLE["figure.dpi"])
        ax = fig.add_subplot()
    return fig, ax


def figure_png(fig: Figure) -> bytes:
    """Render ``fig`` to PNG bytes cropped to its content, without pyplot and without any display.

    Drawn once: ``savefig(bbox_inches="tight")`` draws a figure twice, once only to measure it;
    here the one drawing is measured and cropped to the same padded box (where the box reaches
    past the figure's edge, the margin is the figure's face colour).
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    pad = mpl.rcParams["savefig.pad_inches"]
    box = fig.get_tightbbox(renderer).padded(pad if isinstance(pad, (int, float)) else 0.1)
    box = box.transformed(fig.dpi_scale_trans)  # inches -> pixels, origin at the bottom left
    drawn = np.asarray(canvas.buffer_rgba())
    height, width = drawn.shape[:2]
    left, right = math.floor(box.x0), math.ceil(box.x1)
    top, bottom = math.floor(height - box.y1), math.ceil(height - box.y0)
    face = np.round(np.array(mpl.colors.to_rgba(fig.get_facecolor())) * 255).astype(np.uint8)
    pixels = np.empty((bottom - top, right - left, 4), dtype=np.uint8)
    pixels[...] = face
    rows, cols = slice(max(top, 0), min(bottom, height)), slice(max(left, 0), min(right, width))
    pixels[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left] = drawn[rows, cols]
    buf = io.BytesIO()
    mpl.image.imsave(buf, pixels, format="png", dpi=fig.dpi, metadata={"Software": None})
    return buf.getvalue()


def step_size_plot(
    hs,
    errors: Mapping[str, np.ndarray],
    h_mark: float | None = None,
    ax: Axes | None = None,
    eps: float = float(np.finfo(float).eps),
) -> Axes:
    """Log-log plot of a finite difference's relative error against the step ``h``.

    hs: (k,) steps; errors: label -> (k,) relative errors (zeros are drawn at eps).
    Dashed guides show slopes h (one-sided) and h**2 (centred) for truncation error and
    eps/h for round-off, so the two regimes and the best ``h`` between them are visible.
    """
    if ax is None:
        _, ax = new_figure()
    hs = np.asarray(hs, dtype=float)
    for label, err in errors.items():
        problems = value_problems(_as_values("step_size_plot", repr(label), err))
        if problems:
            _say("step_size_plot", f"the relative error of {label!r}", problems,
                 "the gradient it measures is not finite at some steps h")
    with course_style():
        for label, err in errors.items():
            ax.loglog(hs, np.maximum(np.asarray(err, dtype=float), eps), marker=".", label=label)
        ax.loglog(hs, eps / hs, ls="--", lw=1, color=COLORS[-1], label="round-off ~ eps/h")
        ax.loglog(hs, hs, ls="-.", lw=1, color=COLORS[-1], label="truncation ~ h (one-sided)")
        ax.loglog(hs, hs**2, ls=":", lw=1, color=COLORS[-1], label="truncation ~ h² (centred)")
        if h_mark is not None:
            ax.axvline(h_mark, color=COLORS[3], lw=2, alpha=0.8)
        ax.set_xlabel("step h")
        ax.set_ylabel("relative error of the gradient")
        ax.set_ylim(eps / 10, 10)
        ax.legend(loc="upper center", fontsize=8, ncol=2)
    return ax


def loss_curve_plot(losses: Mapping[str, Sequence[float]] | Sequence[float], ax: Axes | None = None,
                    log: bool = True) -> Axes:
    """Training loss against epoch; ``losses`` is one sequence or label -> sequence."""
    if ax is None:
        _, ax = new_figure()
    curves = losses if isinstance(losses, Mapping) else {"training loss": losses}
    curves = {label: _as_values("loss_curve_plot", repr(label), v) for label, v in curves.items()}
    log = log and _log_axis_possible("loss_curve_plot", curves, "a loss is a finite number >= 0; "
                                     "check the loss function and the learning rate")
    with course_style():
        for label, values in curves.items():
            values = np.asarray(values, dtype=float)
            ax.plot(np.arange(1, values.size + 1), values, label=label)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
    return ax


def decision_boundary_plot(
    predict: Callable[[np.ndarray], np.ndarray],
    X,
    Y,
    ax: Axes | None = None,
    resolution: int = 200,
    margin: float = 0.5,
) -> Axes:
    """Shade the plane by a classifier's probability and draw its 0.5 contour over the data.

    predict: maps points ``(2, k)`` to probabilities of class 1, ``(1, k)`` or ``(k,)``;
    X: (2, m) points; Y: (1, m) labels 0/1.
    """
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float).reshape(-1)
    if X.ndim != 2 or X.shape[0] != 2 or Y.size != X.shape[1]:
        raise ValueError(f"need X of shape (2, m) and Y with m labels; got {X.shape} and {Y.shape}")
    if ax is None:
        _, ax = new_figure()
    lo, hi = X.min(axis=1) - margin, X.max(axis=1) + margin
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.stack([gx.ravel(), gy.ravel()])
    prob = _probabilities(predict(grid), grid.shape[1]).reshape(gx.shape)
    with course_style():
        ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
        ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
        for label, color, marker in ((0, COLORS[0], "o"), (1, COLORS[1], "s")):
            pts = X[:, Y == label]
            ax.scatter(pts[0], pts[1], s=14, color=color, marker=marker, edgecolor="white",
                       linewidth=0.4, label=f"class {label}")
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(False)
    return ax


def network_diagram(
    layers: Sequence[Sequence[str]],
    node_text: Mapping[str, str] | None = None,
    edge_text: Mapping[tuple[str, str], str] | None = None,
    highlight: Sequence = (),
    ax: Axes | None = None,
    title: str = "",
) -> Axes:
    """Draw a small fully connected network: circles for units, lines for weights.

    layers: unit names per layer, input layer first (every unit feeds every unit of the next
    layer); node_text: text under a unit's name (its values); edge_text: (from, to) -> label
    drawn on that edge; highlight: unit names and (from, to) edges drawn in the accent colour.
    """
    node_text = dict(node_text or {})
    edge_text = dict(edge_text or {})
    marked = set(highlight)
    if ax is None:
        _, ax = new_figure(8.0, 4.6)
    pos = {}
    for col, names in enumerate(layers):
        for row, name in enumerate(names):
            pos[name] = (3.0 * col, (len(names) - 1) / 2.0 - row)
    accent, plain = COLORS[1], COLORS[-1]
    with course_style():
        ax.set_axis_off()
        for left, right in zip(layers[:-1], layers[1:], strict=False):
            for k, src in enumerate(left):
                for j, dst in enumerate(right):
                    (x0, y0), (x1, y1) = pos[src], pos[dst]
                    hot = (src, dst) in marked
                    ax.plot([x0, x1], [y0, y1], color=accent if hot else plain,
                            lw=2.2 if hot else 1.0, alpha=0.9 if hot else 0.5, zorder=1)
                    if (src, dst) in edge_text:
                        # Labels sit near the receiving unit, staggered so crossing edges stay readable.
                        t = 0.62 if k == j else 0.80
                        ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), edge_text[(src, dst)],
                                fontsize=8, ha="center", va="center", zorder=3,
                                color=accent if hot else "black",
                                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                      "alpha": 0.85})
        for name, (x, y) in pos.items():
            hot = name in marked
            ax.scatter([x], [y], s=900, color="white", edgecolor=accent if hot else COLORS[0],
                       linewidth=2.5 if hot else 1.5, zorder=2)
            ax.text(x, y, name, ha="center", va="center", fontsize=10, zorder=4)
            if name in node_text:
                ax.text(x, y - 0.22, node_text[name], ha="center", va="top", fontsize=8,
                        color=accent if hot else "black", zorder=4)
        xs = [p[0] for p in pos.values()]
        ys = [p[1] for p in pos.values()]
        ax.set_xlim(min(xs) - 0.8, max(xs) + 0.8)
        ax.set_ylim(min(ys) - 0.75, max(ys) + 0.45)
        if title:
            ax.set_title(title, fontsize=11)
    return ax


def weight_paths_plot(lams, paths: np.ndarray, ax: Axes | None = None, title: str = "") -> Axes:
    """Each weight against the penalty strength: ``paths`` (k, n) for the k values in ``lams``.

    lams: (k,) positive, drawn on a log axis; the weights exactly 0 are easy to spot.
    """
    lams = np.asarray(lams, dtype=float)
    paths = np.asarray(paths, dtype=float)
    if paths.ndim != 2 or paths.shape[0] != lams.size:
        raise ValueError(f"paths should have shape ({lams.size}, n), got {paths.shape}")
    if ax is None:
        _, ax = new_figure()
    problems = value_problems(paths)
    if problems:
        _say("weight_paths_plot", "the weights", problems, "check the fit that computed them")
    log_x = _log_axis_possible("weight_paths_plot", {"lams": lams}, "lambda is drawn on a log axis: "
                               "give positive values")
    with course_style():
        n = paths.shape[1]
        # Past six weights the course palette would repeat; use a qualitative map instead.
        colors = COLORS if n <= len(COLORS) else [mpl.colormaps["tab10"](i % 10) for i in range(n)]
        for i in range(n):
            ax.plot(lams, paths[:, i], label=f"w{i + 1}", color=colors[i])
        if log_x:
            ax.set_xscale("log")
        ax.axhline(0.0, color=COLORS[-1], lw=0.8)
        ax.set_xlabel("lambda")
        ax.set_ylabel("weight")
        if title:
            ax.set_title(title)
    return ax


def train_val_plot(train, val, steps=None, ax: Axes | None = None, stop: int | None = None,
                   best: int | None = None, xlabel: str = "epoch") -> Axes:
    """Training and validation loss on a log scale, with optional early-stopping markers.

    train, val: (k,) losses at ``steps`` (default 0..k-1); stop, best: indices into them.
    """
    train = np.asarray(train, dtype=float)
    val = np.asarray(val, dtype=float)
    steps = np.arange(train.size) if steps is None else np.asarray(steps)
    if not train.shape == val.shape == steps.shape:
        raise ValueError(f"train {train.shape}, val {val.shape} and steps {steps.shape} must match")
    if ax is None:
        _, ax = new_figure()
    log = _log_axis_possible("train_val_plot", {"the training loss": train, "the validation loss": val},
                             "a loss is a finite number >= 0; check the function that computed it")
    with course_style():
        ax.plot(steps, train, label="training loss")
        ax.plot(steps, val, label="validation loss")
        if log:
            ax.set_yscale("log")
        if best is not None:
            ax.axvline(steps[best], color=COLORS[2], ls="--", label=f"best (kept): {steps[best]}")
        if stop is not None:
            ax.axvline(steps[stop], color=COLORS[3], ls=":", lw=2, label=f"stopped: {steps[stop]}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("mean squared error")
        ax.legend()
    return ax


class BadValues(ValueError):
    """Values a plot cannot draw; shown in a notebook as the calling line and this message only."""

    def _render_traceback_(self) -> list[str]:
        import sys

        from helpers.checks import short_traceback

        ipython = sys.modules.get("IPython")
        shell = ipython.get_ipython() if ipython is not None else None
        stb = short_traceback(shell, type(self), self, self.__traceback__) if shell else None
        return stb or [f"{type(self).__name__}: {self}"]


def value_problems(values, log: bool = False) -> str:
    """What keeps ``values`` from being drawn as they are ("2 nan, 1 inf"), or "" when nothing does."""
    arr = np.asarray(values, dtype=float)
    problems = []
    for count, what in ((int(np.isnan(arr).sum()), "nan"), (int(np.isinf(arr).sum()), "inf")):
        if count:
            problems.append(f"{count} {what}")
    finite = arr[np.isfinite(arr)]
    if log and finite.size and not (finite > 0).any():
        problems.append("no value above 0, so nothing can be drawn on a log axis (drawn on a linear one)")
    elif log and (finite < 0).any():  # zeros are fine: a loss can reach 0; a log axis omits them
        problems.append(f"{int((finite < 0).sum())} negative values, which a log axis cannot show")
    return ", ".join(problems)


def _as_values(where: str, label: str, values) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise BadValues(f"{where}: {label} should be a sequence of numbers, got "
                        f"{type(values).__name__}") from None
    if arr.ndim != 1:
        raise BadValues(f"{where}: {label} should be one number per point, shape (k,); "
                        f"got shape {arr.shape}")
    return arr


def _say(where: str, label: str, problems: str, advice: str) -> None:
    print(f"{where}: {label} has {problems}: {advice}")


def _log_axis_possible(where: str, curves: Mapping[str, np.ndarray], advice: str) -> bool:
    """Say what is wrong with each curve; whether any curve has a positive value to draw on a log axis."""
    for label, arr in curves.items():
        problems = value_problems(arr, log=True)
        if problems:
            _say(where, repr(label), problems, advice)
    return any((arr[np.isfinite(arr)] > 0).any() for arr in curves.values())


def _probabilities(values, k: int) -> np.ndarray:
    """A classifier's output for ``k`` points as ``(k,)`` probabilities, in [0, 1] and finite."""
    try:
        prob = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise BadValues(f"decision_boundary_plot: predict should return numbers, got "
                        f"{type(values).__name__}") from None
    if prob.size != k or prob.ndim > 2 or (prob.ndim == 2 and 1 not in prob.shape):
        raise BadValues(f"decision_boundary_plot: predict was given points of shape (2, {k}) and "
                        f"returned shape {prob.shape}; it should return one probability per point, "
                        f"shape (1, {k}) or ({k},)")
    prob = prob.reshape(-1)
    problems = value_problems(prob)
    finite = prob[np.isfinite(prob)]
    outside = int(((finite < 0) | (finite > 1)).sum())
    if outside:
        problems = ", ".join(filter(None, [problems, f"{outside} values outside [0, 1]"]))
    if problems:
        _say("decision_boundary_plot", "predict's output", problems,
             "a probability is a finite number in [0, 1] (a sigmoid's output)")
    return np.clip(np.where(np.isfinite(prob), prob, 0.5), 0.0, 1.0)


def layer_histograms_plot(activations: Sequence, value_range: tuple[float, float], ax: Axes | None = None,
                          bins: int = 40, title: str = "", drop_zeros: bool = False) -> Axes:
    """One histogram per layer, stacked upwards (layer 1 at the bottom), on a shared value axis.

    activations: [A1, ..., AL], arrays of any shape; each histogram is scaled to the same height,
    and values outside ``value_range`` are counted in its first or last bin (so an exploding
    layer shows as a pile at the edge, a vanishing one as a spike at 0). ``drop_zeros`` leaves
    out entries that are exactly 0 (the switched-off half of a ReLU layer), so the rest shows.
    """
    if ax is None:
        _, ax = new_figure(4.0, 5.0)
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(f"value_range must be (low, high) with low < high, got {value_range}")
    edges = np.linspace(low, high, bins + 1)
    with course_style():
        for layer, A in enumerate(activations, start=1):
            values = np.asarray(A, dtype=float).ravel()
            if drop_zeros:
                values = values[values != 0]
            counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
            height = counts / max(int(counts.max()), 1) * 0.85
            # add_artist, not stairs: the limits are set below, and autoscaling to every step of
            # every layer's outline cost more than drawing them.
            ax.add_artist(StepPatch(layer + height, edges, baseline=layer, fill=True, facecolor=COLORS[0],
                                    linewidth=0, alpha=0.8))
        ax.set_yticks(range(1, len(activations) + 1))
        ax.set_ylim(0.8, len(activations) + 1)
        ax.set_xlim(low, high)
        ax.set_ylabel("layer")
        ax.set_xlabel("activation value")
        ax.grid(False)
        if title:
            ax.set_title(title, fontsize=10)
    return ax


def thinned_network_plot(layer_sizes: Sequence[int], kept: Sequence, ax: Axes | None = None,
                         title: str = "") -> Axes:
    """Draw a fully connected network after dropout: kept units and the weights between them.

    layer_sizes: units per layer, input first; kept: one boolean sequence per layer
    (``kept[l]`` of length ``layer_sizes[l]``, True for a unit that stays). Dropped units are
    drawn crossed out in grey, and every weight touching a dropped unit is left out, so what
    remains is the thinned network that this mask trains.
    """
    sizes = [int(n) for n in layer_sizes]
    keep = [np.asarray(k, dtype=bool).reshape(-1) for k in kept]
    if len(keep) != len(sizes) or any(k.size != n for k, n in zip(keep, sizes, strict=True)):
        raise ValueError(f"kept needs one entry per unit of layers {sizes}; got sizes "
                         f"{[k.size for k in keep]}")
    if ax is None:
        _, ax = new_figure(5.0, 3.6)
    pos = [[(1.6 * col, (n - 1) / 2.0 - row) for row in range(n)] for col, n in enumerate(sizes)]
    with course_style():
        ax.set_axis_off()
        for col in range(len(sizes) - 1):
            for i, (x0, y0) in enumerate(pos[col]):
                for j, (x1, y1) in enumerate(pos[col + 1]):
                    if keep[col][i] and keep[col + 1][j]:
                        ax.plot([x0, x1], [y0, y1], color=COLORS[0], lw=0.9, alpha=0.6, zorder=1)
        for col, units in enumerate(pos):
            for i, (x, y) in enumerate(units):
                if keep[col][i]:
                    ax.scatter([x], [y], s=220, color="white", edgecolor=COLORS[0], linewidth=1.8,
                               zorder=2)
                else:
                    ax.scatter([x], [y], s=220, color="#eeeeee", edgecolor="#bbbbbb", linewidth=1.0,
                               zorder=2)
                    ax.plot([x - 0.12, x + 0.12], [y - 0.12, y + 0.12], color=COLORS[1], lw=1.5, zorder=3)
                    ax.plot([x - 0.12, x + 0.12], [y + 0.12, y - 0.12], color=COLORS[1], lw=1.5, zorder=3)
        top = max(sizes)
        ax.set_xlim(-0.5, 1.6 * (len(sizes) - 1) + 0.5)
        ax.set_ylim(-(top - 1) / 2.0 - 0.6, (top - 1) / 2.0 + 0.6)
        if title:
            ax.set_title(title, fontsize=11)
    return ax


def trajectory_plot(surface, paths: Mapping[str, np.ndarray], ax: Axes | None = None,
                    title: str = "", resolution: int = 160) -> Axes:
    """Contours of a ``helpers.surfaces.Surface`` with the paths of several optimizers on top.

    paths: label -> (k, 2) points visited (a path may stop early when it diverged); the start
    is a black dot, the minimum a star. Contour levels are spaced evenly in log scale, so the
    valley floor and the steep walls are both visible.
    """
    if ax is None:
        _, ax = new_figure()
    gx, gy, z = surface.grid(resolution)
    gap = z - surface.f_min()
    levels = np.logspace(np.log10(max(gap.min(), 0.0) + 1e-3), np.log10(gap.max()), 18)
    with course_style():
        ax.contour(gx, gy, gap, levels=levels, colors=COLORS[-1], linewidths=0.6, alpha=0.55)
        for i, (label, path) in enumerate(paths.items()):
            path = np.asarray(path, dtype=float).reshape(-1, 2)
            ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, lw=1.3,
                    color=COLORS[i % (len(COLORS) - 1)], label=label)
        ax.plot(*surface.start, "o", color="black", markersize=6)
        ax.plot(*surface.minimum, "*", color=COLORS[3], markersize=14, markeredgecolor="black")
        ax.set_xlim(*surface.xlim)
        ax.set_ylim(*surface.ylim)
        ax.set_xlabel("$w_1$")
        ax.set_ylabel("$w_2$")
        ax.set_title(title or surface.name)
        ax.legend(loc="lower right", fontsize=8)
        ax.grid(False)
    return ax
