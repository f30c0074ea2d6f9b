"""The common-mistake hints fire: a test cell fed a typical wrong answer names that mistake.

Each case takes the reference solution of one exercise, introduces one typical slip by a text
replacement, and runs that exercise's test cell in-process (imports, locked helper cells, given
code and every solution cell run first, no kernel). The failure message must contain the hint.
The unmodified solutions must pass every test cell, so the harness itself can fail.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from conftest import ROOT, read_nb

MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def _meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def _solved(source: str) -> str:
    return "\n".join(ln for ln in source.splitlines() if ln.strip() not in MARKERS)


def _exec(source: str, cell_id: str, namespace: dict) -> None:
    """Run a cell's code in ``namespace`` as the kernel would (magics dropped, output discarded)."""
    source = "\n".join(ln for ln in source.splitlines() if not ln.lstrip().startswith("%"))
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, f"<{cell_id}>", "exec"), namespace)


def run_test_cell(notebook: str, grade_id: str, replace: tuple[str, str] | None = None) -> str | None:
    """Run test-<grade_id> after the notebook's setup cells; returns the failure message or None."""
    cells = read_nb(ROOT / "source" / notebook).cells
    namespace: dict = {"__name__": "__main__"}
    for cell in cells:
        meta = _meta(cell)
        if cell.cell_type != "code":
            continue
        source = cell.source
        if meta.get("solution"):
            source = _solved(source)
            if meta["grade_id"] == grade_id and replace:
                old, new = replace
                assert old in source, f"{old!r} not found in the solution of {grade_id}"
                source = source.replace(old, new)
        elif meta.get("grade"):
            if meta["grade_id"] != f"test-{grade_id}":
                continue
        elif not (meta.get("locked") or "given-code" in cell.metadata.get("tags", [])):
            continue
        try:
            _exec(source, cell.id, namespace)
        except AssertionError as err:
            if meta.get("grade"):
                return str(err)
            raise
    return None


def _graded(notebook: str) -> list[str]:
    return [_meta(c)["grade_id"] for c in read_nb(ROOT / "source" / notebook).cells
            if _meta(c).get("solution") and c.cell_type == "code"]


NOTEBOOKS = sorted(str(p.relative_to(ROOT / "source")) for p in (ROOT / "source").glob("*/*.ipynb"))


def failing_tests(notebook: str, unanswered: str) -> set[str]:
    """The test cells that fail when exercise ``unanswered`` is left as released (its stub) and
    every other one is solved: the whole notebook in-process, every test cell run."""
    released = {_meta(c).get("grade_id"): c.source for c in read_nb(ROOT / "release" / notebook).cells}
    namespace: dict = {"__name__": "__main__"}
    failed = set()
    for cell in read_nb(ROOT / "source" / notebook).cells:
        meta = _meta(cell)
        if cell.cell_type != "code" or not (meta.get("locked") or meta.get("solution")):
            continue
        source = released[meta["grade_id"]] if meta["grade_id"] == unanswered else _solved(cell.source)
        try:
            _exec(source, cell.id, namespace)
        except Exception:  # noqa: BLE001 - any failure of a test cell counts
            if not meta.get("grade"):
                raise
            failed.add(meta["grade_id"])
    return failed


@pytest.mark.parametrize("notebook, exercise", [(nb, gid) for nb in NOTEBOOKS for gid in _graded(nb)])
def test_an_unanswered_exercise_costs_exactly_its_own_test(notebook, exercise):
    """Stand-ins make every test independent: one missing answer fails its own test only."""
    assert failing_tests(notebook, exercise) == {f"test-{exercise}"}


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_reference_solutions_pass_every_test_in_process(notebook):
    failures = {gid: run_test_cell(notebook, gid) for gid in _graded(notebook)}
    assert not any(failures.values()), failures


GRADIENTS = "01_gradients/gradients.ipynb"
BACKPROP = "02_backprop/backprop.ipynb"
REGULARIZATION = "03_regularization/regularization.ipynb"

