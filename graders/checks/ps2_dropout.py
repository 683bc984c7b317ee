"""Hidden-test checks for ps2_dropout (inverted dropout: mask, forward, backward).

The draw convention the notebook states, and these checks rely on:
``u = rng.random(shape)``; a unit is kept where ``u < 1 - rate``.
Rates used in value checks avoid 0.5, where "keep probability" and "drop
probability" coincide and a swapped convention would go unnoticed.
"""
from __future__ import annotations

import numpy as np

from graders import dropout_backward as ref_backward, dropout_forward as ref_forward
from graders import dropout_mask as ref_mask

from ._framework import CheckFailed, as_array, call_student, check, describe, expect_close, expect_raises, expect_tuple

A = "ps2_dropout"
CONVENTION = "draw u = rng.random(shape) once and keep a unit where u < 1 - rate"


def _x(seed: int, shape, dtype=np.float64) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _mask_hint(got, shape, rate, seed) -> str | None:
    """Name the convention a wrong (but 0/1) mask follows, if it is a known one."""
    got = np.asarray(got, dtype=float)
    u = np.random.default_rng(seed).random(shape)
    if got.shape != u.shape:
        return None
    if np.array_equal(got, (u < rate).astype(float)):
        return (f"Your mask keeps a unit with probability rate={rate} instead of 1 - rate = {1 - rate:.2g}: "
                "`rate` is the drop probability, the probability of DROPPING a unit (as in keras.layers.Dropout).")
    if np.array_equal(got, (u >= rate).astype(float)):
        return ("Your mask keeps units with the right probability, but with a different draw than the one "
                f"this assignment fixes ({CONVENTION}, i.e. keep = u < 1 - rate, not u >= rate). "
                "With the stated convention one seed gives one mask, which is how it is graded.")
    if np.array_equal(got, (u > 1 - rate).astype(float)) or np.array_equal(got, (u >= 1 - rate).astype(float)):
        return (f"Your mask keeps a unit with probability rate={rate}: keep where u < 1 - rate "
                "(`rate` is the drop probability).")
    if got.size and set(np.unique(got).tolist()) <= {0.0, 1.0}:
        return (f"Your mask is a 0/1 mask, but not the one the stated convention draws ({CONVENTION}); "
                "use exactly one call rng.random(shape), and no other generator (not np.random.*).")
    return None


# --------------------------------------------------------------------------- #
# dropout_mask
# --------------------------------------------------------------------------- #
@check(f"{A}:dropout_mask_values")
def dropout_mask_values(dropout_mask):
    name = "dropout_mask"
    for seed, shape, rate in ((0, (4, 6), 0.2), (1, (3, 5), 0.7), (2, (2, 3, 4), 0.3), (3, (10,), 0.9),
                              (4, (1, 8), 0.25)):
        got = call_student(dropout_mask, name, shape, rate, np.random.default_rng(seed))
        want = ref_mask(shape, rate, np.random.default_rng(seed))
        got_arr = as_array(got, name)
        if got_arr.shape != want.shape:
            raise CheckFailed(f"`{name}` returned shape {got_arr.shape} for shape={shape}.")
        if not np.array_equal(got_arr, want):
            hint = _mask_hint(got_arr, shape, rate, seed) or f"Follow the convention: {CONVENTION}."
            raise CheckFailed(f"{hint} (shape={shape}, rate={rate}, seed {seed}: "
                              f"{int((got_arr != want).sum())} of {want.size} entries differ.)")
    return "dropout_mask draws the mask of the stated convention."


