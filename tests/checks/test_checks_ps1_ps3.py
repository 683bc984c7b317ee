"""Fast unit tests of the hidden-test checks of ps1–ps3 (no nbgrader, no kernel).

The checks are called in-process on the solution notebook's own functions and on
the misconceptions of ``tests/misconceptions/``; a few go through ``run_check``
to exercise the worker process and its defences.
"""
from __future__ import annotations

import os

import numpy as np
import pytest

import graders
from graders.checks import run_check
from graders.checks._framework import REGISTRY, _check_server, resolve, stop_check_server

from nbgrader_course import assert_loses_exactly_its_cells, graded_cells, misconception_modules, run_all_checks, \
    solution_namespace, source_notebook, visible_failures

ASSIGNMENTS = ["ps1_penalties", "ps2_dropout", "ps3_early_stopping"]
MISCONCEPTIONS = misconception_modules()


@pytest.mark.parametrize("assignment", ASSIGNMENTS + ["ps4_batchnorm",
                                                   pytest.param("ps5_keras", marks=pytest.mark.keras)])
def test_every_graded_cell_calls_registered_checks(assignment):
    """For every assignment (ps4/ps5 included): each graded cell calls registered checks."""
    cells = graded_cells(source_notebook(assignment))
    assert cells, "no graded cells"
    used = set()
    for grade_id, cell in cells.items():
        assert cell["checks"], f"{grade_id} has no hidden run_check call"
        assert 1 <= cell["points"] <= 2, f"{grade_id}: {cell['points']} points"
        for check_id, _ in cell["checks"]:
            assert resolve(check_id)
            used.add(check_id)
    registered = {k for k in REGISTRY if k.startswith(assignment + ":")}
    assert registered == used, f"registered but never used: {registered - used}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_solution_passes_every_check_and_visible_test(assignment):
    namespace = solution_namespace(source_notebook(assignment))
    results = run_all_checks(assignment, namespace)
    assert {k: v for k, v in results.items() if v} == {}
    assert visible_failures(assignment, namespace) == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_implementation_passes_every_check(assignment):
    """The checks compare with graders; graders itself must pass them (sanity of the checks)."""
    namespace = {name: getattr(graders, name) for name in graders.__all__}
    if assignment == "ps1_penalties":
        namespace["lasso_ista"] = solution_namespace(source_notebook(assignment))["lasso_ista"]
    results = run_all_checks(assignment, namespace)
    assert {k: v for k, v in results.items() if v} == {}


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_unimplemented_stubs_fail_every_check_with_a_clear_message(assignment):
    namespace = solution_namespace(source_notebook(assignment))

    def stub(*args, **kwargs):
        raise NotImplementedError()

    for key in list(namespace):
        if callable(namespace[key]) and not key.startswith("_") and not isinstance(namespace[key], type(np)):
            namespace[key] = stub
    for grade_id, message in run_all_checks(assignment, namespace).items():
        assert message and "not implemented yet" in message, (grade_id, message)


_CASES = [(m.ASSIGNMENT, mis) for m in MISCONCEPTIONS.values() if m.ASSIGNMENT in ASSIGNMENTS
          for mis in m.MISCONCEPTIONS]


@pytest.mark.parametrize("assignment,misconception", _CASES,
                         ids=[f"{a}-{m['name']}" for a, m in _CASES])
def test_misconception_loses_exactly_its_cells_with_a_diagnosis(assignment, misconception):
    namespace = solution_namespace(source_notebook(assignment))
    exec(compile(misconception["code"], f"<{misconception['name']}>", "exec"), namespace)
    assert_loses_exactly_its_cells(run_all_checks(assignment, namespace), misconception)
    # The visible tests run after the hidden ones; they must not fail a cell the mistake does not concern.
    visible = visible_failures(assignment, namespace)
    assert set(visible) <= set(misconception["loses"]), visible


