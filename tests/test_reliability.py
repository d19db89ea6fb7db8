"""Reliability: divergence explained, checkpoints that never corrupt, exact resume, interrupts."""

import warnings

import numpy as np
import pytest
from helpers import assert_same_run

import minigd as mg
from minigd import checkpoints
from minigd.files import write_archive


def seed_job_data():
    return mg.make_linear_data(n=1000, seed=0)


# -- divergence ---------------------------------------------------------------------------

def test_divergence_names_the_step_the_rate_and_the_stable_bound():
    x, y = seed_job_data()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.05))
    with pytest.raises(mg.DivergenceError) as caught:
        trainer.fit(mg.Linear(), x, y, steps=1000)
    error = caught.value
    bound = mg.stable_learning_rate(x)
    assert 0.029 < bound < 0.032
    # estimated from the provider's gradients by power iteration: the exact bound, to rounding
    assert error.stable_learning_rate == pytest.approx(bound, rel=1e-9) and error.learning_rate == 0.05
    message = str(error)
    assert f"step {error.step}" in message and "learning_rate=0.05" in message
    assert f"learning_rate < {bound:.4g}" in message
    assert len(error.history.step_history["loss"]) == error.step  # the steps before it
    assert all(np.isfinite(v).all() for v in trainer.model.params.values())


def test_the_stable_bound_is_where_divergence_really_starts():
    x, y = seed_job_data()
    bound = mg.stable_learning_rate(x)
    mg.Trainer(mg.MSE(), mg.SGD(bound * 0.98)).fit(mg.Linear(), x, y, steps=3000)  # no error
    with pytest.raises(mg.DivergenceError):
        mg.Trainer(mg.MSE(), mg.SGD(bound * 1.02)).fit(mg.Linear(), x, y, steps=3000)


def test_the_bound_equals_two_over_the_largest_hessian_eigenvalue():
    x = np.array([-2.0, 0.0, 1.0, 5.0])
    hessian = (2 / 4) * np.array([[np.sum(x * x), np.sum(x)], [np.sum(x), 4.0]])
    assert mg.stable_learning_rate(x) == pytest.approx(2 / np.linalg.eigvalsh(hessian)[-1])


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.5, False), (0.9, False),
                                                (0.5, True), (0.9, True)])
def test_the_momentum_bounds_separate_stable_from_unstable_rates(momentum, nesterov):
    x = np.array([-3.0, -1.0, 0.5, 2.0, 4.0])
    y = 2.0 * x + 1.0
    bound = mg.stable_learning_rate(x, momentum, nesterov)

    def final_loss(learning_rate):
        trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate, momentum=momentum, nesterov=nesterov),
                             on_divergence="stop")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = trainer.fit(mg.Linear(), x, y, steps=5000)
        return trainer.divergence, history.step_history["loss"][-1]

    divergence, loss = final_loss(bound * 0.99)
    assert divergence is None and loss < 1e-6
    divergence, _ = final_loss(bound * 1.01)
    assert divergence is not None


def test_an_update_that_would_overflow_is_never_put_in_place():
    x, y = seed_job_data()
    model = mg.Linear()
    with pytest.raises(mg.DivergenceError) as caught:
        mg.Trainer(mg.MSE(), mg.SGD(learning_rate=1e307)).fit(model, x, y, steps=10)
    assert caught.value.step == 0  # the first update would make w infinite: refused
    assert float(model.params["w"]) == 0.0 and float(model.params["b"]) == 0.0


class _StepsUpThenOverflows:
    """A provider whose loss stays 1 while w climbs by 1 a step (rate 1), until w >= 4.5,
    where the gradient is -inf: the update would make w infinite with the loss finite."""

    name = "overflows"

    def value_and_grad(self, model, loss, params, x, y):
        w = float(params["w"])
        return 1.0, {"w": np.array(-np.inf if w >= 4.5 else -1.0), "b": np.array(0.0)}


def test_a_parameter_made_infinite_mid_chunk_stops_the_run_at_that_step():
    # One chunk of 20 full-batch steps whose losses all pass: the guard must still find
    # the exact step whose update made a parameter infinite (the chunk runs again, guarded).
    x, y = seed_job_data()
    model = mg.Linear()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(1.0), gradients=_StepsUpThenOverflows())
    with pytest.raises(mg.DivergenceError) as caught:
        trainer.fit(model, x, y, steps=20)
    assert caught.value.step == 5 and trainer.step == 5
    assert float(model.params["w"]) == 5.0 and trainer.history.steps == [0, 1, 2, 3, 4]


