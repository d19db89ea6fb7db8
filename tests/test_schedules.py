"""Learning-rate schedules: Keras's values at many steps, and bad arguments named.

Keras computes a schedule in the dtype of ``initial_learning_rate``: a Python float
becomes float32 (even under ``keras.config.set_floatx("float64")``), a numpy float64
stays float64. So the reference schedules get their numbers as ``np.float64`` and the
two agree to rounding (1e-12), not just to float32's 1e-7.
"""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from minigd.callbacks.lambda_callback import LambdaCallback
from minigd.callbacks.learning_rate import LearningRateScheduler, ReduceLROnPlateau
from minigd.data import make_linear_data
from minigd.losses import MSE
from minigd.models import Linear
from minigd.optimizers import SGD
from minigd.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
)
from minigd.tape import import_tensorflow
from minigd.trainer import Trainer

STEPS = [0, 1, 2, 3, 7, 10, 11, 49, 50, 99, 100, 101, 150, 999, 1000, 1001, 5000]
f64 = np.float64


@pytest.fixture(scope="module")
def keras_schedules():
    import_tensorflow()  # quietly, before keras imports it
    import keras

    return keras.optimizers.schedules


def assert_same_values(ours, theirs, steps=STEPS):
    got = [ours(step) for step in steps]
    want = [float(theirs(step)) for step in steps]
    assert all(type(value) is float for value in got)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("initial, decay_steps, decay_rate",
                         [(0.1, 100, 0.96), (1.0, 7, 0.5), (0.01, 1000, 0.1), (0.3, 2.5, 1.5)])
def test_exponential_decay_matches_keras(keras_schedules, initial, decay_steps, decay_rate, staircase):
    ours = ExponentialDecay(initial, decay_steps, decay_rate, staircase)
    theirs = keras_schedules.ExponentialDecay(f64(initial), decay_steps, f64(decay_rate), staircase)
    assert_same_values(ours, theirs)


@pytest.mark.parametrize("staircase", [False, True])
@pytest.mark.parametrize("initial, decay_steps, decay_rate",
                         [(0.1, 100, 0.5), (1.0, 7, 2.0), (0.01, 1000, 0.0), (0.3, 2.5, 1.5)])
def test_inverse_time_decay_matches_keras(keras_schedules, initial, decay_steps, decay_rate, staircase):
    ours = InverseTimeDecay(initial, decay_steps, decay_rate, staircase)
    theirs = keras_schedules.InverseTimeDecay(f64(initial), decay_steps, f64(decay_rate), staircase)
    assert_same_values(ours, theirs)


@pytest.mark.parametrize("boundaries, values", [([100], [0.1, 0.01]),
                                                ([10, 50, 1000], [1.0, 0.5, 0.25, 0.125]),
                                                ([0, 1], [0.3, 0.2, 0.1])])
def test_piecewise_constant_decay_matches_keras(keras_schedules, boundaries, values):
    ours = PiecewiseConstantDecay(boundaries, values)
    theirs = keras_schedules.PiecewiseConstantDecay(boundaries, [f64(v) for v in values])
    assert_same_values(ours, theirs)


@pytest.mark.parametrize("initial, decay_steps, alpha", [(0.1, 100, 0.0), (1.0, 7, 0.1), (0.05, 1000, 1.0)])
def test_cosine_decay_matches_keras(keras_schedules, initial, decay_steps, alpha):
    ours = CosineDecay(initial, decay_steps, alpha)
    theirs = keras_schedules.CosineDecay(f64(initial), decay_steps, alpha)
    assert_same_values(ours, theirs)


@pytest.mark.parametrize("initial, decay_steps, alpha, target, warmup_steps",
                         [(0.0, 100, 0.0, 0.1, 10), (0.01, 50, 0.2, 1.0, 100), (0.1, 100, 0.0, 0.2, 0)])
def test_cosine_decay_with_warmup_matches_keras(keras_schedules, initial, decay_steps, alpha, target,
                                                warmup_steps):
    ours = CosineDecay(initial, decay_steps, alpha, warmup_target=target, warmup_steps=warmup_steps)
    theirs = keras_schedules.CosineDecay(f64(initial), decay_steps, alpha, warmup_target=f64(target),
                                         warmup_steps=warmup_steps)
    assert_same_values(ours, theirs)


