"""Divergence: when the learning rate is too large, and how large is too large.

For a quadratic loss such as the MSE of a linear model, gradient descent multiplies the
error along each eigenvector of the loss's Hessian ``H`` by ``(1 - learning_rate * lambda)``
every step. It shrinks only while ``|1 - learning_rate * lambda| < 1``, so full-batch
gradient descent is stable exactly when::

    learning_rate < 2 / lambda_max(H)

For ``L(w, b) = mean((w*x + b - y)**2)``, ``H = (2/n) * A.T @ A`` with ``A = [x, 1]``:
it depends on the inputs only. For the reference data (x ~ U(-10, 10)),
``lambda_max ~ 2 * mean(x**2) ~ 66.7``, so the bound is about 0.03.
"""

from __future__ import annotations

import numpy as np

#: The loss counts as diverged once it exceeds this many times max(first loss, 1).
GROWTH_LIMIT = 1e6


class DivergenceError(RuntimeError):
    """Training diverged: the loss became NaN or infinite, or grew past a clear bound.

    Attributes:
        step: the step at which the bad loss was seen.
        loss: that loss.
        learning_rate: the optimizer's learning rate.
        stable_learning_rate: the bound above (Linear + MSE only), else None.
        history: the :class:`~minigd.History` up to the step before.
    """

    def __init__(self, step: int, loss: float, learning_rate: float,
                 stable_learning_rate: float | None, history=None) -> None:
        self.step, self.loss, self.learning_rate = step, loss, learning_rate
        self.stable_learning_rate = stable_learning_rate
        self.history = history
        if stable_learning_rate is None:
            advice = "Try a smaller learning rate, e.g. a tenth of it."
        else:
            advice = (f"For this linear model and MSE on this data, full-batch gradient "
                      f"descent is stable only for learning_rate < {stable_learning_rate:.4g} "
                      f"(2 / the largest eigenvalue of the loss's Hessian); try one below it.")
        super().__init__(
            f"Training diverged at step {step}: the loss reached {loss:.4g} with "
            f"learning_rate={learning_rate:g}. {advice} The model keeps the last "
            "parameters whose loss was finite."
        )


def mse_hessian(x: np.ndarray) -> np.ndarray:
    """Hessian of ``mean((x @ w + b - y)**2)`` with respect to ``(w..., b)``: ``(2/n) A.T A``."""
    x = x.reshape(len(x), -1)
    design = np.column_stack([x, np.ones(len(x))])
    return (2.0 / len(x)) * (design.T @ design)


def stable_learning_rate(x: np.ndarray, momentum: float = 0.0, nesterov: bool = False) -> float:
    """Largest stable learning rate for full-batch SGD on a linear model with MSE loss.

    Plain gradient descent needs ``learning_rate * lambda_max < 2``; with momentum ``m``
    the bound grows to ``2 * (1 + m)`` (classic) or ``2 * (1 + m) / (1 + 2m)`` (Nesterov).

    Example:
        >>> round(stable_learning_rate(np.array([-1.0, 1.0])), 6)
        1.0
    """
    lambda_max = float(np.linalg.eigvalsh(mse_hessian(np.asarray(x, dtype=np.float64)))[-1])
    factor = 2.0 * (1.0 + momentum)
    if nesterov:
        factor /= 1.0 + 2.0 * momentum
    return factor / lambda_max
