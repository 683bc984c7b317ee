"""Hidden-test checks for ps4_batchnorm (NumPy only: no TensorFlow here).

The student's functions are compared with :func:`graders.batchnorm_forward` and
:func:`graders.batchnorm_backward` (Keras' conventions). When they differ, the
checks recompute the result under the usual mistakes (unbiased variance, eps
outside the square root, reversed momentum, batch statistics at inference, a
backward pass that treats the batch mean and variance as constants …) and name
the one that matches.

``batchnorm_backward`` is always given a cache made by the *reference* forward
pass (a dict with the keys ``training``, ``x_hat``, ``gamma``, ``inv_std``, the
contract stated in the notebook), so that a mistake in the student's forward
pass costs points only in the forward cells.
"""
from __future__ import annotations

import numpy as np

from graders import batchnorm_backward, batchnorm_forward

from ._framework import CheckFailed, call_student, check, describe, expect_close, expect_raises, expect_tuple

FWD = "batchnorm_forward"
BWD = "batchnorm_backward"
CACHE_KEYS = ("training", "x_hat", "gamma", "inv_std")


# --------------------------------------------------------------------------- #
# Inputs
# --------------------------------------------------------------------------- #
def _case(seed, shape, *, dtype=np.float64, momentum=0.99, eps=1e-3):
    """Random activations with a non-trivial mean and scale per feature, and parameters."""
    rng = np.random.default_rng(seed)
    d = shape[-1]
    x = (rng.normal(size=shape) * rng.uniform(0.5, 3.0, d) + rng.uniform(-2.0, 2.0, d)).astype(dtype)
    return dict(
        x=x,
        gamma=rng.uniform(0.5, 2.0, d).astype(dtype),
        beta=rng.normal(size=d).astype(dtype),
        running_mean=rng.normal(size=d).astype(dtype),
        running_var=rng.uniform(0.5, 2.0, d).astype(dtype),
        momentum=momentum,
        eps=eps,
    )


# Shapes, momenta and eps values of the value checks. eps = 0.1 and small
# variances make "eps outside the square root" clearly visible; momentum 0.5
# is avoided (a reversed momentum convention would coincide there).
TRAIN_CASES = [
    ((8, 3), 0.99, 1e-3),
    ((32, 5), 0.9, 0.1),
    ((2, 4), 0.75, 1e-5),
    ((64, 1), 0.99, 1e-3),
]


def _copy(case):
    return {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in case.items()}


def _call_forward(student, case, training):
    """Call the student's forward pass on a copy of ``case``; check the result's form."""
    args = _copy(case)
    result = call_student(student, FWD, args["x"], args["gamma"], args["beta"], args["running_mean"],
                          args["running_var"], training, momentum=args["momentum"], eps=args["eps"])
    return expect_tuple(result, FWD, ("out", "running_mean", "running_var", "cache")), args


def _reference(case, training):
    c = _copy(case)
    return batchnorm_forward(c["x"], c["gamma"], c["beta"], c["running_mean"], c["running_var"],
                             training, momentum=c["momentum"], eps=c["eps"])


def _context(case, training):
    return (f"for x of shape {case['x'].shape} ({case['x'].dtype}), training={training}, "
            f"momentum={case['momentum']}, eps={case['eps']}")


# --------------------------------------------------------------------------- #
# Known mistakes, recomputed
# --------------------------------------------------------------------------- #
def _stats(x, ddof=0):
    axes = tuple(range(x.ndim - 1))
    x = x.astype(np.float64)
    mean = x.mean(axis=axes)
    n = x.size // x.shape[-1]
    var = ((x - mean) ** 2).sum(axis=axes) / max(n - ddof, 1)
    return mean, var


