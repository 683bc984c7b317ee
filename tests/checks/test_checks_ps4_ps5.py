"""Fast unit tests of the hidden-test checks of ps4 (NumPy) and ps5 (Keras); no nbgrader, no kernel.

The checks are called in-process on the solution notebook's own functions, on the
reference implementation, on unimplemented stubs, on the misconceptions of
``tests/misconceptions/`` and on further buggy variants; a few go through
``run_check`` to exercise the worker process. Everything that imports TensorFlow
is marked ``keras``.
"""
from __future__ import annotations

import numpy as np
import pytest

import graders
from graders.checks import CheckFailed, run_check
from graders.checks._framework import resolve

from nbgrader_course import SOLUTIONS, assert_loses_exactly_its_cells, misconception_modules, run_all_checks, \
    solution_namespace, source_notebook, visible_failures

MISCONCEPTIONS = misconception_modules()
PS4, PS5 = "ps4_batchnorm", "ps5_keras"

_CACHE: dict = {}


def _namespace(assignment) -> dict:
    """The solution's functions, executed once per session (TensorFlow is slow to import)."""
    key = ("namespace", assignment)
    if key not in _CACHE:
        _CACHE[key] = solution_namespace(source_notebook(assignment), SOLUTIONS / assignment)
    return dict(_CACHE[key])


def _stubbed(namespace, names):
    def stub(*args, **kwargs):
        raise NotImplementedError()

    return {**namespace, **{n: stub for n in names}}


PS4_FUNCTIONS = ["batchnorm_forward", "batchnorm_backward"]
PS5_FUNCTIONS = ["build_regularized_model", "build_dropout_model", "build_batchnorm_model",
                 "train_with_early_stopping"]
keras_mark = pytest.mark.keras


# --------------------------------------------------------------------------- #
# Both assignments: the notebook's graded cells, the solution, stubs, misconceptions
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("assignment", [PS4, pytest.param(PS5, marks=keras_mark)])
def test_solution_passes_every_check_and_visible_test(assignment):
    namespace = _namespace(assignment)
    results = run_all_checks(assignment, namespace)
    assert {k: v for k, v in results.items() if v} == {}
    assert visible_failures(assignment, namespace) == {}


def test_reference_implementation_passes_every_ps4_check():
    """The checks compare with graders; graders itself must pass them (sanity of the checks)."""
    namespace = {name: getattr(graders, name) for name in PS4_FUNCTIONS}
    assert {k: v for k, v in run_all_checks(PS4, namespace).items() if v} == {}


@pytest.mark.parametrize("assignment,names", [(PS4, PS4_FUNCTIONS),
                                              pytest.param(PS5, PS5_FUNCTIONS, marks=keras_mark)])
def test_unimplemented_stubs_fail_every_check_with_a_clear_message(assignment, names):
    for grade_id, message in run_all_checks(assignment, _stubbed(_namespace(assignment), names)).items():
        assert message and "not implemented yet" in message, (grade_id, message)


_CASES = [pytest.param(a, m, marks=[keras_mark] if a == PS5 else [], id=f"{a}-{m['name']}")
          for a in (PS4, PS5) if a in MISCONCEPTIONS for m in MISCONCEPTIONS[a].MISCONCEPTIONS]


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's warnings on the buggy code's 0/0
@pytest.mark.parametrize("assignment,misconception", _CASES)
def test_misconception_loses_exactly_its_cells_with_a_diagnosis(assignment, misconception):
    solution = _namespace(assignment)
    namespace = dict(solution)
    exec(compile(misconception["code"], f"<{misconception['name']}>", "exec"), namespace)
    assert_loses_exactly_its_cells(run_all_checks(assignment, namespace), misconception)
    # The visible tests run after the hidden ones; they must not fail a cell the mistake does not concern.
    changed = {k for k in namespace if k in solution and namespace[k] is not solution[k]}
    assert changed, "the misconception's code defines none of the notebook's functions"
    visible = visible_failures(assignment, namespace, only_mentioning=changed)
    assert set(visible) <= set(misconception["loses"]), visible


def test_the_required_misconceptions_exist():
    names = {m["name"] for a in (PS4, PS5) for m in MISCONCEPTIONS[a].MISCONCEPTIONS}
    for required in ("unbiased_variance", "batch_statistics_at_inference", "momentum_reversed",
                     "eps_outside_sqrt", "backward_treats_statistics_as_constants",
                     "activity_regularizer_instead_of_kernel", "dropout_omitted", "dropout_after_output_layer",
                     "batchnorm_after_activation", "early_stopping_without_restore_best_weights",
                     "early_stopping_monitors_training_loss"):
        assert required in names


