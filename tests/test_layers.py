"""Dense, Sequential and the activations: backward passes by hand equal the tape and finite
differences; names, building and seeding as in Keras; two lessons trained end to end."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import minigd as mg
from minigd.activations import ACTIVATIONS, get_activation
from minigd.gradients import AnalyticGradients, NumericGradients, check_gradients
from minigd.layers import Dense, Sequential
from minigd.losses import (
    MSE,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Huber,
    SparseCategoricalCrossentropy,
)
from minigd.optimizers import SGD
from minigd.tape import TapeGradients, import_tensorflow
from minigd.trainer import Trainer

# -- activations -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_each_activations_backward_is_the_tapes_and_the_finite_differences(name):
    tf = import_tensorflow()
    activation = get_activation(name)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(4, 3)) * 2
    grad_a = rng.normal(size=(4, 3))
    by_hand = activation.backward(z, activation.forward(z), grad_a)

    z_tensor = tf.constant(z)
    with tf.GradientTape() as tape:
        tape.watch(z_tensor)
        # d/dz of sum(grad_a * f(z)) is exactly what backward returns: dL/dz given dL/da
        total = tf.reduce_sum(grad_a * activation.forward(z_tensor))
    np.testing.assert_allclose(by_hand, tape.gradient(total, z_tensor).numpy(), rtol=1e-12, atol=1e-15)

    numeric = np.zeros_like(z)
    h = 1e-6
    for index in np.ndindex(z.shape):
        plus, minus = z.copy(), z.copy()
        plus[index] += h
        minus[index] -= h
        numeric[index] = (np.sum(grad_a * activation.forward(plus))
                          - np.sum(grad_a * activation.forward(minus))) / (2 * h)
    np.testing.assert_allclose(by_hand, numeric, rtol=1e-6, atol=1e-8)


def test_an_unknown_activation_is_refused_by_name():
    with pytest.raises(ValueError, match=r"activation='gelu' is unknown: choose one of \['linear', 'relu'"):
        Dense(3, activation="gelu")


# -- names, building, seeding --------------------------------------------------------------


def test_parameters_are_named_after_kerass_layers_counting_per_model():
    layers = [Dense(4, activation="relu"), Dense(3, activation="tanh"), Dense(2)]
    model = Sequential(layers)
    assert model.layer_names == ["dense", "dense_1", "dense_2"]
    model.build((10, 5))
    assert list(model.params) == ["dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias",
                                  "dense_2/kernel", "dense_2/bias"]
    assert [model.params[f"{name}/kernel"].shape for name in model.layer_names] == [(5, 4), (4, 3), (3, 2)]
    assert Sequential([Dense(1)]).layer_names == ["dense"]  # a second model starts again


def test_calling_the_model_builds_it_once_with_glorot_kernels_and_zero_biases():
    model = Sequential([Dense(50, activation="tanh"), Dense(20)], seed=3)
    assert model.params == {}
    x = np.ones((7, 30))
    assert model(x).shape == (7, 20)
    kernel = model.params["dense/kernel"]
    limit = np.sqrt(6 / (30 + 50))
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    assert abs(kernel.mean()) < 0.05 * limit and kernel.std() == pytest.approx(limit / np.sqrt(3), rel=0.1)
    assert not model.params["dense/bias"].any() and not model.params["dense_1/bias"].any()
    before = model.get_weights()
    model.build((7, 30))  # a second build must change nothing
    model(x)
    assert all(np.array_equal(before[name], model.params[name]) for name in before)


def test_the_seed_decides_the_initial_weights():
    def kernel(seed):
        model = Sequential([Dense(3), Dense(2)], seed=seed)
        model.build((1, 4))
        return model.params["dense_1/kernel"]

    assert np.array_equal(kernel(0), kernel(0))
    assert not np.array_equal(kernel(0), kernel(1))
    assert not np.array_equal(kernel(None), kernel(None))


def test_one_dimensional_x_is_one_feature_and_the_output_keeps_its_column():
    model = Sequential([Dense(1)])
    x = np.array([0.0, 1.0, 2.0])
    model.build(x.shape)
    model.set_weights({"dense/kernel": [[2.0]], "dense/bias": [1.0]})
    np.testing.assert_array_equal(model(x), [[1.0], [3.0], [5.0]])
    np.testing.assert_array_equal(model(x[:, None]), model(x))


def test_x_with_other_features_than_at_build_is_refused():
    model = Sequential([Dense(2)])
    model(np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"x has shape \(4, 2\) but this Sequential was built for inputs of "
                                         r"shape \(n, 3\)"):
        model(np.zeros((4, 2)))


@pytest.mark.parametrize("make, message", [
    (lambda: Dense(0), "units must be a whole number >= 1, got 0"),
    (lambda: Dense(2.5), "units must be a whole number >= 1"),
    (lambda: Sequential(Dense(1)), r"layers must be a list of layers such as \[Dense\(1\)\]"),
    (lambda: Sequential([Dense(1), "relu"]), "layers must be minigd layers such as Dense"),
    (lambda: Sequential([Dense(1)], seed=-1), "seed must be a whole number >= 0 or None, got -1"),
    (lambda: Sequential([Dense(1)], seed=1.5), "seed must be a whole number >= 0 or None"),
    (lambda: Sequential([]).build((3, 1)), "Sequential has no layers"),
    (lambda: Sequential([Dense(1)]).build((3, 1, 1)), r"x has shape \(3, 1, 1\): Sequential takes \(n, d\)"),
])
def test_bad_layers_and_arguments_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_layer_cannot_sit_twice_in_a_model_and_a_built_model_takes_no_more():
    layer = Dense(2)
    with pytest.raises(ValueError, match="is already in this model: create a new layer"):
        Sequential([layer, layer])
    model = Sequential([Dense(2)])
    model(np.zeros((1, 1)))
    with pytest.raises(ValueError, match="already built: add layers before its first use"):
        model.add(Dense(1))


def test_reprs_read_like_the_code_that_made_them():
    model = Sequential([Dense(64, activation="relu"), Dense(3, activation="softmax")], seed=2)
    assert repr(model) == "Sequential([Dense(64, activation='relu'), Dense(3, activation='softmax')], seed=2)"


# -- analytic == tape == numeric on random stacks ----------------------------------------------

LOSSES_AFTER = {  # losses that make sense after each last activation
    None: [MSE(), Huber(delta=0.5), BinaryCrossentropy(from_logits=True),
           CategoricalCrossentropy(from_logits=True), SparseCategoricalCrossentropy(from_logits=True)],
    "relu": [MSE(), Huber(delta=0.5)],
    "tanh": [MSE(), Huber(delta=0.5)],
    "sigmoid": [BinaryCrossentropy(), MSE()],
    "softmax": [CategoricalCrossentropy(), SparseCategoricalCrossentropy(), MSE()],
}


def _targets(loss, rng, n, units, as_vector):
    """Targets the loss takes: numbers, 0/1, one-hot rows or labels; (n,) where it may be."""
    if isinstance(loss, SparseCategoricalCrossentropy):
        labels = rng.integers(0, units, size=n).astype(np.float64)
        return labels if as_vector else labels[:, None]
    if isinstance(loss, CategoricalCrossentropy):
        return np.eye(units)[rng.integers(0, units, size=n)]
    y = rng.integers(0, 2, size=(n, units)).astype(np.float64) if isinstance(loss, BinaryCrossentropy) \
        else rng.normal(size=(n, units))
    return y[:, 0] if as_vector and units == 1 else y


def _pre_activations(model, x):
    """Every layer's z, to keep the random examples away from relu's and Huber's kinks."""
    _, caches = model._forward_and_caches(model.params, x)
    return [(layer.activation.name, z) for layer, (_, z, _) in zip(model.layers, caches)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(widths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
       activations=st.lists(st.sampled_from([None, "relu", "tanh", "sigmoid", "softmax"]),
                            min_size=3, max_size=3),
       features=st.integers(1, 3), as_vector=st.booleans(), loss_index=st.integers(0, 4),
       seed=st.integers(0, 2**32 - 1))
def test_sequential_analytic_gradients_equal_the_tapes_and_finite_differences(
        widths, activations, features, as_vector, loss_index, seed):
    rng = np.random.default_rng(seed)
    model = Sequential([Dense(width, activation=act) for width, act in zip(widths, activations)], seed=seed)
    n = 6
    x = rng.normal(size=(n, features))
    if as_vector and features == 1:
        x = x[:, 0]  # (n,) inputs: one feature
    model.build(x.shape)
    # random weights and non-zero biases, so that no pre-activation sits exactly at 0
    model.set_weights({name: rng.normal(size=value.shape) * 0.8 for name, value in model.params.items()})
    last = activations[len(widths) - 1]
    candidates = LOSSES_AFTER[last]
    loss = candidates[loss_index % len(candidates)]
    y = _targets(loss, rng, n, widths[-1], as_vector)
    kinks = [np.abs(z).min() for name, z in _pre_activations(model, x) if name == "relu"]
    if isinstance(loss, Huber):
        y_pred = model(x)
        kinks.append(np.abs(np.abs(y_pred - y.reshape(y_pred.shape)) - loss.delta).min())
    assume(min(kinks, default=1.0) > 1e-3)  # finite differences across a kink measure nothing

    value, analytic = AnalyticGradients().value_and_grad(model, loss, model.params, x, y)
    _, chained = AnalyticGradients(fused=False).value_and_grad(model, loss, model.params, x, y)
    tape_value, tape = TapeGradients(compiled=False).value_and_grad(model, loss, model.params, x, y)
    numeric_value, numeric = NumericGradients().value_and_grad(model, loss, model.params, x, y)

    assert value == pytest.approx(tape_value, rel=1e-12) and value == pytest.approx(numeric_value, rel=1e-12)
    assert list(analytic) == list(model.params)
    scale = max(np.abs(g).max() for g in tape.values())
    for name in model.params:
        assert analytic[name].shape == model.params[name].shape
        np.testing.assert_array_equal(analytic[name], chained[name])  # fused is only a shortcut
        np.testing.assert_allclose(analytic[name], tape[name], rtol=1e-10, atol=1e-13 * scale, err_msg=name)
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=1e-6, atol=1e-8, err_msg=name)


