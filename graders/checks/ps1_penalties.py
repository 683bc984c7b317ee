"""Hidden-test checks for ps1_penalties (L1/L2 penalties, their gradient, soft thresholding, ISTA).

Each check is named after the graded cell that calls it and tests one behaviour,
so that one mistake costs the points of one cell and the message names it.
"""
from __future__ import annotations

import numpy as np

from graders import l1_penalty as ref_l1, l2_penalty as ref_l2
from graders import lasso_ista as ref_lasso_ista, lasso_objective as ref_lasso_objective
from graders import penalty_grad as ref_grad, soft_threshold as ref_soft

from ._framework import CheckFailed, call_student, check, describe, expect_close, expect_raises, ratio_is

A = "ps1_penalties"


def _weights(seed: int, shape, dtype=np.float64, scale: float = 2.0) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


def _away_from_zero(seed: int, shape, margin: float, dtype=np.float64) -> np.ndarray:
    """Random entries with |w| > margin (no exact zeros, no ties with a threshold)."""
    rng = np.random.default_rng(seed)
    w = np.sign(rng.standard_normal(shape)) * (margin + 0.05 + rng.exponential(1.0, shape))
    return w.astype(dtype)


def _scalar(value, name: str) -> float:
    if value is None:
        raise CheckFailed(f"`{name}` returned None: did you forget a `return` statement?")
    if np.ndim(value) != 0:
        raise CheckFailed(
            f"`{name}` should return a single number (the penalty summed over every weight); "
            f"it returned {describe(np.asarray(value))}."
        )
    try:
        return float(value)
    except (TypeError, ValueError):
        raise CheckFailed(f"`{name}` should return a number; it returned {type(value).__name__}.") from None


# --------------------------------------------------------------------------- #
# l1_penalty / l2_penalty
# --------------------------------------------------------------------------- #
_VALUE_CASES = [  # (seed, shape, dtype, lam)
    (0, (5,), np.float64, 0.1),
    (1, (4, 3), np.float32, 0.01),
    (2, (2, 3, 4), np.float64, 1.5),
    (3, (1,), np.float64, 0.3),
    (4, (6, 2), np.float64, 0.0),
    (5, (7,), np.float32, 2.0),
]


def _diagnose_penalty(kind: str, w: np.ndarray, lam: float):
    w64 = w.astype(np.float64)

    def diagnose(got, want):
        got = float(got)
        if lam > 0 and np.isclose(got, float(want) / lam, rtol=1e-5):
            return "The result is missing the factor `lam`: multiply the sum by the regularization strength."
        if kind == "l2":
            if ratio_is(got, want, 0.5, tol=1e-5):
                return ("The result is exactly half the expected value: in this course (as in "
                        "keras.regularizers.L2) the L2 penalty is lam * sum(w**2), with no factor 1/2.")
            if np.isclose(got, lam * np.sqrt(np.sum(w64 ** 2)), rtol=1e-5):
                return "Use the squared norm sum(w**2), without a square root."
            if np.isclose(got, lam * np.sum(np.abs(w64)), rtol=1e-5):
                return "This is the L1 penalty (sum of |w|); the L2 penalty sums the squares w**2."
        else:
            if np.isclose(got, lam * np.sum(w64), rtol=1e-5):
                return "Take the absolute value: the L1 penalty is lam * sum(|w|), and negative weights count too."
            if np.isclose(got, lam * np.sum(w64 ** 2), rtol=1e-5):
                return "This is the L2 penalty (sum of squares); the L1 penalty sums |w|."
        if np.isclose(got, float(want) / w.size, rtol=1e-5):
            return "Use the sum over the weights, not the mean."
        return None

    return diagnose


