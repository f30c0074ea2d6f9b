"""One plotting style for the whole course, and the plots that several notebooks draw.

Functions draw on a matplotlib ``Axes`` they are given (or a new one), so a notebook can place
them anywhere and a widget can render them off-screen with ``figure_png``.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator, Mapping

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "STYLE",
    "course_style",
    "figure_png",
    "new_figure",
    "step_size_plot",
    "use_course_style",
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
    """Render ``fig`` to PNG bytes, without pyplot and without any display."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", metadata={"Software": None})
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
