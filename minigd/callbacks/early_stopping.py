"""EarlyStopping: end the run when a monitored value stops improving."""

from __future__ import annotations

import math

from .._validation import check_bool, check_real
from .base import Callback, check_mode, improved, resolve_mode


class EarlyStopping(Callback):
    """Stops training when a monitored value stops improving (checked at each epoch end).

    With ``restore_best_weights=True`` the parameters that *produced* the best value are
    put back when the run ends:

    * for ``"loss"``, the parameters at the start of that epoch. The epoch's ``loss`` is
      the mean of its batch losses, each taken before its step's update, so under
      full-batch descent these are exactly the parameters that gave it; with
      mini-batches the loss is a mean along the epoch's path and the epoch's starting
      point stands for it;
    * for every other key (``val_loss``, metrics), computed after the epoch, the
      parameters at the end of that epoch.

    Args:
        monitor: an ``on_epoch_end`` logs key, e.g. ``"loss"`` or ``"val_loss"``.
        patience: epochs without improvement to wait before stopping.
        min_delta: an improvement must change the value by more than this.
        restore_best_weights: when the run ends (normally, or stopped by a callback), put
            back the best epoch's parameters. Not after Ctrl-C or an error, so that a
            checkpoint saved then resumes exactly.
        mode: ``"min"`` (smaller is better), ``"max"`` (larger is better) or ``"auto"``
            (as Keras: a loss goes down, an accuracy up, a `Metric` as its ``direction``
            says), decided when the run starts.

    Attributes:
        best: the best value of ``monitor`` so far.
        best_epoch: the epoch that reached it.
        stopped_epoch: the epoch after which it stopped the run, or None.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> stopper = mg.EarlyStopping(monitor="loss", patience=2, min_delta=1e-3)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[stopper])
        >>> _ = trainer.fit(mg.Linear(), x, y, epochs=10_000)
        >>> stopper.stopped_epoch is not None and trainer.epoch < 10_000
        True
    """

    def __init__(self, monitor: str = "loss", patience: int = 0, min_delta: float = 0.0,
                 restore_best_weights: bool = False, mode: str = "auto") -> None:
        if not isinstance(patience, int) or isinstance(patience, bool) or patience < 0:
            raise ValueError(f"patience must be a whole number >= 0, got {patience!r}.")
        if not isinstance(monitor, str):
            raise ValueError(f"monitor must be a logs key such as 'loss' or 'val_loss', got {monitor!r}.")
        self.monitor = monitor
        self.patience = patience
        self.min_delta = check_real(min_delta, "min_delta", low=0.0, low_inclusive=True)
        self.restore_best_weights = check_bool(restore_best_weights, "restore_best_weights")
        self.mode = check_mode(mode)

    def on_train_begin(self, logs):
        self._direction = resolve_mode(self.mode, self.monitor, self.trainer.metrics)
        self.best = math.inf if self._direction == "min" else -math.inf
        self.best_epoch = None
        self.best_weights = None
        self.stopped_epoch = None
        self.wait = 0
        self._epoch_start_weights = None

    def on_epoch_begin(self, epoch, logs):
        if self.restore_best_weights and self.monitor == "loss":
            self._epoch_start_weights = self.model.get_weights()

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            hint = "; it needs validation_data" if self.monitor.startswith("val_") else ""
            raise ValueError(f"EarlyStopping monitor={self.monitor!r} is not in the epoch logs "
                             f"{sorted(logs)}{hint}.")
        value = logs[self.monitor]
        if improved(value, self.best, self._direction, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self._epoch_start_weights or self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience:  # Keras's rule: patience=0 stops at the first miss
            self.stopped_epoch = epoch
            self.trainer.stop_training = True

    def on_train_end(self, logs):
        # not after Ctrl-C or an error: the model then keeps its last step, so that a
        # checkpoint saved afterwards resumes the run exactly
        ended_normally = self.trainer.stop_reason in ("completed", "stopped")
        if self.restore_best_weights and self.best_weights is not None and ended_normally:
            self.model.set_weights(self.best_weights)

    _STATE = ("best", "best_epoch", "best_weights", "stopped_epoch", "wait", "_epoch_start_weights")

    def get_state(self):
        return {name: getattr(self, name) for name in self._STATE}

    def set_state(self, state):
        for name in self._STATE:
            setattr(self, name, state[name])