def test_check_gradients_passes_on_a_sequential():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(20, 2)), rng.integers(0, 3, size=20)
    model = Sequential([Dense(5, activation="tanh"), Dense(3, activation="softmax")])
    result = check_gradients(model, SparseCategoricalCrossentropy(), x, y, verbose=False)
    assert result.passed and not result.skipped and result.max_error < 1e-6


# -- end to end: the lessons -----------------------------------------------------------------


def _irls(x, y, iterations=30):
    """Maximum-likelihood logistic regression by Newton's method (iteratively reweighted
    least squares): beta <- beta + (X' W X)^-1 X' (y - p), W = diag(p (1 - p))."""
    design = np.column_stack([x, np.ones(len(x))])
    beta = np.zeros(design.shape[1])
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-design @ beta))
        hessian = design.T @ (design * (p * (1 - p))[:, None])
        beta = beta + np.linalg.solve(hessian, design.T @ (y - p))
    return beta


@pytest.mark.parametrize("gradients", ["analytic", "tape"])
def test_logistic_regression_reaches_the_newton_solution(gradients):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 2))
    y = (rng.uniform(size=500) < 1 / (1 + np.exp(-(x @ [1.5, -1.0] + 0.3)))).astype(np.float64)
    best = _irls(x, y)
    model = Sequential([Dense(1, activation="sigmoid")])
    Trainer(BinaryCrossentropy(), SGD(learning_rate=4.0), gradients=gradients).fit(model, x, y, steps=1000)
    found = np.concatenate([model.params["dense/kernel"][:, 0], model.params["dense/bias"]])
    np.testing.assert_allclose(found, best, rtol=0, atol=1e-6)


