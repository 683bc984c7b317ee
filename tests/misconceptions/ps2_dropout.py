"""Buggy-but-reasonable submissions for ps2_dropout (data for the nbgrader end-to-end test).

Each ``code`` is appended to the answer cell that defines its function, so the
buggy definition replaces the correct one. ``loses`` lists the grade_ids that
must get less than full marks (every other graded cell keeps full marks);
``message`` is a substring that the error output of each of those cells must
contain (a dict gives one substring per grade_id).
"""

ASSIGNMENT = "ps2_dropout"
NOTEBOOK = "dropout"

_VALIDATE = '''
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(float)
    if not 0.0 <= rate < 1.0 or np.isnan(x).any():
        raise ValueError("invalid arguments")
'''


def _forward(body: str) -> str:
    return "def dropout_forward(x, rate, training, rng):" + _VALIDATE + body


MISCONCEPTIONS = [
    dict(name="no_rescaling",
         code=_forward('''
    if not training:
        return x, None
    mask = dropout_mask(x.shape, rate, rng)
    return (x * mask).astype(x.dtype), mask  # drop units, keep the others as they are
'''),
         loses=["dropout_forward_scaling"],
         message="not rescaled"),
    dict(name="keep_probability_used_as_drop_probability",
         code='''
def dropout_mask(shape, rate, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError("rate must be in [0, 1)")
    return (rng.random(shape) < rate).astype(np.float64)  # "keep with probability rate"
''',
         # dropout_forward calls the student's mask, so it inherits the mistake (at rate 0 it drops everything).
         loses=["dropout_mask_values", "dropout_mask_properties", "dropout_forward_scaling",
                "dropout_forward_edge_cases"],
         message={"dropout_mask_values": "drop probability", "dropout_mask_properties": "drop probability",
                  "dropout_forward_scaling": "drop probability", "dropout_forward_edge_cases": "rate=0"}),
    dict(name="mask_drawn_as_u_ge_rate",
         code='''
def dropout_mask(shape, rate, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError("rate must be in [0, 1)")
    return (rng.random(shape) >= rate).astype(np.float64)  # right probability, other draw
''',
         loses=["dropout_mask_values", "dropout_forward_scaling"],
         message="different draw"),
    dict(name="mask_from_global_generator",
         code='''
def dropout_mask(shape, rate, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError("rate must be in [0, 1)")
    return (np.random.random(shape) < 1 - rate).astype(np.float64)  # ignores rng
''',
         loses=["dropout_mask_values", "dropout_mask_properties", "dropout_forward_scaling"],
         message="np.random"),
    dict(name="dropout_active_at_inference",
         code=_forward('''
    mask = dropout_mask(x.shape, rate, rng)  # the same in training and at inference
    return (x * mask / (1 - rate)).astype(x.dtype), mask
'''),
         loses=["dropout_forward_inference"],
         message="training=False"),
    dict(name="inference_scaled_by_keep_probability",
         code=_forward('''
    if not training:
        return (x * (1 - rate)).astype(x.dtype), None  # as in the original (non-inverted) dropout paper
    mask = dropout_mask(x.shape, rate, rng)
    return (x * mask / (1 - rate)).astype(x.dtype), mask
'''),
         loses=["dropout_forward_inference"],
         message="non-inverted"),
    dict(name="backward_without_rescaling",
         code='''
def dropout_backward(dout, mask, rate):
    dout = np.asarray(dout, dtype=float)
    if not 0.0 <= rate < 1.0:
        raise ValueError("rate must be in [0, 1)")
    if mask is None:
        return dout
    if np.shape(mask) != dout.shape:
        raise ValueError("shapes differ")
    return dout * mask  # dropped units get no gradient
''',
         loses=["dropout_backward_values"],
         message="not rescaled"),
]