CASES = [
    (GRADIENTS, "grad_f", ("x * y + 1 +", "x * y +"), "the +1 from the lone term z is missing"),
    (GRADIENTS, "mse_loss", ("np.sum(residuals**2) / y.size", "np.sum(residuals**2)"), "1/m is missing"),
    (GRADIENTS, "linreg_backward", ("(y_hat - y)", "(y - y_hat)"), "sign is flipped"),
    (BACKPROP, "sigmoid", ("np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))\n",
                           "np.exp(-np.logaddexp(0.0, np.asarray(z, dtype=np.float64)))\n"),
     "check the sign of the exponent"),
    (BACKPROP, "sigmoid", ("return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=np.float64)))",
                           "return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=np.float64)))"),
     "overflow"),
    (BACKPROP, "sigmoid", ("return s * (1.0 - s)",
                           "z = np.asarray(z, dtype=float)\n    return z * (1.0 - z)"),
     "this is z * (1 - z)"),
    (BACKPROP, "mazur_forward", ("net_h = W1 @ x + b1", "net_h = W1.T @ x + b1"),
     "row j of W1 feeds hidden unit j"),
    (BACKPROP, "mazur_forward", ("net_o = W2 @ out_h + b2", "net_o = W2 @ net_h + b2"),
     "should use out_h"),
    (BACKPROP, "squared_error", ("E_each = 0.5 * (target - out_o) ** 2", "E_each = (target - out_o) ** 2"),
     "the factor 1/2 is missing"),
    (BACKPROP, "mazur_backward", ("(out_o - target) * out_o * (1.0 - out_o)", "(out_o - target)"),
     "slope out_o (1 - out_o) is missing"),
    (BACKPROP, "mazur_backward", ("(W2.T @ delta_o)", "(W2[0] * delta_o[0])"), "only the path through o1"),
    (BACKPROP, "mazur_backward", ("(W2.T @ delta_o)", "(W2 @ delta_o)"), "use W2.T"),
    (BACKPROP, "mazur_step", ("- eta * np.asarray(dW2", "+ eta * np.asarray(dW2"), "went uphill"),
    (BACKPROP, "forward", ("if layer == L or hidden == \"sigmoid\":", "if hidden == \"sigmoid\":"),
     "the output layer used ReLU"),
    (BACKPROP, "forward", ("A = sigmoid(Z)", "A = Z"), "output layer needs the sigmoid"),
    (BACKPROP, "bce_loss", ("-np.mean(", "-np.sum("), "divide by m"),
    (BACKPROP, "bce_loss", ("A = np.clip(AL, eps, 1.0 - eps)", "A = AL"), "warning"),
    (BACKPROP, "backward", ("dZ @ A_prev.T / m", "dZ @ A_prev.T"), "the 1/m is missing"),
    (BACKPROP, "backward", ("dZ = dA_prev * (cache[f\"Z{layer - 1}\"] > 0)", "dZ = dA_prev"), "ReLU slope"),
    (BACKPROP, "train", ("value - lr * grads", "value + lr * grads"), "went uphill"),
    (BACKPROP, "backward_fixed", ("dZ1 = dA1 * (1 - A1**2)", "dZ1 = dA1 * (1 - A1)"),
     "still the planted bug"),
    (REGULARIZATION, "cross_entropy", ("/ Y.shape[1])", ")"), "divide by N"),
    (REGULARIZATION, "cross_entropy", ("np.log(np.clip(Y_hat, 1e-300, None))", "np.log(Y_hat)"), "warning"),
    (REGULARIZATION, "l2_penalty", ("0.5 * lam", "lam"), "convention here is (lam / 2)"),
    (REGULARIZATION, "regularized_cross_entropy",
     ("* N + penalties[kind](theta, lam)) / N", "* N) / N + penalties[kind](theta, lam)"),
     "the penalty was not divided by N"),
    (REGULARIZATION, "compute_cost_with_regularization", ('if key.startswith("W")', "if key"),
     "the biases were penalised too"),
    (REGULARIZATION, "one_step_l2", ("reg_loss = loss + 0.5 * lam", "reg_loss = loss + 0.05 * lam"),
     "slide's 11.0467"),
    (REGULARIZATION, "one_step_l2", ("dw2 = err * h + lam * w2", "dw2 = err * h"), "lam * w2 is missing"),
    (REGULARIZATION, "l2_update", ("2.0 * lr * lam * w", "lr * lam * w"), "factor 2 is missing"),
    (REGULARIZATION, "weight_decay_update", ("- lam * w", "- lr * lam * w"), "multiplied by lr"),
    (REGULARIZATION, "svm_loss", ("margins[y, columns] = 0.0", "pass"), "compared with itself"),
    (REGULARIZATION, "svm_loss", ("scores - correct + 1.0", "scores - correct"), "margin of 1 is missing"),
    (REGULARIZATION, "softmax_loss", ("-log_p_true.mean()", "-log_p_true.sum()"),
     "the loss is their mean"),
    (REGULARIZATION, "softmax_loss", ("shifted = scores - scores.max(axis=0)", "shifted = scores"),
     "warning"),
    (REGULARIZATION, "early_stopping",
     ("return step, step - patience", "return step + 1, step - patience + 1"), "1-based"),
]

