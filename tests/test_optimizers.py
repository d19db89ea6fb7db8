"""Each optimizer's update rule: SGD against numbers computed by hand, Adagrad, RMSprop and
Adam against Keras's; all of them in the training loop."""

import numpy as np
import pytest
from helpers import assert_same_run

import minigd as mg
from minigd import optimizers, sgd_update
from minigd.optimizers import Adagrad, Adam, RMSprop
from minigd.tape import _CompiledStep, import_tensorflow

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


# -- Adagrad, RMSprop and Adam ------------------------------------------------------------

# Keras's TensorFlow backend turns some Python-float hyperparameters into float32 before
# casting them to the variables' float64 (Adam's beta_1 = 0.9 acts as 0.8999999762; so
# does Adagrad's initial_accumulator_value), so the comparison uses values that float32
# holds exactly. With them the numbers agree bit for bit (measured); with Keras's
# defaults they differ by about 2e-11 (Adagrad) and 2e-7 (Adam) relative in 20 steps.
KERAS_SETTINGS = [
    ("Adagrad", dict(learning_rate=0.25, initial_accumulator_value=0.5, epsilon=2**-20)),
    ("Adagrad", dict(learning_rate=2**-10, initial_accumulator_value=0.0, epsilon=0.5)),
    ("RMSprop", dict(learning_rate=0.125, rho=0.875, epsilon=2**-20)),
    ("RMSprop", dict(learning_rate=0.125, rho=0.5, momentum=0.875, epsilon=2**-20)),
    ("RMSprop", dict(learning_rate=0.125, rho=0.875, epsilon=2**-20, centered=True)),
    ("RMSprop", dict(learning_rate=0.25, rho=0.75, momentum=0.5, epsilon=2**-10, centered=True)),
    ("Adam", dict(learning_rate=0.125, beta_1=0.875, beta_2=0.9990234375, epsilon=2**-20)),
    ("Adam", dict(learning_rate=0.25, beta_1=0.5, beta_2=0.75, epsilon=2**-10)),
    ("Adam", dict(learning_rate=0.125, beta_1=0.875, beta_2=0.9990234375, epsilon=2**-20, amsgrad=True)),
]
ADAPTIVE = ("Adagrad", "RMSprop", "Adam")


@pytest.fixture
def keras_float64():
    import_tensorflow()  # quietly, before keras imports it
    keras = pytest.importorskip("keras")
    floatx = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras
    keras.config.set_floatx(floatx)


@pytest.mark.parametrize("name, kwargs", KERAS_SETTINGS,
                         ids=[f"{name}-{'-'.join(map(str, kw.values()))}" for name, kw in KERAS_SETTINGS])
def test_twenty_steps_give_the_numbers_of_keras(name, kwargs, keras_float64):
    tf = import_tensorflow()
    rng = np.random.default_rng(11)
    params = {"a": np.array(rng.normal()), "b": rng.normal(size=3), "c": rng.normal(size=(2, 2))}
    variables = {key: keras_float64.Variable(value, dtype="float64") for key, value in params.items()}
    reference = getattr(keras_float64.optimizers, name)(**kwargs)
    optimizer = getattr(optimizers, name)(**kwargs)
    for step in range(20):
        grads = {key: rng.normal(scale=3.0, size=np.shape(value)) for key, value in params.items()}
        if step == 5:  # a zero gradient, which only epsilon keeps from dividing 0 by 0
            grads["b"][0] = 0.0
        reference.apply_gradients([(tf.constant(grads[key]), variables[key]) for key in params])
        params = optimizer.apply_gradients(params, grads)
        for key, value in params.items():
            assert variables[key].dtype == "float64"
            np.testing.assert_allclose(value, variables[key].numpy(), rtol=1e-12, atol=0,
                                       err_msg=f"{key} at step {step}")


@pytest.mark.parametrize("name", ADAPTIVE)
def test_defaults_are_keras_defaults(name, keras_float64):
    ours = getattr(optimizers, name)().get_config()
    theirs = getattr(keras_float64.optimizers, name)().get_config()
    assert ours.keys() <= theirs.keys()
    for key, value in ours.items():
        assert value == pytest.approx(theirs[key], rel=1e-7), key  # Keras keeps the rate in float32


def test_slots_have_keras_names_and_starting_values():
    params = {"w": np.array(1.0), "v": np.zeros((2, 3))}
    assert Adagrad(initial_accumulator_value=0.5).init(params)["accumulator"]["v"].tolist() == [[0.5] * 3] * 2
    assert set(Adagrad().init(params)) == {"iterations", "accumulator"}
    assert set(RMSprop().init(params)) == {"iterations", "velocity"}
    assert set(RMSprop(momentum=0.5, centered=True).init(params)) == {
        "iterations", "velocity", "momentum", "average_gradient"}
    assert set(Adam().init(params)) == {"iterations", "momentum", "velocity"}
    state = Adam(amsgrad=True).init(params)
    assert set(state) == {"iterations", "momentum", "velocity", "velocity_hat"}
    assert state["velocity_hat"]["v"].shape == (2, 3) and state["velocity_hat"]["v"].dtype == np.float64


