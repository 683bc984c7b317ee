"""Hidden-test checks for ps3_early_stopping (replaying Keras' EarlyStopping on a loss curve).

Semantics (those of ``keras.callbacks.EarlyStopping(monitor="val_loss")``, which the
notebook states): epochs are 0-based; epoch ``e`` improves when
``val_losses[e] + min_delta < best`` (a tie is no improvement; the first epoch
always improves); training stops after the first epoch (never epoch 0) at which
``max(patience, 1)`` epochs in a row have not improved; the function returns
``(stop_epoch, best_epoch)`` with ``stop_epoch = None`` when training runs to the end.

Each check isolates one behaviour: ``best_epoch`` without stopping, the
patience counter, ``min_delta``, edge cases and input validation.
"""
from __future__ import annotations

import numpy as np

from graders import early_stopping as ref

from ._framework import CheckFailed, call_student, check, expect_raises, expect_tuple

A = "ps3_early_stopping"


def _curve(seed: int, n: int = 30, noise: float = 0.03) -> np.ndarray:
    """A U-shaped validation curve with noise: falls, bottoms out, rises (over-fitting)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, n)
    bottom = rng.uniform(0.3, 0.7)
    return 1.0 + 2.0 * (t - bottom) ** 2 + noise * rng.standard_normal(n)


def _result(func, losses, patience, min_delta=None):
    name = "early_stopping"
    args = (list(losses) if isinstance(losses, list) else losses.copy(), patience)
    result = call_student(func, name, *args) if min_delta is None else \
        call_student(func, name, *args, min_delta=min_delta)
    stop, best = expect_tuple(result, name, ("stop_epoch", "best_epoch"))
    for what, value in (("stop_epoch", stop), ("best_epoch", best)):
        if value is not None and not isinstance(value, (int, np.integer)):
            raise CheckFailed(f"`{what}` should be an int (a 0-based epoch index) or None; `{name}` returned "
                              f"{value!r} of type {type(value).__name__}.")
    return (None if stop is None else int(stop)), (None if best is None else int(best))


def _show(losses) -> str:
    losses = np.asarray(losses, dtype=float)
    if losses.size <= 12:
        return "[" + ", ".join(f"{v:.3g}" for v in losses) + "]"
    return f"a curve of {losses.size} epochs (minimum {losses.min():.4g} at epoch {int(losses.argmin())})"


@check(f"{A}:early_stopping_best_epoch")
def early_stopping_best_epoch(early_stopping):
    """With a patience longer than the curve, nothing stops: only best_epoch matters."""
    cases = [_curve(s) for s in range(4)] + [
        np.array([1.0, 0.9, 0.8, 0.8, 0.85, 0.8, 0.9]),   # tie with the best: no improvement
        np.array([3.0, 2.0, 2.0, 2.0]),
    ]
    for losses in cases:
        patience = len(losses) + 1
        stop, best = _result(early_stopping, losses, patience)
        want_stop, want_best = ref(losses, patience)
        if best != want_best:
            if best is not None and best < len(losses) and np.isclose(losses[best], losses[want_best]) \
                    and best > want_best:
                hint = ("A tie with the best loss is not an improvement (Keras compares with a strict "
                        "`<`), so best_epoch is the FIRST epoch that reached the best loss.")
            else:
                hint = "best_epoch is the epoch with the lowest validation loss seen so far."
            raise CheckFailed(f"{hint} For val_losses={_show(losses)} (patience={patience}) you returned "
                              f"best_epoch={best}; expected {want_best}.")
        if stop is not None:
            raise CheckFailed(f"With patience={patience} (longer than the {len(losses)} epochs) training never "
                              f"stops: stop_epoch must be None, not {stop}.")
    return "early_stopping finds the best epoch (ties are no improvement)."


@check(f"{A}:early_stopping_patience")
def early_stopping_patience(early_stopping):
    """The stop epoch, for several patiences (min_delta = 0, no ties)."""
    cases = [(np.array([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9, 0.95]), 3),
             (np.array([1.0, 0.8, 0.7, 0.75, 0.72, 0.71, 0.9, 0.95]), 1),
             (np.array([1.0, 0.8, 0.85, 0.7, 0.75, 0.6, 0.65, 0.66]), 0)]
    cases += [(_curve(10 + s), p) for s, p in enumerate((1, 2, 3, 5, 8, 2, 4))]
    for losses, patience in cases:
        stop, best = _result(early_stopping, losses, patience)
        want_stop, want_best = ref(losses, patience)
        if (stop, best) == (want_stop, want_best):
            continue
        shown = f"val_losses={_show(losses)}, patience={patience}"
        if stop != want_stop and stop is not None and want_stop is not None and abs(stop - want_stop) == 1:
            raise CheckFailed(
                f"Off by one: you stop after epoch {stop}, Keras stops after epoch {want_stop} for {shown}. "
                f"Training stops as soon as `patience` epochs IN A ROW have not improved (the epoch that "
                f"completes the count is the stop epoch): count epochs without improvement since the best "
                f"one and stop when the count reaches patience (patience=0 acts like 1)."
            )
        if stop == want_stop and best is not None and best == int(np.argmin(losses)) and best != want_best:
            raise CheckFailed(
                f"best_epoch={best} is the minimum of the whole curve, but training stopped after epoch "
                f"{stop}: best_epoch must be the best epoch seen BEFORE stopping ({want_best}) for {shown}."
            )
        raise CheckFailed(f"For {shown} you returned (stop_epoch, best_epoch)=({stop}, {best}); "
                          f"Keras gives ({want_stop}, {want_best}).")
    return f"early_stopping stops at the same epoch as Keras on {len(cases)} curves."


@check(f"{A}:early_stopping_min_delta")
def early_stopping_min_delta(early_stopping):
    """min_delta with a patience longer than the curve: small improvements do not count."""
    cases = [(np.array([1.0, 0.95, 0.93, 0.92, 0.80, 0.79, 0.785]), 0.05),
             (np.array([2.0, 1.5, 1.45, 1.2, 1.19, 1.18, 1.17, 1.0]), 0.1),
             (np.array([1.0, 0.99, 0.98, 0.97]), 0.001)]
    for losses, min_delta in cases:
        patience = len(losses) + 1
        _, best = _result(early_stopping, losses, patience, min_delta)
        _, want = ref(losses, patience, min_delta)
        if best != want:
            _, ignoring = ref(losses, patience, 0.0)
            if best == ignoring:
                hint = ("It looks like `min_delta` is ignored: an epoch improves only if it lowers the best "
                        "loss by MORE than min_delta (val_loss + min_delta < best).")
            else:
                hint = "An epoch improves only when val_loss + min_delta < best (strictly)."
            raise CheckFailed(f"{hint} For val_losses={_show(losses)}, min_delta={min_delta} you returned "
                              f"best_epoch={best}; expected {want}.")
    losses = np.array([1.0, 0.9, 0.89, 0.885, 0.88, 0.95])
    stop, _ = _result(early_stopping, losses, 3, 0.05)
    want_stop, _ = ref(losses, 3, 0.05)
    if stop is None:
        raise CheckFailed(f"With min_delta=0.05, the small decreases of val_losses={_show(losses)} after epoch 1 "
                          "are not improvements, so patience=3 runs out: training should stop (at epoch "
                          f"{want_stop}), but your function never stops. Is `min_delta` ignored?")
    return "early_stopping counts only improvements larger than min_delta."


@check(f"{A}:early_stopping_edge_cases")
def early_stopping_edge_cases(early_stopping):
    """Empty and short curves, lists and arrays, and the ValueError cases."""
    name = "early_stopping"
    for losses, patience, want, why in (
            ([], 2, (None, None), "an empty curve has no best epoch"),
            ([0.5], 0, (None, 0), "with one epoch training cannot stop (never after epoch 0)"),
            ([0.5, 0.4, 0.3, 0.2, 0.1], 1, (None, 4), "a curve that always improves never stops"),
            (list(np.linspace(2.0, 1.0, 12)), 3, (None, 11), "a curve that always improves never stops")):
        got = _result(early_stopping, losses, patience)
        if got != want:
            raise CheckFailed(f"`{name}({_show(losses)}, patience={patience})` returned {got}; expected {want}: "
                              f"{why}.")
    arr = _curve(3)
    got_list = _result(early_stopping, [float(v) for v in arr], 2)
    got_arr = _result(early_stopping, arr, 2)
    if got_list != got_arr:
        raise CheckFailed(f"`{name}` gave {got_list} for a list and {got_arr} for the same values as a NumPy "
                          "array: accept both.")
    ok = [1.0, 0.8, 0.9]
    expect_raises(early_stopping, name, ([1.0, float("nan"), 0.7], 2), why="val_losses contains NaN")
    expect_raises(early_stopping, name, (ok, -1), why="patience must be a non-negative integer")
    expect_raises(early_stopping, name, (ok, 2.5), why="patience must be an integer (a number of epochs)")
    expect_raises(early_stopping, name, (ok, 2), {"min_delta": -0.1}, why="min_delta must be non-negative")
    expect_raises(early_stopping, name, (np.ones((2, 3)), 2), why="val_losses must be 1-D (one loss per epoch)")
    return ("early_stopping handles empty, one-epoch and always-improving curves, lists and arrays, "
            "and rejects invalid arguments with ValueError.")