def _values(func, name: str, kind: str) -> str:
    ref = ref_l1 if kind == "l1" else ref_l2
    for seed, shape, dtype, lam in _VALUE_CASES:
        w = _weights(seed, shape, dtype)
        got = _scalar(call_student(func, name, w.copy(), lam), name)
        expect_close(got, ref(w, lam), name, rtol=1e-5, diagnose=_diagnose_penalty(kind, w, lam),
                     context=f"for weights={describe(w)}, lam={lam}")
    return f"{name} gives the right values on {len(_VALUE_CASES)} random arrays."


def _lists(func, name: str, kind: str) -> str:
    """A list/tuple of arrays is summed array by array; the penalty scales correctly.

    Compared with the student's own single-array results, so that a formula
    mistake (graded in the *values* cell) is not charged again here.
    """
    degree = 1 if kind == "l1" else 2
    ws = [_weights(10, (3, 4)), _weights(11, (4,)), _weights(12, (2, 2, 2), np.float32)]
    lam = 0.2
    singles = [_scalar(call_student(func, name, w, lam), name) for w in ws]
    try:
        got = func(list(ws), lam)
    except Exception as exc:
        raise CheckFailed(
            f"`{name}` raised {type(exc).__name__}: {exc} when `weights` is a list of arrays with "
            "different shapes (the kernels of several layers). Sum the penalty over the arrays, "
            "one array at a time."
        ) from None
    got = _scalar(got, name)
    if not np.isclose(got, sum(singles), rtol=1e-5):
        raise CheckFailed(
            f"For a list of 3 arrays, `{name}` returned {got:.6g}, but the sum of its results for "
            f"each array alone is {sum(singles):.6g}: the penalty of a list is the sum over all arrays."
        )
    got_tuple = _scalar(call_student(func, name, tuple(ws), lam), name)
    if not np.isclose(got_tuple, got, rtol=1e-6):
        raise CheckFailed(f"`{name}` should accept a tuple of arrays like a list; it returned "
                          f"{got_tuple:.6g} instead of {got:.6g}.")
    if got <= 0:
        raise CheckFailed(f"`{name}` returned {got:.6g} for non-zero weights and lam=0.2; "
                          "a penalty of non-zero weights is positive.")
    double_lam = _scalar(call_student(func, name, list(ws), 2 * lam), name)
    if not np.isclose(double_lam, 2 * got, rtol=1e-5):
        raise CheckFailed(f"Doubling `lam` should double the penalty: `{name}` gave {got:.6g} for "
                          f"lam={lam} and {double_lam:.6g} for lam={2 * lam}.")
    scaled = _scalar(call_student(func, name, [2 * w for w in ws], lam), name)
    if not np.isclose(scaled, 2 ** degree * got, rtol=1e-5):
        raise CheckFailed(f"Doubling every weight should multiply the {kind.upper()} penalty by "
                          f"{2 ** degree}: `{name}` gave {got:.6g}, then {scaled:.6g}.")
    for weights, lam_, what in (([np.zeros((3, 2)), np.zeros(4)], 0.5, "all-zero weights"),
                                (ws, 0.0, "lam=0")):
        value = _scalar(call_student(func, name, weights, lam_), name)
        if value != 0.0:
            raise CheckFailed(f"`{name}` should be exactly 0 for {what}; it returned {value!r}.")
    return f"{name} sums over a list of arrays and is 0 for zero weights or lam=0."


def _validation(func, name: str) -> str:
    w = _weights(20, (3, 2))
    expect_raises(func, name, (w, -0.1), why="a negative strength `lam` makes no sense")
    expect_raises(func, name, (w, -1), why="a negative strength `lam` makes no sense")
    bad = w.copy()
    bad[1, 0] = np.nan
    expect_raises(func, name, (bad, 0.1), why="the weights contain NaN")
    expect_raises(func, name, ([w, bad], 0.1), why="one of the arrays in the list contains NaN")
    return f"{name} rejects a negative lam and NaN weights with ValueError."


