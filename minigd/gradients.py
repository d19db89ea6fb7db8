"""Gradient providers: three ways to get dL/dparam for the same model and loss.

A provider answers one question: for this model, loss, parameter values and batch, what
is the loss and its gradient with respect to every parameter? Anything with a
``value_and_grad`` method of the :class:`GradientProvider` shape can be passed to
``Trainer(gradients=...)``.

* ``"analytic"`` (:class:`AnalyticGradients`): the hand-derived chain rule, in numpy:
  ``loss.gradient`` gives dL/dy_pred, then ``model.backward`` gives dL/dparam.
* ``"tape"`` (:class:`TapeGradients`): TensorFlow's ``tf.GradientTape`` records the
  model's own ``forward`` on float64 tensors and differentiates it automatically.
* ``"numeric"`` (:class:`NumericGradients`): central finite differences,
  ``(L(p + h) - L(p - h)) / 2h`` for every parameter element. Slow; for checking.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_real, check_xy
from .losses import Loss
from .models import Model, Params
from .tape import TapeGradients


@runtime_checkable
class GradientProvider(Protocol):
    """What ``Trainer`` needs from a gradient provider.

    ``value_and_grad(model, loss, params, x, y)`` returns ``(loss_value, grads)``: the
    loss as a float and a dict with a numpy array of ``params[name]``'s shape for every
    parameter name. It must not change ``params`` or the model.

    Optionally, a provider may also define ``train_step_for(model, loss, optimizer,
    x_shape)``, returning None or a function ``(params, x, y) -> (loss, new_params)``
    that does the optimizer's update as well; ``Trainer`` then uses it for every step
    (the compiled :class:`TapeGradients` does, to stay inside TensorFlow).
    """

    name: str

    def value_and_grad(self, model: Model, loss: Loss, params: Mapping[str, np.ndarray],
                       x: np.ndarray, y: np.ndarray) -> tuple[float, Params]: ...


class AnalyticGradients:
    """Hand-derived gradients: ``dL/dp = model.backward(params, x, loss.gradient(y, y_pred))``.

    Args:
        fused: let a model compute loss and gradients in one go when it offers to
            (``Model.fused_value_and_grad``; ``Linear`` does for ``MSE``). Same numbers,
            fewer passes over the data. False always runs the textbook chain above.
    """

    name = "analytic"

    def __init__(self, fused: bool = True) -> None:
        self.fused = fused

    def value_and_grad(self, model, loss, params, x, y):
        if self.fused:
            result = model.fused_value_and_grad(loss, params, x, y)
            if result is not None:
                return result
        y_pred = model.forward(params, x)
        value, grad_y_pred = loss.value_and_gradient(y, y_pred)
        return value, model.backward(params, x, grad_y_pred)

    def __repr__(self) -> str:
        return f"AnalyticGradients(fused={self.fused})"


class NumericGradients:
    """Central finite differences: ``dL/dp ~ (L(p + h) - L(p - h)) / (2h)``.

    For the MSE of a linear model the loss is quadratic in the parameters, so the central
    difference is exact up to rounding. It costs two forward passes per parameter element.

    Args:
        epsilon: relative step; ``h = epsilon * max(1, |p|)``.
    """

    name = "numeric"

    def __init__(self, epsilon: float = 1e-6) -> None:
        self.epsilon = check_real(epsilon, "epsilon", low=0.0)

    def value_and_grad(self, model, loss, params, x, y):
        def loss_at(trial_params):
            return float(loss.compute(y, model.forward(trial_params, x)))

        grads = {}
        for name, value in params.items():
            grad = np.zeros_like(value)
            for index in np.ndindex(value.shape):
                step = self.epsilon * max(1.0, abs(float(value[index])))
                plus, minus = value.copy(), value.copy()
                plus[index] += step
                minus[index] -= step
                # divide by the step actually taken, after rounding p + h and p - h
                grad[index] = (loss_at({**params, name: plus}) - loss_at({**params, name: minus})) / (
                    plus[index] - minus[index])
            grads[name] = grad
        return loss_at(params), grads

    def __repr__(self) -> str:
        return f"NumericGradients(epsilon={self.epsilon})"


PROVIDERS = {"analytic": AnalyticGradients, "tape": TapeGradients, "numeric": NumericGradients}


def get_provider(gradients) -> GradientProvider:
    """Turn ``"analytic"``, ``"tape"``, ``"numeric"`` or a provider object into a provider."""
    if isinstance(gradients, str):
        if gradients not in PROVIDERS:
            raise ValueError(
                f"gradients={gradients!r} is unknown: choose one of {sorted(PROVIDERS)} "
                "or pass an object with a value_and_grad(model, loss, params, x, y) method."
            )
        return PROVIDERS[gradients]()
    if callable(getattr(gradients, "value_and_grad", None)):
        return gradients
    raise ValueError(
        f"gradients must be one of {sorted(PROVIDERS)} or a provider object with a "
        f"value_and_grad method, got {gradients!r}."
    )


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Largest element-wise ``|a - b| / max(|a| + |b|, tiny)``: 0 for equal, 1 for unrelated."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.maximum(np.abs(a) + np.abs(b), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b) / scale))


@dataclass
class GradientCheck:
    """What :func:`check_gradients` found.

    Attributes:
        gradients: provider name -> parameter name -> gradient array.
        errors: ``"a vs b"`` -> parameter name -> relative error between a's and b's.
        differences: the same pairs -> largest absolute difference ``|a - b|``.
        skipped: provider name -> why it was not run.
        tolerance: largest relative error counted as agreement.
        atol: an absolute difference this small also counts as agreement. Near a
            minimum every gradient is almost 0 and the relative error of two tiny
            numbers is rounding noise, up to 1.
    """

    gradients: dict[str, Params]
    errors: dict[str, dict[str, float]]
    differences: dict[str, dict[str, float]]
    skipped: dict[str, str]
    tolerance: float
    atol: float

    @property
    def max_error(self) -> float:
        """The largest relative error over all pairs and parameters."""
        return max((e for pair in self.errors.values() for e in pair.values()), default=0.0)

    def agrees(self, pair: str, name: str) -> bool:
        """Whether the pair's gradients for ``name`` match (relatively, or absolutely)."""
        return self.errors[pair][name] <= self.tolerance or self.differences[pair][name] <= self.atol

    @property
    def passed(self) -> bool:
        """True when every pair agrees on every parameter."""
        return all(self.agrees(pair, name) for pair in self.errors for name in self.errors[pair])

    def __str__(self) -> str:
        names = list(next(iter(self.gradients.values()), {}))
        pairs = list(self.errors)
        rows = [["parameter", *(f"{p} grad" for p in self.gradients), *pairs, "verdict"]]
        for name in names:
            values = [_short(grads[name]) for grads in self.gradients.values()]
            errors = [self.errors[pair][name] for pair in pairs]
            verdict = "ok" if all(self.agrees(pair, name) for pair in pairs) else "MISMATCH"
            rows.append([name, *values, *(f"{e:.2e}" for e in errors), verdict])
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                 for row in rows]
        lines += [f"({name} skipped: {why})" for name, why in self.skipped.items()]
        lines.append(f"relative error = |a - b| / (|a| + |b|); ok means <= {self.tolerance:g} "
                     f"(or |a - b| <= {self.atol:g}, for gradients that are almost 0)")
        return "\n".join(lines)


