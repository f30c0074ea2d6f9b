"""Unit tests of helpers.checks: what a student sees when a check passes or fails.

Every test here runs with warnings turned into errors (the autouse fixture below): a warning in a
graded notebook goes to stderr, and nbgrader gives a test cell zero points for any stderr output.
"""

from __future__ import annotations

import fractions
import warnings

import numpy as np
import pytest

from helpers import checks
from helpers.checks import (
    PASS_MARK,
    as_array,
    check_close,
    check_finite,
    check_in_range,
    check_raises,
    check_scalar,
    check_shape,
    check_unchanged,
    copy_inputs,
)

SIGN = "opposite sign"
HALF = "half the expected value"
DOUBLE = "twice the expected value"
TRANSPOSE = "transpose of the expected array"
GENERIC_HINTS = (SIGN, HALF, DOUBLE, TRANSPOSE)


@pytest.fixture(autouse=True)
def warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def failure(capsys, func, *args, **kwargs) -> str:
    """Call a check that must fail; return its message, having checked it wrote nothing."""
    capsys.readouterr()  # forget what earlier calls printed
    with pytest.raises(AssertionError) as info:
        func(*args, **kwargs)
    out, err = capsys.readouterr()
    assert out == "", f"a failing check printed {out!r}"
    assert err == "", f"a failing check wrote to stderr: {err!r}"
    return str(info.value)


def hints_in(message: str) -> list[str]:
    return [hint for hint in GENERIC_HINTS if hint in message]


# --------------------------------------------------------------------------------------------
# Passing: one short line on stdout, nothing on stderr, None returned.
# --------------------------------------------------------------------------------------------

PASSING_CALLS = {
    "close scalar": lambda: check_close("loss", 0.5 + 1e-12, 0.5),
    "close array": lambda: check_close("dW1", np.arange(6.0).reshape(2, 3), [[0, 1, 2], [3, 4, 5]]),
    "close int vs float": lambda: check_close("count", 3, 3.0),
    "close 0-d array": lambda: check_close("loss", np.array(0.25), 0.25),
    "close within rtol": lambda: check_close("loss", 1.0 + 5e-8, 1.0),
    "shape": lambda: check_shape("A1", np.zeros((4, 3)), (4, 3)),
    "scalar with expected": lambda: check_scalar("cost", 0.693, 0.693),
    "scalar without expected": lambda: check_scalar("cost", 2.5),
    "finite": lambda: check_finite("Z", np.ones((2, 2))),
    "in range": lambda: check_in_range("p", [0.0, 0.5, 1.0], 0.0, 1.0),
    "unchanged": lambda: check_unchanged("X", np.arange(3.0), np.arange(3.0)),
    "raises": lambda: check_raises("bad p", ValueError, int, "x"),
}


@pytest.mark.parametrize("call", PASSING_CALLS.values(), ids=PASSING_CALLS.keys())
def test_success_prints_exactly_one_short_line_and_nothing_to_stderr(capsys, call):
    assert call() is None
    out, err = capsys.readouterr()
    assert err == ""
    assert out.endswith("\n") and out.count("\n") == 1, repr(out)
    assert out.startswith(PASS_MARK + " ")
    assert len(out) <= 80, f"pass line too long: {out!r}"


def test_success_line_names_the_quantity(capsys):
    check_close("dW2", [1.0, 2.0], [1.0, 2.0])
    check_scalar("E_total", 0.298371109, 0.298371109)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    assert "dW2" in out[0] and "(2,)" in out[0]
    assert "E_total" in out[1]


# --------------------------------------------------------------------------------------------
# Value failures: the message names the quantity, what was expected and what was received.
# --------------------------------------------------------------------------------------------


def test_scalar_failure_names_quantity_expected_and_got(capsys):
    message = failure(capsys, check_close, "net_h1", 0.3875, 0.3775)
    assert "net_h1" in message
    assert "expected" in message and "got" in message
    assert "0.3775" in message and "0.3875" in message
    assert "rtol=1e-07" in message


def test_array_failure_reports_the_largest_difference_and_its_index(capsys):
    expected = np.zeros((2, 3))
    got = expected.copy()
    got[1, 2] = 0.25
    got[0, 0] = 0.125
    message = failure(capsys, check_close, "dZ", got, expected)
    assert "dZ" in message and "expected" in message and "got" in message
    assert "largest difference 0.25 at index (1, 2)" in message


def test_tolerances_are_applied_as_given(capsys):
    check_close("w", 1.001, 1.0, rtol=1e-2)
    assert capsys.readouterr().out.count("\n") == 1
    message = failure(capsys, check_close, "w", 1.001, 1.0, rtol=1e-4)
    assert "rtol=0.0001" in message
    check_close("w", 1e-9, 0.0, atol=1e-8)
    failure(capsys, check_close, "w", 1e-9, 0.0)


def test_a_check_that_fails_does_not_pass_silently_on_tiny_relative_error(capsys):
    # Default rtol is 1e-7: 1e-6 relative error must fail.
    failure(capsys, check_close, "out_o", 0.75136507 * (1 + 1e-6), 0.75136507)