def _register_penalty_checks(name: str, kind: str) -> None:
    """The three graded behaviours of one penalty function (``l1_penalty`` or ``l2_penalty``):
    ``<name>_values``, ``<name>_lists`` and ``<name>_validation``."""
    check(f"{A}:{name}_values")(lambda student: _values(student, name, kind))
    check(f"{A}:{name}_lists")(lambda student: _lists(student, name, kind))
    check(f"{A}:{name}_validation")(lambda student: _validation(student, name))


_register_penalty_checks("l1_penalty", "l1")
_register_penalty_checks("l2_penalty", "l2")


def _expect_zeros_from_zeros(func, name: str, rule: str, *args, **kwargs) -> None:
    """``func(zeros, *args, **kwargs)`` must be all zeros of the same shape (``rule`` says why)."""
    got = np.asarray(call_student(func, name, np.zeros((3, 2)), *args, **kwargs), dtype=float)
    if got.shape != (3, 2) or not np.all(got == 0):
        raise CheckFailed(f"{rule}; `{name}` returned {describe(got)}.")


# --------------------------------------------------------------------------- #
# penalty_grad
# --------------------------------------------------------------------------- #
@check(f"{A}:penalty_grad_values")
def penalty_grad_values(penalty_grad):
    name = "penalty_grad"
    cases = [((5,), 0.1, 0.0), ((3, 4), 0.0, 0.3), ((2, 3, 2), 0.05, 0.2), ((4,), 0.0, 0.0),
             ((1, 6), 1.0, 0.5)]
    for seed, (shape, l1, l2) in enumerate(cases):
        w = _away_from_zero(30 + seed, shape, 0.1)
        want = ref_grad(w, l1=l1, l2=l2)

        def diagnose(got, want, w=w, l1=l1, l2=l2):
            if np.allclose(got, l1 * np.sign(w) + l2 * w):
                return ("The L2 part is off by a factor 2: the gradient of l2 * sum(w**2) is "
                        "2 * l2 * w (the penalty has no 1/2, so the 2 from the derivative stays).")
            if np.allclose(got, -want):
                return "The gradient has the wrong sign: it must point away from zero, towards larger |w|."
            if l1 > 0 and np.allclose(got, 2 * l2 * w):
                return "The L1 part l1 * sign(w) is missing."
            if l2 > 0 and np.allclose(got, l1 * np.sign(w)):
                return "The L2 part 2 * l2 * w is missing."
            return None

        got = call_student(penalty_grad, name, w.copy(), l1=l1, l2=l2)
        expect_close(got, want, name, diagnose=diagnose, context=f"for w={describe(w)}, l1={l1}, l2={l2}")
    return "penalty_grad gives l1 * sign(w) + 2 * l2 * w on random weights."


@check(f"{A}:penalty_grad_at_zero")
def penalty_grad_at_zero(penalty_grad):
    """Only the entries where w == 0 are compared here (the L1 subgradient choice)."""
    name = "penalty_grad"
    w = np.array([[-1.5, 0.0, 2.0], [0.0, 0.7, -0.0]])
    zero = w == 0
    for l1, l2 in ((0.3, 0.0), (0.3, 0.1), (1.0, 2.0)):
        got = np.asarray(call_student(penalty_grad, name, w.copy(), l1=l1, l2=l2), dtype=float)
        if got.shape != w.shape:
            raise CheckFailed(f"`{name}` returned shape {got.shape} for w of shape {w.shape}; "
                              "the gradient has the shape of w.")
        if not np.all(got[zero] == 0):
            raise CheckFailed(
                f"At w = 0 your gradient is {got[zero].tolist()} (for l1={l1}, l2={l2}); it must be 0. "
                "|w| has no derivative at 0: use the subgradient 0, which is what np.sign(0) gives "
                "(and what TensorFlow's autodiff uses). A rule like `1 if w >= 0 else -1` pushes "
                "weights that are already 0 away from 0."
            )
    _expect_zeros_from_zeros(penalty_grad, name, "For all-zero weights the gradient must be all zeros", l1=0.5, l2=0.5)
    return "penalty_grad uses the subgradient 0 where w == 0."


