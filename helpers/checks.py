"""Checks for the notebooks: compare a named quantity with its reference, explain a failure.

Every check prints one short line to stdout when it passes and raises ``AssertionError`` when it
fails. The message names the quantity, shows what was expected and what was received and, when the
received value matches a mistake that the test anticipated, names that mistake in one sentence.

Received values are converted to plain ``float`` / ``numpy.ndarray`` of float64 before any
comparison, so an object with a rigged ``__eq__`` cannot pass. Nothing here writes to stderr:
nbgrader gives a test cell zero points for any stderr output.
"""

from __future__ import annotations

import contextlib
import copy
import numbers
import warnings
from collections.abc import Callable, Iterator, Mapping, MutableMapping

import numpy as np

__all__ = [
    "as_array",
    "check_choice",
    "check_close",
    "check_finite",
    "check_in_range",
    "check_raises",
    "check_scalar",
    "check_shape",
    "check_unchanged",
    "check_warning_free",
    "copy_inputs",
    "shape_slip",
    "substitute",
]

# References held by this module, so that rebinding the numpy names later does not change a check.
_np_array = np.array
_np_isclose = np.isclose
_np_isfinite = np.isfinite
_np_isnan = np.isnan
_np_errstate = np.errstate
_ndarray = np.ndarray
_float64 = np.float64
_print = print
_catch_warnings = warnings.catch_warnings
_simplefilter = warnings.simplefilter
_MISSING = object()

PASS_MARK = "\u2714"  # heavy check mark


def _fmt(value: np.ndarray) -> str:
    if value.ndim == 0:
        return repr(float(value))
    text = np.array2string(value, precision=8, threshold=40, edgeitems=3, max_line_width=90)
    return text.replace("\n", "\n            ")


def _is_number(value) -> bool:
    # type(value), not isinstance: an object whose ``__class__`` property lies is not a number.
    # Complex NumPy scalars are np.number but not real, so they are not numbers here.
    cls = type(value)
    return issubclass(cls, numbers.Real | np.integer | np.floating) and not issubclass(
        cls, bool | np.bool_
    )


def _real_value(name: str, value) -> float:
    """The number ``value`` holds, read without calling hooks a subclass may override."""
    cls = type(value)
    try:
        if issubclass(cls, float):  # float and its subclasses, np.float64 included
            return float.__float__(value)
        if issubclass(cls, np.generic):  # other NumPy scalars (np.float32, np.int64, ...)
            return float(np.generic.item(value))
        if issubclass(cls, int):
            return int.__float__(value)
        return float(value)  # another numbers.Real, e.g. fractions.Fraction
    except OverflowError:
        raise AssertionError(f"{name} is a number too large to be a float.") from None


def as_array(name: str, value) -> np.ndarray:
    """Convert a student's value to a float64 array, refusing anything that is not numeric.

    Accepts Python numbers, NumPy scalars, ndarrays and (nested) lists or tuples of those.
    Any other object (a custom class, a string, ``None``) fails with a message naming ``name``.
    """
    cls = type(value)  # not value.__class__, which an object can fake
    if issubclass(cls, bool | np.bool_):
        raise AssertionError(f"{name} should be a number, got a boolean ({value!r}).")
    if _is_number(value):
        return _np_array(_real_value(name, value), dtype=_float64)
    if issubclass(cls, _ndarray):
        # Read the real dtype and buffer: subclasses, their properties and hooks play no part.
        plain = _ndarray.view(value, _ndarray)
        if plain.dtype.kind not in "biuf":
            raise AssertionError(
                f"{name} should hold real numbers, got an array of dtype {plain.dtype}."
            )
        return _np_array(plain, dtype=_float64, copy=True)
    if issubclass(cls, list | tuple):
        items = [as_array(f"{name}[{i}]", item) for i, item in enumerate(value)]
        try:
            return _np_array(items, dtype=_float64)
        except ValueError as err:
            raise AssertionError(f"{name} is a ragged sequence and cannot be read as an array.") from err
    raise AssertionError(
        f"{name} should be a number or a numpy array, got an object of type {cls.__name__}."
    )


def _close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> bool:
    if got.shape != expected.shape:
        return False
    with _np_errstate(all="ignore"):
        return bool(_np_isclose(got, expected, rtol=rtol, atol=atol, equal_nan=False).all())


