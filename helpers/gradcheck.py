"""Numerical gradients for checking backward passes (used from topic 02 on).

Topic 01 asks students to write their own centred-difference gradient; later topics use this one
so that a test of a backward pass never depends on the student's earlier exercises.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "aligned", "check_gradient", "check_gradients", "numeric_grad", "relative_error", "step_size_errors",
]


def numeric_grad(f: Callable[[np.ndarray], float], x, h: float = 1e-5) -> np.ndarray:
    """Centred-difference estimate of the gradient of a scalar function ``f`` at ``x``.

    x: array of any shape (copied, never modified); returns an array of float64 of x's shape.
    Costs 2 * x.size evaluations of ``f``; the error is O(h**2) plus round-off of order eps/h.
    """
    point = np.array(x, dtype=np.float64, copy=True)
    coords = point.reshape(-1)  # a view: writing coords moves the point f sees
    slopes = np.zeros(coords.size)
    for k in range(coords.size):
        centre = coords[k]
        coords[k] = centre + h
        above = float(f(point))
        coords[k] = centre - h
        below = float(f(point))
        coords[k] = centre
        slopes[k] = (above - below) / (2.0 * h)
    return slopes.reshape(point.shape)


def relative_error(a, b) -> float:
    """``||a - b|| / (||a|| + ||b||)``, 0.0 when both are zero; a and b of the same shape."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"relative_error needs equal shapes, got {a.shape} and {b.shape}")
    with np.errstate(all="ignore"):  # inf or huge entries give nan, never a RuntimeWarning
        scale = np.linalg.norm(a) + np.linalg.norm(b)
        return 0.0 if scale == 0 else float(np.linalg.norm(a - b) / scale)


def check_gradient(name: str, analytic, f: Callable, x, tol: float = 1e-7, h: float = 1e-5) -> float:
    """Check an analytic gradient against ``numeric_grad(f, x)``: relative error below ``tol``.

    Prints one line and returns the relative error when it passes; raises AssertionError naming
    ``name`` with both gradients when it does not.
    """
    from helpers.checks import as_array

    got = as_array(name, analytic)
    numeric = numeric_grad(f, x, h)
    if got.shape != numeric.shape:
        raise AssertionError(f"{name} has shape {got.shape}, the parameter has {numeric.shape}.")
    err = relative_error(got, numeric)
    if not err < tol:
        raise AssertionError(_disagreement(name, err, tol, numeric, got))
    print(f"\u2714 {name}: agrees with the numerical gradient (relative error {err:.1e})")
    return err


def step_size_errors(grad_fn: Callable, f: Callable, exact, x, hs) -> np.ndarray:
    """Relative error of ``grad_fn(f, x, h)`` against ``exact`` for every step ``h`` in ``hs``.

    grad_fn: a finite-difference gradient with the signature of the topic-01 exercise,
    ``grad_fn(f, x, h) -> array shaped like x``. Returns an array of len(hs) errors.
    """
    exact = np.asarray(exact, dtype=np.float64)
    return np.array([relative_error(grad_fn(f, x, float(h)), exact) for h in hs])


def aligned(label: str, value, precision: int = 6) -> str:
    """``label`` followed by ``value`` as an array whose later rows line up under the first row.

    value: a number or an array of any shape. Used wherever two arrays are printed one above the
    other (numerical against yours), so that their entries can be compared column by column.
    """
    arr = np.asarray(value, dtype=np.float64)
    with np.errstate(all="ignore"):
        text = np.array2string(arr, precision=precision, threshold=40, edgeitems=3,
                               max_line_width=100, prefix=label)
    return label + text


def _disagreement(name: str, err: float, tol: float, numeric: np.ndarray, got: np.ndarray) -> str:
    """The failure message of a gradient check: the error, then both gradients aligned."""
    return (f"{name} disagrees with the numerical gradient: relative error {err:.2e} "
            f"(must be < {tol:g}).\n" + aligned("  numerical: ", numeric) + "\n"
            + aligned("  yours:     ", got))


def check_gradients(grads, loss: Callable, params, tol: float = 1e-7, h: float = 1e-5,
                    label: str = "") -> dict[str, float]:
    """Check the gradient of every parameter against ``numeric_grad`` of a known-good loss.

    grads: {"dW1": (n_1, n_0), "db1": (n_1, 1), ...}, one entry "d" + name per parameter;
    loss: a function of a whole params dict returning a number, known to be right (not the loss
    under test); params: {"W1": (n_1, n_0), "b1": (n_1, 1), ...}, never modified.
    Every parameter is checked, one printed line each, even after a failure; then an
    AssertionError names each parameter that disagrees, with the numerical gradient and yours
    printed aligned. Returns {"dW1": relative error, ...} when all agree.
    """
    from helpers.checks import as_array

    prefix = f"{label}: " if label else ""
    errors, failures = {}, []
    for key in params:
        name = f"d{key}"
        if name not in grads:
            failures.append(f"{prefix}{name} is missing from grads.")
            print(f"\u2718 {prefix}{name}: missing from grads")
            continue
        try:
            got = as_array(name, grads[name])
        except AssertionError as err:
            failures.append(f"{prefix}{err}")
            print(f"\u2718 {prefix}{name}: not an array of numbers")
            continue
        base = {k: np.array(v, dtype=np.float64, copy=True) for k, v in params.items()}
        numeric = numeric_grad(lambda value, key=key, base=base: loss({**base, key: value}), base[key], h)
        if got.shape != numeric.shape:
            failures.append(f"{prefix}{name} has shape {got.shape}, the parameter {key} has {numeric.shape}.")
            print(f"\u2718 {prefix}{name}: shape {got.shape}, expected {numeric.shape}")
            continue
        err = relative_error(got, numeric)
        errors[name] = err
        if err < tol:
            print(f"\u2714 {prefix}{name}: agrees with the numerical gradient (relative error {err:.1e})")
        else:
            print(f"\u2718 {prefix}{name}: relative error {err:.1e}, disagrees")
            failures.append(prefix + _disagreement(name, err, tol, numeric, got))
    if failures:
        raise AssertionError("\n".join(failures))
    return errors

