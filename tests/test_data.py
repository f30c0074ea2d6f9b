"""Unit tests of helpers.data: seeded, shaped, balanced, and hard for a linear classifier."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import data

GENERATORS = [data.two_moons, data.circles]


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("m", [2, 3, 101, 400])
def test_shapes_dtypes_and_balance(make, m):
    X, Y = make(m, np.random.default_rng(0))
    assert X.shape == (2, m) and Y.shape == (1, m)
    assert X.dtype == np.float64 and Y.dtype == np.float64
    assert set(np.unique(Y)) == {0.0, 1.0}
    assert abs(int(Y.sum()) - m / 2) <= 0.5
    assert np.isfinite(X).all()


@pytest.mark.parametrize("make", GENERATORS)
def test_same_seed_same_data_other_seed_other_data(make):
    a = make(50, np.random.default_rng(3))
    b = make(50, np.random.default_rng(3))
    c = make(50, np.random.default_rng(4))
    assert all(np.array_equal(u, v) for u, v in zip(a, b, strict=True))
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("make", GENERATORS)
def test_global_random_state_is_neither_used_nor_changed(make):
    state = np.random.get_state()
    np.random.seed(123)
    first = make(20, np.random.default_rng(1))
    np.random.seed(999)
    second = make(20, np.random.default_rng(1))
    np.random.set_state(state)
    assert np.array_equal(first[0], second[0])


@pytest.mark.parametrize("make", GENERATORS)
def test_examples_are_shuffled(make):
    _, Y = make(200, np.random.default_rng(0))
    assert 0 < Y[0, :20].sum() < 20, "the first examples should hold both classes"


def test_noise_free_moons_lie_on_their_arcs():
    X, Y = data.two_moons(300, np.random.default_rng(2), noise=0.0)
    upper, lower = X[:, Y[0] == 0], X[:, Y[0] == 1]
    assert np.allclose(np.hypot(upper[0], upper[1]), 1.0) and (upper[1] >= -1e-12).all()
    assert np.allclose(np.hypot(lower[0] - 1.0, lower[1] - 0.5), 1.0) and (lower[1] <= 0.5 + 1e-12).all()


def test_noise_free_circles_have_their_radii():
    X, Y = data.circles(300, np.random.default_rng(2), noise=0.0, factor=0.3)
    radius = np.hypot(X[0], X[1])
    assert np.allclose(radius[Y[0] == 0], 1.0) and np.allclose(radius[Y[0] == 1], 0.3)


def _least_squares_accuracy(X, Y, features):
    """Training accuracy of a least-squares linear classifier on the given feature map."""
    F = np.vstack([features(X), np.ones(X.shape[1])])
    w, *_ = np.linalg.lstsq(F.T, 2 * Y[0] - 1, rcond=None)
    return float(np.mean((F.T @ w > 0) == (Y[0] > 0.5)))


def test_moons_defeat_a_straight_line_but_not_a_curved_boundary():
    X, Y = data.two_moons(400, np.random.default_rng(0), noise=0.1)
    linear = _least_squares_accuracy(X, Y, lambda P: P)
    cubic = _least_squares_accuracy(X, Y, lambda P: np.vstack([P, P**2, P**3, P[0] * P[1]]))
    assert linear < 0.92 and cubic > linear + 0.04


def test_circles_defeat_a_straight_line_but_not_the_radius():
    X, Y = data.circles(400, np.random.default_rng(0))
    assert _least_squares_accuracy(X, Y, lambda P: P) < 0.7
    assert _least_squares_accuracy(X, Y, lambda P: (P**2).sum(axis=0, keepdims=True)) > 0.97


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("m", [0, 1, -5, 2.5, True])
def test_bad_sizes_are_value_errors(make, m):
    with pytest.raises(ValueError, match="m must be"):
        make(m, np.random.default_rng(0))


@pytest.mark.parametrize("make", GENERATORS)
def test_negative_noise_and_missing_generator_are_refused(make):
    with pytest.raises(ValueError, match="noise"):
        make(10, np.random.default_rng(0), noise=-0.1)
    with pytest.raises(TypeError, match="Generator"):
        make(10, 0)


@pytest.mark.parametrize("factor", [0.0, 1.0, 1.5, -0.2])
def test_circles_factor_must_lie_inside(factor):
    with pytest.raises(ValueError, match="factor"):
        data.circles(10, np.random.default_rng(0), factor=factor)


def test_split_partitions_the_columns_and_copies():
    X, Y = data.two_moons(50, np.random.default_rng(0))
    X_before = X.copy()
    Xa, Ya, Xb, Yb = data.split(X, Y, 0.8, np.random.default_rng(1))
    assert Xa.shape == (2, 40) and Ya.shape == (1, 40) and Xb.shape == (2, 10) and Yb.shape == (1, 10)
    joined = np.hstack([Xa, Xb])
    assert sorted(map(tuple, joined.T)) == sorted(map(tuple, X.T))
    Xa[:] = 0.0
    assert np.array_equal(X, X_before)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 2.0])
def test_split_refuses_empty_parts(fraction):
    X, Y = data.circles(10, np.random.default_rng(0))
    with pytest.raises(ValueError, match="fraction"):
        data.split(X, Y, fraction, np.random.default_rng(0))


def test_split_refuses_mismatched_columns():
    with pytest.raises(ValueError, match=r"\(2, 5\)"):
        data.split(np.zeros((2, 5)), np.zeros((1, 4)), 0.5, np.random.default_rng(0))


def test_noisy_sine_shapes_seed_and_noise():
    X, Y = data.noisy_sine(40, np.random.default_rng(0), noise=0.0)
    assert X.shape == Y.shape == (1, 40)
    assert (np.abs(X) <= 1).all() and np.allclose(Y, np.sin(np.pi * X))
    X2, Y2 = data.noisy_sine(40, np.random.default_rng(0), noise=0.3)
    assert np.array_equal(X, X2) and 0.1 < np.std(Y2 - np.sin(np.pi * X2)) < 0.5
    with pytest.raises(ValueError, match="noise"):
        data.noisy_sine(10, np.random.default_rng(0), noise=-1.0)