def _generic_mistakes(expected: np.ndarray) -> dict[str, np.ndarray]:
    """Mistakes worth naming for any quantity: a sign, a factor of two, a transpose."""
    found = {}
    if expected.any():
        found["it has the opposite sign: check the order of a subtraction."] = -expected
        with _np_errstate(all="ignore"):  # 2 * 1e308 overflows: no warning on stderr
            found["it is half the expected value: a factor of 2 is missing."] = expected / 2
            found["it is twice the expected value: a factor of 1/2 is missing."] = expected * 2
    # Only a square matrix can be transposed without changing shape; a transposed non-square
    # answer never gets here, the shape check already calls it transposed.
    if expected.ndim == 2 and expected.shape[0] == expected.shape[1]:
        found["it is the transpose of the expected array: check the order of a matrix product."] = (
            expected.T
        )
    return found


def _diagnose(got, expected, rtol, atol, mistakes: Mapping | None, generic: bool = True) -> str | None:
    # The test's own mistakes first, at the check's tolerance and then at a typed number's
    # (a value written with 6-8 digits): a generic hint (sign, factor 2, transpose) is named only
    # when none of them explains the answer, so it never overrides the test's better sentence.
    own = []
    for sentence, wrong in dict(mistakes or {}).items():
        with _np_errstate(all="ignore"):
            try:
                wrong_value = wrong(expected) if callable(wrong) else wrong
                wrong_arr = _np_array(wrong_value, dtype=_float64)
            except (ArithmeticError, TypeError, ValueError):
                continue  # a mistake that cannot be computed for this value explains nothing
        if not _close(expected, wrong_arr, rtol, atol):  # else indistinguishable from the answer
            own.append((sentence, wrong_arr))
    loose = max(rtol, 1e-5)
    for tolerances in ((rtol, atol), (loose, atol)):
        for sentence, wrong_arr in own:
            if _close(got, wrong_arr, *tolerances):
                return sentence
    if not generic:
        return None
    for sentence, wrong in _generic_mistakes(expected).items():
        if sentence in dict(mistakes or {}):
            continue
        with _np_errstate(all="ignore"):
            wrong_arr = _np_array(wrong, dtype=_float64)
        if not _close(expected, wrong_arr, rtol, atol) and _close(got, wrong_arr, rtol, atol):
            return sentence
    return None


def _passed(name: str, detail: str) -> None:
    _print(f"{PASS_MARK} {name}: {detail}")


def check_close(
    name: str,
    got,
    expected,
    *,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    mistakes: Mapping[str, object] | None = None,
) -> None:
    """Check that ``got`` equals ``expected`` elementwise to ``rtol``/``atol``, shapes included.

    ``mistakes`` maps a one-sentence explanation to the value that mistake would produce (or a
    function of the expected value returning it); the first one that ``got`` matches is reported.
    Opposite sign, half, double and transpose are always recognised.
    """
    got_arr = as_array(name, got)
    exp_arr = as_array(f"expected {name}", expected)
    if got_arr.shape != exp_arr.shape:
        # A test's own mistake of this very shape explains it better than any generic shape hint.
        _fail_shape(name, got_arr.shape, exp_arr.shape, _diagnose(got_arr, exp_arr, rtol, atol,
                                                                  mistakes, generic=False))
    if not _np_isfinite(got_arr).all():
        raise AssertionError(
            f"{name} contains nan or inf.\n  expected: {_fmt(exp_arr)}\n  got:      {_fmt(got_arr)}"
        )
    if _close(got_arr, exp_arr, rtol, atol):
        what = "matches the reference" if got_arr.ndim == 0 else f"shape {got_arr.shape}, matches"
        _passed(name, what)
        return
    lines = [
        f"{name} is not what was expected (tolerance rtol={rtol:g}, atol={atol:g}).",
        f"  expected: {_fmt(exp_arr)}",
        f"  got:      {_fmt(got_arr)}",
    ]
    if got_arr.ndim > 0:
        with _np_errstate(all="ignore"):
            diff = abs(got_arr - exp_arr)
        worst = np.unravel_index(int(diff.argmax()), diff.shape)
        lines.append(f"  largest difference {diff[worst]:.3g} at index {tuple(int(i) for i in worst)}")
    hint = _diagnose(got_arr, exp_arr, rtol, atol, mistakes)
    if hint:
        lines.append(f"  likely mistake: {hint}")
    raise AssertionError("\n".join(lines))


