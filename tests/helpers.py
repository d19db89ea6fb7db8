"""Models and parsers shared by the tests."""

import numpy as np

import minigd as mg


def parse_log_line(line):
    """'iteration:50, loss:0.1, w:1.9' -> [('iteration', 50.0), ('loss', 0.1), ('w', 1.9)]."""
    fields = [field.split(":", 1) for field in line.strip().split(", ")]
    return [(key, float(value)) for key, value in fields]


def assert_same_log(lines, expected_lines, rtol):
    """Same keys in the same order on every line; every number equal to rtol."""
    assert len(lines) == len(expected_lines)
    for line, expected in zip(lines, expected_lines):
        got, want = parse_log_line(line), parse_log_line(expected)
        assert [k for k, _ in got] == [k for k, _ in want], (line, expected)
        np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=rtol,
                                   err_msg=f"{line!r} vs {expected!r}")


class Quadratic(mg.Model):
    """A user's model with only a forward pass: y = a*x**2 + b*x + c."""

    def __init__(self):
        super().__init__(a=0.0, b=0.0, c=0.0)

    def forward(self, params, x):
        return params["a"] * x**2 + params["b"] * x + params["c"]


class QuadraticWithGradient(Quadratic):
    """The same model after the student adds the chain rule by hand."""

    def backward(self, params, x, grad_y_pred):
        return {"a": grad_y_pred @ x**2, "b": grad_y_pred @ x, "c": grad_y_pred.sum()}
