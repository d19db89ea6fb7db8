"""The callback base class and ``CallbackList``, the one place the trainer calls hooks."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # only for type hints; avoids a circular import
    from ..models import Model
    from ..trainer import Trainer

Logs = dict[str, float]

#: Every hook the trainer calls, in the order a run first reaches them.
HOOKS = ("on_train_begin", "on_epoch_begin", "on_step_begin", "on_step_end", "on_epoch_end",
         "on_train_end")

#: The hooks a run calls around each step; a callback that overrides one sees every step live
#: unless it says otherwise (``Callback.next_step_needed``).
STEP_HOOKS = ("on_epoch_begin", "on_step_begin", "on_step_end", "on_epoch_end")

#: Keras hook names minigd never calls, with the minigd hook to use instead (None: no such event).
KERAS_ONLY_HOOKS = {
    "on_batch_begin": "on_step_begin", "on_batch_end": "on_step_end",
    "on_train_batch_begin": "on_step_begin", "on_train_batch_end": "on_step_end",
    "on_test_begin": None, "on_test_end": None, "on_test_batch_begin": None,
    "on_test_batch_end": None, "on_predict_begin": None, "on_predict_end": None,
    "on_predict_batch_begin": None, "on_predict_batch_end": None,
}


class Callback:
    """Base class: every hook does nothing. Override the ones you need.

    Before ``on_train_begin`` the trainer sets ``self.trainer`` and ``self.model``. A
    callback ends the run by setting ``self.trainer.stop_training = True``.

    A callback that keeps state across steps (a counter, a best value) should also
    override ``get_state`` and ``set_state``, so that a checkpoint resumes it exactly.

    Examples:
        >>> import minigd as mg
        >>> class CountSteps(mg.Callback):
        ...     def on_train_begin(self, logs):
        ...         self.count = 0
        ...     def on_step_end(self, step, logs):
        ...         self.count += 1
        >>> counter = CountSteps()
        >>> x, y = mg.make_linear_data(n=10, seed=0)
        >>> _ = mg.Trainer(mg.MSE(), mg.SGD(), callbacks=[counter]).fit(mg.Linear(), x, y, steps=7)
        >>> counter.count
        7
    """

    trainer: Trainer | None = None
    model: Model | None = None

    def set_trainer(self, trainer: Trainer) -> None:
        """Called by the trainer before ``on_train_begin``."""
        self.trainer = trainer
        self.model = trainer.model

    def on_train_begin(self, logs: Logs) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs) -> None: ...
    def on_step_begin(self, step: int, logs: Logs) -> None: ...
    def on_step_end(self, step: int, logs: Logs) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs) -> None: ...
    def on_train_end(self, logs: Logs) -> None: ...

    def next_step_needed(self, step: int) -> int | None:
        """The first step, from ``step`` on, that this callback must see *live*; None: none.

        Seeing step ``s`` live means that its ``on_step_end`` (and the ``on_epoch_end``
        that follows, if ``s`` ends an epoch) runs with the model's parameters after
        step ``s`` in place, and anything it changes (``stop_training``, the learning
        rate, the weights, a checkpoint) takes effect from step ``s + 1``. So that a
        compiled provider can run several steps in one call (a *chunk*), the trainer
        ends each chunk at the first step some callback needs; the hooks of the steps
        before it still run, in order, for every step, with each step's own logs, but
        after the chunk has been computed ("replayed"), while the model already holds
        the chunk's last parameters. To act before step ``s`` (e.g. in
        ``on_step_begin``), need step ``s - 1``.

        The default is safe for any callback: every step, if it overrides a step or
        epoch hook, else None. Override it when the callback only records logs (None)
        or acts on some steps only (``StepLogger`` needs every ``every``-th step).
        """
        return step if self._uses_step_hooks() else None

    def _uses_step_hooks(self) -> bool:
        return any(_overrides(self, hook) for hook in STEP_HOOKS)

    def get_state(self) -> dict[str, Any]:
        """What this callback needs to resume exactly, for checkpoints (numbers, strings,
        lists, dicts and numpy arrays). Empty by default: a stateless callback."""
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore what ``get_state`` returned. Called after ``on_train_begin`` on resume."""

    def __repr__(self) -> str:
        # the constructor's arguments that the callback keeps under the same name
        import inspect

        names = [name for name in inspect.signature(type(self).__init__).parameters
                 if name != "self" and name in vars(self)]
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({shown})"


