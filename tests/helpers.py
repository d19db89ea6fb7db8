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


def assert_same_run(a, b, rtol=0.0):
    """Two (model, history, trainer) runs agree: exactly by default, else to ``rtol``.

    Compares parameters, every history record, the optimizer's state and the counters.
    """
    (model_a, history_a, trainer_a), (model_b, history_b, trainer_b) = a, b
    for name in model_a.params:
        np.testing.assert_allclose(model_a.params[name], model_b.params[name], rtol=rtol, atol=0)
    for records_a, records_b in [(history_a.history, history_b.history),
                                 (history_a.step_history, history_b.step_history)]:
        assert records_a.keys() == records_b.keys()
        for key in records_a:
            np.testing.assert_allclose(records_a[key], records_b[key], rtol=rtol, atol=0, err_msg=key)
    assert history_a.steps == history_b.steps and history_a.epoch == history_b.epoch
    # a velocity can be a near-cancelled difference: compare it at the scale of the steps
    atol = 0 if rtol == 0 else 1e-15
    state_a, state_b = _leaves(trainer_a.optimizer_state), _leaves(trainer_b.optimizer_state)
    assert state_a.keys() == state_b.keys()
    for name, value in state_a.items():
        np.testing.assert_allclose(value, state_b[name], rtol=rtol, atol=atol, err_msg=name)
    assert (trainer_a.step, trainer_a.epoch) == (trainer_b.step, trainer_b.epoch)


def _leaves(tree, prefix=""):
    """A nested dict's leaves as {"a/b": value}."""
    if not isinstance(tree, dict):
        return {prefix: tree}
    leaves = {}
    for key, value in tree.items():
        leaves.update(_leaves(value, f"{prefix}/{key}" if prefix else key))
    return leaves
