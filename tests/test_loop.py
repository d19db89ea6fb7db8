"""The training loop's promises, one test per finding of issue 10's adversarial run."""

import ast
import os
import random
import signal
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same_run

import minigd as mg

MINIGD = Path(mg.__file__).parent


def reference_data(n=200, seed=0):
    return mg.make_linear_data(n=n, seed=seed)


def run(tmp_path, steps=30, resume_from=None, batch_size=None, shuffle=True, optimizer=None,
        data=None, save_every=None, callbacks=None, model=None):
    """A run with EarlyStopping (it keeps state) and, if asked, a checkpoint every step."""
    x, y = data if data is not None else reference_data()
    stopper = mg.EarlyStopping(monitor="loss", patience=3, min_delta=1e-4, restore_best_weights=True)
    saver = mg.ModelCheckpoint(tmp_path / ("step-{step}.npz" if save_every else "unused-{step}.npz"),
                               every=save_every or 10**9)
    trainer = mg.Trainer(mg.MSE(), optimizer or mg.SGD(0.02, momentum=0.9),
                         callbacks=[stopper, saver, *(callbacks or [])])
    model = model if model is not None else mg.Linear()
    history = trainer.fit(model, x, y, steps=steps, batch_size=batch_size, shuffle=shuffle, seed=5,
                          resume_from=resume_from)
    return model, history, trainer


# -- resume, bit for bit, at every step ------------------------------------------------------

@pytest.mark.parametrize("batch_size, shuffle", [(None, True), (64, False), (64, True)],
                         ids=["full batch", "unshuffled", "shuffled"])
def test_resume_equals_the_uninterrupted_run_at_every_step(tmp_path, batch_size, shuffle):
    uninterrupted = run(tmp_path, batch_size=batch_size, shuffle=shuffle, save_every=1)
    for step in range(1, uninterrupted[2].step + 1):
        resumed = run(tmp_path / "again", batch_size=batch_size, shuffle=shuffle,
                      resume_from=tmp_path / f"step-{step}.npz")
        assert_same_run(resumed, uninterrupted)
        assert resumed[1].history == uninterrupted[1].history  # the last epoch's records too


def test_early_stopping_state_travels_in_the_checkpoint(tmp_path):
    # stops at the same epoch, with the same best, as the run that was never interrupted
    x = np.linspace(-1, 1, 50)
    data = (x, 3 * x + 0.1 * np.sin(40 * x))
    uninterrupted = run(tmp_path, steps=400, save_every=1, data=data, optimizer=mg.SGD(0.5))
    stopper = uninterrupted[2].callbacks[0]
    assert stopper.stopped_epoch is not None
    resumed = run(tmp_path / "again", steps=400, data=data, optimizer=mg.SGD(0.5),
                  resume_from=tmp_path / f"step-{stopper.stopped_epoch - 1}.npz")
    assert resumed[2].callbacks[0].stopped_epoch == stopper.stopped_epoch
    assert_same_run(resumed, uninterrupted)


@pytest.mark.parametrize("change, words", [
    (dict(optimizer=mg.SGD(0.02)), "optimizer: 'SGD.*momentum=0.9.*momentum=0.0"),
    (dict(optimizer=mg.SGD(0.02, momentum=0.5)), "optimizer"),
    (dict(optimizer=mg.SGD(0.02, momentum=0.9, nesterov=True)), "nesterov=True"),
    (dict(data=reference_data(seed=1)), "data: "),
    (dict(batch_size=64, shuffle=False), "batch_size: 200 there, 64 here"),
])
def test_resuming_another_run_names_what_differs(tmp_path, change, words):
    run(tmp_path, steps=3, save_every=3)
    with pytest.raises(ValueError, match=words):
        run(tmp_path / "again", resume_from=tmp_path / "step-3.npz", **change)


def test_resuming_with_shuffle_flipped_is_refused(tmp_path):
    run(tmp_path, steps=3, batch_size=64, save_every=3)
    with pytest.raises(ValueError, match="shuffle: True there, False here"):
        run(tmp_path / "again", batch_size=64, shuffle=False, resume_from=tmp_path / "step-3.npz")


