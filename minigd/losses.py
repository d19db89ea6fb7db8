"""Losses: how far predictions are from targets, and that distance's derivative.

Every loss here gives the numbers of the Keras loss of the same name (``keras.losses``)
and writes down, next to its value, its derivative ``dL/dy_pred`` worked out by hand.

Shapes, as in Keras: targets and predictions are (n,) or (n, k), one row per example;
``y_true`` of shape (n,) goes with ``y_pred`` of shape (n, 1) and the other way round.
The loss is a mean over examples: for the element-wise losses (MSE, MAE, Huber,
binary cross-entropy) Keras averages over the last axis and then over examples, which
is the mean of all n*k terms, so ``dL/dy_pred`` carries a factor ``1/N`` with
``N = y_pred.size``. The categorical cross-entropies sum over the k classes and average
over the n examples: their factor is ``1/n``.

Probabilities are clipped as Keras clips them, to ``[EPSILON, 1 - EPSILON]`` with
``EPSILON = 1e-7``, so that ``log(0)`` never happens; where a probability was clipped its
gradient is 0 (the clip is flat there), in the hand derivatives as on the tape.
"""

from __future__ import annotations

import numpy as np

from . import ops
from ._validation import check_bool, check_real
from .ops import Array

#: Keras's ``backend.epsilon()``: probabilities are clipped to [EPSILON, 1 - EPSILON].
EPSILON = 1e-7


