"""Unit tests of helpers.gradcheck: numerical gradients, relative error, gradient checks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import forward_difference

from helpers.gradcheck import check_gradient, numeric_grad, relative_error, step_size_errors

RNG_SEED = 20240611


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def grad_f(x, y, z):
    """Analytic gradient of the lecture's f = x**2*y + x*y*z + z + exp(x)*y**3*z**2."""
    e = np.exp(x)
    return np.array([2 * x * y + y * z + e * y**3 * z**2, x**2 + x * z + 3 * e * y**2 * z**2,
                     x * y + 1 + 2 * e * y**3 * z])


def lecture_f(v):
    x, y, z = v
    return x**2 * y + x * y * z + z + np.exp(x) * y**3 * z**2


# --------------------------------------------------------------------------------------------
# numeric_grad
# --------------------------------------------------------------------------------------------


def test_numeric_grad_of_a_quadratic_form():
    rng = np.random.default_rng(RNG_SEED)
    A = rng.standard_normal((5, 5))  # not symmetric: the gradient is (A + A.T) x + b
    b = rng.standard_normal(5)
    x = rng.standard_normal(5)
    numeric = numeric_grad(lambda v: v @ A @ v + b @ v, x)
    assert numeric.shape == (5,) and numeric.dtype == np.float64
    assert relative_error(numeric, (A + A.T) @ x + b) < 1e-8


@pytest.mark.parametrize("shape", [(), (1,), (4,), (3, 2), (2, 3, 4)], ids=str)
def test_numeric_grad_of_sin_for_any_shape(shape):
    rng = np.random.default_rng(RNG_SEED)
    x = rng.uniform(-2, 2, size=shape)
    numeric = numeric_grad(lambda v: float(np.sum(np.sin(v))), x)
    assert numeric.shape == np.shape(x)
    assert relative_error(numeric, np.cos(x)) < 1e-8


def test_numeric_grad_of_a_matrix_parameter_keeps_the_layout():
    # f(W) = sum((W @ X)**2): dW = 2 (W X) X^T, and entry (i, j) must land at (i, j).
    rng = np.random.default_rng(RNG_SEED)
    W, X = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    numeric = numeric_grad(lambda w: float(np.sum((w @ X) ** 2)), W)
    assert relative_error(numeric, 2 * (W @ X) @ X.T) < 1e-8


def test_numeric_grad_matches_the_course_reference_for_grad_f():
    reference = (10.43656365691809, 9.654845485377136, 24.74625462767236)  # COURSE_SPEC, 01
    np.testing.assert_allclose(grad_f(1.0, 2.0, 0.5), reference, rtol=1e-14)
    numeric = numeric_grad(lecture_f, np.array([1.0, 2.0, 0.5]))
    assert relative_error(numeric, reference) < 1e-8


def test_numeric_grad_is_a_centred_difference_with_the_given_step():
    # For x**3 the centred difference is exactly 3x**2 + h**2 (a one-sided one is off by ~3xh).
    x = np.array([0.5, -1.0, 2.0])
    for h in (1e-1, 1e-2):
        numeric = numeric_grad(lambda v: float(np.sum(v**3)), x, h=h)
        np.testing.assert_allclose(numeric, 3 * x**2 + h**2, rtol=1e-9, atol=1e-12)


def test_numeric_grad_leaves_x_unchanged_and_moves_one_coordinate_at_a_time():
    x = np.arange(6.0).reshape(2, 3) / 7
    original = x.copy()
    seen = []

    def f(v):
        seen.append(v.copy())
        return float(np.sum(v**2))

    numeric_grad(f, x, h=1e-3)
    np.testing.assert_array_equal(x, original)
    assert len(seen) == 2 * x.size  # the documented cost
    for point in seen:
        assert point.shape == x.shape
        moved = np.flatnonzero(point != original)
        assert moved.size == 1
        assert abs(point.flat[moved[0]] - original.flat[moved[0]]) == pytest.approx(1e-3, rel=1e-6)


