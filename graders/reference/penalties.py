"""L1 and L2 weight penalties, their (sub)gradient, and the L1 proximal step.

The regularized training objective is

    J(w) = L_data(w) + l1 * sum_i |w_i| + l2 * sum_i w_i**2

with the same conventions as ``keras.regularizers.L1``, ``L2`` and ``L1L2``:
there is **no** factor 1/2 in front of the L2 term, so its gradient is
``2 * l2 * w``.
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, as_weight_list, check_nonnegative


def l1_penalty(weights, lam) -> float:
    """L1 (Lasso) penalty ``lam * sum |w|`` over one array or a list of arrays.

    Args:
        weights: an array of any shape, or a list/tuple of arrays (for example
            the kernels of every layer of a network); shapes may differ.
        lam: the regularization strength, a non-negative float.

    Returns:
        A Python float, equal to ``keras.regularizers.L1(lam)`` summed over the arrays.

    Example:
        >>> l1_penalty([np.array([1.0, -2.0]), np.array([[3.0]])], 0.1)
        0.6000000000000001
    """
    lam = check_nonnegative(lam, "lam")
    arrays = as_weight_list(weights)
    return lam * float(sum(np.abs(w).sum(dtype=np.float64) for w in arrays))


def l2_penalty(weights, lam) -> float:
    """L2 (Ridge) penalty ``lam * sum w**2`` over one array or a list of arrays.

    Keras' convention: no factor 1/2 (``keras.regularizers.L2(lam)`` is ``lam * sum(w**2)``).

    Args:
        weights: an array of any shape, or a list/tuple of arrays.
        lam: the regularization strength, a non-negative float.

    Returns:
        A Python float.

    Example:
        >>> l2_penalty(np.array([1.0, -2.0]), 0.1)
        0.5
    """
    lam = check_nonnegative(lam, "lam")
    arrays = as_weight_list(weights)
    return lam * float(sum(np.square(w, dtype=np.float64).sum() for w in arrays))


def penalty_grad(w, l1=0.0, l2=0.0) -> np.ndarray:
    """Gradient of ``l1 * sum|w| + l2 * sum w**2`` with respect to ``w``.

    ``l1 * sign(w) + 2 * l2 * w``. At ``w == 0`` the L1 term is not
    differentiable; we use the subgradient 0 (``np.sign(0) == 0``), the choice
    TensorFlow's autodiff makes as well.

    Args:
        w: weights, an array of any shape.
        l1: L1 strength, non-negative.
        l2: L2 strength, non-negative.

    Returns:
        An array with the shape and floating dtype of ``w``.

    Example:
        >>> penalty_grad(np.array([-2.0, 0.0, 3.0]), l1=0.5, l2=0.25)
        array([-1.5,  0. ,  2. ])
    """
    w = as_float_array(w, "w")
    l1 = check_nonnegative(l1, "l1")
    l2 = check_nonnegative(l2, "l2")
    return (l1 * np.sign(w) + 2.0 * l2 * w).astype(w.dtype, copy=False)


def soft_threshold(w, t) -> np.ndarray:
    """Soft-thresholding, the proximal operator of ``t * sum|w|``.

    ``sign(w) * max(|w| - t, 0)``: every entry moves ``t`` towards zero, and
    entries with ``|w| <= t`` become **exactly** zero. One proximal-gradient
    (ISTA) step for the Lasso is ``soft_threshold(w - lr * grad_data, lr * lam)``.

    Args:
        w: an array of any shape.
        t: the threshold, non-negative.

    Returns:
        An array with the shape and floating dtype of ``w``.

    Example:
        >>> soft_threshold(np.array([-3.0, -0.5, 0.2, 2.0]), 1.0)
        array([-2., -0.,  0.,  1.])
    """
    w = as_float_array(w, "w")
    t = check_nonnegative(t, "t")
    return (np.sign(w) * np.maximum(np.abs(w) - t, 0.0)).astype(w.dtype, copy=False)