@check(f"{A}:penalty_grad_dtype_validation")
def penalty_grad_dtype_validation(penalty_grad):
    name = "penalty_grad"
    w = _away_from_zero(40, (2, 3, 4), 0.1, np.float32)
    got = call_student(penalty_grad, name, w, l1=0.1, l2=0.1)
    if not isinstance(got, np.ndarray) or got.shape != w.shape:
        raise CheckFailed(f"`{name}` should return an array of the shape of w {w.shape}; it returned "
                          f"{describe(got)}.")
    if got.dtype != np.float32:
        raise CheckFailed(f"`{name}` returned dtype {got.dtype} for float32 weights: keep the dtype of w "
                          "(e.g. with .astype(w.dtype)), as Keras keeps float32 weights float32.")
    default = np.asarray(call_student(penalty_grad, name, w.astype(np.float64)), dtype=float)
    if default.shape != w.shape or not np.all(default == 0):
        raise CheckFailed(f"With the defaults l1=0.0, l2=0.0 the gradient is zero; `{name}(w)` returned "
                          f"{describe(default)}.")
    w64 = w.astype(np.float64)
    expect_raises(penalty_grad, name, (w64,), {"l1": -0.1}, why="l1 must be non-negative")
    expect_raises(penalty_grad, name, (w64,), {"l2": -0.1}, why="l2 must be non-negative")
    bad = w64.copy()
    bad[0, 1, 2] = np.nan
    expect_raises(penalty_grad, name, (bad,), {"l1": 0.1}, why="w contains NaN")
    return "penalty_grad keeps shape and dtype and rejects invalid arguments."


# --------------------------------------------------------------------------- #
# soft_threshold
# --------------------------------------------------------------------------- #
@check(f"{A}:soft_threshold_values")
def soft_threshold_values(soft_threshold):
    """Entries with |w| > t only: every one must move t towards zero."""
    name = "soft_threshold"
    for seed, (shape, t) in enumerate((((6,), 0.5), ((3, 4), 1.0), ((2, 2, 3), 0.1), ((5,), 2.5))):
        w = _away_from_zero(50 + seed, shape, t)

        def diagnose(got, want, w=w, t=t):
            if np.allclose(got, w):
                return ("Entries larger than t in absolute value must also shrink by t towards zero "
                        "(this looks like hard thresholding, which keeps them unchanged).")
            if np.allclose(got, w - t):
                return "Negative entries must move up by t (towards zero): use sign(w) * (|w| - t)."
            if np.allclose(got, np.sign(w) * (np.abs(w) + t)):
                return "The entries move away from zero; soft thresholding moves them t towards zero."
            return None

        got = call_student(soft_threshold, name, w.copy(), t)
        expect_close(got, ref_soft(w, t), name, diagnose=diagnose, context=f"for w={describe(w)}, t={t}")
    return "soft_threshold shrinks every large entry by t towards zero."