class CallbackList:
    """Calls every callback's hooks, in order, the History first.

    A hook that a callback leaves as [`Callback`][minigd.callbacks.base.Callback]'s empty method is skipped, so a
    callback that does nothing on a step costs nothing on that step.

    Args:
        callbacks: the user's callbacks, in the order given.
        trainer: set on every callback before the run.
        history: the run's record; called before every other callback, so that they
            see it up to date.
    """

    def __init__(self, callbacks: Iterable[Callback], trainer: Trainer, history: Callback) -> None:
        self.callbacks = [history, *(c for c in callbacks if c is not history)]
        for callback in self.callbacks:
            callback.set_trainer(trainer)
            _warn_about_keras_hooks(callback)
        self._methods = {hook: [getattr(c, hook) for c in self.callbacks if _overrides(c, hook)]
                         for hook in HOOKS}
        # The step hooks run every step: a hook that one callback overrides calls it
        # directly, and one that none overrides is a no-op, instead of a loop each time.
        for hook in STEP_HOOKS:
            methods = self._methods[hook]
            if len(methods) < 2:
                setattr(self, hook, methods[0] if methods else _nothing)
        self._begun: list[Callback] = []  # set by on_train_begin
        # asked before every chunk: only the callbacks that need some steps live
        self._planners = [planner for planner in map(_planner, self.callbacks) if planner is not None]

    def overrides(self, hook: str) -> bool:
        """Whether some callback overrides ``hook`` (else calling it does nothing)."""
        return bool(self._methods[hook])

    def next_step_needed(self, step: int) -> int | None:
        """The first step, from ``step`` on, that some callback must see live (None: none).

        The trainer ends a chunk of steps there; see [`Callback.next_step_needed`][minigd.callbacks.base.Callback.next_step_needed].
        """
        needed = None
        for planner in self._planners:
            if planner is _EVERY_STEP:
                return step
            at = planner(step)
            if at is not None and (needed is None or at < needed):
                needed = at
        return needed

    def on_train_begin(self, logs: Logs) -> None:
        self._begun = []  # the callbacks whose on_train_begin has run, in order
        for callback in self.callbacks:
            if _overrides(callback, "on_train_begin"):
                callback.on_train_begin(logs)
            self._begun.append(callback)

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        for method in self._methods["on_epoch_begin"]:
            method(epoch, logs)

    def on_step_begin(self, step: int, logs: Logs) -> None:
        for method in self._methods["on_step_begin"]:
            method(step, logs)

    def on_step_end(self, step: int, logs: Logs) -> None:
        for method in self._methods["on_step_end"]:
            method(step, logs)

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        for method in self._methods["on_epoch_end"]:
            method(epoch, logs)

    def on_train_end(self, logs: Logs) -> None:
        """Every callback's ``on_train_end`` runs, even if an earlier one raises, but only
        for callbacks whose ``on_train_begin`` has run: a run that failed (or was
        interrupted) in an earlier callback's ``on_train_begin`` must end with that
        error, not with one from a callback that never set itself up."""
        errors = []
        for callback in self._begun:
            if not _overrides(callback, "on_train_end"):
                continue
            try:
                callback.on_train_end(logs)
            except Exception as error:  # close every file and bar first, then report
                errors.append(error)
        if errors:
            raise errors[0]

    def get_state(self) -> list[dict[str, Any]]:
        """Each callback's class name and state, in order."""
        return [{"class": type(c).__name__, "state": c.get_state()} for c in self.callbacks]

    def set_state(self, states: list[dict[str, Any]]) -> None:
        """Restore ``get_state``'s result into the callbacks that keep state.

        Those (the ones whose ``get_state()`` is not empty) must be of the same classes,
        in the same order, as when the checkpoint was written; stateless ones such as
        StepLogger may come and go.
        """
        saved = [entry for entry in states if entry["state"]]
        stateful = [callback for callback in self.callbacks if callback.get_state()]
        saved_names = [entry["class"] for entry in saved]
        names = [type(callback).__name__ for callback in stateful]
        if saved_names != names:
            raise ValueError(f"the checkpoint was written with the callbacks {saved_names} (those that "
                             f"keep state); this run has {names}. Attach the same ones, in the same "
                             "order, to resume.")
        for callback, entry in zip(stateful, saved):
            callback.set_state(entry["state"])