def _fail_shape(name: str, got_shape: tuple, expected_shape: tuple, hint: str | None = None) -> None:
    message = f"{name} has shape {got_shape}, expected {expected_shape}."
    hint = hint or shape_slip(tuple(got_shape), tuple(expected_shape))
    if hint:
        message += f"\n  likely mistake: {hint}"
    raise AssertionError(message)


def check_shape(name: str, got, expected_shape: tuple) -> None:
    """Check that ``got`` is an array (or number) of shape ``expected_shape``.

    A mismatch names the common shape slip it looks like (``shape_slip``): a transpose, a kept or
    dropped dimension of size 1 (keepdims), a sum over the wrong axis, a missing or extra
    batch dimension.
    """
    got_arr = as_array(name, got)
    if got_arr.shape != tuple(expected_shape):
        _fail_shape(name, got_arr.shape, tuple(expected_shape))
    _passed(name, f"shape {got_arr.shape}")


def check_scalar(
    name: str,
    got,
    expected=None,
    *,
    rtol: float = 1e-7,
    atol: float = 1e-12,
    mistakes: Mapping[str, object] | None = None,
) -> None:
    """Check that ``got`` is a single real number (not an array), finite, and close to ``expected``."""
    is_array = issubclass(type(got), _ndarray)
    if is_array or not _is_number(got):
        kind = (
            f"an array of shape {_ndarray.view(got, _ndarray).shape}"
            if is_array
            else type(got).__name__
        )
        raise AssertionError(
            f"{name} should be a single number (float), got {kind}. "
            "Convert with float(...) if you computed it as an array."
        )
    if expected is None:
        check_finite(name, got)
    else:
        check_close(name, got, expected, rtol=rtol, atol=atol, mistakes=mistakes)


def check_choice(name: str, got, allowed) -> None:
    """Check that ``got`` is one of the strings in ``allowed`` (exact match, no other type).

    For answers picked from a fixed list; the message lists the allowed answers, never the
    correct one.
    """
    options = list(allowed)
    if type(got) is not str or got not in options:  # type(): a str subclass could rig __eq__
        shown = repr(got) if type(got) is str else f"an object of type {type(got).__name__}"
        raise AssertionError(f"{name} should be one of {options}, got {shown}.")
    _passed(name, "an allowed answer")


def check_finite(name: str, got) -> None:
    """Check that every entry of ``got`` is finite (no nan, no inf)."""
    got_arr = as_array(name, got)
    bad = ~_np_isfinite(got_arr)
    if bad.any():
        raise AssertionError(
            f"{name} has {int(bad.sum())} entries that are nan or inf out of {got_arr.size}: "
            "look for a log of 0, a division by 0 or an overflowing exp."
        )
    _passed(name, "finite")


def check_in_range(name: str, got, low, high) -> None:
    """Check that every entry of ``got`` lies in ``[low, high]`` (bounds broadcast against it)."""
    got_arr = as_array(name, got)
    low_arr, high_arr = as_array("low", low), as_array("high", high)
    with _np_errstate(all="ignore"):
        inside = (got_arr >= low_arr - 1e-12) & (got_arr <= high_arr + 1e-12)
    if not inside.all():
        raise AssertionError(
            f"{name} has {int((~inside).sum())} entries outside the allowed range.\n"
            f"  low:  {_fmt(np.broadcast_to(low_arr, got_arr.shape))}\n"
            f"  high: {_fmt(np.broadcast_to(high_arr, got_arr.shape))}\n"
            f"  got:  {_fmt(got_arr)}"
        )
    _passed(name, "within the allowed range")


def copy_inputs(*arrays):
    """Deep copies of ``arrays``, to hand to ``check_unchanged`` after calling a function."""
    # Lists (and anything else) are deep-copied too: returning the caller's own list would make
    # check_unchanged compare the list with itself and miss an in-place change.
    return tuple(
        _np_array(a, copy=True) if isinstance(a, _ndarray) else copy.deepcopy(a) for a in arrays
    )


def check_unchanged(name: str, before, after) -> None:
    """Check that an input array was not modified in place (``before`` is a copy made earlier)."""
    before_arr, after_arr = as_array(name, before), as_array(name, after)
    same = before_arr.shape == after_arr.shape and bool(
        ((before_arr == after_arr) | (_np_isnan(before_arr) & _np_isnan(after_arr))).all()
    )
    if not same:
        raise AssertionError(
            f"your function modified its input {name} in place. Work on a copy "
            "(x = x.copy(), or x + h instead of x += h) and leave the caller's array as it was."
        )
    _passed(name, "left unchanged")


