"""Argument validation shared by the reference implementations.

Every check raises ``ValueError`` with a message in the Keras style: what was
expected, and what was received, so that a learner who passes a wrong value
learns which argument and why.
"""
from __future__ import annotations

import math
from numbers import Real

import numpy as np


def as_float_array(x, name: str) -> np.ndarray:
    """Return ``x`` as a floating-point array, rejecting NaN entries.

    Floating inputs keep their dtype (float32 stays float32, as in Keras);
    anything else becomes float64.
    """
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(
            f"Expected `{name}` to be an array of numbers. Received: {type(x).__name__} "
            f"that NumPy cannot convert ({exc})."
        ) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(
            f"Expected `{name}` to be an array of numbers. Received: dtype={arr.dtype}."
        )
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    n_nan = int(np.isnan(arr).sum())
    if n_nan:
        raise ValueError(
            f"Expected `{name}` to contain no NaN values. Received: an array of shape "
            f"{arr.shape} with {n_nan} NaN entr{'y' if n_nan == 1 else 'ies'}."
        )
    return arr


def as_weight_list(weights, name: str = "weights") -> list[np.ndarray]:
    """Accept one array, or a list/tuple of arrays (the kernels of several layers).

    The penalty is a sum over every entry of every array, so a list is taken
    element by element: the arrays may have different shapes.
    """
    if isinstance(weights, (list, tuple)):
        return [as_float_array(w, f"{name}[{i}]") for i, w in enumerate(weights)]
    return [as_float_array(weights, name)]


def check_nonnegative(value, name: str) -> float:
    """A finite, non-negative real number (a regularization strength, a threshold)."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ValueError(
            f"Expected `{name}` to be a non-negative number. Received: {name}={value!r}"
        )
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(
            f"Expected `{name}` to be a non-negative finite number. Received: {name}={value}"
        )
    return value


def check_rate(rate) -> float:
    """A dropout rate: the probability of dropping a unit, in [0, 1)."""
    if isinstance(rate, bool) or not isinstance(rate, (Real, np.floating, np.integer)):
        raise ValueError(
            f"Invalid value for argument `rate`. Expected a float value in [0, 1). "
            f"Received: rate={rate!r}"
        )
    rate = float(rate)
    if not (0.0 <= rate < 1.0):
        raise ValueError(
            f"Invalid value for argument `rate`. Expected a float value in [0, 1) "
            f"(1 would drop every unit). Received: rate={rate}"
        )
    return rate


def check_fraction(value, name: str, *, open_interval: bool = False) -> float:
    """A number in [0, 1] (or (0, 1) when ``open_interval``), e.g. BN momentum."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ValueError(f"Expected `{name}` to be a number in [0, 1]. Received: {name}={value!r}")
    value = float(value)
    ok = 0.0 < value < 1.0 if open_interval else 0.0 <= value <= 1.0
    if not ok:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise ValueError(f"Expected `{name}` to be in {interval}. Received: {name}={value}")
    return value


def check_positive(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.floating, np.integer)):
        raise ValueError(f"Expected `{name}` to be a positive number. Received: {name}={value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"Expected `{name}` to be a positive finite number. Received: {name}={value}")
    return value


def check_bool(value, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Expected `{name}` to be True or False. Received: {name}={value!r}")
    return bool(value)


def check_same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"Expected `{name_a}` and `{name_b}` to have the same shape. "
            f"Received: {name_a}.shape={a.shape}, {name_b}.shape={b.shape}"
        )


def check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            "Expected `rng` to be a numpy.random.Generator (e.g. np.random.default_rng(0)). "
            f"Received: {type(rng).__name__}"
        )
    return rng