def _normalise_variants(case, training):
    """Outputs that the common forward-pass mistakes produce, with their diagnosis."""
    x = case["x"].astype(np.float64)
    g, b, eps = case["gamma"], case["beta"], case["eps"]
    mean, var = _stats(x)
    _, var_unbiased = _stats(x, ddof=1)
    rm, rv = case["running_mean"].astype(np.float64), case["running_var"].astype(np.float64)
    use_mean, use_var = (mean, var) if training else (rm, rv)
    v = {}
    if training and x.size // x.shape[-1] > 1:
        v["unbiased"] = (g * (x - mean) / np.sqrt(var_unbiased + eps) + b,
                         "You normalise with the unbiased variance (dividing by N - 1, `ddof=1`). Batch "
                         "normalization, like Keras, uses the biased batch variance: the mean of "
                         "(x - mean)**2, dividing by N.")
    v["eps_outside"] = (g * (x - use_mean) / (np.sqrt(use_var) + eps) + b,
                        "You add eps outside the square root, (x - mean) / (sqrt(var) + eps). The convention "
                        "(Keras, Ioffe & Szegedy) puts eps inside the square root: (x - mean) / sqrt(var + eps).")
    v["no_eps"] = (g * (x - use_mean) / np.sqrt(use_var) + b,
                   "You leave eps out: divide by sqrt(var + eps), inside the square root.")
    v["no_sqrt"] = (g * (x - use_mean) / (use_var + eps) + b,
                    "You divide by the variance (plus eps) instead of its square root, the standard deviation: "
                    "x_hat = (x - mean) / sqrt(var + eps).")
    v["no_affine"] = ((x - use_mean) / np.sqrt(use_var + eps),
                      "You return x_hat itself: the output is gamma * x_hat + beta.")
    v["swapped_affine"] = (b * (x - use_mean) / np.sqrt(use_var + eps) + g,
                           "You swapped gamma and beta: the output is gamma * x_hat + beta (gamma scales, beta shifts).")
    if not training:
        v["batch_at_inference"] = (
            g * (x - mean) / np.sqrt(var + eps) + b,
            "At inference (training=False) you normalise with the batch statistics. Use the moving "
            "statistics running_mean and running_var instead: the prediction for one example must not "
            "depend on the other examples in the batch.")
        v["unbiased_at_inference"] = (
            g * (x - mean) / np.sqrt(var_unbiased + eps) + b,
            "At inference (training=False) you normalise with the batch statistics (and the unbiased "
            "variance). Use the moving statistics running_mean and running_var instead.")
    else:
        v["running_in_training"] = (
            g * (x - rm) / np.sqrt(rv + eps) + b,
            "In training mode (training=True) you normalise with the moving statistics. Use the statistics "
            "of the current batch; the moving ones are only updated in training and used at inference.")
    return v


def _diagnoser(variants, key_filter=None):
    def diagnose(got, want):
        for key, (value, message) in variants.items():
            if key_filter and key not in key_filter:
                continue
            value = np.asarray(value, dtype=float)
            if value.shape == got.shape and np.allclose(got, value, rtol=1e-5, atol=1e-7):
                return message
        return None
    return diagnose


def _running_variants(case):
    x = case["x"]
    m = case["momentum"]
    mean, var = _stats(x)
    _, var_unbiased = _stats(x, ddof=1)
    rm, rv = case["running_mean"].astype(np.float64), case["running_var"].astype(np.float64)
    reversed_msg = (f"Your moving statistics use the momentum convention reversed: new = momentum * batch + "
                    f"(1 - momentum) * old. In Keras, momentum is the weight of the OLD value: new = momentum * "
                    f"old + (1 - momentum) * batch (momentum={m} keeps {m:.0%} of the old value).")
    means = {
        "reversed": ((1 - m) * rm + m * mean, reversed_msg),
        "batch_only": (mean, "You return the batch mean as the new running_mean: blend it with the old value, "
                             "momentum * running_mean + (1 - momentum) * batch_mean."),
        "unchanged": (rm, "In training mode the moving mean must be updated: momentum * running_mean + "
                          "(1 - momentum) * batch_mean. Yours is returned unchanged."),
    }
    variances = {
        "reversed": ((1 - m) * rv + m * var, reversed_msg),
        "batch_only": (var, "You return the batch variance as the new running_var: blend it with the old value, "
                            "momentum * running_var + (1 - momentum) * batch_var."),
        "unchanged": (rv, "In training mode the moving variance must be updated: momentum * running_var + "
                          "(1 - momentum) * batch_var. Yours is returned unchanged."),
        "std": (m * rv + (1 - m) * np.sqrt(var), "You update running_var with the batch standard deviation; "
                                                  "it tracks the (biased) batch variance."),
    }
    if x.size // x.shape[-1] > 1:
        variances["unbiased"] = (m * rv + (1 - m) * var_unbiased,
                                 "You update running_var with the unbiased batch variance (N - 1; PyTorch does "
                                 "this). Keras uses the same biased variance (divide by N) for normalising and for "
                                 "the moving average.")
        variances["unbiased_reversed"] = ((1 - m) * rv + m * var_unbiased,
                                          reversed_msg + " You also use the unbiased variance (N - 1); use the "
                                          "biased one (divide by N).")
    return means, variances


