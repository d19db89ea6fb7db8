"""Callbacks that change the optimizer's learning rate between epochs, as in Keras.

Both set ``trainer.optimizer.learning_rate`` to a new number. A schedule object given to
the optimizer ([`minigd.schedules`][minigd.schedules]) sets the rate at every step instead; the two
cannot be combined, since each would overwrite the other's rate.

The rate itself is saved in every trainer checkpoint, so a resumed run continues with
the rate these callbacks had set.
"""

from __future__ import annotations

import inspect
import math
import numbers
from collections.abc import Callable
from typing import Any

from .._validation import check_real
from .base import Callback, Logs, improved, resolve_mode

EpochSchedule = Callable[[int, float], float] | Callable[[int], float]


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of each epoch from ``schedule``.

    Formula::

        learning_rate <- schedule(epoch, learning_rate)    or    schedule(epoch)

    ``schedule`` is called with two arguments (the epoch, counting from 0, and the
    current rate) if it takes two, as Keras's does, and with the epoch alone otherwise;
    so a [`minigd.schedules`][minigd.schedules] object works too, counting epochs instead of steps.

    Args:
        schedule: a function of the epoch (and the current rate) returning the rate,
            a number > 0.
        verbose: 0 is quiet; 1 prints the rate set at each epoch, in Keras's words.

    It keeps no state of its own (``get_state()`` is empty): the rate it set is in the
    trainer's checkpoint, and the epoch number says the rest.

    Examples:
        >>> import minigd as mg
        >>> halve_after_two = LearningRateScheduler(lambda epoch, lr: lr if epoch < 2 else lr / 2)
        >>> x, y = mg.make_linear_data(n=20, seed=0)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[halve_after_two])
        >>> _ = trainer.fit(mg.Linear(), x, y, epochs=4)
        >>> trainer.optimizer.learning_rate
        0.0025
    """

    def __init__(self, schedule: EpochSchedule, verbose: int = 0) -> None:
        if not callable(schedule):
            raise ValueError(f"schedule must be a function schedule(epoch, lr) or schedule(epoch) "
                             f"returning the learning rate, got {schedule!r}.")
        self.schedule = schedule
        self.verbose = _check_verbose(verbose)
        self._takes_rate = _takes_two_arguments(schedule)

    def on_train_begin(self, logs: Logs) -> None:
        _number_rate(self.trainer.optimizer, "LearningRateScheduler")

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        optimizer = self.trainer.optimizer
        if self._takes_rate:
            rate = self.schedule(epoch, _number_rate(optimizer, "LearningRateScheduler"))
        else:
            rate = self.schedule(epoch)
        optimizer.learning_rate = rate = _check_scheduled_rate(rate, epoch)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {rate}.")


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when a monitored value stops improving.

    At each epoch end, with ``mode="min"`` (``"max"`` turns the comparison round)::

        improved = best is None or current < best - min_delta
        improved:             best <- current, wait <- 0
        else, not cooling:    wait <- wait + 1
                              if wait >= patience and learning_rate > min_lr:
                                  learning_rate <- max(learning_rate * factor, min_lr)
                                  wait <- 0, cooldown_counter <- cooldown

    where "cooling" means that a reduction happened less than ``cooldown`` epochs ago:
    each epoch end first counts ``cooldown_counter`` down by one (and sets ``wait`` to
    0) while it is above 0. This is Keras's rule, step for step.

    Args:
        monitor: an ``on_epoch_end`` logs key, e.g. ``"val_loss"`` or ``"loss"``.
        factor: the rate is multiplied by this, in (0, 1).
        patience: epochs without improvement before the rate is reduced, >= 0.
        verbose: 0 is quiet; 1 prints each reduction, in Keras's words.
        mode: ``"min"`` (smaller is better), ``"max"`` (larger is better) or ``"auto"``:
            ``"min"`` for losses, and for metrics what `minigd.metrics` says (e.g.
            ``"max"`` for accuracy, ``"min"`` for mae).
        min_delta: an improvement must beat the best value by more than this, >= 0.
        cooldown: epochs to wait after a reduction before counting again, >= 0.
        min_lr: the rate is never reduced below this, >= 0.

    Attributes:
        best: the best monitored value so far (None before the first epoch end).
        wait: epochs since the last improvement (or reduction).
        cooldown_counter: epochs of cooldown left.

    Examples:
        >>> import minigd as mg
        >>> reduce = ReduceLROnPlateau(monitor="loss", factor=0.5, patience=1)
        >>> reduce.set_trainer(mg.Trainer(mg.MSE(), mg.SGD(0.1)))
        >>> reduce.on_train_begin({})
        >>> for epoch, loss in enumerate([3.0, 2.0, 2.0, 2.0, 1.0]):
        ...     reduce.on_epoch_end(epoch, {"loss": loss})
        ...     print(epoch, reduce.trainer.optimizer.learning_rate)
        0 0.1
        1 0.1
        2 0.05
        3 0.025
        4 0.025
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4, cooldown: int = 0,
                 min_lr: float = 0.0) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ValueError(f"monitor must be a logs key such as 'val_loss' or 'loss', got {monitor!r}.")
        self.monitor = monitor
        self.factor = check_real(factor, "factor", low=0.0, high=1.0)
        self.patience = _check_count(patience, "patience")
        self.verbose = _check_verbose(verbose)
        self.mode = resolve_mode(mode, monitor)
        self.min_delta = check_real(min_delta, "min_delta", low=0.0, low_inclusive=True)
        self.cooldown = _check_count(cooldown, "cooldown")
        self.min_lr = check_real(min_lr, "min_lr", low=0.0, low_inclusive=True)
        self._reset()

    def _reset(self) -> None:
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0

    def on_train_begin(self, logs: Logs) -> None:
        _number_rate(self.trainer.optimizer, "ReduceLROnPlateau")
        self._reset()

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        current = self._monitored_value(logs)
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._is_improvement(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and self._reduce(epoch):
                self.cooldown_counter, self.wait = self.cooldown, 0

    def _monitored_value(self, logs: Logs) -> float:
        if self.monitor not in logs:
            raise ValueError(f"ReduceLROnPlateau monitor={self.monitor!r} is not in the epoch logs "
                             f"{sorted(logs)}; monitor 'val_loss' needs validation_data.")
        return float(logs[self.monitor])

    def _is_improvement(self, current: float) -> bool:
        return improved(current, self.best, self.mode, self.min_delta)  # the first sets the bar

    def _reduce(self, epoch: int) -> bool:
        """Lower the rate unless it is already at ``min_lr``; say whether it did."""
        optimizer = self.trainer.optimizer
        old = _number_rate(optimizer, "ReduceLROnPlateau")
        if not old > self.min_lr:
            return False
        new = max(old * self.factor, self.min_lr)
        optimizer.learning_rate = new
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
        return True

    def get_state(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait, "cooldown_counter": self.cooldown_counter}

    def set_state(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state["best"], state["wait"]
        self.cooldown_counter = state["cooldown_counter"]


def _number_rate(optimizer, who: str) -> float:
    """The optimizer's rate as a float, or a ValueError if it is a schedule."""
    rate = optimizer.learning_rate
    if callable(rate):
        raise ValueError(
            f"{who} sets the optimizer's learning_rate, but it is a schedule ({rate!r}), which "
            f"sets the rate at every step: the two would overwrite each other. Use one or the "
            f"other: give the optimizer a number with {who}, or the schedule without it.")
    return float(rate)


def _check_scheduled_rate(rate, epoch: int) -> float:
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not math.isfinite(rate) \
            or rate <= 0:
        raise ValueError(f"schedule must return a finite number > 0 (the learning rate), but at "
                         f"epoch {epoch} it returned {rate!r}.")
    return float(rate)


def _takes_two_arguments(schedule: Callable) -> bool:
    """Whether ``schedule(epoch, lr)`` is a valid call (Keras's newer form)."""
    try:
        inspect.signature(schedule).bind(0, 0.1)
    except TypeError:  # it takes the epoch alone
        return False
    except ValueError:  # no signature to read (some built-ins): try Keras's newer form
        return True
    return True


def _check_count(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0 (epochs), got {value!r}.")
    return int(value)


def _check_verbose(value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"verbose must be 0 (quiet) or 1 (print each change), got {value!r}.")
    return int(value)
