"""Every loss: its value against keras.losses, its hand gradient against the tape and
finite differences, its shapes and its error messages."""

import numpy as np
import pytest

from minigd.gradients import AnalyticGradients, NumericGradients
from minigd.losses import (
    MAE,
    MSE,
    BinaryCrossentropy,
    CategoricalCrossentropy,
    Huber,
    SparseCategoricalCrossentropy,
)
from minigd.models import Model
from minigd.tape import TapeGradients, import_tensorflow

N, K = 9, 4


class Prediction(Model):
    """A "model" whose prediction is its only parameter, so dL/dparam == dL/dy_pred.

    It lets the three gradient providers differentiate a loss on its own.
    """

    def __init__(self, y_pred):
        super().__init__(y_pred=y_pred)

    def forward(self, params, x):
        return params["y_pred"]

    def backward(self, params, x, grad_y_pred):
        return {"y_pred": grad_y_pred}


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def cases(seed):
    """(id, minigd loss, keras loss name and arguments, y_true, y_pred), no probability near
    the clip at 1e-7: MSE, MAE and Huber on every shape pair, the cross-entropies on theirs."""
    rng = np.random.default_rng(seed)
    found = []
    shape_pairs = {"n,n": ((N,), (N,)), "n,n1": ((N,), (N, 1)), "n1,n": ((N, 1), (N,)),
                   "nk,nk": ((N, K), (N, K))}
    for label, (true_shape, pred_shape) in shape_pairs.items():
        y_true, y_pred = rng.normal(size=true_shape), 2.0 * rng.normal(size=pred_shape)
        found += [(f"mse-{label}", MSE(), ("MeanSquaredError", {}), y_true, y_pred),
                  (f"mae-{label}", MAE(), ("MeanAbsoluteError", {}), y_true, y_pred),
                  (f"huber-{label}", Huber(), ("Huber", {}), y_true, y_pred),
                  (f"huber0.5-{label}", Huber(delta=0.5), ("Huber", {"delta": 0.5}), y_true, y_pred)]
        labels = rng.integers(0, 2, size=true_shape).astype(np.float64)
        if label == "nk,nk":
            labels = rng.uniform(0, 1, size=true_shape)  # soft targets are allowed too
        found += [
            (f"bce-{label}", BinaryCrossentropy(), ("BinaryCrossentropy", {}),
             labels, rng.uniform(0.02, 0.98, size=pred_shape)),
            (f"bce-logits-{label}", BinaryCrossentropy(from_logits=True),
             ("BinaryCrossentropy", {"from_logits": True}), labels, 3.0 * rng.normal(size=pred_shape)),
        ]
    classes = rng.integers(0, K, size=N)
    one_hot = np.eye(K)[classes]
    logits = 1.5 * rng.normal(size=(N, K))
    probabilities = _softmax(logits)
    unnormalised = probabilities * rng.uniform(0.5, 2.0, size=(N, 1))  # Keras rescales these
    for from_logits, y_pred in [(False, probabilities), (True, logits)]:
        tag = "-logits" if from_logits else ""
        keras_args = {"from_logits": from_logits}
        found += [
            (f"cce{tag}", CategoricalCrossentropy(from_logits), ("CategoricalCrossentropy", keras_args),
             one_hot, y_pred),
            (f"sparse{tag}-n", SparseCategoricalCrossentropy(from_logits),
             ("SparseCategoricalCrossentropy", keras_args), classes.astype(np.float64), y_pred),
            (f"sparse{tag}-n1", SparseCategoricalCrossentropy(from_logits),
             ("SparseCategoricalCrossentropy", keras_args), classes[:, None].astype(np.float64), y_pred),
        ]
    found += [
        ("cce-soft-targets", CategoricalCrossentropy(), ("CategoricalCrossentropy", {}),
         _softmax(rng.normal(size=(N, K))), probabilities),
        ("cce-unnormalised", CategoricalCrossentropy(), ("CategoricalCrossentropy", {}),
         one_hot, unnormalised),
        ("sparse-unnormalised", SparseCategoricalCrossentropy(), ("SparseCategoricalCrossentropy", {}),
         classes.astype(np.float64), unnormalised),
    ]
    return found


CASES = [case for seed in (0, 1) for case in cases(seed)]
IDS = [f"{case[0]}-seed{seed}" for seed in (0, 1) for case in cases(seed)]


