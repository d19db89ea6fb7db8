"""CSVLogger: one row per epoch in a CSV file, as Keras writes it."""

from __future__ import annotations

import csv
import hashlib
import io
import os
from typing import IO, Any

from .._validation import check_bool, check_path
from ..files import check_writable
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
    empty; a file with another header is refused (its columns would not match), and a
    last line without its newline gets one first. A run resumed from a checkpoint cuts
    the file back to the rows written when the checkpoint was taken, then continues it,
    so no epoch appears twice, but only if the file still begins with exactly those
    bytes: any other file is refused, never cut.

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
        self.filename = check_path(filename, "filename")
        check_writable(self.filename, "CSVLogger filename")  # a folder, or one that does not exist
        self.separator, self.append = separator, check_bool(append, "append")
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
            ends_without_newline = self.append and self._check_file_to_append()
            self._file = open(self.filename, "a" if self.append else "w", encoding="utf-8", newline="")
            if ends_without_newline:
                self._file.write("\n")
        self._writer = csv.writer(self._file, delimiter=self.separator, lineterminator="\n")
        if self._file.tell() == 0:  # a new or empty file gets a header
            self._writer.writerow(["epoch", *self.keys])

    def _header(self) -> str:
        line = io.StringIO()
        csv.writer(line, delimiter=self.separator, lineterminator="").writerow(["epoch", *self.keys])
        return line.getvalue()

    def _check_file_to_append(self) -> bool:
        """ValueError if the file to append to has another header; whether its last line
        lacks a newline (the next row would be glued to it)."""
        if not os.path.exists(self.filename) or os.path.getsize(self.filename) == 0:
            return False
        with open(self.filename, "rb") as file:
            first = file.readline().decode("utf-8", "replace").rstrip("\r\n")
            file.seek(-1, os.SEEK_END)
            last = file.read(1)
        if first != self._header():
            raise ValueError(f"CSVLogger cannot append to {self.filename}: its header is {first!r}, "
                             f"this run writes {self._header()!r}. Give another filename, or "
                             "append=False to replace the file.")
        return last != b"\n"

    def get_state(self) -> dict[str, Any]:
        """The columns, how much of the file is written and a hash of it, for checkpoints."""
        written = self._file.tell() if self._file is not None else None
        return {"keys": self.keys, "written": written, "digest": self._digest(written)}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue a checkpointed run: later rows go after the ones written by then, in
        the very file this run wrote (ValueError for any other, which is left as it is)."""
        self.keys = state["keys"]
        written = state["written"]
        if written is None or not os.path.exists(self.filename):
            return  # no rows yet, or no file: start it afresh
        expected = state.get("digest")  # None in checkpoints of minigd 0.2.0: the size alone
        if os.path.getsize(self.filename) < written or expected not in (None, self._digest(written)):
            raise ValueError(f"CSVLogger will not cut {self.filename}: it does not begin with the "
                             f"{written} bytes this run had written when the checkpoint was saved. "
                             "Give the filename that run used, or another one.")
        self._resume_at = written

    def _digest(self, size: int | None) -> str | None:
        """SHA-256 of the file's first ``size`` bytes (a log of epochs: small)."""
        if size is None:
            return None
        if self._file is not None:
            self._file.flush()
        with open(self.filename, "rb") as file:
            return hashlib.sha256(file.read(size)).hexdigest()


def _cell(value: Any) -> Any:
    # repr-exact floats: float("0.1") reads back the very number that was logged
    return repr(float(value)) if isinstance(value, float) else value
