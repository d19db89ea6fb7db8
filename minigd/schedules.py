"""Learning-rate schedules: the rate as a function of the step number, as in Keras.

A schedule is a callable ``schedule(step) -> float``. Give one to an optimizer as its
``learning_rate`` and the optimizer calls it with its own step count (0 for the first
update), so the rate changes from step to step without any callback.

Each class here has the arguments, defaults and values of
``keras.optimizers.schedules.<Name>``; the values are computed in float64 with plain
Python arithmetic (Keras computes in float32 unless given float64 numbers).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

from ._validation import check_bool, check_real


class LearningRateSchedule:
    """Base class: a learning rate that depends on the step number.

    Subclasses override ``__call__(step)`` to return the rate for that step and
    ``get_config()`` to return the arguments that rebuild them.

    Examples:
        >>> class Halving(LearningRateSchedule):
        ...     def __init__(self, initial_learning_rate):
        ...         self.initial_learning_rate = initial_learning_rate
        ...     def __call__(self, step):
        ...         return self.initial_learning_rate / 2**step
        ...     def get_config(self):
        ...         return {"initial_learning_rate": self.initial_learning_rate}
        >>> schedule = Halving(0.1)
        >>> schedule(0), schedule(3)
        (0.1, 0.0125)
        >>> schedule
        Halving(initial_learning_rate=0.1)
    """

    def __call__(self, step: int) -> float:
        """The learning rate at ``step`` (0 for the first update)."""
        raise NotImplementedError(f"{type(self).__name__} must override __call__(self, step).")

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, so that ``type(s)(**s.get_config())`` rebuilds ``s``."""
        raise NotImplementedError(f"{type(self).__name__} must override get_config(self).")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        """Rebuild a schedule from what [`get_config`][minigd.schedules.LearningRateSchedule.get_config] returned."""
        return cls(**config)

    def __repr__(self) -> str:
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


class ExponentialDecay(LearningRateSchedule):
    """The rate shrinks by the factor ``decay_rate`` every ``decay_steps`` steps.

    Formula::

        rate(step) = initial_learning_rate * decay_rate ** (step / decay_steps)

    With ``staircase=True`` the exponent is ``floor(step / decay_steps)``: the rate stays
    constant for ``decay_steps`` steps, then drops all at once.

    Args:
        initial_learning_rate: the rate at step 0, a number >= 0.
        decay_steps: steps over which the rate is multiplied by ``decay_rate``, > 0.
        decay_rate: the factor, > 0 (below 1 to decay).
        staircase: drop in whole steps instead of smoothly.

    Examples:
        >>> schedule = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
        >>> schedule(0), schedule(10), schedule(20)
        (0.1, 0.05, 0.025)
        >>> round(schedule(5), 6)
        0.070711
        >>> ExponentialDecay(0.1, 10, 0.5, staircase=True)(19)
        0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False) -> None:
        self.initial_learning_rate = _check_rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _check_decay_steps(decay_steps)
        self.decay_rate = check_real(decay_rate, "decay_rate", low=0.0)
        self.staircase = check_bool(staircase, "staircase")

    def __call__(self, step: int) -> float:
        progress = _progress(step, self.decay_steps, self.staircase)
        try:
            return self.initial_learning_rate * self.decay_rate**progress
        except OverflowError:  # a growing rate (decay_rate > 1) past 1e308: Keras gives inf too
            return math.inf

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


class InverseTimeDecay(LearningRateSchedule):
    """The rate falls like ``1 / step``: fast at first, then ever more slowly.

    Formula::

        rate(step) = initial_learning_rate / (1 + decay_rate * step / decay_steps)

    With ``staircase=True``, ``step / decay_steps`` is rounded down to a whole number.

    Args:
        initial_learning_rate: the rate at step 0, a number >= 0.
        decay_steps: the step scale, > 0.
        decay_rate: how fast the rate falls, >= 0.
        staircase: drop in whole steps instead of smoothly.

    Examples:
        >>> schedule = InverseTimeDecay(0.1, decay_steps=10, decay_rate=1.0)
        >>> schedule(0), schedule(10), schedule(30)
        (0.1, 0.05, 0.025)
        >>> InverseTimeDecay(0.1, 10, 1.0, staircase=True)(19)
        0.05
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, decay_rate: float,
                 staircase: bool = False) -> None:
        self.initial_learning_rate = _check_rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _check_decay_steps(decay_steps)
        self.decay_rate = check_real(decay_rate, "decay_rate", low=0.0, low_inclusive=True)
        self.staircase = check_bool(staircase, "staircase")

    def __call__(self, step: int) -> float:
        progress = _progress(step, self.decay_steps, self.staircase)
        return self.initial_learning_rate / (1.0 + self.decay_rate * progress)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "decay_rate": self.decay_rate, "staircase": self.staircase}


