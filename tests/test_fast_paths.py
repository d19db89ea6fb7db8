"""Every fast path gives the numbers of the plain path it replaces (to 1e-12)."""

import io
import warnings

import numpy as np
import pytest
from helpers import QuadraticWithGradient, assert_same_log, assert_same_run

import minigd as mg
from minigd.tape import _CompiledStep

OPTIMIZERS = {
    "plain": dict(learning_rate=0.01),
    "momentum": dict(learning_rate=0.005, momentum=0.9),
    "nesterov": dict(learning_rate=0.005, momentum=0.9, nesterov=True),
}


def train(gradients, optimizer, model=None, x=None, y=None, callbacks=(), **fit):
    if x is None:
        x, y = mg.make_linear_data(n=120, w=[1.5, -0.5], b=0.3, seed=8)
    model = model or mg.Linear(features=x.shape[1] if x.ndim == 2 else None)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(**optimizer), gradients=gradients, callbacks=list(callbacks))
    history = trainer.fit(model, x, y, **fit)
    return model, history, trainer


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("features", [None, 2])
def test_fused_analytic_equals_the_textbook_chain(optimizer, features):
    x, y = (mg.make_linear_data(n=120, seed=8) if features is None
            else mg.make_linear_data(n=120, w=[1.5, -0.5], seed=8))
    fused = train(mg.AnalyticGradients(fused=True), OPTIMIZERS[optimizer], x=x, y=y,
                  steps=200, batch_size=50, seed=1)
    plain = train(mg.AnalyticGradients(fused=False), OPTIMIZERS[optimizer], x=x, y=y,
                  steps=200, batch_size=50, seed=1)
    assert_same_run(fused, plain, rtol=1e-12)


def test_the_fused_path_is_used_only_for_mse():
    class Halved(mg.MSE):
        def compute(self, y_true, y_pred):
            return super().compute(y_true, y_pred) / 2

    x, y = mg.make_linear_data(n=10, seed=0)
    model = mg.Linear(w=0.3)
    assert model.fused_value_and_grad(Halved(), model.params, x, y) is None
    assert model.fused_value_and_grad(mg.MSE(), model.params, x, y) is not None


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_compiled_tape_step_equals_the_eager_tape_and_numpy_update(optimizer):
    compiled = train(mg.TapeGradients(compiled=True), OPTIMIZERS[optimizer], steps=150, batch_size=50, seed=2)
    eager = train(mg.TapeGradients(compiled=False), OPTIMIZERS[optimizer], steps=150, batch_size=50, seed=2)
    analytic = train("analytic", OPTIMIZERS[optimizer], steps=150, batch_size=50, seed=2)
    assert isinstance(compiled[2]._step, _CompiledStep) and not isinstance(eager[2]._step, _CompiledStep)
    assert_same_run(compiled, eager, rtol=1e-12)
    assert_same_run(compiled, analytic, rtol=1e-12)


def test_compiled_tape_follows_a_learning_rate_changed_by_a_callback():
    def schedule(step, logs):
        if step == 20:
            schedule.trainer.optimizer.learning_rate = 0.001

    runs = []
    for gradients in ("tape", "analytic"):
        callback = mg.LambdaCallback(on_step_begin=schedule)
        schedule.trainer = None
        x, y = mg.make_linear_data(n=50, seed=3)
        trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01, momentum=0.5), gradients=gradients, callbacks=[callback])
        schedule.trainer = trainer
        model = mg.Linear()
        runs.append((model, trainer.fit(model, x, y, steps=60), trainer))
    assert runs[0][2].optimizer.learning_rate == 0.001
    assert_same_run(*runs, rtol=1e-12)


def test_compiled_tape_sees_parameters_set_from_outside():
    x, y = mg.make_linear_data(n=50, seed=4)

    def reset(step, logs):
        if step == 10:
            reset.model.set_weights({"w": 0.0, "b": 0.0})

    results = []
    for gradients in ("tape", "analytic"):
        model = mg.Linear()
        reset.model = model
        trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=gradients,
                             callbacks=[mg.LambdaCallback(on_step_end=reset)])
        results.append((model, trainer.fit(model, x, y, steps=30), trainer))
    assert_same_run(*results, rtol=1e-12)


def test_a_resumed_compiled_tape_run_equals_the_uninterrupted_one(tmp_path):
    saver = mg.ModelCheckpoint(tmp_path / "step-{step}.npz", every=5)
    options = dict(steps=30, batch_size=32, seed=6)
    uninterrupted = train("tape", OPTIMIZERS["nesterov"], callbacks=[saver], **options)
    again = mg.ModelCheckpoint(tmp_path / "again-{step}.npz", every=5)
    resumed = train("tape", OPTIMIZERS["nesterov"], callbacks=[again], resume_from=tmp_path / "step-15.npz",
                    **options)
    assert_same_run(resumed, uninterrupted, rtol=0)


