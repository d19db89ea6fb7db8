"""Callbacks: code that the training loop calls at fixed points, as in Keras.

Hook order for a run of E epochs with S steps each::

    on_train_begin
      on_epoch_begin(0)
        on_step_begin(0), on_step_end(0), on_step_begin(1), ... on_step_end(S-1)
      on_epoch_end(0)
      on_epoch_begin(1) ...
    on_train_end

``step`` counts optimizer steps over the whole run and ``epoch`` counts passes over the
data; both start at 0. Inside a hook, ``self.trainer`` and ``self.model`` are set, and a
callback stops the run by setting ``self.trainer.stop_training = True`` (the run ends
after the current step).

The ``logs`` dict passed to each hook holds:

==================  =========================================================================
hook                keys
==================  =========================================================================
on_train_begin      (empty)
on_epoch_begin      (empty)
on_step_begin       ``batch_size``: examples in this step's batch
on_step_end         ``loss``: the batch loss *before* this step's update (it comes free with
                    the gradient); ``batch_size``
on_epoch_end        ``loss``: mean of the epoch's batch losses, weighted by batch size;
                    ``val_loss``: loss on ``validation_data`` after the epoch (if given)
on_train_end        the last epoch's logs
==================  =========================================================================
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

import numpy as np

from ._validation import check_positive_int, check_real

if TYPE_CHECKING:  # only for type hints; avoids a circular import
    from .models import Model
    from .trainer import Trainer

Logs = dict[str, float]


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    trainer: Trainer | None = None
    model: Model | None = None

    def set_trainer(self, trainer: Trainer) -> None:
        """Called by the trainer before ``on_train_begin``."""
        self.trainer = trainer
        self.model = trainer.model

    def on_train_begin(self, logs: Logs) -> None: ...
    def on_train_end(self, logs: Logs) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Logs) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Logs) -> None: ...
    def on_step_begin(self, step: int, logs: Logs) -> None: ...
    def on_step_end(self, step: int, logs: Logs) -> None: ...


class History(Callback):
    """Records the logs; ``Trainer.fit`` always attaches one and returns it.

    Attributes:
        history: key -> list. Step keys (``loss``) have one entry per step; epoch keys
            that are not also step keys (``val_loss``) have one entry per epoch.
        epoch_history: every epoch-level key (including the epoch's mean ``loss``), one
            entry per epoch.
        steps, epochs: the step and epoch numbers the entries belong to.
        epoch_end_steps: for each epoch, the number of its last step.
        params: parameter name -> list of values after each step; filled only with
            ``record_params=True`` (needed for drawing the descent path).

    Args:
        record_params: also keep a copy of the parameters after every step. Off by
            default, so plain training pays nothing for it.
    """

    def __init__(self, record_params: bool = False) -> None:
        self.record_params = record_params
        self._clear()

    def _clear(self) -> None:
        self.history: dict[str, list[float]] = {"loss": []}
        self.epoch_history: dict[str, list[float]] = {}
        self.steps: list[int] = []
        self.epochs: list[int] = []
        self.epoch_end_steps: list[int] = []
        self.params: dict[str, list[np.ndarray]] = {}
        self.initial_params: dict[str, np.ndarray] = {}

    def on_train_begin(self, logs):
        self._clear()  # each fit gets a fresh record
        if self.record_params:
            self.initial_params = self.model.get_weights()

    step_keys = ("loss",)  # recorded once per step; every other key once per epoch

    def on_step_end(self, step, logs):
        self.steps.append(step)
        self.history["loss"].append(logs["loss"])
        if self.record_params:
            for name, value in self.model.params.items():
                self.params.setdefault(name, []).append(value.copy())

    def on_epoch_end(self, epoch, logs):
        self.epochs.append(epoch)
        self.epoch_end_steps.append(self.steps[-1])
        for key, value in logs.items():
            self.epoch_history.setdefault(key, []).append(value)
            if key not in self.step_keys:
                self.history.setdefault(key, []).append(value)

    _RECORDS = ("history", "epoch_history", "steps", "epochs", "epoch_end_steps")

    def get_state(self) -> dict:
        """The logs recorded so far (not the parameters), for trainer checkpoints."""
        return {name: getattr(self, name) for name in self._RECORDS}

    def set_state(self, state: dict) -> None:
        """Continue from ``get_state()``'s record (used when a run resumes)."""
        for name in self._RECORDS:
            setattr(self, name, state[name])

    def param_path(self, name: str) -> np.ndarray:
        """Values of parameter ``name`` from the start through every step (needs record_params)."""
        if not self.record_params:
            raise ValueError("param_path needs History(record_params=True) among the callbacks.")
        return np.stack([self.initial_params[name], *self.params.get(name, [])])


class StepLogger(Callback):
    """Prints the seed article's progress lines every ``every`` steps, then a final line::

        iteration:0, loss:..., w:..., b:...
        Final loss:..., w:..., b:...

    The loss shown is the loss over the *whole training set with the parameters after
    that step's update*, as the seed computes it (unlike ``logs["loss"]``, which is the
    batch loss before the update). Other models show every parameter by name.

    Args:
        every: print on steps 0, every, 2*every, ...
        stream: where to print; None means ``sys.stdout`` at the time of printing.
    """

    def __init__(self, every: int = 50, stream: TextIO | None = None) -> None:
        self.every = check_positive_int(every, "every")
        self.stream = stream

    def on_step_end(self, step, logs):
        if step % self.every == 0:
            self._print(f"iteration:{step}, {self._state()}")

    def on_train_end(self, logs):
        self._print(f"Final {self._state()}")

    def _state(self) -> str:
        x, y = self.trainer.train_data
        loss = self.trainer.loss(y, self.model.forward(self.model.params, x))  # x checked by fit
        shown = ", ".join(f"{name}:{_format(value)}" for name, value in self.model.params.items())
        return f"loss:{loss}, {shown}"

    def _print(self, line: str) -> None:
        print(line, file=self.stream if self.stream is not None else sys.stdout)


def _format(value: np.ndarray) -> str:
    # a scalar prints as the seed's Python floats do; arrays in numpy's own style
    return str(float(value)) if value.ndim == 0 else str(value)


class EarlyStopping(Callback):
    """Stops training when a monitored value stops improving (checked at each epoch end).

    Args:
        monitor: an ``on_epoch_end`` logs key, e.g. ``"loss"`` or ``"val_loss"``.
        patience: epochs without improvement to wait before stopping.
        min_delta: an improvement must lower the value by more than this.
        restore_best_weights: on stopping (or at the end), put back the parameters of the
            best epoch.

    Attributes:
        best: the best value of ``monitor`` so far.
        best_epoch: the epoch that reached it.
        stopped_epoch: the epoch after which it stopped the run, or None.
    """

    def __init__(self, monitor: str = "loss", patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False) -> None:
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"patience must be a whole number >= 0, got {patience!r}.")
        if not isinstance(monitor, str):
            raise ValueError(f"monitor must be a logs key such as 'loss' or 'val_loss', got {monitor!r}.")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = check_real(min_delta, "min_delta", low=0.0, low_inclusive=True)
        self.restore_best_weights = restore_best_weights

    def on_train_begin(self, logs):
        self.best = math.inf
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None
        self.wait = 0

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitor={self.monitor!r} is not in the epoch logs "
                f"{sorted(logs)}; monitor 'val_loss' needs validation_data."
            )
        value = logs[self.monitor]
        if value < self.best - self.min_delta:
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:  # Keras's rule: patience=0 stops at the first miss
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ProgressBar(Callback):
    """A tqdm progress bar over the run's steps, showing the latest batch loss.

    Args:
        stream: where to draw; None means ``sys.stderr``.
        delay: seconds to wait before showing the bar, so short runs show none.
    """

    def __init__(self, stream: TextIO | None = None, delay: float = 1.0) -> None:
        try:
            import tqdm  # noqa: F401 - fail here, with advice, not in the middle of fit
        except ImportError as error:
            raise ImportError("ProgressBar needs tqdm: pip install 'minigd[progress]'") from error
        self.stream, self.delay, self.bar = stream, delay, None

    def on_train_begin(self, logs):
        from tqdm import tqdm

        self.bar = tqdm(total=self.trainer.total_steps, unit="step", delay=self.delay,
                        file=self.stream if self.stream is not None else sys.stderr)

    def on_step_end(self, step, logs):
        self.bar.update(1)
        if step % 100 == 0:  # formatting the postfix every step would cost more than the step
            self.bar.set_postfix(loss=f"{logs['loss']:.4g}", refresh=False)

    def on_train_end(self, logs):
        self.bar.close()


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_step_end=lambda step, logs: ...)``.

    Each argument is a function with the signature of the hook of the same name.
    """

    _HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
              "on_step_begin", "on_step_end")

    def __init__(self, **hooks: Callable) -> None:
        unknown = sorted(set(hooks) - set(self._HOOKS))
        if unknown:
            raise ValueError(f"LambdaCallback got unknown hook(s) {unknown}; allowed: {list(self._HOOKS)}.")
        for name, function in hooks.items():
            if not callable(function):
                raise ValueError(f"LambdaCallback {name} must be callable, got {function!r}.")
            setattr(self, name, function)