def _spirals(points_per_class=100, classes=3, seed=0):
    """cs231n's spirals: radius r in [0, 1], angle 4c .. 4(c+1) plus N(0, 0.2) noise."""
    rng = np.random.default_rng(seed)
    x, labels = [], []
    for c in range(classes):
        r = np.linspace(0.0, 1, points_per_class)
        t = np.linspace(c * 4, (c + 1) * 4, points_per_class) + rng.normal(size=points_per_class) * 0.2
        x.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        labels.append(np.full(points_per_class, c))
    return np.concatenate(x), np.concatenate(labels)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_a_hidden_layer_separates_three_spirals(activation):
    x, labels = _spirals()
    model = Sequential([Dense(64, activation=activation), Dense(3, activation="softmax")])
    Trainer(SparseCategoricalCrossentropy(), SGD(learning_rate=1.0, momentum=0.9)).fit(
        model, x, labels, steps=1000)
    accuracy = np.mean(model(x).argmax(axis=1) == labels)
    assert accuracy >= 0.95


def test_a_hidden_layer_trains_on_one_hot_targets_too():
    x, labels = _spirals(points_per_class=50)
    model = Sequential([Dense(32, activation="tanh"), Dense(3, activation="softmax")])
    loss = CategoricalCrossentropy()
    one_hot = np.eye(3)[labels]
    before = loss(one_hot, model(x))
    Trainer(loss, SGD(learning_rate=1.0, momentum=0.9)).fit(model, x, one_hot, steps=200)
    assert loss(one_hot, model(x)) < 0.5 * before


