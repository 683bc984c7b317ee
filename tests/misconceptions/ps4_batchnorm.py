"""Buggy-but-reasonable submissions for ps4_batchnorm (data for the nbgrader end-to-end test).

Each ``code`` is appended to the answer cell that defines the function, so the
buggy definition replaces the correct one. ``loses`` lists the grade_ids that
must get less than full marks (every other graded cell keeps full marks) and
``message`` a substring each of those cells' error output must contain.
"""

ASSIGNMENT = "ps4_batchnorm"
NOTEBOOK = "batchnorm"

# A correct forward pass with one marked line per mistake; each misconception
# replaces exactly one of the marked lines.
_FORWARD = '''
def batchnorm_forward(x, gamma, beta, running_mean, running_var, training,
                      momentum=0.99, eps=1e-3):
    x = np.asarray(x)
    if x.ndim < 2 or np.isnan(x).any():
        raise ValueError("x must be (N, ..., D) without NaN")
    axes = tuple(range(x.ndim - 1))
    gamma, beta = np.asarray(gamma), np.asarray(beta)
    running_mean, running_var = np.asarray(running_mean), np.asarray(running_var)
    if training:
        mean = x.mean(axis=axes)
        var = x.var(axis=axes)  # VAR
        new_mean = momentum * running_mean + (1 - momentum) * mean  # NEW_MEAN
        new_var = momentum * running_var + (1 - momentum) * var  # NEW_VAR
    else:
        mean, var = running_mean, running_var  # INFERENCE_STATS
        new_mean, new_var = running_mean.copy(), running_var.copy()
    inv_std = 1.0 / np.sqrt(var + eps)  # INV_STD
    x_hat = (x - mean) * inv_std
    out = gamma * x_hat + beta
    cache = {"training": training, "x_hat": x_hat, "gamma": gamma, "inv_std": inv_std}
    return out.astype(x.dtype), new_mean.astype(running_mean.dtype), new_var.astype(running_var.dtype), cache
'''


def _forward_with(marker, replacement):
    lines = _FORWARD.splitlines()
    hits = [i for i, line in enumerate(lines) if line.rstrip().endswith(f"# {marker}")]
    assert len(hits) == 1, marker
    indent = lines[hits[0]][: len(lines[hits[0]]) - len(lines[hits[0]].lstrip())]
    lines[hits[0]: hits[0] + 1] = [indent + r for r in replacement.splitlines()]
    return "\n".join(lines) + "\n"


MISCONCEPTIONS = [
    dict(name="unbiased_variance",
         code=_forward_with("VAR", "var = x.var(axis=axes, ddof=1)  # unbiased, as np.std(ddof=1) / PyTorch"),
         # The moving variance is updated with it too, and a batch of one gives 0/0.
         loses=["batchnorm_forward_training", "batchnorm_forward_running_stats",
                "batchnorm_forward_edge_cases"],
         message="unbiased"),
    dict(name="batch_statistics_at_inference",
         code=_forward_with("INFERENCE_STATS", "mean, var = x.mean(axis=axes), x.var(axis=axes)"),
         loses=["batchnorm_forward_inference"],
         message="batch statistics"),
    dict(name="momentum_reversed",
         code=_forward_with("NEW_MEAN", "new_mean = (1 - momentum) * running_mean + momentum * mean").replace(
             "new_var = momentum * running_var + (1 - momentum) * var  # NEW_VAR",
             "new_var = (1 - momentum) * running_var + momentum * var"),
         loses=["batchnorm_forward_running_stats"],
         message="momentum"),
    dict(name="eps_outside_sqrt",
         code=_forward_with("INV_STD", "inv_std = 1.0 / (np.sqrt(var) + eps)"),
         # The same formula is used at inference, so both modes lose.
         loses=["batchnorm_forward_training", "batchnorm_forward_inference"],
         message="inside the square root"),
    dict(name="running_stats_updated_in_place",
         code=_forward_with("NEW_MEAN", "running_mean *= momentum\nrunning_mean += (1 - momentum) * mean\n"
                                        "new_mean = running_mean"),
         loses=["batchnorm_forward_running_stats"],
         message="in place"),
    dict(name="backward_treats_statistics_as_constants",
         code='''
def batchnorm_backward(dout, cache):
    dout = np.asarray(dout)
    axes = tuple(range(dout.ndim - 1))
    dbeta = dout.sum(axis=axes)
    dgamma = (dout * cache["x_hat"]).sum(axis=axes)
    dx = dout * cache["gamma"] * cache["inv_std"]  # forgets that the batch mean and variance depend on x
    return dx.astype(dout.dtype), dgamma, dbeta
''',
         loses=["batchnorm_backward_training"],
         message="depend on x"),
    dict(name="backward_swaps_dgamma_dbeta",
         code='''
def batchnorm_backward(dout, cache):
    dout = np.asarray(dout)
    x_hat, gamma, inv_std = cache["x_hat"], cache["gamma"], cache["inv_std"]
    axes = tuple(range(dout.ndim - 1))
    m = dout.size // dout.shape[-1]
    dbeta = (dout * x_hat).sum(axis=axes)
    dgamma = dout.sum(axis=axes)
    if cache["training"]:
        dx = gamma * inv_std / m * (m * dout - dout.sum(axis=axes) - x_hat * (dout * x_hat).sum(axis=axes))
    else:
        dx = gamma * inv_std * dout
    return dx.astype(dout.dtype), dgamma, dbeta
''',
         loses=["batchnorm_backward_training", "batchnorm_backward_inference"],
         message="dbeta"),
]