@check(f"{A}:soft_threshold_exact_zeros")
def soft_threshold_exact_zeros(soft_threshold):
    """Entries with |w| <= t become exactly 0; t = 0 changes nothing."""
    name = "soft_threshold"
    w = np.array([-1.2, -0.5, -0.2, 0.0, 0.1, 0.3, 0.5, 0.49999, 2.0])
    t = 0.5
    small = np.abs(w) <= t
    got = np.asarray(call_student(soft_threshold, name, w.copy(), t), dtype=float)
    if got.shape != w.shape:
        raise CheckFailed(f"`{name}` returned shape {got.shape} for w of shape {w.shape}.")
    if not np.all(got[small] == 0.0):
        bad = got[small]
        if np.any(np.sign(bad) == -np.sign(w[small])):
            hint = ("Entries with |w| <= t overshoot past zero and change sign: clip at zero with "
                    "max(|w| - t, 0), so that they become exactly 0.")
        elif np.all(np.abs(bad) < 1e-12):
            hint = "Entries with |w| <= t must be exactly 0.0, not just tiny: use np.maximum(|w| - t, 0)."
        else:
            hint = "Entries with |w| <= t must become exactly 0 (that is what makes L1 solutions sparse)."
        raise CheckFailed(f"{hint} For w={w[small].tolist()} and t={t} you returned {bad.tolist()}.")
    same = np.asarray(call_student(soft_threshold, name, w.copy(), 0.0), dtype=float)
    if not np.array_equal(same, w):
        raise CheckFailed(f"With t=0 soft thresholding changes nothing; `{name}(w, 0.0)` returned "
                          f"{same.tolist()} for w={w.tolist()}.")
    _expect_zeros_from_zeros(soft_threshold, name, "All-zero weights stay zero", 0.3)
    return "soft_threshold sets every entry with |w| <= t to exactly 0."


@check(f"{A}:soft_threshold_dtype_validation")
def soft_threshold_dtype_validation(soft_threshold):
    name = "soft_threshold"
    w = _weights(60, (4, 5), np.float32)
    got = call_student(soft_threshold, name, w, 0.3)
    if not isinstance(got, np.ndarray) or got.shape != w.shape:
        raise CheckFailed(f"`{name}` should return an array of the shape of w {w.shape}; it returned "
                          f"{describe(got)}.")
    if got.dtype != np.float32:
        raise CheckFailed(f"`{name}` returned dtype {got.dtype} for float32 weights: keep the dtype of w.")
    w64 = w.astype(np.float64)
    expect_raises(soft_threshold, name, (w64, -0.1), why="the threshold t must be non-negative")
    bad = w64.copy()
    bad[2, 2] = np.nan
    expect_raises(soft_threshold, name, (bad, 0.1), why="w contains NaN")
    return "soft_threshold keeps shape and dtype and rejects invalid arguments."


# --------------------------------------------------------------------------- #
# ISTA
# --------------------------------------------------------------------------- #
@check(f"{A}:lasso_ista")
def lasso_ista_check(lasso_ista):
    from graders.teaching.data import sparse_regression

    name = "lasso_ista"
    X, y, w_true = sparse_regression(n_samples=120, n_features=30, n_informative=4, noise=0.5, seed=3)
    for lam, n_steps in ((0.2, 300), (1.0, 200)):
        want = ref_lasso_ista(X, y, lam, n_steps)
        got = call_student(lasso_ista, name, X.copy(), y.copy(), lam, n_steps=n_steps)
        got = np.asarray(got, dtype=float) if got is not None else None
        if got is None or got.shape != want.shape:
            raise CheckFailed(f"`{name}` should return the weight vector, shape {want.shape}; it returned "
                              f"{describe(got)}.")
        if np.allclose(got, want, rtol=1e-6, atol=1e-9):
            continue
        # Any algorithm that reaches an objective at least as low is accepted.
        f_got, f_want = ref_lasso_objective(X, y, got, lam), ref_lasso_objective(X, y, want, lam)
        if f_got <= f_want + 1e-6 * max(1.0, abs(f_want)):
            continue
        hint = ""
        if np.count_nonzero(got == 0) == 0 and np.count_nonzero(want == 0) > 0:
            hint = (" Your weights have no exact zeros: the proximal step must be "
                    "soft_threshold(w - lr * grad, lr * lam), with the threshold lr * lam.")
        raise CheckFailed(
            f"After {n_steps} ISTA steps with lam={lam}, your weights reach the objective "
            f"mean((Xw - y)^2) + lam ||w||_1 = {f_got:.6f}; ISTA as specified reaches {f_want:.6f}.{hint}"
        )
    return "lasso_ista reaches the Lasso objective of ISTA and gives exact zeros."
