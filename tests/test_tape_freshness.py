"""The compiled tape computes from the values it is given, never from stale copies: weights
or data changed in place, and a loss's settings changed after tracing, give the numbers
the analytic provider gives."""

import numpy as np
import pytest

import minigd as mg

pytest.importorskip("tensorflow")

PROVIDERS = ("analytic", "tape")


def final_weights(run) -> dict:
    return {provider: run(provider) for provider in PROVIDERS}


def assert_same(results):
    analytic, tape = results["analytic"], results["tape"]
    for name in analytic:
        np.testing.assert_allclose(tape[name], analytic[name], rtol=1e-12, atol=1e-15)


def test_a_weight_changed_in_place_between_fits():
    def run(provider):
        x, y = mg.make_linear_data(n=200, seed=0)
        model, trainer = mg.Linear(), mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=provider)
        trainer.fit(model, x, y, steps=100)
        model.params["w"] += 10.0  # same array object, new number
        trainer.fit(model, x, y, steps=1)
        return model.get_weights()

    results = final_weights(run)
    assert abs(float(results["tape"]["w"]) - 1.915) > 1  # the edit was seen
    assert_same(results)


def test_data_changed_in_place_between_fits():
    def run(provider):
        x, y = mg.make_linear_data(n=200, seed=0)
        model, trainer = mg.Linear(), mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=provider)
        trainer.fit(model, x, y, steps=100)
        x *= 0.5
        trainer.fit(model, x, y, steps=100)
        return model.get_weights()

    assert_same(final_weights(run))


class ClipEvery10(mg.Callback):
    """Clips the weights in place at every 10th step (and says so: the steps between
    may run as one chunk)."""

    def next_step_needed(self, step):
        return step + (-step) % 10

    def on_step_end(self, step, logs):
        if step % 10 == 0:
            for value in self.model.params.values():
                np.clip(value, -0.5, 0.5, out=value)


@pytest.mark.parametrize("every_step", [False, True])
def test_a_callback_that_clips_weights_in_place_during_the_run(every_step):
    def run(provider):
        x, y = mg.make_linear_data(n=200, seed=0)
        clipper = ClipEvery10()
        if every_step:  # no next_step_needed: every step is live
            clipper.next_step_needed = mg.Callback.next_step_needed.__get__(clipper)
        trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=provider, callbacks=[clipper])
        model = mg.Linear()
        trainer.fit(model, x, y, steps=55)  # 4 steps after the last clip
        return model.get_weights()

    results = final_weights(run)
    assert_same(results)


def test_a_loss_setting_changed_after_tracing():
    def run(provider):
        x, y = mg.make_linear_data(n=200, seed=0)
        huber = mg.Huber(delta=1.0)
        model, trainer = mg.Linear(), mg.Trainer(huber, mg.SGD(0.01), gradients=provider)
        trainer.fit(model, x, y, steps=20)
        huber.delta = 0.1
        trainer.fit(model, x, y, steps=20)
        return model.get_weights()

    assert_same(final_weights(run))