def test_the_three_providers_train_a_network_along_the_same_path():
    """20 steps of the trainer with each provider: same losses, same weights (compiled tape too)."""
    x, labels = _spirals(points_per_class=20)
    runs = {}
    for gradients in ["analytic", "tape", "numeric"]:
        model = Sequential([Dense(6, activation="tanh"), Dense(3, activation="softmax")])
        history = Trainer(SparseCategoricalCrossentropy(), SGD(learning_rate=0.5, momentum=0.5),
                          gradients=gradients).fit(model, x, labels, steps=20)
        runs[gradients] = (model.params, history.history["loss"])
    params, losses = runs["analytic"]
    for gradients, tolerance in [("tape", 1e-10), ("numeric", 1e-6)]:
        np.testing.assert_allclose(runs[gradients][1], losses, rtol=tolerance)
        for name in params:
            np.testing.assert_allclose(runs[gradients][0][name], params[name], rtol=tolerance, atol=tolerance)


def test_layers_and_losses_do_not_import_tensorflow():
    import subprocess
    import sys

    code = ("import sys, minigd.layers, minigd.losses, minigd.activations, minigd.ops; "
            "assert 'tensorflow' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_layer_whose_backward_misses_a_parameter_is_named():
    class Scale(mg.Layer):
        base_name = "scale"

        def build(self, input_dim, rng):
            return {"w": np.ones(())}

        def output_dim(self, input_dim):
            return input_dim

        def forward_and_cache(self, params, x):
            return x * params["w"], x

        def backward(self, params, cache, grad_out, input_gradient=True):
            return {"W": (grad_out * cache).sum()}, grad_out * params["w"]  # "W", not "w"

    x, y = mg.make_linear_data(n=20, seed=0)
    with pytest.raises(ValueError, match=r"layer 'scale': Scale.backward returned gradients for \['W'\]"):
        mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(mg.Sequential([Scale(), mg.Dense(1)]), x, y, steps=2)
