"""Models: user subclasses, Linear with several features, saving and loading weights."""

import numpy as np
import pytest
from helpers import Quadratic, QuadraticWithGradient

import minigd as mg


def train(model, x, y, gradients, steps=3000):
    trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.05, momentum=0.9), gradients=gradients)
    trainer.fit(model, x, y, steps=steps)
    return model


def least_squares(features, y):
    solution, *_ = np.linalg.lstsq(np.column_stack([features, np.ones(len(y))]), y, rcond=None)
    return solution


@pytest.mark.parametrize("gradients", ["tape", "numeric"])
def test_forward_only_subclass_trains(quadratic_data, gradients):
    x, y = quadratic_data
    model = train(Quadratic(), x, y, gradients)
    expected = least_squares(np.column_stack([x**2, x]), y)
    np.testing.assert_allclose([model.params[k] for k in "abc"], expected, rtol=1e-6)


def test_subclass_trains_with_analytic_once_it_has_a_gradient(quadratic_data):
    x, y = quadratic_data
    model = train(QuadraticWithGradient(), x, y, "analytic")
    expected = least_squares(np.column_stack([x**2, x]), y)
    np.testing.assert_allclose([model.params[k] for k in "abc"], expected, rtol=1e-6)
    # at the start the gradients are large and the check is meaningful ...
    assert mg.check_gradients(QuadraticWithGradient(), mg.MSE(), x, y, verbose=False).passed
    # ... at the minimum they are rounding noise, and the check says so instead of "ok"
    at_minimum = mg.check_gradients(model, mg.MSE(), x, y, verbose=False)
    assert not at_minimum.passed and at_minimum.verdict("a") == "too small"


def test_linear_with_three_features_converges_to_least_squares():
    x, y = mg.make_linear_data(n=500, w=[1.5, -0.5, 2.0], b=0.3, noise=0.1, seed=11)
    model = mg.Linear(features=3)
    mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01)).fit(model, x, y, steps=3000)
    expected = least_squares(x, y)
    np.testing.assert_allclose(model.params["w"], expected[:3], rtol=1e-8)
    assert float(model.params["b"]) == pytest.approx(expected[3], rel=1e-8)


def test_params_are_float64_arrays_and_zero_d_for_scalars():
    model = mg.Linear()
    assert model.params["w"].dtype == np.float64 and model.params["w"].shape == ()
    model = mg.Linear(w=[1, 2], features=2)
    assert model.params["w"].shape == (2,) and model.params["w"].dtype == np.float64
    assert mg.Linear(features=4).params["w"].shape == (4,)


def test_model_call_predicts_with_current_params():
    model = mg.Linear(w=[1.0, 2.0], b=0.5, features=2)
    np.testing.assert_allclose(model([[1.0, 1.0], [0.0, 2.0]]), [3.5, 4.5])
    assert repr(mg.Linear(w=2.0, b=1.0)) == "Linear(w=2.0, b=1.0)"


def test_linear_refuses_a_vector_w_without_features():
    with pytest.raises(ValueError, match="features"):
        mg.Linear(w=[1.0, 2.0])


def test_linear_refuses_a_w_of_the_wrong_length_for_its_features():
    with pytest.raises(ValueError, match=r"w must be a number or 2 numbers \(one per feature\), got shape \(3,\)"):
        mg.Linear(w=[1.0, 2.0, 3.0], features=2)


def test_weights_round_trip_through_npz(tmp_path):
    model = mg.Linear(w=[1.0, -2.0, 3.5], b=0.25, features=3)
    path = tmp_path / "weights.npz"
    model.save_weights(path)
    other = mg.Linear(features=3)
    other.load_weights(path)
    for name in model.params:
        np.testing.assert_array_equal(other.params[name], model.params[name])
    assert list(tmp_path.iterdir()) == [path]  # no temporary files left behind


def test_save_weights_keeps_the_exact_name_given(tmp_path):
    path = tmp_path / "checkpoint.weights"
    mg.Linear().save_weights(path)
    assert path.exists()


def test_load_weights_names_missing_and_extra_parameters(tmp_path):
    path = tmp_path / "q.npz"
    Quadratic().save_weights(path)
    with pytest.raises(ValueError, match=r"missing \['w'\], unexpected \['a', 'c'\]"):
        mg.Linear().load_weights(path)


def test_load_weights_names_a_wrong_shape(tmp_path):
    path = tmp_path / "three.npz"
    mg.Linear(features=3).save_weights(path)
    with pytest.raises(ValueError, match=r"'w' has shape \(3,\), the model needs \(2,\)"):
        mg.Linear(features=2).load_weights(path)


def test_load_weights_refuses_a_corrupt_file_and_keeps_the_model(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"not a zip file at all")
    model = mg.Linear(w=1.0, b=2.0)
    with pytest.raises(ValueError, match="bad.npz"):
        model.load_weights(path)
    assert float(model.params["w"]) == 1.0 and float(model.params["b"]) == 2.0


def test_load_weights_refuses_pickled_objects(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, w=np.array([{"evil": 1}], dtype=object), b=np.array(0.0))
    with pytest.raises(ValueError, match="pickled.npz"):
        mg.Linear().load_weights(path)


def test_a_model_without_forward_says_so():
    class Empty(mg.Model):
        def __init__(self):
            super().__init__(w=0.0)

    with pytest.raises(NotImplementedError, match="Empty must define forward"):
        Empty()(np.array([1.0]))


def test_parameters_must_be_finite():
    with pytest.raises(ValueError, match="'w' must be finite"):
        mg.Linear(w=float("nan"))
