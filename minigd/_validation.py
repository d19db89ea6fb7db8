"""Checks for user input, so mistakes get a clear message instead of a deep traceback.

Every check raises ``ValueError`` that names the argument, says what was wrong and
what is allowed. They run once, before training starts, never inside the step loop.
"""

from __future__ import annotations

import math
import os
import numbers
import sys

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
    # np.asarray would drop a mask and train on the hidden values. (Only a program that
    # imported numpy.ma can hold a masked array: not importing it here saves milliseconds.)
    if "numpy.ma" in sys.modules and np.ma.is_masked(value):
        raise ValueError(f"{name} is a masked array with masked values: drop them (keep the rows "
                         "where neither x nor y is masked) or fill them (.filled(value)) first.")
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
    """Validate inputs and targets: x of shape (n,) or (n, d), y of shape (n,) or (n, k).

    A column of targets, shape (n, 1), becomes shape (n,): a common, harmless form.
    """
    x = as_data_array(x, x_name)
    y = as_data_array(y, y_name)
    if x.ndim not in (1, 2):
        raise ValueError(
            f"{x_name} has shape {x.shape}: expected (n,) for one feature or (n, d) for d features."
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2):
        raise ValueError(f"{y_name} has shape {y.shape}: expected (n,) or (n, k), one row per example.")
    if len(x) != len(y):
        raise ValueError(
            f"{x_name} and {y_name} have different lengths ({len(x)} and {len(y)}): "
            "each example needs exactly one target."
        )
    return x, y


def check_validation_data(validation_data, model) -> tuple[np.ndarray, np.ndarray]:
    """``(x_val, y_val)`` checked like the training data, and against the model's inputs."""
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError(
            f"validation_data must be a pair (x_val, y_val), got {type(validation_data).__name__}."
        )
    x_val, y_val = check_xy(*validation_data, x_name="validation_data x", y_name="validation_data y")
    model.check_input(x_val)
    return x_val, y_val


def check_model_contract(model, loss, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Check, once before training, what every step relies on; ValueError if it does not hold.

    * the model has parameters and takes ``x``;
    * ``forward`` returns one prediction per example, which the loss accepts with ``y``;
    * ``forward`` computes with its ``params`` argument, not with ``self.params`` (which
      would make "numeric" gradients all 0 and the run silently stand still).

    Args:
        model: the model, built.
        loss: the loss it will train with.
        x: one batch of inputs.
        y: their targets.

    Returns:
        the model's predictions for ``x``.
    """
    name = type(model).__name__
    if not model.params:
        raise ValueError(
            f"{name} has no parameters to train: declare them with "
            "super().__init__(name=initial_value, ...) or self.add_param(name, value)."
        )
    model.check_input(x)
    y_pred = _forward(model, dict(model.params), x)
    if y_pred.ndim == 0 or len(y_pred) != len(x):
        raise ValueError(
            f"{name}.forward returned shape {y_pred.shape} for x of shape {x.shape}: it must "
            f"return one prediction per example, shape ({len(x)},) or ({len(x)}, k)."
        )
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # data too large: the run says so, in words
            loss(y, y_pred)
    except ValueError as error:
        raise ValueError(f"{type(loss).__name__} cannot compare y of shape {y.shape} with "
                         f"{name}'s predictions of shape {y_pred.shape}: {error}") from None
    for param in model.params:
        _check_forward_uses(model, param, x, y_pred)
    return y_pred


def check_targets(loss, y: np.ndarray, y_pred: np.ndarray, name: str) -> None:
    """ValueError unless ``loss`` accepts every target in ``y`` (e.g. class labels in
    range), not only the first batch's, before the first step.

    ``y_pred`` are one batch's predictions: every example's has the same shape, so its
    first row, repeated without a copy, stands in for all of them, and no forward pass
    over all the data is needed.
    """
    stand_in = np.broadcast_to(y_pred[:1], (len(y), *y_pred.shape[1:]))
    try:
        loss.check(y, stand_in)
    except ValueError as error:
        raise ValueError(f"{name}: {error}") from None


def _forward(model, params, x) -> np.ndarray:
    try:
        return np.asarray(model.forward(params, x), dtype=np.float64)
    except Exception as error:  # a user's forward: say whose it is and on what it failed
        raise ValueError(f"{type(model).__name__}.forward failed on x of shape {x.shape} with its "
                         f"parameters {_shapes(params)}: {type(error).__name__}: {error}") from error


def _check_forward_uses(model, param: str, x: np.ndarray, y_pred: np.ndarray) -> None:
    """Raise if the predictions follow ``self.params[param]`` instead of the ``params`` argument."""
    original = model.params[param]
    moved = original + 0.5 + 0.25 * np.abs(original)  # moves every element, whatever its value
    if not np.array_equal(_forward(model, {**model.params, param: moved}, x), y_pred):
        return  # the argument matters: as it should
    try:
        model.params[param] = moved
        follows_self = not np.array_equal(_forward(model, dict(model.params, **{param: original}), x), y_pred)
    finally:
        model.params[param] = original
    if follows_self:
        raise ValueError(
            f"{type(model).__name__}.forward reads self.params[{param!r}] instead of its params "
            f"argument: write params[{param!r}]. Gradient providers pass changed or traced "
            "parameters through that argument."
        )


def _shapes(params) -> str:
    return "{" + ", ".join(f"{name!r}: shape {np.shape(value)}" for name, value in params.items()) + "}"


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


def check_seed(value, name: str = "seed") -> int | None:
    """Return ``value`` if it is None or a whole number >= 0 (what numpy's generators take),
    else raise ValueError.

    Examples:
        >>> check_seed(0), check_seed(None)
        (0, None)
    """
    if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Integral)
                              or value < 0):
        raise ValueError(f"{name} must be a whole number >= 0 or None, got {value!r}.")
    return value


def check_path(value, name: str) -> str:
    """Return ``value`` as a str if it names a file (a str or an os.PathLike), else raise
    ValueError."""
    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ValueError(f"{name} must be a file path (a non-empty str or pathlib.Path), got {value!r}.")
    return os.fspath(value)


def check_stream(stream, name: str = "stream"):
    """Return ``stream`` if it is None or has a ``write`` method (a file, ``sys.stdout``,
    ``io.StringIO()``), else raise ValueError: a file *name* here would fail only at the
    first line written, in the middle of a run."""
    if stream is not None and not callable(getattr(stream, "write", None)):
        raise ValueError(f"{name} must be an open text stream such as sys.stdout or "
                         f"open('log.txt', 'w') (or None), got {stream!r}.")
    return stream


def check_bool(value, name: str) -> bool:
    """Return ``value`` if it is True or False (numpy's too), else raise ValueError.

    Examples:
        >>> check_bool(True, "shuffle")
        True
    """
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}.")
    return bool(value)
