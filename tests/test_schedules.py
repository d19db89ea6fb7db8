"""Learning-rate schedules: Keras's values at many steps, and bad arguments named.

Keras computes a schedule in the dtype of ``initial_learning_rate``: a Python float
becomes float32 (even under ``keras.config.set_floatx("float64")``), a numpy float64
stays float64. So the reference schedules get their numbers as ``np.float64`` and the
two agree to rounding (1e-12), not just to float32's 1e-7.
"""

import json
import math

import numpy as np
import pytest

from minigd.schedules import (
    CosineDecay,
    ExponentialDecay,
    InverseTimeDecay,
    LearningRateSchedule,
    PiecewiseConstantDecay,
)
from minigd.tape import import_tensorflow

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