def test_numeric_grad_works_for_integer_input_without_truncating_the_step():
    x = np.array([1, 2, 3])
    numeric = numeric_grad(lambda v: float(np.sum(v**2)), x)
    assert numeric.dtype == np.float64
    np.testing.assert_allclose(numeric, [2.0, 4.0, 6.0], rtol=1e-9)
    assert x.dtype.kind == "i"
    np.testing.assert_array_equal(x, [1, 2, 3])


def test_numeric_grad_accepts_lists_and_python_floats():
    np.testing.assert_allclose(numeric_grad(lambda v: float(np.sum(v**2)), [1.0, -2.0]),
                               [2.0, -4.0], rtol=1e-9)
    scalar = numeric_grad(lambda v: float(np.sin(v)), 0.7)
    assert scalar.shape == ()
    assert abs(float(scalar) - np.cos(0.7)) < 1e-10


def test_numeric_grad_accepts_functions_returning_numpy_scalars():
    numeric = numeric_grad(lambda v: np.sum(np.exp(v)), np.array([0.0, 1.0]))
    assert relative_error(numeric, np.exp([0.0, 1.0])) < 1e-9


# --------------------------------------------------------------------------------------------
# relative_error
# --------------------------------------------------------------------------------------------


def test_relative_error_of_equal_arrays_is_zero():
    a = np.array([[1.0, -2.0], [3.5, 0.0]])
    assert relative_error(a, a.copy()) == 0.0
    assert isinstance(relative_error(a, a), float)


def test_relative_error_of_two_zero_arrays_is_zero_not_nan():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(0.0, 0.0) == 0.0