# --------------------------------------------------------------------------------------------
# Mistake hints.
# --------------------------------------------------------------------------------------------

VECTOR = np.array([0.5, -1.5, 2.0])
SQUARE = np.array([[1.0, 2.0], [3.0, 4.0]])  # not symmetric, so its transpose differs


@pytest.mark.parametrize(
    ("got", "expected", "hint"),
    [
        (-VECTOR, VECTOR, SIGN),
        (VECTOR / 2, VECTOR, HALF),
        (VECTOR * 2, VECTOR, DOUBLE),
        (-0.3775, 0.3775, SIGN),
        (0.3775 / 2, 0.3775, HALF),
        (0.3775 * 2, 0.3775, DOUBLE),
        (SQUARE.T, SQUARE, TRANSPOSE),
    ],
    ids=["sign", "half", "double", "sign-scalar", "half-scalar", "double-scalar", "transpose"],
)
def test_each_generic_mistake_is_named(capsys, got, expected, hint):
    message = failure(capsys, check_close, "q", got, expected)
    assert "likely mistake" in message
    assert hints_in(message) == [hint]


def test_no_hint_for_an_unexplained_wrong_answer(capsys):
    message = failure(capsys, check_close, "q", VECTOR + 0.1, VECTOR)
    assert "likely mistake" not in message


def test_no_sign_or_factor_hint_when_the_expected_value_is_zero(capsys):
    # -0, 0/2 and 0*2 all equal the right answer: naming them would explain nothing.
    message = failure(capsys, check_close, "db", [0.5, 0.5], [0.0, 0.0])
    assert hints_in(message) == []


def test_transposed_symmetric_matrix_is_never_called_a_transpose(capsys):
    symmetric = np.array([[2.0, 1.0], [1.0, 3.0]])
    message = failure(capsys, check_close, "S", symmetric * 2, symmetric)
    assert hints_in(message) == [DOUBLE]


def test_test_given_mistake_as_a_value_is_reported(capsys):
    expected = np.array([1.0, 2.0, 3.0])
    mistakes = {"you divided by n instead of m.": expected * 0.75}
    message = failure(capsys, check_close, "dw", expected * 0.75, expected, mistakes=mistakes)
    assert "likely mistake: you divided by n instead of m." in message


def test_test_given_mistake_as_a_callable_is_reported(capsys):
    expected = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    seen = []

    def summed_not_averaged(exp):
        seen.append(exp.copy())
        return exp * 3

    mistakes = {"you summed over the examples instead of averaging.": summed_not_averaged}
    message = failure(capsys, check_close, "dW", expected * 3, expected, mistakes=mistakes)
    assert "you summed over the examples instead of averaging." in message
    np.testing.assert_array_equal(seen[0], expected)  # the callable receives the expected value


def test_test_given_mistake_takes_precedence_over_generic_hints(capsys):
    expected = np.array([1.0, 2.0])
    mistakes = {"you forgot the 1/2 in the loss.": expected * 2}
    message = failure(capsys, check_close, "dy", expected * 2, expected, mistakes=mistakes)
    assert "you forgot the 1/2 in the loss." in message
    assert DOUBLE not in message


def test_scalar_check_forwards_mistakes(capsys):
    mistakes = {"you used log10 instead of the natural log.": lambda e: e / np.log(10)}
    message = failure(capsys, check_scalar, "CE", 0.5487131 / np.log(10), 0.5487131, mistakes=mistakes)
    assert "log10" in message


@pytest.mark.parametrize(
    "hint_like_the_answer",
    [1.09, lambda e: e * 1.09],
    ids=["value", "callable"],
)
def test_a_hint_indistinguishable_from_the_right_answer_is_never_reported(capsys, hint_like_the_answer):
    # With rtol=0.1, 1.09 is within tolerance of the right answer 1.0, and the student's 1.18 is
    # within tolerance of 1.09 but not of 1.0: the hint would match, yet it explains nothing.
    mistakes = {"SENTINEL hint": hint_like_the_answer}
    message = failure(capsys, check_close, "q", 1.18, 1.0, rtol=0.1, atol=0.0, mistakes=mistakes)
    assert "SENTINEL" not in message
    # The same hint is reported when it is distinguishable from the answer.
    message = failure(capsys, check_close, "q", 1.18, 1.0, rtol=0.1, atol=0.0,
                      mistakes={"SENTINEL hint": 1.18})
    assert "likely mistake: SENTINEL hint" in message


def test_a_hint_equal_to_the_answer_is_skipped_and_a_later_one_found(capsys):
    expected = np.array([1.0, 2.0])
    mistakes = {"SENTINEL equal": lambda e: e.copy(), "SENTINEL real": expected + 1}
    message = failure(capsys, check_close, "v", expected + 1, expected, mistakes=mistakes)
    assert "SENTINEL equal" not in message
    assert "SENTINEL real" in message


# --------------------------------------------------------------------------------------------
# Shapes.
# --------------------------------------------------------------------------------------------


