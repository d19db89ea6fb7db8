"""Checks for user input, so mistakes get a clear message instead of a deep traceback.

Every check raises ``ValueError`` that names the argument, says what was wrong and
what is allowed. They run once, before training starts, never inside the step loop.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


def as_data_array(value, name: str) -> np.ndarray:
    """Return ``value`` as a finite, non-empty float64 array, or raise ValueError.

    Args:
        value: array-like of real numbers (a list, tuple or numpy array).
        name: the argument's name, used in the error message.
    """
    if value is None:
        raise ValueError(f"{name} is None: pass an array of real numbers.")
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} is a string: pass an array of real numbers.")
    try:
        array = np.asarray(value)
    except ValueError as error:  # numpy refuses ragged nested lists
        raise ValueError(
            f"{name} is ragged (rows of different lengths): pass a rectangular array "
            "of real numbers."
        ) from error
    if array.dtype == object:
        raise ValueError(
            f"{name} holds Python objects (ragged rows or mixed types): pass a "
            "rectangular array of real numbers."
        )
    if np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} holds complex numbers: only real numbers are allowed.")
    if array.dtype == bool or not np.issubdtype(array.dtype, np.number):
        raise ValueError(
            f"{name} has dtype {array.dtype}: only real numbers (int or float) are allowed."
        )
    if array.size == 0:
        raise ValueError(f"{name} is empty: training needs at least one example.")
    array = array.astype(np.float64, copy=False)
    if not np.isfinite(array).all():
        bad = np.flatnonzero(~np.isfinite(array.ravel()))
        raise ValueError(
            f"{name} contains {len(bad)} NaN or infinite value(s) (first at flat index "
            f"{bad[0]}): all values must be finite."
        )
    return array


def check_xy(x, y, x_name: str = "x", y_name: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Validate a pair of inputs/targets: x of shape (n,) or (n, d), y of shape (n,)."""
    x = as_data_array(x, x_name)
    y = as_data_array(y, y_name)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"{x_name} has shape {x.shape}: expected (n,) for one feature or (n, d) for d features."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # a column vector of targets is a common, harmless form
    if y.ndim != 1:
        raise ValueError(f"{y_name} has shape {y.shape}: expected (n,), one target per example.")
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} have different lengths ({len(x)} and {len(y)}): "
            "each example needs exactly one target."
        )
    return x, y


def check_positive_int(value, name: str, *, allow_none: bool = False) -> int | None:
    """Return ``value`` as an int if it is a whole number >= 1, else raise ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be a whole number >= 1, got {value!r}.")
    if value < 1:
        raise ValueError(f"{name} must be a whole number >= 1, got {value}.")
    return int(value)


def check_real(value, name: str, *, low: float, high: float = math.inf,
               low_inclusive: bool = False) -> float:
    """Return ``value`` as a float if it is a finite number in (low, high), or [low, high)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    above_low = value >= low if low_inclusive else value > low
    if not (math.isfinite(value) and above_low and value < high):
        left = "[" if low_inclusive else "("
        raise ValueError(f"{name} must be a finite number in {left}{low}, {high}), got {value}.")
    return value
