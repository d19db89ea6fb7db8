"""Saving work safely: atomic .npz files, trainer checkpoints, and the ModelCheckpoint callback.

Two kinds of file, both plain ``.npz`` archives read without pickle:

* weights (``model.save_weights``): one array per parameter name;
* trainer checkpoints (``trainer.save_checkpoint``, ``ModelCheckpoint``): the parameters
  under ``param/<name>``, the optimizer's state under ``optimizer/<name>``, and the
  trainer's position (step, epoch, shuffling generator, history) as JSON under
  ``trainer``. ``model.load_weights`` reads either kind.

Every write goes to a temporary file in the same folder, which is then renamed over the
target: a crash mid-write leaves the previous file as it was.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import zipfile
from collections.abc import Mapping

import numpy as np

from ._validation import check_positive_int
from .callbacks import Callback

FORMAT = "minigd-checkpoint-1"


def atomic_savez(path, arrays: Mapping[str, np.ndarray]) -> None:
    """``np.savez`` to ``path`` through a temporary file in the same folder, then rename."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".minigd-", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **arrays)  # a file object: numpy adds no ".npz" suffix
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)  # atomic on POSIX and Windows
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def load_npz(path) -> dict[str, np.ndarray]:
    """Every array of a .npz file, without pickle; a damaged file gives ValueError."""
    path = os.fspath(path)
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise ValueError("it holds a single array, not named parameters")
        with archive:
            return {name: archive[name] for name in archive.files}
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as error:
        raise ValueError(f"{path} is not a readable minigd .npz file: {error}") from error


def weights_in(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The model parameters in a weights file or a trainer checkpoint."""
    if "trainer" not in arrays:
        return dict(arrays)
    return {name[len("param/"):]: value for name, value in arrays.items() if name.startswith("param/")}


def write_checkpoint(path, params: Mapping, optimizer_state: Mapping, state: Mapping) -> None:
    """Write a trainer checkpoint (see the module docstring for the layout)."""
    arrays = {f"param/{name}": value for name, value in params.items()}
    arrays.update({f"optimizer/{name}": value for name, value in optimizer_state.items()})
    # json writes floats with repr, which reads back bit for bit
    arrays["trainer"] = np.array(json.dumps({"format": FORMAT, **state}, default=float))
    atomic_savez(path, arrays)


def read_checkpoint(path) -> tuple[dict, dict, dict]:
    """``(params, optimizer_state, trainer_state)`` from a trainer checkpoint."""
    arrays = load_npz(path)
    if "trainer" not in arrays:
        raise ValueError(
            f"{path} holds model weights only, not a trainer checkpoint: resume needs a file "
            "from trainer.save_checkpoint or ModelCheckpoint(save_weights_only=False)."
        )
    try:
        state = json.loads(str(arrays["trainer"]))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: the trainer state is damaged ({error}).") from error
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file.")
    optimizer_state = {name[len("optimizer/"):]: value for name, value in arrays.items()
                       if name.startswith("optimizer/")}
    return weights_in(arrays), optimizer_state, state


class ModelCheckpoint(Callback):
    """Saves the run as it goes, atomically, so a crash never costs more than ``every`` steps.

    Args:
        path: file to write; may contain ``{step}`` and ``{epoch}`` (e.g.
            ``"run-{step}.npz"``) to keep one file per save.
        every: save every ``every`` steps; None saves at the end of every epoch.
        save_best_only: save only when ``monitor`` improved (went down) since the last save.
        monitor: the logs key to watch: ``"loss"`` (step or epoch logs) or ``"val_loss"``
            (epoch logs, so with ``every=None``).
        save_weights_only: write the model's weights only (``model.load_weights`` reads
            them) instead of a full trainer checkpoint (``fit(..., resume_from=path)``).

    Example:
        >>> checkpoint = ModelCheckpoint("run-{step}.npz", every=100)   # writes nothing yet
        >>> checkpoint.every
        100
    """

    def __init__(self, path: str | os.PathLike, every: int | None = None, save_best_only: bool = False,
                 monitor: str = "loss", save_weights_only: bool = False) -> None:
        self.path = os.fspath(path)
        self.every = check_positive_int(every, "every", allow_none=True)
        self.save_best_only = save_best_only
        self.monitor = monitor
        self.save_weights_only = save_weights_only
        self.best = math.inf
        self.saved: list[str] = []  # the paths written, in order

    def on_train_begin(self, logs):
        self.best = math.inf

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
            if not logs[self.monitor] < self.best:
                return
            self.best = logs[self.monitor]
        path = self.path.format(step=self.trainer.step, epoch=self.trainer.epoch)
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.trainer.save_checkpoint(path)
        self.saved.append(path)