def check_raises(
    name: str, exception: type[BaseException], func: Callable, *args, match: str = "", **kwargs
) -> None:
    """Check that ``func(*args, **kwargs)`` raises ``exception`` whose message contains ``match``."""
    try:
        func(*args, **kwargs)
    except exception as err:
        if match and match not in str(err):
            raise AssertionError(
                f"{name}: raised {exception.__name__} as it should, but its message "
                f"{str(err)!r} does not mention {match!r}."
            ) from None
        _passed(name, f"raises {exception.__name__}")
        return
    except Exception as err:  # noqa: BLE001 - any other exception is the student's to see
        raise AssertionError(
            f"{name}: expected {exception.__name__}, got {type(err).__name__}: {err}"
        ) from None
    raise AssertionError(f"{name}: expected {exception.__name__}, but nothing was raised.")


def check_warning_free(name: str, func: Callable, *args, **kwargs):
    """Call ``func(*args, **kwargs)`` and fail if it emits any warning; returns its result.

    A warning (``RuntimeWarning: overflow encountered in exp``, ``divide by zero in log``) is
    how NumPy reports a computation that went through inf or nan; the message names it.
    """
    with _catch_warnings(record=True) as caught:
        _simplefilter("always")
        result = func(*args, **kwargs)
    if caught:
        first = caught[0]
        raise AssertionError(
            f"{name} emitted {len(caught)} warning(s), the first: "
            f"{first.category.__name__}: {first.message}. "
            "Rewrite the computation so that it never overflows or takes the log of 0."
        )
    _passed(name, "no warnings")
    return result


@contextlib.contextmanager
def substitute(namespace: MutableMapping, **replacements) -> Iterator[None]:
    """Inside the block, the names given refer to the given objects in ``namespace``.

    Tests use it to grade one exercise on its own: a function that calls an earlier exercise
    (``forward`` inside ``train``) runs with a stand-in for that exercise, so a bug there is not
    charged twice. ``namespace`` is usually ``globals()`` of the notebook; every name is restored
    (or removed, if it did not exist) when the block ends, even after a failure.
    """
    saved = {name: namespace.get(name, _MISSING) for name in replacements}
    namespace.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                namespace.pop(name, None)
            else:
                namespace[name] = value


# --- How a failure is shown in a notebook --------------------------------------------------------
# IPython prints a failed check with ~20 lines of traceback, most of them this module's internals.
# In a kernel, an AssertionError (a failed check, a plain ``assert`` of a test cell, a gradient
# check) is shown instead as the notebook lines it went through, the failing line of each, and the
# message. It is still an error output, so nbgrader still scores the cell as failed; any other
# exception keeps IPython's full traceback.

_RED, _GREEN, _RESET = "\x1b[0;31m", "\x1b[0;32m", "\x1b[0m"


def _cell_frames(shell, tb) -> list[tuple[str, int, str]]:
    """(label, line number, source line) of every notebook cell the traceback goes through."""
    import linecache
    import traceback

    compiler = getattr(shell, "compile", None)
    known = getattr(compiler, "_filename_map", {})
    frames = []
    for frame, lineno in traceback.walk_tb(tb):
        filename = frame.f_code.co_filename
        if filename not in known:
            continue
        label = compiler.format_code_name(filename)
        label = " ".join(label) if label else filename
        frames.append((label, int(lineno or 0), linecache.getline(filename, lineno or 0).rstrip()))
    return frames


def short_traceback(shell, etype, value, tb) -> list[str] | None:
    """The structured traceback a student sees for a failed check, or None to show IPython's own.

    One entry per notebook cell the failure went through (``Cell In[7], line 16`` and that line),
    then ``AssertionError: message``; nothing of the helpers' or the kernel's own frames.
    """
    frames = _cell_frames(shell, tb)
    if not frames:
        return None
    stb = [f"{label}, line {lineno}\n{_GREEN}---> {lineno}{_RESET} {text.strip()}"
           for label, lineno, text in frames]
    stb.append(f"{_RED}{etype.__name__}{_RESET}: {value}")
    return stb


