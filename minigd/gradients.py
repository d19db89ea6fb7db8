"""Gradient providers: three ways to get dL/dparam for the same model and loss.

A provider answers one question: for this model, loss, parameter values and batch, what
is the loss and its gradient with respect to every parameter? Anything with a
``value_and_grad`` method of the [`GradientProvider`][minigd.GradientProvider] shape can be passed to
``Trainer(gradients=...)``.

* ``"analytic"`` ([`AnalyticGradients`][minigd.AnalyticGradients]): the hand-derived chain rule, in numpy:
  ``loss.gradient`` gives dL/dy_pred, then ``model.backward`` gives dL/dparam.
* ``"tape"`` ([`TapeGradients`][minigd.TapeGradients]): TensorFlow's ``tf.GradientTape`` records the
  model's own ``forward`` on float64 tensors and differentiates it automatically.
* ``"numeric"`` ([`NumericGradients`][minigd.NumericGradients]): central finite differences,
  ``(L(p + h) - L(p - h)) / 2h`` for every parameter element. Slow; for checking.
"""

from __future__ import annotations

import importlib.util
import itertools
from functools import partial
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from ._validation import check_model_contract, check_real, check_xy
from .divergence import parameter_sum
from .formatting import MAX_SHOWN, format_value
from .losses import Loss
from .models import Model, Params
from .tape import TapeGradients

if TYPE_CHECKING:  # numpy.typing costs milliseconds at import; the hints need it only here
    from numpy.typing import ArrayLike


@runtime_checkable
class GradientProvider(Protocol):
    """What ``Trainer`` needs from a gradient provider.

    ``value_and_grad(model, loss, params, x, y)`` returns ``(loss_value, grads)``: the
    loss as a float and a dict with a numpy array of ``params[name]``'s shape for every
    parameter name. It must not change ``params`` or the model, and the same inputs must
    give the same outputs: the trainer may compute a chunk of steps again (see
    `run_steps`), and a provider drawing random numbers would then change the run.

    Optionally, a provider may also define ``train_step_for(model, loss, optimizer,
    x_shape, y_shape)``, returning None or a *step function* (see `train_step_for`)
    that runs the optimizer's own ``update`` as well; ``Trainer`` then uses it for every
    step (the compiled [`TapeGradients`][minigd.TapeGradients] does, to stay inside TensorFlow).
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
    r"""Central finite differences: $\partial L/\partial p \approx (L(p + h) - L(p - h)) / 2h$.

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


StepFunction = Callable[..., tuple[float, Params, dict]]


