import os

# Before any test imports TensorFlow: quiet, and deterministic kernels.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import numpy as np  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="session")
def quadratic_data():
    rng = np.random.default_rng(7)
    x = rng.uniform(-2, 2, 200)
    y = 0.5 * x**2 - 1.5 * x + 2.0 + rng.normal(0, 0.05, 200)
    return x, y