class PiecewiseConstantDecay(LearningRateSchedule):
    """A constant rate between boundaries: ``values[i]`` up to and including ``boundaries[i]``.

    Formula::

        rate(step) = values[0]    if step <= boundaries[0]
                     values[i]    if boundaries[i-1] < step <= boundaries[i]
                     values[-1]   if step > boundaries[-1]

    Args:
        boundaries: increasing step numbers where the rate changes.
        values: the rates, one more than ``boundaries``; each a number >= 0.

    Examples:
        >>> schedule = PiecewiseConstantDecay(boundaries=[100, 200], values=[0.1, 0.01, 0.001])
        >>> schedule(0), schedule(100), schedule(101), schedule(500)
        (0.1, 0.1, 0.01, 0.001)
    """

    def __init__(self, boundaries: Sequence[float], values: Sequence[float]) -> None:
        boundaries, values = _as_list(boundaries, "boundaries"), _as_list(values, "values")
        if len(boundaries) != len(values) - 1:
            raise ValueError(
                f"values must have one entry more than boundaries (a rate before the first "
                f"boundary and one after each), got {len(boundaries)} boundaries and "
                f"{len(values)} values.")
        self.boundaries = [check_real(b, "each boundary", low=-math.inf) for b in boundaries]
        if any(a >= b for a, b in zip(self.boundaries, self.boundaries[1:])):
            raise ValueError(f"boundaries must be strictly increasing, got {boundaries!r}.")
        self.values = [_check_rate(value, "each value") for value in values]

    def __call__(self, step: int) -> float:
        # bisect_left finds i with boundaries[i-1] < step <= boundaries[i]: Keras's intervals
        return self.values[bisect.bisect_left(self.boundaries, step)]

    def get_config(self) -> dict[str, Any]:
        return {"boundaries": list(self.boundaries), "values": list(self.values)}


class CosineDecay(LearningRateSchedule):
    """Half a cosine wave from the rate down to ``alpha`` times it, after an optional warmup.

    Formula, without warmup (``warmup_target=None``)::

        t = min(step, decay_steps) / decay_steps
        rate(step) = initial_learning_rate * ((1 - alpha) * 0.5 * (1 + cos(pi * t)) + alpha)

    With ``warmup_target``, the rate first rises in a straight line from
    ``initial_learning_rate`` to ``warmup_target`` over ``warmup_steps`` steps, then
    follows the cosine above from ``warmup_target``, with ``step - warmup_steps`` for
    ``step``. After the decay the rate stays at its last value.

    Args:
        initial_learning_rate: the rate at step 0, a number >= 0.
        decay_steps: steps the cosine takes, > 0.
        alpha: the final rate as a fraction of the starting one, in [0, 1].
        warmup_target: the rate the warmup reaches, >= 0; None for no warmup.
        warmup_steps: length of the warmup, >= 0.

    ``warmup_target`` and ``warmup_steps`` are keyword-only: in Keras a ``name``
    argument comes before them, which minigd does not have.

    Examples:
        >>> schedule = CosineDecay(0.1, decay_steps=100)
        >>> schedule(0), round(schedule(50), 12), schedule(100), schedule(150)
        (0.1, 0.05, 0.0, 0.0)
        >>> warm = CosineDecay(0.0, decay_steps=100, warmup_target=0.1, warmup_steps=10)
        >>> warm(5), warm(10), round(warm(60), 12)
        (0.05, 0.1, 0.05)
    """

    def __init__(self, initial_learning_rate: float, decay_steps: float, alpha: float = 0.0, *,
                 warmup_target: float | None = None, warmup_steps: float = 0) -> None:
        self.initial_learning_rate = _check_rate(initial_learning_rate, "initial_learning_rate")
        self.decay_steps = _check_decay_steps(decay_steps)
        self.alpha = _check_alpha(alpha)
        self.warmup_target = (None if warmup_target is None
                              else _check_rate(warmup_target, "warmup_target"))
        self.warmup_steps = check_real(warmup_steps, "warmup_steps", low=0.0, low_inclusive=True)

    def __call__(self, step: int) -> float:
        if self.warmup_target is None:
            return self._cosine(min(step, self.decay_steps), self.initial_learning_rate)
        step = min(step, self.decay_steps + self.warmup_steps)
        if step < self.warmup_steps:
            return self._warmup(step)
        return self._cosine(step - self.warmup_steps, self.warmup_target)

    def _warmup(self, step: float) -> float:
        """The straight line from initial_learning_rate to warmup_target."""
        rise = self.warmup_target - self.initial_learning_rate
        return rise * (step / self.warmup_steps) + self.initial_learning_rate

    def _cosine(self, step: float, start: float) -> float:
        """Half a cosine from ``start`` (at step 0) to ``alpha * start`` (at decay_steps)."""
        cosine = 0.5 * (1.0 + math.cos(math.pi * (step / self.decay_steps)))
        return start * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return {"initial_learning_rate": self.initial_learning_rate, "decay_steps": self.decay_steps,
                "alpha": self.alpha, "warmup_target": self.warmup_target,
                "warmup_steps": self.warmup_steps}


def _progress(step: float, decay_steps: float, staircase: bool) -> float:
    """``step / decay_steps``, rounded down for a staircase."""
    progress = step / decay_steps
    return math.floor(progress) if staircase else progress


def _check_rate(value, name: str) -> float:
    return check_real(value, name, low=0.0, low_inclusive=True)


def _check_decay_steps(value) -> float:
    # Keras accepts any number > 0; a whole number stays an int so the repr reads naturally
    check_real(value, "decay_steps", low=0.0)
    return value


def _check_alpha(value) -> float:
    alpha = check_real(value, "alpha", low=0.0, low_inclusive=True)
    if alpha > 1.0:
        raise ValueError(f"alpha must be a fraction in [0, 1] (the final rate over the first), got {alpha}.")
    return alpha


def _as_list(value, name: str) -> list:
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(f"{name} must be a list of numbers, got {value!r}.")
    return list(value)
