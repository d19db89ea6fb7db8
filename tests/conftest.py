"""Shared fixtures. TensorFlow is imported only through minigd (quiet, deterministic)."""

import numpy as np
import pytest


@pytest.fixture(scope="session")
def quadratic_data():
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, 200)
    y = 0.5 * x**2 - 1.5 * x + 2.0 + rng.normal(0, 0.05, 200)
    return x, y