@pytest.fixture(scope="module")
def keras64():
    """Keras computing in float64, as minigd does; the previous setting is restored after."""
    import_tensorflow()  # quiet, deterministic TensorFlow first
    import keras

    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras
    keras.config.set_floatx(previous)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_value_is_keras_value(case, keras64):
    _, loss, (keras_name, keras_args), y_true, y_pred = case
    expected = float(getattr(keras64.losses, keras_name)(**keras_args)(y_true, y_pred))
    assert loss(y_true, y_pred) == pytest.approx(expected, rel=1e-10, abs=0)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_hand_gradient_is_the_tapes_and_the_finite_differences(case):
    _, loss, _, y_true, y_pred = case
    model, x = Prediction(y_pred), np.zeros(N)
    value, analytic = AnalyticGradients().value_and_grad(model, loss, model.params, x, y_true)
    tape_value, tape = TapeGradients(compiled=False).value_and_grad(model, loss, model.params, x, y_true)
    _, numeric = NumericGradients().value_and_grad(model, loss, model.params, x, y_true)
    analytic, tape, numeric = analytic["y_pred"], tape["y_pred"], numeric["y_pred"]
    assert analytic.shape == y_pred.shape  # dL/dy_pred has y_pred's shape, whatever y_true's
    assert value == pytest.approx(loss(y_true, y_pred), rel=1e-12)
    assert tape_value == pytest.approx(value, rel=1e-12)
    scale = np.abs(analytic).max()
    np.testing.assert_allclose(analytic, tape, rtol=1e-10, atol=1e-14 * scale)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8 * scale)


@pytest.mark.parametrize("loss, y_true, y_pred", [
    (BinaryCrossentropy(), [0.0, 1.0, 1.0, 0.0], [0.0, 1.0, 0.5, 1.0]),
    (CategoricalCrossentropy(), [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0], [0.2, 0.0, 0.8]]),
    (SparseCategoricalCrossentropy(), [0.0, 1.0], [[1.0, 0.0, 0.0], [0.2, 0.0, 0.8]]),
], ids=["binary", "categorical", "sparse"])
def test_clipped_probabilities_have_the_tapes_gradient_and_kerass_value(loss, y_true, y_pred, keras64):
    y_true, y_pred = np.array(y_true), np.array(y_pred)
    expected = float(getattr(keras64.losses, type(loss).__name__)()(y_true, y_pred))
    assert loss(y_true, y_pred) == pytest.approx(expected, rel=1e-10)
    model = Prediction(y_pred)
    _, tape = TapeGradients(compiled=False).value_and_grad(model, loss, model.params, np.zeros(len(y_pred)),
                                                           y_true)
    gradient = loss.gradient(y_true, y_pred)
    np.testing.assert_allclose(gradient, tape["y_pred"], rtol=1e-10, atol=1e-300)
    assert (gradient[(y_pred == 0.0) | (y_pred == 1.0)] == 0.0).all()  # flat where clipped


def test_mse_of_one_column_keeps_the_seeds_arithmetic():
    """The reference job's numbers come from exactly these expressions: they must not change."""
    rng = np.random.default_rng(3)
    y_true, y_pred = rng.normal(size=1000), rng.normal(size=1000)
    residual = y_pred - y_true
    value, gradient = MSE().value_and_gradient(y_true, y_pred)
    assert value == float(residual @ residual) / 1000
    assert np.array_equal(gradient, residual * (2.0 / 1000))
    assert np.array_equal(MSE().gradient(y_true, y_pred), (2.0 / 1000) * residual)


def test_a_sigmoid_then_binary_crossentropy_has_gradient_p_minus_y():
    """The lesson's identity: dL/dz = (dL/dp)(dp/dz) = (p - y) / N."""
    z = np.array([-2.0, -0.5, 0.0, 1.5])
    y = np.array([0.0, 1.0, 1.0, 0.0])
    p = 1.0 / (1.0 + np.exp(-z))
    through_probabilities = BinaryCrossentropy().gradient(y, p) * p * (1 - p)
    from_logits = BinaryCrossentropy(from_logits=True).gradient(y, z)
    np.testing.assert_allclose(through_probabilities, (p - y) / 4, rtol=1e-12)
    np.testing.assert_allclose(from_logits, (p - y) / 4, rtol=1e-12)


