"""Inputs of the lectures' worked examples, as immutable constants, each with its lecture.

Only inputs live here; the reference answers are checked in the notebooks' tests. Convert with
``np.array(...)`` before computing. ``SOURCES`` names, by its subject, the lecture that every
constant comes from (instructors find the lecture files in each source notebook's metadata,
``metadata.course.lectures``).
"""

from __future__ import annotations

# The lectures, by subject.
GRADIENTS_SEED = "the deep-learning midterm review"
BACKPROP_SEED = "the recitation on overfitting, regularization and backpropagation"
CLASSIFIER_SEED = "the lecture on backpropagation (revisited) and regularization"
LOSSES_SEED = "the lecture on regularization, dropout and early stopping"
LINEAR_CLASSIFIER_SEED = "the lecture on regularization, neural networks and computing gradients"

# 01 gradients: f(x, y, z) = x**2*y + x*y*z + z + exp(x)*y**3*z**2 evaluated at this point.
GRAD_F_POINT = (1.0, 2.0, 0.5)
# 01 gradients: the shapes exercise, exp((B @ A.T) * C) summed over axis 0.
SHAPES_A = (50, 100)
SHAPES_B = (40, 100)
SHAPES_C = (40, 50)

# 02 backprop: the 2-2-2 sigmoid network worked step by step (row = receiving unit).
MAZUR_X = (0.05, 0.10)
MAZUR_TARGET = (0.01, 0.99)
MAZUR_W1 = ((0.15, 0.20), (0.25, 0.30))
MAZUR_B1 = 0.35
MAZUR_W2 = ((0.40, 0.45), (0.50, 0.55))
MAZUR_B2 = 0.60
MAZUR_ETA = 0.5

# 03 regularization: four examples (columns) of four classes, parameters and lambda.
REG_Y = ((0, 0, 0, 1), (0, 0, 1, 0), (0, 1, 0, 0), (1, 0, 0, 0))  # row i = example i
REG_Y_HAT = (
    (0.10, 0.20, 0.10, 0.60),
    (0.30, 0.20, 0.45, 0.05),
    (0.20, 0.55, 0.10, 0.15),
    (0.75, 0.10, 0.10, 0.05),
)
REG_THETA = (0.5, -0.4, 0.6, -0.2)
REG_LAMBDA = 0.1
# 03 regularization: one gradient step of a two-weight linear chain with an L2 penalty.
L2_STEP = {"x": 2.0, "y": 5.0, "w1": 0.5, "w2": 0.3, "lr": 0.01, "lam": 0.1}
# 03 losses: one example's scores and its label; the cat/car/frog table (rows = classes).
SVM_SCORES = (-2.85, 0.86, 0.28)
SVM_LABEL = 2
CAT_CAR_FROG_SCORES = ((3.2, 1.3, 2.2), (5.1, 4.9, 2.5), (-1.7, 2.0, -3.1))
CAT_CAR_FROG_LABELS = (0, 1, 2)
EARLY_STOPPING_LOSSES = (5.0, 4.0, 3.0, 3.5, 3.2, 3.1, 3.05, 2.0)

# 07 CNN shapes: one layer on a batch, and the network of the shape table (H x W x C input).
CONV_INPUT_SHAPE = (100, 3, 64, 64)
CNN_TABLE_INPUT_HWC = (128, 128, 3)
CNN_TABLE_LAYERS = ("CONV-9-32", "POOL-2", "CONV-5-64", "POOL-2", "CONV-5-64", "POOL-2", "FC-3")

SOURCES = {
    "GRAD_F_POINT": GRADIENTS_SEED,
    "SHAPES_A": GRADIENTS_SEED,
    "SHAPES_B": GRADIENTS_SEED,
    "SHAPES_C": GRADIENTS_SEED,
    "MAZUR_X": BACKPROP_SEED,
    "MAZUR_TARGET": BACKPROP_SEED,
    "MAZUR_W1": BACKPROP_SEED,
    "MAZUR_B1": BACKPROP_SEED,
    "MAZUR_W2": BACKPROP_SEED,
    "MAZUR_B2": BACKPROP_SEED,
    "MAZUR_ETA": BACKPROP_SEED,
    "REG_Y": BACKPROP_SEED,
    "REG_Y_HAT": BACKPROP_SEED,
    "REG_THETA": BACKPROP_SEED,
    "REG_LAMBDA": BACKPROP_SEED,
    "L2_STEP": LOSSES_SEED,
    "SVM_SCORES": LINEAR_CLASSIFIER_SEED,
    "SVM_LABEL": LINEAR_CLASSIFIER_SEED,
    "CAT_CAR_FROG_SCORES": LOSSES_SEED,
    "CAT_CAR_FROG_LABELS": LOSSES_SEED,
    "EARLY_STOPPING_LOSSES": LOSSES_SEED,
    "CONV_INPUT_SHAPE": BACKPROP_SEED,
    "CNN_TABLE_INPUT_HWC": GRADIENTS_SEED,
    "CNN_TABLE_LAYERS": GRADIENTS_SEED,
}


def source(name: str) -> str:
    """The lecture, by subject, that the constant ``name`` comes from (KeyError for an unknown name)."""
    return SOURCES[name]
