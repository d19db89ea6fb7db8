"""Losses: how far predictions are from targets, and that distance's derivative."""

from __future__ import annotations

import numpy as np

from . import ops


class Loss:
    """Base class for losses. Arguments come in Keras's order: ``(y_true, y_pred)``.

    Subclasses write:

    * ``compute(y_true, y_pred)``: the loss as one array expression, using operators and
      :mod:`minigd.ops` so it runs on numpy arrays and TensorFlow tensors alike;
    * ``gradient(y_true, y_pred)``: ``dL/dy_pred`` in numpy, one number per example,
      for the analytic gradient provider.
    """

    def __call__(self, y_true, y_pred) -> float:
        """The loss as a Python float; y_true and y_pred must have the same shape."""
        y_true = _as_numbers(y_true, "y_true")
        y_pred = _as_numbers(y_pred, "y_pred")
        if y_true.shape != y_pred.shape:
            # numpy would broadcast (n,) against (n, 1) into an (n, n) table: refuse instead
            raise ValueError(
                f"y_true has shape {y_true.shape} and y_pred {y_pred.shape}: they must match."
            )
        return float(self.compute(y_true, y_pred))

    def compute(self, y_true, y_pred):
        raise NotImplementedError(f"{type(self).__name__} must define compute(y_true, y_pred).")

    def gradient(self, y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
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
    """Mean squared error ``L = (1/n) * sum_i (y_pred_i - y_true_i)**2``.

    Its derivative: ``dL/dy_pred_i = (2/n) * (y_pred_i - y_true_i)``.

    Example:
        >>> MSE()([1.0, 2.0], [1.0, 4.0])
        2.0
    """

    def compute(self, y_true, y_pred):
        return ops.mean((y_pred - y_true) ** 2)

    def gradient(self, y_true, y_pred):
        return (2.0 / len(y_true)) * (y_pred - y_true)

    def value_and_gradient(self, y_true, y_pred):
        residual = y_pred - y_true  # computed once, used by both
        n = len(y_true)
        # residual @ residual sums the squares without a temporary array of squares
        return float(residual @ residual) / n, residual * (2.0 / n)


def _as_numbers(values, name: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be an array of real numbers ({error}).") from None
