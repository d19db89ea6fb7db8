import numpy as np
import pytest

import minigd as mg


def test_shapes_dtype_and_defaults():
    x, y = mg.make_linear_data(seed=0)
    assert x.shape == y.shape == (1000,)
    assert x.dtype == y.dtype == np.float64
    assert x.min() >= -10 and x.max() < 10


def test_same_seed_same_data_and_other_seed_other_data():
    a, b, c = (mg.make_linear_data(n=50, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_noise_has_the_requested_spread():
    x, y = mg.make_linear_data(n=100_000, noise=0.1, seed=3)
    residual = y - (1.915 * x + 0.915)
    assert residual.mean() == pytest.approx(0.0, abs=2e-3)
    assert residual.std() == pytest.approx(0.1, rel=0.02)


def test_several_features():
    x, y = mg.make_linear_data(n=20, w=[1.0, 2.0], b=0.0, noise=0.0, seed=0)
    assert x.shape == (20, 2)
    np.testing.assert_allclose(y, x @ [1.0, 2.0])


@pytest.mark.parametrize("kwargs, name", [
    ({"n": 0}, "n"), ({"n": 2.5}, "n"), ({"noise": -1.0}, "noise"),
    ({"low": 1.0, "high": 0.0}, "high"), ({"w": float("nan")}, "w"),
])
def test_bad_arguments_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        mg.make_linear_data(**kwargs)