def test_ps4_check_module_does_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys; import graders.checks.ps4_batchnorm; "
            "sys.exit(1 if any(m.split('.')[0] in ('tensorflow', 'keras') for m in sys.modules) else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    for cell in source_notebook(PS4).cells:
        if cell.cell_type == "code":
            for line in cell.source.splitlines():
                words = line.split()
                assert not (words[:1] in (["import"], ["from"]) and len(words) > 1
                            and words[1].split(".")[0] in ("tensorflow", "keras", "torch")), line


# --------------------------------------------------------------------------- #
# ps4: more buggy variants, each must fail one check with a diagnosis
# --------------------------------------------------------------------------- #
def _forward_variant(replace: str, by: str):
    """The solution's batchnorm_forward with one line of its source changed."""
    namespace = _namespace(PS4)
    source = next(c.source for c in source_notebook(PS4).cells
                  if c.cell_type == "code" and c.source.lstrip().startswith("def batchnorm_forward"))
    assert replace in source, replace
    code = source.replace(replace, by).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", "")
    exec(compile(code, "<variant>", "exec"), namespace)
    return namespace["batchnorm_forward"]


@pytest.mark.parametrize("replace,by,check,message", [
    ("inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / np.sqrt(var)", "forward_training", "leave eps out"),
    ("inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / (var + eps)", "forward_training",
     "instead of its square root"),
    ("out = gamma * x_hat + beta", "out = x_hat", "forward_training", "gamma * x_hat + beta"),
    ("out = gamma * x_hat + beta", "out = beta * x_hat + gamma", "forward_training", "swapped gamma and beta"),
    ("new_mean = momentum * running_mean + (1 - momentum) * mean", "new_mean = mean",
     "forward_running_stats", "blend it with the old value"),
    ("mean = running_mean.astype(np.float64)\n        var = running_var.astype(np.float64)",
     "mean = x64.mean(axis=axes)\n        var = x64.var(axis=axes, ddof=1)", "forward_inference", "batch statistics"),
    ("new_mean, new_var = running_mean.copy(), running_var.copy()",
     "new_mean = momentum * running_mean + (1 - momentum) * x64.mean(axis=axes)\n"
     "        new_var = running_var.copy()", "forward_inference", "must not change"),
    ("return (out.astype(x.dtype),", "return (out,", "forward_edge_cases", "float32"),
    ("axes = tuple(range(x.ndim - 1))", "axes = 0", "forward_edge_cases", "every axis but the last"),
    ("if np.isnan(x).any():", "if False:", "forward_edge_cases", "NaN"),
])
def test_ps4_forward_variants_fail_with_a_diagnosis(replace, by, check, message):
    forward = _forward_variant(replace, by)
    with pytest.raises(CheckFailed) as info:
        resolve(f"{PS4}:{check}")(forward)
    assert message in str(info.value), str(info.value)


def _backward_from(dx_expression: str, dgamma="(d64 * x_hat).sum(axis=axes)", dbeta="d64.sum(axis=axes)",
                   cast=True):
    code = f'''
def batchnorm_backward(dout, cache):
    dout = np.asarray(dout)
    x_hat, gamma, inv_std = cache["x_hat"], cache["gamma"], cache["inv_std"]
    axes = tuple(range(dout.ndim - 1))
    m = dout.size // dout.shape[-1]
    d64 = dout.astype(np.float64)
    dbeta, dgamma = {dbeta}, {dgamma}
    if cache["training"]:
        dx = {dx_expression}
    else:
        dx = gamma * inv_std * d64
    return (dx.astype(dout.dtype) if {cast} else dx), dgamma, dbeta
'''
    namespace = {"np": np}
    exec(code, namespace)
    return namespace["batchnorm_backward"]


CORRECT_DX = "gamma * inv_std / m * (m * d64 - d64.sum(axis=axes) - x_hat * (d64 * x_hat).sum(axis=axes))"