def test_transposed_shape_is_called_transposed(capsys):
    expected = np.arange(6.0).reshape(2, 3)
    message = failure(capsys, check_close, "dW1", expected.T, expected)
    assert "dW1" in message
    assert "(3, 2)" in message and "(2, 3)" in message and "expected" in message
    assert "transposed" in message


@pytest.mark.parametrize(
    ("got_shape", "expected_shape"),
    [((3, 1), (3,)), ((3,), (1, 3)), ((2, 3, 4), (4, 3, 2)), ((6,), (2, 3))],
)
def test_same_size_shape_mismatch_points_to_keepdims(capsys, got_shape, expected_shape):
    message = failure(capsys, check_close, "db", np.zeros(got_shape), np.zeros(expected_shape))
    assert str(got_shape) in message and str(expected_shape) in message
    assert "keepdims" in message
    assert "transposed" not in message


def test_different_size_shape_mismatch_has_no_keepdims_or_transpose_hint(capsys):
    message = failure(capsys, check_close, "h", np.zeros(4), np.zeros(3))
    assert "h has shape (4,), expected (3,)." in message
    assert "keepdims" not in message and "transposed" not in message
    message = failure(capsys, check_close, "h", np.zeros((4, 5)), np.zeros((3, 7)))
    assert "likely mistake" not in message


def test_scalar_against_array_is_a_shape_mismatch(capsys):
    message = failure(capsys, check_close, "b1", 0.35, [0.35, 0.35])
    assert "()" in message and "(2,)" in message


def test_check_shape(capsys):
    check_shape("Z1", [[1, 2, 3]], (1, 3))
    assert "(1, 3)" in capsys.readouterr().out
    message = failure(capsys, check_shape, "Z1", np.zeros((3, 1)), (1, 3))
    assert "Z1" in message and "transposed" in message
    message = failure(capsys, check_shape, "db", np.zeros((4, 1)), [4])
    assert "keepdims" in message


# --------------------------------------------------------------------------------------------
# nan and inf.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_check_close_detects_nan_and_inf(capsys, bad):
    message = failure(capsys, check_close, "AL", [0.5, bad], [0.5, 0.5])
    assert "AL" in message and "nan or inf" in message
    assert "expected" in message and "got" in message


def test_check_close_detects_nan_in_a_scalar(capsys):
    message = failure(capsys, check_close, "cost", float("nan"), 0.7)
    assert "cost contains nan or inf" in message


def test_expected_nan_never_passes(capsys):
    failure(capsys, check_close, "x", 1.0, np.nan)


def test_check_finite_counts_bad_entries(capsys):
    message = failure(capsys, check_finite, "Z", [1.0, np.nan, np.inf, -np.inf])
    assert "Z has 3 entries that are nan or inf out of 4" in message


def test_check_scalar_without_expected_rejects_nan(capsys):
    message = failure(capsys, check_scalar, "loss", float("nan"))
    assert "loss" in message and "nan" in message


# --------------------------------------------------------------------------------------------
# Objects that try to pass without holding the right numbers.
# --------------------------------------------------------------------------------------------


class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


class FloatLike:
    def __float__(self):
        return 0.3775


class ArrayLike:
    def __array__(self, dtype=None, copy=None):
        return np.array([0.3775, 0.3775])


class EqualArray(np.ndarray):
    """An ndarray subclass whose comparisons always succeed."""

    def __eq__(self, other):
        return np.ones(np.shape(self), dtype=bool)

    def __ne__(self, other):
        return np.zeros(np.shape(self), dtype=bool)

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.zeros(np.shape(self), dtype=bool) if ufunc is np.isnan else np.True_

    def __sub__(self, other):
        return np.zeros(np.shape(self))

    __hash__ = None


class LyingFloat(float):
    def __float__(self):
        return 0.3775

    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class LyingInt(int):
    def __float__(self):
        return 0.3775


class LyingFloat32(np.float32):
    def __float__(self):
        return 0.3775


class SpoofsFloat:
    """Claims to be a float through ``__class__``."""

    @property
    def __class__(self):
        return float

    def __float__(self):
        return 0.3775


class SpoofsArray(AlwaysEqual):
    @property
    def __class__(self):
        return np.ndarray

    dtype = np.dtype(float)
    shape = (2,)


class LyingDtypeArray(np.ndarray):
    @property
    def dtype(self):
        return np.dtype(np.float64)


@pytest.mark.parametrize(
    ("got", "type_name"),
    [
        (AlwaysEqual(), "AlwaysEqual"),
        (FloatLike(), "FloatLike"),
        (ArrayLike(), "ArrayLike"),
        (SpoofsFloat(), "SpoofsFloat"),
        (SpoofsArray(), "SpoofsArray"),
        ("0.3775", "str"),
        (None, "NoneType"),
        (0.3775 + 0j, "complex"),
        (np.complex128(0.3775), "complex128"),
        ({"a": 0.3775}, "dict"),
    ],
    ids=lambda v: type(v).__name__,
)
def test_non_numeric_objects_are_rejected_naming_their_type(capsys, got, type_name):
    message = failure(capsys, check_close, "net_h1", got, 0.3775)
    assert "net_h1" in message
    assert f"type {type_name}" in message


