"""Unit tests of helpers.examples: every constant is sourced, immutable and matches COURSE_SPEC.

The reference numbers below are those of the course specification (COURSE_SPEC.md), recomputed
here from the constants with the spec's formulas, to the number of digits the spec gives.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from helpers import examples

ROOT = Path(__file__).resolve().parents[1]
SEED_DIRS = [ROOT.parent / "shared" / "seeds", Path("/work/shared/seeds")]
SEEDS = next((d for d in SEED_DIRS if d.is_dir()), None)

CONSTANTS = sorted(
    name
    for name in vars(examples)
    if name.isupper() and not name.startswith("_") and name != "SOURCES" and not name.endswith("_SEED")
)
SEED_NAMES = sorted(name for name in vars(examples) if name.endswith("_SEED"))


def arr(name: str) -> np.ndarray:
    return np.array(getattr(examples, name), dtype=float)


def close(got, expected, digits_abs: float):
    np.testing.assert_allclose(got, expected, rtol=0, atol=digits_abs)


# --------------------------------------------------------------------------------------------
# Sources.
# --------------------------------------------------------------------------------------------


def test_there_are_constants_to_check():
    assert len(CONSTANTS) >= 20
    assert "GRAD_F_POINT" in CONSTANTS and "L2_STEP" in CONSTANTS


@pytest.mark.parametrize("name", CONSTANTS)
def test_every_constant_has_a_source(name):
    assert name in examples.SOURCES
    assert examples.source(name) == examples.SOURCES[name]


def test_sources_name_no_missing_constant():
    assert set(examples.SOURCES) == set(CONSTANTS)


def test_source_of_an_unknown_name_is_a_key_error():
    with pytest.raises(KeyError):
        examples.source("NOT_A_CONSTANT")


# The lecture files, by the subject helpers.examples names them with (instructors only: students
# never receive these files, so nothing they receive names one).
LECTURE_FILES = {
    examples.BACKPROP_SEED: "000_581ed5b9db40c5ed.txt",
    examples.CLASSIFIER_SEED: "001_4ce61de775ff5e49.txt",
    examples.GRADIENTS_SEED: "002_141cd46531ddc275.txt",
    examples.LINEAR_CLASSIFIER_SEED: "003_63d9701bcb4cff10.txt",
    examples.LOSSES_SEED: "004_03dd2cdc7acdc09e.txt",
}


def test_sources_name_lectures_by_subject_not_by_file():
    file_name = re.compile(r"\d{3}_[0-9a-f*]+\.txt")
    for name, subject in examples.SOURCES.items():
        assert isinstance(subject, str) and subject in LECTURE_FILES, (name, subject)
        assert not file_name.search(subject), (name, subject)
    for seed in SEED_NAMES:
        assert getattr(examples, seed) in LECTURE_FILES, seed


def test_sources_follow_the_course_spec():
    # COURSE_SPEC: which lecture file each worked example comes from.
    expected_prefix = {
        "GRAD_F_POINT": "002", "SHAPES_A": "002", "SHAPES_B": "002", "SHAPES_C": "002",
        "MAZUR_X": "000", "MAZUR_W1": "000", "MAZUR_B2": "000", "MAZUR_ETA": "000",
        "REG_Y": "000", "REG_Y_HAT": "000", "REG_THETA": "000", "REG_LAMBDA": "000",
        "L2_STEP": "004", "SVM_SCORES": "003", "CAT_CAR_FROG_SCORES": "004",
        "EARLY_STOPPING_LOSSES": "004", "CONV_INPUT_SHAPE": "000",
        "CNN_TABLE_INPUT_HWC": "002", "CNN_TABLE_LAYERS": "002",
    }
    for name, prefix in expected_prefix.items():
        assert LECTURE_FILES[examples.source(name)].startswith(prefix + "_"), name


@pytest.mark.skipif(SEEDS is None, reason="the lecture files (shared/seeds/) are not here")
@pytest.mark.parametrize("file_name", sorted(set(LECTURE_FILES.values())))
def test_every_source_file_exists(file_name):
    assert (SEEDS / file_name).is_file()


# A passage of the cited file that the constant is taken from.
SOURCE_PASSAGES = {
    "GRAD_F_POINT": "e^{x}y^{3}z^{2}",
    "SHAPES_A": "A: (50, 100)",
    "SHAPES_B": "B: (40, 100)",
    "SHAPES_C": "C: (40, 50)",
    "MAZUR_X": "0.15 \\times 0.05 + 0.2 \\times 0.1",
    "MAZUR_W1": "0.15 \\times 0.05 + 0.2 \\times 0.1",
    "MAZUR_B1": "0.35 \\times 1",
    "MAZUR_W2": "0.4 \\times 0.593269992 + 0.45 \\times 0.596884378",
    "MAZUR_B2": "0.6 \\times 1",
    "REG_Y_HAT": "0.20 \\\\ 0.55 \\\\ 0.10 \\\\ 0.15",
    "REG_THETA": "0.5 \\\\ -0.4 \\\\ 0.6 \\\\ -0.2",
    "REG_LAMBDA": "\\lambda = 0.1",
    "L2_STEP": "w_1 = 0.5",
    "SVM_SCORES": "-2.85",
    "CAT_CAR_FROG_SCORES": "Frog\t-1.7\t2.0",
    "EARLY_STOPPING_LOSSES": "patience",
    "CONV_INPUT_SHAPE": "3 \\times 64 \\times 64",
    "CNN_TABLE_INPUT_HWC": "128 \\times 128 \\times 3",
    "CNN_TABLE_LAYERS": "CONV-9-32",
}


@pytest.mark.skipif(SEEDS is None, reason="the lecture files (shared/seeds/) are not here")
@pytest.mark.parametrize(("name", "passage"), SOURCE_PASSAGES.items())
def test_cited_file_contains_the_example(name, passage):
    text = (SEEDS / LECTURE_FILES[examples.source(name)]).read_text(encoding="utf-8")
    assert passage in text


# --------------------------------------------------------------------------------------------
# Immutability.
# --------------------------------------------------------------------------------------------


def is_immutable(value) -> bool:
    if isinstance(value, bool):
        return False  # a flag is not an example's number
    if isinstance(value, int | float | str):
        return True
    return isinstance(value, tuple) and all(is_immutable(item) for item in value)


@pytest.mark.parametrize("name", CONSTANTS)
def test_constants_are_immutable(name):
    value = getattr(examples, name)
    if name == "L2_STEP":
        assert type(value) is dict
        assert all(type(v) is float for v in value.values())
    else:
        assert is_immutable(value), f"{name} = {value!r} is mutable"


def test_l2_step_holds_exactly_the_spec_arguments():
    assert examples.L2_STEP == {"x": 2.0, "y": 5.0, "w1": 0.5, "w2": 0.3, "lr": 0.01, "lam": 0.1}


# --------------------------------------------------------------------------------------------
# Values, against COURSE_SPEC.
# --------------------------------------------------------------------------------------------


def test_inputs_as_in_the_spec():
    assert examples.GRAD_F_POINT == (1.0, 2.0, 0.5)
    assert (examples.SHAPES_A, examples.SHAPES_B, examples.SHAPES_C) == ((50, 100), (40, 100), (40, 50))
    assert examples.MAZUR_X == (0.05, 0.10)
    assert examples.MAZUR_TARGET == (0.01, 0.99)
    assert examples.MAZUR_W1 == ((0.15, 0.20), (0.25, 0.30))
    assert examples.MAZUR_B1 == 0.35
    assert examples.MAZUR_W2 == ((0.40, 0.45), (0.50, 0.55))
    assert examples.MAZUR_B2 == 0.60
    assert examples.MAZUR_ETA == 0.5
    assert examples.REG_THETA == (0.5, -0.4, 0.6, -0.2)
    assert examples.REG_LAMBDA == 0.1
    assert examples.SVM_SCORES == (-2.85, 0.86, 0.28) and examples.SVM_LABEL == 2
    assert examples.CAT_CAR_FROG_LABELS == (0, 1, 2)
    assert examples.EARLY_STOPPING_LOSSES == (5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 2.0)
    assert examples.CONV_INPUT_SHAPE == (100, 3, 64, 64)
    assert examples.CNN_TABLE_INPUT_HWC == (128, 128, 3)
    assert examples.CNN_TABLE_LAYERS == (
        "CONV-9-32", "POOL-2", "CONV-5-64", "POOL-2", "CONV-5-64", "POOL-2", "FC-3",
    )


def test_reg_rows_are_the_examples_of_the_spec():
    # Row i is example i (transpose for the examples-as-columns convention).
    assert examples.REG_Y[0] == (0, 0, 0, 1) and examples.REG_Y[3] == (1, 0, 0, 0)
    assert examples.REG_Y_HAT[0] == (0.10, 0.20, 0.10, 0.60)
    assert examples.REG_Y_HAT[1] == (0.30, 0.20, 0.45, 0.05)
    assert examples.REG_Y_HAT[2] == (0.20, 0.55, 0.10, 0.15)
    assert examples.REG_Y_HAT[3] == (0.75, 0.10, 0.10, 0.05)
    np.testing.assert_allclose(arr("REG_Y_HAT").sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(arr("REG_Y").sum(axis=1), 1.0)


def test_cat_car_frog_rows_are_classes():
    scores = arr("CAT_CAR_FROG_SCORES")
    np.testing.assert_array_equal(scores[:, 0], [3.2, 5.1, -1.7])  # the cat image
    np.testing.assert_array_equal(scores[:, 1], [1.3, 4.9, 2.0])  # the car image
    np.testing.assert_array_equal(scores[:, 2], [2.2, 2.5, -3.1])  # the frog image


def test_grad_f_reference():
    x, y, z = examples.GRAD_F_POINT
    e = math.exp(x)
    grad = (2 * x * y + y * z + e * y**3 * z**2, x**2 + x * z + 3 * e * y**2 * z**2,
            x * y + 1 + 2 * e * y**3 * z)
    np.testing.assert_allclose(grad, (10.43656365691809, 9.654845485377136, 24.74625462767236),
                               rtol=1e-14)


def test_column_exp_sum_of_zero_inputs():
    A, B, C = (np.zeros(getattr(examples, n)) for n in ("SHAPES_A", "SHAPES_B", "SHAPES_C"))
    out = np.exp((B @ A.T) * C).sum(axis=0)
    assert out.shape == (50,)
    np.testing.assert_array_equal(out, 40.0)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_mazur_forward_backward_and_step_reference():
    x, target = arr("MAZUR_X"), arr("MAZUR_TARGET")
    W1, W2 = arr("MAZUR_W1"), arr("MAZUR_W2")
    net_h = W1 @ x + examples.MAZUR_B1
    out_h = sigmoid(net_h)
    net_o = W2 @ out_h + examples.MAZUR_B2
    out_o = sigmoid(net_o)
    close(net_h[0], 0.3775, 1e-12)
    close(sigmoid(0.3775), 0.593269992, 5e-10)
    close(out_h, (0.593269992, 0.596884378), 5e-10)
    close(net_o[0], 1.105905967, 5e-10)
    close(out_o, (0.75136507, 0.772928465), 5e-9)
    E = 0.5 * (target - out_o) ** 2
    close(E, (0.274811083, 0.023560026), 5e-10)
    close(E.sum(), 0.298371109, 5e-10)

    delta_o = (out_o - target) * out_o * (1 - out_o)
    close(out_o[0] - target[0], 0.74136507, 5e-9)
    close(out_o[0] * (1 - out_o[0]), 0.186815602, 5e-10)
    close(delta_o[0], 0.138498562, 5e-9)
    dW2 = np.outer(delta_o, out_h)
    close(dW2[0, 0], 0.082167041, 5e-10)
    dE_dout_h = W2.T @ delta_o
    close(dE_dout_h[0], 0.036350306, 5e-10)
    close(out_h[0] * (1 - out_h[0]), 0.241300709, 5e-10)
    dW1 = np.outer(dE_dout_h * out_h * (1 - out_h), x)
    close(dW1[0, 0], 0.000438568, 5e-10)

    eta = examples.MAZUR_ETA
    close((W2 - eta * dW2).ravel(), (0.35891648, 0.408666186, 0.511301270, 0.561370121), 5e-9)
    close((W1 - eta * dW1).ravel(), (0.149780716, 0.19956143, 0.24975114, 0.29950229), 5e-9)


def test_regularised_cross_entropy_reference():
    Y, Y_hat, theta = arr("REG_Y"), arr("REG_Y_HAT"), arr("REG_THETA")
    lam, n = examples.REG_LAMBDA, len(examples.REG_Y)
    ce_sum = -np.sum(Y * np.log(Y_hat))
    close(ce_sum, 2.1948524, 5e-8)
    close(ce_sum / n, 0.5487131, 5e-8)
    l1 = lam * np.sum(np.abs(theta))
    l2 = lam / 2 * np.sum(theta**2)
    close(l1, 0.17, 1e-12)
    close(l2, 0.0405, 1e-12)
    close((ce_sum + l1) / n, 0.591213098, 5e-10)
    close((ce_sum + l2) / n, 0.558838098, 5e-10)


def test_one_step_l2_reference():
    s = examples.L2_STEP
    h = s["x"] * s["w1"]
    y_hat = h * s["w2"]
    loss = 0.5 * (y_hat - s["y"]) ** 2
    reg_loss = loss + s["lam"] / 2 * (s["w1"] ** 2 + s["w2"] ** 2)
    dw2 = (y_hat - s["y"]) * h + s["lam"] * s["w2"]
    dw1 = (y_hat - s["y"]) * s["w2"] * s["x"] + s["lam"] * s["w1"]
    close([h, y_hat, loss, reg_loss], [1.0, 0.3, 11.045, 11.062], 1e-12)
    close([dw2, dw1], [-4.67, -2.77], 1e-12)
    close([s["w1"] - s["lr"] * dw1, s["w2"] - s["lr"] * dw2], [0.5277, 0.3467], 1e-12)


def hinge(scores, label):
    margins = np.maximum(0, scores - scores[label] + 1)
    margins[label] = 0
    return margins.sum()


def softmax_loss(scores, label):
    shifted = scores - scores.max()
    return float(-(shifted[label] - np.log(np.exp(shifted).sum())))


def test_svm_and_softmax_reference():
    scores, label = arr("SVM_SCORES"), examples.SVM_LABEL
    close(hinge(scores, label), 1.58, 1e-12)
    close(softmax_loss(scores, label), 1.0401906, 5e-8)


def test_cat_car_frog_reference():
    scores = arr("CAT_CAR_FROG_SCORES")
    per_example = [hinge(scores[:, i], y) for i, y in enumerate(examples.CAT_CAR_FROG_LABELS)]
    close(per_example, [2.9, 0.0, 12.9], 1e-12)
    close(np.mean(per_example), 5.2666667, 5e-8)
    close(softmax_loss(scores[:, 0], 0), 2.0403552, 5e-8)


def test_early_stopping_reference():
    losses, patience = examples.EARLY_STOPPING_LOSSES, 3
    best, best_step, stop = math.inf, 0, len(losses) - 1
    for k, loss in enumerate(losses):
        if loss < best:
            best, best_step = loss, k
        elif k - best_step == patience:
            stop = k
            break
    assert (stop, stop - patience) == (5, 2)


def test_conv_layer_reference():
    n, c, h, w = examples.CONV_INPUT_SHAPE
    f, s, c_out = 5, 2, 2
    out = (h - f) // s + 1
    assert out == 30 and (w - f) // s + 1 == 30
    assert (n, c_out, out, out) == (100, 2, 30, 30)
    assert c_out * out * out == 1800
    assert (c_out, c, f, f) == (2, 3, 5, 5)


def test_cnn_table_reference():
    h, w, c = examples.CNN_TABLE_INPUT_HWC
    rows = []
    for layer in examples.CNN_TABLE_LAYERS:
        kind, *numbers = layer.split("-")
        if kind == "CONV":
            f, c_out = map(int, numbers)
            weights, biases = f * f * c * c_out, c_out
            h, w, c = h - f + 1, w - f + 1, c_out
            rows.append((layer, (h, w, c), weights, biases))
        elif kind == "POOL":
            (f,) = map(int, numbers)
            h, w = h // f, w // f
            rows.append((layer, (h, w, c), 0, 0))
        else:
            (units,) = map(int, numbers)
            rows.append((layer, (units,), h * w * c * units, units))
    assert rows == [
        ("CONV-9-32", (120, 120, 32), 7776, 32),
        ("POOL-2", (60, 60, 32), 0, 0),
        ("CONV-5-64", (56, 56, 64), 51200, 64),
        ("POOL-2", (28, 28, 64), 0, 0),
        ("CONV-5-64", (24, 24, 64), 102400, 64),
        ("POOL-2", (12, 12, 64), 0, 0),
        ("FC-3", (3,), 27648, 3),
    ]