def test_adams_first_step_is_the_learning_rate_against_the_gradients_sign():
    # m1 = (1 - b1) g, v1 = (1 - b2) g**2, alpha = lr sqrt(1 - b2) / (1 - b1): the step is lr * sign(g)
    params = Adam(learning_rate=0.1, epsilon=1e-12).apply_gradients(
        {"w": np.array([1.0, 1.0, 1.0])}, {"w": np.array([-100.0, 0.001, 3.0])})
    np.testing.assert_allclose(params["w"], [1.1, 0.9, 0.9], rtol=1e-8)


@pytest.mark.parametrize("optimizer", [Adagrad(0.1), RMSprop(0.1, momentum=0.5, centered=True),
                                       Adam(0.1, amsgrad=True)], ids=ADAPTIVE)
def test_adaptive_updates_are_pure(optimizer):
    params, grads = {"w": np.array([1.0, 2.0])}, {"w": np.array([0.5, -0.5])}
    state = optimizer.init(params)
    first_params, first_state = optimizer.update(grads, state, params, 0.1)
    assert all(np.array_equal(a, b) for a, b in zip(_leaves(state), _leaves(optimizer.init(params))))
    np.testing.assert_array_equal(params["w"], [1.0, 2.0])
    np.testing.assert_array_equal(grads["w"], [0.5, -0.5])
    # the same inputs give the same outputs: nothing is kept on the optimizer
    again_params, again_state = optimizer.update(grads, state, params, 0.1)
    np.testing.assert_array_equal(again_params["w"], first_params["w"])
    assert all(np.array_equal(a, b) for a, b in zip(_leaves(again_state), _leaves(first_state)))


def _leaves(tree):
    leaves = []
    for value in tree.values():
        leaves.extend(_leaves(value) if isinstance(value, dict) else [value])
    return leaves


def test_adaptive_rules_run_on_tensorflow_variables():
    tf = import_tensorflow()
    optimizer = Adam(0.1, amsgrad=True)
    numpy_params, numpy_state = optimizer.update({"w": np.array(0.5)}, optimizer.init({"w": 1.0}),
                                                 {"w": np.array(1.0)}, 0.1)
    state = tf.nest.map_structure(lambda value: tf.Variable(value, dtype=tf.float64),
                                  optimizer.init({"w": 1.0}))
    params, new_state = optimizer.update({"w": tf.constant(0.5, tf.float64)}, state,
                                         {"w": tf.Variable(1.0, dtype=tf.float64)},
                                         tf.Variable(0.1, dtype=tf.float64))
    assert float(params["w"]) == float(numpy_params["w"])
    assert float(new_state["velocity_hat"]["w"]) == float(numpy_state["velocity_hat"]["w"])
    assert float(state["iterations"]) == 0.0  # the variables are untouched


def test_repr_shows_every_hyperparameter():
    assert repr(Adam()) == "Adam(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-07, amsgrad=False)"
    assert repr(RMSprop(momentum=0.5, centered=True)) == (
        "RMSprop(learning_rate=0.001, rho=0.9, momentum=0.5, epsilon=1e-07, centered=True)")
    assert repr(Adagrad()) == "Adagrad(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-07)"


@pytest.mark.parametrize("name, kwargs, words", [
    ("Adagrad", {"learning_rate": -1.0}, "learning_rate"),
    ("Adagrad", {"initial_accumulator_value": -0.1}, "initial_accumulator_value"),
    ("Adagrad", {"epsilon": 0.0}, "epsilon"),
    ("RMSprop", {"rho": 1.0}, "rho"),
    ("RMSprop", {"rho": -0.1}, "rho"),
    ("RMSprop", {"momentum": 1.0}, "momentum"),
    ("RMSprop", {"epsilon": float("nan")}, "epsilon"),
    ("RMSprop", {"centered": 1}, "centered"),
    ("Adam", {"beta_1": 1.0}, "beta_1"),
    ("Adam", {"beta_2": 1.5}, "beta_2"),
    ("Adam", {"beta_2": "0.999"}, "beta_2"),
    ("Adam", {"epsilon": -1e-7}, "epsilon"),
    ("Adam", {"amsgrad": "no"}, "amsgrad"),
])
def test_bad_adaptive_hyperparameters_are_refused_by_name(name, kwargs, words):
    with pytest.raises(ValueError, match=words):
        getattr(optimizers, name)(**kwargs)


# -- in the loop: every gradient provider, checkpoints, divergence --------------------------

