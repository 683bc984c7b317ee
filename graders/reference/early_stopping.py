"""Early stopping on a validation-loss curve (Prechelt, 1998), decided as
``keras.callbacks.EarlyStopping(monitor='val_loss', mode='min')`` decides.

After each epoch the callback compares the validation loss with the best so far:

    improvement  <=>  val_loss[epoch] + min_delta < best      (strictly: a tie is no improvement)

An improvement resets the wait counter and records ``best_epoch``; otherwise the
counter grows by one, and training stops at the first epoch (never the first
one) where it reaches ``max(patience, 1)`` epochs without improvement.
With ``restore_best_weights=True`` Keras then restores the weights of ``best_epoch``.
"""
from __future__ import annotations

import math
from numbers import Integral

import numpy as np

from ._validation import as_float_array, check_nonnegative


def early_stopping(val_losses, patience, min_delta=0.0):
    """Replay early stopping on a sequence of per-epoch validation losses.

    Args:
        val_losses: 1-D sequence, ``val_losses[e]`` is the validation loss after
            epoch ``e`` (0-based). No NaN.
        patience: number of epochs without improvement to tolerate, an int >= 0.
        min_delta: an improvement must lower the loss by more than this, >= 0.

    Returns:
        ``(stop_epoch, best_epoch)``: the 0-based epoch after which training
        stops (Keras' ``stopped_epoch``), or None if it would run through every
        epoch given; and the epoch with the best (last improving) loss, whose
        weights ``restore_best_weights=True`` restores. ``best_epoch`` is None
        for an empty curve.

    Example:
        >>> early_stopping([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9], patience=3)
        (5, 2)
    """
    losses = as_float_array(val_losses, "val_losses")
    if losses.ndim != 1:
        raise ValueError(f"Expected `val_losses` to be 1-D (one loss per epoch). Received: shape={losses.shape}")
    if isinstance(patience, bool) or not isinstance(patience, (Integral, np.integer)) or patience < 0:
        raise ValueError(f"Expected `patience` to be a non-negative integer. Received: patience={patience!r}")
    min_delta = check_nonnegative(min_delta, "min_delta")

    best = math.inf
    best_epoch = None
    wait = 0
    for epoch, loss in enumerate(losses.tolist()):
        wait += 1
        if loss + min_delta < best or best_epoch is None:
            best, best_epoch, wait = loss, epoch, 0
            continue
        if wait >= patience and epoch > 0:
            return epoch, best_epoch
    return None, best_epoch
