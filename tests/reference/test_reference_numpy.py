"""NumPy-only properties of the reference implementations: math, gradients, input validation."""
import doctest
import importlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import graders

finite = st.floats(-10, 10, allow_nan=False, width=64)
arrays = hnp.arrays(np.float64, hnp.array_shapes(min_dims=1, max_dims=3, max_side=6), elements=finite)


def numerical_gradient(f, x, h=1e-6):
    """Central differences of a scalar function f at x."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        up = f(x)
        x[i] = old - h
        down = f(x)
        x[i] = old
        grad[i] = (up - down) / (2 * h)
    return grad


@pytest.mark.parametrize("name", ["reference.penalties", "reference.dropout", "reference.batchnorm",
                                  "reference.early_stopping", "reference.lasso", "cells", ""])
def test_docstring_examples_run(name):
    module = importlib.import_module(f"graders.{name}" if name else "graders")
    # NumPy's default print options: other tests (notebook set-up cells) may have changed them.
    with np.printoptions(precision=8, threshold=1000, edgeitems=3, linewidth=75, suppress=False,
                         floatmode="maxprec", sign="-", legacy=False):
        result = doctest.testmod(module, extraglobs={"np": np})
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- penalties
@settings(max_examples=60, deadline=None)
@given(arrays, st.floats(0, 5))
def test_penalties_are_scaled_norms(w, lam):
    assert graders.l1_penalty(w, lam) == pytest.approx(lam * np.abs(w).sum())
    assert graders.l2_penalty(w, lam) == pytest.approx(lam * (w ** 2).sum())
    assert graders.l1_penalty([w, w], lam) == pytest.approx(2 * graders.l1_penalty(w, lam))


def test_penalties_accept_ragged_lists_and_empty_lists():
    ws = [np.ones((2, 3)), np.ones(4), np.array(2.0)]
    assert graders.l1_penalty(ws, 1.0) == 12.0
    assert graders.l2_penalty(ws, 0.5) == pytest.approx(0.5 * (6 + 4 + 4))
    assert graders.l1_penalty([], 1.0) == 0.0


def test_penalty_grad_matches_numerical_gradient_away_from_zero():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3))
    w[np.abs(w) < 0.1] = 0.5
    f = lambda v: graders.l1_penalty(v, 0.3) + graders.l2_penalty(v, 0.7)  # noqa: E731
    np.testing.assert_allclose(graders.penalty_grad(w, l1=0.3, l2=0.7), numerical_gradient(f, w.copy()),
                               rtol=1e-6, atol=1e-8)


def test_l1_subgradient_is_zero_at_zero_and_dtype_is_kept():
    g = graders.penalty_grad(np.zeros(3, np.float32), l1=1.0, l2=1.0)
    assert g.dtype == np.float32 and not g.any()


@settings(max_examples=60, deadline=None)
@given(arrays, st.floats(0, 5))
def test_soft_threshold_is_the_l1_proximal_operator(w, t):
    z = graders.soft_threshold(w, t)
    # Exact zeros wherever |w| <= t; elsewhere moved by exactly t towards 0.
    assert np.all(z[np.abs(w) <= t] == 0)
    big = np.abs(w) > t
    np.testing.assert_allclose(np.abs(z[big]), np.abs(w[big]) - t, atol=1e-12)
    assert np.all(np.sign(z[big]) == np.sign(w[big]))
    # It minimises 0.5 (z - w)^2 + t |z| entrywise: no perturbation does better.
    obj = lambda v: 0.5 * (v - w) ** 2 + t * np.abs(v)  # noqa: E731
    for eps in (1e-3, -1e-3):
        assert np.all(obj(z) <= obj(z + eps) + 1e-12)


# --------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("rate", [0.0, 0.25, 0.5, 0.9])
def test_dropout_mask_keep_probability_and_draw_convention(rate):
    mask = graders.dropout_mask((200, 500), rate, np.random.default_rng(0))
    u = np.random.default_rng(0).random((200, 500))
    np.testing.assert_array_equal(mask, (u < 1 - rate).astype(float))
    assert abs(mask.mean() - (1 - rate)) < 5 * np.sqrt(rate * (1 - rate) / mask.size) + 1e-12


def test_dropout_forward_is_unbiased_and_backward_uses_the_same_mask():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(50, 40))
    outs = [graders.dropout_forward(x, 0.5, True, rng)[0] for _ in range(2000)]
    np.testing.assert_allclose(np.mean(outs, axis=0), x, atol=0.15)
    out, mask = graders.dropout_forward(x, 0.5, True, rng)
    dout = rng.normal(size=x.shape)
    f = lambda v: float((v * mask / 0.5 * dout).sum())  # noqa: E731  the forward with the mask fixed
    np.testing.assert_allclose(graders.dropout_backward(dout, mask, 0.5), numerical_gradient(f, x.copy()),
                               rtol=1e-5, atol=1e-7)


def test_dropout_keeps_float32_and_passes_gradients_through_at_inference():
    x = np.ones((2, 3), np.float32)
    out, mask = graders.dropout_forward(x, 0.5, True, np.random.default_rng(0))
    assert out.dtype == np.float32
    dout = np.arange(6.0).reshape(2, 3)
    np.testing.assert_array_equal(graders.dropout_backward(dout, None, 0.5), dout)


# --------------------------------------------------------------------------- batch normalization
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(6, 4), (1, 3), (2, 3, 5)])
def test_batchnorm_backward_matches_numerical_gradients(training, shape):
    rng = np.random.default_rng(7)
    d = shape[-1]
    x = rng.normal(2, 3, size=shape)
    gamma, beta = rng.uniform(0.5, 2, d), rng.normal(size=d)
    rm, rv = rng.normal(size=d), rng.uniform(0.5, 2, d)
    dout = rng.normal(size=shape)

    def loss(x_, g_, b_):
        return float((graders.batchnorm_forward(x_, g_, b_, rm, rv, training)[0] * dout).sum())

    _, _, _, cache = graders.batchnorm_forward(x, gamma, beta, rm, rv, training)
    dx, dgamma, dbeta = graders.batchnorm_backward(dout, cache)
    np.testing.assert_allclose(dx, numerical_gradient(lambda v: loss(v, gamma, beta), x.copy()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dgamma, numerical_gradient(lambda v: loss(x, v, beta), gamma.copy()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(dbeta, numerical_gradient(lambda v: loss(x, gamma, v), beta.copy()), rtol=1e-5, atol=1e-6)


def test_batchnorm_normalises_and_does_not_modify_its_inputs():
    rng = np.random.default_rng(0)
    x = rng.normal(5, 3, size=(256, 4))
    rm, rv = np.zeros(4), np.ones(4)
    out, rm2, rv2, _ = graders.batchnorm_forward(x, np.ones(4), np.zeros(4), rm, rv, True, 0.9, 1e-8)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-6)
    np.testing.assert_array_equal(rm, 0)
    np.testing.assert_array_equal(rv, 1)
    np.testing.assert_allclose(rm2, 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(rv2, 0.9 + 0.1 * x.var(axis=0))


def test_batch_of_one_gives_beta():
    out, *_ = graders.batchnorm_forward(np.array([[3.0, -1.0]]), np.array([2.0, 2.0]), np.array([0.5, -0.5]),
                                        np.zeros(2), np.ones(2), True)
    np.testing.assert_allclose(out, [[0.5, -0.5]])


# --------------------------------------------------------------------------- early stopping
def test_early_stopping_semantics():
    assert graders.early_stopping([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], patience=3) == (5, 2)
    assert graders.early_stopping([1.0, 0.9, 0.8], patience=3) == (None, 2)
    assert graders.early_stopping([], patience=3) == (None, None)
    # min_delta: 0.72 is not 0.05 better than 0.75, so the best stays at epoch 1.
    assert graders.early_stopping([1.0, 0.75, 0.72, 0.71, 0.70], patience=2, min_delta=0.05) == (3, 1)


# --------------------------------------------------------------------------- validation
BAD_CALLS = [
    (graders.l1_penalty, (np.ones(3), -0.1), "lam"),
    (graders.l2_penalty, (np.ones(3), float("nan")), "lam"),
    (graders.l2_penalty, (np.array([1.0, np.nan]), 0.1), "NaN"),
    (graders.l1_penalty, ([np.ones(2), np.array([np.nan])], 0.1), r"weights\[1\]"),
    (graders.l1_penalty, (np.array(["a", "b"]), 0.1), "array of numbers"),
    (graders.penalty_grad, (np.ones(3), -1.0), "l1"),
    (graders.soft_threshold, (np.ones(3), -0.5), "`t`"),
    (graders.dropout_mask, ((2, 3), 1.0, np.random.default_rng(0)), r"\[0, 1\)"),
    (graders.dropout_mask, ((2, 3), -0.1, np.random.default_rng(0)), "rate=-0.1"),
    (graders.dropout_mask, ((2, 3), 0.5, 42), "Generator"),
    (graders.dropout_forward, (np.ones(3), 1.5, True, np.random.default_rng(0)), "Received: rate=1.5"),
    (graders.dropout_forward, (np.array([np.nan]), 0.5, True, np.random.default_rng(0)), "NaN"),
    (graders.dropout_forward, (np.ones(3), 0.5, "yes", np.random.default_rng(0)), "training"),
    (graders.dropout_backward, (np.ones((2, 3)), np.ones((3, 2)), 0.5), "same shape"),
    (graders.batchnorm_forward, (np.ones(3), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True), r"\(N, D\)"),
    (graders.batchnorm_forward, (np.ones((2, 3)), np.ones(4), np.zeros(3), np.zeros(3), np.ones(3), True), "gamma"),
    (graders.batchnorm_forward, (np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), -np.ones(3), True), "running_var"),
    (graders.batchnorm_forward, (np.array([[np.nan, 1.0]]), np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), True), "NaN"),
    (graders.batchnorm_forward, (np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True, 1.5), "momentum"),
    (graders.batchnorm_forward, (np.ones((2, 3)), np.ones(3), np.zeros(3), np.zeros(3), np.ones(3), True, 0.9, 0.0), "eps"),
    (graders.batchnorm_backward, (np.ones((2, 3)), {"x": 1}), "cache"),
    (graders.early_stopping, ([1.0, 0.5], -1), "patience"),
    (graders.early_stopping, ([1.0, 0.5], 2.5), "patience"),
    (graders.early_stopping, ([1.0, np.nan], 2), "NaN"),
    (graders.early_stopping, ([1.0, 0.5], 2, -0.1), "min_delta"),
    (graders.early_stopping, ([[1.0, 0.5]], 2), "1-D"),
]


@pytest.mark.parametrize("func,args,match", BAD_CALLS, ids=lambda v: getattr(v, "__name__", None))
def test_bad_arguments_raise_value_error_saying_what_was_wrong(func, args, match):
    with pytest.raises(ValueError, match=match) as info:
        func(*args)
    # Keras-style messages: what was expected and what was received.
    assert "Expected" in str(info.value)
