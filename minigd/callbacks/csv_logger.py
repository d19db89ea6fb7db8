"""CSVLogger: one row per epoch in a CSV file, as Keras writes it."""

from __future__ import annotations

import csv
import os
from typing import IO, Any

from .base import Callback


class CSVLogger(Callback):
    """Writes each epoch's logs as a row of a CSV file: a header ``epoch,<keys>``, then rows.

    The keys are those of the first epoch's logs, sorted (``learning_rate``, ``loss``,
    metrics, ``val_*``), as Keras's ``CSVLogger`` writes them; a key missing later is
    written ``NA``. Each row is flushed as it is written, so the file is readable while
    the run goes on and holds every finished epoch if it is cut short.

    The file is opened at the first row, not at the start: with ``append=False`` an
    existing file is replaced only once the new run has a row to put in it, so a run
    that fails before its first epoch ends leaves yesterday's log intact. With
    ``append=True`` rows go to the end of the file, under a header only if the file was
    empty. A run resumed from a checkpoint cuts the file back to the rows written when
    the checkpoint was taken, then continues it, so no epoch appears twice.

    Args:
        filename: the CSV file.
        separator: the one character between fields.
        append: add to an existing file instead of replacing it.

    Examples:
        >>> import os, tempfile
        >>> import minigd as mg
        >>> from minigd.callbacks.csv_logger import CSVLogger
        >>> path = os.path.join(tempfile.mkdtemp(), "log.csv")
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[CSVLogger(path)])
        >>> _ = trainer.fit(mg.Linear(), x, y, epochs=3, validation_data=(x, y))
        >>> print(open(path).read().splitlines()[0])
        epoch,learning_rate,loss,val_loss
        >>> len(open(path).read().splitlines())
        4
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",", append: bool = False) -> None:
        if not (isinstance(separator, str) and len(separator) == 1 and separator not in '"\r\n'):
            raise ValueError(f"separator must be one character (not a quote or newline), got {separator!r}.")
        self.filename = os.fspath(filename)
        self.separator, self.append = separator, append
        self.keys: list[str] | None = None
        self._file: IO[str] | None = None
        self._writer: Any = None
        self._resume_at: int | None = None  # file size to cut back to, when resuming

    def on_train_begin(self, logs):
        self.keys, self._resume_at = None, None

    def on_epoch_end(self, epoch, logs):
        if self._file is None:
            self._open(logs)
        self._writer.writerow([epoch, *(_cell(logs.get(key, "NA")) for key in self.keys)])
        self._file.flush()  # a row per epoch costs one write; readers see it at once

    def on_train_end(self, logs):
        if self._file is not None:
            self._file.close()
            self._file = self._writer = None

    def _open(self, logs) -> None:
        if self._resume_at is not None:  # a resumed run: cut back, then continue the file
            self._file = open(self.filename, "r+", encoding="utf-8", newline="")
            self._file.truncate(self._resume_at)
            self._file.seek(self._resume_at)
        else:
            self.keys = sorted(logs)
            mode = "a" if self.append else "w"
            self._file = open(self.filename, mode, encoding="utf-8", newline="")
        self._writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")
        if self._file.tell() == 0:  # a new or empty file gets a header
            self._writer.writerow(["epoch", *self.keys])

    def get_state(self) -> dict[str, Any]:
        """The columns and how much of the file is written, for checkpoints."""
        written = self._file.tell() if self._file is not None else None
        return {"keys": self.keys, "written": written}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue a checkpointed run: later rows go after the ones written by then."""
        self.keys = state["keys"]
        if state["written"] is not None and os.path.exists(self.filename) \
                and os.path.getsize(self.filename) >= state["written"]:
            self._resume_at = state["written"]


def _cell(value: Any) -> Any:
    # repr-exact floats: float("0.1") reads back the very number that was logged
    return repr(float(value)) if isinstance(value, float) else value