def _check_cache(cache, case, training):
    if not isinstance(cache, dict):
        raise CheckFailed(f"`{FWD}` should return as `cache` a dict with the keys {list(CACHE_KEYS)}; "
                          f"it returned a {type(cache).__name__}.")
    missing = [k for k in CACHE_KEYS if k not in cache]
    if missing:
        raise CheckFailed(f"The cache returned by `{FWD}` lacks the key(s) {missing}; the contract needs "
                          f"{list(CACHE_KEYS)} (extra keys are fine).")
    *_, ref_cache = _reference(case, training)
    if bool(cache["training"]) != training:
        raise CheckFailed(f"cache['training'] should be {training} (the `training` argument); "
                          f"it is {describe(cache['training'])}.")
    where = _context(case, training)
    expect_close(cache["gamma"], ref_cache["gamma"], "cache['gamma']", context=where)
    mean, var = _stats(case["x"])
    _, var_u = _stats(case["x"], ddof=1)
    use_var = var if training else case["running_var"]
    inv_variants = {
        "eps_outside": (1 / (np.sqrt(use_var) + case["eps"]), "cache['inv_std'] puts eps outside the square root; "
                        "it should be 1 / sqrt(var + eps)."),
        "std": (np.sqrt(use_var + case["eps"]), "cache['inv_std'] holds the standard deviation sqrt(var + eps) "
                "instead of its inverse 1 / sqrt(var + eps)."),
        "unbiased": (1 / np.sqrt(var_u + case["eps"]), "cache['inv_std'] uses the unbiased variance (N - 1); "
                     "use the biased batch variance (divide by N)."),
    }
    expect_close(cache["inv_std"], ref_cache["inv_std"], "cache['inv_std']", rtol=1e-5, atol=1e-8,
                 diagnose=_diagnoser(inv_variants), context=where)
    expect_close(cache["x_hat"], ref_cache["x_hat"], "cache['x_hat']", rtol=1e-5, atol=1e-7,
                 context=where)


# --------------------------------------------------------------------------- #
# Forward pass
# --------------------------------------------------------------------------- #
@check("ps4_batchnorm:forward_training")
def forward_training(student_forward):
    """Training mode: the output and the cache on random batches."""
    for seed, (shape, momentum, eps) in enumerate(TRAIN_CASES):
        case = _case(100 + seed, shape, momentum=momentum, eps=eps)
        (out, _, _, cache), _ = _call_forward(student_forward, case, True)
        want, *_ = _reference(case, True)
        expect_close(out, want, f"{FWD}(...)[0] (out)", rtol=1e-6, atol=1e-8,
                     diagnose=_diagnoser(_normalise_variants(case, True)), context=_context(case, True))
        _check_cache(cache, case, True)
    return (f"{FWD} normalises training batches like Keras (biased variance, eps inside the square root, "
            f"gamma * x_hat + beta) and returns the right cache on {len(TRAIN_CASES)} random batches.")


