"""SGD's update rule against numbers computed by hand."""

import numpy as np
import pytest

import minigd as mg
from minigd import sgd_update
from minigd.tape import import_tensorflow

# One parameter w = 1.0, gradients 0.5 then 0.25, learning_rate 0.1, momentum 0.9.
# Plain:     w1 = 1 - 0.1*0.5 = 0.95;        w2 = 0.95 - 0.1*0.25 = 0.925
# Momentum:  v1 = -0.05, w1 = 0.95;          v2 = 0.9*(-0.05) - 0.025 = -0.07, w2 = 0.88
# Nesterov:  v1 = -0.05, w1 = 1 + 0.9*(-0.05) - 0.05 = 0.905
#            v2 = -0.07, w2 = 0.905 + 0.9*(-0.07) - 0.025 = 0.817
HAND = {
    "plain": (0.0, False, [0.95, 0.925]),
    "momentum": (0.9, False, [0.95, 0.88]),
    "nesterov": (0.9, True, [0.905, 0.817]),
}


@pytest.mark.parametrize("kind", HAND)
def test_update_rule_matches_hand_computed_values(kind):
    momentum, nesterov, expected = HAND[kind]
    w, velocity = 1.0, 0.0
    for grad, want in zip([0.5, 0.25], expected):
        w, velocity = sgd_update(w, grad, velocity, 0.1, momentum, nesterov)
        assert w == pytest.approx(want, abs=1e-15)


@pytest.mark.parametrize("kind", HAND)
def test_optimizer_class_matches_hand_computed_values(kind):
    momentum, nesterov, expected = HAND[kind]
    optimizer = mg.SGD(learning_rate=0.1, momentum=momentum, nesterov=nesterov)
    params = {"w": np.array(1.0), "v": np.array([1.0, 1.0])}
    for grad, want in zip([0.5, 0.25], expected):
        params = optimizer.apply_gradients(params, {"w": np.array(grad), "v": np.array([grad, grad])})
        assert float(params["w"]) == pytest.approx(want, abs=1e-15)
        np.testing.assert_allclose(params["v"], [want, want], atol=1e-15)
        assert isinstance(params["w"], np.ndarray) and params["w"].ndim == 0


def test_plain_update_is_exactly_the_textbook_formula():
    w, grad, lr = 0.3, 0.7, 0.01
    assert sgd_update(w, grad, None, lr)[0] == w - lr * grad


def test_apply_gradients_does_not_modify_its_inputs():
    params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([1.0, 1.0])}
    mg.SGD(0.1, momentum=0.5).apply_gradients(params, grads)
    np.testing.assert_array_equal(params["w"], [1.0, 2.0])


def test_update_rule_runs_on_tensorflow_tensors():
    tf = import_tensorflow()  # as minigd does: quiet, deterministic
    w, velocity = tf.constant(1.0, tf.float64), tf.constant(0.0, tf.float64)
    for grad in (0.5, 0.25):
        w, velocity = sgd_update(w, tf.constant(grad, tf.float64), velocity, 0.1, 0.9, True)
    assert float(w) == pytest.approx(0.817, abs=1e-15)


def test_update_is_pure_and_its_state_explicit():
    optimizer = mg.SGD(0.1, momentum=0.9)
    params = {"w": np.array(1.0)}
    state = optimizer.init(params)
    assert state == {"iterations": 0.0, "velocity": {"w": 0.0}}
    new_params, new_state = optimizer.update({"w": np.array(0.5)}, state, params, 0.1)
    assert state == {"iterations": 0.0, "velocity": {"w": 0.0}} and float(params["w"]) == 1.0  # untouched
    assert float(new_state["velocity"]["w"]) == pytest.approx(-0.05) and new_state["iterations"] == 1.0
    # the same state, handed to a fresh optimizer, continues the same way
    again, _ = mg.SGD(0.1, momentum=0.9).update({"w": np.array(0.25)}, new_state, new_params, 0.1)
    assert float(again["w"]) == pytest.approx(0.88)


def test_apply_gradients_starts_a_fresh_state_for_other_parameters():
    optimizer = mg.SGD(0.1, momentum=0.9)
    optimizer.apply_gradients({"w": np.array(1.0)}, {"w": np.array(0.5)})
    assert set(optimizer.state["velocity"]) == {"w"}
    optimizer.apply_gradients({"v": np.zeros(3)}, {"v": np.ones(3)})
    assert set(optimizer.state["velocity"]) == {"v"} and optimizer.state["iterations"] == 1.0


def test_a_schedule_sets_the_rate_of_each_step():
    optimizer = mg.SGD(learning_rate=lambda step: 0.5 ** step)
    params = {"w": np.array(0.0)}
    for _ in range(3):
        params = optimizer.apply_gradients(params, {"w": np.array(1.0)})
    assert float(params["w"]) == -(1 + 0.5 + 0.25)


@pytest.mark.parametrize("kwargs, words", [
    ({"learning_rate": 0}, "learning_rate"),
    ({"learning_rate": -0.1}, "learning_rate"),
    ({"learning_rate": float("nan")}, "learning_rate"),
    ({"learning_rate": float("inf")}, "learning_rate"),
    ({"learning_rate": "0.1"}, "learning_rate"),
    ({"momentum": 1.0}, "momentum"),
    ({"momentum": -0.1}, "momentum"),
    ({"nesterov": "yes"}, "nesterov"),
])
def test_bad_hyperparameters_are_refused_by_name(kwargs, words):
    with pytest.raises(ValueError, match=words):
        mg.SGD(**kwargs)
