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

import contextlib
import itertools
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_real, check_xy
from .losses import Loss
from .models import Model, Params
from .optimizers import sgd_update


@runtime_checkable
class GradientProvider(Protocol):
    """What ``Trainer`` needs from a gradient provider.

    ``value_and_grad(model, loss, params, x, y)`` returns ``(loss_value, grads)``: the
    loss as a float and a dict with a numpy array of ``params[name]``'s shape for every
    parameter name. It must not change ``params`` or the model.
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


def import_tensorflow():
    """Import TensorFlow quietly and deterministically, or explain how to install it."""
    if "tensorflow" in sys.modules and sys.modules["tensorflow"] is not None:
        return sys.modules["tensorflow"]
    # Before the first import only (a user's own settings win): silence C++ logs
    # (level 3: a machine without a GPU otherwise gets a CUDA error line), and turn off
    # oneDNN's reordered kernels, which make float results vary slightly between runs.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
    try:
        with _quiet_stderr():
            import tensorflow as tf
    except ImportError as error:
        raise ImportError(
            "The 'tape' gradient provider needs TensorFlow: pip install 'minigd[tf]'"
        ) from error
    return tf


@contextlib.contextmanager
def _quiet_stderr():
    """Hide what C++ code writes to file descriptor 2 meanwhile.

    TensorFlow's GPU probing prints "Could not find cuda drivers" before its log level
    is read, so TF_CPP_MIN_LOG_LEVEL cannot stop it. Python exceptions still propagate.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class TapeGradients:
    """Automatic differentiation with ``tf.GradientTape`` over the model's own ``forward``.

    Parameters and data become float64 tensors, so the result agrees with the analytic
    gradient to about 1e-12.

    Args:
        compiled: run the tape inside ``tf.function`` (traced once per model and loss,
            about 10x faster per step); False runs it eagerly, step by step, which is
            easier to debug and to print from.
    """

    name = "tape"

    def __init__(self, compiled: bool = True) -> None:
        self.compiled = compiled
        self.trace_count = 0  # how often tf.function traced the step; tests watch this
        self._cache_key = None
        self._function = None

    def value_and_grad(self, model, loss, params, x, y):
        tf = import_tensorflow()
        function = self._function_for(tf, model, loss, params, x.shape)
        tensors = {name: tf.constant(value, dtype=tf.float64) for name, value in params.items()}
        value, grads = function(tensors, tf.constant(x, dtype=tf.float64),
                                tf.constant(y, dtype=tf.float64))
        return float(value), {name: grad.numpy() for name, grad in grads.items()}

    def train_step_for(self, model, loss, optimizer, x_shape):
        """The whole step in one compiled function, or None where that does not apply.

        Passing parameters into a ``tf.function`` and gradients out of it costs more
        than the step itself for small data, so in compiled mode with :class:`SGD` the
        forward pass, loss, gradient and update (the same :func:`sgd_update`) all run
        inside TensorFlow, on variables. Returns a function
        ``(params, x, y) -> (loss before the update, new params)`` for inputs whose
        shape is ``x_shape`` but for the number of examples.
        """
        from .optimizers import SGD

        if not self.compiled or type(optimizer) is not SGD:
            return None
        return _CompiledSGDStep(self, import_tensorflow(), model, loss, optimizer, x_shape)

    def _function_for(self, tf, model, loss, params, x_shape):
        """The tape function for this model, loss and shapes; traced at most once for them."""
        key = (id(model), id(loss), tuple((name, value.shape) for name, value in params.items()),
               x_shape[1:])
        if self._cache_key != key:
            def tape_step(params, x, y):
                if not tf.executing_eagerly():
                    self.trace_count += 1  # Python code runs only while tracing
                with tf.GradientTape() as tape:
                    tape.watch(params)
                    value = _forward_on_tensors(model, loss, params, x, y)
                grads = tape.gradient(value, params)
                _check_connected(model, grads)
                return value, grads

            self._function = tape_step
            if self.compiled:
                param_specs = {name: tf.TensorSpec(value.shape, tf.float64) for name, value in params.items()}
                self._function = tf.function(tape_step, autograph=False).get_concrete_function(
                    param_specs, *_data_signature(tf, x_shape))
            self._cache_key = key
            self._keep_alive = (model, loss)  # so the ids in the key stay unique
        return self._function

    def __repr__(self) -> str:
        return f"TapeGradients(compiled={self.compiled})"