@check("ps4_batchnorm:forward_running_stats")
def forward_running_stats(student_forward):
    """Training mode: the moving statistics, returned as new arrays."""
    for seed, (shape, momentum, eps) in enumerate(TRAIN_CASES):
        case = _case(200 + seed, shape, momentum=momentum, eps=eps)
        (_, new_mean, new_var, _), args = _call_forward(student_forward, case, True)
        _, want_mean, want_var, _ = _reference(case, True)
        means, variances = _running_variants(case)
        where = _context(case, True)
        expect_close(new_mean, want_mean, f"{FWD}(...)[1] (running_mean)", rtol=1e-6, atol=1e-9,
                     diagnose=_diagnoser(means), context=where)
        expect_close(new_var, want_var, f"{FWD}(...)[2] (running_var)", rtol=1e-6, atol=1e-9,
                     diagnose=_diagnoser(variances), context=where)
        for name in ("running_mean", "running_var"):
            if not np.array_equal(args[name], case[name]):
                raise CheckFailed(
                    f"`{FWD}` changed its `{name}` argument in place (e.g. with `{name} *= momentum`). "
                    "Return the updated statistics as new arrays and leave the inputs unchanged: the "
                    "caller decides what to keep.")
    # momentum = 1 keeps the old values, momentum = 0 takes the batch statistics.
    for momentum in (1.0, 0.0):
        case = _case(250, (16, 3), momentum=momentum)
        (_, new_mean, new_var, _), _ = _call_forward(student_forward, case, True)
        _, want_mean, want_var, _ = _reference(case, True)
        means, variances = _running_variants(case)
        expect_close(new_mean, want_mean, f"{FWD}(...)[1] (running_mean)", diagnose=_diagnoser(means),
                     context=_context(case, True))
        expect_close(new_var, want_var, f"{FWD}(...)[2] (running_var)", diagnose=_diagnoser(variances),
                     context=_context(case, True))
    return (f"{FWD} updates the moving statistics with Keras' momentum convention (and the biased variance), "
            "without modifying its inputs.")


@check("ps4_batchnorm:forward_inference")
def forward_inference(student_forward):
    """Inference mode: normalise with the moving statistics, leave them unchanged."""
    for seed, (shape, momentum, eps) in enumerate(TRAIN_CASES[:3] + [((1, 4), 0.99, 1e-3)]):
        case = _case(300 + seed, shape, momentum=momentum, eps=eps)
        (out, new_mean, new_var, cache), args = _call_forward(student_forward, case, False)
        want, *_ = _reference(case, False)
        where = _context(case, False)
        expect_close(out, want, f"{FWD}(...)[0] (out)", diagnose=_diagnoser(_normalise_variants(case, False)),
                     context=where)
        for got, name in ((new_mean, "running_mean"), (new_var, "running_var")):
            expect_close(got, case[name], f"{FWD}(...)[{1 if name == 'running_mean' else 2}] ({name})",
                         context=where,
                         diagnose=lambda g, w, name=name: (
                             f"At inference (training=False) the moving statistics must not change: return "
                             f"{name} as it was (a copy). Yours was updated with the batch statistics."))
            if not np.array_equal(args[name], case[name]):
                raise CheckFailed(f"`{FWD}` changed its `{name}` argument in place at inference; "
                                  "leave the inputs unchanged.")
        _check_cache(cache, case, False)
    return f"{FWD} with training=False normalises with the moving statistics and leaves them unchanged."


