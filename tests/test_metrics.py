"""Metrics: Keras's values on random data, Keras's choice for "accuracy", names and errors."""

import numpy as np
import pytest

from minigd.metrics import (
    METRICS,
    Metric,
    accuracy,
    binary_accuracy,
    categorical_accuracy,
    get_metric,
    mean_absolute_error,
    mean_squared_error,
    sparse_categorical_accuracy,
)
from minigd.tape import import_tensorflow


@pytest.fixture(scope="module")
def keras():
    import_tensorflow()  # quietly, before keras imports it
    import keras

    return keras


def keras_value(metric, y_true, y_pred):
    """A Keras metric object's value on one batch, in float64."""
    metric.update_state(np.asarray(y_true), np.asarray(y_pred))
    return float(metric.result())


def random_scores(rng, n, k):
    return rng.normal(size=(n, k)) if k else rng.uniform(size=n)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("shape", [(50,), (50, 1), (40, 3)])
def test_mae_and_mse_match_keras(keras, seed, shape):
    rng = np.random.default_rng(seed)
    y_true, y_pred = rng.normal(size=shape), rng.normal(size=shape)
    for ours, theirs in [(mean_absolute_error, keras.metrics.MeanAbsoluteError),
                         (mean_squared_error, keras.metrics.MeanSquaredError)]:
        want = keras_value(theirs(dtype="float64"), y_true, y_pred)
        assert ours(y_true, y_pred) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("column", [False, True])
def test_binary_accuracy_matches_keras(keras, seed, column):
    rng = np.random.default_rng(seed)
    y_true = rng.integers(0, 2, size=60).astype(float)
    y_pred = rng.uniform(size=60)
    if column:
        y_true, y_pred = y_true[:, None], y_pred[:, None]
    want = keras_value(keras.metrics.BinaryAccuracy(dtype="float64"), y_true, y_pred)
    assert binary_accuracy(y_true, y_pred) == want


@pytest.mark.parametrize("seed", range(5))
def test_categorical_accuracies_match_keras(keras, seed):
    rng = np.random.default_rng(seed)
    labels, scores = rng.integers(0, 4, size=70), rng.normal(size=(70, 4))
    one_hot = np.eye(4)[labels]
    want = keras_value(keras.metrics.CategoricalAccuracy(dtype="float64"), one_hot, scores)
    assert categorical_accuracy(one_hot, scores) == want
    want = keras_value(keras.metrics.SparseCategoricalAccuracy(dtype="float64"), labels, scores)
    assert sparse_categorical_accuracy(labels, scores) == want
    assert sparse_categorical_accuracy(labels[:, None], scores) == want


@pytest.mark.parametrize("y_true_shape, y_pred_shape", [((64, 1), (64, 1)), ((64,), (64, 3)),
                                                        ((64, 1), (64, 3)), ((64, 3), (64, 3))])
def test_accuracy_picks_what_keras_compile_picks(keras, y_true_shape, y_pred_shape):
    """Keras picks in ``compile(metrics=["accuracy"])``: an identity model shows its choice."""
    rng = np.random.default_rng(0)
    k = y_pred_shape[-1]
    labels = rng.integers(0, max(k, 2), size=64)
    y_true = np.eye(k)[labels] if y_true_shape == y_pred_shape and k > 1 else labels.reshape(y_true_shape)
    y_pred = rng.uniform(size=y_pred_shape)
    model = keras.Sequential([keras.Input(shape=y_pred_shape[1:]), keras.layers.Identity()])
    model.compile(loss=lambda y_true, y_pred: 0.0 * y_pred, metrics=["accuracy"])  # no loss to fit
    logs = model.evaluate(y_pred, y_true.astype("float32"), verbose=0, return_dict=True)
    assert accuracy(y_true, y_pred) == pytest.approx(logs["accuracy"], abs=1e-6)