@pytest.mark.parametrize("backward,check,message", [
    (_backward_from("gamma * inv_std * (d64 - d64.sum(axis=axes) / m)"), "backward_training", "not the one through the batch variance"),
    (_backward_from("gamma * inv_std * (d64 - x_hat * (d64 * x_hat).sum(axis=axes) / m)"), "backward_training",
     "not the one through the batch mean"),
    (_backward_from("inv_std / m * (m * d64 - d64.sum(axis=axes) - x_hat * (d64 * x_hat).sum(axis=axes))"),
     "backward_training", "forgets the factor gamma"),
    (_backward_from(CORRECT_DX, dgamma="(d64 * x_hat).sum(axis=0)", dbeta="d64.sum(axis=0)"),
     "backward_training", "shape"),
    (_backward_from(CORRECT_DX, cast=False), "backward_inference", "float32"),
])
def test_ps4_backward_variants_fail_with_a_diagnosis(backward, check, message):
    with pytest.raises(CheckFailed) as info:
        resolve(f"{PS4}:{check}")(backward)
    assert message in str(info.value), str(info.value)


def test_ps4_backward_training_formula_applied_at_inference_is_diagnosed():
    namespace = {"np": np}
    exec('''
def batchnorm_backward(dout, cache):
    x_hat, gamma, inv_std = cache["x_hat"], cache["gamma"], cache["inv_std"]
    axes = tuple(range(dout.ndim - 1))
    m = dout.size // dout.shape[-1]
    dx = gamma * inv_std / m * (m * dout - dout.sum(axis=axes) - x_hat * (dout * x_hat).sum(axis=axes))
    return dx.astype(dout.dtype), (dout * x_hat).sum(axis=axes), dout.sum(axis=axes)
''', namespace)
    resolve(f"{PS4}:backward_training")(namespace["batchnorm_backward"])
    with pytest.raises(CheckFailed, match="training-mode gradient"):
        resolve(f"{PS4}:backward_inference")(namespace["batchnorm_backward"])


def test_ps4_run_check_in_a_worker():
    namespace = _namespace(PS4)
    assert "Keras" in run_check(f"{PS4}:forward_training", namespace["batchnorm_forward"])
    buggy = _forward_variant("inv_std = 1.0 / np.sqrt(var + eps)", "inv_std = 1.0 / (np.sqrt(var) + eps)")
    with pytest.raises(AssertionError, match="inside the square root"):
        run_check(f"{PS4}:forward_training", buggy)


def test_ps4_run_check_refuses_the_reference_implementation():
    with pytest.raises(AssertionError, match="reference implementation"):
        run_check(f"{PS4}:backward_training", graders.batchnorm_backward)


# --------------------------------------------------------------------------- #
# ps5: more variants (accepted and rejected)
# --------------------------------------------------------------------------- #
def _ps5(code: str) -> dict:
    namespace = _namespace(PS5)
    exec(compile(code, "<variant>", "exec"), namespace)
    return namespace


_PS5_ACCEPTED = {
    "functional API, separate activation layers": ("regularized_model", "build_regularized_model", '''
def build_regularized_model(input_dim, num_classes, l1=0.0, l2=0.0):
    inputs = keras.Input(shape=(input_dim,))
    h = layers.Dense(128, kernel_regularizer=keras.regularizers.l1_l2(l1=l1, l2=l2))(inputs)
    h = layers.ReLU()(h)
    out = layers.Dense(num_classes, kernel_regularizer=keras.regularizers.L1L2(l1, l2))(h)
    out = layers.Activation("softmax")(out)
    model = keras.Model(inputs, out)
    model.compile(optimizer=keras.optimizers.Adam(), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    return model
'''),
    "batch norm without a bias, softmax as its own layer": ("batchnorm_model", "build_batchnorm_model", '''
def build_batchnorm_model(input_dim, num_classes):
    model = keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dense(128, use_bias=False),
                              layers.BatchNormalization(), layers.ReLU(), layers.Dense(num_classes),
                              layers.Softmax()])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
'''),
    "early stopping with explicit defaults and a positional callbacks list": (
        "early_stopping", "train_with_early_stopping", '''
def train_with_early_stopping(model, X_train, y_train, X_val, y_val, patience=3, max_epochs=100):
    cb = keras.callbacks.EarlyStopping("val_loss", min_delta=0, patience=patience, mode="min",
                                       restore_best_weights=True)
    return model.fit(X_train, y_train, 32, max_epochs, 0, [cb], validation_data=(X_val, y_val))
'''),
}