@check("ps4_batchnorm:forward_edge_cases")
def forward_edge_cases(student_forward):
    """A batch of one, float32, (N, ..., D) inputs, and the ValueError cases.

    These checks compare the student's function with itself (float32 against
    float64, a 3-D batch against the same batch flattened) so that they test
    the handling of shapes and dtypes, not the formula the other cells check.
    """
    # A batch of one: the batch variance is 0 and x - mean is 0, so out == beta.
    case = _case(400, (1, 5))
    (out, new_mean, new_var, _), _ = _call_forward(student_forward, case, True)
    out = np.asarray(out, dtype=float)
    if np.isnan(out).any() or np.isnan(np.asarray(new_var, dtype=float)).any():
        raise CheckFailed(
            f"`{FWD}` returns NaN for a batch of one example (training=True). The batch variance of one "
            "example is 0: the unbiased variance divides by N - 1 = 0 (use the biased one, divide by N), "
            "and eps inside the square root keeps the division finite.")
    expect_close(out, np.broadcast_to(case["beta"], out.shape), f"{FWD}(...)[0] (out)",
                 rtol=1e-6, atol=1e-6, context="for a batch of one example (x - mean = 0, so out = beta)")

    # float32 in, float32 out; the same values as in float64 up to float32 precision.
    case64 = _case(401, (16, 4))
    case32 = {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in case64.items()}
    res32, _ = _call_forward(student_forward, case32, True)
    res64, _ = _call_forward(student_forward, {k: (v.astype(np.float32).astype(np.float64)
                                                  if isinstance(v, np.ndarray) else v)
                                              for k, v in case64.items()}, True)
    out32 = res32[0]
    if not isinstance(out32, np.ndarray) or out32.dtype != np.float32:
        got = out32.dtype if isinstance(out32, np.ndarray) else type(out32).__name__
        raise CheckFailed(f"For float32 input `{FWD}` should return `out` as float32 (like Keras); it returned "
                          f"{got}. Compute in float64 if you like, then cast with `.astype(x.dtype)`.")
    for i, name in ((1, "running_mean"), (2, "running_var")):
        arr = res32[i]
        if not isinstance(arr, np.ndarray) or arr.dtype != np.float32:
            got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
            raise CheckFailed(f"For float32 moving statistics `{FWD}` should return `{name}` as float32 "
                              f"(the dtype of the `{name}` argument); it returned {got}.")
    for i, name in ((0, "out"), (1, "running_mean"), (2, "running_var")):
        expect_close(res32[i], res64[i], f"{FWD}(...)[{i}] ({name})", rtol=1e-4, atol=1e-5,
                     context="in float32, compared with your own float64 result")

    # (N, H, D): features on the last axis, statistics over all the others.
    case3 = _case(402, (6, 5, 3))
    flat = dict(case3, x=case3["x"].reshape(-1, 3))
    for training in (True, False):
        res3, _ = _call_forward(student_forward, case3, training)
        res2, _ = _call_forward(student_forward, flat, training)
        out3 = np.asarray(res3[0], dtype=float)
        if out3.shape != case3["x"].shape:
            raise CheckFailed(f"For x of shape (6, 5, 3) `{FWD}` should return `out` of the same shape; "
                              f"it returned shape {out3.shape} (training={training}). Features are on the "
                              "last axis; compute the statistics over all the other axes.")
        expect_close(out3, np.asarray(res2[0], dtype=float).reshape(case3["x"].shape), f"{FWD}(...)[0] (out)",
                     rtol=1e-6, atol=1e-8,
                     context=(f"for x of shape (6, 5, 3), training={training}, compared with your result for "
                              "the same x reshaped to (30, 3): the statistics must be taken over every axis "
                              "but the last"))
        for i, name in ((1, "running_mean"), (2, "running_var")):
            expect_close(res3[i], res2[i], f"{FWD}(...)[{i}] ({name})", rtol=1e-6, atol=1e-9,
                         context=f"for x of shape (6, 5, 3), training={training}, compared with x reshaped to (30, 3)")

    # Invalid input.
    bad = _case(403, (8, 3))
    x_nan = bad["x"].copy()
    x_nan[2, 1] = np.nan
    args = (bad["gamma"], bad["beta"], bad["running_mean"], bad["running_var"])
    expect_raises(student_forward, FWD, (x_nan, *args, True), why="`x` contains NaN")
    expect_raises(student_forward, FWD, (bad["x"][:, 0], bad["gamma"][:1], bad["beta"][:1],
                                         bad["running_mean"][:1], bad["running_var"][:1], True),
                  why="`x` must be at least 2-D, (N, D) or (N, ..., D)")
    return (f"{FWD} handles a batch of one, keeps float32, accepts (N, ..., D) inputs and raises ValueError "
            "for NaN or 1-D input.")