def test_user_models_use_the_compiled_step_too(quadratic_data):
    x, y = quadratic_data
    compiled = train("tape", OPTIMIZERS["momentum"], model=QuadraticWithGradient(), x=x, y=y, steps=100)
    analytic = train("analytic", OPTIMIZERS["momentum"], model=QuadraticWithGradient(), x=x, y=y, steps=100)
    assert_same_run(compiled, analytic, rtol=1e-12)


class CountingCallback(mg.Callback):
    def __init__(self):
        self.steps = 0

    def on_step_end(self, step, logs):
        self.steps += 1


def test_callbacks_that_leave_a_hook_empty_are_not_called_for_it(monkeypatch):
    called = []
    monkeypatch.setattr(mg.Callback, "on_step_begin", lambda self, step, logs: called.append(step))
    counter = CountingCallback()
    x, y = mg.make_linear_data(n=10, seed=0)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[counter]).fit(mg.Linear(), x, y, steps=5)
    assert counter.steps == 5
    # the base method was replaced *after* the class was defined, so nothing overrides it:
    # the trainer sees it as the base hook and calls it for no callback
    assert called == []


# -- several steps per compiled call (chunks) --------------------------------------------------

def full_batch(gradients, optimizer, every=None, steps=120, callbacks=(), model=None, data=None, **fit):
    """A full-batch run; a StepLogger every ``every`` steps ends a chunk there."""
    x, y = data if data is not None else mg.make_linear_data(n=200, seed=9)
    stream = io.StringIO()
    logger = [mg.StepLogger(every=every, stream=stream)] if every else []
    run = train(gradients, optimizer, model=model, x=x, y=y, callbacks=[*logger, *callbacks], steps=steps,
                **fit)
    return run, stream.getvalue()


class EveryStep(mg.Callback):
    """Needs every step live (the default for a callback with a step hook)."""

    def on_step_end(self, step, logs):
        pass


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_chunked_tape_equals_the_per_step_tape_bit_for_bit_and_analytic(optimizer):
    per_step, per_step_log = full_batch("tape", OPTIMIZERS[optimizer], every=7, callbacks=[EveryStep()])
    chunked, chunked_log = full_batch("tape", OPTIMIZERS[optimizer], every=7)
    one_chunk, _ = full_batch("tape", OPTIMIZERS[optimizer])
    analytic, analytic_log = full_batch("analytic", OPTIMIZERS[optimizer], every=7)
    assert_same_run(chunked, per_step)  # the same arithmetic: bit for bit
    assert_same_run(one_chunk, per_step)
    assert chunked_log == per_step_log  # the StepLogger's lines, character for character
    assert_same_run(chunked, analytic, rtol=1e-12)
    assert_same_log(chunked_log.splitlines(), analytic_log.splitlines(), rtol=1e-12)


def test_chunks_end_where_the_callbacks_need_python(monkeypatch):
    calls = []
    original = _CompiledStep.run_steps

    def spy(self, params, state, x, y, learning_rates, guard):
        calls.append(len(learning_rates))
        return original(self, params, state, x, y, learning_rates, guard)

    monkeypatch.setattr(_CompiledStep, "run_steps", spy)
    (model, history, trainer), log = full_batch("tape", OPTIMIZERS["plain"], every=50, steps=120)
    # step 0, then up to 50, 100 and the run's last step, 119
    assert calls == [1, 50, 50, 19]
    assert history.steps == list(range(120)) and history.epoch == list(range(120))
    assert [line.split(",")[0] for line in log.splitlines()[:-1]] == [
        "iteration:0", "iteration:50", "iteration:100"]


def test_every_hook_sees_every_step_of_a_chunk_in_order():
    seen = []

    class Recorder(mg.Callback):
        def next_step_needed(self, step):
            return None  # only records: may take the logs after the chunk

        def on_epoch_begin(self, epoch, logs):
            seen.append(("epoch_begin", epoch))

        def on_step_begin(self, step, logs):
            seen.append(("step_begin", step))

        def on_step_end(self, step, logs):
            seen.append(("step_end", step, logs["loss"], logs["learning_rate"]))

        def on_epoch_end(self, epoch, logs):
            seen.append(("epoch_end", epoch, logs["loss"]))

    schedule = mg.schedules.ExponentialDecay(0.01, decay_steps=10, decay_rate=0.5)
    (_, history, _), _ = full_batch("tape", dict(learning_rate=schedule), steps=30, callbacks=[Recorder()])
    expected = []
    for step in range(30):
        loss, rate = history.step_history["loss"][step], history.step_history["learning_rate"][step]
        expected += [("epoch_begin", step), ("step_begin", step), ("step_end", step, loss, rate),
                     ("epoch_end", step, loss)]
    assert seen == expected
    assert history.step_history["learning_rate"] == [schedule(step) for step in range(30)]


