"""minigd.ops: each function gives the same numbers on numpy arrays and TensorFlow tensors."""

import numpy as np
import pytest

from minigd import ops
from minigd.tape import import_tensorflow

RNG = np.random.default_rng(0)
X = RNG.normal(size=(5, 3)) * 3
Y = RNG.normal(size=(5, 3))

# (name, function of numpy-or-tensor arguments, its arguments)
CALLS = [
    ("sum", lambda a: ops.sum(a), [X]),
    ("sum-axis", lambda a: ops.sum(a, axis=0), [X]),
    ("sum-keepdims", lambda a: ops.sum(a, axis=-1, keepdims=True), [X]),
    ("mean", lambda a: ops.mean(a), [X]),
    ("mean-axis-keepdims", lambda a: ops.mean(a, axis=1, keepdims=True), [X]),
    ("max-axis", lambda a: ops.max(a, axis=-1), [X]),
    ("matvec", lambda a, v: ops.matvec(a, v), [X, Y[0]]),
    ("matmul", lambda a, b: ops.matmul(a, b), [X, Y.T]),
    *[(name, getattr(ops, name), [X]) for name in
      ["exp", "tanh", "sin", "cos", "abs", "square", "sign", "sigmoid", "relu"]],
    *[(name, getattr(ops, name), [np.abs(X) + 0.1]) for name in ["log", "log1p", "sqrt"]],
    ("maximum", ops.maximum, [X, Y]),
    ("maximum-number", lambda a: ops.maximum(a, 0.5), [X]),
    ("minimum", ops.minimum, [X, Y]),
    ("where", lambda a, b: ops.where(a > b, a, b), [X, Y]),
    ("clip", lambda a: ops.clip(a, -1.0, 0.5), [X]),
    ("softmax", ops.softmax, [X]),
    ("softmax-axis0", lambda a: ops.softmax(a, axis=0), [X]),
    ("logsumexp", ops.logsumexp, [X]),
    ("logsumexp-keepdims", lambda a: ops.logsumexp(a, keepdims=True), [X]),
    ("log_softmax", ops.log_softmax, [X]),
    ("one_hot", lambda labels: ops.one_hot(labels, 4), [np.array([0.0, 3.0, 1.0, 1.0])]),
]


@pytest.mark.parametrize("name, function, arguments", CALLS, ids=[c[0] for c in CALLS])
def test_numpy_and_tensorflow_give_the_same_numbers(name, function, arguments):
    tf = import_tensorflow()
    on_numpy = function(*arguments)
    on_tensors = function(*[tf.constant(a, dtype=tf.float64) for a in arguments])
    assert not type(on_numpy).__module__.startswith("tensorflow")  # numpy in, numpy out
    assert on_tensors.dtype == tf.float64
    assert np.shape(on_numpy) == tuple(on_tensors.shape)
    np.testing.assert_allclose(on_numpy, on_tensors.numpy(), rtol=1e-14, atol=1e-300)


def test_a_tensor_in_the_second_argument_is_enough():
    tf = import_tensorflow()
    result = ops.matmul(X, tf.constant(Y.T))
    assert type(result).__module__.startswith("tensorflow")


def test_stable_functions_do_not_overflow_for_large_inputs():
    big = np.array([[-1000.0, 0.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow to 0 is fine
        np.testing.assert_array_equal(ops.sigmoid(big), [[0.0, 0.5, 1.0]])
        np.testing.assert_array_equal(ops.softmax(big), [[0.0, 0.0, 1.0]])
        assert ops.logsumexp(big)[0] == 1000.0
        assert ops.log_softmax(big)[0, 0] == -2000.0  # where log(softmax) would be log(0)


def test_sigmoid_is_accurate_in_its_tails():
    """1 / (1 + e**-x) in both directions: sigmoid(-30) keeps its relative precision."""
    assert ops.sigmoid(np.array(-30.0)) == pytest.approx(np.exp(-30.0) / (1 + np.exp(-30.0)), rel=1e-15)
    assert ops.sigmoid(np.array(0.0)) == 0.5


def test_softmax_rows_are_probabilities():
    p = ops.softmax(X)
    assert (p > 0).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(np.log(p), ops.log_softmax(X), rtol=1e-13)


def test_one_hot_puts_a_one_in_each_labels_column():
    np.testing.assert_array_equal(ops.one_hot(np.array([2, 0]), 3), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ops.one_hot(np.array([[1.0], [0.0]]), 2), [[[0, 1]], [[1, 0]]])
