"""Property-based tests: on random data and parameters, the pieces agree with each other."""

import contextlib
import io

import numpy as np
import pytest
from helpers import QuadraticWithGradient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import minigd as mg
from minigd.cli import main
from minigd.gradients import relative_error

finite = st.floats(-10, 10, allow_nan=False, allow_infinity=False)
TAPE = mg.TapeGradients(compiled=False)  # one instance: eager, so nothing is retraced
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def linear_problems(draw):
    n = draw(st.integers(2, 30))
    d = draw(st.integers(1, 4))
    x = draw(arrays(np.float64, (n, d), elements=finite))
    y = draw(arrays(np.float64, n, elements=finite))
    w = draw(arrays(np.float64, d, elements=finite))
    return x, y, mg.Linear(w=w, b=draw(finite), features=d)


def gradients(provider, model, x, y):
    return provider.value_and_grad(model, mg.MSE(), model.params, x, y)


def assert_agree(reference, other, tolerance, scale):
    """Relative agreement, or absolute agreement at the problem's scale for tiny gradients."""
    for name in reference:
        close = np.abs(reference[name] - other[name]) <= tolerance * scale
        assert relative_error(reference[name], other[name]) <= tolerance or close.all(), name


@SETTINGS
@given(linear_problems())
def test_linear_gradients_agree_across_providers(problem):
    x, y, model = problem
    value, analytic = gradients(mg.AnalyticGradients(), model, x, y)
    tape_value, tape = gradients(TAPE, model, x, y)
    _, numeric = gradients(mg.NumericGradients(), model, x, y)
    scale = 1 + value + np.abs(x).max() ** 2
    assert tape_value == pytest.approx(value, rel=1e-12, abs=1e-12)
    assert_agree(analytic, tape, 1e-10, scale)
    assert_agree(analytic, numeric, 1e-5, scale)


@SETTINGS
@given(arrays(np.float64, st.integers(2, 30), elements=st.floats(-3, 3)), finite, finite, finite)
def test_polynomial_gradients_agree_across_providers(x, a, b, c):
    y = np.sin(x)
    model = QuadraticWithGradient()
    model.set_weights({"a": a, "b": b, "c": c})
    value, analytic = gradients(mg.AnalyticGradients(), model, x, y)
    _, tape = gradients(TAPE, model, x, y)
    _, numeric = gradients(mg.NumericGradients(), model, x, y)
    scale = 1 + value + np.abs(x).max() ** 4
    assert_agree(analytic, tape, 1e-10, scale)
    assert_agree(analytic, numeric, 1e-5, scale)


@SETTINGS
@given(st.integers(1, 20).flatmap(lambda n: st.tuples(
    arrays(np.float64, n, elements=finite), arrays(np.float64, n, elements=finite))))
def test_mse_derivative_equals_finite_differences(pair):
    y_true, y_pred = pair
    loss = mg.MSE()
    value, derivative = loss.value_and_gradient(y_true, y_pred)
    assert value == pytest.approx(loss(y_true, y_pred), rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(derivative, loss.gradient(y_true, y_pred), rtol=1e-12)
    for i in range(len(y_pred)):
        h = 1e-6 * max(1.0, abs(y_pred[i]))
        plus, minus = y_pred.copy(), y_pred.copy()
        plus[i] += h
        minus[i] -= h
        numeric = (loss(y_true, plus) - loss(y_true, minus)) / (plus[i] - minus[i])
        assert numeric == pytest.approx(derivative[i], rel=1e-5, abs=1e-7 * (1 + value))


@SETTINGS
@given(arrays(np.float64, st.integers(1, 5), elements=st.floats(-1e100, 1e100)),
       arrays(np.float64, 5, elements=st.floats(-1e100, 1e100)),
       st.floats(1e-6, 10), st.floats(0, 0.99), st.booleans())
def test_sgd_updates_stay_finite_for_finite_inputs(param, grad, learning_rate, momentum, nesterov):
    grad = grad[: len(param)]
    optimizer = mg.SGD(learning_rate, momentum=momentum, nesterov=nesterov)
    params = {"p": param}
    for _ in range(3):
        params = optimizer.apply_gradients(params, {"p": grad})
        assert np.isfinite(params["p"]).all()


CELL = st.one_of(finite.map(repr), st.text(max_size=6), st.sampled_from(["nan", "inf", "", " 1e3", "-"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(CELL, min_size=0, max_size=4), max_size=6), st.booleans())
def test_csv_reader_returns_data_or_the_clear_error(tmp_path_factory, rows, binary_noise):
    path = tmp_path_factory.mktemp("csv") / "garbage.csv"
    text = "\n".join(",".join(row) for row in rows)
    path.write_bytes(text.encode("utf-8", "surrogatepass") + (b"\xff\xfe" if binary_noise else b""))
    try:
        x, y = mg.read_csv(path)
    except mg.DataFileError as error:
        assert str(path) in str(error)
    else:
        assert len(x) == len(y) >= 1 and np.isfinite(x).all() and np.isfinite(y).all()


@settings(max_examples=25, deadline=None)
@given(st.binary(max_size=60))
def test_cli_exits_cleanly_on_any_file(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("cli") / "data.csv"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(["fit", "--data", str(path), "--steps", "3", "--quiet"])  # must not raise
    err = err.getvalue()
    assert status in (0, 1, 2)
    if status == 2:
        assert err.count("\n") == 1 and str(path) in err
