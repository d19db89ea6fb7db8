"""Every gradient is checked against two other implementations: analytic, tape, numeric."""

import numpy as np
import pytest
from helpers import Quadratic, QuadraticWithGradient

import minigd as mg
from minigd.gradients import relative_error
from minigd.tape import import_tensorflow

ALL = ("analytic", "tape", "numeric")


def gradients_of(model, x, y, providers=ALL):
    return {name: mg.gradients.get_provider(name).value_and_grad(model, mg.MSE(), model.params, x, y)
            for name in providers}


def assert_providers_agree(model, x, y, providers=ALL):
    results = gradients_of(model, x, y, providers)
    reference_value, reference = results["analytic"]
    for name, (value, grads) in results.items():
        tolerance = 1e-6 if name == "numeric" else 1e-12
        assert value == pytest.approx(reference_value, rel=1e-12)
        assert set(grads) == set(model.params)
        for param in model.params:
            assert grads[param].shape == model.params[param].shape
            assert relative_error(grads[param], reference[param]) < tolerance, (name, param)


def test_linear_one_feature_all_providers_agree():
    x, y = mg.make_linear_data(n=500, seed=1)
    assert_providers_agree(mg.Linear(w=0.3, b=-0.2), x, y)


def test_linear_several_features_all_providers_agree():
    x, y = mg.make_linear_data(n=300, w=[1.0, -2.0, 0.5], b=0.1, seed=2)
    assert_providers_agree(mg.Linear(w=[0.2, 0.1, -0.3], b=0.4, features=3), x, y)


def test_user_model_with_hand_gradient_all_providers_agree(quadratic_data):
    model = QuadraticWithGradient()
    model.set_weights({"a": 0.3, "b": -0.7, "c": 1.1})
    assert_providers_agree(model, *quadratic_data)


def test_analytic_gradient_at_zero_by_hand():
    # L = mean((w*x + b - y)^2); at w = b = 0: dL/dw = -2*mean(x*y), dL/db = -2*mean(y)
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 7.0])
    value, grads = mg.AnalyticGradients().value_and_grad(mg.Linear(), mg.MSE(), mg.Linear().params, x, y)
    assert value == pytest.approx((4 + 9 + 49) / 3)
    assert float(grads["w"]) == pytest.approx(-2 * (2 + 6 + 21) / 3)
    assert float(grads["b"]) == pytest.approx(-2 * 12 / 3)


def test_providers_do_not_change_the_parameters():
    x, y = mg.make_linear_data(n=50, seed=3)
    model = mg.Linear(w=0.5, b=0.5)
    before = model.get_weights()
    gradients_of(model, x, y)
    assert model.params == before or all(np.array_equal(model.params[k], before[k]) for k in before)


def test_analytic_needs_a_backward_and_says_what_to_do(quadratic_data):
    with pytest.raises(NotImplementedError, match=r"Quadratic.*'tape'.*'numeric'"):
        gradients_of(Quadratic(), *quadratic_data, providers=("analytic",))


def test_check_gradients_confirms_a_correct_hand_gradient(quadratic_data, capsys):
    result = mg.check_gradients(QuadraticWithGradient(), mg.MSE(), *quadratic_data)
    assert result.passed and result.max_error < 1e-6
    assert set(result.errors) == {"analytic vs tape", "analytic vs numeric", "tape vs numeric"}
    table = capsys.readouterr().out
    assert "analytic vs numeric" in table
    assert [line.split()[0] for line in table.splitlines() if line.endswith(" ok")] == ["a", "b", "c"]


def test_check_gradients_catches_a_wrong_hand_gradient(quadratic_data, capsys):
    class Wrong(Quadratic):
        def backward(self, params, x, grad_y_pred):  # forgot the square on x for "a"
            return {"a": grad_y_pred @ x, "b": grad_y_pred @ x, "c": grad_y_pred.sum()}

    result = mg.check_gradients(Wrong(), mg.MSE(), *quadratic_data, providers=("analytic", "numeric"))
    assert not result.passed
    assert result.errors["analytic vs numeric"]["a"] > 0.01
    assert result.errors["analytic vs numeric"]["b"] < 1e-6
    assert "MISMATCH" in capsys.readouterr().out


def test_check_gradients_skips_analytic_for_a_forward_only_model(quadratic_data):
    result = mg.check_gradients(Quadratic(), mg.MSE(), *quadratic_data, verbose=False)
    assert result.passed and "analytic" in result.skipped
    assert list(result.errors) == ["tape vs numeric"]


def test_compiled_tape_traces_once_for_many_steps():
    x, y = mg.make_linear_data(n=100, seed=4)
    tape = mg.TapeGradients()
    mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=tape).fit(mg.Linear(), x, y, steps=30)
    assert tape.trace_count == 1