class StepPacer:
    """For a callback that acts on time (every so many seconds), not on steps: a guess at
    the step at which the clock reaches a deadline, from the speed since it last looked.

    Such a callback reads the clock only at the guessed step and returns that step from
    ``next_step_needed``, so the steps before it can run as one chunk. A wrong guess
    costs little: too early, it looks again; too late, it acts a little late.

    Examples:
        >>> pacer = StepPacer()
        >>> pacer.step_due(step=0, now=0.0, deadline=0.5)  # first look: the next step
        1
        >>> pacer.step_due(step=100, now=0.25, deadline=0.75)  # 400 steps/s, 0.5 s to go
        301
    """

    def __init__(self) -> None:
        self._looked: tuple[int, float] | None = None  # (step, time) of the last look

    def step_due(self, step: int, now: float, deadline: float) -> int:
        """The step at which to look at the clock next, after looking at ``step``."""
        guess = step + 1
        if self._looked is not None:
            last_step, last_time = self._looked
            steps_per_second = (step - last_step) / max(now - last_time, 1e-9)
            guess += int(steps_per_second * max(deadline - now, 0.0))
        self._looked = (step, now)
        return guess


MODES = ("auto", "min", "max")


def check_mode(mode) -> str:
    """``mode`` if it is one of `MODES`, else ValueError."""
    if mode not in MODES:
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}.")
    return mode


def resolve_mode(mode: str, monitor: str, metrics: Iterable = ()) -> str:
    """``"min"`` or ``"max"`` for a callback watching ``monitor`` (Keras's ``mode``).

    ``"auto"`` decides from the name (``val_`` aside): a loss goes down; a metric goes
    the way it says: a `Metric` among ``metrics`` by its ``direction``, a Keras name
    by minigd's table (``accuracy`` up, ``mae`` down). Any other name is a ValueError
    asking for ``mode``: guessing "min" for an accuracy would keep the worst epoch.

    Examples:
        >>> resolve_mode("auto", "val_accuracy"), resolve_mode("auto", "loss")
        ('max', 'min')
    """
    if check_mode(mode) != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name == "loss":
        return "min"
    directions = {metric.name: metric.direction for metric in metrics}
    if name not in directions:
        from ..metrics import METRICS  # the metrics know whether larger is better

        directions = {key: direction for key, (_, direction) in METRICS.items()}
    if name in directions:
        return "max" if directions[name] == "up" else "min"
    raise ValueError(f"mode='auto' cannot tell whether monitor={monitor!r} should go down or up; "
                     "pass mode='min' (smaller is better) or mode='max' (larger is better).")


def improved(value: float, best: float | None, mode: str, min_delta: float = 0.0) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` in ``mode``'s direction
    (any value beats None, the best before the first)."""
    if best is None:
        return True
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _nothing(*args) -> None:
    pass


def _EVERY_STEP(step: int) -> int:
    return step


def _planner(callback: Callback):
    """What ``CallbackList.next_step_needed`` asks of this callback: None for nothing."""
    if _overrides(callback, "next_step_needed"):
        return callback.next_step_needed
    return _EVERY_STEP if callback._uses_step_hooks() else None


def _overrides(callback: Callback, hook: str) -> bool:
    method = getattr(callback, hook)
    # bound methods carry __func__; a function stored on the instance (LambdaCallback) does not
    return getattr(method, "__func__", None) is not getattr(Callback, hook)


def _warn_about_keras_hooks(callback: Callback) -> None:
    for name, instead in KERAS_ONLY_HOOKS.items():
        if callable(getattr(callback, name, None)):
            advice = f"name it {instead!r}" if instead else "minigd has no such event"
            warnings.warn(f"{type(callback).__name__}.{name} is a Keras hook that minigd never "
                          f"calls; {advice}.", UserWarning, stacklevel=4)
