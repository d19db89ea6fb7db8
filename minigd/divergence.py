"""Divergence: when the learning rate is too large, and how large is too large.

Near a minimum the loss is close to a quadratic with Hessian ``H``. Gradient descent
multiplies the error along each eigenvector of ``H`` by ``(1 - learning_rate * lambda)``
every step; it shrinks only while ``|1 - learning_rate * lambda| < 1``, so full-batch
gradient descent is stable exactly when::

    learning_rate < 2 / lambda_max(H)

The trainer's [`DivergenceGuard`][minigd.divergence.DivergenceGuard] watches every step; when a run diverges it
estimates ``lambda_max`` at the run's starting point by power iteration on
Hessian-vector products (differences of the gradient provider's own gradients), and
the optimizer turns it into its bound ([`minigd.Optimizer.stable_learning_rate`][minigd.Optimizer.stable_learning_rate]).

For ``L(w, b) = mean((w*x + b - y)**2)`` the Hessian is exact and simple,
``H = (2/n) * A.T @ A`` with ``A = [x, 1]``: it depends on the inputs only. For the
reference data (x ~ U(-10, 10)), ``lambda_max ~ 2 * mean(x**2) ~ 66.7``, so the bound
is about 0.03 ([`stable_learning_rate`][minigd.divergence.stable_learning_rate]).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np

#: The loss counts as diverged once it exceeds this many times max(first loss, 1).
GROWTH_LIMIT = 1e6


class DivergenceError(RuntimeError):
    """Training diverged: the loss became NaN or infinite, or grew past a clear bound.

    Attributes:
        step: the step at which the bad loss (or non-finite update) was seen.
        loss: that loss.
        learning_rate: the learning rate of that step.
        stable_learning_rate: the optimizer's bound for this problem, or None where
            the optimizer has none (or the first loss was already not finite).
        history: the [`History`][minigd.History] up to the step before.
    """

    def __init__(self, step: int, loss: float, learning_rate: float,
                 stable_learning_rate: float | None, history=None, advice: str | None = None) -> None:
        self.step, self.loss, self.learning_rate = step, loss, learning_rate
        self.stable_learning_rate = stable_learning_rate
        self.history = history
        if advice is None:
            advice = "Try a smaller learning rate, e.g. a tenth of it."
        super().__init__(
            f"Training diverged at step {step}: the loss reached {loss:.4g} with "
            f"learning_rate={learning_rate:g}. {advice} The model keeps the parameters of "
            "the last completed step, which are finite."
        )


class DivergenceGuard:
    """Decides, before each update is put in place, whether the run has diverged.

    The first loss of a run sets the bar at ``GROWTH_LIMIT * max(first loss, 1)``. A
    step diverges when its loss is NaN, infinite or above the bar, or when its update
    would make a parameter non-finite.

    Examples:
        >>> guard = DivergenceGuard()
        >>> guard.accepts(12.5, {"w": np.array(0.3)}), guard.accepts(float("nan"), {})
        (True, False)
    """

    def __init__(self) -> None:
        self.limit: float | None = None

    def bar(self, first_loss: float) -> float:
        """The run's bar, or the one a run whose first loss is ``first_loss`` gets."""
        if self.limit is not None:
            return self.limit
        return GROWTH_LIMIT * max(first_loss, 1.0) if math.isfinite(first_loss) else -math.inf

    def accepts(self, loss: float, new_params: Mapping[str, np.ndarray]) -> bool:
        """Whether a step with this loss and these new parameters may be committed."""
        self.limit = self.bar(loss)  # the first step sets the bar
        return loss <= self.limit and all_finite(new_params)  # "<=" is False for NaN

    def accepts_chunk(self, losses: Sequence[float], parameter_sum: float) -> bool:
        """Whether every step of a chunk may be committed, judged after the chunk: every
        loss under the bar, and ``parameter_sum`` (of every step's new parameters, see
        `parameter_sum`) finite. A False may be a false alarm (a sum that overflowed):
        then judge the steps one by one with `accepts`. Sets the bar only if True."""
        limit = self.bar(losses[0])
        if not (math.isfinite(parameter_sum) and np.max(losses) <= limit):  # max is NaN if any is
            return False
        self.limit = limit
        return True

    def get_state(self) -> dict:
        return {"limit": self.limit}

    def set_state(self, state: dict) -> None:
        self.limit = state["limit"]


def all_finite(params: Mapping[str, np.ndarray]) -> bool:
    """Whether every element of every parameter is finite (neither NaN nor infinite)."""
    # math.isfinite on a 0-d value is ~10x cheaper than np.isfinite
    return all(np.isfinite(value).all() if value.ndim else math.isfinite(value) for value in params.values())


def parameter_sum(params: Mapping[str, np.ndarray]) -> float:
    """The sum of every element of every parameter: NaN or infinite if any element is
    (and, rarely, when large finite values overflow), so one number can stand for a
    finiteness check of all of them. A sum costs less than ``np.isfinite(...).all()``."""
    total = 0.0
    for value in params.values():  # a plain loop: this runs after every step of a chunk
        # float() of a 0-d array is ~3x cheaper than adding the array itself
        total += float(value) if value.ndim == 0 else np.add.reduce(value, axis=None)
    return float(total)


#: Data above this magnitude overflow float64 once squared (about 1.3e154) or summed.
HUGE = 1e100


