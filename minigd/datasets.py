"""Data for the lessons after the first: classes to separate and a curve a line cannot fit.

Each function is seeded like [`make_linear_data`][minigd.make_linear_data]: the same seed gives the
same arrays on any machine. ``n`` is always the number of points in all; the classes
share them as evenly as possible, and the rows come in random order so that any slice
(a mini-batch, a validation split) holds every class.
"""

from __future__ import annotations

import math

import numpy as np

from ._validation import check_positive_int, check_real, check_seed


def make_classification_data(n: int = 300, classes: int = 2, features: int = 2,
                             separation: float = 3.0, noise: float = 1.0,
                             seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points from ``classes`` Gaussian blobs, one blob per class.

    Class ``c``'s centre lies at distance ``separation`` from the origin, at the angle
    ``2*pi*c / classes`` in the plane of the first two features (0 in the others); with
    one feature the centres are spread evenly over ``[-separation, separation]``. Each
    point is its centre plus ``N(0, noise**2)`` in every feature::

        x = centre[label] + noise * N(0, I)

    A larger ``separation / noise`` gives classes that overlap less.

    Args:
        n: number of points in all.
        classes: number of classes, >= 2.
        features: number of input features, >= 1.
        separation: distance of each centre from the origin, >= 0.
        noise: standard deviation of the points around their centre, >= 0.
        seed: the same seed gives the same data; None draws fresh randomness.

    Returns:
        ``(x, labels)``: x float64 of shape (n, features), or (n,) for one feature;
        labels int64 of shape (n,), the class numbers 0 .. classes-1.

    Examples:
        >>> x, labels = make_classification_data(n=6, classes=3, seed=0)
        >>> x.shape, labels.shape, sorted(labels.tolist())
        ((6, 2), (6,), [0, 0, 1, 1, 2, 2])
    """
    n = check_positive_int(n, "n")
    classes = _check_classes(classes)
    features = check_positive_int(features, "features")
    separation = check_real(separation, "separation", low=0.0, low_inclusive=True)
    noise = check_real(noise, "noise", low=0.0, low_inclusive=True)

    rng = np.random.default_rng(check_seed(seed))
    labels = _balanced_labels(n, classes, rng)
    centres = _blob_centres(classes, features, separation)
    x = centres[labels] + rng.normal(0.0, noise, size=(n, features))
    return (x[:, 0] if features == 1 else x), labels


def make_spiral_data(n: int = 300, classes: int = 3, noise: float = 0.2,
                     seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sample ``n`` points on ``classes`` interleaved spiral arms (cs231n's spirals).

    No straight line separates the arms, so a linear classifier fails where a hidden
    layer succeeds. Along arm ``c``, ``m`` points (its share of ``n``) have radii ``r``
    evenly spaced over [0, 1] and angles ``t`` evenly spaced over [4c, 4(c+1)] radians,
    plus angular noise::

        t = linspace(4c, 4(c+1), m) + noise * N(0, 1)
        x = (r * sin(t), r * cos(t))

    With ``n=300, classes=3, noise=0.2`` these are the cs231n course notes' spirals
    (100 points per class there; here ``n`` counts the points of all classes).

    Args:
        n: number of points in all.
        classes: number of arms (classes), >= 2.
        noise: standard deviation of the angular noise in radians, >= 0.
        seed: the same seed gives the same data; None draws fresh randomness.

    Returns:
        ``(x, labels)``: x float64 of shape (n, 2); labels int64 of shape (n,), the
        class numbers 0 .. classes-1.

    Examples:
        >>> x, labels = make_spiral_data(n=300, seed=0)
        >>> x.shape, labels.shape, [int((labels == c).sum()) for c in range(3)]
        ((300, 2), (300,), [100, 100, 100])
        >>> bool(np.all(np.hypot(x[:, 0], x[:, 1]) <= 1.0))
        True
    """
    n = check_positive_int(n, "n")
    classes = _check_classes(classes)
    noise = check_real(noise, "noise", low=0.0, low_inclusive=True)

    rng = np.random.default_rng(check_seed(seed))
    labels = _balanced_labels(n, classes, rng)
    x = np.empty((n, 2))
    for arm in range(classes):
        rows = np.flatnonzero(labels == arm)
        m = len(rows)
        radius = np.linspace(0.0, 1.0, m)
        angle = np.linspace(4.0 * arm, 4.0 * (arm + 1), m) + rng.normal(0.0, noise, size=m)
        x[rows] = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return x, labels


def make_sine_data(n: int = 200, noise: float = 0.1, low: float = -math.pi, high: float = math.pi,
                   seed: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""Sample ``n`` points from $y = \sin x + \mathcal{N}(0, \text{noise}^2)$ with $x \sim U(\text{low}, \text{high})$.

    A curve that a straight line cannot fit: over one period even the best line is off
    by about 0.44 (root mean square), while a hidden layer of a few tanh units gets
    down to the noise.

    Args:
        n: number of points.
        noise: standard deviation of the Gaussian noise (0 for exact points).
        low: smallest x value.
        high: x values stay below this.
        seed: the same seed gives the same data; None draws fresh randomness.

    Returns:
        ``(x, y)``: float64 arrays of shape (n,).

    Examples:
        >>> x, y = make_sine_data(n=5, noise=0.0, seed=0)
        >>> x.shape, y.shape, bool(np.allclose(y, np.sin(x)))
        ((5,), (5,), True)
    """
    n = check_positive_int(n, "n")
    noise = check_real(noise, "noise", low=0.0, low_inclusive=True)
    low = check_real(low, "low", low=-np.inf)
    high = check_real(high, "high", low=low)

    rng = np.random.default_rng(check_seed(seed))
    x = rng.uniform(low, high, size=n)
    y = np.sin(x) + rng.normal(0.0, noise, size=n)
    return x, y


def _check_classes(classes) -> int:
    classes = check_positive_int(classes, "classes")
    if classes < 2:
        raise ValueError(f"classes must be a whole number >= 2 (one class leaves nothing to "
                         f"tell apart), got {classes}.")
    return classes


def _balanced_labels(n: int, classes: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` int64 labels, each class ``n // classes`` or one more times, in random order."""
    labels = np.arange(n, dtype=np.int64) % classes
    rng.shuffle(labels)
    return labels


def _blob_centres(classes: int, features: int, separation: float) -> np.ndarray:
    """One centre per row: on a circle in the first two features, or on a line for one."""
    centres = np.zeros((classes, features))
    if features == 1:
        centres[:, 0] = np.linspace(-separation, separation, classes)
    else:
        angle = 2.0 * np.pi * np.arange(classes) / classes
        centres[:, 0], centres[:, 1] = np.cos(angle), np.sin(angle)
        centres *= separation
    return centres
