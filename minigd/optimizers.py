"""Optimizers: how a gradient turns into a parameter update.

Each optimizer is a pure update rule with explicit state, as in optax::

    state = optimizer.init(params)
    new_params, new_state = optimizer.update(grads, state, params, learning_rate)

Nothing is hidden inside the optimizer object but its hyperparameters, so a rule can be
tested alone with hand-computed numbers, and the trainer can compute a whole step
before it puts anything in place. The rules use only arithmetic and [`minigd.ops`][minigd.ops],
so the same code runs on numpy arrays and on TensorFlow tensors (the compiled tape
runs it inside ``tf.function``).

The state is a dict: ``"iterations"`` (steps taken so far, a float so that it can be a
float64 tensor too) and one dict of arrays per *slot*, keyed like the parameters, e.g.
``state["velocity"]["w"]`` for SGD with momentum.

``optimizer.apply_gradients(params, grads)`` is the stateful convenience (Keras's name):
it keeps a state on the optimizer and returns the new parameters.

The optimizers here are Keras's, with its defaults, slot names and update rules:
[`SGD`][minigd.SGD] (with momentum and Nesterov), [`Adagrad`][minigd.optimizers.Adagrad], [`RMSprop`][minigd.optimizers.RMSprop] and
[`Adam`][minigd.optimizers.Adam]. On float64 variables they give ``keras.optimizers``' numbers bit for bit
where the hyperparameters are exact in float32 (Keras's TensorFlow backend rounds some
of them, e.g. Adam's betas and Adagrad's initial accumulator, to float32 first).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from . import ops
from ._validation import check_bool, check_real
from .ops import Array

State = dict[str, Any]
LearningRate = float | Callable[[int], float]


def sgd_update(param: Array, grad: Array, velocity: Array | None, learning_rate: float,
               momentum: float = 0.0, nesterov: bool = False) -> tuple[Array, Array | None]:
    """One step of stochastic gradient descent for one parameter, Keras's formulation. Pure.

    Plain (``momentum == 0``)::

        param <- param - learning_rate * grad

    With momentum (``velocity`` starts at 0)::

        velocity <- momentum * velocity - learning_rate * grad
        param    <- param + velocity                                    (classic)
        param    <- param + momentum * velocity - learning_rate * grad  (Nesterov)

    Args:
        param: the parameter (a number, numpy array or TensorFlow tensor).
        grad: ``dL/dparam``, of the same shape.
        velocity: the previous velocity (0 at the start); ignored without momentum.
        learning_rate: step size.
        momentum: in [0, 1); 0 gives plain gradient descent.
        nesterov: use Nesterov's form.

    Returns:
        tuple: ``(new_param, new_velocity)``, where ``new_velocity`` is ``velocity``
        unchanged (possibly None) for plain SGD.

    Examples:
        >>> sgd_update(1.0, 0.5, None, learning_rate=0.1)
        (0.95, None)
    """
    if momentum == 0.0:
        return param - learning_rate * grad, velocity
    velocity = momentum * velocity - learning_rate * grad
    if nesterov:
        return param + momentum * velocity - learning_rate * grad, velocity
    return param + velocity, velocity


class Optimizer:
    """Base class: hyperparameters, an ``init`` of the state and a pure ``update``.

    A subclass writes ``slots(params)`` (the per-parameter state it needs, at its
    starting values) and ``update(grads, state, params, learning_rate)``.

    Args:
        learning_rate: a number > 0, or a schedule: a callable of the step number
            (``state["iterations"]``) returning the rate, e.g.
            [`ExponentialDecay`][minigd.schedules.ExponentialDecay].
    """

    def __init__(self, learning_rate: LearningRate) -> None:
        self.learning_rate = learning_rate
        self.state: State | None = None  # used only by apply_gradients

    @property
    def learning_rate(self) -> LearningRate:
        """The step size: a number, or a schedule (callable of the step). Settable, as in
        Keras (callbacks such as ``ReduceLROnPlateau`` set it between steps)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        if callable(value):
            self._learning_rate = value
        else:
            self._learning_rate = check_real(value, "learning_rate", low=0.0)

    def learning_rate_at(self, iterations: float) -> float:
        """The rate for the step after ``iterations`` steps: the number, or the schedule's value."""
        rate = self._learning_rate
        if not callable(rate):
            return rate
        value = rate(int(iterations))
        # a schedule may be the user's code: a negative rate would turn descent into ascent
        # (and NaN spoil every number) without a word, so say which value and where; 0 is
        # allowed, where a decay ends (CosineDecay with alpha=0)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < math.inf:
            raise ValueError(f"learning_rate: the schedule {rate!r} returned {value!r} at step "
                             f"{int(iterations)}; a learning rate must be a finite number >= 0.")
        return float(value)

    def init(self, params: Mapping[str, Array]) -> State:
        """The state before the first step: no iterations yet, every slot at its start."""
        return {"iterations": 0.0, **self.slots(params)}

    def slots(self, params: Mapping[str, Array]) -> dict[str, dict[str, np.ndarray]]:
        """Slot name -> parameter name -> starting array. Empty by default (no slots)."""
        return {}

    def update(self, grads: Mapping[str, Array], state: State, params: Mapping[str, Array],
               learning_rate: float | Array) -> tuple[dict[str, Array], State]:
        """New parameters and new state from the gradients. Pure: changes none of its inputs."""
        raise NotImplementedError(f"{type(self).__name__} must define update(grads, state, params, "
                                  "learning_rate).")

    def apply_gradients(self, params: Mapping[str, np.ndarray],
                        grads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One step on numpy arrays, keeping the state on the optimizer (Keras's name).

        The state starts fresh for parameters of other names or shapes than the last
        call's. Returns the new parameters as a new dict of float64 arrays.
        """
        if self.state is None or not _same_shapes(self.state, params):
            self.state = self.init(params)
        learning_rate = self.learning_rate_at(self.state["iterations"])
        new_params, self.state = self.update(grads, self.state, params, learning_rate)
        return {name: np.asarray(value, dtype=np.float64) for name, value in new_params.items()}

    def get_config(self) -> dict[str, Any]:
        """The hyperparameters, by name (a schedule shows as its repr)."""
        config = {name: getattr(self, name) for name in self._hyperparameters()}
        return {name: value if isinstance(value, (numbers.Number, bool)) else repr(value)
                for name, value in config.items()}

    def _hyperparameters(self) -> tuple[str, ...]:
        return ("learning_rate",)

    def stable_learning_rate(self, lambda_max: float) -> float | None:
        """The largest stable rate on a quadratic whose Hessian's largest eigenvalue is
        ``lambda_max``, where this method has such a bound; None where it has none."""
        return None

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value}" for name, value in self.get_config().items())
        return f"{type(self).__name__}({shown})"


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (classic or Nesterov); see [`sgd_update`][minigd.sgd_update].

    ``w <- w - learning_rate * dL/dw`` when ``momentum == 0``.

    Args:
        learning_rate: step size, a number > 0 or a schedule.
        momentum: in [0, 1); 0 is plain gradient descent.
        nesterov: use Nesterov's look-ahead form (needs momentum > 0 to differ).

    Examples:
        >>> SGD(learning_rate=0.1).apply_gradients({"w": np.array(1.0)}, {"w": np.array(0.5)})
        {'w': array(0.95)}
        >>> optimizer = SGD(learning_rate=0.1, momentum=0.9)
        >>> state = optimizer.init({"w": np.array(1.0)})
        >>> params, state = optimizer.update({"w": 0.5}, state, {"w": 1.0}, learning_rate=0.1)
        >>> float(params["w"]), float(state["velocity"]["w"]), state["iterations"]
        (0.95, -0.05, 1.0)
    """

    def __init__(self, learning_rate: LearningRate = 0.01, momentum: float = 0.0,
                 nesterov: bool = False) -> None:
        super().__init__(learning_rate)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, low_inclusive=True)
        self.nesterov = check_bool(nesterov, "nesterov")

    def slots(self, params):
        if not self.momentum:  # plain gradient descent keeps no state
            return {}
        return {"velocity": {name: np.zeros_like(value, dtype=np.float64) for name, value in params.items()}}

    def update(self, grads, state, params, learning_rate):
        iterations = state["iterations"] + 1
        if not self.momentum:
            return ({name: param - learning_rate * grads[name] for name, param in params.items()},
                    {"iterations": iterations})
        new_params, velocities = {}, {}
        for name, param in params.items():
            new_params[name], velocities[name] = sgd_update(
                param, grads[name], state["velocity"][name], learning_rate, self.momentum, self.nesterov)
        return new_params, {"iterations": iterations, "velocity": velocities}

    def _hyperparameters(self):
        return ("learning_rate", "momentum", "nesterov")

    def stable_learning_rate(self, lambda_max):
        """Full-batch descent on a quadratic is stable for ``learning_rate * lambda_max`` below
        ``2 * (1 + m)`` (classic momentum ``m``; plain when m = 0) or ``2 * (1 + m) / (1 + 2m)``
        (Nesterov)."""
        factor = 2.0 * (1.0 + self.momentum)
        if self.nesterov:
            factor /= 1.0 + 2.0 * self.momentum
        return factor / lambda_max


class Adagrad(Optimizer):
    """Adagrad: each parameter's step shrinks with the squares of all its past gradients.

    Keras's formulation, for each parameter ``w`` with gradient ``g``::

        accumulator <- accumulator + g**2          (starts at initial_accumulator_value)
        w           <- w - learning_rate * g / sqrt(accumulator + epsilon)

    A parameter whose gradients have been large takes small steps, and one whose
    gradients have been small takes larger ones. The accumulator only grows, so the
    steps shrink for ever.

    Args:
        learning_rate: step size, a number > 0 or a schedule.
        initial_accumulator_value: where every accumulator starts, >= 0.
        epsilon: added under the square root so that it never divides by 0, > 0.

    Examples:
        >>> optimizer = Adagrad(learning_rate=0.1, initial_accumulator_value=0.0, epsilon=1e-7)
        >>> state = optimizer.init({"w": np.array(1.0)})
        >>> params, state = optimizer.update({"w": 0.5}, state, {"w": 1.0}, learning_rate=0.1)
        >>> round(float(params["w"]), 6), float(state["accumulator"]["w"])
        (0.9, 0.25)
    """

    def __init__(self, learning_rate: LearningRate = 0.001, initial_accumulator_value: float = 0.1,
                 epsilon: float = 1e-7) -> None:
        super().__init__(learning_rate)
        self.initial_accumulator_value = check_real(initial_accumulator_value, "initial_accumulator_value",
                                                    low=0.0, low_inclusive=True)
        self.epsilon = check_real(epsilon, "epsilon", low=0.0)

    def slots(self, params):
        return {"accumulator": _filled(params, self.initial_accumulator_value)}

    def update(self, grads, state, params, learning_rate):
        """The class's rule, parameter by parameter."""
        new_params, accumulators = {}, {}
        for name, w in params.items():
            g = grads[name]
            accumulators[name] = state["accumulator"][name] + ops.square(g)
            new_params[name] = w - learning_rate * g / ops.sqrt(accumulators[name] + self.epsilon)
        return new_params, {"iterations": state["iterations"] + 1, "accumulator": accumulators}

    def _hyperparameters(self):
        return ("learning_rate", "initial_accumulator_value", "epsilon")


class RMSprop(Optimizer):
    """RMSprop: divide each step by a running root-mean-square of recent gradients.

    Keras's formulation, for each parameter ``w`` with gradient ``g`` (every slot starts at 0)::

        velocity <- rho * velocity + (1 - rho) * g**2
        increment = learning_rate * g / sqrt(velocity + epsilon)

    With ``centered=True`` the mean gradient's square is taken off the velocity, so that
    it becomes a variance::

        average_gradient <- rho * average_gradient + (1 - rho) * g
        increment = learning_rate * g / sqrt(velocity - average_gradient**2 + epsilon)

    Then, without and with ``momentum``::

        w <- w - increment
        momentum <- momentum * momentum + increment;  w <- w - momentum

    (the slot called ``momentum`` is multiplied by the hyperparameter of that name).

    Unlike Adagrad's accumulator, the velocity forgets old gradients (at the rate
    ``1 - rho``), so the steps do not shrink for ever.

    Args:
        learning_rate: step size, a number > 0 or a schedule.
        rho: how much of the old velocity each step keeps, in [0, 1).
        momentum: in [0, 1); 0 keeps no momentum slot.
        epsilon: added under the square root so that it never divides by 0, > 0.
        centered: divide by an estimate of the gradient's standard deviation instead of
            its root mean square.

    Examples:
        >>> optimizer = RMSprop(learning_rate=0.1, rho=0.75)
        >>> state = optimizer.init({"w": np.array(1.0)})
        >>> params, state = optimizer.update({"w": 0.5}, state, {"w": 1.0}, learning_rate=0.1)
        >>> round(float(params["w"]), 6), float(state["velocity"]["w"])
        (0.8, 0.0625)
    """

    def __init__(self, learning_rate: LearningRate = 0.001, rho: float = 0.9, momentum: float = 0.0,
                 epsilon: float = 1e-7, centered: bool = False) -> None:
        super().__init__(learning_rate)
        self.rho = check_real(rho, "rho", low=0.0, high=1.0, low_inclusive=True)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, low_inclusive=True)
        self.epsilon = check_real(epsilon, "epsilon", low=0.0)
        self.centered = check_bool(centered, "centered")

    def slots(self, params):
        slots = {"velocity": _filled(params, 0.0)}
        if self.momentum > 0:
            slots["momentum"] = _filled(params, 0.0)
        if self.centered:
            slots["average_gradient"] = _filled(params, 0.0)
        return slots

    def update(self, grads, state, params, learning_rate):
        """The class's rule, parameter by parameter; the state keeps the slots it came with."""
        rho, new_params = self.rho, {}
        new_state = {slot: {} for slot in state}  # the same slots, filled below
        new_state["iterations"] = state["iterations"] + 1
        for name, w in params.items():
            g = grads[name]
            velocity = rho * state["velocity"][name] + (1 - rho) * ops.square(g)
            new_state["velocity"][name] = velocity
            if self.centered:
                average = rho * state["average_gradient"][name] + (1 - rho) * g
                new_state["average_gradient"][name] = average
                increment = learning_rate * g / ops.sqrt(velocity - ops.square(average) + self.epsilon)
            else:
                increment = learning_rate * g / ops.sqrt(velocity + self.epsilon)
            if self.momentum > 0:
                increment = new_state["momentum"][name] = self.momentum * state["momentum"][name] + increment
            new_params[name] = w - increment
        return new_params, new_state

    def _hyperparameters(self):
        return ("learning_rate", "rho", "momentum", "epsilon", "centered")