# More mistakes, checked in-process only (the nbgrader end-to-end test runs the ones in
# tests/misconceptions/, each a whole notebook to autograde).
_EXTRA = [
    ("ps1_penalties", dict(name="l1_mean_instead_of_sum", code='''
def l1_penalty(weights, lam):
    if lam < 0:
        raise ValueError("lam must be non-negative")
    return float(lam * sum(np.mean(np.abs(w)) for w in _as_arrays(weights)))
''', loses=["l1_penalty_values"], message="not the mean")),
    ("ps1_penalties", dict(name="validation_with_assert", code='''
def l1_penalty(weights, lam):
    assert lam >= 0, "lam must be non-negative"
    return float(lam * sum(np.abs(w).sum() for w in _as_arrays(weights)))
''', loses=["l1_penalty_validation"], message="but it raised AssertionError")),
    ("ps1_penalties", dict(name="l2_with_square_root", code='''
def l2_penalty(weights, lam):
    if lam < 0:
        raise ValueError("lam must be non-negative")
    return float(lam * np.sqrt(sum(np.sum(w ** 2) for w in _as_arrays(weights))))
''', loses=["l2_penalty_values", "l2_penalty_lists"],
        message={"l2_penalty_values": "without a square root", "l2_penalty_lists": "the sum over all arrays"})),
    ("ps1_penalties", dict(name="list_of_arrays_not_supported", code='''
def l1_penalty(weights, lam):
    w = np.asarray(weights, dtype=float)
    if lam < 0 or np.isnan(w).any():
        raise ValueError("invalid arguments")
    return float(lam * np.abs(w).sum())
''', loses=["l1_penalty_lists"], message="different shapes")),
    ("ps1_penalties", dict(name="float32_gradient_promoted", code='''
def penalty_grad(w, l1=0.0, l2=0.0):
    w = np.asarray(w, dtype=float)
    if l1 < 0 or l2 < 0 or np.isnan(w).any():
        raise ValueError("invalid arguments")
    return l1 * np.sign(w) + 2 * l2 * w
''', loses=["penalty_grad_dtype_validation"], message="keep the dtype")),
    ("ps2_dropout", dict(name="mask_scaled_in_dropout_mask", code='''
def dropout_mask(shape, rate, rng):
    if not 0.0 <= rate < 1.0:
        raise ValueError("rate must be in [0, 1)")
    return (rng.random(shape) < 1 - rate) / (1 - rate)
''', loses=["dropout_mask_values", "dropout_mask_properties", "dropout_forward_scaling"],
        message={"dropout_mask_properties": "only 0 (dropped) and 1 (kept)"})),
    ("ps2_dropout", dict(name="inference_returns_a_mask", code='''
def dropout_forward(x, rate, training, rng):
    x = np.asarray(x)
    if not 0.0 <= rate < 1.0 or np.isnan(x).any():
        raise ValueError("invalid arguments")
    if not training:
        return x, np.ones_like(x)
    mask = dropout_mask(x.shape, rate, rng)
    return (x * mask / (1 - rate)).astype(x.dtype), mask
''', loses=["dropout_forward_inference"], message="return (x, None)")),
    ("ps3_early_stopping", dict(name="patience_as_a_float_accepted", code='''
def early_stopping(val_losses, patience, min_delta=0.0):
    losses = np.asarray(val_losses, dtype=float)
    if losses.ndim != 1 or np.isnan(losses).any() or patience < 0 or min_delta < 0:
        raise ValueError("invalid arguments")
    best, best_epoch, wait = np.inf, None, 0
    for epoch, loss in enumerate(losses):
        if loss + min_delta < best or best_epoch is None:
            best, best_epoch, wait = loss, epoch, 0
            continue
        wait += 1
        if wait >= max(patience, 1):
            return epoch, best_epoch
    return None, best_epoch
''', loses=["early_stopping_edge_cases"], message="patience must be an integer")),
]


@pytest.mark.parametrize("assignment,misconception", _EXTRA, ids=[f"{a}-{m['name']}" for a, m in _EXTRA])
def test_more_mistakes_are_diagnosed(assignment, misconception):
    test_misconception_loses_exactly_its_cells_with_a_diagnosis(assignment, misconception)


def test_at_least_the_required_misconceptions_exist():
    names = {m["name"] for a in ASSIGNMENTS for m in MISCONCEPTIONS[a].MISCONCEPTIONS}
    for required in ("no_rescaling", "keep_probability_used_as_drop_probability", "dropout_active_at_inference",
                     "l2_with_half_factor", "l1_gradient_not_zero_at_zero", "patience_off_by_one",
                     "min_delta_ignored"):
        assert required in names


# --------------------------------------------------------------------------- #
# Through the worker process
# --------------------------------------------------------------------------- #
def _solution(assignment, name):
    return solution_namespace(source_notebook(assignment))[name]


def test_run_check_passes_a_correct_function_in_a_worker():
    message = run_check("ps3_early_stopping:early_stopping_patience", _solution("ps3_early_stopping", "early_stopping"))
    assert "Keras" in message


def test_run_check_reports_the_diagnosis_of_a_buggy_function():
    def l2_penalty(weights, lam):
        return 0.5 * lam * float(np.sum(np.square(weights)))

    with pytest.raises(AssertionError, match="no factor 1/2"):
        run_check("ps1_penalties:l2_penalty_values", l2_penalty)