class Loss:
    """Base class for losses. Arguments come in Keras's order: ``(y_true, y_pred)``.

    Subclasses write:

    * ``compute(y_true, y_pred)``: the loss as one array expression, using operators and
      [`minigd.ops`][minigd.ops] so it runs on numpy arrays and TensorFlow tensors alike;
    * ``gradient(y_true, y_pred)``: ``dL/dy_pred`` in numpy, an array of ``y_pred``'s
      shape, for the analytic gradient provider;
    * optionally ``check(y_true, y_pred)``, if they accept other shapes than the
      usual ones (see [`check`][minigd.losses.Loss.check]).

    Examples:
        >>> class SumOfSquares(Loss):
        ...     def compute(self, y_true, y_pred):
        ...         return ops.sum((y_pred - y_true) ** 2)
        >>> SumOfSquares()([1.0, 2.0], [2.0, 4.0])
        5.0
    """

    def __call__(self, y_true, y_pred) -> float:
        """The loss as a Python float, after checking the shapes with [`check`][minigd.losses.Loss.check]."""
        y_true = _as_numbers(y_true, "y_true")
        y_pred = _as_numbers(y_pred, "y_pred")
        self.check(y_true, y_pred)
        return float(self.compute(y_true, y_pred))

    def check(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        """Raise ValueError unless the shapes go together.

        Allowed: equal shapes (n,) or (n, k), and (n,) with (n, 1) either way round.
        numpy would broadcast (n,) against (n, k) into an (n, n) or (n, k) table and
        give a wrong number without a word, so that is refused here.
        """
        if y_pred.ndim not in (1, 2) or y_true.ndim not in (1, 2):
            raise ValueError(
                f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: each must be "
                "(n,) or (n, k), one row per example."
            )
        if y_true.shape == y_pred.shape or _column_pair(y_true.shape, y_pred.shape):
            return
        raise ValueError(
            f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: they must match, "
            "or be (n,) and (n, 1)."
        )

    def compute(self, y_true: Array, y_pred: Array) -> Array:
        """The loss, a 0-d array or tensor: operators and [`minigd.ops`][minigd.ops] only."""
        raise NotImplementedError(f"{type(self).__name__} must define compute(y_true, y_pred).")

    def gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
        """``dL/dy_pred``, in numpy, of ``y_pred``'s shape."""
        raise NotImplementedError(
            f"{type(self).__name__} has no analytic gradient: define "
            "gradient(y_true, y_pred), or use gradients='tape' or 'numeric'."
        )

    def value_and_gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
        """Loss and ``dL/dy_pred`` together; override to share work between the two."""
        return float(self.compute(y_true, y_pred)), self.gradient(y_true, y_pred)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MSE(Loss):
    """Mean squared error, ``keras.losses.MeanSquaredError``.

    With ``N`` the number of elements of ``y_pred`` (n examples times k outputs)::

        L = (1/N) * sum (y_pred - y_true)**2
        dL/dy_pred = (2/N) * (y_pred - y_true)

    Examples:
        >>> MSE()([1.0, 2.0], [1.0, 4.0])
        2.0
        >>> MSE().gradient(np.array([1.0, 2.0]), np.array([1.0, 4.0]))
        array([0., 2.])
    """

    def compute(self, y_true, y_pred):
        return ops.mean((y_pred - _like_y_pred(y_true, y_pred)) ** 2)

    def gradient(self, y_true, y_pred):
        return (2.0 / y_pred.size) * (y_pred - _like_y_pred(y_true, y_pred))

    def value_and_gradient(self, y_true, y_pred):
        residual = y_pred - _like_y_pred(y_true, y_pred)  # computed once, used by both
        n = residual.size
        # a dot product sums the squares without a temporary array of squares
        flat = residual if residual.ndim == 1 else residual.reshape(-1)
        return float(flat @ flat) / n, residual * (2.0 / n)


class MAE(Loss):
    """Mean absolute error, ``keras.losses.MeanAbsoluteError``.

    With ``N`` the number of elements of ``y_pred``::

        L = (1/N) * sum |y_pred - y_true|
        dL/dy_pred = (1/N) * sign(y_pred - y_true)        (0 where they are equal)

    Examples:
        >>> MAE()([1.0, 2.0], [1.5, 1.0])
        0.75
        >>> MAE().gradient(np.array([1.0, 2.0]), np.array([1.5, 1.0]))
        array([ 0.5, -0.5])
    """

    def compute(self, y_true, y_pred):
        return ops.mean(ops.abs(y_pred - _like_y_pred(y_true, y_pred)))

    def gradient(self, y_true, y_pred):
        return np.sign(y_pred - _like_y_pred(y_true, y_pred)) / y_pred.size


class Huber(Loss):
    """Huber loss, ``keras.losses.Huber``: squared near the target, absolute far from it.

    With ``e = y_pred - y_true`` and ``N`` the number of elements of ``y_pred``::

        L = (1/N) * sum h(e),   h(e) = e**2 / 2                    if |e| <= delta
                                       delta * |e| - delta**2 / 2   otherwise
        dL/dy_pred = (1/N) * clip(e, -delta, delta)

    Args:
        delta: where the square turns into a straight line (> 0).

    Examples:
        >>> Huber()([0.0, 0.0], [0.5, 3.0])
        1.3125
        >>> Huber().gradient(np.array([0.0, 0.0]), np.array([0.5, 3.0]))
        array([0.25, 0.5 ])
    """

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = check_real(delta, "delta", low=0.0)

    def compute(self, y_true, y_pred):
        error = y_pred - _like_y_pred(y_true, y_pred)
        size = ops.abs(error)
        return ops.mean(ops.where(size <= self.delta, 0.5 * error**2,
                                  self.delta * size - 0.5 * self.delta**2))

    def gradient(self, y_true, y_pred):
        error = y_pred - _like_y_pred(y_true, y_pred)
        return np.clip(error, -self.delta, self.delta) / y_pred.size

    def __repr__(self) -> str:
        return f"Huber(delta={self.delta!r})"


class BinaryCrossentropy(Loss):
    """Binary cross-entropy, ``keras.losses.BinaryCrossentropy``, for targets y in [0, 1].

    With probabilities (``from_logits=False``), ``p = clip(y_pred, EPSILON, 1 - EPSILON)``
    and ``N`` the number of elements of ``y_pred``::

        L = -(1/N) * sum [y * log(p) + (1 - y) * log(1 - p)]
        dL/dy_pred = (1/N) * (p - y) / (p * (1 - p))       (0 where y_pred was clipped)

    With logits (``from_logits=True``), ``y_pred = z`` and ``p = sigmoid(z)``; the same
    loss is written so that ``exp`` cannot overflow, as TensorFlow writes it::

        L = (1/N) * sum [max(z, 0) - z * y + log(1 + exp(-|z|))]
        dL/dz = (1/N) * (sigmoid(z) - y)

    The second is the first times ``dp/dz = p * (1 - p)``: after a sigmoid, the gradient
    of the cross-entropy is simply ``p - y``.

    Args:
        from_logits: False if ``y_pred`` holds probabilities (after a sigmoid), True if
            it holds logits (any real numbers), as in Keras.

    Examples:
        >>> round(BinaryCrossentropy()([1.0, 0.0], [0.8, 0.4]), 6)
        0.366985
        >>> BinaryCrossentropy().gradient(np.array([1.0, 0.0]), np.array([0.8, 0.4])).round(6)
        array([-0.625   ,  0.833333])
        >>> round(BinaryCrossentropy(from_logits=True)([1.0, 0.0], [0.0, 0.0]), 6)  # log 2
        0.693147
    """

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = check_bool(from_logits, "from_logits")

    def check(self, y_true, y_pred):
        super().check(y_true, y_pred)
        outside = (y_true < 0) | (y_true > 1)
        if outside.any():  # labels -1/1 or 0/2 give a loss below 0 and train nonsense
            raise ValueError(f"y_true holds {float(y_true[outside].ravel()[0])!r}: BinaryCrossentropy "
                             "needs targets in [0, 1] (labels 0 and 1, or probabilities).")

    def compute(self, y_true, y_pred):
        y = _like_y_pred(y_true, y_pred)
        if self.from_logits:
            z = y_pred
            return ops.mean(ops.maximum(z, 0.0) - z * y + ops.log1p(ops.exp(-ops.abs(z))))
        p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        return -ops.mean(y * ops.log(p) + (1.0 - y) * ops.log(1.0 - p))

    def gradient(self, y_true, y_pred):
        y = _like_y_pred(y_true, y_pred)
        if self.from_logits:
            return (ops.sigmoid(y_pred) - y) / y_pred.size
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        return _unclipped(y_pred) * (p - y) / (p * (1.0 - p)) / y_pred.size

    def __repr__(self) -> str:
        return f"BinaryCrossentropy(from_logits={self.from_logits})"


class CategoricalCrossentropy(Loss):
    """Categorical cross-entropy, ``keras.losses.CategoricalCrossentropy``.

    For one-hot (or probability) targets ``y`` of shape (n, k) and predictions of shape
    (n, k). With probabilities (``from_logits=False``) Keras first rescales each row to
    sum to 1, ``q = p / S`` with ``S = sum_j p_j`` (a softmax output already does), then
    clips ``q`` to ``[EPSILON, 1 - EPSILON]``::

        L = -(1/n) * sum_i sum_j y_ij * log(q_ij)
        dL/dp_ij = (1/n) * (g_ij - sum_l g_il * q_il) / S_i,   g_ij = -y_ij / q_ij
                   (g_ij = 0 where q_ij was clipped)

    For a one-hot row of a softmax output (``S = 1``) that is ``-y_ij / p_ij + 1``: the
    ``+ 1`` is the rescaling's share, and a softmax's backward pass cancels it, since
    its outputs always sum to 1. With logits (``from_logits=True``), ``y_pred = z``::

        L = -(1/n) * sum_i sum_j y_ij * log_softmax(z)_ij
        dL/dz_ij = (1/n) * (softmax(z)_ij * sum_l y_il - y_ij)     (= p - y, one-hot)

    Args:
        from_logits: False if ``y_pred`` holds probabilities (after a softmax), True if
            it holds logits, as in Keras.

    Examples:
        >>> loss = CategoricalCrossentropy()
        >>> round(loss([[0.0, 1.0], [1.0, 0.0]], [[0.5, 0.5], [0.8, 0.2]]), 6)
        0.458145
        >>> loss.gradient(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))
        array([[ 1., -1.]])
    """

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = check_bool(from_logits, "from_logits")

    def check(self, y_true, y_pred):
        if y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ValueError(
                f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: "
                f"{type(self).__name__} needs both of shape (n, k), one row of k class "
                "scores per example (for whole-number labels of shape (n,) use "
                "SparseCategoricalCrossentropy)."
            )

    def compute(self, y_true, y_pred):
        if self.from_logits:
            return -ops.mean(ops.sum(y_true * ops.log_softmax(y_pred), axis=-1))
        q = ops.clip(y_pred / ops.sum(y_pred, axis=-1, keepdims=True), EPSILON, 1.0 - EPSILON)
        return -ops.mean(ops.sum(y_true * ops.log(q), axis=-1))

    def gradient(self, y_true, y_pred):
        n = len(y_pred)
        if self.from_logits:
            return (ops.softmax(y_pred) * y_true.sum(axis=-1, keepdims=True) - y_true) / n
        total = y_pred.sum(axis=-1, keepdims=True)
        q = y_pred / total
        g = -y_true / np.clip(q, EPSILON, 1.0 - EPSILON) * _unclipped(q)
        return (g - (g * q).sum(axis=-1, keepdims=True)) / total / n

    def __repr__(self) -> str:
        return f"{type(self).__name__}(from_logits={self.from_logits})"


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy for whole-number class labels, ``keras.losses.SparseCategoricalCrossentropy``.

    ``y_true`` holds labels ``c_i`` in ``0 .. k-1``, shape (n,) or (n, 1); ``y_pred`` has
    shape (n, k). It is [`CategoricalCrossentropy`][minigd.CategoricalCrossentropy] with ``y = one_hot(c)``, except
    that, as in Keras, probabilities (``from_logits=False``) are clipped first,
    ``p = clip(y_pred, EPSILON, 1 - EPSILON)``, and then rescaled by ``S = sum_j p_j``::

        L = (1/n) * sum_i [log(S_i) - log(p_i,c_i)]
        dL/dy_pred_ij = (1/n) * (1/S_i - [j = c_i] / p_ij)      (0 where clipped)

    For a softmax output ``S = 1`` and ``L = -(1/n) * sum_i log(p_i,c_i)``. With logits
    (``from_logits=True``), ``y_pred = z``::

        L = (1/n) * sum_i [logsumexp(z_i) - z_i,c_i]
        dL/dz_ij = (1/n) * (softmax(z)_ij - [j = c_i])

    Args:
        from_logits: False if ``y_pred`` holds probabilities (after a softmax), True if
            it holds logits, as in Keras.

    Examples:
        >>> loss = SparseCategoricalCrossentropy()
        >>> round(loss([1, 0], [[0.5, 0.5], [0.8, 0.2]]), 6)
        0.458145
        >>> loss.gradient(np.array([1.0]), np.array([[0.5, 0.5]]))
        array([[ 1., -1.]])
    """

    def __init__(self, from_logits: bool = False) -> None:
        self.from_logits = check_bool(from_logits, "from_logits")

    def check(self, y_true, y_pred):
        labels_ok = y_true.ndim == 1 or (y_true.ndim == 2 and y_true.shape[1] == 1)
        if y_pred.ndim != 2 or not labels_ok or len(y_true) != len(y_pred):
            raise ValueError(
                f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: "
                "SparseCategoricalCrossentropy needs y_true of shape (n,) or (n, 1), one "
                "class label per example, and y_pred of shape (n, k)."
            )
        classes = y_pred.shape[1]
        bad = (y_true != np.round(y_true)) | (y_true < 0) | (y_true >= classes)
        if bad.any():
            raise ValueError(
                f"y_true holds {float(y_true.ravel()[bad.ravel()][0])!r}: labels must be whole "
                f"numbers 0 to {classes - 1} for y_pred with {classes} columns."
            )

    def compute(self, y_true, y_pred):
        labels = y_true[..., 0] if len(y_true.shape) == 2 else y_true
        y = ops.one_hot(labels, y_pred.shape[-1])
        if self.from_logits:
            return ops.mean(ops.logsumexp(y_pred) - ops.sum(y * y_pred, axis=-1))
        p = ops.clip(y_pred, EPSILON, 1.0 - EPSILON)
        return ops.mean(ops.log(ops.sum(p, axis=-1)) - ops.sum(y * ops.log(p), axis=-1))

    def gradient(self, y_true, y_pred):
        y = ops.one_hot(y_true.reshape(-1), y_pred.shape[-1])
        n = len(y_pred)
        if self.from_logits:
            return (ops.softmax(y_pred) - y) / n
        p = np.clip(y_pred, EPSILON, 1.0 - EPSILON)
        return _unclipped(y_pred) * (1.0 / p.sum(axis=-1, keepdims=True) - y / p) / n

    def __repr__(self) -> str:
        return f"SparseCategoricalCrossentropy(from_logits={self.from_logits})"


#: Keras's long names for the two short ones.
MeanSquaredError = MSE
MeanAbsoluteError = MAE


def _like_y_pred(y_true, y_pred):
    """``y_true`` with ``y_pred``'s rank, as Keras aligns them: (n,) <-> (n, 1).

    Without this, ``y_pred - y_true`` would broadcast (n, 1) against (n,) into (n, n).
    Works on numpy arrays and tensors (``len(shape)`` and indexing work on both).
    """
    true_rank, pred_rank = len(y_true.shape), len(y_pred.shape)
    if true_rank + 1 == pred_rank:
        return y_true[..., None]
    if true_rank == pred_rank + 1:
        return y_true[..., 0]
    return y_true


def _column_pair(a: tuple, b: tuple) -> bool:
    """True for shapes (n,) and (n, 1), in either order."""
    return (len(a), len(b)) in ((1, 2), (2, 1)) and (a + (1,) == b or b + (1,) == a)


def _unclipped(p: np.ndarray) -> np.ndarray:
    """1.0 where ``clip(p, EPSILON, 1 - EPSILON)`` passes ``p`` through, else 0.0.

    The clip is flat outside that range, so its derivative is 0 there (TensorFlow's
    ``clip_by_value`` counts the ends as inside, and so do we).
    """
    return ((p >= EPSILON) & (p <= 1.0 - EPSILON)).astype(np.float64)


def _as_numbers(values, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of real numbers ({error}).") from None
