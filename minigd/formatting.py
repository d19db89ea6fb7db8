"""One way to show parameter values: in log lines, gradient tables, reprs and the CLI.

A scalar prints as the seed article's Python floats do (``1.9149...``), a small array
inline, and a large one as a one-line summary, so a log line stays a line whatever the
model's size.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: Arrays with more elements than this are summarised instead of printed whole.
MAX_SHOWN = 8


def format_value(value, digits: int | None = None) -> str:
    """A parameter (or gradient) value as text on one line.

    Args:
        value: a number or array.
        digits: significant digits to show; None shows a scalar in full, as Python
            prints a float, and arrays as numpy prints them.

    Examples:
        >>> format_value(np.array(1.915))
        '1.915'
        >>> format_value(np.array([1.0, 2.5]))
        '[1.  2.5]'
        >>> format_value(np.array(-70.48834534534534), digits=4)
        '-70.49'
        >>> format_value(np.arange(100.0).reshape(50, 2))
        'array(shape=(50, 2), norm=573, first=[0, 1, 2, ...])'
    """
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return str(float(array)) if digits is None else f"{float(array):.{digits}g}"
    if array.size <= MAX_SHOWN:
        # numpy's own style, as str() prints it, kept on one line
        return np.array2string(array, max_line_width=10**6, precision=digits).replace("\n", "")
    first = ", ".join(f"{v:.4g}" for v in array.flat[:3])
    return f"array(shape={array.shape}, norm={np.linalg.norm(array):.4g}, first=[{first}, ...])"


def format_params(params: Mapping, separator: str = ":") -> str:
    """``name:value`` pairs joined by ", ", as the seed's log lines show them.

    Examples:
        >>> format_params({"w": np.array(2.0), "b": np.array(0.5)})
        'w:2.0, b:0.5'
    """
    return ", ".join(f"{name}{separator}{format_value(value)}" for name, value in params.items())