class _Saturated(mg.Model):
    """tanh(a) * x + b: the loss stays finite however large (or infinite) a is."""

    def __init__(self):
        super().__init__(a=1.0, b=0.0)

    def forward(self, params, x):
        return mg.ops.tanh(params["a"]) * x + params["b"]

    def backward(self, params, x, grad_y_pred):
        t = np.tanh(params["a"])
        return {"a": np.sum(grad_y_pred * x) * (1 - t * t), "b": np.sum(grad_y_pred)}


class _Resetting(mg.SGD):
    """SGD, but a is multiplied by 1e100 each step, and reset to +-1 once infinite."""

    def update(self, grads, state, params, learning_rate):
        new_params, new_state = super().update(grads, state, params, learning_rate)
        a = params["a"]
        return {**new_params, "a": mg.ops.where(abs(a) < np.inf, a * 1e100, mg.ops.clip(a, -1.0, 1.0))}, new_state


class _EveryStep(mg.Callback):
    def next_step_needed(self, step):
        return step


@pytest.mark.parametrize("gradients", ["analytic", "tape"])
def test_a_parameter_infinite_mid_chunk_stops_the_run_even_if_it_comes_back(gradients):
    # a is infinite after step 3's update and finite again after step 4's: a chunk must
    # stop at step 3 as one step at a time does, not judge only its last parameters
    x, y = seed_job_data()
    runs = []
    for callbacks in ([], [_EveryStep()]):  # one chunk; one step per chunk
        trainer = mg.Trainer(mg.MSE(), _Resetting(0.01), gradients=gradients, callbacks=callbacks,
                             on_divergence="stop")
        model = _Saturated()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            trainer.fit(model, x, y, steps=20)
        runs.append((trainer.step, trainer.divergence.step, float(model.params["a"])))
    assert runs[0] == runs[1] == (3, 3, 1e300)


def test_divergence_of_another_model_suggests_a_smaller_rate():
    class Cubic(mg.Model):
        def __init__(self):
            super().__init__(a=0.5)

        def forward(self, params, x):
            return params["a"] * x**3

    x = np.linspace(-3, 3, 50)
    with pytest.raises(mg.DivergenceError, match="SGD is stable only for learning_rate <") as caught:
        mg.Trainer(mg.MSE(), mg.SGD(1.0), gradients="numeric").fit(Cubic(), x, x**3, steps=50)
    # the loss is quadratic in a, with second derivative 2 * mean(x**6): the bound is exact
    assert caught.value.stable_learning_rate == pytest.approx(2 / (2 * np.mean(x**6)), rel=1e-6)


def test_on_divergence_stop_ends_quietly_with_a_warning():
    x, y = seed_job_data()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.05), on_divergence="stop")
    with pytest.warns(RuntimeWarning, match="diverged at step"):
        history = trainer.fit(mg.Linear(), x, y, steps=1000)
    assert isinstance(trainer.divergence, mg.DivergenceError)
    assert trainer.step == trainer.divergence.step == len(history.step_history["loss"])


def test_on_train_end_runs_when_training_diverges():
    ended = []
    x, y = seed_job_data()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.05),
                         callbacks=[mg.LambdaCallback(on_train_end=lambda logs: ended.append(1))])
    with pytest.raises(mg.DivergenceError):
        trainer.fit(mg.Linear(), x, y, steps=100)
    assert ended == [1]


def test_on_divergence_must_be_raise_or_stop():
    with pytest.raises(ValueError, match="on_divergence must be 'raise' or 'stop'"):
        mg.Trainer(mg.MSE(), mg.SGD(0.01), on_divergence="ignore")


# -- interrupts ---------------------------------------------------------------------------

