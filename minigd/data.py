"""Synthetic data: noisy points around a known line, the way the seed article samples them."""

from __future__ import annotations

import numpy as np

from ._validation import check_positive_int, check_real


def make_linear_data(n: int = 1000, w=1.915, b: float = 0.915, noise: float = 0.1,
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
        low, high: range of the uniform x values.
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
