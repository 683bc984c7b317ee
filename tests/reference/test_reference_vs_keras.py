"""The reference implementations in `graders` against the installed Keras 3.

These tests pin our NumPy math to what Keras actually does (not to what we
believe it does): penalties, dropout, batch normalization (forward, moving
statistics, backward) and the EarlyStopping decision rule.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import graders

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

pytestmark = pytest.mark.keras
SETTINGS = settings(max_examples=25, deadline=None)


def random_weight_list(rng, n_arrays=3):
    shapes = [tuple(rng.integers(1, 6, size=rng.integers(1, 4))) for _ in range(n_arrays)]
    return [rng.normal(scale=rng.uniform(0.1, 3), size=s).astype(np.float32) for s in shapes]


# --------------------------------------------------------------------------- penalties
@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("lam", [0.0, 1e-4, 0.01, 0.5, 3.0])
def test_penalties_match_keras_regularizers(seed, lam):
    rng = np.random.default_rng(seed)
    weights = random_weight_list(rng, n_arrays=1 + seed % 4)
    l1 = sum(float(keras.regularizers.L1(lam)(w)) for w in weights)
    l2 = sum(float(keras.regularizers.L2(lam)(w)) for w in weights)
    both = sum(float(keras.regularizers.L1L2(l1=lam, l2=2 * lam)(w)) for w in weights)
    assert graders.l1_penalty(weights, lam) == pytest.approx(l1, rel=1e-5, abs=1e-6)
    assert graders.l2_penalty(weights, lam) == pytest.approx(l2, rel=1e-5, abs=1e-6)
    assert graders.l1_penalty(weights, lam) + graders.l2_penalty(weights, 2 * lam) == pytest.approx(
        both, rel=1e-5, abs=1e-6)


def test_keras_l2_has_no_half_factor():
    # The convention the course (and its graders) relies on.
    w = np.array([[1.0, -2.0]], dtype=np.float32)
    assert float(keras.regularizers.L2(0.1)(w)) == pytest.approx(0.5)
    assert graders.l2_penalty(w, 0.1) == pytest.approx(0.5)


@SETTINGS
@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                  elements=st.floats(-5, 5, width=32).filter(lambda v: abs(v) > 1e-3)),
       st.floats(0, 2), st.floats(0, 2))
def test_penalty_grad_matches_tf_autodiff(w, l1, l2):
    var = tf.Variable(w)
    with tf.GradientTape() as tape:
        loss = keras.regularizers.L1L2(l1=l1, l2=l2)(var)
    grad = tape.gradient(loss, var)
    want = np.zeros_like(w) if grad is None else grad.numpy()  # None: the loss does not depend on w
    np.testing.assert_allclose(graders.penalty_grad(w, l1=l1, l2=l2), want, rtol=1e-4, atol=1e-5)


def test_penalty_grad_at_zero_matches_tf_subgradient():
    var = tf.Variable(np.zeros(4, dtype=np.float32))
    with tf.GradientTape() as tape:
        loss = keras.regularizers.L1(0.7)(var)
    np.testing.assert_array_equal(tape.gradient(loss, var).numpy(), graders.penalty_grad(np.zeros(4), l1=0.7))


# --------------------------------------------------------------------------- dropout
@pytest.mark.parametrize("rate", [0.0, 0.5, 0.9])
def test_dropout_training_matches_keras_in_distribution(rate):
    x = np.random.default_rng(1).uniform(0.5, 2.0, size=(400, 250)).astype(np.float32)
    layer = keras.layers.Dropout(rate, seed=3)
    theirs = np.asarray(layer(x, training=True))
    ours, mask = graders.dropout_forward(x, rate, True, np.random.default_rng(4))
    # Kept units are scaled by exactly 1/(1 - rate) in both.
    kept_theirs = theirs != 0
    np.testing.assert_allclose(theirs[kept_theirs], x[kept_theirs] / (1 - rate), rtol=1e-6)
    np.testing.assert_allclose(ours[mask == 1], x[mask == 1] / (1 - rate), rtol=1e-6)
    assert set(np.unique(mask)) <= {0.0, 1.0}
    # Same keep fraction (n = 100,000 draws: 5 standard errors) and unbiased mean.
    se = np.sqrt(rate * (1 - rate) / x.size) + 1e-12
    assert abs(kept_theirs.mean() - (1 - rate)) < 5 * se + 1e-9
    assert abs(mask.mean() - (1 - rate)) < 5 * se + 1e-9
    for out in (theirs, ours):
        assert out.mean() == pytest.approx(x.mean(), rel=0.02 if rate < 0.9 else 0.06)
    # Same variance of the output (Var = x^2 * rate / (1 - rate) on average).
    if rate > 0:
        assert np.var(ours / x) == pytest.approx(np.var(theirs / x), rel=0.05)
        assert np.var(ours / x) == pytest.approx(rate / (1 - rate), rel=0.05)


@pytest.mark.parametrize("rate", [0.0, 0.5, 0.9])
def test_dropout_inference_is_identity_like_keras(rate):
    x = np.random.default_rng(2).normal(size=(8, 5)).astype(np.float32)
    theirs = np.asarray(keras.layers.Dropout(rate)(x, training=False))
    ours, mask = graders.dropout_forward(x, rate, False, np.random.default_rng(0))
    np.testing.assert_array_equal(theirs, x)
    np.testing.assert_array_equal(ours, x)
    assert mask is None


@pytest.mark.parametrize("rate", [0.0, 0.3, 0.5, 0.9])
def test_dropout_backward_matches_tf_autodiff_for_a_fixed_mask(rate):
    rng = np.random.default_rng(5)
    x = rng.normal(size=(6, 7))
    out, mask = graders.dropout_forward(x, rate, True, rng)
    dout = rng.normal(size=x.shape)
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = xv * mask / (1 - rate)  # the same mask, applied by TF
        loss = tf.reduce_sum(y * dout)
    np.testing.assert_allclose(graders.dropout_backward(dout, mask, rate), tape.gradient(loss, xv).numpy())
    np.testing.assert_allclose(out, y.numpy())


def test_keras_rejects_the_rates_we_reject():
    with pytest.raises(ValueError):
        keras.layers.Dropout(1.5)
    with pytest.raises(ValueError, match="rate"):
        graders.dropout_forward(np.ones(3), 1.5, True, np.random.default_rng(0))


# --------------------------------------------------------------------------- batch normalization
def keras_bn(num_features, momentum=0.99, eps=1e-3, seed=0, ndim=2):
    layer = keras.layers.BatchNormalization(momentum=momentum, epsilon=eps)
    layer.build((None,) * (ndim - 1) + (num_features,))
    rng = np.random.default_rng(seed)
    gamma = rng.uniform(0.5, 2.0, num_features).astype(np.float32)
    beta = rng.normal(size=num_features).astype(np.float32)
    layer.gamma.assign(gamma)
    layer.beta.assign(beta)
    return layer, gamma, beta


def test_keras_bn_defaults_are_what_the_course_teaches():
    layer = keras.layers.BatchNormalization()
    assert layer.momentum == 0.99 and layer.epsilon == 1e-3


@pytest.mark.parametrize("momentum,eps", [(0.99, 1e-3), (0.9, 1e-5), (0.5, 0.1)])
@pytest.mark.parametrize("batch", [1, 2, 16, 64])
def test_batchnorm_training_and_moving_stats_match_keras(momentum, eps, batch):
    d = 7
    layer, gamma, beta = keras_bn(d, momentum, eps)
    rm, rv = np.zeros(d, np.float32), np.ones(d, np.float32)
    rng = np.random.default_rng(batch)
    for step in range(6):  # several updates of the moving statistics
        x = (rng.normal(size=(batch, d)) * rng.uniform(0.5, 4, d) + rng.normal(size=d) * 3).astype(np.float32)
        theirs = np.asarray(layer(x, training=True))
        ours, rm, rv, _ = graders.batchnorm_forward(x, gamma, beta, rm, rv, True, momentum, eps)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(rm, layer.moving_mean.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(rv, layer.moving_variance.numpy(), rtol=1e-5, atol=1e-5)
    # Inference uses the moving statistics and leaves them alone.
    x = rng.normal(size=(5, d)).astype(np.float32)
    theirs = np.asarray(layer(x, training=False))
    ours, rm2, rv2, _ = graders.batchnorm_forward(x, gamma, beta, rm, rv, False, momentum, eps)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(rm2, rm)
    np.testing.assert_array_equal(rv2, rv)


def test_batchnorm_on_feature_maps_matches_keras():
    layer, gamma, beta = keras_bn(3, 0.9, 1e-3, seed=1, ndim=4)
    x = np.random.default_rng(0).normal(2, 3, size=(4, 5, 5, 3)).astype(np.float32)
    theirs = np.asarray(layer(x, training=True))
    ours, rm, rv, _ = graders.batchnorm_forward(x, gamma, beta, np.zeros(3), np.ones(3), True, 0.9, 1e-3)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(rv, layer.moving_variance.numpy(), rtol=1e-5)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape", [(8, 4), (1, 3), (3, 4, 2)])
def test_batchnorm_backward_matches_tf_gradient_tape(training, shape):
    rng = np.random.default_rng(sum(shape))
    d = shape[-1]
    x = rng.normal(1, 2, size=shape)
    gamma, beta = rng.uniform(0.5, 2, d), rng.normal(size=d)
    rm, rv = rng.normal(size=d), rng.uniform(0.5, 2, d)
    dout = rng.normal(size=shape)
    _, _, _, cache = graders.batchnorm_forward(x, gamma, beta, rm, rv, training, 0.99, 1e-3)
    dx, dgamma, dbeta = graders.batchnorm_backward(dout, cache)

    xv, gv, bv = (tf.Variable(a) for a in (x, gamma, beta))
    axes = list(range(len(shape) - 1))
    with tf.GradientTape() as tape:
        if training:
            mean, var = tf.nn.moments(xv, axes=axes)
        else:
            mean, var = tf.constant(rm), tf.constant(rv)
        y = tf.nn.batch_normalization(xv, mean, var, bv, gv, 1e-3)
        loss = tf.reduce_sum(y * dout)
    want = tape.gradient(loss, [xv, gv, bv])
    for got, w in zip((dx, dgamma, dbeta), want):
        np.testing.assert_allclose(got, w.numpy(), rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- early stopping
def keras_decision(val_losses, patience, min_delta=0.0):
    """Drive the real EarlyStopping callback epoch by epoch, as `fit` does."""
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, min_delta=min_delta,
                                       restore_best_weights=True)
    cb.set_model(model)
    model.stop_training = False
    cb.on_train_begin()
    for epoch, loss in enumerate(val_losses):
        cb.on_epoch_end(epoch, {"val_loss": float(loss), "loss": 0.0})
        if model.stop_training:
            break
    stop = cb.stopped_epoch if cb.stopped_epoch > 0 else None
    return stop, cb.best_epoch if len(val_losses) else None


HAND_MADE = [
    ([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], 3, 0.0),         # classic U
    ([1.0, 0.9, 0.8, 0.7, 0.6], 3, 0.0),                      # best on the last epoch: never stops
    ([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 3, 0.0),                 # plateau: ties are not improvements
    ([0.5, 0.5, 0.5, 0.5, 0.5, 0.5], 0, 0.0),                 # patience 0 stops at epoch 1
    ([1.0, 0.9, 0.95, 0.85, 0.86, 0.87], 1, 0.0),              # patience 1
    ([1.0, 0.95, 0.93, 0.92, 0.915, 0.91], 2, 0.05),          # small gains below min_delta
    ([1.0, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8], 3, 0.0),            # ties after improvements
    ([2.0], 3, 0.0),                                          # one epoch
    ([3.0, 1.0], 0, 0.0),
    ([1.0, 1.5, 2.0, 0.5, 0.6, 0.7, 0.8, 0.9], 3, 0.0),        # late recovery within patience
    ([1.0, 0.875, 0.75, 0.625, 0.5], 1, 0.125),               # improvement exactly min_delta: not enough
]


@pytest.mark.parametrize("curve,patience,min_delta", HAND_MADE)
def test_early_stopping_hand_made_curves_match_keras(curve, patience, min_delta):
    assert graders.early_stopping(curve, patience, min_delta) == keras_decision(curve, patience, min_delta)


# Values on a 1/8 grid and min_delta on a 1/16 grid are exact in float32 (Keras)
# and float64 (ours), so ties and "improvement by exactly min_delta" are tested too.
grid_curves = st.lists(st.integers(0, 24).map(lambda k: k / 8), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None)
@given(grid_curves, st.sampled_from([0, 1, 2, 3, 5]), st.integers(0, 6).map(lambda k: k / 16))
def test_early_stopping_matches_keras_on_random_curves(curve, patience, min_delta):
    assert graders.early_stopping(curve, patience, min_delta) == keras_decision(curve, patience, min_delta)


def test_early_stopping_matches_a_real_fit():
    from graders.teaching.data import digits_split

    data = digits_split(n_train=200, n_val=200, seed=0)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(256, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy")
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(data.X_train, data.y_train, validation_data=(data.X_val, data.y_val),
                        epochs=60, batch_size=64, callbacks=[cb], verbose=0)
    val = history.history["val_loss"]
    stop, best = graders.early_stopping(val, patience=3)
    assert stop == (cb.stopped_epoch or None) and stop is not None, "this setup over-fits: it must stop"
    assert best == cb.best_epoch == int(np.argmin(val))
    assert len(val) == stop + 1
    # restore_best_weights: the model now scores the best validation loss.
    assert model.evaluate(data.X_val, data.y_val, verbose=0) == pytest.approx(min(val), rel=1e-4)