@check(f"{A}:dropout_mask_properties")
def dropout_mask_properties(dropout_mask):
    name = "dropout_mask"
    rng = np.random.default_rng(7)
    first = as_array(call_student(dropout_mask, name, (200, 50), 0.3, rng), name)
    second = as_array(call_student(dropout_mask, name, (200, 50), 0.3, rng), name)
    if first.shape != (200, 50):
        raise CheckFailed(f"`{name}((200, 50), ...)` returned shape {first.shape}.")
    if not set(np.unique(first).tolist()) <= {0.0, 1.0}:
        raise CheckFailed(f"The mask must contain only 0 (dropped) and 1 (kept); `{name}` returned values "
                          f"{np.unique(first)[:6].tolist()}. The 1/(1 - rate) scaling belongs to dropout_forward.")
    kept = first.mean()
    if abs(kept - 0.7) > 0.03:
        raise CheckFailed(f"With rate=0.3 about 70 % of the units should be kept; your mask keeps {kept:.1%}."
                          + (" `rate` is the drop probability." if abs(kept - 0.3) < 0.03 else ""))
    if np.array_equal(first, second):
        raise CheckFailed(f"Two calls of `{name}` with the same generator returned the same mask: draw from "
                          "the `rng` argument (it advances), not from a fresh generator.")
    again = as_array(call_student(dropout_mask, name, (200, 50), 0.3, np.random.default_rng(7)), name)
    if not np.array_equal(again, first):
        raise CheckFailed(f"`{name}` gave different masks for two generators with the same seed: use only "
                          "the `rng` argument, not np.random.* or a seed of your own.")
    ones = as_array(call_student(dropout_mask, name, (3, 4), 0.0, np.random.default_rng(0)), name)
    if not np.array_equal(ones, np.ones((3, 4))):
        raise CheckFailed(f"With rate=0 every unit is kept: the mask is all ones; `{name}` returned "
                          f"{describe(ones)}.")
    as_int = as_array(call_student(dropout_mask, name, 5, 0.5, np.random.default_rng(0)), name)
    if as_int.shape != (5,):
        raise CheckFailed(f"`shape` may be an int as in NumPy: `{name}(5, ...)` should have shape (5,), "
                          f"not {as_int.shape}.")
    return "dropout_mask is a 0/1 mask that keeps about 1 - rate of the units, drawn from rng."


@check(f"{A}:dropout_mask_validation")
def dropout_mask_validation(dropout_mask):
    name = "dropout_mask"
    for rate in (1.0, 1.5, -0.1):
        expect_raises(dropout_mask, name, ((3, 3), rate, np.random.default_rng(0)),
                      why="`rate` must be in [0, 1) (rate=1 would drop every unit)")
    return "dropout_mask rejects rates outside [0, 1) with ValueError."


# --------------------------------------------------------------------------- #
# dropout_forward
# --------------------------------------------------------------------------- #
@check(f"{A}:dropout_forward_scaling")
def dropout_forward_scaling(dropout_forward):
    """Training mode: the mask of the convention, and kept units scaled by 1/(1 - rate)."""
    name = "dropout_forward"
    for seed, shape, rate in ((0, (4, 6), 0.2), (1, (8, 5), 0.7), (2, (1, 10), 0.3), (3, (2, 3, 4), 0.25)):
        x = _x(100 + seed, shape)
        result = call_student(dropout_forward, name, x.copy(), rate, True, np.random.default_rng(seed))
        out, mask = expect_tuple(result, name, ("out", "mask"))
        want_out, want_mask = ref_forward(x, rate, True, np.random.default_rng(seed))
        mask_arr = as_array(mask, f"{name}(...)[1] (the mask)")
        if mask_arr.shape != want_mask.shape or not np.array_equal(mask_arr, want_mask):
            hint = _mask_hint(mask_arr, shape, rate, seed) or f"Draw it with the convention: {CONVENTION}."
            raise CheckFailed(f"The mask returned by `{name}` is not the expected one. {hint}")
        out_arr = as_array(out, name)

        def diagnose(got, want, x=x, rate=rate, mask=want_mask):
            if np.allclose(got, x * mask):
                return (f"The kept units are not rescaled: inverted dropout multiplies them by 1/(1 - rate) "
                        f"(here 1/(1 - {rate}) = {1 / (1 - rate):.3g}) so that the expected output equals x.")
            if np.allclose(got, x * mask * (1 - rate)):
                return ("The kept units are multiplied by (1 - rate); inverted dropout divides by (1 - rate), "
                        "i.e. multiplies by 1/(1 - rate).")
            if np.allclose(got, x * mask / rate):
                return "Divide by the keep probability 1 - rate, not by rate: the factor is 1/(1 - rate)."
            return None

        expect_close(out_arr, want_out, name, diagnose=diagnose, context=f"for x of shape {shape}, rate={rate}")
    return "dropout_forward keeps the units of the mask and scales them by 1/(1 - rate)."