# --------------------------------------------------------------------------- #
# Backward pass
# --------------------------------------------------------------------------- #
def _call_backward(student_backward, dout, cache):
    cache = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in cache.items()}
    result = call_student(student_backward, BWD, dout.copy(), cache)
    return expect_tuple(result, BWD, ("dx", "dgamma", "dbeta"))


def _backward_variants(dout, cache):
    """dx under the common backward-pass mistakes."""
    x_hat, g, inv = cache["x_hat"], cache["gamma"], cache["inv_std"]
    axes = tuple(range(dout.ndim - 1))
    m = x_hat.size // x_hat.shape[-1]
    d = dout.astype(np.float64)
    sum_d, sum_dx = d.sum(axis=axes), (d * x_hat).sum(axis=axes)
    return {
        "constant_stats": (
            g * inv * d,
            "Your dx treats the batch mean and variance as constants (dx = gamma * inv_std * dout). In "
            "training mode they are computed from the batch, so they depend on x too: every example's "
            "output depends on every input of the batch. Add the paths through the mean and the variance "
            "(see the derivation in the notebook)."),
        "mean_only": (
            g * inv * (d - sum_d / m),
            "Your dx includes the path through the batch mean but not the one through the batch variance; "
            "the variance depends on x too (the term with x_hat * sum(dout * x_hat))."),
        "var_only": (
            g * inv * (d - x_hat * sum_dx / m),
            "Your dx includes the path through the batch variance but not the one through the batch mean; "
            "the mean depends on x too (the term with sum(dout))."),
        "no_gamma": (
            inv / m * (m * d - sum_d - x_hat * sum_dx),
            "Your dx forgets the factor gamma: out = gamma * x_hat + beta, so dL/dx_hat = gamma * dout."),
        "unbiased": (
            g * inv / m * (m * d - sum_d - x_hat * sum_dx * m / (m - 1)) if m > 1 else None,
            "Your dx differentiates the unbiased variance (N - 1); the forward pass uses the biased one "
            "(divide by N)."),
    }


