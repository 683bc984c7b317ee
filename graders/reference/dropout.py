"""Inverted dropout (Srivastava et al., 2014), as ``keras.layers.Dropout`` does it.

While training, every unit is kept with probability ``1 - rate`` and the kept
units are scaled by ``1 / (1 - rate)``:

    out = x * mask / (1 - rate),    mask_ij ~ Bernoulli(1 - rate)

so that ``E[out] = x``. At inference (``training=False``) every unit is used
and nothing is scaled: the layer is the identity.
"""
from __future__ import annotations

import numpy as np

from ._validation import as_float_array, check_bool, check_rate, check_rng, check_same_shape


def dropout_mask(shape, rate, rng) -> np.ndarray:
    """Draw a 0/1 keep-mask: 1 where a unit is kept (probability ``1 - rate``).

    The draw convention (so that a given generator state gives one mask):
    ``u = rng.random(shape)``, keep where ``u < 1 - rate``.

    Args:
        shape: the mask's shape, an int or a tuple of ints.
        rate: the drop probability, in [0, 1).
        rng: a ``numpy.random.Generator``; it is advanced by one ``random`` call.

    Returns:
        A float64 array of zeros and ones with the given shape.

    Example:
        >>> dropout_mask((2, 4), 0.5, np.random.default_rng(0))
        array([[0., 1., 1., 1.],
               [0., 0., 0., 0.]])
    """
    rate = check_rate(rate)
    rng = check_rng(rng)
    try:
        shape = tuple(int(s) for s in np.atleast_1d(shape))
    except (TypeError, ValueError):
        raise ValueError(f"Expected `shape` to be an int or a tuple of ints. Received: shape={shape!r}") from None
    if any(s < 0 for s in shape):
        raise ValueError(f"Expected `shape` to have non-negative sizes. Received: shape={shape}")
    return (rng.random(shape) < 1.0 - rate).astype(np.float64)


def dropout_forward(x, rate, training, rng):
    """Inverted dropout forward pass.

    Args:
        x: activations, an array of any shape (usually ``(N, D)``).
        rate: the drop probability, in [0, 1).
        training: True to drop units (training), False for inference.
        rng: a ``numpy.random.Generator``; used only when ``training`` is True.

    Returns:
        ``(out, mask)``. ``out`` has the shape and floating dtype of ``x``.
        When training, ``mask = dropout_mask(x.shape, rate, rng)`` and
        ``out = x * mask / (1 - rate)``; otherwise ``out`` is ``x`` unchanged
        and ``mask`` is None.

    Example:
        >>> out, mask = dropout_forward(np.ones((1, 4)), 0.5, True, np.random.default_rng(0))
        >>> out
        array([[0., 2., 2., 2.]])
    """
    x = as_float_array(x, "x")
    rate = check_rate(rate)
    training = check_bool(training, "training")
    if not training:
        return x, None
    mask = dropout_mask(x.shape, rate, check_rng(rng))
    out = (x * mask / (1.0 - rate)).astype(x.dtype, copy=False)
    return out, mask


def dropout_backward(dout, mask, rate) -> np.ndarray:
    """Backward pass of inverted dropout.

    Args:
        dout: upstream gradient, the shape of the forward output.
        mask: the mask returned by ``dropout_forward`` (None if it ran with
            ``training=False``, in which case the gradient passes through).
        rate: the rate used in the forward pass.

    Returns:
        ``dx = dout * mask / (1 - rate)`` (or ``dout`` at inference).
    """
    dout = as_float_array(dout, "dout")
    rate = check_rate(rate)
    if mask is None:
        return dout
    mask = as_float_array(mask, "mask")
    check_same_shape(dout, mask, "dout", "mask")
    return (dout * mask / (1.0 - rate)).astype(dout.dtype, copy=False)