def test_compiled_tape_does_not_retrace_for_a_short_last_batch():
    x, y = mg.make_linear_data(n=100, seed=4)
    tape = mg.TapeGradients()
    mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=tape).fit(mg.Linear(), x, y, epochs=5, batch_size=30)
    assert tape.trace_count == 1


def test_compiled_tape_value_and_grad_traces_once_across_batch_sizes():
    tape, model, loss = mg.TapeGradients(), mg.Linear(), mg.MSE()
    for n in (30, 30, 10, 30, 10):
        x, y = mg.make_linear_data(n=n, seed=n)
        tape.value_and_grad(model, loss, model.params, x, y)
    assert tape.trace_count == 1


def test_eager_and_compiled_tape_agree():
    x, y = mg.make_linear_data(n=100, seed=5)
    model = mg.Linear(w=0.1, b=0.2)
    eager = mg.TapeGradients(compiled=False).value_and_grad(model, mg.MSE(), model.params, x, y)
    compiled = mg.TapeGradients().value_and_grad(model, mg.MSE(), model.params, x, y)
    assert eager[0] == pytest.approx(compiled[0], rel=1e-14)
    for name in model.params:
        assert relative_error(eager[1][name], compiled[1][name]) < 1e-14


def test_tape_explains_numpy_functions_in_forward():
    class UsesNumpy(mg.Model):
        def __init__(self):
            super().__init__(k=0.1)

        def forward(self, params, x):
            return np.exp(params["k"] * x)  # should be mg.ops.exp

    x, y = mg.make_linear_data(n=10, seed=0)
    with pytest.raises((TypeError, ValueError), match="minigd.ops"):
        mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients="tape").fit(UsesNumpy(), x, y, steps=1)


def test_ops_functions_give_the_same_values_on_numpy_and_tensors():
    tf = import_tensorflow()  # as minigd does: quiet, deterministic
    a = np.array([[0.5, 1.5], [2.0, 0.25]])
    v = np.array([1.0, -1.0])
    for name in ("exp", "log", "sqrt", "tanh", "sin", "cos"):
        function = getattr(mg.ops, name)
        np.testing.assert_allclose(function(tf.constant(a)).numpy(), function(a), rtol=1e-14)
    for name in ("sum", "mean"):
        function = getattr(mg.ops, name)
        np.testing.assert_allclose(function(tf.constant(a), axis=1).numpy(), function(a, axis=1))
    np.testing.assert_allclose(mg.ops.matvec(tf.constant(a), tf.constant(v)).numpy(), a @ v)


def test_a_model_using_ops_trains_with_tape_and_numeric():
    class Exponential(mg.Model):
        def __init__(self):
            super().__init__(k=0.0, scale=1.0)

        def forward(self, params, x):
            return params["scale"] * mg.ops.exp(params["k"] * x)

    x = np.linspace(0, 1, 50)
    y = 2.0 * np.exp(0.5 * x)
    for gradients in ("tape", "numeric"):
        model = Exponential()
        mg.Trainer(mg.MSE(), mg.SGD(0.1, momentum=0.9), gradients=gradients).fit(model, x, y, steps=2000)
        assert float(model.params["k"]) == pytest.approx(0.5, abs=1e-3)
        assert float(model.params["scale"]) == pytest.approx(2.0, abs=1e-3)


def test_a_custom_provider_object_is_used():
    class CountingAnalytic(mg.AnalyticGradients):
        name = "counting"
        calls = 0

        def value_and_grad(self, *args):
            self.calls += 1
            return super().value_and_grad(*args)

    provider = CountingAnalytic()
    assert isinstance(provider, mg.GradientProvider)
    x, y = mg.make_linear_data(n=20, seed=0)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=provider).fit(mg.Linear(), x, y, steps=7)
    assert provider.calls == 7


@pytest.mark.parametrize("gradients", ["Analytic", "autodiff", 3, None])
def test_unknown_gradients_name_lists_the_choices(gradients):
    with pytest.raises(ValueError, match=r"gradients.*analytic.*numeric.*tape"):
        mg.Trainer(mg.MSE(), mg.SGD(0.01), gradients=gradients)


@pytest.mark.parametrize("change, message", [
    ({"model": None}, "model must be a minigd.Model, got None"),
    ({"loss": "mse"}, "loss must be a minigd.Loss"),
    ({"y": "two columns"}, r"MSE cannot compare y of shape \(20, 2\)"),
    ({"tolerance": -1}, r"tolerance must be a finite number in \(0.0, inf\)"),
    ({"atol": "a"}, "atol must be a real number"),
])
def test_check_gradients_names_a_bad_argument(change, message):
    x, y = mg.make_linear_data(n=20, seed=0)
    arguments = {"model": mg.Linear(), "loss": mg.MSE(), "x": x, "y": y, "verbose": False, **change}
    if change.get("y") == "two columns":
        arguments["y"] = np.column_stack([y, y])
    with pytest.raises(ValueError, match=message):
        mg.check_gradients(**arguments, providers=("analytic", "numeric"))