# Hints added with the content pass on 01-03 (issues 14 and 15).
CASES += [
    (BACKPROP, "bce_loss", ("float(-np.mean(", "float(np.mean("), "the leading minus is missing"),
    (REGULARIZATION, "svm_loss_grad", ("return dscores / N", "return dscores"), "the 1/N is missing"),
    (REGULARIZATION, "svm_loss_grad", ("violated[y, columns] = 0.0", "pass"), "violating its own margin"),
    (REGULARIZATION, "svm_loss_grad", ("dscores[y, columns] = -violated.sum(axis=0)", "pass"),
     "the true class's score has no gradient"),
    (REGULARIZATION, "softmax_loss_grad", ("return probs / scores.shape[1]", "return probs"),
     "the 1/N is missing"),
    (REGULARIZATION, "softmax_loss_grad", ("probs[y, np.arange(scores.shape[1])] -= 1.0", "pass"),
     "onehot(y) was not subtracted"),
]


INITIALIZATION = "04_initialization/initialization.ipynb"


INITIALIZATION_CASES = [
    ("init_params", ('"xavier": np.sqrt(1.0 / n_in)', '"xavier": 1.0 / n_in'), "uses the variance 1/n_{l-1}"),
    ("init_params", ('"xavier": np.sqrt(1.0 / n_in)', '"xavier": np.sqrt(2.0 / (n_in + n_out))'),
     "Glorot's variance"),
    ("init_params", ('"he": np.sqrt(2.0 / n_in)', '"he": np.sqrt(2.0 / n_out)'), "the fan-out"),
    ("init_params", ('{"random": scale,', '{"random": scale**2,'), "scale**2, the variance"),
    ("init_params",
     ("rng.standard_normal((n_out, n_in)) * std", "rng.standard_normal((n_in, n_out)).T * std"),
     "transposed afterwards"),
    ("init_params",
     ("rng.standard_normal((n_out, n_in)) * std", "np.random.standard_normal((n_out, n_in)) * std"),
     "draw from rng, not from np.random"),
    ("layer_activations", ('A = g(W @ A + params[f"b{layer}"])', 'A = W @ A + params[f"b{layer}"]'),
     "the activation was not applied"),
    ("activation_stats", ("float(np.std(A))", "float(np.var(A))"), "is the variance"),
    ("activation_stats", ("float(np.std(A))", "float(np.std(A, ddof=1))"), "sample standard deviation"),
    ("distinct_units", ("np.max(np.abs(row - rep)) <= tol", "np.max(np.abs(row - rep)) == 0"),
     "differ by rounding"),
]


# --- 05 dropout -------------------------------------------------------------------------------
DROPOUT = "05_dropout/dropout.ipynb"