@keras_mark
@pytest.mark.parametrize("name", list(_PS5_ACCEPTED))
def test_ps5_accepts_equivalent_answers(name):
    check, function, code = _PS5_ACCEPTED[name]
    resolve(f"{PS5}:{check}")(_ps5(code)[function])


_REG = "def build_regularized_model(input_dim, num_classes, l1=0.0, l2=0.0):\n"
_TRAIN = "def train_with_early_stopping(model, X_train, y_train, X_val, y_val, patience=3, max_epochs=100):\n"
_SEQ = "    model = keras.Sequential([keras.Input(shape=(input_dim,)), {hidden}, {output}])\n"
_COMPILE = '    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")\n    return model\n'


def _reg(hidden, output, compile_=_COMPILE):
    return _REG + _SEQ.format(hidden=hidden, output=output) + compile_


_PS5_REJECTED = {
    "l2 only": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L2(l2))',
        'layers.Dense(num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L2(l2))'),
        "ignores l1"),
    "l1 and l2 swapped": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1=l2, l2=l1))',
        'layers.Dense(num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(l1=l2, l2=l1))'),
        "swapped l1 and l2"),
    "half l2": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1, l2 / 2))',
        'layers.Dense(num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(l1, l2 / 2))'),
        "factor 1/2"),
    "only the hidden layer regularised": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1, l2))',
        'layers.Dense(num_classes, activation="softmax")'), "no kernel_regularizer"),
    "bias regularizer": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1, l2), '
        'bias_regularizer=keras.regularizers.L2(l2))',
        'layers.Dense(num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(l1, l2))'),
        "bias_regularizer"),
    "one-hot loss": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1, l2))',
        'layers.Dense(num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(l1, l2))',
        '    model.compile(optimizer="adam", loss="categorical_crossentropy")\n    return model\n'),
        "sparse"),
    "not compiled": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1, l2))',
        'layers.Dense(num_classes, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(l1, l2))',
        "    return model\n"), "not compiled"),
    "hard-coded 10 classes": ("regularized_model", "build_regularized_model", _reg(
        'layers.Dense(128, activation="relu", kernel_regularizer=keras.regularizers.L1L2(l1, l2))',
        'layers.Dense(10, activation="softmax", kernel_regularizer=keras.regularizers.L1L2(l1, l2))'),
        "expected"),
    "no input shape": ("dropout_model", "build_dropout_model", '''
def build_dropout_model(input_dim, num_classes, rate=0.5):
    model = keras.Sequential([layers.Dense(128, activation="relu"), layers.Dropout(rate),
                              layers.Dense(num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
''', "keras.Input(shape=(input_dim,))"),
    "dropout on the inputs": ("dropout_model", "build_dropout_model", '''
def build_dropout_model(input_dim, num_classes, rate=0.5):
    model = keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dropout(rate),
                              layers.Dense(128, activation="relu"), layers.Dense(num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
''', "drops input pixels"),
    "fixed dropout rate": ("dropout_model", "build_dropout_model", '''
def build_dropout_model(input_dim, num_classes, rate=0.5):
    model = keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dense(128, activation="relu"),
                              layers.Dropout(0.5), layers.Dense(num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
''', "should be the `rate` argument"),
    "BN after an Activation layer": ("batchnorm_model", "build_batchnorm_model", '''
def build_batchnorm_model(input_dim, num_classes):
    model = keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dense(128), layers.Activation("relu"),
                              layers.BatchNormalization(), layers.Dense(num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
''', "after the activation"),
    "BN without its activation": ("batchnorm_model", "build_batchnorm_model", '''
def build_batchnorm_model(input_dim, num_classes):
    model = keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dense(128), layers.BatchNormalization(),
                              layers.Dense(num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
''', "Activation('relu')"),
    "BN momentum changed": ("batchnorm_model", "build_batchnorm_model", '''
def build_batchnorm_model(input_dim, num_classes):
    model = keras.Sequential([keras.Input(shape=(input_dim,)), layers.Dense(128),
                              layers.BatchNormalization(momentum=0.9), layers.Activation("relu"),
                              layers.Dense(num_classes, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model
''', "defaults"),
    "epochs hard-coded": ("early_stopping", "train_with_early_stopping", _TRAIN + '''
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    return model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=100, callbacks=[cb], verbose=0)
''', "epochs=max_epochs"),
    "patience hard-coded": ("early_stopping", "train_with_early_stopping", _TRAIN + '''
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    return model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=max_epochs, callbacks=[cb], verbose=0)
''', "pass patience=patience"),
    "validation_split": ("early_stopping", "train_with_early_stopping", _TRAIN + '''
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    return model.fit(X_train, y_train, validation_split=0.2, epochs=max_epochs, callbacks=[cb], verbose=0)
''', "validation_split"),
    "no callback": ("early_stopping", "train_with_early_stopping", _TRAIN + '''
    return model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=max_epochs, verbose=0)
''', "without a keras.callbacks.EarlyStopping"),
    "returns the model": ("early_stopping", "train_with_early_stopping", _TRAIN + '''
    cb = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=max_epochs, callbacks=[cb], verbose=0)
    return model
''', "History"),
    "swallows the check's complaint": ("early_stopping", "train_with_early_stopping", _TRAIN + '''
    cb = keras.callbacks.EarlyStopping(monitor="loss", patience=patience, restore_best_weights=True)
    try:
        return model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=max_epochs, callbacks=[cb])
    except Exception:
        return keras.callbacks.History()
''', "'val_loss'"),
    "weights not restored (behaviour)": ("early_stopping", "train_with_early_stopping", _TRAIN + '''
    class Stopper(keras.callbacks.EarlyStopping):
        def on_train_end(self, logs=None):  # claims to restore, never does
            pass
    cb = Stopper(monitor="val_loss", patience=patience, restore_best_weights=True)
    return model.fit(X_train, y_train, validation_data=(X_val, y_val), epochs=max_epochs, callbacks=[cb], verbose=0)
''', "weights of the last epoch"),
}