def test_keyboard_interrupt_keeps_the_last_completed_step_and_runs_on_train_end():
    x, y = seed_job_data()
    ended = []

    def interrupt(step, logs):
        if step == 5:
            raise KeyboardInterrupt

    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[
        mg.LambdaCallback(on_step_end=interrupt, on_train_end=lambda logs: ended.append(1))])
    model = mg.Linear()
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(model, x, y, steps=100)
    reference = mg.Linear()
    mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(reference, x, y, steps=6)
    assert model.params == reference.params or all(
        np.array_equal(model.params[k], reference.params[k]) for k in model.params)
    assert ended == [1] and trainer.step == 6 and len(trainer.history.step_history["loss"]) == 6


# -- checkpoints and resume -------------------------------------------------------------

def mini_batch_run(tmp_path, steps=40, checkpoint=None, resume_from=None, **fit_kwargs):
    x, y = mg.make_linear_data(n=100, seed=3)
    x_val, y_val = mg.make_linear_data(n=20, seed=4)
    if checkpoint is None and resume_from is not None:  # resume with the callbacks that kept state
        checkpoint = mg.ModelCheckpoint(tmp_path / "resumed-{step}.npz", every=1)
    callbacks = [checkpoint] if checkpoint else []
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.02, momentum=0.9, nesterov=True), callbacks=callbacks)
    model = mg.Linear()
    history = trainer.fit(model, x, y, steps=steps, batch_size=16, seed=11,
                          validation_data=(x_val, y_val), resume_from=resume_from, **fit_kwargs)
    return model, history, trainer


@pytest.fixture(scope="module")
def every_step_checkpoints(tmp_path_factory):
    folder = tmp_path_factory.mktemp("checkpoints")
    saver = mg.ModelCheckpoint(folder / "step-{step}.npz", every=1)
    uninterrupted = mini_batch_run(folder, checkpoint=saver)
    return folder, uninterrupted


@pytest.mark.parametrize("step", [1, 3, 7, 8, 20, 39])  # 7 batches per epoch: 7 ends epoch 0
def test_a_resumed_run_equals_the_uninterrupted_one_bit_for_bit(every_step_checkpoints, tmp_path, step):
    folder, uninterrupted = every_step_checkpoints
    resumed = mini_batch_run(tmp_path, resume_from=folder / f"step-{step}.npz")
    assert_same_run(resumed, uninterrupted)


def test_resume_from_an_epoch_end_checkpoint(every_step_checkpoints, tmp_path):
    _, uninterrupted = every_step_checkpoints
    saver = mg.ModelCheckpoint(tmp_path / "epoch-{epoch}.npz")  # every=None: at epoch ends
    mini_batch_run(tmp_path, steps=21, checkpoint=saver)  # three full epochs
    assert saver.saved[-1].endswith("epoch-3.npz")
    resumed = mini_batch_run(tmp_path, resume_from=saver.saved[-1])
    assert_same_run(resumed, uninterrupted)


def test_resume_refuses_a_checkpoint_of_another_run_shape(every_step_checkpoints):
    folder, _ = every_step_checkpoints
    x, y = mg.make_linear_data(n=50, seed=3)
    with pytest.raises(ValueError, match="different run.*examples: 100 there, 50 here"):
        mg.Trainer(mg.MSE(), mg.SGD(0.02, momentum=0.9)).fit(
            mg.Linear(), x, y, steps=5, batch_size=16, resume_from=folder / "step-3.npz")


def test_resume_refuses_a_weights_only_file(tmp_path):
    path = tmp_path / "w.npz"
    mg.Linear().save_weights(path)
    with pytest.raises(ValueError, match="w.npz is a minigd-weights file, not a minigd-checkpoint file"):
        mini_batch_run(tmp_path, resume_from=path)


def test_load_weights_reads_a_trainer_checkpoint(every_step_checkpoints):
    folder, (model, _, _) = every_step_checkpoints
    loaded = mg.Linear()
    loaded.load_weights(folder / "step-40.npz")
    assert loaded.params == model.params or all(
        np.array_equal(loaded.params[k], model.params[k]) for k in model.params)


def test_save_best_only_writes_only_improvements(tmp_path):
    x, y = mg.make_linear_data(n=100, seed=0)
    losses = []
    saver = mg.ModelCheckpoint(tmp_path / "best-{epoch}.npz", save_best_only=True,
                               monitor="val_loss", save_weights_only=True)
    history = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[saver]).fit(
        mg.Linear(), x, y, epochs=6, validation_data=(x + 5.0, y))  # val_loss worsens at some point
    losses = history.history["val_loss"]
    improved = [epoch + 1 for epoch, value in enumerate(losses)
                if value < min(losses[:epoch], default=np.inf)]
    assert [int(p.split("-")[-1].split(".")[0]) for p in saver.saved] == improved
    assert len(improved) < 6