@pytest.mark.parametrize("seed", range(5))
def test_relative_error_is_symmetric_and_between_0_and_1(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    forward, backward = relative_error(a, b), relative_error(b, a)
    assert forward == backward
    assert 0.0 < forward <= 1.0
    assert relative_error(1e-6 * a, 1e-6 * b) == pytest.approx(forward, rel=1e-12)


def test_relative_error_reference_values():
    b = np.array([3.0, 4.0])
    assert relative_error(b, -b) == pytest.approx(1.0, rel=1e-15)
    assert relative_error(2 * b, b) == pytest.approx(1 / 3, rel=1e-15)
    assert relative_error(np.zeros(2), b) == pytest.approx(1.0, rel=1e-15)
    assert relative_error([1.0, 0.0], [0.0, 1.0]) == pytest.approx(np.sqrt(2) / 2, rel=1e-15)


@pytest.mark.parametrize(
    ("a_shape", "b_shape"),
    [((2,), (3,)), ((2, 3), (3, 2)), ((3, 1), (3,))],
    ids=str,
)
def test_relative_error_rejects_different_shapes_naming_both(a_shape, b_shape):
    with pytest.raises(ValueError) as info:
        relative_error(np.ones(a_shape), np.ones(b_shape))
    assert str(a_shape) in str(info.value) and str(b_shape) in str(info.value)


def test_relative_error_with_inf_is_nan_without_a_warning():
    assert np.isnan(relative_error([np.inf, 1.0], [1.0, 1.0]))
    assert np.isnan(relative_error([1e308, 1e308], [-1e308, -1e308]))


# --------------------------------------------------------------------------------------------
# check_gradient
# --------------------------------------------------------------------------------------------


def quadratic(v):
    return float(np.sum(v**2) + 3 * v.flat[0])


def quadratic_grad(v):
    g = 2 * v.copy()
    g.flat[0] += 3
    return g


def test_check_gradient_passes_for_the_right_gradient(capsys):
    x = np.array([[0.3, -1.2], [2.0, 0.7]])
    err = check_gradient("dW", quadratic_grad(x), quadratic, x)
    assert isinstance(err, float) and 0.0 <= err < 1e-7
    out, stderr = capsys.readouterr()
    assert stderr == ""
    assert out.count("\n") == 1 and "dW" in out and "\u2714" in out


def test_check_gradient_fails_for_a_missing_factor_of_two(capsys):
    x = np.array([0.3, -1.2, 2.0])
    wrong = quadratic_grad(x) / 2
    with pytest.raises(AssertionError) as info:
        check_gradient("dW1", wrong, quadratic, x)
    message = str(info.value)
    assert "dW1" in message and "relative error" in message
    assert "numerical" in message and "yours" in message
    assert capsys.readouterr().out == ""


def test_check_gradient_fails_for_a_wrong_shape():
    x = np.array([0.3, -1.2, 2.0])
    with pytest.raises(AssertionError) as info:
        check_gradient("db", quadratic_grad(x).reshape(3, 1), quadratic, x)
    assert "db" in str(info.value) and "(3, 1)" in str(info.value) and "(3,)" in str(info.value)


def test_check_gradient_respects_tol():
    x = np.array([0.3, -1.2, 2.0])
    slightly_off = quadratic_grad(x) * (1 + 1e-5)
    err = check_gradient("dw", slightly_off, quadratic, x, tol=1e-4)
    assert 1e-7 < err < 1e-4
    with pytest.raises(AssertionError):
        check_gradient("dw", slightly_off, quadratic, x)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_check_gradient_fails_on_nan_or_inf_without_warnings(bad):
    x = np.array([0.3, -1.2])
    grad = quadratic_grad(x)
    grad[1] = bad
    with pytest.raises(AssertionError, match="relative error nan"):
        check_gradient("dw", grad, quadratic, x)


def test_check_gradient_rejects_rigged_objects():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    with pytest.raises(AssertionError, match="AlwaysEqual"):
        check_gradient("dw", AlwaysEqual(), quadratic, np.array([1.0, 2.0]))


def test_check_gradient_leaves_x_unchanged():
    x = np.array([0.3, -1.2, 2.0])
    before = x.copy()
    check_gradient("dw", quadratic_grad(x), quadratic, x)
    np.testing.assert_array_equal(x, before)


# --------------------------------------------------------------------------------------------
# step_size_errors
# --------------------------------------------------------------------------------------------

X0 = np.array([0.3, -1.2, 2.0])


def sin_sum(v):
    return float(np.sum(np.sin(v)))


def test_step_size_errors_has_one_entry_per_step_and_matches_relative_error():
    hs = np.logspace(-13, -1, 13)
    errors = step_size_errors(numeric_grad, sin_sum, np.cos(X0), X0, hs)
    assert errors.shape == (13,) and errors.dtype == np.float64
    for h, err in zip(hs, errors, strict=True):
        assert err == relative_error(numeric_grad(sin_sum, X0, h), np.cos(X0))


def test_step_size_errors_passes_each_step_as_a_python_float():
    seen = []

    def recording(f, x, h):
        seen.append(h)
        return numeric_grad(f, x, h)

    step_size_errors(recording, sin_sum, np.cos(X0), X0, np.array([1e-3, 1e-6]))
    assert seen == [1e-3, 1e-6] and all(type(h) is float for h in seen)


def test_centred_differences_trace_a_u_shape():
    hs = [1e-1, 1e-5, 1e-13]
    big_h, best_h, tiny_h = step_size_errors(numeric_grad, sin_sum, np.cos(X0), X0, hs)
    assert best_h < 1e-9
    assert best_h < 1e-4 * big_h  # truncation error dominates at h = 0.1
    assert best_h < 1e-4 * tiny_h  # round-off dominates at h = 1e-13
    assert tiny_h > 1e-6


def test_truncation_error_is_second_order_for_centred_and_first_order_for_one_sided():
    hs = [1e-1, 1e-2, 1e-3]
    centred = step_size_errors(numeric_grad, sin_sum, np.cos(X0), X0, hs)
    one_sided = step_size_errors(forward_difference, sin_sum, np.cos(X0), X0, hs)
    np.testing.assert_allclose(centred[:-1] / centred[1:], 100, rtol=0.05)  # error ~ h**2
    np.testing.assert_allclose(one_sided[:-1] / one_sided[1:], 10, rtol=0.1)  # error ~ h
    assert np.all(centred < one_sided)


def test_step_size_errors_on_the_lecture_function():
    reference = (10.43656365691809, 9.654845485377136, 24.74625462767236)
    errors = step_size_errors(numeric_grad, lecture_f, reference, np.array([1.0, 2.0, 0.5]),
                              [1e-1, 1e-5, 1e-13])
    assert errors[1] < 1e-9 and errors[1] < 1e-4 * min(errors[0], errors[2])


# --------------------------------------------------------------------------------------------
# aligned, check_gradients
# --------------------------------------------------------------------------------------------

from helpers.gradcheck import aligned, check_gradients  # noqa: E402


def test_aligned_puts_every_row_under_the_first():
    text = aligned("  numerical: ", np.array([[1.0, -2.5], [30.25, 4.0]]))
    first, second = text.splitlines()
    assert first.startswith("  numerical: [[")
    assert len(first) + 1 == len(second)  # the last row closes both brackets
    assert first.index("[[") + 1 == second.index("[")


def test_aligned_rows_of_two_labels_of_equal_length_line_up():
    a = aligned("  numerical: ", np.arange(6.0).reshape(3, 2)).splitlines()
    b = aligned("  yours:     ", np.arange(6.0).reshape(3, 2) * 1.5).splitlines()
    assert [line.index("[") for line in a[1:]] == [line.index("[") for line in b[1:]]


def _quadratic_problem():
    rng = np.random.default_rng(RNG_SEED)
    params = {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=(3, 1))}

    def loss(p):
        return float(np.sum(p["W1"] ** 2) + 0.5 * np.sum(p["b1"] ** 3))

    grads = {"dW1": 2 * params["W1"], "db1": 1.5 * params["b1"] ** 2}
    return params, loss, grads