def train_step_for(provider: GradientProvider, model: Model, loss: Loss, optimizer,
                   x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> StepFunction:
    """The function the trainer calls for every step: data -> loss -> gradient -> update.

    It has the form ``step(params, state, x, y, learning_rate) -> (loss, new_params,
    new_state)``, computes the loss at ``params`` and the optimizer's update, and
    changes nothing: the trainer decides whether to put the result in place. A provider
    may supply its own (``provider.train_step_for``, e.g. the compiled tape); otherwise
    it is ``provider.value_and_grad`` followed by ``optimizer.update``. The gradients'
    names and shapes are checked on the first call.
    """
    make_own = getattr(provider, "train_step_for", None)
    own = make_own(model, loss, optimizer, x_shape, y_shape) if make_own is not None else None
    if own is not None:
        return own
    value_and_grad, update, asarray = provider.value_and_grad, optimizer.update, np.asarray
    checked = False

    def step(params, state, x, y, learning_rate):
        nonlocal checked
        value, grads = value_and_grad(model, loss, params, x, y)
        if not checked:  # once: a backward that forgets to sum would reshape a parameter
            check_gradient_shapes(provider, params, grads)
            checked = True
        # param[()] is a numpy scalar for a 0-d array, whose arithmetic is ~5x cheaper than
        # a 0-d array's, and a view of the same array otherwise
        new_params, new_state = update(grads, state, {name: param[()] for name, param in params.items()},
                                       learning_rate)
        for name, new in new_params.items():  # parameters stay float64 arrays (0-d for scalars)
            new_params[name] = asarray(new)
        return value, new_params, new_state

    return step


StepsFunction = Callable[..., tuple[list[float], Params, dict, "float | None"]]


def train_steps_for(step: StepFunction) -> StepsFunction:
    """The function the trainer calls for a *chunk*: several steps on the same batch.

    ``steps(params, state, x, y, learning_rates, guard) -> (losses, params, state,
    refused)`` takes one step per rate, in order, each from the last one's result, and
    stops before a step that ``guard`` (a [`DivergenceGuard`][minigd.divergence.DivergenceGuard])
    refuses: ``losses`` has one loss per accepted step, ``params`` and ``state`` are
    those after the last of them (the inputs if none), and ``refused`` is the refused
    step's loss, or None. Like a step, it changes nothing. A step function may offer its
    own as ``step.run_steps`` (the compiled tape runs the chunk in one TensorFlow call);
    otherwise the steps run one by one, here.
    """
    return getattr(step, "run_steps", None) or partial(run_steps, step)


def run_steps(step: StepFunction, params, state, x, y, learning_rates, guard):
    """Steps one by one, as ``guard`` decides; see `train_steps_for`.

    The guard's own check reads every element of every new parameter with
    ``np.isfinite``, which for a small network costs more than the update. So a chunk
    first runs with each loss compared with the guard's bar and one running sum of the
    new parameters, which stays NaN or infinite once any parameter has been (a sum
    carries them along). If every loss passed and the sum is finite, the chunk stands.
    Otherwise (a sum of finite values that overflows lands here too) the chunk runs
    again from its start, one fully guarded step at a time: steps are pure, so it is the
    same arithmetic, and it stops exactly where the guard says. A chunk of one step
    goes to the guard directly.
    """
    if len(learning_rates) <= 1:
        return run_guarded_steps(step, params, state, x, y, learning_rates, guard)
    losses, new_params, new_state, total = [], params, state, 0.0
    for learning_rate in learning_rates:
        loss, new_params, new_state = step(new_params, new_state, x, y, learning_rate)
        losses.append(loss)
        total += parameter_sum(new_params)
        if not loss <= guard.bar(losses[0]):  # (also for NaN) no need to go on
            break
    else:
        if guard.accepts_chunk(losses, total):
            return losses, new_params, new_state, None
    return run_guarded_steps(step, params, state, x, y, learning_rates, guard)


def run_guarded_steps(step: StepFunction, params, state, x, y, learning_rates, guard):
    """Steps one by one, each checked by ``guard`` before the next; see `train_steps_for`."""
    losses = []
    for learning_rate in learning_rates:
        loss, new_params, new_state = step(params, state, x, y, learning_rate)
        if not guard.accepts(loss, new_params):
            return losses, params, state, loss
        losses.append(loss)
        params, state = new_params, new_state
    return losses, params, state, None


def check_gradient_shapes(provider, params: Mapping[str, np.ndarray], grads: Mapping) -> None:
    """ValueError unless ``grads`` has exactly the parameters' names and shapes."""
    who = getattr(provider, "name", type(provider).__name__)
    missing, extra = sorted(set(params) - set(grads)), sorted(set(grads) - set(params))
    if missing or extra:
        raise ValueError(f"the {who!r} gradients have the wrong names: missing {missing}, "
                         f"unexpected {extra}; expected exactly {sorted(params)} (a backward() must "
                         "return dL/dparam for every parameter).")
    for name, value in params.items():
        shape = np.shape(grads[name])
        if shape != np.shape(value):
            raise ValueError(
                f"the {who!r} gradient of parameter {name!r} has shape {shape}, but the parameter "
                f"has shape {np.shape(value)}: dL/d{name} must have the parameter's shape (did "
                "backward() forget to sum over the examples?).")


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
    """What [`check_gradients`][minigd.check_gradients] found.

    Attributes:
        gradients: provider name -> parameter name -> gradient array.
        errors: ``"a vs b"`` -> parameter name -> largest relative error between a's and b's.
        differences: the same pairs -> largest absolute difference ``|a - b|``.
        skipped: provider name -> why it was not run.
        tolerance: largest relative error counted as agreement.
        atol: gradients no larger than this are *too small to compare*: near a minimum
            every gradient is almost 0, and the relative error of two tiny numbers is
            rounding noise, up to 1, whether the derivation is right or wrong.
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

    def verdict(self, name: str) -> str:
        """``"ok"``, ``"MISMATCH"`` or ``"too small"`` (every gradient of ``name`` <= atol)."""
        if all(np.max(np.abs(grads[name]), initial=0.0) <= self.atol for grads in self.gradients.values()):
            return "too small"
        agree = all(self.errors[pair][name] <= self.tolerance or self.differences[pair][name] <= self.atol
                    for pair in self.errors)
        return "ok" if agree else "MISMATCH"

    @property
    def passed(self) -> bool:
        """True when no parameter mismatches and at least one was large enough to compare."""
        verdicts = [self.verdict(name) for name in self._names()]
        return "MISMATCH" not in verdicts and "ok" in verdicts

    def _names(self) -> list[str]:
        return list(next(iter(self.gradients.values()), {}))

    def _rows(self) -> list[list[str]]:
        pairs = list(self.errors)
        rows = [["parameter", *(f"{p} grad" for p in self.gradients), *pairs, "verdict"]]
        for name in self._names():
            values = [_table_cell(grads[name]) for grads in self.gradients.values()]
            rows.append([name, *values, *(f"{self.errors[pair][name]:.2e}" for pair in pairs),
                         self.verdict(name)])
        return rows

    def _notes(self) -> list[str]:
        notes = [f"({name} skipped: {why})" for name, why in self.skipped.items()]
        notes.append(f"relative error = |a - b| / (|a| + |b|), largest over the elements; ok means <= "
                     f"{self.tolerance:g} (or |a - b| <= {self.atol:g})")
        if any(self.verdict(name) == "too small" for name in self._names()):
            notes.append(f"too small: every gradient is <= {self.atol:g}, so rounding noise decides "
                         "the error; check at a point away from the minimum, such as the start.")
        return notes

    def __str__(self) -> str:
        rows = self._rows()
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip()
                 for row in rows]
        return "\n".join(lines + self._notes())

    def _repr_html_(self) -> str:
        import html  # only notebooks need it; not imported with minigd

        header, *body = self._rows()
        cells = "".join("<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
                        for row in body)
        head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
        notes = "".join(f"<p>{html.escape(note)}</p>" for note in self._notes())
        return f"<table><tr>{head}</tr>{cells}</table>{notes}"


def _table_cell(gradient: np.ndarray) -> str:
    """A gradient in the check's table: a scalar to 10 digits, a small array to 4, a large
    one as its shape and norm, so that a row for three providers still fits a terminal."""
    if gradient.size > MAX_SHOWN:
        return f"shape {gradient.shape}, norm {np.linalg.norm(gradient):.4g}"
    return format_value(gradient, digits=10 if gradient.ndim == 0 else 4)


def check_gradients(model: Model, loss: Loss, x: ArrayLike, y: ArrayLike,
                    providers: Sequence = ("analytic", "tape", "numeric"), *,
                    tolerance: float = 1e-6, atol: float = 1e-8,
                    verbose: bool = True) -> GradientCheck:
    """Compute the gradient at the model's current parameters with each provider and compare.

    Check at a point where the gradients are clearly not 0, such as the starting point:
    at a minimum they are rounding noise, and the result says "too small" instead of
    "ok". A model without ``backward`` skips "analytic", and an install without
    TensorFlow skips "tape" (both noted in the result); fewer than two distinct
    providers left to compare is a ValueError.

    Args:
        model: the model to differentiate, at its current parameters.
        loss: the loss to differentiate.
        x: the inputs of one batch.
        y: the targets of that batch.
        providers: names or provider objects; every pair is compared.
        tolerance: relative error up to which two gradients count as equal.
        atol: absolute difference up to which they count as equal too, and the size up
            to which gradients are too small to compare.
        verbose: print the table.

    Returns:
        A [`GradientCheck`][minigd.GradientCheck]; ``result.passed`` is True when every pair agrees.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> mg.check_gradients(mg.Linear(), mg.MSE(), x, y, providers=("analytic", "numeric"),
        ...                    verbose=False).passed
        True
    """
    if not isinstance(model, Model):
        raise ValueError(f"model must be a minigd.Model, got {model!r}.")
    if not isinstance(loss, Loss):
        raise ValueError(f"loss must be a minigd.Loss such as MSE(), got {loss!r}.")
    tolerance = check_real(tolerance, "tolerance", low=0.0)
    atol = check_real(atol, "atol", low=0.0, low_inclusive=True)
    x, y = check_xy(x, y)
    model.build(x.shape)
    check_model_contract(model, loss, x, y)  # the loss takes y (shapes, labels) before any provider runs
    gradients, skipped = {}, {}
    for provider in _providers_to_compare(providers):
        if provider.name == "analytic" and not model.has_analytic_gradient:
            skipped["analytic"] = f"{type(model).__name__} has no backward()"
            continue
        if provider.name == "tape" and importlib.util.find_spec("tensorflow") is None:
            skipped["tape"] = "TensorFlow is not installed: pip install 'minigd[tf]'"
            continue
        grads = provider.value_and_grad(model, loss, model.params, x, y)[1]
        check_gradient_shapes(provider, model.params, grads)
        gradients[provider.name] = grads
    if len(gradients) < 2:
        reasons = "".join(f"; {name} skipped: {why}" for name, why in skipped.items())
        raise ValueError(f"check_gradients needs two providers to compare, and has {sorted(gradients)}"
                         f"{reasons}. Ask for two or more of {sorted(PROVIDERS)}.")
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


def _providers_to_compare(providers) -> list:
    """Distinct providers; the tape runs eagerly here, which is quicker than tracing for one call."""
    if isinstance(providers, str):
        providers = [providers]
    resolved, names = [], set()
    for provider in providers:
        provider = TapeGradients(compiled=False, check_installed=False) if provider == "tape" \
            else get_provider(provider)
        if provider.name not in names:
            names.add(provider.name)
            resolved.append(provider)
    return resolved