def test_rigged_objects_inside_a_list_are_rejected_with_their_index(capsys):
    message = failure(capsys, check_close, "out_h", [0.593269992, AlwaysEqual()], [0.593269992, 0.5])
    assert "out_h[1]" in message and "AlwaysEqual" in message


@pytest.mark.parametrize(
    "array",
    [
        np.array([AlwaysEqual(), AlwaysEqual()], dtype=object),
        np.array([0.3775, 0.3775], dtype=object),
        np.array([0.3775 + 0j, 0.3775]),
        np.array(["0.3775", "0.3775"]),
        np.array([FloatLike(), FloatLike()], dtype=object).view(LyingDtypeArray),
    ],
    ids=["object-rigged", "object-floats", "complex", "str", "lying-dtype-property"],
)
def test_arrays_of_non_real_dtype_are_rejected(capsys, array):
    message = failure(capsys, check_close, "out_h", array, [0.3775, 0.3775])
    assert "out_h should hold real numbers" in message
    assert "dtype" in message


def test_ndarray_subclass_overriding_eq_is_compared_by_its_real_content(capsys):
    wrong = np.array([1.0, 2.0]).view(EqualArray)
    assert bool((wrong == np.array([5.0, 6.0])).all())  # the rigging works on its own
    message = failure(capsys, check_close, "dW", wrong, [5.0, 6.0])
    assert "dW is not what was expected" in message
    right = np.array([5.0, 6.0]).view(EqualArray)
    check_close("dW", right, [5.0, 6.0])
    assert capsys.readouterr().out.count("\n") == 1


def test_masked_array_is_compared_by_its_data(capsys):
    masked = np.ma.masked_array([1.0, 99.0], mask=[False, True])
    failure(capsys, check_close, "v", masked, [1.0, 2.0])


@pytest.mark.parametrize(
    "cls",
    [LyingFloat, LyingInt, LyingFloat32],
    ids=lambda c: c.__name__,
)
def test_number_subclasses_with_rigged_float_are_compared_by_their_real_value(capsys, cls):
    wrong = cls(1)
    message = failure(capsys, check_close, "net_h1", wrong, 0.3775)
    assert "got:      1.0" in message
    failure(capsys, check_scalar, "net_h1", wrong, 0.3775)
    check_close("c", cls(3), 3.0)  # the real value is compared, and it can pass
    assert capsys.readouterr().out.count("\n") == 1


def test_rebinding_numpy_names_does_not_change_a_check(capsys, monkeypatch):
    monkeypatch.setattr(np, "isclose", lambda *a, **k: np.True_)
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "isfinite", lambda x: np.ones(np.shape(x), dtype=bool))
    failure(capsys, check_close, "q", [1.0, 2.0], [1.0, 3.0])
    failure(capsys, check_close, "q", [1.0, np.nan], [1.0, 3.0])
    real_isnan = np.isnan  # numpy itself calls isnan on scalars: keep those answers true

    def every_array_is_nan(x, *args, **kwargs):
        return np.ones(np.shape(x), dtype=bool) if np.ndim(x) else real_isnan(x, *args, **kwargs)

    monkeypatch.setattr(np, "isnan", every_array_is_nan)
    failure(capsys, check_unchanged, "X", [1.0, 2.0], [1.0, 5.0])


# --------------------------------------------------------------------------------------------
# Booleans, ragged sequences, conversion.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", [True, False, np.True_, np.bool_(False)], ids=repr)
def test_booleans_are_rejected(capsys, flag):
    message = failure(capsys, check_close, "is_correct", flag, float(flag))
    assert "is_correct" in message and "boolean" in message
    message = failure(capsys, check_scalar, "n_correct", flag, float(flag))
    assert "n_correct" in message and "float" in message


def test_booleans_inside_a_list_are_rejected(capsys):
    message = failure(capsys, check_close, "mask", [True, False], [1.0, 0.0])
    assert "mask[0]" in message and "boolean" in message


@pytest.mark.parametrize(
    "ragged",
    [[[1.0, 2.0], [3.0]], [np.zeros(2), np.zeros(3)], [1.0, [2.0, 3.0]], ([[1.0], [2.0, 3.0]],)],
    ids=["lists", "arrays", "mixed-depth", "deep"],
)
def test_ragged_sequences_are_rejected(capsys, ragged):
    message = failure(capsys, check_close, "W", ragged, [[1.0, 2.0], [3.0, 4.0]])
    assert "W" in message and "ragged" in message


def test_huge_integer_is_an_assertion_not_an_overflow_error(capsys):
    message = failure(capsys, check_close, "n_params", 10**400, 7776)
    assert "n_params" in message and "too large" in message


