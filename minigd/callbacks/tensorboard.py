"""TensorBoard: the run's scalars as TensorBoard event files, laid out as Keras lays them out."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from .._validation import check_positive_int
from .base import Callback


class TensorBoard(Callback):
    """Writes the loss, metrics and learning rate as TensorBoard scalars, per step and per epoch.

    As Keras does, training values go to ``log_dir/train`` and validation values to
    ``log_dir/validation`` under the same tag (``val_loss`` is ``epoch_loss`` there), so
    TensorBoard draws the two curves on one chart. Tags: ``batch_loss`` and
    ``batch_learning_rate`` (x axis: the step), ``epoch_loss``, ``epoch_learning_rate`` and
    ``epoch_<metric>`` (x axis: the epoch). View them with ``tensorboard --logdir LOG_DIR``.

    Needs TensorFlow and TensorBoard (``pip install 'minigd[tensorboard]'``); TensorFlow
    is imported when the run starts.

    Args:
        log_dir: the folder for the event files (made if missing).
        update_freq: write the step scalars every this many steps (1: every step).
            Each write costs tens of microseconds, more than a small model's step.

    Examples:
        >>> import os, tempfile
        >>> import minigd as mg
        >>> from minigd.callbacks.tensorboard import TensorBoard
        >>> log_dir = tempfile.mkdtemp()
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[TensorBoard(log_dir)])
        >>> _ = trainer.fit(mg.Linear(), x, y, epochs=2, validation_data=(x, y))
        >>> sorted(os.listdir(log_dir))
        ['train', 'validation']
    """

    def __init__(self, log_dir: str | os.PathLike, update_freq: int = 1) -> None:
        # fail here, with advice, not in the middle of fit (tf.summary.scalar lives in tensorboard)
        if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("tensorboard") is None:
            raise ImportError("The TensorBoard callback needs TensorFlow and TensorBoard: "
                              "pip install 'minigd[tensorboard]'")
        self.log_dir = os.fspath(log_dir)
        self.update_freq = check_positive_int(update_freq, "update_freq")
        self._writers: dict[str, Any] = {}

    def on_train_begin(self, logs):
        from ..tape import import_tensorflow

        self._tf = import_tensorflow()
        self._writers = {}

    def _writer(self, name: str):
        # made on first use, so a run without validation data has no empty "validation" folder
        if name not in self._writers:
            self._writers[name] = self._tf.summary.create_file_writer(os.path.join(self.log_dir, name))
        return self._writers[name]

    def on_step_end(self, step, logs):
        if step % self.update_freq == 0:
            self._write("train", step, {f"batch_{key}": logs[key] for key in ("loss", "learning_rate")
                                        if key in logs})

    def on_epoch_end(self, epoch, logs):
        train = {f"epoch_{key}": value for key, value in logs.items() if not key.startswith("val_")}
        validation = {f"epoch_{key[4:]}": value for key, value in logs.items() if key.startswith("val_")}
        self._write("train", epoch, train)
        if validation:
            self._write("validation", epoch, validation)
        for writer in self._writers.values():
            writer.flush()  # a TensorBoard watching the folder sees each epoch as it ends

    def on_train_end(self, logs):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}

    def _write(self, writer: str, step: int, scalars: dict[str, float]) -> None:
        with self._writer(writer).as_default():
            for tag, value in scalars.items():
                self._tf.summary.scalar(tag, float(value), step=step)