def _numerical_gradients(case, dout, h=1e-6):
    """Central finite differences of L = sum(dout * out) with respect to x, gamma and beta."""
    def loss(x, gamma, beta):
        out, *_ = batchnorm_forward(x, gamma, beta, case["running_mean"], case["running_var"], True,
                                    momentum=case["momentum"], eps=case["eps"])
        return float((dout * out).sum())

    grads = []
    params = [case["x"].copy(), case["gamma"].copy(), case["beta"].copy()]
    for k, p in enumerate(params):
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = loss(*params)
            p[idx] = old - h
            down = loss(*params)
            p[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def _check_param_grads(dgamma, dbeta, want_dgamma, want_dbeta, dout, cache, where):
    """dgamma = sum(dout * x_hat) and dbeta = sum(dout) over every axis but the last."""
    swapped = ("You swapped dgamma and dbeta: dgamma = sum(dout * x_hat) and dbeta = sum(dout), "
               "summed over the batch (every axis but the last).")

    def diagnose_dbeta(got, want):
        if np.allclose(got, want_dgamma, rtol=1e-6, atol=1e-9):
            return swapped
        return "dbeta is the sum of dout over the batch (every axis but the last)."

    def diagnose_dgamma(got, want):
        if np.allclose(got, want_dbeta, rtol=1e-6, atol=1e-9):
            return swapped
        return "dgamma is the sum over the batch of dout * x_hat (the normalised input, from the cache)."

    expect_close(dbeta, want_dbeta, f"{BWD}(...)[2] (dbeta)", context=where, diagnose=diagnose_dbeta)
    expect_close(dgamma, want_dgamma, f"{BWD}(...)[1] (dgamma)", context=where, diagnose=diagnose_dgamma)


@check("ps4_batchnorm:backward_training")
def backward_training(student_backward):
    """Training mode: dx, dgamma, dbeta against the reference and finite differences."""
    cases = [((8, 3), 1e-3), ((32, 5), 0.1), ((2, 4), 1e-5), ((6, 5, 3), 1e-3)]
    for seed, (shape, eps) in enumerate(cases):
        case = _case(500 + seed, shape, eps=eps)
        *_, cache = _reference(case, True)
        dout = np.random.default_rng(550 + seed).normal(size=shape)
        dx, dgamma, dbeta = _call_backward(student_backward, dout, cache)
        want_dx, want_dgamma, want_dbeta = batchnorm_backward(dout, cache)
        where = f"for x of shape {shape}, training=True"
        _check_param_grads(dgamma, dbeta, want_dgamma, want_dbeta, dout, cache, where)
        variants = {k: v for k, v in _backward_variants(dout, cache).items() if v[0] is not None}
        expect_close(dx, want_dx, f"{BWD}(...)[0] (dx)", rtol=1e-6, atol=1e-9, context=where,
                     diagnose=_diagnoser(variants))
    # An explicit finite-difference check on a small batch (what the reference itself must satisfy).
    case = _case(590, (5, 3), eps=1e-2)
    *_, cache = _reference(case, True)
    dout = np.random.default_rng(591).normal(size=(5, 3))
    dx, dgamma, dbeta = _call_backward(student_backward, dout, cache)
    num_dx, num_dgamma, num_dbeta = _numerical_gradients(case, dout)
    for got, want, name in ((dx, num_dx, "dx"), (dgamma, num_dgamma, "dgamma"), (dbeta, num_dbeta, "dbeta")):
        expect_close(got, want, f"{BWD}(...) ({name})", rtol=1e-4, atol=1e-6,
                     context="compared with a central finite-difference gradient of the forward pass")
    return (f"{BWD} in training mode matches the reference and a finite-difference gradient "
            f"({len(cases) + 1} batches, including a (N, H, D) one).")


@check("ps4_batchnorm:backward_inference")
def backward_inference(student_backward):
    """Inference mode (constant statistics), (N, ..., D) shapes and float32."""
    for seed, shape in enumerate([(8, 3), (1, 4), (6, 5, 3)]):
        case = _case(600 + seed, shape)
        *_, cache = _reference(case, False)
        dout = np.random.default_rng(650 + seed).normal(size=shape)
        dx, dgamma, dbeta = _call_backward(student_backward, dout, cache)
        want_dx, want_dgamma, want_dbeta = batchnorm_backward(dout, cache)
        where = f"for a cache from training=False, x of shape {shape}"
        _check_param_grads(dgamma, dbeta, want_dgamma, want_dbeta, dout, cache, where)
        m = cache["x_hat"].size // shape[-1]
        d = dout
        axes = tuple(range(d.ndim - 1))
        as_training = cache["gamma"] * cache["inv_std"] / m * (
            m * d - d.sum(axis=axes) - cache["x_hat"] * (d * cache["x_hat"]).sum(axis=axes))
        expect_close(dx, want_dx, f"{BWD}(...)[0] (dx)", context=where,
                     diagnose=lambda g, w, t=as_training: (
                         "With a cache from training=False you use the training-mode gradient. At inference "
                         "the moving statistics are constants, so dx = gamma * inv_std * dout; check "
                         "cache['training']." if np.allclose(g, t, rtol=1e-5, atol=1e-8) else None))
    # float32 upstream gradient -> float32 dx.
    case = _case(690, (8, 3), dtype=np.float32)
    *_, cache = _reference(case, True)
    dout = np.random.default_rng(691).normal(size=(8, 3)).astype(np.float32)
    dx, _, _ = _call_backward(student_backward, dout, cache)
    if not isinstance(dx, np.ndarray) or dx.dtype != np.float32:
        got = dx.dtype if isinstance(dx, np.ndarray) else type(dx).__name__
        raise CheckFailed(f"For a float32 `dout`, `{BWD}` should return dx as float32 (the dtype of dout); "
                          f"it returned {got}.")
    return f"{BWD} handles inference-mode caches, (N, ..., D) shapes and float32."
