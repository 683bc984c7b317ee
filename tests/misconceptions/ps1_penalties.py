"""Buggy-but-reasonable submissions for ps1_penalties (data for the nbgrader end-to-end test).

Each ``code`` is appended to the answer cell that defines its function, so the
buggy definition replaces the correct one (helpers of the solution, such as
``_as_arrays``, stay available). ``loses`` lists the grade_ids that must get
less than full marks (every other graded cell keeps full marks); ``message`` is
a substring that the error output of each of those cells must contain (a dict
gives one substring per grade_id).
"""

ASSIGNMENT = "ps1_penalties"
NOTEBOOK = "penalties"

MISCONCEPTIONS = [
    dict(name="l2_with_half_factor",
         code='''
def l2_penalty(weights, lam):
    if lam < 0:
        raise ValueError("lam must be non-negative")
    # the textbook convention 1/2 * lam * ||w||^2
    return float(0.5 * lam * sum(np.sum(w ** 2) for w in _as_arrays(weights)))
''',
         loses=["l2_penalty_values"],
         message="no factor 1/2"),
    dict(name="l2_gradient_without_2",
         code='''
def penalty_grad(w, l1=0.0, l2=0.0):
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(float)
    if l1 < 0 or l2 < 0 or np.isnan(w).any():
        raise ValueError("invalid arguments")
    return (l1 * np.sign(w) + l2 * w).astype(w.dtype)  # the 2 of d(w**2)/dw is missing
''',
         loses=["penalty_grad_values"],
         message="factor 2"),
    dict(name="l1_gradient_not_zero_at_zero",
         code='''
def penalty_grad(w, l1=0.0, l2=0.0):
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(float)
    if l1 < 0 or l2 < 0 or np.isnan(w).any():
        raise ValueError("invalid arguments")
    sign = np.where(w >= 0, 1.0, -1.0)  # "the derivative of |w| is +1 for w >= 0"
    return (l1 * sign + 2 * l2 * w).astype(w.dtype)
''',
         loses=["penalty_grad_at_zero"],
         message="At w = 0"),
    dict(name="soft_threshold_without_clipping",
         code='''
def soft_threshold(w, t):
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(float)
    if t < 0 or np.isnan(w).any():
        raise ValueError("invalid arguments")
    return (w - t * np.sign(w)).astype(w.dtype)  # move every entry t towards zero
''',
         # ISTA with this "proximal step" oscillates around zero instead of landing on it.
         loses=["soft_threshold_exact_zeros", "lasso_ista"],
         message={"soft_threshold_exact_zeros": "overshoot past zero", "lasso_ista": "ISTA as specified reaches"}),
    dict(name="hard_thresholding",
         code='''
def soft_threshold(w, t):
    w = np.asarray(w)
    if not np.issubdtype(w.dtype, np.floating):
        w = w.astype(float)
    if t < 0 or np.isnan(w).any():
        raise ValueError("invalid arguments")
    return np.where(np.abs(w) > t, w, 0.0).astype(w.dtype)  # zero the small entries
''',
         loses=["soft_threshold_values", "lasso_ista"],
         message={"soft_threshold_values": "hard thresholding", "lasso_ista": "ISTA as specified reaches"}),
    dict(name="ista_threshold_without_step_size",
         code='''
def lasso_ista(X, y, lam, n_steps=500):
    n = len(y)
    lr = n / (2 * np.linalg.norm(X, 2) ** 2)
    w = np.zeros(X.shape[1])
    for _ in range(n_steps):
        w = soft_threshold(w - lr * 2 * X.T @ (X @ w - y) / n, lam)  # threshold lam instead of lr * lam
    return w
''',
         loses=["lasso_ista"],
         message="ISTA as specified reaches"),
]
