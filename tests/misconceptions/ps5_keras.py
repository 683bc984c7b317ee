"""Buggy-but-reasonable submissions for ps5_keras (data for the nbgrader end-to-end test).

Each ``code`` is appended to the answer cell that defines the function (the
notebook's first cell has already imported ``keras`` and ``layers``), so the
buggy definition replaces the correct one. ``loses`` lists the grade_ids that
must get less than full marks (every other graded cell keeps full marks) and
``message`` a substring each of those cells' error output must contain.

Every ps5 notebook costs about a minute of CPU to autograde (each graded cell
starts TensorFlow in a fresh process), so this list keeps one case per distinct
mistake; more variants (L2 only, epochs hard-coded, ...) are unit-tested in
tests/checks/test_checks_ps4_ps5.py.
"""

ASSIGNMENT = "ps5_keras"
NOTEBOOK = "keras_regularization"

_COMPILE = 'model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])'


def _builder(name, args, body):
    lines = "\n".join("        " + line + "," for line in body)
    return (f"def {name}({args}):\n"
            f"    model = keras.Sequential([\n        keras.Input(shape=(input_dim,)),\n{lines}\n    ])\n"
            f"    {_COMPILE}\n    return model\n")


def _trainer(callback, epochs="max_epochs"):
    return ("def train_with_early_stopping(model, X_train, y_train, X_val, y_val, patience=3, max_epochs=100):\n"
            f"    stopper = {callback}\n"
            "    return model.fit(X_train, y_train, validation_data=(X_val, y_val), "
            f"epochs={epochs}, batch_size=32, callbacks=[stopper], verbose=0)\n")


_REG_ARGS = "input_dim, num_classes, l1=0.0, l2=0.0"
_DROP_ARGS = "input_dim, num_classes, rate=0.5"
_BN_ARGS = "input_dim, num_classes"

# Each ps5 notebook costs ~45 s to autograde (every check starts TensorFlow), so the
# nbgrader end-to-end test submits only the misconceptions without end_to_end=False;
# tests/checks/test_checks_ps4_ps5.py runs every one of them through the checks directly.
MISCONCEPTIONS = [
    dict(name="activity_regularizer_instead_of_kernel",
         code=_builder("build_regularized_model", _REG_ARGS, [
             'layers.Dense(128, activation="relu", activity_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2))',
             'layers.Dense(num_classes, activation="softmax", activity_regularizer=keras.regularizers.L1L2(l1=l1, l2=l2))',
         ]),
         loses=["regularized_model"],
         message="activity_regularizer"),
    dict(name="dropout_omitted", end_to_end=False,
         code=_builder("build_dropout_model", _DROP_ARGS, [
             'layers.Dense(128, activation="relu")',
             'layers.Dense(num_classes, activation="softmax")',
         ]),
         loses=["dropout_model"],
         message="no Dropout layer"),
    dict(name="dropout_after_output_layer",
         code=_builder("build_dropout_model", _DROP_ARGS, [
             'layers.Dense(128, activation="relu")',
             'layers.Dense(num_classes, activation="softmax")',
             'layers.Dropout(rate)',
         ]),
         loses=["dropout_model"],
         message="after the output layer"),
    dict(name="dropout_rate_as_keep_probability", end_to_end=False,
         code=_builder("build_dropout_model", _DROP_ARGS, [
             'layers.Dense(128, activation="relu")',
             'layers.Dropout(1 - rate)',  # the "keep probability" of the original paper
             'layers.Dense(num_classes, activation="softmax")',
         ]),
         loses=["dropout_model"],
         message="keep probability"),
    dict(name="batchnorm_after_activation",
         code=_builder("build_batchnorm_model", _BN_ARGS, [
             'layers.Dense(128, activation="relu")',
             'layers.BatchNormalization()',
             'layers.Dense(num_classes, activation="softmax")',
         ]),
         loses=["batchnorm_model"],
         message="after the activation"),
    dict(name="early_stopping_without_restore_best_weights",
         code=_trainer('keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience)'),
         loses=["early_stopping"],
         message="restore_best_weights"),
    dict(name="early_stopping_monitors_training_loss", end_to_end=False,
         code=_trainer('keras.callbacks.EarlyStopping(monitor="loss", patience=patience, restore_best_weights=True)'),
         loses=["early_stopping"],
         message="'val_loss'"),
]