def _short(value: np.ndarray) -> str:
    return f"{float(value):.10g}" if value.ndim == 0 else np.array2string(value, precision=6)


def check_gradients(model: Model, loss: Loss, x: ArrayLike, y: ArrayLike,
                    providers: Sequence = ("analytic", "tape", "numeric"), *,
                    tolerance: float = 1e-6, atol: float = 1e-8,
                    verbose: bool = True) -> GradientCheck:
    """Compute the gradient at the model's current parameters with each provider and compare.

    A model without ``backward`` skips "analytic" (noted in the result) unless it is the
    only provider asked for.

    Args:
        model: the model to differentiate, at its current parameters.
        loss: the loss to differentiate.
        x: the inputs of one batch.
        y: the targets of that batch.
        providers: names or provider objects; every pair is compared.
        tolerance: relative error up to which two gradients count as equal.
        atol: absolute difference up to which they count as equal too (near a minimum,
            where gradients are almost 0, only this test is meaningful).
        verbose: print the table.

    Returns:
        A :class:`GradientCheck`; ``result.passed`` is True when every pair agrees.

    Example:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> mg.check_gradients(mg.Linear(), mg.MSE(), x, y, providers=("analytic", "numeric"),
        ...                    verbose=False).passed
        True
    """
    x, y = check_xy(x, y)
    model.check_input(x)
    gradients, skipped = {}, {}
    # One batch: an eager tape is quicker than tracing a tf.function for a single call.
    resolved = [TapeGradients(compiled=False) if p == "tape" else get_provider(p) for p in providers]
    for provider in resolved:
        if provider.name == "analytic" and not model.has_analytic_gradient and len(providers) > 1:
            skipped["analytic"] = f"{type(model).__name__} has no backward()"
            continue
        gradients[provider.name] = provider.value_and_grad(model, loss, model.params, x, y)[1]
    pairs = {f"{a} vs {b}": (gradients[a], gradients[b])
             for a, b in itertools.combinations(gradients, 2)}
    errors = {pair: {name: relative_error(a[name], b[name]) for name in model.params}
              for pair, (a, b) in pairs.items()}
    differences = {pair: {name: float(np.max(np.abs(a[name] - b[name]))) for name in model.params}
                   for pair, (a, b) in pairs.items()}
    result = GradientCheck(gradients, errors, differences, skipped, tolerance, atol)
    if verbose:
        print(result)
    return result
