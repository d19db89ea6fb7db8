"""ModelCheckpoint: save the run as it goes."""

from __future__ import annotations

import math
import os

from .._validation import check_bool, check_path, check_positive_int
from .base import Callback, check_mode, improved, resolve_mode


class ModelCheckpoint(Callback):
    """Saves the run as it goes, atomically, so a crash never costs more than ``every`` steps.

    Args:
        path: file to write; may contain ``{step}`` and ``{epoch}`` (e.g.
            ``"run-{step}.npz"``) to keep one file per save.
        every: save every ``every`` steps; None saves at the end of every epoch.
        save_best_only: save only when ``monitor`` improved since the last save.
        monitor: the logs key to watch: ``"loss"`` (step or epoch logs) or ``"val_loss"``
            (epoch logs, so with ``every=None``).
        save_weights_only: write the model's weights only (``model.load_weights`` reads
            them) instead of a full trainer checkpoint (``fit(..., resume_from=path)``).
        mode: for ``save_best_only``: ``"min"``, ``"max"`` or ``"auto"`` (a loss goes
            down, an accuracy up), as for [`EarlyStopping`][minigd.EarlyStopping].

    Examples:
        >>> import minigd as mg
        >>> checkpoint = mg.ModelCheckpoint("run-{step}.npz", every=100)   # writes nothing yet
        >>> checkpoint.every
        100
    """

    def __init__(self, path: str | os.PathLike, every: int | None = None, save_best_only: bool = False,
                 monitor: str = "loss", save_weights_only: bool = False, mode: str = "auto") -> None:
        self.path = check_path(path, "path")
        try:  # a bad placeholder fails here, not at the first save
            self.path.format(step=0, epoch=0)
        except (KeyError, IndexError, ValueError) as error:
            raise ValueError(f"path {self.path!r} is not a valid template ({error!r}): it may "
                             "contain {step} and {epoch}, and {{ }} for literal braces.") from None
        self.every = check_positive_int(every, "every", allow_none=True)
        self.save_best_only = check_bool(save_best_only, "save_best_only")
        self.monitor = monitor
        self.save_weights_only = check_bool(save_weights_only, "save_weights_only")
        self.mode = check_mode(mode)
        self.best = math.inf
        self.saved: list[str] = []  # the paths written, in order

    def on_train_begin(self, logs):
        # the direction matters only when saving the best: no mode needed otherwise
        self._direction = resolve_mode(self.mode, self.monitor, self.trainer.metrics) \
            if self.save_best_only else "min"
        self.best = math.inf if self._direction == "min" else -math.inf
        self.saved = []

    def get_state(self):
        return {"best": self.best, "saved": self.saved}

    def set_state(self, state):
        self.best, self.saved = state["best"], list(state["saved"])

    def on_step_end(self, step, logs):
        if self.every is not None and (step + 1) % self.every == 0:
            self._save(logs)

    def on_epoch_end(self, epoch, logs):
        if self.every is None:
            self._save(logs)

    def _save(self, logs) -> None:
        if self.save_best_only:
            if self.monitor not in logs:
                raise ValueError(
                    f"ModelCheckpoint monitor={self.monitor!r} is not in the logs {sorted(logs)}; "
                    "'val_loss' needs validation_data and every=None."
                )
            if not improved(logs[self.monitor], self.best, self._direction):
                return
            self.best = logs[self.monitor]
        path = self.path.format(step=self.trainer.step, epoch=self.trainer.epoch)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.trainer.save_checkpoint(path)
        self.saved.append(path)