def test_resuming_without_a_stateful_callback_is_refused_and_changes_nothing(tmp_path):
    run(tmp_path, steps=3, save_every=3)
    x, y = reference_data()
    optimizer = mg.SGD(0.02, momentum=0.9)
    trainer, model = mg.Trainer(mg.MSE(), optimizer), mg.Linear(w=7.0, b=7.0)
    with pytest.raises(ValueError, match=r"step-3\.npz: .*EarlyStopping"):
        trainer.fit(model, x, y, steps=30, seed=5, resume_from=tmp_path / "step-3.npz")
    assert model.get_weights() == {"w": 7.0, "b": 7.0}  # not the checkpoint's weights
    assert not trainer.optimizer_state["velocity"]["w"] and optimizer.learning_rate == 0.02


def test_a_checkpoint_with_a_damaged_tree_is_refused_and_changes_nothing(tmp_path):
    from minigd import checkpoints

    run(tmp_path, steps=3, save_every=3)
    content = checkpoints.read_checkpoint(tmp_path / "step-3.npz")
    del content["run"]  # as if edited by hand
    checkpoints.write_checkpoint(tmp_path / "edited.npz", content)
    model = mg.Linear(w=7.0, b=7.0)
    with pytest.raises(ValueError, match=r"edited\.npz: the trainer state is damaged \(KeyError\('run'\)\)"):
        run(tmp_path / "again", resume_from=tmp_path / "edited.npz", model=model)
    assert model.get_weights() == {"w": 7.0, "b": 7.0}


# -- Ctrl-C at any instant --------------------------------------------------------------------