DROPOUT_CASES = [
    (DROPOUT, "dropout_forward", ("return A * mask / (1.0 - p), mask", "return A * mask, mask"),
     "forgotten 1/(1-p)"),
    (DROPOUT, "dropout_forward", ("mask = rng.random(A.shape) < 1.0 - p", "mask = rng.random(A.shape) < p"),
     "p is the DROP probability"),
    (DROPOUT, "dropout_forward", ("mask = rng.random(A.shape) < 1.0 - p", "mask = rng.random(A.shape) > p"),
     "the tests need exactly"),
    (DROPOUT, "dropout_forward", ("return A.copy(), np.ones(A.shape, dtype=bool)",
                                  "return A * (1.0 - p), np.ones(A.shape, dtype=bool)"),
     "at test time it does nothing"),
    (DROPOUT, "dropout_forward", ("    if p == 1.0:\n        return np.zeros_like(A), mask", ""), "warning"),
    (DROPOUT, "dropout_backward", ("return dout * mask / (1.0 - p)", "return dout * mask"),
     "the 1/(1-p) is missing in the backward pass"),
    (DROPOUT, "dropout_backward", ("return dout * mask / (1.0 - p)",
                                   "return dout * (np.random.default_rng(1).random(dout.shape) < 1 - p) "
                                   "/ (1.0 - p)"),
     "never draw a new one"),
    (DROPOUT, "classic_dropout_forward", ("return A * mask, mask", "return A * mask / (1.0 - p), mask"),
     "that is inverted dropout"),
    (DROPOUT, "classic_dropout_forward", ("return A * (1.0 - p), np.ones", "return A * p, np.ones"),
     "keep and drop probability are swapped"),
    (DROPOUT, "n_thinned_networks", ("return 2 ** int(n)", "return int(n) ** 2"), "this is n**2"),
]


OPTIMIZERS = "06_optimizers/optimizers.ipynb"


OPTIMIZER_CASES = [
    (OPTIMIZERS, "sgd_update", ("return w - lr * dw", "return w + lr * dw"), "went uphill"),
    (OPTIMIZERS, "momentum_update", ("(1.0 - beta) * dw", "dw"), "the factor (1 - beta) is missing"),
    (OPTIMIZERS, "momentum_update", ("return w - lr * v_new", "return w - lr * dw"),
     "momentum moves it with the new v"),
    (OPTIMIZERS, "rmsprop_update", ("(np.sqrt(s_new) + eps)", "(s_new + eps)"), "divides by its square root"),
    (OPTIMIZERS, "rmsprop_update", ("(np.sqrt(s_new) + eps)", "np.sqrt(s_new + eps)"),
     "eps went inside the square root"),
    (OPTIMIZERS, "adam_update", ("/ (1.0 - beta1**t)\n    v_hat = v_new / (1.0 - beta2**t)",
                                 "\n    v_hat = v_new"),
     "no bias correction"),
    (OPTIMIZERS, "adam_update", ("/ (1.0 - beta1**t)\n    v_hat = v_new / (1.0 - beta2**t)",
                                 "/ (1.0 - beta1**(t + 1))\n    v_hat = v_new / (1.0 - beta2**(t + 1))"),
     "t counts the steps from 1"),
    (OPTIMIZERS, "adam_update", ("(np.sqrt(v_hat) + eps)", "np.sqrt(v_hat + eps)"),
     "eps went inside the square root"),
    (OPTIMIZERS, "adam_update", ("(1.0 - beta1) * dw", "dw"), "the factor (1 - beta1) is missing"),
    (OPTIMIZERS, "random_minibatches", ("order = rng.permutation(X.shape[1])",
                                        "order = np.arange(X.shape[1])"),
     "the batches are in the original order"),
    (OPTIMIZERS, "random_minibatches", ("X_shuffled, Y_shuffled = X[:, order], Y[:, order]",
                                        "X_shuffled, Y_shuffled = X[:, order], Y[:, order[::-1]]"),
     "shuffle X and Y with the same permutation"),
    (OPTIMIZERS, "random_minibatches", ("for k in range(0, X.shape[1], batch_size)]",
                                        "for k in range(0, X.shape[1] - batch_size + 1, batch_size)]"),
     "the last, smaller batch is missing"),
    (OPTIMIZERS, "lr_decay", ("lr0 / (1.0 + decay_rate * epoch)", "lr0 / 1.0 + decay_rate * epoch"),
     "the division is misplaced"),
]


