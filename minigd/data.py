"""Synthetic data: noisy points around a known line, the way the seed article samples them."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ._validation import check_positive_int, check_real


def make_linear_data(n: int = 1000, w: float | Sequence[float] = 1.915, b: float = 0.915, noise: float = 0.1,
                     low: float = -10.0, high: float = 10.0,
                     seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points from ``y = w*x + b + N(0, noise**2)`` with ``x ~ U(low, high)``.

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

    Example:
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

    rng = np.random.default_rng(seed)
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


def read_csv(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Read ``x`` and ``y`` from a CSV file of numbers; the last column is y.

    Two columns give x of shape (n,); more give x of shape (n, d). A first row that is
    not all numbers is taken as a header and skipped. Blank lines are ignored.

    Raises:
        DataFileError: (a ValueError) naming the file, and the line where it applies,
            for a missing or unreadable file, an empty file, a single column, rows of
            different lengths, a cell that is not a number, or NaN/infinity.

    Example:
        ``x, y = read_csv("points.csv")`` for a file with lines like ``0.5,1.87``.
    """
    rows, width = [], None
    for line_number, cells in _csv_rows(path):
        numbers = [_parse_cell(cell) for cell in cells]
        if width is None and None in numbers:
            width = len(cells)  # a header: skip it, but data rows must match its width
            continue
        if width is None:
            width = len(cells)
        if len(cells) != width:
            raise DataFileError(
                f"{path}, line {line_number}: {len(cells)} column(s), but the file started with {width}."
            )
        for column, (cell, number) in enumerate(zip(cells, numbers), start=1):
            if number is None:
                raise DataFileError(
                    f"{path}, line {line_number}, column {column}: {cell.strip()!r} is not a number."
                )
            if not np.isfinite(number):
                raise DataFileError(
                    f"{path}, line {line_number}, column {column}: {cell.strip()!r} is not finite; "
                    "remove or fill NaN and infinite values."
                )
        rows.append(numbers)
    if not rows:
        raise DataFileError(f"{path} has no rows of numbers: it must hold lines like 'x,y'.")
    if width < 2:
        raise DataFileError(
            f"{path} has 1 column: it needs at least 2 (inputs, then y in the last column)."
        )
    table = np.array(rows, dtype=np.float64)
    x = table[:, 0] if width == 2 else table[:, :-1]
    # columns of a row-major table are strided views; contiguous copies make every
    # pass over the data during training faster
    return np.ascontiguousarray(x), np.ascontiguousarray(table[:, -1])


def _csv_rows(path):
    """Yield (line number, cells) for each non-blank line of a CSV file."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8-sig") as file:  # -sig: Excel's BOM
            for line_number, cells in enumerate(csv.reader(file), start=1):
                if any(cell.strip() for cell in cells):
                    yield line_number, cells
    except FileNotFoundError:
        raise DataFileError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise DataFileError(f"{path} is a folder, not a CSV file.") from None
    except UnicodeDecodeError:
        raise DataFileError(f"{path} is not a text (UTF-8) CSV file.") from None
    except (OSError, csv.Error) as error:
        raise DataFileError(f"{path} cannot be read: {error}") from None


def _parse_cell(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None