def test_accuracy_on_a_flat_prediction_is_binary():
    # Keras models never give (n,); minigd's Linear does, and it means one probability each
    y_true, y_pred = np.array([1, 0, 1, 0]), np.array([0.9, 0.6, 0.4, 0.1])
    assert accuracy(y_true, y_pred) == binary_accuracy(y_true, y_pred) == 0.5


@pytest.mark.parametrize("name, function, direction", [
    ("accuracy", accuracy, "up"), ("acc", accuracy, "up"), ("binary_accuracy", binary_accuracy, "up"),
    ("categorical_accuracy", categorical_accuracy, "up"),
    ("sparse_categorical_accuracy", sparse_categorical_accuracy, "up"),
    ("mae", mean_absolute_error, "down"), ("mean_absolute_error", mean_absolute_error, "down"),
    ("mse", mean_squared_error, "down"), ("mean_squared_error", mean_squared_error, "down")])
def test_get_metric_keeps_the_name_it_was_given(name, function, direction):
    metric = get_metric(name)
    assert (metric.name, metric.function, metric.direction) == (name, function, direction)
    assert name in METRICS


def test_get_metric_takes_a_metric_or_a_function():
    metric = Metric(mean_absolute_error, name="l1", direction="down")
    assert get_metric(metric) is metric

    def max_error(y_true, y_pred):
        return np.abs(np.asarray(y_true) - np.asarray(y_pred)).max()

    wrapped = get_metric(max_error)
    assert (wrapped.name, wrapped.direction) == ("max_error", "down")
    value = wrapped([1.0, 2.0], [2.0, 5.0])
    assert type(value) is float and value == 3.0


def test_a_function_returning_an_array_is_averaged():
    metric = Metric(lambda y_true, y_pred: np.abs(np.subtract(y_true, y_pred)), name="per_example")
    assert metric([1.0, 2.0], [2.0, 5.0]) == 2.0


@pytest.mark.parametrize("identifier", ["Accuracy", "rmse", 3, None])
def test_unknown_metrics_are_refused_with_the_names_allowed(identifier):
    with pytest.raises(ValueError, match="metric") as error:
        get_metric(identifier)
    assert "accuracy" in str(error.value)


@pytest.mark.parametrize("make, argument", [
    (lambda: Metric("mae"), "function"),
    (lambda: Metric(mean_absolute_error, direction="max"), "direction"),
    (lambda: Metric(mean_absolute_error, name=""), "name"),
    (lambda: mean_squared_error([1.0, 2.0], [1.0, 2.0, 3.0]), "y_true"),
    (lambda: mean_squared_error(np.ones((3, 2)), np.ones((3, 3))), "y_true"),
    (lambda: categorical_accuracy([1.0, 0.0], [0.5, 0.5]), "y_pred"),
    (lambda: sparse_categorical_accuracy([[0, 1], [1, 0]], [[0.3, 0.7], [0.6, 0.4]]), "y_true"),
])
def test_bad_arguments_are_named(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_one_metric_name_is_accepted_as_well_as_a_list():
    import minigd as mg

    x, y = mg.make_linear_data(n=20, seed=0)
    history = mg.Trainer(mg.MSE(), mg.SGD(), metrics="mae").fit(mg.Linear(), x, y, steps=2)
    assert len(history.history["mae"]) == 2


@pytest.mark.parametrize("metrics", [
    [Metric(mean_absolute_error, name="loss")],
    [Metric(mean_absolute_error, name="learning_rate")],
    [Metric(mean_absolute_error, name="val_loss")],
    ["mae", Metric(mean_squared_error, name="mae")],
])
def test_a_metric_may_not_overwrite_another_log_key(metrics):
    import minigd as mg

    taken = metrics[-1].name if isinstance(metrics[-1], Metric) else metrics[-1]
    with pytest.raises(ValueError, match=f"metrics: the name '{taken}' is taken"):
        mg.Trainer(mg.MSE(), mg.SGD(), metrics=metrics)
