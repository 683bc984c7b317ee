"""Batch normalization (Ioffe & Szegedy, 2015) with ``keras.layers.BatchNormalization``'s conventions.

For activations ``x`` of shape ``(N, D)`` (or ``(N, ..., D)``: features on the
last axis, statistics over all the others):

    training:   mu = mean(x),  var = mean((x - mu)**2)      # biased variance
                x_hat = (x - mu) / sqrt(var + eps)
                running_mean <- momentum * running_mean + (1 - momentum) * mu
                running_var  <- momentum * running_var  + (1 - momentum) * var
    inference:  x_hat = (x - running_mean) / sqrt(running_var + eps)
    both:       out = gamma * x_hat + beta

Keras' defaults are ``momentum=0.99`` (the weight of the *old* running value)
and ``eps=1e-3`` (inside the square root).
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_bool, check_fraction, check_positive


def _check_param(arr, name, num_features):
    arr = as_float_array(arr, name)
    if arr.shape != (num_features,):
        raise ValueError(
            f"Expected `{name}` to have shape ({num_features},), one entry per feature of `x`. "
            f"Received: {name}.shape={arr.shape}"
        )
    return arr


def batchnorm_forward(x, gamma, beta, running_mean, running_var, training,
                      momentum=0.99, eps=1e-3):
    """Batch-normalization forward pass.

    Args:
        x: activations of shape ``(N, D)`` or ``(N, ..., D)``, ``N >= 1``.
        gamma: scale, shape ``(D,)``.
        beta: shift, shape ``(D,)``.
        running_mean: moving mean, shape ``(D,)`` (Keras initialises it to 0).
        running_var: moving variance, shape ``(D,)``, non-negative (Keras: 1).
        training: True to normalise with the batch statistics and update the
            moving ones; False to normalise with the moving statistics.
        momentum: weight of the old moving value, in [0, 1].
        eps: added to the variance inside the square root, > 0.

    Returns:
        ``(out, running_mean, running_var, cache)``: ``out`` has the shape and
        dtype of ``x``; the moving statistics are new arrays (the inputs are
        not modified); ``cache`` holds what ``batchnorm_backward`` needs.

    Example:
        >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])
        >>> out, rm, rv, _ = batchnorm_forward(x, np.ones(2), np.zeros(2), np.zeros(2), np.ones(2), True)
        >>> np.round(out, 4)
        array([[-0.9995, -0.9999],
               [ 0.9995,  0.9999]])
        >>> rm, rv
        (array([0.02, 0.04]), array([1.  , 1.03]))
    """
    x = as_float_array(x, "x")
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            "Expected `x` to have shape (N, D) or (N, ..., D) with N >= 1. "
            f"Received: x.shape={x.shape}"
        )
    num_features = x.shape[-1]
    gamma = _check_param(gamma, "gamma", num_features)
    beta = _check_param(beta, "beta", num_features)
    running_mean = _check_param(running_mean, "running_mean", num_features)
    running_var = _check_param(running_var, "running_var", num_features)
    if np.any(running_var < 0):
        raise ValueError(
            f"Expected `running_var` to be non-negative. Received: min(running_var)={running_var.min()}"
        )
    training = check_bool(training, "training")
    momentum = check_fraction(momentum, "momentum")
    eps = check_positive(eps, "eps")

    axes = tuple(range(x.ndim - 1))
    x64 = x.astype(np.float64)
    if training:
        mean = x64.mean(axis=axes)
        var = x64.var(axis=axes)  # biased (divide by N), as Keras normalises and updates
        new_mean = momentum * running_mean + (1.0 - momentum) * mean
        new_var = momentum * running_var + (1.0 - momentum) * var
    else:
        mean = running_mean.astype(np.float64)
        var = running_var.astype(np.float64)
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x64 - mean) * inv_std
    out = gamma * x_hat + beta
    cache = {"training": training, "x_hat": x_hat, "gamma": gamma.astype(np.float64),
             "inv_std": inv_std, "dtype": x.dtype}
    return (out.astype(x.dtype, copy=False),
            new_mean.astype(running_mean.dtype, copy=False),
            new_var.astype(running_var.dtype, copy=False),
            cache)


def batchnorm_backward(dout, cache):
    """Batch-normalization backward pass.

    In training mode the batch mean and variance depend on every example, so
    (with ``M`` the number of examples per feature and sums over the batch)

        dx = gamma * inv_std / M * (M * dout - sum(dout) - x_hat * sum(dout * x_hat))

    In inference mode the statistics are constants: ``dx = gamma * inv_std * dout``.

    Args:
        dout: upstream gradient, the shape of ``x``.
        cache: the cache returned by ``batchnorm_forward``.

    Returns:
        ``(dx, dgamma, dbeta)`` with the shapes of ``x``, ``gamma`` and ``beta``.
    """
    if not isinstance(cache, dict) or not {"training", "x_hat", "gamma", "inv_std"} <= cache.keys():
        raise ValueError("Expected `cache` to be the cache returned by batchnorm_forward. "
                         f"Received: {type(cache).__name__}")
    dout = as_float_array(dout, "dout")
    x_hat = cache["x_hat"]
    if dout.shape != x_hat.shape:
        raise ValueError(f"Expected `dout` to have the shape of the forward input {x_hat.shape}. "
                         f"Received: dout.shape={dout.shape}")
    gamma, inv_std = cache["gamma"], cache["inv_std"]
    axes = tuple(range(dout.ndim - 1))
    d64 = dout.astype(np.float64)
    dbeta = d64.sum(axis=axes)
    dgamma = (d64 * x_hat).sum(axis=axes)
    if cache["training"]:
        m = x_hat.size // x_hat.shape[-1]
        dx = gamma * inv_std / m * (m * d64 - dbeta - x_hat * dgamma)
    else:
        dx = gamma * inv_std * d64
    return dx.astype(dout.dtype, copy=False), dgamma, dbeta
