"""Hidden-test checks for ps5_keras (Keras: these run in a worker that imports TensorFlow).

The builder checks inspect the returned model: the layer types and their order,
units, activations, the kernel regularizer's value against
:func:`graders.l1_penalty` + :func:`graders.l2_penalty`, the dropout rate, where
BatchNormalization sits, the input shape and the compilation. The
early-stopping checks hand the student's ``train_with_early_stopping`` a small
model (compiled by the check, with a large learning rate so that the validation
loss on the digits data has a clear minimum after a few epochs) whose ``fit``
records its arguments; they replay ``history.history['val_loss']`` through
:func:`graders.early_stopping` (which decides as Keras' ``EarlyStopping`` does)
and evaluate the returned model on the validation data to see which epoch's
weights it holds.
"""
from __future__ import annotations

import inspect

import numpy as np
from tensorflow import keras
from tensorflow.keras import layers

from graders import early_stopping, l1_penalty, l2_penalty
from graders.teaching.data import digits_split

from ._framework import CheckFailed, call_student, check

HIDDEN_UNITS = 128
# (input_dim, num_classes) pairs: the digits' shape, and another one to catch hard-coded sizes.
SIZES = [(64, 10), (20, 3)]


# --------------------------------------------------------------------------- #
# Describing a model
# --------------------------------------------------------------------------- #
def _activation_name(fn) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def _tokens(model) -> list[tuple]:
    """The model's layers (without the InputLayer) as comparable tuples."""
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if isinstance(layer, layers.Dense):
            out.append(("Dense", int(layer.units), _activation_name(layer.activation)))
        elif isinstance(layer, layers.Dropout):
            out.append(("Dropout", float(layer.rate)))
        elif isinstance(layer, layers.BatchNormalization):
            out.append(("BatchNormalization",))
        elif isinstance(layer, layers.Activation):
            out.append(("Activation", _activation_name(layer.activation)))
        elif isinstance(layer, layers.ReLU):
            out.append(("Activation", "relu"))
        elif isinstance(layer, layers.Softmax):
            out.append(("Activation", "softmax"))
        else:
            out.append((type(layer).__name__,))
    return out


def _show(tokens) -> str:
    parts = []
    for t in tokens:
        if t[0] == "Dense":
            parts.append(f"Dense({t[1]}, activation='{t[2]}')" if t[2] != "linear" else f"Dense({t[1]})")
        elif t[0] == "Dropout":
            parts.append(f"Dropout({t[1]:g})")
        elif t[0] == "Activation":
            parts.append(f"Activation('{t[1]}')")
        else:
            parts.append(f"{t[0]}()")
    return " -> ".join(parts) if parts else "(no layers)"


def _fold(tokens) -> list[tuple]:
    """Dense without activation followed by an Activation layer == Dense with that activation."""
    out = []
    for t in tokens:
        if t[0] == "Activation" and out and out[-1][0] == "Dense" and out[-1][2] == "linear":
            out[-1] = ("Dense", out[-1][1], t[1])
        else:
            out.append(t)
    return out