def test_check_gradients_passes_and_reports_every_parameter(capsys):
    params, loss, grads = _quadratic_problem()
    saved = {k: v.copy() for k, v in params.items()}
    errors = check_gradients(grads, loss, params)
    assert set(errors) == {"dW1", "db1"} and max(errors.values()) < 1e-9
    out = capsys.readouterr().out
    assert "dW1: agrees" in out and "db1: agrees" in out
    for key in params:
        np.testing.assert_array_equal(params[key], saved[key])


def test_check_gradients_goes_on_after_a_failure_and_names_each_failing_parameter(capsys):
    params, loss, grads = _quadratic_problem()
    wrong = {"dW1": grads["dW1"] / 2, "db1": -grads["db1"]}
    with pytest.raises(AssertionError) as info:
        check_gradients(wrong, loss, params, label="relu")
    message = str(info.value)
    assert "relu: dW1 disagrees" in message and "relu: db1 disagrees" in message
    out = capsys.readouterr().out
    assert out.count("\u2718") == 2
    numerical = [ln for ln in message.splitlines() if ln.startswith("  numerical: ")][0]
    yours = [ln for ln in message.splitlines() if ln.startswith("  yours:     ")][0]
    assert numerical.index("[") == yours.index("[")


def test_check_gradients_reports_missing_and_misshapen_gradients():
    params, loss, grads = _quadratic_problem()
    with pytest.raises(AssertionError) as info:
        check_gradients({"dW1": grads["dW1"].T}, loss, params)
    message = str(info.value)
    assert "dW1 has shape (2, 3)" in message and "db1 is missing" in message


def test_check_gradients_uses_the_loss_it_is_given_not_the_gradients():
    params, loss, grads = _quadratic_problem()
    with pytest.raises(AssertionError, match="dW1 disagrees"):
        check_gradients(grads, lambda p: 2.0 * loss(p), params)