def test_as_array_returns_a_float64_copy():
    source = np.array([[1, 2], [3, 4]])
    converted = as_array("A", source)
    assert converted.dtype == np.float64 and type(converted) is np.ndarray
    converted[0, 0] = 100.0
    assert source[0, 0] == 1
    nested = as_array("A", ((1, 2.5), [np.float32(3), np.int64(4)]))
    np.testing.assert_array_equal(nested, [[1.0, 2.5], [3.0, 4.0]])
    assert as_array("r", fractions.Fraction(1, 4)) == 0.25
    subclass_copy = as_array("E", np.arange(3.0).view(EqualArray))
    assert type(subclass_copy) is np.ndarray
    np.testing.assert_array_equal(subclass_copy.view(np.ndarray), [0.0, 1.0, 2.0])


# --------------------------------------------------------------------------------------------
# check_scalar.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "got",
    [np.array(0.5), np.array([0.5]), np.array([[0.5]])],
    ids=["0-d", "(1,)", "(1,1)"],
)
def test_check_scalar_rejects_arrays_and_says_float(capsys, got):
    message = failure(capsys, check_scalar, "cost", got, 0.5)
    assert "cost" in message and "float" in message
    assert f"an array of shape {got.shape}" in message


@pytest.mark.parametrize("got", [[0.5], (0.5,), "0.5", None], ids=["list", "tuple", "str", "None"])
def test_check_scalar_rejects_other_containers(capsys, got):
    message = failure(capsys, check_scalar, "cost", got, 0.5)
    assert "should be a single number (float)" in message
    assert type(got).__name__ in message


@pytest.mark.parametrize(
    "got",
    [0.5, np.float64(0.5), np.float32(0.5), fractions.Fraction(1, 2)],
    ids=["float", "np.float64", "np.float32", "Fraction"],
)
def test_check_scalar_accepts_real_scalars(capsys, got):
    check_scalar("cost", got, 0.5)
    assert capsys.readouterr().out.count("\n") == 1


@pytest.mark.parametrize("got", [5, np.int64(5), np.int32(5), np.uint8(5)], ids=repr)
def test_check_scalar_accepts_integers(capsys, got):
    check_scalar("stop_step", got, 5)
    assert capsys.readouterr().out.count("\n") == 1


def test_check_scalar_compares_the_value(capsys):
    message = failure(capsys, check_scalar, "E_o1", 0.274911093, 0.274811083)
    assert "E_o1" in message and "expected" in message and "got" in message


# --------------------------------------------------------------------------------------------
# check_unchanged and copy_inputs.
# --------------------------------------------------------------------------------------------


def add_in_place(x):
    x += 1.0
    return x


def add_copy(x):
    return x + 1.0


def test_check_unchanged_catches_in_place_modification(capsys):
    x = np.arange(4.0)
    (before,) = copy_inputs(x)
    add_in_place(x)
    message = failure(capsys, check_unchanged, "x", before, x)
    assert "x" in message and "in place" in message


def test_check_unchanged_passes_for_a_function_that_copies(capsys):
    x = np.arange(4.0)
    (before,) = copy_inputs(x)
    add_copy(x)
    check_unchanged("x", before, x)
    assert "x" in capsys.readouterr().out


def test_check_unchanged_treats_nan_as_equal_to_nan(capsys):
    x = np.array([1.0, np.nan, np.inf])
    check_unchanged("x", x.copy(), x)
    assert capsys.readouterr().out.count("\n") == 1
    failure(capsys, check_unchanged, "x", x.copy(), np.array([1.0, 0.0, np.inf]))


def test_check_unchanged_catches_a_single_changed_entry_and_a_shape_change(capsys):
    x = np.zeros((3, 3))
    y = x.copy()
    y[2, 2] = 1e-300
    failure(capsys, check_unchanged, "W", x, y)
    failure(capsys, check_unchanged, "W", x, x.reshape(9))


def test_copy_inputs_returns_independent_copies():
    x, w = np.arange(3.0), [[1.0, 2.0], [3.0, 4.0]]
    x_copy, w_copy, n = copy_inputs(x, w, 7)
    assert x_copy is not x and w_copy is not w and w_copy[0] is not w[0] and n == 7
    x[0], w[0][0] = 50.0, 50.0
    assert x_copy[0] == 0.0 and w_copy[0][0] == 1.0


def test_in_place_change_of_a_list_is_caught_through_copy_inputs(capsys):
    def append_bias(layer_dims):
        layer_dims[0] = 0  # modifies the caller's list
        return layer_dims

    dims = [4, 3, 1]
    (before,) = copy_inputs(dims)
    append_bias(dims)
    failure(capsys, check_unchanged, "layer_dims", before, dims)


# --------------------------------------------------------------------------------------------
# check_raises.
# --------------------------------------------------------------------------------------------


def conv_output_size(n, f, p=0, s=1):
    if f > n + 2 * p:
        raise ValueError(f"filter {f} larger than padded input {n + 2 * p}")
    return (n + 2 * p - f) // s + 1


def test_check_raises_passes_on_the_right_exception(capsys):
    check_raises("f too large", ValueError, conv_output_size, 3, 5, match="larger than")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "f too large" in out and "ValueError" in out


