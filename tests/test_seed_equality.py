"""minigd reproduces the seed article's program, line for line."""

import io

import pytest
from helpers import assert_same_log
from seed_program import run, sample_points

import minigd as mg


@pytest.fixture(scope="module")
def seed_run():
    points = sample_points(seed=2024)
    lines = []
    b, w = run(points, print_=lines.append)
    return points[:, 0], points[:, 1], lines, (w, b)


def fit_with_logger(x, y, gradients):
    stream = io.StringIO()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01), gradients=gradients,
                         callbacks=[mg.StepLogger(every=50, stream=stream)])
    model = mg.Linear(w=0.0, b=0.0)
    trainer.fit(model, x, y, steps=1000)
    return model, stream.getvalue().splitlines()


@pytest.mark.parametrize("gradients, rtol", [("analytic", 1e-9), ("tape", 1e-9), ("numeric", 1e-5)])
def test_step_logger_reproduces_the_seed(seed_run, gradients, rtol):
    x, y, seed_lines, (seed_w, seed_b) = seed_run
    model, lines = fit_with_logger(x, y, gradients)

    assert len(seed_lines) == 21  # 20 progress lines and the final one
    assert_same_log(lines, seed_lines, rtol)
    assert float(model.params["w"]) == pytest.approx(seed_w, rel=rtol)
    assert float(model.params["b"]) == pytest.approx(seed_b, rel=rtol)


def test_analytic_run_is_bit_identical_to_itself(seed_run):
    x, y, _, _ = seed_run
    assert fit_with_logger(x, y, "analytic")[1] == fit_with_logger(x, y, "analytic")[1]


def test_learned_line_is_close_to_the_true_line(seed_run):
    x, y, _, _ = seed_run
    model, _ = fit_with_logger(x, y, "analytic")
    assert float(model.params["w"]) == pytest.approx(1.915, abs=0.01)
    assert float(model.params["b"]) == pytest.approx(0.915, abs=0.02)