def test_a_schedule_inside_a_chunk_equals_the_analytic_run():
    schedule = mg.schedules.ExponentialDecay(0.02, decay_steps=5, decay_rate=0.7)
    chunked, _ = full_batch("tape", dict(learning_rate=schedule, momentum=0.5), steps=60)
    analytic, _ = full_batch("analytic", dict(learning_rate=schedule, momentum=0.5), steps=60)
    assert_same_run(chunked, analytic, rtol=1e-12)


@pytest.mark.parametrize("gradients", ["tape", "analytic"])
def test_stop_training_from_a_callback_stops_at_that_step(gradients):
    class StopAt(mg.Callback):
        def next_step_needed(self, step):
            return max(step, 37) if step <= 37 else None

        def on_step_end(self, step, logs):
            if step == 37:
                self.trainer.stop_training = True

    (model, history, trainer), _ = full_batch(gradients, OPTIMIZERS["momentum"], every=50, steps=200,
                                              callbacks=[StopAt()])
    reference, _ = full_batch(gradients, OPTIMIZERS["momentum"], every=50, steps=38)
    assert trainer.step == 38 and trainer.stop_reason == "stopped"
    assert_same_run((model, history, trainer), reference)


@pytest.mark.parametrize("gradients", ["tape", "analytic"])
def test_a_divergence_mid_chunk_stops_at_that_step_with_the_last_good_parameters(gradients):
    x, y = mg.make_linear_data(n=200, seed=9)
    options = dict(learning_rate=0.05, momentum=0.5)  # above the stable bound: the loss grows
    with pytest.raises(mg.DivergenceError) as caught:
        full_batch(gradients, options, steps=5000, data=(x, y))
    bad_step = caught.value.step
    assert 1 < bad_step < 5000
    # the same run, one step at a time and stopped by the step count just before it
    reference, _ = full_batch(gradients, options, steps=bad_step, data=(x, y), callbacks=[EveryStep()])
    trainer = mg.Trainer(mg.MSE(), mg.SGD(**options), gradients=gradients, on_divergence="stop")
    model = mg.Linear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        history = trainer.fit(model, x, y, steps=5000)
    assert trainer.step == bad_step and trainer.divergence.step == bad_step
    assert trainer.divergence.loss == caught.value.loss
    assert_same_run((model, history, trainer), reference)


class SaveEvery(mg.Callback):
    """A checkpoint after every ``every``-th step, needing only those steps live."""

    def __init__(self, path, every):
        self.path, self.every = path, every

    def next_step_needed(self, step):
        return step + (-(step + 1)) % self.every

    def on_step_end(self, step, logs):
        if (step + 1) % self.every == 0:
            self.trainer.save_checkpoint(str(self.path).format(step=step + 1))


def test_a_resumed_chunked_run_equals_the_uninterrupted_one_bit_for_bit(tmp_path):
    uninterrupted, _ = full_batch("tape", OPTIMIZERS["nesterov"], every=10, steps=100,
                                  callbacks=[SaveEvery(tmp_path / "step-{step}.npz", 25)])
    # a StepLogger may come and go (it keeps no state): with one every 7 steps, the resumed
    # run's chunks end at steps 28, 35, 42, 49, 56, ...; the uninterrupted run's at 30, 40, 49, 50, ...
    resumed, _ = full_batch("tape", OPTIMIZERS["nesterov"], every=7, steps=100,
                            callbacks=[SaveEvery(tmp_path / "again-{step}.npz", 25)],
                            resume_from=tmp_path / "step-25.npz")
    assert_same_run(resumed, uninterrupted)


def test_the_mlp_under_chunks_equals_the_analytic_backward():
    x, y = mg.make_sine_data(n=64, seed=0)

    def mlp():
        return mg.Sequential([mg.Dense(8, "tanh"), mg.Dense(1)], seed=3)

    chunked, _ = full_batch("tape", OPTIMIZERS["momentum"], steps=80, model=mlp(), data=(x, y))
    analytic, _ = full_batch("analytic", OPTIMIZERS["momentum"], steps=80, model=mlp(), data=(x, y))
    assert_same_run(chunked, analytic, rtol=1e-9)