def first_loss_advice(x: np.ndarray, y: np.ndarray) -> str:
    """Why a first loss is not finite before any update: the data's magnitude, or, for
    data of ordinary size, predictions that the loss cannot take."""
    largest = max(float(np.max(np.abs(x))), float(np.max(np.abs(y))))
    if largest >= HUGE:
        return (f"The loss is not finite before any update: the data are too large for float64 "
                f"arithmetic (the largest |value| in x and y is {largest:.3g}). Standardise them "
                "first: subtract each column's mean and divide by its standard deviation.")
    return (f"The loss is not finite before any update, on data of ordinary size (the largest "
            f"|value| in x and y is {largest:.3g}): the model's first predictions are values the "
            "loss cannot take. A cross-entropy needs probabilities in (0, 1): end the model with "
            "a sigmoid or softmax, or give the loss from_logits=True; a forward() that takes a log "
            "or divides must keep away from 0.")


def largest_curvature(gradient: Callable[[dict], dict], params: Mapping[str, np.ndarray],
                      iterations: int = 100, tolerance: float = 1e-9) -> float:
    """``|lambda|_max`` of the loss's Hessian at ``params``, by power iteration.

    Each iteration needs one Hessian-vector product, taken as a central difference of
    gradients: ``H v ~ (g(p + h v) - g(p - h v)) / 2h``, which is exact for a quadratic
    loss up to rounding.

    Args:
        gradient: params dict -> gradient dict (same names and shapes).
        params: where to measure the curvature.
        iterations: at most this many products.
        tolerance: stop once the estimate changes by less than this, relatively.

    Examples:
        >>> hessian = np.array([[3.0, 1.0], [1.0, 2.0]])   # L = p.H.p / 2, so g = H p
        >>> gradient = lambda p: {"p": hessian @ p["p"]}
        >>> round(largest_curvature(gradient, {"p": np.zeros(2)}), 6)
        3.618034
    """
    names = list(params)
    shapes = [np.shape(params[name]) for name in names]
    sizes = [int(np.prod(shape)) for shape in shapes]
    point = np.concatenate([np.ravel(params[name]) for name in names]).astype(np.float64)

    def unflatten(vector):
        pieces = np.split(vector, np.cumsum(sizes)[:-1])
        return {name: piece.reshape(shape) for name, piece, shape in zip(names, pieces, shapes)}

    def flat_gradient(vector):
        grads = gradient(unflatten(vector))
        return np.concatenate([np.ravel(grads[name]) for name in names])

    h = 1e-4 * max(1.0, float(np.linalg.norm(point)))
    direction = np.random.default_rng(0).normal(size=point.size)  # fixed: the same answer each time
    direction /= np.linalg.norm(direction)
    estimate = 0.0
    for _ in range(iterations):
        product = (flat_gradient(point + h * direction) - flat_gradient(point - h * direction)) / (2 * h)
        previous, estimate = estimate, abs(float(direction @ product))  # Rayleigh quotient
        norm = float(np.linalg.norm(product))
        if norm == 0.0 or not math.isfinite(norm):
            break
        direction = product / norm
        if abs(estimate - previous) <= tolerance * estimate:
            break
    return estimate


def mse_hessian(x: np.ndarray) -> np.ndarray:
    """Hessian of ``mean((x @ w + b - y)**2)`` with respect to ``(w..., b)``: ``(2/n) A.T A``."""
    x = x.reshape(len(x), -1)
    design = np.column_stack([x, np.ones(len(x))])
    return (2.0 / len(x)) * (design.T @ design)


def stable_learning_rate(x: np.ndarray, momentum: float = 0.0, nesterov: bool = False) -> float:
    """Largest stable learning rate for full-batch SGD on a linear model with MSE loss, exactly.

    Plain gradient descent needs ``learning_rate * lambda_max < 2``; with momentum ``m``
    the bound grows to ``2 * (1 + m)`` (classic) or ``2 * (1 + m) / (1 + 2m)`` (Nesterov).

    Examples:
        >>> round(stable_learning_rate(np.array([-1.0, 1.0])), 6)
        1.0
    """
    from .optimizers import SGD

    with np.errstate(over="ignore", invalid="ignore"):  # said in words below
        hessian = mse_hessian(np.asarray(x, dtype=np.float64))
    if not np.isfinite(hessian).all():
        raise ValueError("x is too large for its curvature to be computed in float64: standardise "
                         "it first (subtract each column's mean, divide by its standard deviation).")
    lambda_max = float(np.linalg.eigvalsh(hessian)[-1])
    return SGD(momentum=momentum, nesterov=nesterov).stable_learning_rate(lambda_max)


def learning_rate_advice(optimizer, lambda_max: float) -> tuple[float | None, str]:
    """The optimizer's bound for this curvature, and the sentence that explains it."""
    if not math.isfinite(lambda_max):  # the gradients themselves overflowed
        return None, ("The loss's curvature at the starting point is too large to measure in "
                      "float64: standardise the data (subtract each column's mean, divide by its "
                      "standard deviation), then choose a learning rate.")
    bound = optimizer.stable_learning_rate(lambda_max) if lambda_max > 0 else None
    if bound is not None:
        return bound, (f"Here, from the loss's curvature at the starting point (largest Hessian "
                       f"eigenvalue {lambda_max:.4g}), {type(optimizer).__name__} is stable only for "
                       f"learning_rate < {bound:.4g}; try one below it.")
    guide = f" As a guide, plain gradient descent would need learning_rate < {2 / lambda_max:.4g}." \
        if lambda_max > 0 else ""
    return None, (f"{type(optimizer).__name__} has no exact stability bound; try a smaller "
                  f"learning rate, e.g. a tenth of it.{guide}")