def test_check_raises_forwards_keyword_arguments(capsys):
    check_raises("p", ValueError, conv_output_size, 3, f=9, p=2)
    failure(capsys, check_raises, "p", ValueError, conv_output_size, 3, f=5, p=1)


def test_check_raises_accepts_a_subclass_of_the_exception(capsys):
    check_raises("key", LookupError, {}.__getitem__, "missing")
    assert capsys.readouterr().out.count("\n") == 1


def test_check_raises_fails_when_nothing_is_raised(capsys):
    message = failure(capsys, check_raises, "f too large", ValueError, conv_output_size, 15, 5)
    assert "f too large" in message and "ValueError" in message and "nothing was raised" in message


def test_check_raises_fails_on_the_wrong_exception_type(capsys):
    def bad(n, f):
        raise TypeError("unsupported operand")

    message = failure(capsys, check_raises, "f too large", ValueError, bad, 3, 5)
    assert "expected ValueError, got TypeError" in message
    assert "unsupported operand" in message
    assert "f too large" in message


def test_check_raises_fails_on_the_wrong_message(capsys):
    message = failure(
        capsys, check_raises, "f too large", ValueError, conv_output_size, 3, 5, match="stride"
    )
    assert "f too large" in message and "'stride'" in message and "does not mention" in message


def test_check_raises_lets_an_assertion_from_a_wrong_type_become_a_failure(capsys):
    def asserts(*_):
        raise AssertionError("inner")

    message = failure(capsys, check_raises, "p", ValueError, asserts)
    assert "expected ValueError, got AssertionError" in message


# --------------------------------------------------------------------------------------------
# check_in_range.
# --------------------------------------------------------------------------------------------


def test_check_in_range_is_inclusive_and_broadcasts(capsys):
    check_in_range("A", [[0.0, 1.0], [0.5, 0.25]], 0.0, 1.0)
    check_in_range("A", [1.0, 2.0, 3.0], [0.5, 2.0, 2.5], [1.0, 2.0, 3.5])
    assert capsys.readouterr().out.count("\n") == 2


def test_check_in_range_reports_how_many_entries_are_outside(capsys):
    message = failure(capsys, check_in_range, "probs", [-0.1, 0.5, 1.2, 1.0], 0.0, 1.0)
    assert "probs has 2 entries outside the allowed range" in message
    assert "low" in message and "high" in message and "got" in message


def test_check_in_range_rejects_nan(capsys):
    failure(capsys, check_in_range, "probs", [0.5, np.nan], 0.0, 1.0)


def test_check_in_range_with_per_entry_bounds_subgradient(capsys):
    # Subgradient of lam*|w| at w == 0: any value in [-lam, lam].
    lam = 0.1
    check_in_range("dw", [0.05, -0.1], -lam, lam)
    failure(capsys, check_in_range, "dw", [0.05, -0.2], -lam, lam)


# --------------------------------------------------------------------------------------------
# No warnings, even with overflow and nan (warnings are errors in every test of this module;
# this test states it explicitly, with values chosen to overflow).
# --------------------------------------------------------------------------------------------

OVERFLOWING_FAILURES = {
    "double of 1e308": (check_close, ("q", 1.0, 1e308), {}),
    "array near max": (check_close, ("q", [1.0, -1.0], [1e308, -1e308]), {}),
    "difference overflows": (check_close, ("q", [1e308, -1e308], [-1e308, 1e308]), {}),
    "expected inf": (check_close, ("q", 1.0, np.inf), {}),
    "expected nan": (check_close, ("q", [1.0, 2.0], [np.nan, 2.0]), {}),
    "got nan": (check_close, ("q", [np.nan, np.inf], [1.0, 2.0]), {}),
    "float32 max": (check_close, ("q", np.float32(1.0), np.finfo(np.float32).max), {}),
    "callable mistake overflows": (
        check_close, ("q", 1.0, 1e308), {"mistakes": {"x10": lambda e: e * 10}},
    ),
    "subnormal half": (check_close, ("q", 1.0, 5e-324), {}),
    "huge int": (check_close, ("q", -(10**400), 1.0), {}),
    "finite inf": (check_finite, ("q", [np.inf, -np.inf, np.nan]), {}),
    "range nan": (check_in_range, ("q", [np.nan, 1e308], -1e308, 1.0), {}),
    "unchanged nan vs number": (check_unchanged, ("q", [np.nan], [1e308]), {}),
    "scalar nan": (check_scalar, ("q", float("nan")), {}),
}


@pytest.mark.parametrize(
    ("check", "args", "kwargs"), OVERFLOWING_FAILURES.values(), ids=OVERFLOWING_FAILURES.keys()
)
def test_no_warning_is_emitted_with_overflow_or_nan(capsys, check, args, kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AssertionError):
            check(*args, **kwargs)
    assert capsys.readouterr().err == ""