def _build(student, name, *args, **kwargs):
    keras.utils.set_random_seed(0)
    model = call_student(student, name, *args, **kwargs)
    shown = ", ".join([repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
    call = f"{name}({shown})"
    if model is None:
        raise CheckFailed(f"`{call}` returned None: did you forget `return model`?")
    if not isinstance(model, keras.Model):
        raise CheckFailed(f"`{call}` should return a keras.Model (e.g. keras.Sequential); "
                          f"it returned {type(model).__name__}.")
    return model, call


def _check_input_and_compile(model, call, input_dim):
    try:
        shape = tuple(model.input_shape)
    except Exception:
        raise CheckFailed(f"The model from `{call}` has no input shape, so its weights do not exist yet. "
                          "Start it with `keras.Input(shape=(input_dim,))`.") from None
    if shape != (None, input_dim):
        raise CheckFailed(f"The model from `{call}` expects inputs of shape {shape}; expected (None, {input_dim}) "
                          "(`keras.Input(shape=(input_dim,))`).")
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise CheckFailed(f"The model from `{call}` is not compiled: call `model.compile(optimizer='adam', "
                          "loss='sparse_categorical_crossentropy', metrics=['accuracy'])` before returning it.")
    if not isinstance(model.optimizer, keras.optimizers.Adam):
        raise CheckFailed(f"The model from `{call}` is compiled with {type(model.optimizer).__name__}; "
                          "the notebook asks for optimizer='adam'.")
    loss = model.loss
    ok = (loss == "sparse_categorical_crossentropy"
          or loss is keras.losses.sparse_categorical_crossentropy
          or (isinstance(loss, keras.losses.SparseCategoricalCrossentropy)
              and not loss.get_config().get("from_logits", False)))
    if not ok:
        hint = ""
        if loss == "categorical_crossentropy" or isinstance(loss, keras.losses.CategoricalCrossentropy):
            hint = (" The labels are integers (0 ... num_classes - 1), not one-hot vectors, so the loss is "
                    "the *sparse* categorical cross-entropy.")
        raise CheckFailed(f"The model from `{call}` is compiled with loss={loss!r}; expected "
                          f"'sparse_categorical_crossentropy' (on softmax probabilities).{hint}")


def _expect_layers(model, call, want, *, fold=True, hint=None):
    got = _tokens(model)
    cmp = _fold(got) if fold else got
    if cmp != want:
        message = (f"The model from `{call}` has the layers {_show(got)}; expected {_show(want)}.")
        extra = hint(got, cmp) if hint else None
        raise CheckFailed(f"{extra} ({message})" if extra else message)


def _standard_mlp(num_classes):
    return [("Dense", HIDDEN_UNITS, "relu"), ("Dense", num_classes, "softmax")]


def _generic_hint(got, folded):
    if any(t[0] == "Dense" and t[2] == "linear" for t in folded[-1:]):
        return "The output layer needs activation='softmax' (the loss expects class probabilities)."
    if folded and folded[0][0] == "Dense" and folded[0][1] != HIDDEN_UNITS:
        return f"The hidden layer should have {HIDDEN_UNITS} units."
    return None


# --------------------------------------------------------------------------- #
# build_regularized_model
# --------------------------------------------------------------------------- #
def _regularized_architecture(student_build):
    """Dense(128, relu) -> Dense(num_classes, softmax), input shape, compiled."""
    for input_dim, num_classes in SIZES:
        model, call = _build(student_build, "build_regularized_model", input_dim, num_classes, l1=1e-4, l2=1e-3)
        _expect_layers(model, call, _standard_mlp(num_classes), hint=_generic_hint)
        _check_input_and_compile(model, call, input_dim)


def _penalty_message(kernel, value, l1, l2):
    abs_sum = float(np.abs(kernel).sum())
    sq_sum = float(np.square(kernel).sum())
    candidates = [
        (l2 * abs_sum + l1 * sq_sum, "You swapped l1 and l2: L1 multiplies sum(|w|), L2 multiplies sum(w**2)."),
        (0.5 * l2 * sq_sum + l1 * abs_sum, "Your L2 term has a factor 1/2. Keras' L2(l2) is l2 * sum(w**2); "
                                          "pass l2 as given."),
        (l2 * sq_sum, "Your regularizer ignores l1: use keras.regularizers.L1L2(l1=l1, l2=l2)."),
        (l1 * abs_sum, "Your regularizer ignores l2: use keras.regularizers.L1L2(l1=l1, l2=l2)."),
    ]
    for candidate, message in candidates:
        if np.isclose(value, candidate, rtol=1e-4, atol=1e-9):
            return message
    return None


def _regularized_penalty(student_build):
    """Each Dense kernel carries l1 * sum|W| + l2 * sum W**2, and nothing else is regularised."""
    cases = [(64, 10, 0.0, 1e-3), (64, 10, 1e-4, 0.0), (20, 3, 2e-4, 5e-3), (64, 10, 0.0, 0.0)]
    for input_dim, num_classes, l1, l2 in cases:
        model, call = _build(student_build, "build_regularized_model", input_dim, num_classes, l1=l1, l2=l2)
        dense = [layer for layer in model.layers if isinstance(layer, layers.Dense)]
        if not dense:
            raise CheckFailed(f"The model from `{call}` has no Dense layer.")
        for layer in dense:
            where = f"the Dense({layer.units}) layer of `{call}`"
            if layer.activity_regularizer is not None:
                raise CheckFailed(
                    f"{where} has an activity_regularizer: that penalises the layer's *outputs* (activations), "
                    "not its weights. Weight decay / L1-L2 regularization goes on the weights: "
                    "kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2).")
            if layer.bias_regularizer is not None:
                raise CheckFailed(
                    f"{where} has a bias_regularizer. Regularise the kernel (the weight matrix) only: "
                    "kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2); the biases stay free.")
            kernel = np.asarray(layer.kernel.numpy(), dtype=np.float64)
            want = l1_penalty(kernel, l1) + l2_penalty(kernel, l2)
            reg = layer.kernel_regularizer
            if reg is None:
                if want == 0.0:
                    continue
                raise CheckFailed(
                    f"{where} has no kernel_regularizer. Pass "
                    "kernel_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2) to every Dense layer.")
            try:
                value = float(np.asarray(reg(layer.kernel)))
            except Exception as exc:
                raise CheckFailed(f"The kernel_regularizer of {where} could not be evaluated "
                                  f"({type(exc).__name__}: {exc}).") from None
            if not np.isclose(value, want, rtol=1e-4, atol=1e-9):
                hint = _penalty_message(kernel, value, l1, l2)
                detail = (f"its kernel_regularizer gives {value:.6g} on the kernel; expected "
                          f"l1 * sum(|W|) + l2 * sum(W**2) = {want:.6g} with l1={l1}, l2={l2}")
                raise CheckFailed(f"{hint} ({where}: {detail}.)" if hint else f"In {where}, {detail}.")


@check("ps5_keras:regularized_model")
def regularized_model(student_build):
    """The architecture and compilation, then the penalty on every Dense kernel.

    One check (one worker, one TensorFlow import) for the whole function: a
    TensorFlow import costs several seconds per graded cell.
    """
    _regularized_architecture(student_build)
    _regularized_penalty(student_build)
    return ("build_regularized_model builds Input -> Dense(128, relu) -> Dense(num_classes, softmax), compiled, "
            "with kernel_regularizer = L1L2(l1, l2) on every Dense kernel (and nothing on activations or biases).")


# --------------------------------------------------------------------------- #
# build_dropout_model
# --------------------------------------------------------------------------- #
@check("ps5_keras:dropout_model")
def dropout_model(student_build):
    """Dense(128, relu) -> Dropout(rate) -> Dense(num_classes, softmax)."""
    for (input_dim, num_classes), rate in [((64, 10), 0.2), ((20, 3), 0.35), ((64, 10), 0.5)]:
        model, call = _build(student_build, "build_dropout_model", input_dim, num_classes, rate=rate)
        want = [("Dense", HIDDEN_UNITS, "relu"), ("Dropout", rate), ("Dense", num_classes, "softmax")]

        def hint(got, folded, rate=rate, num_classes=num_classes):
            drops = [i for i, t in enumerate(folded) if t[0] == "Dropout"]
            if not drops:
                return ("There is no Dropout layer: put layers.Dropout(rate) between the hidden Dense layer and "
                        "the output layer.")
            if len(drops) > 1:
                return "Use exactly one Dropout layer, after the hidden Dense layer."
            i = drops[0]
            if i == len(folded) - 1:
                return ("The Dropout layer comes after the output layer: it would zero class probabilities (they "
                        "no longer sum to 1 in training). Put it between the hidden layer and the output layer.")
            if i == 0:
                return ("The Dropout layer comes before the hidden layer, so it drops input pixels. Put it after "
                        "the hidden Dense layer, between the hidden layer and the output layer.")
            got_rate = folded[i][1]
            if np.isclose(got_rate, 1 - rate) and not np.isclose(rate, 0.5):
                return (f"Dropout({got_rate:g}) drops {got_rate:.0%} of the units: Keras' `rate` is the fraction "
                        f"to DROP, not the keep probability. Pass rate={rate} as given.")
            if not np.isclose(got_rate, rate):
                return f"The Dropout rate should be the `rate` argument ({rate}); yours is {got_rate:g}."
            return _generic_hint(got, folded)

        _expect_layers(model, call, want, hint=hint)
        _check_input_and_compile(model, call, input_dim)
    return ("build_dropout_model builds Dense(128, relu) -> Dropout(rate) -> Dense(num_classes, softmax) "
            "with the rate given, compiled.")


# --------------------------------------------------------------------------- #
# build_batchnorm_model
# --------------------------------------------------------------------------- #
@check("ps5_keras:batchnorm_model")
def batchnorm_model(student_build):
    """Dense(128) -> BatchNormalization -> Activation('relu') -> Dense(num_classes, softmax)."""
    for input_dim, num_classes in SIZES:
        model, call = _build(student_build, "build_batchnorm_model", input_dim, num_classes)
        got = _tokens(model)
        # The output may be Dense(softmax) or Dense() + Activation('softmax'); the hidden part must be explicit.
        tail = _fold(got[3:]) if len(got) > 3 else got[3:]
        cmp = got[:3] + tail
        want = [("Dense", HIDDEN_UNITS, "linear"), ("BatchNormalization",), ("Activation", "relu"),
                ("Dense", num_classes, "softmax")]
        if cmp != want:
            kinds = [t[0] for t in got]
            if "BatchNormalization" not in kinds:
                hint = "There is no BatchNormalization layer."
            else:
                i = kinds.index("BatchNormalization")
                before = _fold(got[:i])
                if before and before[-1][0] == "Dense" and before[-1][2] == "relu":
                    hint = ("BatchNormalization comes after the activation: your hidden layer already applies "
                            "relu, so BN normalises the post-activation outputs. Put it before the activation "
                            "(as Ioffe & Szegedy do): Dense(128) with no activation -> BatchNormalization() -> "
                            "Activation('relu').")
                elif i == 0:
                    hint = ("BatchNormalization comes first, so it normalises the inputs. Put it after the hidden "
                            "Dense(128) (with no activation) and before Activation('relu').")
                elif i == len(got) - 1 or (before and before[-1][0] == "Dense" and before[-1][1] == num_classes):
                    hint = ("BatchNormalization comes after the output layer; it belongs to the hidden layer: "
                            "Dense(128) -> BatchNormalization() -> Activation('relu') -> Dense(num_classes, softmax).")
                elif len(got) > 2 and got[:2] == [("Dense", HIDDEN_UNITS, "linear"), ("BatchNormalization",)] \
                        and _fold(got[2:]) == [("Dense", num_classes, "softmax")]:
                    hint = "After BatchNormalization the hidden layer needs its activation: Activation('relu')."
                else:
                    hint = _generic_hint(got, _fold(got))
            message = f"The model from `{call}` has the layers {_show(got)}; expected {_show(want)}."
            raise CheckFailed(f"{hint} ({message})" if hint else message)
        bn = next(layer for layer in model.layers if isinstance(layer, layers.BatchNormalization))
        if not (np.isclose(bn.momentum, 0.99) and np.isclose(bn.epsilon, 1e-3) and bn.axis in (-1, [-1], 1, [1])):
            raise CheckFailed(f"Use BatchNormalization() with its defaults (momentum=0.99, epsilon=1e-3, axis=-1); "
                              f"yours has momentum={bn.momentum}, epsilon={bn.epsilon}, axis={bn.axis}.")
        _check_input_and_compile(model, call, input_dim)
    return ("build_batchnorm_model builds Dense(128) -> BatchNormalization -> Activation('relu') -> "
            "Dense(num_classes, softmax), compiled.")


# --------------------------------------------------------------------------- #
# train_with_early_stopping
# --------------------------------------------------------------------------- #
_FIT_SIGNATURE = inspect.signature(keras.Model.fit)


class _Recorder:
    """What happened to the model's ``fit`` (kept outside the model: Keras tracks model attributes)."""

    def __init__(self, inspector):
        self.inspector = inspector
        self.calls = []
        self.failure = None


_RECORDERS: dict[int, _Recorder] = {}


class _RecordingSequential(keras.Sequential):
    """A Sequential model whose ``fit`` records its arguments and checks them before training."""

    def fit(self, *args, **kwargs):
        recorder = _RECORDERS[id(self)]
        bound = _FIT_SIGNATURE.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        arguments.pop("self", None)
        arguments.update(arguments.pop("kwargs", {}) or {})
        recorder.calls.append(arguments)
        try:
            recorder.inspector(arguments, len(recorder.calls))
        except CheckFailed as exc:
            recorder.failure = recorder.failure or exc  # re-raised even if the caller swallows it
            raise
        history = super().fit(*args, **kwargs)
        arguments["history"] = history
        return history


_DATA = {}


def _data():
    if not _DATA:
        split = digits_split(n_train=300, n_val=300, seed=0)
        _DATA.update(X_train=split.X_train, y_train=split.y_train, X_val=split.X_val, y_val=split.y_val)
    return _DATA


def _fresh_model(inspector):
    """A small classifier that over-fits 300 digits within a few epochs (validation minimum near epoch 3-6)."""
    keras.utils.set_random_seed(0)
    model = _RecordingSequential([
        keras.Input(shape=(64,)),
        layers.Dense(HIDDEN_UNITS, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ], name="model")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-2),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    recorder = _RECORDERS[id(model)] = _Recorder(inspector)
    return model, recorder


def _early_stopping_callbacks(arguments):
    callbacks = arguments.get("callbacks") or []
    if isinstance(callbacks, keras.callbacks.Callback):
        callbacks = [callbacks]
    return [cb for cb in callbacks if isinstance(cb, keras.callbacks.EarlyStopping)]


def _inspect_fit(patience, max_epochs):
    """Checks on fit's arguments, made before any training (so that mistakes fail fast)."""
    def inspector(arguments, n_calls):
        if n_calls > 1:
            raise CheckFailed("`train_with_early_stopping` calls model.fit more than once; call it once, with "
                              "epochs=max_epochs and the EarlyStopping callback.")
        if arguments.get("validation_data") is None:
            hint = (" (validation_split would carve the validation set out of the training data instead of "
                    "using X_val, y_val)") if arguments.get("validation_split") else ""
            raise CheckFailed("`train_with_early_stopping` calls model.fit without "
                              f"validation_data=(X_val, y_val){hint}; early stopping needs the validation loss.")
        val = arguments["validation_data"]
        data = _data()
        try:
            same = (len(val) >= 2 and np.array_equal(np.asarray(val[0]), data["X_val"])
                    and np.array_equal(np.asarray(val[1]), data["y_val"]))
        except Exception:
            same = False
        if not same:
            raise CheckFailed("`train_with_early_stopping` passes validation_data that is not (X_val, y_val), "
                              "the validation arrays it was given.")
        if arguments.get("epochs") != max_epochs:
            raise CheckFailed(f"`train_with_early_stopping(..., max_epochs={max_epochs})` calls model.fit with "
                              f"epochs={arguments.get('epochs')!r}; pass epochs=max_epochs (early stopping "
                              "decides when to stop before that).")
        stoppers = _early_stopping_callbacks(arguments)
        if not stoppers:
            raise CheckFailed("`train_with_early_stopping` calls model.fit without a "
                              "keras.callbacks.EarlyStopping callback (callbacks=[...]).")
        if len(stoppers) > 1:
            raise CheckFailed("`train_with_early_stopping` passes more than one EarlyStopping callback; use one.")
        es = stoppers[0]
        if es.monitor != "val_loss":
            raise CheckFailed(
                f"Your EarlyStopping monitors {es.monitor!r}; it must monitor 'val_loss', the loss on the "
                "validation data. The training loss keeps falling while the model over-fits, so it cannot "
                "tell when to stop.")
        if es.patience != patience:
            raise CheckFailed(f"`train_with_early_stopping(..., patience={patience})` creates "
                              f"EarlyStopping(patience={es.patience}); pass patience=patience.")
        if es.min_delta != 0 or es.baseline is not None or es.start_from_epoch != 0:
            raise CheckFailed("Use EarlyStopping's defaults for min_delta (0), baseline (None) and start_from_epoch (0); "
                              f"yours has min_delta={es.min_delta}, baseline={es.baseline}, "
                              f"start_from_epoch={es.start_from_epoch}.")
        if es.mode not in ("auto", "min"):
            raise CheckFailed(f"EarlyStopping(mode={es.mode!r}) would treat a larger validation loss as better; "
                              "use mode='min' (or the default 'auto').")
        if not es.restore_best_weights:
            raise CheckFailed(
                "Your EarlyStopping does not restore the best weights: without restore_best_weights=True the "
                f"model keeps the weights of the last epoch, {patience} epoch(s) past the best one. "
                "Pass restore_best_weights=True.")
    return inspector


def _run_training(student_train, patience, max_epochs):
    data = _data()
    model, recorder = _fresh_model(_inspect_fit(patience, max_epochs))
    call = f"train_with_early_stopping(model, X_train, y_train, X_val, y_val, patience={patience}, max_epochs={max_epochs})"
    history = call_student(student_train, "train_with_early_stopping", model, data["X_train"], data["y_train"],
                           data["X_val"], data["y_val"], patience=patience, max_epochs=max_epochs)
    if recorder.failure is not None:
        raise recorder.failure
    if not recorder.calls:
        raise CheckFailed(f"`{call}` never calls model.fit on the model it is given.")
    recorded = recorder.calls[0].get("history")
    if history is None:
        raise CheckFailed(f"`{call}` returned None: return the History object that model.fit returns.")
    if not isinstance(history, keras.callbacks.History) or history is not recorded:
        raise CheckFailed(f"`{call}` should return the History object returned by model.fit; "
                          f"it returned {type(history).__name__}.")
    val_losses = list(history.history.get("val_loss", []))
    if not val_losses:
        raise CheckFailed(f"The History returned by `{call}` has no 'val_loss' entry.")
    return model, recorder, history, val_losses, call


def _expected_epochs(val_losses, patience, max_epochs):
    stop_epoch, best_epoch = early_stopping(val_losses, patience)
    return (stop_epoch + 1 if stop_epoch is not None else max_epochs), best_epoch


@check("ps5_keras:early_stopping")
def early_stopping_training(student_train):
    """EarlyStopping's settings, where training stops, and the weights the model ends with.

    One check (one worker, one TensorFlow import, one training run) for the whole function.
    """
    patience, max_epochs = 2, 25  # not the defaults (3, 100), to catch hard-coded values
    model, recorder, history, val_losses, call = _run_training(student_train, patience, max_epochs)
    ran = len(val_losses)
    if ran > max_epochs:
        raise CheckFailed(f"`{call}` trained {ran} epochs, more than max_epochs={max_epochs}.")
    want, best_epoch = _expected_epochs(val_losses, patience, max_epochs)
    if ran != want:
        raise CheckFailed(
            f"`{call}` trained {ran} epochs; with the validation losses it recorded "
            f"({', '.join(f'{v:.4f}' for v in val_losses)}) early stopping with patience={patience} should "
            f"stop after {want} epochs.")
    data = _data()
    fit_args = recorder.calls[0]
    batch_size = fit_args.get("validation_batch_size") or fit_args.get("batch_size") or 32
    got = float(model.evaluate(data["X_val"], data["y_val"], batch_size=batch_size, verbose=0,
                               return_dict=True)["loss"])
    best = val_losses[best_epoch]
    if not np.isclose(got, best, rtol=1e-4, atol=1e-6):
        last = val_losses[-1]
        which = (f"the weights of the last epoch ({ran}, val_loss {last:.4f})"
                 if np.isclose(got, last, rtol=1e-4, atol=1e-6) else "weights from some other point")
        raise CheckFailed(
            f"After `{call}` the model has validation loss {got:.4f}, but the best epoch ({best_epoch + 1}) had "
            f"val_loss {best:.4f}: the model holds {which}. Use EarlyStopping(..., restore_best_weights=True) "
            "and do not change the model after fit.")
    return (f"train_with_early_stopping trains with EarlyStopping(monitor='val_loss', patience=patience, "
            f"restore_best_weights=True) and epochs=max_epochs: it stopped after epoch {ran}, as Keras' rule "
            f"says, with the weights of the best epoch ({best_epoch + 1}, val_loss {best:.4f}).")