class _CompiledSGDStep:
    """Forward, loss, gradient and SGD update in one ``tf.function``, on ``tf.Variable``s.

    The variables mirror ``model.params`` (and the optimizer's velocities); each step
    returns the new values, so callbacks and checkpoints see numpy arrays as always. If
    the parameters were changed from outside (a callback restoring weights, a resumed
    run), the next call copies them in first.
    """

    def __init__(self, provider, tf, model, loss, optimizer, x_shape):
        self.tf, self.optimizer = tf, optimizer
        self.variables = {name: tf.Variable(value, dtype=tf.float64) for name, value in model.params.items()}
        self.velocities = {
            name: tf.Variable(optimizer.velocities.get(name, np.zeros_like(value)), dtype=tf.float64)
            for name, value in model.params.items()
        } if optimizer.momentum else {}
        self.learning_rate = optimizer.learning_rate
        self.learning_rate_variable = tf.Variable(self.learning_rate, dtype=tf.float64)
        self.synced = dict(model.params)  # the arrays the variables hold right now
        self.hyperparameters = (optimizer.momentum, optimizer.nesterov)
        self.data = (None, None, None)  # (x array, y array, their tensors): reused while the same
        momentum, nesterov = self.hyperparameters

        def step(x, y):
            provider.trace_count += 1  # Python code runs only while tracing
            with tf.GradientTape() as tape:
                value = _forward_on_tensors(model, loss, self.variables, x, y)
            grads = tape.gradient(value, self.variables)
            _check_connected(model, grads)
            new_params, new_velocities = {}, {}
            for name, variable in self.variables.items():
                new_params[name], velocity = sgd_update(
                    variable, grads[name], self.velocities.get(name),
                    self.learning_rate_variable, momentum, nesterov)
                variable.assign(new_params[name])
                if momentum:
                    new_velocities[name] = self.velocities[name].assign(velocity)
            # returned rather than read back: reading a variable costs a call of its own
            return value, new_params, new_velocities

        self.step = tf.function(step, autograph=False).get_concrete_function(
            *_data_signature(tf, x_shape))

    def __call__(self, params, x, y):
        optimizer = self.optimizer
        if (optimizer.momentum, optimizer.nesterov) != self.hyperparameters:
            raise ValueError("momentum and nesterov cannot change during a compiled tape run.")
        if any(params[name] is not self.synced[name] for name in self.variables):
            for name, variable in self.variables.items():
                variable.assign(params[name])
        if optimizer.learning_rate != self.learning_rate:  # e.g. changed by a schedule callback
            self.learning_rate = optimizer.learning_rate
            self.learning_rate_variable.assign(self.learning_rate)
        value, new_params, new_velocities = self.step(*self._tensors(x, y))
        self.synced = {name: np.asarray(tensor.numpy()) for name, tensor in new_params.items()}
        for name, velocity in new_velocities.items():
            optimizer.velocities[name] = velocity.numpy()
        return float(value), dict(self.synced)

    def _tensors(self, x, y):
        if self.data[0] is not x or self.data[1] is not y:  # full batch: converted only once
            tf = self.tf
            self.data = (x, y, (tf.constant(x, dtype=tf.float64), tf.constant(y, dtype=tf.float64)))
        return self.data[2]


def _data_signature(tf, x_shape):
    """Specs for (x, y) with an open batch dimension.

    One trace then serves every batch size (a short last batch included), and calling
    the concrete function skips ``tf.function``'s per-call argument lookup, which costs
    more than a small step itself.
    """
    return tf.TensorSpec((None, *x_shape[1:]), tf.float64), tf.TensorSpec((None,), tf.float64)


def _forward_on_tensors(model, loss, params, x, y):
    try:
        return loss.compute(y, model.forward(params, x))
    except (TypeError, NotImplementedError, AttributeError) as error:
        raise TypeError(
            f"{type(model).__name__}.forward or {type(loss).__name__}.compute failed on "
            f"TensorFlow tensors ({error}). Write them with operators (+ - * / **) and "
            "minigd.ops functions, not numpy functions such as np.sum or np.exp."
        ) from error


def _check_connected(model, grads):
    unused = [name for name, grad in grads.items() if grad is None]
    if unused:
        raise ValueError(
            f"GradientTape found no path from the loss to parameter(s) {unused} of "
            f"{type(model).__name__}: forward() must use every parameter through operators "
            "and minigd.ops (numpy functions cut the tape)."
        )


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
        >>> x, y = make_linear_data(n=100, seed=0)
        >>> check_gradients(Linear(), MSE(), x, y, providers=("analytic", "numeric")).passed
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
