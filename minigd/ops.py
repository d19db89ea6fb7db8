"""Array functions that work on numpy arrays and TensorFlow tensors alike.

A model's ``forward`` is written once and runs under every gradient provider: on numpy
arrays (analytic and numeric gradients) and on TensorFlow tensors (GradientTape).
Operators (``+ - * / **``) already work on both; for everything else use these::

    from minigd import ops
    y_pred = ops.exp(params["k"] * x)          # instead of np.exp(...)
    total = ops.sum(residual ** 2)             # instead of np.sum(...)

TensorFlow is never imported here: a tensor can only reach these functions if the
caller has already imported it, so we look it up in ``sys.modules``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

#: What the functions here (and a model's ``forward``) work on: a numpy array or scalar,
#: or a TensorFlow tensor or variable. ``Any``, since TensorFlow is an optional import.
Array = Any

__all__ = ["sum", "mean", "matvec", "exp", "log", "sqrt", "tanh", "sin", "cos"]


def _tensorflow_for(array):
    """Return the tensorflow module if ``array`` is a TensorFlow tensor, else None."""
    if type(array).__module__.startswith("tensorflow"):
        return sys.modules["tensorflow"]
    return None


def sum(array, axis=None):  # noqa: A001 - mirrors np.sum on purpose
    """Sum of elements (over ``axis`` if given)."""
    tf = _tensorflow_for(array)
    return np.sum(array, axis=axis) if tf is None else tf.reduce_sum(array, axis=axis)


def mean(array, axis=None):
    """Mean of elements (over ``axis`` if given)."""
    tf = _tensorflow_for(array)
    return np.mean(array, axis=axis) if tf is None else tf.reduce_mean(array, axis=axis)


def matvec(matrix, vector):
    """Matrix (n, d) times vector (d,) -> vector (n,)."""
    tf = _tensorflow_for(matrix)
    return matrix @ vector if tf is None else tf.linalg.matvec(matrix, vector)


def _elementwise(numpy_function, tf_name: str, doc: str):
    def function(array):
        tf = _tensorflow_for(array)
        return numpy_function(array) if tf is None else getattr(tf.math, tf_name)(array)

    function.__name__ = tf_name
    function.__doc__ = doc
    return function


exp = _elementwise(np.exp, "exp", "Element-wise e**x.")
log = _elementwise(np.log, "log", "Element-wise natural logarithm.")
sqrt = _elementwise(np.sqrt, "sqrt", "Element-wise square root.")
tanh = _elementwise(np.tanh, "tanh", "Element-wise hyperbolic tangent.")
sin = _elementwise(np.sin, "sin", "Element-wise sine.")
cos = _elementwise(np.cos, "cos", "Element-wise cosine.")
