"""Data: noisy points around a known line (as the seed article samples them), and CSV files."""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from ._validation import check_positive_int, check_real, check_seed


def make_linear_data(n: int = 1000, w: float | Sequence[float] = 1.915, b: float = 0.915, noise: float = 0.1,
                     low: float = -10.0, high: float = 10.0,
                     seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Sample ``n`` points from $y = wx + b + \mathcal{N}(0, \text{noise}^2)$ with $x \sim U(\text{low}, \text{high})$.

    The noise plays the part of measurement error: without it any two points would give
    the line exactly, and there would be nothing to learn.

    Args:
        n: number of points.
        w: true slope; a sequence of d slopes gives x of shape (n, d) and
            ``y = x @ w + b + noise``.
        b: true intercept.
        noise: standard deviation of the Gaussian noise (0 for exact points).
        low: smallest x value.
        high: x values stay below this.
        seed: the same seed gives the same data; None draws fresh randomness.

    Returns:
        ``(x, y)``: float64 arrays, x of shape (n,) (or (n, d)), y of shape (n,).

    Examples:
        >>> x, y = make_linear_data(n=3, seed=0)
        >>> x.shape, y.shape
        ((3,), (3,))
    """
    n = check_positive_int(n, "n")
    b = check_real(b, "b", low=-np.inf)
    noise = check_real(noise, "noise", low=0.0, low_inclusive=True)
    low = check_real(low, "low", low=-np.inf)
    high = check_real(high, "high", low=low)
    true_w = np.asarray(w, dtype=np.float64)
    if true_w.ndim > 1 or not np.isfinite(true_w).all():
        raise ValueError(f"w must be a finite number or a 1-D sequence of numbers, got {w!r}.")

    rng = np.random.default_rng(check_seed(seed))
    if true_w.ndim == 0:
        x = rng.uniform(low, high, size=n)
        y = true_w * x + b
    else:
        x = rng.uniform(low, high, size=(n, true_w.size))
        y = x @ true_w + b
    y = y + rng.normal(0.0, noise, size=n)
    return x, y


class DataFileError(ValueError):
    """A data file that cannot be read; the message names the file (and line)."""


def read_csv(path: str | os.PathLike,
             progress: Callable[[int, int], object] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read ``x`` and ``y`` from a CSV file of numbers; the last column is y.

    Two columns give x of shape (n,); more give x of shape (n, d). The file is read in
    pieces, so a big file needs memory for the numbers, not for its text.

    What the file may look like (see the "Data files" guide):

    * the separator is found from the first lines: ``;``, tab, ``,`` or spaces;
    * a first row of names (text, and no numbers) is a header, and is skipped;
    * ``#`` starts a comment, to the end of the line; blank lines, and lines of only
      separators (a spreadsheet's empty row), are skipped; line numbers in errors
      are still the file's own;
    * one separator at the end of a row (Excel writes them) is ignored, unless the
      header names a column there; any other empty cell is an error;
    * numbers use a decimal point: ``2,5`` is refused with a hint, never read as 2.5.

    A first column that counts 0, 1, 2, ... (a row index, as pandas writes unless
    ``index=False``) is read as data, with a warning.

    Args:
        path: the CSV file; it must be an ordinary file (not a pipe or a device).
        progress: called as ``progress(bytes_read, total_bytes)`` as the file is read,
            e.g. to show a progress bar for big files.

    Returns:
        ``(x, y)``: contiguous float64 arrays.

    Raises:
        DataFileError: (a ValueError) naming the file, and the line and column where
            they apply: a missing, unreadable or non-text file, no rows of numbers, a
            single column, rows of different lengths, an empty cell, a cell that is
            not a number (decimal commas pointed out), or NaN/infinity.

    Examples:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "points.csv")
        >>> with open(path, "w") as file:
        ...     _ = file.write("x;y\\n# measured on Monday\\n0.5;1.87\\n1.0;2.83\\n")
        >>> read_csv(path)
        (array([0.5, 1. ]), array([1.87, 2.83]))
    """
    if progress is not None and not callable(progress):
        raise ValueError(f"progress must be a function(bytes_read, total_bytes) or None, got {progress!r}.")
    bytes_read = 0
    with _open_csv(path) as (stream, total_bytes):
        try:
            layout, head_rows, next_line = _read_head(path, stream)
            tables = [head_rows]
            for first_line, text in _chunks(path, stream, next_line):
                tables.append(_parse_chunk(path, first_line, text, layout))
                bytes_read = min(stream.buffer.tell(), total_bytes)
                if progress is not None:
                    progress(bytes_read, total_bytes)
        except UnicodeDecodeError:
            raise DataFileError(f"{path} is not a text (UTF-8) CSV file.") from None
        except OSError as error:
            raise DataFileError(f"{path} cannot be read: {error}") from None
    if progress is not None and bytes_read < total_bytes:  # a small file: all read with the head
        progress(total_bytes, total_bytes)
    # x and y are gathered column by column: concatenating the pieces makes them contiguous
    # without first building the whole table
    x = np.concatenate([table[:, 0] if layout.columns == 2 else table[:, :-1] for table in tables])
    y = np.concatenate([table[:, -1] for table in tables])
    _warn_if_row_index(path, x if x.ndim == 1 else x[:, 0], layout)
    return x, y


# -- reading the file ------------------------------------------------------------------

_HEAD_LINES = 5            # the lines (with something in them) that decide the layout
_CHUNK_CHARS = 1 << 20     # characters parsed at a time after them
_MAX_LINE_CHARS = 1 << 20  # a longer "line" means this is not a CSV file of numbers


@contextlib.contextmanager
def _open_csv(path) -> Iterator[tuple[io.TextIOWrapper, int]]:
    """(text stream, size in bytes) of an ordinary UTF-8 file; DataFileError otherwise."""
    from .files import open_regular  # zipfile and friends load only when a file is read

    try:
        binary = open_regular(path, "CSV file")
    except (OSError, ValueError) as error:
        raise DataFileError(str(error)) from None
    total_bytes = os.fstat(binary.fileno()).st_size
    # utf-8-sig drops Excel's byte-order mark; newline=None turns \r\n and \r into \n
    with io.TextIOWrapper(binary, encoding="utf-8-sig", newline=None) as stream:
        yield stream, total_bytes


def _chunks(path, stream, first_line: int) -> Iterator[tuple[int, str]]:
    """(number of the first line, text of whole lines) for each piece of the rest of the file."""
    line_number, rest = first_line, ""
    while piece := stream.read(_CHUNK_CHARS):
        text = rest + piece
        end = text.rfind("\n") + 1
        text, rest = text[:end], text[end:]
        if len(rest) > _MAX_LINE_CHARS:
            raise DataFileError(f"{path}, line {line_number}: a line of over a million characters; "
                                "this is not a CSV file of numbers.")
        if text:
            yield line_number, text
            line_number += text.count("\n")
    if rest:
        yield line_number, rest + "\n"


# -- the layout: separator, header, columns -------------------------------------------

class _Layout(NamedTuple):
    """How the file is laid out, decided from its first lines."""

    delimiter: str | None  # None: runs of spaces and tabs
    columns: int
    header: list[str] | None


_SEPARATORS = (";", "\t", ",", None)  # when several fit the file, the first wins
_DECIMAL_COMMA = re.compile(r"[+-]?\d[\d.]*,\d+(?:[eE][+-]?\d+)?")


def _read_head(path, stream) -> tuple[_Layout, np.ndarray, int]:
    """Read the first lines; return the layout, their rows of numbers, the next line's number."""
    head, line_number = [], 0
    while len(head) < _HEAD_LINES and (line := stream.readline(_MAX_LINE_CHARS)):
        line_number += 1
        if len(line) == _MAX_LINE_CHARS and not line.endswith("\n"):
            raise DataFileError(f"{path}, line {line_number}: a line of over a million characters; "
                                "this is not a CSV file of numbers.")
        text = _without_comment(line.rstrip("\n"))
        if not _is_blank(text):
            head.append((line_number, text))
    if not head:
        raise DataFileError(f"{path} has no rows of numbers: it must hold lines like 'x,y'.")
    delimiter = _sniff([text for _, text in head])
    first = _cells(path, *head[0], delimiter)
    header = first if _is_header(first) else None
    columns = len(_without_trailing_empty(header or first))
    layout = _Layout(delimiter, columns, header)
    rows = _parse_lines(path, head[1:] if header else head, layout)
    if not len(rows):
        raise DataFileError(f"{path} has no rows of numbers: it must hold lines like 'x,y'.")
    if columns < 2:
        raise DataFileError(
            f"{path} has 1 column: it needs at least 2 (inputs, then y in the last column)."
        )
    return layout, rows, line_number + 1


def _sniff(lines: list[str]) -> str | None:
    """The separator that splits the lines into numbers (the first line may be a header)."""
    sample = lines[1:] or lines
    fits = {delimiter: sum(_splits_into_numbers(text, delimiter) for text in sample)
            for delimiter in _SEPARATORS}
    best = max(_SEPARATORS, key=fits.get)  # max keeps the first of equals
    if fits[best]:
        return best
    return next((delimiter for delimiter in _SEPARATORS[:-1] if delimiter in sample[0]), None)


def _splits_into_numbers(text: str, delimiter: str | None) -> bool:
    """True if ``text`` splits into 2 or more cells, each a number (decimal comma or not) or empty."""
    try:
        cells = [cell.strip() for cell in _split(text, delimiter)]
    except ValueError:
        return False
    numbers = [cell for cell in cells if cell]
    return len(numbers) >= 2 and all(
        _number(cell) is not None or _DECIMAL_COMMA.fullmatch(cell) for cell in numbers
    )


def _without_trailing_empty(cells: list[str]) -> list[str]:
    return cells[:-1] if len(cells) > 1 and not cells[-1].strip() else cells


def _is_header(cells: list[str]) -> bool:
    """A first row is a header if a cell is text (neither empty, nor a number, nor
    2,5-like) and no cell is a number: ``1,N/A`` is a row of data with a bad cell, which
    is reported, not skipped as a header."""
    text = any(cell.strip() and _number(cell) is None and not _DECIMAL_COMMA.fullmatch(cell.strip())
               for cell in cells)
    return text and not any(_number(cell) is not None for cell in cells)


# -- the precise (slow) path: one line at a time ---------------------------------------

def _parse_lines(path, numbered_lines, layout: _Layout) -> np.ndarray:
    """The rows of numbers of (line number, text) pairs; DataFileError at the first problem."""
    rows = []
    for line_number, text in numbered_lines:
        text = _without_comment(text)
        if not _is_blank(text):
            cells = _cells(path, line_number, text, layout.delimiter)
            rows.append(_row(path, line_number, cells, layout.columns))
    return np.array(rows, dtype=np.float64).reshape(-1, layout.columns)


def _row(path, line_number: int, cells: list[str], columns: int) -> list[float]:
    """The numbers of one row of ``columns`` cells; DataFileError naming the line and column."""
    if len(cells) == columns + 1 and not cells[-1].strip():
        cells = cells[:-1]  # a separator at the end of the line, as Excel writes them
    if len(cells) != columns:
        raise DataFileError(
            f"{path}, line {line_number}: {len(cells)} column(s), but the file started with {columns}."
        )
    return [_cell_number(path, line_number, column, cell) for column, cell in enumerate(cells, start=1)]


def _cell_number(path, line_number: int, column: int, cell: str) -> float:
    where = f"{path}, line {line_number}, column {column}"
    cell = cell.strip()
    if not cell:
        raise DataFileError(f"{where}: the cell is empty; every row needs a number in every column.")
    number = _number(cell)
    if number is None and _DECIMAL_COMMA.fullmatch(cell):
        with_point = cell.replace(".", "").replace(",", ".")
        raise DataFileError(
            f"{where}: {cell!r} is not a number; it looks like decimal commas: minigd needs a decimal "
            f"point ({with_point}), e.g. export the spreadsheet with '.' as the decimal separator."
        )
    if number is None:
        raise DataFileError(f"{where}: {cell!r} is not a number.")
    if not math.isfinite(number):
        raise DataFileError(f"{where}: {cell!r} is not finite; remove or fill NaN and infinite values.")
    return number


def _cells(path, line_number: int, text: str, delimiter: str | None) -> list[str]:
    try:
        return _split(text, delimiter)
    except ValueError as error:
        raise DataFileError(f"{path}, line {line_number}: cannot be split into cells ({error}).") from None


def _split(text: str, delimiter: str | None) -> list[str]:
    """The cells of a line; quotes ("2.5") are understood. ValueError for a broken line."""
    if delimiter is None:
        return text.split()
    if '"' not in text:
        return text.split(delimiter)
    import csv

    try:
        return next(csv.reader([text], delimiter=delimiter))
    except csv.Error as error:
        raise ValueError(str(error)) from None


def _without_comment(text: str) -> str:
    return text.partition("#")[0]


def _is_blank(text: str) -> bool:
    """True for a line of nothing but spaces and separators: skipped like an empty line."""
    return not text.replace(",", "").replace(";", "").strip()


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


# -- the fast path: numpy's parser, a chunk at a time ----------------------------------

def _parse_chunk(path, first_line: int, text: str, layout: _Layout) -> np.ndarray:
    """The rows of a chunk of lines: fast if it is ordinary, precisely if anything is odd.

    The fast path only says yes or no; every error message comes from the precise path,
    so it is the same whichever path met the problem first.
    """
    table = _parse_fast(text, layout)
    if table is None:
        lines = enumerate(text.split("\n"), start=first_line)
        table = _parse_lines(path, lines, layout)
    return table


def _parse_fast(text: str, layout: _Layout) -> np.ndarray | None:
    """The chunk's rows, or None if numpy's parser fails or the numbers are odd."""
    if layout.delimiter is not None:
        text = text.replace(layout.delimiter + "\n", "\n")  # trailing separators, as _row drops them
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # numpy warns about a chunk of only comments
            table = np.loadtxt(io.StringIO(text), dtype=np.float64, delimiter=layout.delimiter,
                               comments="#", quotechar=None, ndmin=2)
    except ValueError:
        return None
    if not table.size:
        return np.empty((0, layout.columns))
    if table.shape[1] != layout.columns or not np.isfinite(table).all():
        return None
    return table


def _warn_if_row_index(path, first_column: np.ndarray, layout: _Layout) -> None:
    """Warn if the first column looks like a row index (0, 1, 2, ...) that pandas wrote."""
    n = len(first_column)
    start = first_column[0]
    if n < 3 or start not in (0.0, 1.0) or not np.array_equal(first_column, np.arange(start, start + n)):
        return
    empty_header_cell = layout.header is not None and not layout.header[0].strip()
    if layout.columns < 3 and not empty_header_cell:
        return  # x = 0, 1, 2, ... with one y is ordinary data (a time series)
    warnings.warn(
        f"{path}: the first column counts {start:g}, {start + 1:g}, {start + 2:g}, ..., which looks "
        "like a row index (pandas writes one unless to_csv(..., index=False)); it is read as an "
        "input feature. Delete that column if it is not data.",
        stacklevel=3,
    )