def _show_failure(shell, etype, value, tb, tb_offset=None):
    # IPython's custom-exception hook: show the short form, or IPython's own when there is none.
    import sys

    # Kept where IPython keeps the last error, so that %tb (and %debug) still give the full story.
    sys.last_type, sys.last_value, sys.last_traceback = etype, value, tb
    if sys.version_info >= (3, 12):
        sys.last_exc = value
    try:
        stb = short_traceback(shell, etype, value, tb)
    except Exception:  # noqa: BLE001 - never let the display of a failure fail
        stb = None
    if stb is None:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    shell._showtraceback(etype, value, stb)
    return None


def _install_short_failures() -> None:
    """In an IPython kernel, show AssertionErrors the short way (unless another hook is set)."""
    import sys

    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "custom_exceptions", None) != ():
        return
    shell.set_custom_exc((AssertionError,), _show_failure)


_install_short_failures()


# --- Shape slips ---------------------------------------------------------------------------------
# Examples are columns in this course (X: (n_x, m)), so the batch dimension is the last one.


def _without_ones(shape: tuple) -> tuple:
    return tuple(n for n in shape if n != 1)


def shape_slip(got: tuple, expected: tuple) -> str | None:
    """One sentence naming the common slip that turns shape ``expected`` into ``got``, or None."""
    got, expected = tuple(int(n) for n in got), tuple(int(n) for n in expected)
    if got == expected:
        return None
    if len(got) == 2 and got == tuple(reversed(expected)):
        return "it looks transposed: check the order of a matrix product or a missing .T."
    if len(expected) > 0 and got == ():
        return ("it is a single number: a sum or mean without axis= reduced every axis; "
                f"give the axis to reduce over, so that the result keeps shape {expected}.")
    if got != () and expected == ():
        return "a single number was expected: reduce with np.sum / np.mean, or convert with float(...)."
    if _without_ones(got) == _without_ones(expected):
        if len(got) > len(expected):
            return (f"it has an extra dimension of size 1: keepdims=True or a reshape kept one; "
                    f"drop it (keepdims=False, or .reshape{expected}).")
        if len(got) < len(expected):
            return (f"a dimension of size 1 is missing: sum with keepdims=True, or reshape to "
                    f"{expected}, so that it broadcasts as intended.")
    ones = [i for i, n in enumerate(got) if n == 1], [i for i, n in enumerate(expected) if n == 1]
    if len(got) == len(expected) and len(ones[0]) == len(ones[1]) == 1 and ones[0] != ones[1]:
        return (f"the dimension of size 1 is in the wrong place: a sum with keepdims=True over the "
                f"other axis (axis={ones[1][0]} gives {expected}).")
    if len(expected) >= 2 and got == expected[:-1]:
        return (f"the last dimension (size {expected[-1]}, one entry per example) is missing: "
                "was it summed or averaged over the examples, or is the batch dimension of an input missing?")
    if len(expected) >= 1 and got[:-1] == expected and got[-1] > 1:
        return (f"it has an extra last dimension of size {got[-1]}: a sum or mean over the examples "
                f"(axis={len(got) - 1}) is missing.")
    if len(expected) >= 1 and got[1:] == expected and got[0] > 1:
        return (f"it has an extra first dimension of size {got[0]}: a sum or mean over axis=0 is "
                "missing, or an extra batch dimension was added.")
    if len(expected) >= 2 and got == expected[1:]:
        return (f"the first dimension (size {expected[0]}) is missing: a sum over axis=0 too many, "
                "or an input without its first dimension.")
    if len(got) == len(expected) == 1:
        return ("a sum, mean or max over the wrong axis? Over axis=0 a 2-D array gives one entry "
                "per column, over axis=1 one per row: check axis=.")
    if int(np.prod(got)) == int(np.prod(expected)):
        return "same number of entries: check keepdims, a reshape or which axis you summed."
    return None


# --- Reading failures back ------------------------------------------------------------------------
# A failed check's message names a recognised mistake on a line of its own, after this label; the
# instructor's report (grader.report) counts the same sentences the students read.

MISTAKE_LABEL = "likely mistake:"


def likely_mistakes(message: str) -> list[str]:
    """The mistakes a failed check's message names, one sentence each, in order."""
    found = []
    for line in str(message).splitlines():
        line = line.strip()
        if line.startswith(MISTAKE_LABEL):
            sentence = line[len(MISTAKE_LABEL):].strip()
            if sentence:
                found.append(sentence)
    return found
