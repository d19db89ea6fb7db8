"""Array functions that work on numpy arrays and TensorFlow tensors alike.

A model's ``forward`` (and a loss's ``compute``) is written once and runs under every
gradient provider: on numpy arrays (analytic and numeric gradients) and on TensorFlow
tensors (GradientTape). Operators (``+ - * / ** @``, indexing such as ``x[:, None]``)
already work on both; for everything else use these::

    from minigd import ops
    y_pred = ops.exp(params["k"] * x)          # instead of np.exp(...)
    total = ops.sum(residual ** 2)             # instead of np.sum(...)

Each function has two lines of substance: the numpy one and the TensorFlow one. The
numpy versions of ``sigmoid``, ``softmax`` and ``logsumexp`` are written to be
numerically stable (no overflow for large inputs), as TensorFlow's are.

TensorFlow is never imported here: a tensor can only reach these functions if the
caller has already imported it, so we look it up in ``sys.modules``.

Examples:
    >>> import numpy as np
    >>> from minigd import ops
    >>> ops.softmax(np.array([[0.0, 0.0], [0.0, np.log(3.0)]])).round(6)
    array([[0.5 , 0.5 ],
           [0.25, 0.75]])
    >>> ops.one_hot(np.array([2, 0]), 3)
    array([[0., 0., 1.],
           [1., 0., 0.]])
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

#: What the functions here (and a model's ``forward``) work on: a numpy array or scalar,
#: or a TensorFlow tensor or variable. ``Any``, since TensorFlow is an optional import.
Array = Any

__all__ = [
    "sum", "mean", "max", "matvec", "matmul",
    "exp", "log", "log1p", "sqrt", "tanh", "sin", "cos", "abs", "square", "sign",
    "sigmoid", "relu", "maximum", "minimum", "where", "clip",
    "softmax", "logsumexp", "log_softmax", "one_hot",
]


def _tensorflow_for(*arrays):
    """Return the tensorflow module if any of ``arrays`` is a TensorFlow tensor, else None."""
    for array in arrays:
        if type(array).__module__.startswith("tensorflow"):
            return sys.modules["tensorflow"]
    return None


# -- reductions ------------------------------------------------------------------------


def sum(array: Array, axis: int | None = None, keepdims: bool = False) -> Array:  # noqa: A001
    """Sum of elements (over ``axis`` if given), like ``np.sum``."""
    tf = _tensorflow_for(array)
    if tf is None:
        return np.sum(array, axis=axis, keepdims=keepdims)
    return tf.reduce_sum(array, axis=axis, keepdims=keepdims)


def mean(array: Array, axis: int | None = None, keepdims: bool = False) -> Array:
    """Mean of elements (over ``axis`` if given), like ``np.mean``."""
    tf = _tensorflow_for(array)
    if tf is None:
        return np.mean(array, axis=axis, keepdims=keepdims)
    return tf.reduce_mean(array, axis=axis, keepdims=keepdims)


def max(array: Array, axis: int | None = None, keepdims: bool = False) -> Array:  # noqa: A001
    """Largest element (over ``axis`` if given), like ``np.max``."""
    tf = _tensorflow_for(array)
    if tf is None:
        return np.max(array, axis=axis, keepdims=keepdims)
    return tf.reduce_max(array, axis=axis, keepdims=keepdims)


# -- products --------------------------------------------------------------------------


def matvec(matrix: Array, vector: Array) -> Array:
    """Matrix (n, d) times vector (d,) -> vector (n,)."""
    tf = _tensorflow_for(matrix)
    return matrix @ vector if tf is None else tf.linalg.matvec(matrix, vector)


def matmul(a: Array, b: Array) -> Array:
    """Matrix (n, d) times matrix (d, k) -> matrix (n, k); the same as ``a @ b``."""
    tf = _tensorflow_for(a, b)
    return a @ b if tf is None else tf.linalg.matmul(a, b)


# -- element-wise ----------------------------------------------------------------------


def _elementwise(numpy_function, tf_function_name: str, name: str, doc: str):
    """A one-argument function that calls numpy's or TensorFlow's version of it."""
    def function(array: Array) -> Array:
        tf = _tensorflow_for(array)
        if tf is None:
            return numpy_function(array)
        module, _, attribute = tf_function_name.rpartition(".")
        return getattr(getattr(tf, module) if module else tf, attribute)(array)

    function.__name__ = function.__qualname__ = name
    function.__doc__ = doc
    return function


exp = _elementwise(np.exp, "math.exp", "exp", "Element-wise e**x.")
log = _elementwise(np.log, "math.log", "log", "Element-wise natural logarithm.")
log1p = _elementwise(np.log1p, "math.log1p", "log1p", "Element-wise log(1 + x), accurate for small x.")
sqrt = _elementwise(np.sqrt, "math.sqrt", "sqrt", "Element-wise square root.")
tanh = _elementwise(np.tanh, "math.tanh", "tanh", "Element-wise hyperbolic tangent.")
sin = _elementwise(np.sin, "math.sin", "sin", "Element-wise sine.")
cos = _elementwise(np.cos, "math.cos", "cos", "Element-wise cosine.")
abs = _elementwise(np.abs, "math.abs", "abs", "Element-wise absolute value |x|.")  # noqa: A001
square = _elementwise(np.square, "math.square", "square", "Element-wise x**2.")
sign = _elementwise(np.sign, "math.sign", "sign", "Element-wise sign: -1, 0 or 1.")


def _numpy_sigmoid(x):
    # exp(-|x|) never overflows; the two branches are 1/(1+e^-x) and e^x/(1+e^x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


sigmoid = _elementwise(_numpy_sigmoid, "math.sigmoid", "sigmoid",
                       "Element-wise logistic function 1 / (1 + e**-x), in (0, 1).")
relu = _elementwise(lambda x: np.maximum(x, 0.0), "nn.relu", "relu",
                    "Element-wise max(x, 0).")


def maximum(a: Array, b: Array) -> Array:
    """Element-wise larger of ``a`` and ``b`` (either may be a number)."""
    tf = _tensorflow_for(a, b)
    return np.maximum(a, b) if tf is None else tf.maximum(a, b)


def minimum(a: Array, b: Array) -> Array:
    """Element-wise smaller of ``a`` and ``b`` (either may be a number)."""
    tf = _tensorflow_for(a, b)
    return np.minimum(a, b) if tf is None else tf.minimum(a, b)


def where(condition: Array, a: Array, b: Array) -> Array:
    """``a`` where ``condition`` is true, else ``b``; ``a`` and ``b`` arrays of one dtype."""
    tf = _tensorflow_for(condition, a, b)
    return np.where(condition, a, b) if tf is None else tf.where(condition, a, b)


def clip(array: Array, low: float, high: float) -> Array:
    """Every element limited to ``[low, high]``; the gradient is 0 outside that range."""
    tf = _tensorflow_for(array)
    return np.clip(array, low, high) if tf is None else tf.clip_by_value(array, low, high)


# -- probabilities over classes (the last axis) ------------------------------------------


def softmax(array: Array, axis: int = -1) -> Array:
    """``exp(x) / sum(exp(x))`` along ``axis``: each row becomes probabilities summing to 1.

    The numpy version subtracts each row's maximum first (which changes nothing in
    exact arithmetic) so that ``exp`` cannot overflow.
    """
    tf = _tensorflow_for(array)
    if tf is not None:
        return tf.nn.softmax(array, axis=axis)
    e = np.exp(array - np.max(array, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def logsumexp(array: Array, axis: int = -1, keepdims: bool = False) -> Array:
    """``log(sum(exp(x)))`` along ``axis``, computed without overflow."""
    tf = _tensorflow_for(array)
    if tf is not None:
        return tf.reduce_logsumexp(array, axis=axis, keepdims=keepdims)
    top = np.max(array, axis=axis, keepdims=True)
    result = top + np.log(np.sum(np.exp(array - top), axis=axis, keepdims=True))
    return result if keepdims else np.squeeze(result, axis=axis)


def log_softmax(array: Array, axis: int = -1) -> Array:
    """``log(softmax(x))`` along ``axis``, as ``x - logsumexp(x)`` (accurate where
    softmax would round to 0)."""
    tf = _tensorflow_for(array)
    if tf is not None:
        return tf.nn.log_softmax(array, axis=axis)
    return array - logsumexp(array, axis=axis, keepdims=True)


def one_hot(labels: Array, depth: int) -> Array:
    """Whole-number class labels of shape (n,) -> float64 rows of shape (n, depth).

    Row i is 1 in column ``labels[i]`` and 0 elsewhere. Labels may be stored as floats
    (the tape passes targets as float64 tensors); a label outside ``[0, depth)`` gives
    a row of zeros.
    """
    tf = _tensorflow_for(labels)
    if tf is None:
        return (np.asarray(labels)[..., None] == np.arange(depth)).astype(np.float64)
    return tf.one_hot(tf.cast(labels, tf.int64), depth, dtype=tf.float64)