# (optimizer, fit options): rates at which 200 steps get close to the least-squares line
# without reaching the gradients' rounding noise, which an adaptive step divides by itself.
IN_THE_LOOP = {
    "Adagrad": (lambda: Adagrad(learning_rate=0.5), {}),
    "RMSprop": (lambda: RMSprop(learning_rate=0.01), {}),
    "RMSprop-centered-momentum": (lambda: RMSprop(learning_rate=0.01, momentum=0.5, centered=True),
                                  dict(batch_size=50, seed=1)),
    "Adam": (lambda: Adam(learning_rate=0.05), {}),
    "Adam-amsgrad": (lambda: Adam(learning_rate=0.05, amsgrad=True), dict(batch_size=50, seed=1)),
}


def fit(optimizer, gradients="analytic", callbacks=(), **options):
    x, y = mg.make_linear_data(n=200, seed=0)
    trainer = mg.Trainer(mg.MSE(), optimizer, gradients=gradients, callbacks=list(callbacks))
    model = mg.Linear()
    history = trainer.fit(model, x, y, **options)
    return model, history, trainer


@pytest.mark.parametrize("setting", IN_THE_LOOP)
def test_every_gradient_provider_gives_the_same_run(setting):
    make, options = IN_THE_LOOP[setting]
    analytic = fit(make(), "analytic", steps=200, **options)
    compiled = fit(make(), mg.TapeGradients(compiled=True), steps=200, **options)
    numeric = fit(make(), "numeric", steps=200, **options)
    assert isinstance(compiled[2]._step, _CompiledStep)  # the update ran inside tf.function
    assert_same_run(analytic, compiled, rtol=1e-9)
    assert_same_run(analytic, numeric, rtol=1e-6)
    losses = analytic[1].step_history["loss"]
    assert losses[-1] < losses[0] / 100


def test_adam_with_a_schedule_under_analytic_and_the_compiled_tape():
    from minigd.schedules import ExponentialDecay

    runs = [fit(Adam(ExponentialDecay(0.1, decay_steps=50, decay_rate=0.5)), gradients, steps=200)
            for gradients in ("analytic", "tape")]
    assert_same_run(*runs, rtol=1e-9)
    rates = runs[0][1].step_history["learning_rate"]
    assert rates[0] == 0.1 and rates[100] == pytest.approx(0.025, rel=1e-15)


@pytest.mark.parametrize("setting", IN_THE_LOOP)
@pytest.mark.parametrize("gradients", ["analytic", "tape"])
def test_a_resumed_run_equals_the_uninterrupted_one(setting, gradients, tmp_path):
    make, options = IN_THE_LOOP[setting]
    options = {"batch_size": 64, "seed": 3, **options}
    uninterrupted = fit(make(), gradients, [mg.ModelCheckpoint(tmp_path / "step-{step}.npz", every=1)],
                        steps=30, **options)
    resumed = fit(make(), gradients, [mg.ModelCheckpoint(tmp_path / "again-{step}.npz", every=1)],
                  steps=30, resume_from=tmp_path / "step-13.npz", **options)
    assert_same_run(resumed, uninterrupted, rtol=0)


def test_adam_with_reduce_lr_on_plateau_resumes_bit_for_bit(tmp_path):
    from minigd.callbacks.learning_rate import ReduceLROnPlateau

    def run(name, **resume):
        callbacks = [ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1, min_delta=0.01),
                     mg.ModelCheckpoint(tmp_path / (name + "-{step}.npz"), every=1)]
        return fit(Adam(learning_rate=0.5), "analytic", callbacks, steps=120, batch_size=40, seed=4, **resume)

    uninterrupted = run("first")
    rates = uninterrupted[1].history["learning_rate"]
    step_rates = uninterrupted[1].step_history["learning_rate"]
    middle = next(step for step, rate in enumerate(step_rates) if rate < 0.5)  # the first reduced step
    assert rates[-1] < 0.5 / 4  # reduced more than once, the first time before the checkpoint
    resumed = run("again", resume_from=tmp_path / f"first-{middle + 3}.npz")
    assert_same_run(resumed, uninterrupted, rtol=0)
    assert resumed[2].optimizer.learning_rate == uninterrupted[2].optimizer.learning_rate


@pytest.mark.parametrize("name", ADAPTIVE)
def test_too_large_a_rate_diverges_with_the_plain_gd_guide(name):
    with pytest.raises(mg.DivergenceError) as raised:
        fit(getattr(optimizers, name)(learning_rate=1e4), steps=50)
    message = str(raised.value)
    assert f"{name} has no exact stability bound" in message
    x, _ = mg.make_linear_data(n=200, seed=0)
    guide = mg.stable_learning_rate(x)  # plain gradient descent's exact bound, 2 / lambda_max
    assert f"plain gradient descent would need learning_rate < {guide:.4g}." in message
    assert raised.value.stable_learning_rate is None