def test_keras_defaults():
    cosine = CosineDecay(0.1, 10)
    assert (cosine.alpha, cosine.warmup_target, cosine.warmup_steps) == (0.0, None, 0)
    assert ExponentialDecay(0.1, 10, 0.5).staircase is False
    assert InverseTimeDecay(0.1, 10, 0.5).staircase is False


@pytest.mark.parametrize("schedule", [
    ExponentialDecay(0.1, 10, 0.5, staircase=True), InverseTimeDecay(0.1, 10, 0.5),
    PiecewiseConstantDecay([5, 10], [0.1, 0.05, 0.01]),
    CosineDecay(0.0, 100, 0.1, warmup_target=0.1, warmup_steps=5)])
def test_config_is_json_and_rebuilds_the_same_schedule(schedule):
    config = json.loads(json.dumps(schedule.get_config()))
    rebuilt = type(schedule).from_config(config)
    assert [rebuilt(step) for step in STEPS] == [schedule(step) for step in STEPS]
    assert repr(rebuilt) == repr(schedule)


def test_the_base_class_asks_for_call_and_get_config():
    with pytest.raises(NotImplementedError, match="__call__"):
        LearningRateSchedule()(0)
    with pytest.raises(NotImplementedError, match="get_config"):
        LearningRateSchedule().get_config()


