"""Lesson data: shapes, dtypes, seeds, balanced classes, the promised geometry, bad arguments."""

import math

import numpy as np
import pytest

from minigd.datasets import make_classification_data, make_sine_data, make_spiral_data

MAKERS = [make_classification_data, make_spiral_data, make_sine_data]


@pytest.mark.parametrize("make", MAKERS)
def test_the_same_seed_gives_the_same_data_and_another_seed_other_data(make):
    (x1, y1), (x2, y2), (x3, _) = make(n=50, seed=3), make(n=50, seed=3), make(n=50, seed=4)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(x1, x3)


@pytest.mark.parametrize("n, classes, features, x_shape", [(300, 2, 2, (300, 2)), (7, 3, 5, (7, 5)),
                                                           (10, 2, 1, (10,))])
def test_classification_shapes_and_dtypes(n, classes, features, x_shape):
    x, labels = make_classification_data(n=n, classes=classes, features=features, seed=0)
    assert x.shape == x_shape and x.dtype == np.float64
    assert labels.shape == (n,) and labels.dtype == np.int64


@pytest.mark.parametrize("make", [make_classification_data, make_spiral_data])
@pytest.mark.parametrize("n, classes", [(300, 3), (301, 3), (10, 4), (2, 2), (1, 2)])
def test_classes_share_the_points_evenly(make, n, classes):
    _, labels = make(n=n, classes=classes, seed=1)
    counts = np.bincount(labels, minlength=classes)
    assert counts.sum() == n and len(counts) == classes
    assert counts.max() - counts.min() <= 1
    assert set(labels.tolist()) <= set(range(classes))


@pytest.mark.parametrize("make", [make_classification_data, make_spiral_data])
def test_rows_come_in_random_order(make):
    _, labels = make(n=300, classes=3, seed=0)
    # sorted by class, the first 100 would all be class 0
    assert len(set(labels[:30].tolist())) == 3


def test_blobs_sit_at_their_centres():
    x, labels = make_classification_data(n=3000, classes=4, features=3, separation=5.0, noise=0.5, seed=0)
    for c in range(4):
        angle = 2 * math.pi * c / 4
        mean = x[labels == c].mean(axis=0)
        np.testing.assert_allclose(mean, [5 * math.cos(angle), 5 * math.sin(angle), 0.0], atol=0.1)
        assert x[labels == c].std(axis=0) == pytest.approx([0.5] * 3, rel=0.15)


def test_one_feature_blobs_spread_over_a_line():
    x, labels = make_classification_data(n=300, classes=3, features=1, separation=2.0, noise=0.0, seed=0)
    np.testing.assert_array_equal(x, np.array([-2.0, 0.0, 2.0])[labels])


def test_spirals_are_cs231n_spirals_without_noise():
    x, labels = make_spiral_data(n=300, classes=3, noise=0.0, seed=0)
    assert x.shape == (300, 2) and x.dtype == np.float64 and labels.dtype == np.int64
    for arm in range(3):
        points = x[labels == arm]  # in the order they were laid along the arm
        radius, angle = np.linspace(0, 1, 100), np.linspace(4 * arm, 4 * arm + 4, 100)
        want = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
        np.testing.assert_allclose(points, want, rtol=0, atol=1e-15)


def test_sine_data_follows_the_sine_within_the_noise():
    x, y = make_sine_data(n=2000, noise=0.1, seed=0)
    assert x.shape == y.shape == (2000,) and x.dtype == y.dtype == np.float64
    assert x.min() >= -math.pi and x.max() < math.pi
    assert np.std(y - np.sin(x)) == pytest.approx(0.1, rel=0.1)


def test_a_line_cannot_fit_the_sine():
    x, y = make_sine_data(n=2000, noise=0.0, seed=0)
    slope, intercept = np.polyfit(x, y, 1)
    rms = np.sqrt(np.mean((slope * x + intercept - y) ** 2))
    assert rms == pytest.approx(0.44, abs=0.02)  # the docstring's number


def test_sine_range_can_be_moved():
    x, _ = make_sine_data(n=100, low=0.0, high=1.0, seed=0)
    assert x.min() >= 0.0 and x.max() < 1.0


@pytest.mark.parametrize("make, kwargs, argument", [
    (make_classification_data, {"n": 0}, "n"),
    (make_classification_data, {"n": 2.5}, "n"),
    (make_classification_data, {"classes": 1}, "classes"),
    (make_classification_data, {"classes": "3"}, "classes"),
    (make_classification_data, {"features": 0}, "features"),
    (make_classification_data, {"separation": -1.0}, "separation"),
    (make_classification_data, {"noise": -0.1}, "noise"),
    (make_classification_data, {"noise": math.inf}, "noise"),
    (make_spiral_data, {"n": -5}, "n"),
    (make_spiral_data, {"classes": 1}, "classes"),
    (make_spiral_data, {"noise": math.nan}, "noise"),
    (make_sine_data, {"n": None}, "n"),
    (make_sine_data, {"noise": -1.0}, "noise"),
    (make_sine_data, {"low": 1.0, "high": 0.0}, "high"),
    (make_sine_data, {"low": "a"}, "low"),
    (make_classification_data, {"seed": -1}, "seed"),
    (make_spiral_data, {"seed": 1.5}, "seed"),
    (make_sine_data, {"seed": "a"}, "seed"),
])
def test_bad_arguments_are_named(make, kwargs, argument):
    with pytest.raises(ValueError, match=f"^{argument} "):
        make(**kwargs)