# --- 07 CNN shapes ---------------------------------------------------------------------------
CNN_SHAPES = "07_cnn_shapes/cnn_shapes.ipynb"


CNN_CASES = [
    (CNN_SHAPES, "conv_output_size", ("// s + 1", "// s"), "the +1 is missing"),
    (CNN_SHAPES, "conv_output_size", ("return (n + 2 * p - f)", "return (n + p - f)"),
     "padding was counted once"),
    (CNN_SHAPES, "conv_output_size", ("(n + 2 * p - f) // s + 1", "(n + 2 * p - f) + 1"),
     "stride was ignored"),
    (CNN_SHAPES, "conv_output_size", ("(n + 2 * p - f) // s + 1", "-(-(n + 2 * p - f) // s) + 1"),
     "rounds up"),
    (CNN_SHAPES, "same_padding", ("return (f - 1) // 2", "return f / 2"), "this is f / 2"),
    (CNN_SHAPES, "conv_param_count", ("(1 if bias else 0)", "0"), "the biases are missing"),
    (CNN_SHAPES, "conv_layer_shapes", ('"flatten": c_out', '"flatten": N * c_out'),
     "batch dimension was flattened"),
    (CNN_SHAPES, "conv_layer_shapes", ('"weight": (c_out, C, f, f)', '"weight": (C, c_out, f, f)'),
     "the channels are swapped"),
    (CNN_SHAPES, "network_table", ("conv_output_size(h, f, 0, f), conv_output_size(w, f, 0, f)",
                                   "conv_output_size(h, f), conv_output_size(w, f)"), "POOL-f moves by f"),
    (CNN_SHAPES, "network_table", ("conv_param_count(f, c, c_out, bias=False)",
                                   "conv_param_count(f, c, c_out)"), "counts the biases with the weights"),
    (CNN_SHAPES, "conv2d_forward", ("w_rows = w.reshape(", "w_rows = w[:, :, ::-1, ::-1].reshape("),
     "the kernel was flipped"),
    (CNN_SHAPES, "conv2d_forward",
     ("axis=(2, 3))[:, :, ::stride, ::stride]", "axis=(2, 3))[:, :, :H_out, :W_out]"),
     "the window moved 1 pixel"),
    (CNN_SHAPES, "conv2d_forward", ("return out + b[None, :, None, None]", "return out"),
     "the bias b[f] is missing"),
    (CNN_SHAPES, "conv2d_forward",           # the first k*k rows of columns are channel 0
     ("(w_rows @ columns)", "(w_rows[:, :k * k] @ columns[:k * k])"), "only the first channel was used"),
    (CNN_SHAPES, "maxpool_forward", (".max(axis=(4, 5))", ".mean(axis=(4, 5))"), "average pooling"),
    (CNN_SHAPES, "maxpool_forward",
     ("[:, :, ::stride, ::stride]",
      "[:, :, :(x.shape[2] - f) // stride + 1, :(x.shape[3] - f) // stride + 1]"),
     "the window moved 1 pixel"),
]


ALL_CASES = [*CASES, *((INITIALIZATION, *case) for case in INITIALIZATION_CASES), *DROPOUT_CASES,
             *OPTIMIZER_CASES, *CNN_CASES]


@pytest.mark.parametrize("notebook, grade_id, replace, hint", ALL_CASES,
                         ids=[f"{c[0].split('_')[0]}-{c[1]}-{c[3][:30]}" for c in ALL_CASES])
def test_a_typical_mistake_is_named(notebook, grade_id, replace, hint):
    message = run_test_cell(notebook, grade_id, replace)
    assert message is not None, f"the test of {grade_id} passed a wrong answer"
    assert hint in message, message