def test_the_hand_gradients_run_on_the_shapes_the_trainer_passes():
    """value_and_gradient (what the analytic provider calls) for (n,) targets with (n, 1)."""
    y_true, y_pred = np.array([0.0, 1.0]), np.array([[0.25], [0.5]])
    for loss in [MSE(), MAE(), Huber(), BinaryCrossentropy(), BinaryCrossentropy(from_logits=True)]:
        value, gradient = loss.value_and_gradient(y_true, y_pred)
        assert gradient.shape == (2, 1)
        assert value == pytest.approx(loss(y_true[:, None], y_pred), rel=1e-15)


@pytest.mark.parametrize("loss, y_true, y_pred, message", [
    (MSE(), [1.0, 2.0, 3.0], [[1.0, 2.0, 3.0]], r"y_true has shape \(3,\) and y_pred \(1, 3\)"),
    (MSE(), [1.0, 2.0], [[1.0, 2.0], [3.0, 4.0]], r"they must match, or be \(n,\) and \(n, 1\)"),
    (MAE(), np.zeros((2, 2, 2)), np.zeros((2, 2, 2)), r"must be \(n,\) or \(n, k\)"),
    (MSE(), ["a", "b"], [1.0, 2.0], "y_true must be an array of real numbers"),
    (CategoricalCrossentropy(), [0.0, 1.0], [0.5, 0.5], r"needs both of shape \(n, k\)"),
    (SparseCategoricalCrossentropy(), [0.0, 3.0], np.full((2, 3), 1 / 3),
     "labels must be whole numbers 0 to 2"),
    (SparseCategoricalCrossentropy(), [0.5, 1.0], np.full((2, 3), 1 / 3), "y_true holds 0.5"),
    (SparseCategoricalCrossentropy(), [0.0, 1.0, 2.0], np.full((2, 3), 1 / 3), r"y_true of shape \(n,\)"),
    (SparseCategoricalCrossentropy(), np.zeros((2, 3)), np.full((2, 3), 1 / 3), r"or \(n, 1\)"),
    (BinaryCrossentropy(), [-1.0, 1.0], [0.5, 0.5], r"y_true holds -1.0: BinaryCrossentropy needs targets in \[0, 1\]"),
    (BinaryCrossentropy(from_logits=True), [0.0, 2.0], [0.5, 0.5], "y_true holds 2.0"),
])
def test_shapes_and_labels_that_do_not_fit_are_refused_by_name(loss, y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        loss(y_true, y_pred)


@pytest.mark.parametrize("make, message", [
    (lambda: Huber(delta=0.0), "delta must be a finite number in"),
    (lambda: Huber(delta=float("nan")), "delta must be"),
    (lambda: BinaryCrossentropy(from_logits="yes"), "from_logits must be True or False"),
    (lambda: CategoricalCrossentropy(from_logits=1), "from_logits must be True or False"),
])
def test_bad_arguments_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_reprs_show_the_arguments():
    assert repr(Huber(delta=0.5)) == "Huber(delta=0.5)"
    assert repr(SparseCategoricalCrossentropy(from_logits=True)) == (
        "SparseCategoricalCrossentropy(from_logits=True)")
    assert repr(MSE()) == "MSE()"


def test_losses_run_on_tensors_inside_a_compiled_function():
    """The compiled tape traces compute() with an open batch dimension."""
    tf = import_tensorflow()
    loss = SparseCategoricalCrossentropy()
    function = tf.function(loss.compute, input_signature=[tf.TensorSpec((None,), tf.float64),
                                                          tf.TensorSpec((None, 3), tf.float64)])
    y_true, y_pred = np.array([0.0, 2.0]), np.array([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
    assert float(function(y_true, y_pred)) == pytest.approx(loss(y_true, y_pred), rel=1e-14)
    for loss in [MSE(), BinaryCrossentropy()]:
        function = tf.function(loss.compute, input_signature=[tf.TensorSpec((None,), tf.float64),
                                                              tf.TensorSpec((None, 1), tf.float64)])
        y_true, y_pred = np.array([0.0, 1.0]), np.array([[0.25], [0.5]])
        assert float(function(y_true, y_pred)) == pytest.approx(loss(y_true[:, None], y_pred), rel=1e-14)