class Adam(Optimizer):
    """Adam: momentum on the gradient, divided by a running root-mean-square of it (RMSprop).

    Keras's formulation, for each parameter ``w`` with gradient ``g``, ``t`` the number of
    this step (1 for the first) and every slot starting at 0::

        momentum <- momentum + (1 - beta_1) * (g - momentum)      # = beta_1 * momentum + (1 - beta_1) * g
        velocity <- velocity + (1 - beta_2) * (g**2 - velocity)   # = beta_2 * velocity + (1 - beta_2) * g**2
        alpha = learning_rate * sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w <- w - alpha * momentum / (sqrt(velocity) + epsilon)

    ``alpha`` corrects both averages for starting at 0 (their "bias"): without it the
    first steps would be too small. With ``amsgrad=True`` the step divides by the
    largest velocity so far instead, so that it never grows back::

        velocity_hat <- maximum(velocity_hat, velocity)
        w <- w - alpha * momentum / (sqrt(velocity_hat) + epsilon)

    Args:
        learning_rate: step size, a number > 0 or a schedule.
        beta_1: how much of the old momentum each step keeps, in [0, 1).
        beta_2: how much of the old velocity each step keeps, in [0, 1).
        epsilon: added to the square root so that it never divides by 0, > 0.
        amsgrad: use the AMSGrad variant (the largest velocity so far).

    Examples:
        >>> optimizer = Adam(learning_rate=0.1)
        >>> state = optimizer.init({"w": np.array(1.0)})
        >>> params, state = optimizer.update({"w": 0.5}, state, {"w": 1.0}, learning_rate=0.1)
        >>> round(float(params["w"]), 4), round(float(state["momentum"]["w"]), 6), state["iterations"]
        (0.9, 0.05, 1.0)

    The first step is ``learning_rate`` against the gradient's sign, whatever its size.
    """

    def __init__(self, learning_rate: LearningRate = 0.001, beta_1: float = 0.9, beta_2: float = 0.999,
                 epsilon: float = 1e-7, amsgrad: bool = False) -> None:
        super().__init__(learning_rate)
        self.beta_1 = check_real(beta_1, "beta_1", low=0.0, high=1.0, low_inclusive=True)
        self.beta_2 = check_real(beta_2, "beta_2", low=0.0, high=1.0, low_inclusive=True)
        self.epsilon = check_real(epsilon, "epsilon", low=0.0)
        self.amsgrad = check_bool(amsgrad, "amsgrad")

    def slots(self, params):
        slots = {"momentum": _filled(params, 0.0), "velocity": _filled(params, 0.0)}
        if self.amsgrad:
            slots["velocity_hat"] = _filled(params, 0.0)
        return slots

    def update(self, grads, state, params, learning_rate):
        """The class's rule, parameter by parameter; ``t`` counts this step too."""
        t = state["iterations"] + 1
        alpha = learning_rate * ops.sqrt(1 - self.beta_2 ** t) / (1 - self.beta_1 ** t)
        new_params, new_state = {}, {slot: {} for slot in state}  # the same slots, filled below
        new_state["iterations"] = t
        for name, w in params.items():
            g, m, v = grads[name], state["momentum"][name], state["velocity"][name]
            m = new_state["momentum"][name] = m + (g - m) * (1 - self.beta_1)
            v = new_state["velocity"][name] = v + (ops.square(g) - v) * (1 - self.beta_2)
            if self.amsgrad:
                v = new_state["velocity_hat"][name] = ops.maximum(state["velocity_hat"][name], v)
            new_params[name] = w - m * alpha / (ops.sqrt(v) + self.epsilon)
        return new_params, new_state

    def _hyperparameters(self):
        return ("learning_rate", "beta_1", "beta_2", "epsilon", "amsgrad")


def _filled(params: Mapping[str, Array], value: float) -> dict[str, np.ndarray]:
    """One float64 array per parameter, of its shape, every element ``value``."""
    return {name: np.full(np.shape(param), value, dtype=np.float64) for name, param in params.items()}


def _same_shapes(state: State, params: Mapping) -> bool:
    """Whether a state's slots were made for parameters of these names and shapes."""
    return all(slot.keys() == params.keys()
               and all(np.shape(slot[name]) == np.shape(params[name]) for name in params)
               for key, slot in state.items() if key != "iterations")
