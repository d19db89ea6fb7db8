"""Optimizers: how a gradient turns into a parameter update.

Each optimizer is built around a small pure update rule (like optax): numbers in, numbers
out, no state hidden inside. The rule uses only arithmetic, so it runs on numpy arrays
and TensorFlow tensors alike and can be tested on its own with hand-computed values.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._validation import check_real
from .ops import Array


def sgd_update(param: Array, grad: Array, velocity: Array | None, learning_rate: float,
               momentum: float = 0.0, nesterov: bool = False) -> tuple[Array, Array | None]:
    """One step of stochastic gradient descent, Keras's formulation. Pure.

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

    Example:
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
    """Base class for optimizers.

    ``apply_gradients(params, grads)`` returns the updated parameters as a new dict and
    keeps whatever state the method needs (e.g. velocities) on the optimizer.
    """

    learning_rate: float

    def apply_gradients(self, params: Mapping[str, np.ndarray],
                        grads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        raise NotImplementedError(f"{type(self).__name__} must define apply_gradients.")

    def get_state(self) -> dict[str, np.ndarray]:
        """Internal state (e.g. velocities) as named arrays, for checkpoints."""
        return {}

    def set_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore what ``get_state`` returned."""

    def reset(self) -> None:
        """Forget internal state, as before the first step."""


class SGD(Optimizer):
    """Gradient descent, optionally with momentum (classic or Nesterov).

    ``w <- w - learning_rate * dL/dw`` when ``momentum == 0``; see :func:`sgd_update`.

    Args:
        learning_rate: step size, a finite number > 0.
        momentum: in [0, 1); 0 is plain gradient descent.
        nesterov: use Nesterov's look-ahead form (needs momentum > 0 to differ).

    Example:
        >>> SGD(learning_rate=0.1).apply_gradients({"w": np.array(1.0)}, {"w": np.array(0.5)})
        {'w': array(0.95)}
    """

    def __init__(self, learning_rate: float = 0.01, momentum: float = 0.0,
                 nesterov: bool = False) -> None:
        self.learning_rate = check_real(learning_rate, "learning_rate", low=0.0)
        self.momentum = check_real(momentum, "momentum", low=0.0, high=1.0, low_inclusive=True)
        if not isinstance(nesterov, bool):
            raise ValueError(f"nesterov must be True or False, got {nesterov!r}.")
        self.nesterov = nesterov
        self.velocities: dict[str, np.ndarray] = {}

    def apply_gradients(self, params, grads):
        learning_rate, momentum, nesterov = self.learning_rate, self.momentum, self.nesterov
        if not momentum:  # plain gradient descent keeps no state
            # param[()] is a numpy scalar for a 0-d array (whose arithmetic is ~5x cheaper
            # than a 0-d array's) and a view of the same array otherwise.
            return {name: np.asarray(sgd_update(param[()], grads[name], None, learning_rate)[0])
                    for name, param in params.items()}
        new_params = {}
        for name, param in params.items():
            velocity = self.velocities.get(name)
            if velocity is None:
                velocity = np.zeros_like(param)[()]
            new_param, self.velocities[name] = sgd_update(param[()], grads[name], velocity,
                                                          learning_rate, momentum, nesterov)
            new_params[name] = np.asarray(new_param)  # parameters stay arrays, 0-d for scalars
        return new_params

    def get_state(self):
        return {name: np.array(value, dtype=np.float64) for name, value in self.velocities.items()}

    def set_state(self, state):
        self.velocities = {name: np.array(value, dtype=np.float64)[()] for name, value in state.items()}

    def reset(self):
        self.velocities = {}

    def __repr__(self) -> str:
        return (f"SGD(learning_rate={self.learning_rate}, momentum={self.momentum}, "
                f"nesterov={self.nesterov})")
