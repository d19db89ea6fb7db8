"""Metrics: numbers that say how good the predictions are, with Keras's names.

A loss is what gradient descent minimises; a metric is what you report. They can be
the same (``"mse"``), but accuracy, for example, has no useful gradient: it changes
only when a prediction crosses the threshold, so it can be watched but not trained on.

``get_metric("accuracy")`` gives the [`Metric`][minigd.Metric] that ``Trainer(..., metrics=[...])``
computes at each epoch end; the value is logged under the name you gave (``"mae"``
stays ``"mae"``), as in Keras.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # numpy.typing costs milliseconds at import; the hints need it only here
    from numpy.typing import ArrayLike

MetricFunction = Callable[[np.ndarray, np.ndarray], float]


class Metric:
    """A named function of ``(y_true, y_pred)`` that returns a float.

    Args:
        function: ``function(y_true, y_pred)``, numpy in and a number (or an array,
            which is averaged) out.
        name: the key in the logs; None uses the function's ``__name__``.
        direction: ``"up"`` if larger is better (accuracy), ``"down"`` if smaller is
            better (an error); callbacks in ``mode="auto"`` read it.

    Examples:
        >>> import numpy as np
        >>> def max_error(y_true, y_pred):
        ...     return np.max(np.abs(y_true - y_pred))
        >>> metric = Metric(max_error)
        >>> metric.name, metric(np.array([1.0, 2.0]), np.array([1.5, 4.0]))
        ('max_error', 2.0)
    """

    def __init__(self, function: MetricFunction, name: str | None = None,
                 direction: str = "down") -> None:
        if not callable(function):
            raise ValueError(f"function must be callable as function(y_true, y_pred), got {function!r}.")
        if direction not in ("up", "down"):
            raise ValueError(f"direction must be 'up' (larger is better) or 'down' (smaller is "
                             f"better), got {direction!r}.")
        name = getattr(function, "__name__", None) if name is None else name
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string (the key in the logs), got {name!r}.")
        self.function, self.name, self.direction = function, name, direction

    def __call__(self, y_true: ArrayLike, y_pred: ArrayLike) -> float:
        """The metric's value on these targets and predictions."""
        return float(np.mean(self.function(y_true, y_pred)))

    def __repr__(self) -> str:
        function = getattr(self.function, "__name__", repr(self.function))
        return f"Metric({function}, name={self.name!r}, direction={self.direction!r})"


def binary_accuracy(y_true: ArrayLike, y_pred: ArrayLike, threshold: float = 0.5) -> float:
    """Fraction of predictions on the right side of ``threshold``.

    Formula::

        mean(y_true == (y_pred > threshold))

    ``y_true`` holds 0s and 1s; ``y_pred`` holds probabilities (shape (n,) or (n, 1)),
    or any scores if you move the threshold (0 for logits).

    Examples:
        >>> binary_accuracy([1, 1, 0, 0], [0.98, 1.0, 0.0, 0.6])
        0.75
    """
    y_true, y_pred = _same_shape(y_true, y_pred)
    return float(np.mean(y_true == (y_pred > threshold)))


def categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of examples whose largest prediction is at the one-hot target's 1.

    Formula::

        mean(argmax(y_true, axis=-1) == argmax(y_pred, axis=-1))

    ``y_true`` is one-hot, shape (n, k); ``y_pred`` has shape (n, k): probabilities or
    logits (the argmax is the same).

    Examples:
        >>> categorical_accuracy([[0, 0, 1], [0, 1, 0]], [[0.1, 0.9, 0.8], [0.05, 0.95, 0.0]])
        0.5
    """
    y_true, y_pred = _same_shape(y_true, y_pred)
    if y_pred.ndim != 2:
        raise ValueError(f"y_pred has shape {y_pred.shape}: categorical accuracy needs one row of "
                         "k class scores per example, shape (n, k).")
    return float(np.mean(np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)))


def sparse_categorical_accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Fraction of examples whose largest prediction is at the integer target.

    Formula::

        mean(y_true == argmax(y_pred, axis=-1))

    ``y_true`` holds class numbers 0..k-1, shape (n,) or (n, 1); ``y_pred`` has shape
    (n, k).

    Examples:
        >>> sparse_categorical_accuracy([2, 1], [[0.1, 0.6, 0.3], [0.05, 0.95, 0.0]])
        0.5
    """
    y_true, y_pred = _as_arrays(y_true, y_pred)
    if y_true.ndim == 2 and y_true.shape[1] == 1:
        y_true = y_true[:, 0]
    if y_pred.ndim != 2 or y_true.shape != y_pred.shape[:1]:
        raise ValueError(f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: sparse "
                         "categorical accuracy needs class numbers of shape (n,) and scores of shape (n, k).")
    return float(np.mean(y_true == np.argmax(y_pred, axis=-1)))


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Binary, categorical or sparse categorical accuracy, picked from the shapes as Keras does.

    * ``y_pred`` of shape (n,) or (n, 1): `binary_accuracy` (threshold 0.5);
    * ``y_pred`` of shape (n, k > 1) and ``y_true`` of shape (n,) or (n, 1):
      `sparse_categorical_accuracy`;
    * both of shape (n, k > 1): `categorical_accuracy` (one-hot targets).

    Examples:
        >>> accuracy([1, 0], [0.7, 0.2])
        1.0
        >>> accuracy([2, 0], [[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
        0.5
        >>> accuracy([[0, 0, 1], [1, 0, 0]], [[0.1, 0.2, 0.7], [0.3, 0.6, 0.1]])
        0.5
    """
    y_true, y_pred = _as_arrays(y_true, y_pred)
    if y_pred.ndim == 1 or y_pred.shape[-1] == 1:
        return binary_accuracy(y_true, y_pred)
    if y_true.ndim < y_pred.ndim or y_true.shape[-1] == 1:
        return sparse_categorical_accuracy(y_true, y_pred)
    return categorical_accuracy(y_true, y_pred)


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The mean of the absolute errors.

    Formula::

        mean(|y_true - y_pred|)

    Examples:
        >>> mean_absolute_error([1.0, 2.0, 3.0], [1.5, 2.0, 1.0])
        0.8333333333333334
    """
    y_true, y_pred = _same_shape(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred)))


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """The mean of the squared errors (the MSE loss, reported as a metric).

    Formula::

        mean((y_true - y_pred) ** 2)

    Examples:
        >>> mean_squared_error([1.0, 2.0, 3.0], [1.5, 2.0, 1.0])
        1.4166666666666667
    """
    y_true, y_pred = _same_shape(y_true, y_pred)
    return float(np.mean((y_true - y_pred) ** 2))


#: Every name get_metric knows (Keras's), with its function and whether larger is better.
METRICS: dict[str, tuple[MetricFunction, str]] = {
    "accuracy": (accuracy, "up"),
    "acc": (accuracy, "up"),
    "binary_accuracy": (binary_accuracy, "up"),
    "categorical_accuracy": (categorical_accuracy, "up"),
    "sparse_categorical_accuracy": (sparse_categorical_accuracy, "up"),
    "mae": (mean_absolute_error, "down"),
    "mean_absolute_error": (mean_absolute_error, "down"),
    "mse": (mean_squared_error, "down"),
    "mean_squared_error": (mean_squared_error, "down"),
}


def get_metric(identifier: str | Metric | MetricFunction) -> Metric:
    """The [`Metric`][minigd.Metric] for a Keras name, a ``Metric``, or a function.

    Args:
        identifier: one of the names in ``METRICS`` (logged under that very name), a
            [`Metric`][minigd.Metric] (returned as it is), or a function ``f(y_true, y_pred)``
            (logged under ``f.__name__``, smaller taken as better).

    Examples:
        >>> metric = get_metric("mae")
        >>> metric.name, metric([1.0, 2.0], [1.5, 2.0]), metric.direction
        ('mae', 0.25, 'down')
        >>> get_metric("accuracy")([1, 0, 1], [0.9, 0.4, 0.2])
        0.6666666666666666
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier not in METRICS:
            raise ValueError(f"metric {identifier!r} is not one minigd knows; use one of "
                             f"{sorted(METRICS)}, a Metric, or a function f(y_true, y_pred).")
        function, direction = METRICS[identifier]
        return Metric(function, name=identifier, direction=direction)
    if callable(identifier):
        return Metric(identifier)
    raise ValueError(f"metric must be a name such as 'accuracy' or 'mae', a Metric, or a function "
                     f"f(y_true, y_pred), got {identifier!r}.")


def _as_arrays(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 arrays with the same number of examples."""
    y_true, y_pred = np.asarray(y_true, dtype=np.float64), np.asarray(y_pred, dtype=np.float64)
    if y_true.ndim == 0 or y_pred.ndim == 0 or len(y_true) != len(y_pred):
        raise ValueError(f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: they need the "
                         "same number of examples (rows), one prediction per target.")
    return y_true, y_pred


def _same_shape(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Both of one shape; (n,) against (n, 1) is fine (Keras squeezes the column too)."""
    y_true, y_pred = _as_arrays(y_true, y_pred)
    if y_pred.ndim == y_true.ndim + 1 and y_pred.shape[-1] == 1:
        y_pred = y_pred[..., 0]
    elif y_true.ndim == y_pred.ndim + 1 and y_true.shape[-1] == 1:
        y_true = y_true[..., 0]
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: this metric "
                         "compares them element by element, so the shapes must match.")
    return y_true, y_pred
