"""The reference implementations: the single copy of the course's math.

Hidden tests compare students' functions with these, the book calls them, and
``tests/reference/test_reference_vs_keras.py`` checks them against the installed Keras. NumPy only:
importing them never imports TensorFlow, so NumPy notebooks and their checks start fast.
"""
from .batchnorm import batchnorm_backward, batchnorm_forward
from .dropout import dropout_backward, dropout_forward, dropout_mask
from .early_stopping import early_stopping
from .lasso import ista, lasso_ista, lasso_lambda_max, lasso_objective
from .penalties import l1_penalty, l2_penalty, penalty_grad, soft_threshold

__all__ = [
    "l1_penalty", "l2_penalty", "penalty_grad", "soft_threshold",
    "dropout_mask", "dropout_forward", "dropout_backward",
    "batchnorm_forward", "batchnorm_backward",
    "early_stopping",
    "lasso_objective", "lasso_lambda_max", "ista", "lasso_ista",
]