@check(f"{A}:dropout_forward_inference")
def dropout_forward_inference(dropout_forward):
    name = "dropout_forward"
    for shape, rate in (((5, 4), 0.3), ((1, 7), 0.8), ((2, 2, 3), 0.5)):
        x = _x(200, shape)
        result = call_student(dropout_forward, name, x.copy(), rate, False, np.random.default_rng(0))
        out, mask = expect_tuple(result, name, ("out", "mask"))
        out_arr = as_array(out, name)
        if out_arr.shape == x.shape and not np.allclose(out_arr, x):
            if np.allclose(out_arr, x * (1 - rate)):
                hint = ("With training=False your output is x * (1 - rate): that is the old, non-inverted "
                        "dropout. Inverted dropout already rescaled during training, so inference is the identity.")
            else:
                hint = ("With training=False dropout must be switched off: return x unchanged (your output "
                        "still drops or rescales units, as if training).")
            raise CheckFailed(f"{hint} (x of shape {shape}, rate={rate})")
        expect_close(out_arr, x, name, context=f"with training=False (x of shape {shape}, rate={rate})")
        if mask is not None:
            raise CheckFailed(f"With training=False no mask is drawn: return (x, None); `{name}` returned a mask "
                              f"{describe(mask)}.")
    return "dropout_forward is the identity at inference and returns mask None."


@check(f"{A}:dropout_forward_edge_cases")
def dropout_forward_edge_cases(dropout_forward):
    name = "dropout_forward"
    x = _x(300, (3, 4))
    out, mask = call_student(dropout_forward, name, x.copy(), 0.0, True, np.random.default_rng(1))
    expect_close(out, x, name, context="with rate=0 (nothing is dropped)")
    if mask is None or not np.array_equal(as_array(mask, "mask"), np.ones_like(x)):
        raise CheckFailed(f"With rate=0 and training=True the mask is all ones; `{name}` returned {describe(mask)}.")
    x32 = _x(301, (2, 5), np.float32)
    for training in (True, False):
        out, _ = call_student(dropout_forward, name, x32, 0.4, training, np.random.default_rng(2))
        if not isinstance(out, np.ndarray) or out.shape != x32.shape or out.dtype != np.float32:
            raise CheckFailed(f"With float32 input (training={training}) `{name}` should return a float32 array "
                              f"of shape {x32.shape}; it returned {describe(out)}. Keep the dtype of x.")
    bad = x.copy()
    bad[1, 2] = np.nan
    expect_raises(dropout_forward, name, (bad, 0.3, True, np.random.default_rng(0)), why="x contains NaN")
    expect_raises(dropout_forward, name, (x, 1.0, True, np.random.default_rng(0)),
                  why="`rate` must be in [0, 1)")
    expect_raises(dropout_forward, name, (x, -0.2, False, np.random.default_rng(0)),
                  why="`rate` must be in [0, 1), also at inference")
    return "dropout_forward handles rate=0 and float32, and rejects NaN input and bad rates."


# --------------------------------------------------------------------------- #
# dropout_backward
# --------------------------------------------------------------------------- #
@check(f"{A}:dropout_backward_values")
def dropout_backward_values(dropout_backward):
    name = "dropout_backward"
    for seed, shape, rate in ((0, (4, 6), 0.2), (1, (3, 5), 0.7), (2, (1, 9), 0.35)):
        dout = _x(400 + seed, shape)
        mask = ref_mask(shape, rate, np.random.default_rng(seed))

        def diagnose(got, want, dout=dout, mask=mask, rate=rate):
            if np.allclose(got, dout * mask):
                return ("The gradient is not rescaled: the forward pass multiplied kept units by 1/(1 - rate), "
                        "so the gradient flowing back through them is multiplied by 1/(1 - rate) too.")
            if np.allclose(got, dout / (1 - rate)):
                return "Dropped units get no gradient: multiply by the mask as well."
            if np.allclose(got, dout * mask * (1 - rate)):
                return "Multiply by 1/(1 - rate), not by (1 - rate)."
            return None

        got = call_student(dropout_backward, name, dout.copy(), mask.copy(), rate)
        expect_close(got, ref_backward(dout, mask, rate), name, diagnose=diagnose,
                     context=f"for dout of shape {shape}, rate={rate}")
    return "dropout_backward gives dout * mask / (1 - rate)."


@check(f"{A}:dropout_backward_inference_validation")
def dropout_backward_inference_validation(dropout_backward):
    name = "dropout_backward"
    dout = _x(500, (4, 3))
    got = call_student(dropout_backward, name, dout.copy(), None, 0.4)
    expect_close(got, dout, name, context="with mask=None (the forward pass ran with training=False): the "
                                         "gradient passes through unchanged")
    mask = ref_mask((4, 3), 0.4, np.random.default_rng(0))
    expect_raises(dropout_backward, name, (dout, mask[:, :2], 0.4),
                  why="`dout` and `mask` must have the same shape")
    expect_raises(dropout_backward, name, (dout, mask, 1.0), why="`rate` must be in [0, 1)")
    return "dropout_backward passes the gradient through when mask is None and validates shapes."