@pytest.mark.parametrize("make, argument", [
    (lambda: ExponentialDecay(0.1, 0, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(0.1, -3, 0.5), "decay_steps"),
    (lambda: ExponentialDecay(-0.1, 10, 0.5), "initial_learning_rate"),
    (lambda: ExponentialDecay(math.nan, 10, 0.5), "initial_learning_rate"),
    (lambda: ExponentialDecay("0.1", 10, 0.5), "initial_learning_rate"),
    (lambda: ExponentialDecay(0.1, 10, 0.0), "decay_rate"),
    (lambda: ExponentialDecay(0.1, 10, 0.5, staircase="yes"), "staircase"),
    (lambda: InverseTimeDecay(0.1, 10, -1.0), "decay_rate"),
    (lambda: InverseTimeDecay(0.1, None, 1.0), "decay_steps"),
    (lambda: PiecewiseConstantDecay([10, 20], [0.1, 0.01]), "values"),
    (lambda: PiecewiseConstantDecay([20, 10], [0.1, 0.01, 0.001]), "boundaries"),
    (lambda: PiecewiseConstantDecay(10, [0.1, 0.01]), "boundaries"),
    (lambda: PiecewiseConstantDecay([10], [0.1, -0.01]), "value"),
    (lambda: CosineDecay(0.1, 100, alpha=1.5), "alpha"),
    (lambda: CosineDecay(0.1, 100, warmup_target=-1.0, warmup_steps=5), "warmup_target"),
    (lambda: CosineDecay(0.1, 100, warmup_target=0.2, warmup_steps=-5), "warmup_steps"),
])
def test_bad_arguments_are_named(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


# ---------------------------------------------------------------------------------------
# The callbacks: LearningRateScheduler and ReduceLROnPlateau


def fake_trainer(learning_rate=0.1):
    """What the callbacks use of a trainer: an optimizer whose rate they read and set."""
    return SimpleNamespace(optimizer=SGD(learning_rate), model=None)


def keras_fake_model(learning_rate=0.1):
    """What Keras's callbacks use of a model: ``model.optimizer.learning_rate``."""
    return SimpleNamespace(optimizer=SimpleNamespace(learning_rate=learning_rate))


@pytest.fixture(scope="module")
def keras_callbacks():
    import_tensorflow()
    import keras

    return keras.callbacks


def plateau_values(seed, mode, epochs=100):
    """A noisy, slowly improving monitored value on a grid of 1/16, so no comparison is a
    near-tie (Keras compares in float32; minigd in float64)."""
    rng = np.random.default_rng(seed)
    trend = np.linspace(0.0, 2.0, epochs) * (1 if mode == "max" else -1)
    return np.round((trend + rng.uniform(0, 1.5, epochs)) * 16) / 16


def run_reduce_lr(callback, trainer_or_model, values, ours):
    """Feed ``values`` to the callback's on_epoch_end; the rate and counters after each."""
    optimizer = trainer_or_model.optimizer
    if ours:
        callback.set_trainer(trainer_or_model)
        callback.on_train_begin({})
    else:
        callback.set_model(trainer_or_model)
        callback.on_train_begin()
    record = []
    for epoch, value in enumerate(values):
        callback.on_epoch_end(epoch, {"val_loss": float(value), "loss": float(value)})
        record.append((optimizer.learning_rate, callback.wait, callback.cooldown_counter, callback.best))
    return record


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("options", [
    {},
    {"factor": 0.5, "patience": 2},
    {"factor": 0.5, "patience": 0, "min_lr": 0.001},
    {"factor": 0.25, "patience": 3, "cooldown": 2, "min_delta": 0.0625},
    {"factor": 0.5, "patience": 1, "cooldown": 1, "min_delta": 0.0, "mode": "max", "monitor": "loss"},
    {"factor": 0.9, "patience": 2, "cooldown": 5, "min_lr": 0.05, "mode": "min", "monitor": "loss"},
])
def test_reduce_lr_on_plateau_matches_keras(keras_callbacks, seed, options):
    values = plateau_values(seed, options.get("mode", "min"))
    ours = run_reduce_lr(ReduceLROnPlateau(**options), fake_trainer(0.1), values, ours=True)
    theirs = run_reduce_lr(keras_callbacks.ReduceLROnPlateau(**options), keras_fake_model(0.1), values,
                           ours=False)
    assert ours == theirs
    assert len({rate for rate, *_ in ours}) > 1, "the sequence should make it reduce the rate"


def test_reduce_lr_on_plateau_has_keras_defaults():
    callback = ReduceLROnPlateau()
    assert (callback.monitor, callback.factor, callback.patience, callback.verbose, callback.min_delta,
            callback.cooldown, callback.min_lr) == ("val_loss", 0.1, 10, 0, 1e-4, 0, 0.0)
    assert callback.mode == "min"


@pytest.mark.parametrize("monitor, mode", [("val_loss", "min"), ("loss", "min"), ("accuracy", "max"),
                                           ("val_sparse_categorical_accuracy", "max"), ("val_mae", "min")])
def test_auto_mode_follows_the_monitored_name(monitor, mode):
    assert ReduceLROnPlateau(monitor=monitor).mode == mode


def test_auto_mode_refuses_a_name_it_cannot_read():
    with pytest.raises(ValueError, match="mode='min'.*mode='max'"):
        ReduceLROnPlateau(monitor="val_my_score")
    assert ReduceLROnPlateau(monitor="val_my_score", mode="max").mode == "max"


def test_reduce_lr_on_plateau_state_resumes_exactly():
    values = plateau_values(0, "min")
    whole = run_reduce_lr(ReduceLROnPlateau(patience=2, factor=0.5, cooldown=1), fake_trainer(), values,
                          ours=True)

    first, trainer = ReduceLROnPlateau(patience=2, factor=0.5, cooldown=1), fake_trainer()
    run_reduce_lr(first, trainer, values[:23], ours=True)
    state = json.loads(json.dumps(first.get_state()))  # a checkpoint holds JSON-able state
    second, resumed = ReduceLROnPlateau(patience=2, factor=0.5, cooldown=1), fake_trainer()
    second.set_trainer(resumed)
    second.on_train_begin({})
    second.set_state(state)
    resumed.optimizer.learning_rate = trainer.optimizer.learning_rate  # the trainer's checkpoint does this
    rest = []
    for epoch, value in enumerate(values[23:], start=23):
        second.on_epoch_end(epoch, {"val_loss": float(value)})
        rest.append((resumed.optimizer.learning_rate, second.wait, second.cooldown_counter, second.best))
    assert rest == whole[23:]


def test_reduce_lr_on_plateau_needs_the_monitored_key():
    callback = ReduceLROnPlateau()
    callback.set_trainer(fake_trainer())
    callback.on_train_begin({})
    with pytest.raises(ValueError, match="'val_loss'.*validation_data"):
        callback.on_epoch_end(0, {"loss": 1.0})


def test_reduce_lr_on_plateau_prints_what_keras_prints(capsys):
    callback = ReduceLROnPlateau(monitor="loss", patience=0, factor=0.5, verbose=1)
    run_reduce_lr(callback, fake_trainer(0.1), [1.0, 1.0], ours=True)
    assert capsys.readouterr().out == "\nEpoch 2: ReduceLROnPlateau reducing learning rate to 0.05.\n"


@pytest.mark.parametrize("schedule", [
    lambda epoch: 0.1 / (1 + epoch),
    lambda epoch, lr: lr if epoch < 3 else lr * 0.75,
    lambda epoch, lr=None: 0.5 ** epoch,  # takes two: called with the rate, as by Keras
])
def test_learning_rate_scheduler_matches_keras(keras_callbacks, schedule):
    trainer, model = fake_trainer(0.1), keras_fake_model(0.1)
    ours, theirs = LearningRateScheduler(schedule), keras_callbacks.LearningRateScheduler(schedule)
    ours.set_trainer(trainer)
    ours.on_train_begin({})
    theirs.set_model(model)
    for epoch in range(10):
        ours.on_epoch_begin(epoch, {})
        theirs.on_epoch_begin(epoch)
        assert trainer.optimizer.learning_rate == model.optimizer.learning_rate


def test_learning_rate_scheduler_takes_a_schedule_object_by_epoch():
    trainer, callback = fake_trainer(), LearningRateScheduler(ExponentialDecay(0.1, 2, 0.5))
    callback.set_trainer(trainer)
    rates = []
    for epoch in range(4):
        callback.on_epoch_begin(epoch, {})
        rates.append(trainer.optimizer.learning_rate)
    np.testing.assert_allclose(rates, [0.1, 0.1 * 0.5**0.5, 0.05, 0.05 * 0.5**0.5], rtol=1e-15)


def test_learning_rate_scheduler_prints_what_keras_prints(capsys):
    callback = LearningRateScheduler(lambda epoch: 0.25, verbose=1)
    callback.set_trainer(fake_trainer())
    callback.on_epoch_begin(0, {})
    assert capsys.readouterr().out == "\nEpoch 1: LearningRateScheduler setting learning rate to 0.25.\n"


@pytest.mark.parametrize("returned", [-0.1, 0.0, math.inf, "0.1", None, True])
def test_learning_rate_scheduler_refuses_a_bad_rate(returned):
    callback = LearningRateScheduler(lambda epoch: returned)
    callback.set_trainer(fake_trainer())
    with pytest.raises(ValueError, match="schedule must return a finite number > 0.*epoch 0"):
        callback.on_epoch_begin(0, {})


@pytest.mark.parametrize("callback", [LearningRateScheduler(lambda epoch: 0.1), ReduceLROnPlateau()])
def test_callbacks_refuse_an_optimizer_with_a_schedule(callback):
    callback.set_trainer(SimpleNamespace(optimizer=SGD(ExponentialDecay(0.1, 10, 0.5)), model=None))
    with pytest.raises(ValueError, match="is a schedule.*overwrite each other"):
        callback.on_train_begin({})


@pytest.mark.parametrize("make, argument", [
    (lambda: LearningRateScheduler(0.1), "schedule"),
    (lambda: LearningRateScheduler(lambda epoch: 0.1, verbose=-1), "verbose"),
    (lambda: ReduceLROnPlateau(monitor=""), "monitor"),
    (lambda: ReduceLROnPlateau(factor=1.0), "factor"),
    (lambda: ReduceLROnPlateau(factor=0.0), "factor"),
    (lambda: ReduceLROnPlateau(patience=-1), "patience"),
    (lambda: ReduceLROnPlateau(patience=1.5), "patience"),
    (lambda: ReduceLROnPlateau(mode="minimum"), "mode"),
    (lambda: ReduceLROnPlateau(min_delta=-1e-4), "min_delta"),
    (lambda: ReduceLROnPlateau(cooldown=-2), "cooldown"),
    (lambda: ReduceLROnPlateau(min_lr=-0.1), "min_lr"),
])
def test_bad_callback_arguments_are_named(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


# ---------------------------------------------------------------------------------------
# With the real trainer


def test_the_trainer_logs_the_scheduled_rate_of_each_epoch():
    x, y = make_linear_data(n=40, seed=0)
    callback = LearningRateScheduler(lambda epoch: 0.01 / (1 + epoch))
    history = Trainer(MSE(), SGD(0.5), callbacks=[callback]).fit(Linear(), x, y, epochs=5, batch_size=20)
    assert history.history["learning_rate"] == [0.01 / (1 + epoch) for epoch in range(5)]
    assert history.step_history["learning_rate"] == [0.01 / (1 + step // 2) for step in range(10)]


def run_with(callback, tmp_path, resume_from=None, save_at=None):
    """40 epochs of SGD with momentum on noisy lines, 4 steps an epoch, with ``callback``.

    ``save_at=("epoch", k)`` writes a checkpoint at the end of epoch k, ``("step", k)``
    after step k (in the middle of an epoch).
    """
    x, y = make_linear_data(n=64, noise=0.5, seed=0)
    validation = make_linear_data(n=64, noise=0.5, seed=1)

    def save(hook):
        def save_if_due(number, logs):
            if save_at == (hook, number):
                trainer.save_checkpoint(tmp_path / "run.ckpt")
        return save_if_due

    saver = LambdaCallback(on_epoch_end=save("epoch"), on_step_end=save("step"))
    trainer = Trainer(MSE(), SGD(0.01, momentum=0.5), callbacks=[callback, saver])
    return trainer.fit(Linear(), x, y, epochs=40, batch_size=16, validation_data=validation, seed=0,
                       resume_from=resume_from)


def make_reduce():
    return ReduceLROnPlateau(factor=0.5, patience=2, cooldown=1, min_delta=1e-3)


def make_scheduler():
    return LearningRateScheduler(lambda epoch, lr: lr * 0.875 if epoch % 3 == 2 else lr)


@pytest.mark.parametrize("make_callback", [make_reduce, make_scheduler])
@pytest.mark.parametrize("save_at", [("epoch", 14), ("step", 57)])
def test_a_resumed_run_changes_the_rate_exactly_as_the_whole_run(tmp_path, make_callback, save_at):
    whole_callback = make_callback()
    whole = run_with(whole_callback, tmp_path, save_at=save_at)
    rates = whole.history["learning_rate"]
    assert rates[0] == 0.01 and len(set(rates)) > 2  # it did change the rate, more than once

    resumed_callback = make_callback()
    resumed = run_with(resumed_callback, tmp_path, resume_from=tmp_path / "run.ckpt")
    assert resumed.history == whole.history
    assert resumed.step_history == whole.step_history
    assert resumed_callback.get_state() == whole_callback.get_state()


@pytest.mark.parametrize("returned", [-1.0, float("nan"), float("inf"), "a", None, True])
def test_a_schedule_returning_no_positive_rate_is_stopped_at_that_step(returned):
    import minigd as mg

    x, y = mg.make_linear_data(n=20, seed=0)
    model = mg.Linear()
    schedule = lambda step: 0.01 if step < 2 else returned  # noqa: E731
    with pytest.raises(ValueError, match=rf"returned {returned!r} at step 2; a learning rate must be a finite number >= 0"
                       .replace("(", r"\(")):
        mg.Trainer(mg.MSE(), mg.SGD(schedule)).fit(model, x, y, steps=5)


def test_a_schedule_may_end_at_a_rate_of_zero():
    import minigd as mg

    x, y = mg.make_linear_data(n=20, seed=0)
    model = mg.Linear()
    mg.Trainer(mg.MSE(), mg.SGD(mg.schedules.CosineDecay(0.01, decay_steps=3))).fit(model, x, y, steps=6)
    assert mg.schedules.CosineDecay(0.01, decay_steps=3)(5) == 0.0  # the last steps change nothing
