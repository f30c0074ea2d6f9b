"""Small seeded data sets for training demos, in the course's column convention.

Every generator takes ``rng: numpy.random.Generator`` and returns ``(X, Y)`` with
``X: (2, m)`` float64 points (one example per column) and ``Y: (1, m)`` labels 0.0 or 1.0,
examples shuffled so that any prefix holds both classes.
"""

from __future__ import annotations

import numpy as np

__all__ = ["circles", "noisy_sine", "split", "two_moons"]


def _check_common(m: int, noise: float, rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if isinstance(m, bool) or not isinstance(m, int | np.integer) or m < 2:
        raise ValueError(f"m must be an integer >= 2 (one example of each class), got {m!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")


def _shuffled(points: np.ndarray, labels: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    order = rng.permutation(labels.size)
    return points[:, order], labels[order].reshape(1, -1).astype(np.float64)


def two_moons(m: int, rng: np.random.Generator, noise: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaved half circles: class 0 on the upper arc, class 1 on the lower one.

    m: number of examples (split as evenly as possible); noise: standard deviation of the
    Gaussian jitter added to both coordinates. Returns X: (2, m), Y: (1, m).
    Not linearly separable, so a logistic regression stays near 85 % while a small network
    gets above 95 % at noise 0.1.
    """
    _check_common(m, noise, rng)
    m_upper = m // 2
    m_lower = m - m_upper
    t_upper = rng.uniform(0.0, np.pi, m_upper)
    t_lower = rng.uniform(0.0, np.pi, m_lower)
    upper = np.stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    points = np.concatenate([upper, lower], axis=1) + noise * rng.standard_normal((2, m))
    labels = np.concatenate([np.zeros(m_upper), np.ones(m_lower)])
    return _shuffled(points, labels, rng)


def circles(
    m: int, rng: np.random.Generator, noise: float = 0.05, factor: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Two concentric circles: class 0 on the unit circle, class 1 on radius ``factor``.

    m: number of examples; noise: Gaussian jitter; factor: inner radius, in (0, 1).
    Returns X: (2, m), Y: (1, m).
    """
    _check_common(m, noise, rng)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must lie strictly between 0 and 1, got {factor!r}")
    m_outer = m // 2
    m_inner = m - m_outer
    angles = rng.uniform(0.0, 2.0 * np.pi, m)
    radius = np.concatenate([np.ones(m_outer), np.full(m_inner, factor)])
    points = radius * np.stack([np.cos(angles), np.sin(angles)])
    points = points + noise * rng.standard_normal((2, m))
    labels = np.concatenate([np.zeros(m_outer), np.ones(m_inner)])
    return _shuffled(points, labels, rng)


def noisy_sine(m: int, rng: np.random.Generator, noise: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """A regression set: x uniform on [-1, 1], y = sin(pi x) plus Gaussian noise.

    Returns X: (1, m) inputs and Y: (1, m) targets (not sorted). Small samples of it are what a
    high-degree polynomial over-fits.
    """
    _check_common(m, noise, rng)
    x = rng.uniform(-1.0, 1.0, m)
    y = np.sin(np.pi * x) + noise * rng.standard_normal(m)
    return x.reshape(1, -1), y.reshape(1, -1)


def split(X, Y, fraction: float, rng: np.random.Generator):
    """Random split of the columns of ``X: (n, m)`` and ``Y: (k, m)`` into two parts.

    The first part gets ``round(fraction * m)`` examples. Returns (X_a, Y_a, X_b, Y_b), copies.
    """
    X, Y = np.asarray(X, dtype=float), np.asarray(Y, dtype=float)
    if X.ndim != 2 or Y.ndim != 2 or X.shape[1] != Y.shape[1]:
        raise ValueError(f"X and Y need one column per example; got shapes {X.shape} and {Y.shape}")
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction!r}")
    m = X.shape[1]
    order = rng.permutation(m)
    cut = int(round(fraction * m))
    first, second = order[:cut], order[cut:]
    return X[:, first], Y[:, first], X[:, second], Y[:, second]