@keras_mark
@pytest.mark.parametrize("name", list(_PS5_REJECTED))
def test_ps5_rejects_buggy_answers_with_a_diagnosis(name):
    check, function, code, message = _PS5_REJECTED[name]
    with pytest.raises(CheckFailed) as info:
        resolve(f"{PS5}:{check}")(_ps5(code)[function])
    assert message in str(info.value), str(info.value)


@keras_mark
def test_ps5_run_check_in_a_worker():
    namespace = _namespace(PS5)
    assert "Dropout(rate)" in run_check(f"{PS5}:dropout_model", namespace["build_dropout_model"])
    buggy = _ps5(MISCONCEPTIONS[PS5].MISCONCEPTIONS[
        [m["name"] for m in MISCONCEPTIONS[PS5].MISCONCEPTIONS].index("batchnorm_after_activation")]["code"])
    with pytest.raises(AssertionError, match="after the activation"):
        run_check(f"{PS5}:batchnorm_model", buggy["build_batchnorm_model"])


@keras_mark
def test_the_check_server_can_keep_tensorflow_loaded_and_still_fork():
    """The check server forks each check from a template process, which is safe only while
    that process has a single thread. With the thread settings the server runs under,
    importing TensorFlow and the ps5 checks must start no thread (else the server falls back
    to a new process per check, which costs 4 CPU-seconds of TensorFlow import each time)."""
    import os
    import subprocess
    import sys

    from graders.runtime.guard import SINGLE_THREAD_ENV

    code = ("import os; import numpy, cloudpickle, graders, graders.checks.ps5_keras; "
            "print(len(os.listdir('/proc/self/task')))")
    env = {**os.environ, **SINGLE_THREAD_ENV, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "1", out.stdout


def test_checks_also_run_in_a_new_process_when_the_server_cannot_fork():
    """The fallback path of the check server (a new ``python -I`` process per check)."""
    import os

    import cloudpickle

    from graders.checks._server import run_in_new_process

    namespace = _namespace(PS4)
    ok = run_in_new_process(f"{PS4}:forward_training", cloudpickle.dumps((namespace["batchnorm_forward"],)), 60)
    assert ok["passed"] and "Keras" in ok["message"], ok

    def exits(*args, **kwargs):
        os._exit(3)

    crashed = run_in_new_process(f"{PS4}:forward_training", cloudpickle.dumps((exits,)), 60)
    assert not crashed["passed"] and "exit code 3" in crashed["message"], crashed

    def hangs(*args, **kwargs):
        while True:
            pass

    hung = run_in_new_process(f"{PS4}:forward_training", cloudpickle.dumps((hangs,)), 3)
    assert not hung["passed"] and "did not finish within 3 s" in hung["message"], hung
