"""Callbacks: hook order, logs keys, History, StepLogger, EarlyStopping, stop_training."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from helpers import QuadraticWithGradient, parse_log_line

import minigd as mg


class Recorder(mg.Callback):
    def __init__(self):
        self.calls = []

    def __getattribute__(self, name):
        if name in mg.callbacks.HOOKS:
            return lambda *args: self.calls.append((name, *args[:-1], sorted(args[-1])))
        return super().__getattribute__(name)


def fit(model=None, callbacks=(), x=None, y=None, **kwargs):
    if x is None:
        x, y = mg.make_linear_data(n=10, seed=0)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=list(callbacks))
    history = trainer.fit(model or mg.Linear(), x, y, **kwargs)
    return trainer, history


def test_hooks_fire_in_the_documented_order_with_documented_keys():
    recorder = Recorder()
    fit(callbacks=[recorder], epochs=2, batch_size=5, shuffle=False)
    step = lambda n: [("on_step_begin", n, ["batch_size"]),  # noqa: E731
                      ("on_step_end", n, ["batch_size", "learning_rate", "loss"])]
    epoch_keys = ["learning_rate", "loss"]
    assert recorder.calls == [
        ("on_train_begin", []),
        ("on_epoch_begin", 0, []), *step(0), *step(1), ("on_epoch_end", 0, epoch_keys),
        ("on_epoch_begin", 1, []), *step(2), *step(3), ("on_epoch_end", 1, epoch_keys),
        ("on_train_end", epoch_keys),
    ]


def test_callbacks_see_the_trainer_and_model():
    seen = []

    class Peek(mg.Callback):
        def on_train_begin(self, logs):
            seen.append((self.trainer, self.model))

    model = mg.Linear()
    trainer, _ = fit(model, [Peek()], steps=1)
    assert seen == [(trainer, model)]


def test_history_has_one_loss_per_step_and_val_loss_per_epoch():
    x, y = mg.make_linear_data(n=100, seed=1)
    x_val, y_val = mg.make_linear_data(n=30, seed=2)
    _, history = fit(x=x, y=y, epochs=3, batch_size=25, validation_data=(x_val, y_val), seed=0)
    assert len(history.step_history["loss"]) == 12 and len(history.history["val_loss"]) == 3
    assert history.steps == list(range(12)) and history.epoch == [0, 1, 2]
    assert len(history.history["loss"]) == 3
    # the epoch loss is the mean of its four equal-sized batch losses
    assert history.history["loss"][0] == pytest.approx(np.mean(history.step_history["loss"][:4]))


def test_val_loss_is_the_loss_on_the_validation_data_after_the_epoch():
    x, y = mg.make_linear_data(n=50, seed=1)
    x_val, y_val = mg.make_linear_data(n=20, seed=2)
    trainer, history = fit(x=x, y=y, epochs=1, validation_data=(x_val, y_val))
    assert history.history["val_loss"][0] == mg.MSE()(y_val, trainer.model(x_val))


def test_history_loss_is_the_batch_loss_before_the_update():
    x, y = mg.make_linear_data(n=20, seed=1)
    _, history = fit(x=x, y=y, steps=1)
    assert history.step_history["loss"] == [mg.MSE()(y, np.zeros_like(y))]


def test_history_records_parameters_only_when_asked():
    history = mg.History(record_params=True)
    trainer, returned = fit(callbacks=[history], steps=5)
    assert returned is history and trainer.history is history
    path = history.param_path("w")
    assert path.shape == (6,) and path[0] == 0.0 and path[-1] == trainer.model.params["w"]
    _, plain = fit(steps=5)
    assert plain.params == {}
    with pytest.raises(ValueError, match="record_params=True"):
        plain.param_path("w")


def test_a_history_is_fresh_for_every_fit():
    history = mg.History()
    fit(callbacks=[history], steps=3)
    fit(callbacks=[history], steps=2)
    assert len(history.step_history["loss"]) == 2


def test_step_logger_prints_every_parameter_of_other_models_by_name(quadratic_data):
    stream = io.StringIO()
    x, y = quadratic_data
    fit(QuadraticWithGradient(), [mg.StepLogger(every=3, stream=stream)], x=x, y=y, steps=7)
    lines = stream.getvalue().splitlines()
    assert [parse_log_line(line)[0] for line in lines[:-1]] == [("iteration", s) for s in (0, 3, 6)]
    assert [key for key, _ in parse_log_line(lines[0])] == ["iteration", "loss", "a", "b", "c"]
    assert [key for key, _ in parse_log_line(lines[-1])] == ["Final loss", "a", "b", "c"]


def test_step_logger_writes_to_stdout_by_default(capsys):
    fit(callbacks=[mg.StepLogger(every=50)], steps=51)
    heads = [line.split(", ")[0] for line in capsys.readouterr().out.splitlines()]
    assert heads[:2] == ["iteration:0", "iteration:50"] and heads[2].startswith("Final loss:")
    assert len(heads) == 3


def test_step_logger_shows_vector_parameters():
    stream = io.StringIO()
    x, y = mg.make_linear_data(n=10, w=[1.0, 2.0], seed=0)
    fit(mg.Linear(features=2), [mg.StepLogger(stream=stream)], x=x, y=y, steps=1)
    assert ", w:[" in stream.getvalue()


def test_stop_training_ends_the_run_after_the_current_step():
    stopper = mg.LambdaCallback(on_step_end=lambda step, logs: step == 4 and setattr(
        stopper.trainer, "stop_training", True))
    trainer, history = fit(callbacks=[stopper], steps=100)
    assert trainer.step == 5 and len(history.step_history["loss"]) == 5


def test_early_stopping_stops_when_the_loss_stops_improving():
    x, y = mg.make_linear_data(n=200, seed=3)
    stopper = mg.EarlyStopping(monitor="loss", patience=3, min_delta=1e-6)
    trainer, history = fit(callbacks=[stopper], x=x, y=y, epochs=10_000)
    assert stopper.stopped_epoch is not None and trainer.epoch < 10_000
    assert trainer.epoch == stopper.stopped_epoch + 1
    assert stopper.stopped_epoch - stopper.best_epoch == 3


def test_early_stopping_restores_the_best_weights():
    x, y = mg.make_linear_data(n=50, seed=4)
    x_val, y_val = x + 100.0, y  # a validation set that gets worse as training improves
    stopper = mg.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    trainer, history = fit(callbacks=[stopper], x=x, y=y, epochs=50, validation_data=(x_val, y_val))
    best = int(np.argmin(history.history["val_loss"]))
    assert stopper.best_epoch == best
    assert mg.MSE()(y_val, trainer.model(x_val)) == pytest.approx(history.history["val_loss"][best])


def test_early_stopping_on_a_missing_key_explains():
    with pytest.raises(ValueError, match="val_loss.*validation_data"):
        fit(callbacks=[mg.EarlyStopping(monitor="val_loss")], epochs=2)


def test_lambda_callback_refuses_unknown_hooks():
    with pytest.raises(ValueError, match="on_batch_end"):
        mg.LambdaCallback(on_batch_end=print)


def test_a_keras_hook_name_is_warned_about_when_fit_starts():
    class KerasHabit(mg.Callback):
        def on_train_batch_end(self, batch, logs):
            pass

    with pytest.warns(UserWarning, match="on_train_batch_end is a Keras hook.*name it 'on_step_end'"):
        fit(callbacks=[KerasHabit()], steps=1)


def test_a_non_callback_is_refused():
    with pytest.raises(ValueError, match="callbacks.*LambdaCallback"):
        mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[print])


# The bar's behaviour (counts, current loss, closing, no tearing) is in tests/test_progress.py.


def test_progress_bar_without_tqdm_explains_the_pip_command(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "tqdm", None)
    with pytest.raises(ImportError, match=r"pip install 'minigd\[progress\]'"):
        mg.ProgressBar()


# -- mode: which way is better (Keras's EarlyStopping / ModelCheckpoint mode) -----------------

def accuracy_run(callbacks, epochs=10):
    """Logistic regression whose accuracy rises, dips once and rises again:
    0.467, 0.783, 0.933, 0.95, 0.933, 0.95, 0.95, 0.967, 0.983, 0.983."""
    x, labels = mg.make_classification_data(n=60, classes=2, features=2, separation=2.0, seed=0)
    model = mg.Sequential([mg.Dense(1, activation="sigmoid")], seed=0)
    trainer = mg.Trainer(mg.BinaryCrossentropy(), mg.SGD(0.05), metrics=["accuracy"], callbacks=callbacks)
    history = trainer.fit(model, x, labels.astype(float), epochs=epochs, batch_size=10, seed=0)
    return history, model


@pytest.mark.parametrize("mode", ["auto", "max"])
def test_early_stopping_keeps_the_highest_accuracy(mode):
    stopper = mg.EarlyStopping(monitor="accuracy", patience=2, mode=mode, restore_best_weights=True)
    history, _ = accuracy_run([stopper])
    accuracies = history.history["accuracy"]
    assert stopper.best == max(accuracies) and stopper.best_epoch == accuracies.index(max(accuracies))
    assert stopper.stopped_epoch == stopper.best_epoch + 2  # the dip, then no gain: patience 2


def test_early_stopping_min_delta_counts_in_the_mode_s_direction():
    stopper = mg.EarlyStopping(monitor="accuracy", patience=100, min_delta=0.3, mode="max")
    history, _ = accuracy_run([stopper])
    # epoch 1 beats epoch 0 by more than 0.3; nothing later beats epoch 1 by as much
    assert stopper.best_epoch == 1 and stopper.best == history.history["accuracy"][1]


def test_model_checkpoint_save_best_only_follows_the_mode(tmp_path):
    saver = mg.ModelCheckpoint(tmp_path / "best-{epoch}.npz", save_best_only=True, monitor="accuracy",
                               save_weights_only=True)
    history, _ = accuracy_run([saver])
    accuracies = history.history["accuracy"]
    rises = [epoch for epoch, value in enumerate(accuracies) if value > max(accuracies[:epoch], default=-1)]
    assert [Path(path).name for path in saver.saved] == [f"best-{epoch + 1}.npz" for epoch in rises]


@pytest.mark.parametrize("make, message", [
    (lambda: mg.EarlyStopping(mode="largest"), "mode must be 'auto', 'min' or 'max', got 'largest'"),
    (lambda: mg.EarlyStopping(restore_best_weights="no"), "restore_best_weights must be True or False"),
    (lambda: mg.ModelCheckpoint("ck.npz", save_best_only="no"), "save_best_only must be True or False"),
    (lambda: mg.ModelCheckpoint("ck{.npz"), "path 'ck{.npz' is not a valid template"),
    (lambda: mg.ModelCheckpoint("ck{foo}.npz"), "may contain {step} and {epoch}"),
])
def test_mode_and_flags_are_checked_in_the_constructor(make, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make()


def test_auto_mode_asks_for_a_mode_when_the_name_says_nothing():
    x, y = mg.make_linear_data(n=20, seed=0)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(), callbacks=[mg.EarlyStopping(monitor="smoothness")])
    with pytest.raises(ValueError, match="mode='auto' cannot tell whether monitor='smoothness'"):
        trainer.fit(mg.Linear(), x, y, steps=3)