def test_no_warning_when_passing_with_extreme_values(capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_close("q", [1e308, -1e308, 5e-324, 0.0], [1e308, -1e308, 5e-324, 0.0])
        check_in_range("q", [1e308], -np.inf, np.inf)
        check_unchanged("q", [np.nan, np.inf], [np.nan, np.inf])
    out, err = capsys.readouterr()
    assert err == "" and out.count("\n") == 3


def test_module_exports_the_documented_checks():
    for name in checks.__all__:
        assert callable(getattr(checks, name)), name


# --- check_warning_free -------------------------------------------------------------------------


def test_check_warning_free_returns_the_result_and_prints_one_line(capsys):
    assert checks.check_warning_free("f", lambda a, b=1: a + b, 2, b=3) == 5
    out, err = capsys.readouterr()
    assert err == "" and out.count("\n") == 1 and "no warnings" in out


def test_check_warning_free_fails_on_a_numpy_overflow_and_names_it(capsys):
    with pytest.raises(AssertionError, match=r"naive sigmoid emitted 1 warning.*overflow"):
        checks.check_warning_free("naive sigmoid", lambda z: 1 / (1 + np.exp(-z)), np.array([-1000.0]))
    assert capsys.readouterr().err == ""


def test_check_warning_free_catches_warnings_even_when_they_are_filtered_out(capsys):
    def noisy():
        warnings.warn("careful", UserWarning, stacklevel=1)
        return 1

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(AssertionError, match="UserWarning: careful"):
            checks.check_warning_free("noisy", noisy)
    assert capsys.readouterr().err == ""


def test_check_warning_free_lets_the_functions_own_exceptions_through():
    with pytest.raises(ZeroDivisionError):
        checks.check_warning_free("f", lambda: 1 / 0)


# --- substitute ---------------------------------------------------------------------------------


def test_substitute_replaces_and_restores_names():
    namespace = {"forward": "student", "other": 1}
    with checks.substitute(namespace, forward="stand-in", extra="new"):
        assert namespace["forward"] == "stand-in" and namespace["extra"] == "new"
    assert namespace == {"forward": "student", "other": 1}


def test_substitute_restores_after_a_failure():
    namespace = {"forward": "student"}
    with pytest.raises(AssertionError), checks.substitute(namespace, forward="stand-in"):
        raise AssertionError("test failed")
    assert namespace == {"forward": "student"}


def test_substitute_is_seen_by_functions_that_look_names_up_in_that_namespace():
    namespace = {}
    exec("def helper():\n    return 'student'\ndef caller():\n    return helper()\n", namespace)
    with checks.substitute(namespace, helper=lambda: "stand-in"):
        assert namespace["caller"]() == "stand-in"
    assert namespace["caller"]() == "student"


# --- check_choice -------------------------------------------------------------------------------


def test_check_choice_accepts_an_allowed_string(capsys):
    checks.check_choice("effect", "no change", ["increases", "decreases", "no change"])
    assert "effect" in capsys.readouterr().out


@pytest.mark.parametrize("got", ["Increases", "increase", " increases", None, 1, ("increases",)])
def test_check_choice_refuses_anything_else_and_lists_the_options(got):
    with pytest.raises(AssertionError, match=r"effect should be one of \['increases', 'decreases'\]"):
        checks.check_choice("effect", got, ["increases", "decreases"])


def test_check_choice_refuses_a_string_subclass_with_a_rigged_eq():
    class Sneaky(str):
        def __eq__(self, other):
            return True

        __hash__ = str.__hash__

    with pytest.raises(AssertionError, match="object of type Sneaky"):
        checks.check_choice("effect", Sneaky("anything"), ["increases"])


# --------------------------------------------------------------------------------------------
# How a failure reads in a notebook: a real kernel, as JupyterLab and nbgrader run it.
# --------------------------------------------------------------------------------------------

KERNEL_CELLS = [
    "import numpy as np\nfrom helpers import checks, gradcheck",
    "dfdz = 23.74625462767236\n"
    "checks.check_scalar('dfdz at (1, 2, 0.5)', dfdz, 24.74625462767236, mistakes={\n"
    "    'the +1 from the lone term z is missing.': 23.74625462767236,\n})",
    "result = (1.0, 2.0)\nassert len(result) == 3, (\n    'grad_f should return a tuple of three numbers.'\n"
    ")",
    "gradcheck.check_gradient('dW1', np.zeros(3), lambda v: float(np.sum(v**2)), np.ones(3))",
    "def student():\n    raise ValueError('a bug of the student')\nstudent()",
    "checks.check_close('q', 1.0, 2.0)",
    "%tb",
]


@pytest.fixture(scope="module")
def kernel_outputs():
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in KERNEL_CELLS])
    NotebookClient(nb, allow_errors=True, timeout=60).execute()
    return nb


def _error_text(cell) -> str:
    import re

    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert len(errors) == 1, cell.outputs
    return re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", "\n".join(errors[0].traceback))


