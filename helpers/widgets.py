"""Interactive explorers for the notebooks (ipywidgets).

Each explorer keeps its logic in plain methods (``update``) that tests call without a browser;
the widgets only forward slider values to them. Plots are rendered to PNG off-screen and shown in
an ``Image`` widget, so no pyplot state or output capture is involved.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as ipw
import numpy as np

from helpers import gradcheck, plots

__all__ = ["StepSizeExplorer"]


class StepSizeExplorer:
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

    def _repr_mimebundle_(self, **kwargs):
        return self.ui._repr_mimebundle_(**kwargs)