def test_a_write_that_fails_halfway_leaves_the_old_checkpoint_intact(tmp_path, monkeypatch):
    path = tmp_path / "model.npz"
    mg.Linear(w=1.0, b=2.0).save_weights(path)
    before = path.read_bytes()

    def broken_write(file, array, **options):
        file.write(b"\x93NUMPY half an array")  # some bytes reach the disk, then the crash
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", broken_write)
    with pytest.raises(OSError, match="disk full"):
        mg.Linear(w=9.0, b=9.0).save_weights(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]
    restored = mg.Linear()
    restored.load_weights(path)
    assert float(restored.params["w"]) == 1.0


def test_an_interrupt_during_a_checkpoint_write_leaves_the_old_one(tmp_path, monkeypatch):
    path = tmp_path / "run.npz"
    x, y = mg.make_linear_data(n=10, seed=0)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01))
    trainer.fit(mg.Linear(), x, y, steps=3)
    trainer.save_checkpoint(path)
    before = path.read_bytes()

    def interrupted_write(file, array, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        trainer.save_checkpoint(path)
    assert path.read_bytes() == before and list(tmp_path.iterdir()) == [path]


def test_a_truncated_checkpoint_is_refused_with_the_file_name(tmp_path):
    path = tmp_path / "run.npz"
    mg.Linear(w=1.0).save_weights(path)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    model = mg.Linear(w=3.0)
    with pytest.raises(ValueError, match="run.npz is not a readable .npz archive"):
        model.load_weights(path)
    assert float(model.params["w"]) == 3.0


def test_a_damaged_trainer_state_is_refused(tmp_path):
    path = tmp_path / "bad.npz"
    write_archive(path, {"tree": np.array("{oops")}, checkpoints.CHECKPOINT)
    with pytest.raises(ValueError, match="trainer state is damaged"):
        mini_batch_run(tmp_path, resume_from=path)


def test_save_checkpoint_before_any_run_explains():
    with pytest.raises(ValueError, match="during or after fit"):
        mg.Trainer(mg.MSE(), mg.SGD(0.01)).save_checkpoint("never.npz")


# -- reproducibility ----------------------------------------------------------------------

@pytest.mark.parametrize("gradients", ["analytic", "tape"])
def test_the_same_seed_gives_bit_identical_runs(tmp_path, gradients):
    def run():
        x, y = mg.make_linear_data(n=200, w=[1.0, -1.0], seed=5)
        model = mg.Linear(features=2)
        history = mg.Trainer(mg.MSE(), mg.SGD(0.01, momentum=0.5), gradients=gradients).fit(
            model, x, y, epochs=3, batch_size=32, seed=9)
        return model.params, history.step_history["loss"]

    (params_a, loss_a), (params_b, loss_b) = run(), run()
    assert loss_a == loss_b
    assert all(np.array_equal(params_a[k], params_b[k]) for k in params_a)


# -- remaining boundaries ------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: mg.MSE()([1.0, 2.0, 3.0], [1.0, 2.0]), r"y_true.*\(3,\).*y_pred.*\(2,\)"),
    (lambda: mg.MSE()(["a"], [1.0]), "y_true must be an array of real numbers"),
    (lambda: mg.Linear()(["a", "b"]), "x has dtype"),
    (lambda: mg.Linear()([[1.0, 2.0]]), r"x has shape \(1, 2\)"),
    (lambda: mg.EarlyStopping(patience=-1), "patience must be a whole number >= 0"),
    (lambda: mg.EarlyStopping(monitor=None), "monitor must be a logs key"),
    (lambda: mg.ModelCheckpoint("x.npz", every=0), "every must be a whole number >= 1"),
    (lambda: mg.StepLogger(every=0), "every must be a whole number >= 1"),
    (lambda: mg.Linear(features=0), "features must be a whole number >= 1"),
    (lambda: mg.NumericGradients(epsilon=0), "epsilon must be a finite number"),
])
def test_more_bad_input_is_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()