@pytest.mark.parametrize(
    ("index", "test_line", "message"),
    [(1, "---> 2 checks.check_scalar('dfdz at (1, 2, 0.5)', dfdz, 24.74625462767236, mistakes={",
      "likely mistake: the +1 from the lone term z is missing."),
     (2, "---> 2 assert len(result) == 3, (", "AssertionError: grad_f should return a tuple of three"),
     (3, "---> 1 gradcheck.check_gradient(", "dW1 disagrees with the numerical gradient")],
    ids=["check", "plain-assert", "gradcheck"],
)
def test_a_failed_check_in_a_kernel_is_short_and_names_no_internals(kernel_outputs, index, test_line,
                                                                   message):
    from nbgrader.utils import determine_grade

    cell = kernel_outputs.cells[index]
    text = _error_text(cell)
    assert test_line in text and message in text, text
    assert text.splitlines()[0].startswith("Cell In[") and "line" in text.splitlines()[0], text
    for internal in ("helpers", "checks.py", "site-packages", "Traceback", "interactiveshell"):
        assert internal not in text.replace("from helpers", ""), f"{internal!r} in\n{text}"
    assert len(text.splitlines()) <= 8, text
    assert not [o for o in cell.outputs if o.get("name") == "stderr"]
    # Still an error output: nbgrader scores such a test cell as failed.
    cell.metadata["nbgrader"] = {"grade": True, "points": 2, "grade_id": "t", "solution": False}
    assert determine_grade(cell) == (0, 2)


def test_other_errors_keep_ipythons_full_traceback(kernel_outputs):
    text = _error_text(kernel_outputs.cells[4])
    assert "Traceback" in text and "in student" in text and "ValueError: a bug of the student" in text


# --------------------------------------------------------------------------------------------
# Shape slips, named by check_shape (and check_close) by themselves.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("got_shape", "expected_shape", "words"),
    [
        ((40,), (50,), "axis"),  # column_exp_sum summed with axis=1 instead of axis=0
        ((1, 50), (50,), "keepdims=True"),  # a kept dimension
        ((50, 1), (50,), "keepdims=True"),
        ((50,), (1, 50), "keepdims=True"),  # a dropped one
        ((40, 1), (1, 50), "other axis"),  # keepdims, over the wrong axis
        ((4, 3), (3, 4), "transposed"),
        ((3,), (3, 4), "one entry per example"),  # the batch dimension is missing
        ((3, 4, 5), (3, 4), "axis=2"),  # an extra last dimension: a sum over examples missing
        ((8, 3, 4), (3, 4), "axis=0"),  # an extra first (batch) dimension
        ((), (3,), "axis="),  # summed over every axis
        ((3,), (), "float(...)"),
    ],
    ids=["wrong-axis", "kept-row", "kept-column", "dropped", "kept-wrong-axis", "transpose",
         "missing-batch", "extra-last", "extra-first", "all-reduced", "not-a-number"],
)
def test_check_shape_names_the_common_shape_slips(capsys, got_shape, expected_shape, words):
    for check in (lambda g: check_shape("Z", g, expected_shape),
                  lambda g: check_close("Z", g, np.zeros(expected_shape))):
        message = failure(capsys, check, np.zeros(got_shape))
        assert f"Z has shape {got_shape}, expected {expected_shape}." in message
        assert "likely mistake:" in message and words in message, message
        assert len(message.splitlines()) == 2, message  # the shape line and one hint line


def test_shape_slip_is_none_for_unrelated_shapes():
    assert checks.shape_slip((3, 5), (4, 7)) is None
    assert checks.shape_slip((3, 4), (3, 4)) is None


def test_a_tests_own_mistake_of_that_shape_beats_the_generic_shape_hint(capsys):
    expected = np.array([1.0, 2.0, 3.0])
    mistakes = {"SENTINEL: the sum over the examples is missing.": np.array([[1.0, 2.0, 3.0]] * 2).T}
    message = failure(capsys, check_close, "db", np.array([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]]),
                      expected, mistakes=mistakes)
    assert "likely mistake: SENTINEL" in message and "axis=" not in message


def test_a_tests_own_hint_typed_to_a_few_digits_beats_the_generic_sign_hint(capsys):
    # bce_loss without its leading minus: the test names the missing minus; "check the order of a
    # subtraction" must not win because the test typed its value to 8 digits.
    mistakes = {"SENTINEL: the leading minus of the cross-entropy is missing.": -0.69314718}
    message = failure(capsys, check_scalar, "bce", -0.6931471805599453, 0.6931471805599453,
                      mistakes=mistakes)
    assert "likely mistake: SENTINEL" in message and SIGN not in message


def test_a_mistake_that_cannot_be_computed_is_skipped(capsys):
    mistakes = {"SENTINEL broken": lambda e: e @ np.ones((5, 5)), "SENTINEL real": lambda e: e + 1}
    message = failure(capsys, check_close, "v", [2.0, 3.0], [1.0, 2.0], mistakes=mistakes)
    assert "SENTINEL real" in message and "SENTINEL broken" not in message


def test_tb_magic_still_shows_the_full_traceback_of_a_short_failure(kernel_outputs):
    assert "---> 1 checks.check_close('q', 1.0, 2.0)" in _error_text(kernel_outputs.cells[5])
    full = "\n".join("\n".join(o.get("traceback", [])) for o in kernel_outputs.cells[6].outputs)
    assert "checks.py" in full and "Traceback" in full, full