def test_ctrl_c_at_random_instants_leaves_one_whole_step_that_resumes_exactly(tmp_path):
    """SIGINT from a timer thread, at random times; after each, the state is one whole step."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    x, y = reference_data(n=500)
    started = time.perf_counter()
    uninterrupted = run(tmp_path, steps=400, batch_size=100, data=(x, y))
    duration = time.perf_counter() - started  # the timers fall within a run of this length
    rng = random.Random(1)
    interrupted_at = set()
    armed = False

    def ctrl_c(signum, frame):  # Python's own behaviour, but only while a run is under test:
        if armed:               # a signal that lands after it must not stop the test session
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, ctrl_c)
    try:
        for attempt in range(40):
            model = mg.Linear()
            trainer = mg.Trainer(mg.MSE(), mg.SGD(0.02, momentum=0.9), callbacks=[
                mg.EarlyStopping(monitor="loss", patience=3, min_delta=1e-4, restore_best_weights=True),
                mg.ModelCheckpoint(tmp_path / "unused-{step}.npz", every=10**9)])
            timer = threading.Timer(rng.uniform(0.0, duration), os.kill, (os.getpid(), signal.SIGINT))
            armed = True
            try:
                timer.start()
                trainer.fit(model, x, y, steps=400, batch_size=100, seed=5)
            except KeyboardInterrupt:
                pass
            finally:
                armed = False
                timer.cancel()
                timer.join()
            if trainer.history is None:  # stopped before fit had set anything up
                continue
            step = trainer.step
            assert trainer.history.steps == list(range(step))  # one record per completed step
            assert trainer.optimizer_state["iterations"] == step
            if 0 < step < 400:
                interrupted_at.add(step)
                path = tmp_path / f"ctrl-c-{attempt}.npz"
                trainer.save_checkpoint(path)
                resumed = run(tmp_path / "again", steps=400, batch_size=100, data=(x, y), resume_from=path)
                assert_same_run(resumed, uninterrupted)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert len(interrupted_at) >= 5, interrupted_at  # the timer did land mid-run, many times


def test_a_callback_that_raises_still_gets_on_train_end_called():
    ended = []

    class Broken(mg.Callback):
        def on_step_end(self, step, logs):
            if step == 3:
                raise RuntimeError("a bug in my callback")

    closer = mg.LambdaCallback(on_train_end=lambda logs: ended.append(True))
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[Broken(), closer])
    with pytest.raises(RuntimeError, match="a bug in my callback"):
        trainer.fit(mg.Linear(), *reference_data(), steps=10)
    assert ended == [True] and trainer.stop_reason == "error" and trainer.step == 4


# -- optimizer state belongs to the model -------------------------------------------------------

def test_a_new_model_starts_with_a_fresh_optimizer_state():
    x, y = reference_data()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01, momentum=0.9))
    trainer.fit(mg.Linear(), x, y, steps=20)
    second = mg.Linear()
    trainer.fit(second, x, y, steps=20)
    fresh = mg.Linear()
    mg.Trainer(mg.MSE(), mg.SGD(0.01, momentum=0.9)).fit(fresh, x, y, steps=20)
    assert second.params == fresh.params or all(
        np.array_equal(second.params[k], fresh.params[k]) for k in fresh.params)
    # other shapes: no broadcast error from an old velocity
    trainer.fit(mg.Linear(features=2), *mg.make_linear_data(n=50, w=[1.0, 2.0], seed=0), steps=5)


def test_fitting_the_same_model_again_continues_its_state():
    x, y = reference_data()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01, momentum=0.9))
    model = mg.Linear()
    trainer.fit(model, x, y, steps=10)
    trainer.fit(model, x, y, steps=10)
    straight = mg.Linear()
    mg.Trainer(mg.MSE(), mg.SGD(0.01, momentum=0.9)).fit(straight, x, y, steps=20)
    assert all(np.array_equal(model.params[k], straight.params[k]) for k in model.params)


# -- divergence ------------------------------------------------------------------------------

def test_overflowing_data_points_at_the_data_scale_and_keeps_parameters_finite():
    x = np.array([1e160, -2e160, 3e200, 1e300])
    model = mg.Linear(w=0.5)
    with pytest.raises(mg.DivergenceError, match=r"too large.*2e\+300.*Standardise") as caught:
        mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(model, x, 2 * x, steps=5)
    assert caught.value.step == 0 and "nan" not in str(caught.value)
    assert float(model.params["w"]) == 0.5 and float(model.params["b"]) == 0.0


def test_a_first_loss_that_is_not_finite_on_ordinary_data_points_at_the_predictions():
    x, labels = mg.make_spiral_data(n=30, seed=0)
    model = mg.Sequential([mg.Dense(3)], seed=0)  # no softmax: rows are no probabilities
    with pytest.raises(mg.DivergenceError, match=r"ordinary size.*probabilities in \(0, 1\)") as caught:
        mg.Trainer(mg.CategoricalCrossentropy(), mg.SGD(0.1)).fit(model, x, np.eye(3)[labels], steps=3)
    assert "too large" not in str(caught.value)


def test_a_curvature_too_large_to_measure_gives_no_learning_rate_bound():
    x, y = reference_data(n=50)
    with pytest.raises(mg.DivergenceError, match="too large to measure") as caught:
        mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(mg.Linear(), x * 1e200, y, steps=5)
    assert caught.value.stable_learning_rate is None and "learning_rate < 0" not in str(caught.value)


def test_after_on_divergence_stop_the_state_is_the_same_under_every_provider():
    x, y = reference_data()
    states = []
    for gradients in ("analytic", "tape"):
        trainer = mg.Trainer(mg.MSE(), mg.SGD(0.05, momentum=0.5), gradients=gradients,
                             on_divergence="stop")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            trainer.fit(mg.Linear(), x, y, steps=1000)
        assert trainer.divergence is not None
        states.append((trainer.step, trainer.optimizer_state["velocity"]["w"], trainer.model.params["w"]))
    (step_a, velocity_a, w_a), (step_b, velocity_b, w_b) = states
    assert step_a == step_b
    np.testing.assert_allclose([velocity_a, w_a], [velocity_b, w_b], rtol=1e-9)


def test_restore_best_weights_on_loss_restores_the_parameters_that_produced_it():
    x, y = reference_data()
    stopper = mg.EarlyStopping(monitor="loss", patience=2, restore_best_weights=True)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.032), callbacks=[stopper], on_divergence="stop")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        trainer.fit(mg.Linear(), x, y, steps=200)
    assert stopper.stopped_epoch is not None
    assert mg.MSE()(y, trainer.model(x)) == pytest.approx(stopper.best, rel=1e-12)


# -- the model's and the provider's contracts ------------------------------------------------------

class LinearBackward(mg.Linear):
    """A student's hand backward, with a chosen mistake."""

    def __init__(self, mistake):
        super().__init__()
        self.mistake = mistake

    def fused_value_and_grad(self, loss, params, x, y):
        return None  # always the hand chain

    def backward(self, params, x, grad_y_pred):
        if self.mistake == "forgot to sum":
            return {"w": grad_y_pred * x, "b": grad_y_pred.sum()}
        return {"w": grad_y_pred @ x}  # forgot b


