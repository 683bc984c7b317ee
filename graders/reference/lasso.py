"""The Lasso, solved by proximal gradient descent (ISTA), in the course's one convention.

The course minimises

    F(w) = mean((X w - y)^2) + lam * ||w||_1 = (1/n) ||X w - y||^2 + lam * ||w||_1,

which is what Keras minimises for a linear model with ``loss="mse"`` and
``kernel_regularizer=keras.regularizers.L1(lam)``: the book's chapter on L1/L2 and problem
set 1 use this convention. (scikit-learn's ``Lasso`` minimises (1/2n) ||X w - y||^2 + alpha ||w||_1:
its ``alpha`` is half of this ``lam``.)

ISTA alternates a gradient step on the data term, whose gradient is (2/n) X^T (X w - y) and
whose Lipschitz constant is L = 2 sigma_max(X)^2 / n, with the proximal step of the L1 term,
soft thresholding by eta * lam (eta = 1/L):

    w <- S_{eta lam}(w - eta * (2/n) X^T (X w - y))

Every weight is zero exactly when lam >= lam_max = ||(2/n) X^T y||_inf.

>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> X = rng.standard_normal((100, 5))
>>> y = X @ np.array([2.0, 0.0, 0.0, -1.0, 0.0]) + 0.1 * rng.standard_normal(100)
>>> w = lasso_ista(X, y, 0.2)
>>> np.flatnonzero(w).tolist()            # the irrelevant features get exactly 0
[0, 3]
>>> bool(np.all(lasso_ista(X, y, lasso_lambda_max(X, y)) == 0))
True
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_nonnegative
from .penalties import l1_penalty, soft_threshold


def _data(X, y) -> tuple[np.ndarray, np.ndarray]:
    X = as_float_array(X, "X")
    y = as_float_array(y, "y")
    if X.ndim != 2 or y.ndim != 1 or X.shape[0] != y.shape[0] or X.shape[0] == 0:
        raise ValueError(f"Expected X of shape (n, d) and y of shape (n,) with n >= 1. "
                         f"Received: X.shape={X.shape}, y.shape={y.shape}")
    return X, y


def lasso_objective(X, y, w, lam) -> float:
    """``mean((X w - y)^2) + lam * ||w||_1``, the objective ISTA minimises here."""
    X, y = _data(X, y)
    w = as_float_array(w, "w")
    return float(np.mean((X @ w - y) ** 2) + l1_penalty(w, check_nonnegative(lam, "lam")))


def lasso_lambda_max(X, y) -> float:
    """The smallest ``lam`` whose Lasso solution is all zeros: ``||(2/n) X^T y||_inf``."""
    X, y = _data(X, y)
    return float(np.abs(2.0 * X.T @ y / len(y)).max())


def ista(X, y, lam, n_steps: int = 500, *, w0=None, tol: float = 0.0) -> tuple[np.ndarray, int]:
    """ISTA from ``w0`` (default 0) with step 1/L: at most ``n_steps`` steps, fewer if a step
    changes no weight by more than ``tol``. Returns ``(w, steps_taken)``.

    Args:
        X: array of shape ``(n, d)``; y: array of shape ``(n,)``.
        lam: the L1 strength, >= 0.
        n_steps: the number of steps (an int >= 0).
        w0: the starting point (a warm start), shape ``(d,)``.
        tol: stop when ``max |w_next - w| < tol`` (0: always take ``n_steps`` steps).
    """
    X, y = _data(X, y)
    lam = check_nonnegative(lam, "lam")
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"Expected `n_steps` to be a non-negative integer. Received: n_steps={n_steps!r}")
    n = len(y)
    eta = n / (2.0 * np.linalg.norm(X, 2) ** 2)  # 1 / L
    w = np.zeros(X.shape[1]) if w0 is None else as_float_array(w0, "w0").copy()
    for step in range(1, int(n_steps) + 1):
        w_next = soft_threshold(w - eta * (2.0 * X.T @ (X @ w - y) / n), eta * lam)
        if tol and np.max(np.abs(w_next - w)) < tol:
            return w_next, step
        w = w_next
    return w, int(n_steps)


def lasso_ista(X, y, lam, n_steps: int = 500) -> np.ndarray:
    """Exactly ``n_steps`` ISTA steps from ``w = 0`` (problem set 1's contract). Returns ``w``, shape ``(d,)``."""
    return ista(X, y, lam, n_steps)[0]