@pytest.mark.parametrize("model", ["linear", "mlp"])
def test_xla_agrees_with_the_plain_tape_to_1e9(model):
    x, y = mg.make_sine_data(n=64, seed=0) if model == "mlp" else mg.make_linear_data(n=200, seed=9)

    def make():
        return mg.Sequential([mg.Dense(8, "tanh"), mg.Dense(1)], seed=3) if model == "mlp" else mg.Linear()

    xla, xla_log = full_batch(mg.TapeGradients(jit_compile=True), OPTIMIZERS["momentum"], every=20, steps=80,
                              model=make(), data=(x, y))
    plain, plain_log = full_batch("tape", OPTIMIZERS["momentum"], every=20, steps=80, model=make(),
                                  data=(x, y))
    assert_same_run(xla, plain, rtol=1e-9)
    if model == "linear":  # the MLP's lines show arrays
        assert_same_log(xla_log.splitlines(), plain_log.splitlines(), rtol=1e-9)


def test_a_later_fit_of_the_same_model_reuses_the_traced_step():
    x, y = mg.make_linear_data(n=50, seed=4)
    tape = mg.TapeGradients()
    trainer, model = mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=tape), mg.Linear()
    trainer.fit(model, x, y, steps=20)
    model.set_weights({"w": 0.0, "b": 0.0})
    trainer.optimizer_state = None
    history = trainer.fit(model, x, y, steps=20)
    fresh = train("tape", OPTIMIZERS["plain"], x=x, y=y, steps=20)
    assert tape.trace_count == 1
    assert_same_run((model, history, trainer), fresh)
    trainer.optimizer.momentum, trainer.optimizer_state = 0.5, None  # another setting: another trace
    trainer.fit(model, x, y, steps=2)
    assert tape.trace_count == 2


def test_a_chunk_cut_short_by_ctrl_c_leaves_nothing_behind(monkeypatch):
    """Ctrl-C right after TensorFlow returns a chunk: nothing of it is committed, and a
    later fit of the same model carries on from the last committed step exactly."""
    x, y = mg.make_linear_data(n=200, seed=9)
    original = _CompiledStep._steps_for
    calls = []

    def interrupted_once(self, x_shape, y_shape):
        function = original(self, x_shape, y_shape)

        def call(*args):
            result = function(*args)  # the variables now hold the chunk's last values
            calls.append(len(calls))
            if len(calls) == 3:
                raise KeyboardInterrupt
            return result
        return call

    monkeypatch.setattr(_CompiledStep, "_steps_for", interrupted_once)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(**OPTIMIZERS["momentum"]), gradients="tape",
                         callbacks=[mg.StepLogger(every=10, stream=io.StringIO())])
    model = mg.Linear()
    with pytest.raises(KeyboardInterrupt):
        trainer.fit(model, x, y, steps=100)
    assert trainer.step == 11 and trainer.history.steps == list(range(11))  # chunks [0], [1..10]
    trainer.fit(model, x, y, steps=89)
    monkeypatch.setattr(_CompiledStep, "_steps_for", original)
    straight, _ = full_batch("tape", OPTIMIZERS["momentum"], every=10, steps=100, data=(x, y))
    for name in model.params:
        assert model.params[name] == straight[0].params[name]
    assert trainer.optimizer_state["iterations"] == 100


def test_parameters_stay_float64_arrays_under_every_provider():
    x, y = mg.make_linear_data(n=50, seed=0)
    for gradients in ("analytic", "tape", "numeric"):
        model = mg.Linear()
        mg.Trainer(mg.MSE(), mg.SGD(0.01, momentum=0.5), gradients=gradients).fit(model, x, y, steps=5)
        assert all(type(value) is np.ndarray and value.dtype == np.float64
                   for value in model.params.values()), (gradients, model.params)


class Saturated(mg.Model):
    """tanh(a) * x + b: the loss stays finite however large ``a`` grows, even infinite."""

    def __init__(self):
        super().__init__(a=1.0, b=0.0)

    def forward(self, params, x):
        return mg.ops.tanh(params["a"]) * x + params["b"]


class Exploding(mg.SGD):
    """SGD that also multiplies ``a`` by 1e100 each step: infinite after the fourth."""

    def update(self, grads, state, params, learning_rate):
        new_params, new_state = super().update(grads, state, params, learning_rate)
        return {**new_params, "a": params["a"] * 1e100}, new_state


def test_a_chunk_stops_where_an_update_makes_a_parameter_infinite_though_the_loss_is_finite():
    x, y = mg.make_linear_data(n=50, seed=0)
    runs = []
    for callbacks in ([], [EveryStep()]):  # one chunk, and one step per call
        trainer = mg.Trainer(mg.MSE(), Exploding(0.01), gradients="tape", callbacks=callbacks,
                             on_divergence="stop")
        model = Saturated()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            runs.append((model, trainer.fit(model, x, y, steps=20), trainer))
    chunked, per_step = runs[0][2], runs[1][2]
    assert chunked.step == per_step.step == 3 and chunked.divergence.step == 3
    assert np.isfinite(chunked.divergence.loss) and chunked.divergence.loss == per_step.divergence.loss
    assert chunked._guard.get_state() == per_step._guard.get_state()
    assert_same_run(*runs)
