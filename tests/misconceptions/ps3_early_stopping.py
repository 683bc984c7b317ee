"""Buggy-but-reasonable submissions for ps3_early_stopping (data for the nbgrader end-to-end test).

Each ``code`` is appended to the answer cell that defines ``early_stopping``, so
the buggy definition replaces the correct one. ``loses`` lists the grade_ids
that must get less than full marks (every other graded cell keeps full marks);
``message`` is a substring that the error output of each of those cells must
contain (a dict gives one substring per grade_id).
"""

ASSIGNMENT = "ps3_early_stopping"
NOTEBOOK = "early_stopping"

# A correct implementation with one marked line per mistake.
_CORRECT = '''
def early_stopping(val_losses, patience, min_delta=0.0):
    losses = np.asarray(val_losses, dtype=float)
    if losses.ndim != 1 or np.isnan(losses).any():
        raise ValueError("val_losses must be 1-D without NaN")
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
        raise ValueError("patience must be a non-negative int")
    if min_delta < 0:
        raise ValueError("min_delta must be non-negative")
    best, best_epoch, wait = np.inf, None, 0
    for epoch, loss in enumerate(losses):
        if loss + min_delta < best or best_epoch is None:  # IMPROVES
            best, best_epoch, wait = loss, epoch, 0
            continue
        wait += 1
        if wait >= max(patience, 1):  # STOPS
            return epoch, best_epoch  # RETURN
    return None, best_epoch
'''


def _with(marker: str, replacement: str) -> str:
    lines = _CORRECT.splitlines()
    hits = [i for i, line in enumerate(lines) if line.rstrip().endswith(f"# {marker}")]
    assert len(hits) == 1, marker
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0]] = indent + replacement
    return "\n".join(lines) + "\n"


MISCONCEPTIONS = [
    dict(name="patience_off_by_one",
         code=_with("STOPS", "if wait > patience:  # 'more than patience epochs without improvement'"),
         loses=["early_stopping_patience"],
         message="Off by one"),
    dict(name="min_delta_ignored",
         code=_with("IMPROVES", "if loss < best or best_epoch is None:"),
         loses=["early_stopping_min_delta"],
         message="min_delta"),
    dict(name="ties_count_as_improvement",
         code=_with("IMPROVES", "if loss + min_delta <= best or best_epoch is None:"),
         loses=["early_stopping_best_epoch"],
         message="tie"),
    dict(name="best_epoch_is_global_minimum",
         code=_with("RETURN", "return epoch, int(np.argmin(losses))  # the best epoch of the curve"
                    ).replace("    return None, best_epoch",
                              "    return None, (int(np.argmin(losses)) if len(losses) else None)"),
         # argmin also ignores min_delta, so the min_delta cell loses its point too.
         loses=["early_stopping_patience", "early_stopping_min_delta"],
         message={"early_stopping_patience": "BEFORE stopping", "early_stopping_min_delta": "min_delta"}),
]