def test_run_check_ignores_numpy_patched_in_the_notebook(monkeypatch):
    def dropout_backward(dout, mask, rate):
        return np.zeros_like(dout)

    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    monkeypatch.setattr(np, "array_equal", lambda *a, **k: True)
    monkeypatch.setattr(np.testing, "assert_allclose", lambda *a, **k: None)
    with pytest.raises(AssertionError, match="wrong values"):
        run_check("ps2_dropout:dropout_backward_values", dropout_backward)


@pytest.mark.parametrize("how", ["object", "wrapper", "module"])
def test_run_check_refuses_the_reference_implementation(how):
    if how == "object":
        answer = graders.early_stopping
    elif how == "wrapper":
        from graders import early_stopping as _ref

        def answer(val_losses, patience, min_delta=0.0):
            return _ref(val_losses, patience, min_delta)
    else:
        def answer(val_losses, patience, min_delta=0.0):
            return graders.early_stopping(val_losses, patience, min_delta)
    with pytest.raises(AssertionError, match="reference implementation"):
        run_check("ps3_early_stopping:early_stopping_edge_cases", answer)


def test_worker_ignores_files_planted_in_the_working_directory(tmp_path, monkeypatch):
    """A notebook could write numpy.py or a fake graders/ next to itself; the worker runs isolated."""
    (tmp_path / "numpy.py").write_text("raise SystemExit('planted numpy imported')\n")
    (tmp_path / "graders").mkdir()
    (tmp_path / "graders" / "__init__.py").write_text("raise SystemExit('planted graders imported')\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    stop_check_server()  # the next check starts a server here, next to the planted files
    message = run_check("ps3_early_stopping:early_stopping_edge_cases", _solution("ps3_early_stopping", "early_stopping"))
    assert "ValueError" in message


def test_run_check_survives_functions_that_print_exit_or_hang():
    def prints_a_fake_result(val_losses, patience, min_delta=0.0):
        print('{"passed": true, "message": "fake"}')
        return None, None

    with pytest.raises(AssertionError, match="expected"):
        run_check("ps3_early_stopping:early_stopping_edge_cases", prints_a_fake_result)

    def exits(val_losses, patience, min_delta=0.0):
        os._exit(0)

    with pytest.raises(AssertionError, match="could not run your function"):
        run_check("ps3_early_stopping:early_stopping_edge_cases", exits)

    def hangs(val_losses, patience, min_delta=0.0):
        while True:
            pass

    with pytest.raises(AssertionError, match="did not finish"):
        run_check("ps3_early_stopping:early_stopping_edge_cases", hangs, timeout=5)


def test_a_check_cannot_tamper_with_the_next_one():
    """Each check runs in its own child of the check server: patches made by one student
    function (to NumPy, to the references, to the checks) are gone for the next check."""
    def early_stopping(val_losses, patience, min_delta=0.0):
        import numpy
        import graders
        numpy.allclose = lambda *a, **k: True
        graders.early_stopping = lambda *a, **k: (None, None)
        raise ValueError("tampered")

    with pytest.raises(AssertionError):
        run_check("ps3_early_stopping:early_stopping_patience", early_stopping)
    correct = _solution("ps3_early_stopping", "early_stopping")
    assert "Keras" in run_check("ps3_early_stopping:early_stopping_patience", correct)

    def wrong(val_losses, patience, min_delta=0.0):
        return 0, 0.0

    with pytest.raises(AssertionError):
        run_check("ps3_early_stopping:early_stopping_patience", wrong)


def test_the_check_server_is_reused_and_replaced_when_it_dies():
    correct = _solution("ps3_early_stopping", "early_stopping")
    run_check("ps3_early_stopping:early_stopping_patience", correct)
    first = _check_server()
    run_check("ps3_early_stopping:early_stopping_patience", correct)
    assert _check_server() is first, "one server per process, not one per check"
    first.kill()
    first.wait()
    assert "Keras" in run_check("ps3_early_stopping:early_stopping_patience", correct)
    assert _check_server() is not first


def test_an_interrupted_check_leaves_no_stale_reply(monkeypatch):
    """A cell timeout interrupts the kernel mid-check: the next check must get its own reply."""
    from graders.checks import _framework

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    correct = _solution("ps3_early_stopping", "early_stopping")
    with monkeypatch.context() as m:
        m.setattr(_framework.select, "select", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_check("ps3_early_stopping:early_stopping_patience", correct)

    def wrong(val_losses, patience, min_delta=0.0):
        return 0, 0.0

    with pytest.raises(AssertionError):  # not the pending "passed" reply of the interrupted check
        run_check("ps3_early_stopping:early_stopping_patience", wrong)
