"""Two-dimensional loss surfaces for watching optimizers move, and a loop that records the path.

A ``Surface`` bundles a function of a point ``w: (2,)``, its gradient, a starting point, the
minimiser and a plotting window. ``trajectory`` runs any step rule on it and records every point;
``steps_to_tolerance`` reads off how many steps a path needed to get close to the minimum. The
step rules themselves (gradient descent, momentum, ...) are the notebook's exercises, not here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["Surface", "ill_conditioned_quadratic", "rosenbrock", "steps_to_tolerance", "trajectory"]


@dataclass(frozen=True)
class Surface:
    """A function of ``w: (2,)`` with its gradient, start, minimiser and plotting window."""

    name: str
    f: Callable[[np.ndarray], float]
    grad: Callable[[np.ndarray], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    xlim: tuple[float, float]
    ylim: tuple[float, float]

    def f_min(self) -> float:
        return float(self.f(np.array(self.minimum)))

    def grid(self, resolution: int = 160) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(X, Y, Z) on the plotting window, for contour plots: each (resolution, resolution)."""
        gx, gy = np.meshgrid(np.linspace(*self.xlim, resolution), np.linspace(*self.ylim, resolution))
        z = self.f(np.stack([gx, gy]))
        return gx, gy, np.asarray(z, dtype=float)


def ill_conditioned_quadratic(a: float = 1.0, b: float = 20.0) -> Surface:
    """f(w) = (a w0**2 + b w1**2) / 2: a long narrow valley when b >> a (condition number b/a)."""
    if not (a > 0 and b > 0):
        raise ValueError(f"a and b must be positive, got a={a}, b={b}")

    def f(w):
        w = np.asarray(w, dtype=float)
        return 0.5 * (a * w[0] ** 2 + b * w[1] ** 2)

    def grad(w):
        w = np.asarray(w, dtype=float)
        return np.array([a * w[0], b * w[1]])

    return Surface(f"quadratic, condition number {b / a:g}", f, grad, start=(-4.5, 1.5),
                   minimum=(0.0, 0.0), xlim=(-5.0, 5.0), ylim=(-2.0, 2.0))


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Surface:
    """f(w) = (a - w0)**2 + b (w1 - w0**2)**2: a curved banana valley, minimum at (a, a**2)."""

    def f(w):
        w = np.asarray(w, dtype=float)
        return (a - w[0]) ** 2 + b * (w[1] - w[0] ** 2) ** 2

    def grad(w):
        w = np.asarray(w, dtype=float)
        inner = w[1] - w[0] ** 2
        return np.array([-2.0 * (a - w[0]) - 4.0 * b * w[0] * inner, 2.0 * b * inner])

    return Surface("Rosenbrock", f, grad, start=(-1.5, 2.0), minimum=(a, a * a),
                   xlim=(-2.0, 2.0), ylim=(-1.0, 3.0))


def trajectory(step: Callable[[np.ndarray, np.ndarray], np.ndarray], surface: Surface,
               n_steps: int, start=None, bound: float = 1e3) -> np.ndarray:
    """Every point visited by ``step`` from the surface's start: an array (k + 1, 2), k <= n_steps.

    step(w, dw) -> new w, called once per step with the gradient at w (it may keep state between
    calls, e.g. a velocity). The run stops early when a point leaves the box |w| <= bound or is
    not finite (a diverging learning rate), so nothing overflows.
    """
    w = np.array(surface.start if start is None else start, dtype=float)
    points = [w.copy()]
    for _ in range(int(n_steps)):
        with np.errstate(all="ignore"):
            w = np.asarray(step(w, surface.grad(w)), dtype=float)
        if w.shape != (2,):
            raise ValueError(f"the step returned shape {w.shape}, expected (2,)")
        if not np.all(np.isfinite(w)) or np.abs(w).max() > bound:
            break
        points.append(w.copy())
    return np.array(points)


def steps_to_tolerance(path, surface: Surface, tol: float) -> int | None:
    """The first step k with f(path[k]) - f_min < tol, or None if the path never gets there."""
    path = np.asarray(path, dtype=float)
    gaps = np.array([surface.f(p) for p in path]) - surface.f_min()
    hits = np.flatnonzero(gaps < tol)
    return int(hits[0]) if hits.size else None