@pytest.mark.parametrize("mistake, words", [
    ("forgot to sum", r"gradient of parameter 'w' has shape \(200,\).*shape \(\).*forget to sum"),
    ("missing b", r"missing \['b'\]"),
])
def test_a_wrong_backward_is_named_before_it_trains(mistake, words):
    model = LinearBackward(mistake)
    with pytest.raises(ValueError, match=words):
        mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(model, *reference_data(), steps=5)
    assert model.params["w"].shape == () and float(model.params["w"]) == 0.0


def test_a_forward_that_reads_self_params_is_named():
    class ReadsSelf(mg.Model):
        def __init__(self):
            super().__init__(w=0.0, b=0.0)

        def forward(self, params, x):
            return self.params["w"] * x + params["b"]

    for gradients in ("numeric", "analytic", "tape"):
        with pytest.raises(ValueError, match=r"reads self.params\['w'\] instead of its params argument"):
            mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients="numeric" if gradients == "analytic" else gradients
                       ).fit(ReadsSelf(), *reference_data(), steps=5)


def test_an_intercept_of_the_wrong_shape_is_refused_at_once():
    with pytest.raises(ValueError, match=r"b must be a number.*\(2,\)"):
        mg.Linear(b=[1.0, 2.0])


def test_a_forward_that_fails_on_the_data_is_named_before_training():
    class Broadcasts(mg.Model):
        def __init__(self):
            super().__init__(w=[1.0, 2.0])

        def forward(self, params, x):
            return params["w"] * x

    with pytest.raises(ValueError, match=r"Broadcasts.forward failed on x of shape \(200,\)"):
        mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients="tape").fit(Broadcasts(), *reference_data(), steps=1)


# -- printing big models -----------------------------------------------------------------------

class Wide(mg.Model):
    def __init__(self):
        super().__init__(kernel=np.linspace(-1, 1, 64), bias=0.0)

    def forward(self, params, x):
        return mg.ops.matvec(mg.ops.tanh(x[:, None] * np.ones(64)), params["kernel"]) + params["bias"]


def test_step_logger_and_gradient_table_stay_one_short_line_per_parameter(capsys):
    x, y = mg.make_sine_data(n=100, seed=0) if hasattr(mg, "make_sine_data") else reference_data(n=100)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients="tape",
               callbacks=[mg.StepLogger(every=1)]).fit(Wide(), x, y, steps=2)
    mg.check_gradients(Wide(), mg.MSE(), x, y, providers=("tape", "numeric"))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 10 and max(map(len, lines)) < 400, lines
    assert any("shape=(64,)" in line for line in lines)


# -- no special cases for concrete classes ------------------------------------------------------------

@pytest.mark.parametrize("module", ["trainer.py", "gradients.py", "tape.py"])
def test_the_loop_has_no_isinstance_on_concrete_models_losses_or_optimizers(module):
    concrete = {"Linear", "MSE", "SGD", "Dense", "Sequential", "Adam", "RMSprop", "Adagrad"}
    tree = ast.parse((MINIGD / module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("isinstance", "type"):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & concrete, ast.unparse(node)
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            assert not names & concrete, ast.unparse(node)
