"""Trainer.fit: steps and epochs, mini-batches, reproducibility, and bad input."""

import numpy as np
import pytest

import minigd as mg


@pytest.fixture
def data():
    return mg.make_linear_data(n=100, seed=0)


def make_trainer(**kwargs):
    return mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01), **kwargs)


def test_steps_count_optimizer_steps_across_epochs(data):
    trainer = make_trainer()
    history = trainer.fit(mg.Linear(), *data, steps=7, batch_size=30)  # 4 batches per epoch
    assert trainer.step == 7 and trainer.epoch == 2 and len(history.step_history["loss"]) == 7


def test_epochs_run_every_batch_including_a_short_last_one(data):
    sizes = []
    trainer = make_trainer(callbacks=[mg.LambdaCallback(
        on_step_end=lambda step, logs: sizes.append(logs["batch_size"]))])
    trainer.fit(mg.Linear(), *data, epochs=2, batch_size=30)
    assert sizes == [30, 30, 30, 10] * 2


def test_with_steps_and_epochs_the_first_limit_wins(data):
    trainer = make_trainer()
    trainer.fit(mg.Linear(), *data, steps=100, epochs=2, batch_size=50)
    assert trainer.step == 4
    trainer.fit(mg.Linear(), *data, steps=3, epochs=2, batch_size=50)
    assert trainer.step == 3


def test_full_batch_gives_one_step_per_epoch(data):
    trainer = make_trainer()
    trainer.fit(mg.Linear(), *data, epochs=5)
    assert trainer.step == trainer.epoch == 5


def fit_shuffled(data, seed):
    model = mg.Linear()
    history = make_trainer().fit(model, *data, epochs=3, batch_size=16, seed=seed)
    return model.params, history.step_history["loss"]


def test_shuffled_mini_batches_repeat_exactly_with_a_seed(data):
    params_a, loss_a = fit_shuffled(data, seed=42)
    params_b, loss_b = fit_shuffled(data, seed=42)
    params_c, loss_c = fit_shuffled(data, seed=43)
    assert loss_a == loss_b and all(np.array_equal(params_a[k], params_b[k]) for k in params_a)
    assert loss_a != loss_c


def test_shuffle_false_walks_the_data_in_order(data):
    x, y = data
    batches = []

    class Spy(mg.AnalyticGradients):
        def value_and_grad(self, model, loss, params, xb, yb):
            batches.append(xb.copy())
            return super().value_and_grad(model, loss, params, xb, yb)

    make_trainer(gradients=Spy()).fit(mg.Linear(), x, y, epochs=1, batch_size=40, shuffle=False)
    np.testing.assert_array_equal(np.concatenate(batches), x)


def test_the_users_data_is_not_modified(data):
    x, y = data
    x_copy, y_copy = x.copy(), y.copy()
    make_trainer().fit(mg.Linear(), x, y, epochs=2, batch_size=10, seed=0)
    np.testing.assert_array_equal(x, x_copy)
    np.testing.assert_array_equal(y, y_copy)


def test_lists_and_integer_data_are_accepted():
    model = mg.Linear()
    make_trainer().fit(model, [0, 1, 2, 3], [1, 3, 5, 7], steps=2000)
    assert float(model.params["w"]) == pytest.approx(2.0, abs=1e-3)


def test_a_column_of_targets_is_accepted(data):
    x, y = data
    make_trainer().fit(mg.Linear(), x, y[:, None], steps=1)


NAN_X = np.array([0.0, np.nan, 1.0])
BAD_FIT_INPUTS = [
    ({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0]}, "different lengths"),
    ({"x": NAN_X, "y": [1.0, 2.0, 3.0]}, r"x contains 1 NaN or infinite"),
    ({"x": [1.0, 2.0], "y": [1.0, np.inf]}, r"y contains 1 NaN or infinite"),
    ({"x": [], "y": []}, "x is empty"),
    ({"x": ["a", "b"], "y": [1.0, 2.0]}, "x has dtype <U1: only real numbers"),
    ({"x": "1,2,3", "y": [1.0, 2.0, 3.0]}, "x is a string"),
    ({"x": [1 + 2j, 2j], "y": [1.0, 2.0]}, "x holds complex numbers"),
    ({"x": [[1.0], [1.0, 2.0]], "y": [1.0, 2.0]}, "x is ragged"),
    ({"x": [object(), object()], "y": [1.0, 2.0]}, "x holds Python objects"),
    ({"x": None, "y": [1.0]}, "x is None"),
    ({"x": np.ma.masked_array([1.0, 2.0, 9.0], mask=[0, 0, 1])}, "x is a masked array with masked values"),
    ({"x": [[1.0, 2.0]], "y": [1.0]}, r"x has shape \(1, 2\).*Linear\(features=d\)"),
    ({"steps": 0}, "steps must be a whole number >= 1, got 0"),
    ({"steps": -5}, "steps must be a whole number >= 1"),
    ({"steps": 2.5}, "steps must be a whole number >= 1"),
    ({"steps": None, "epochs": 0}, "epochs must be a whole number >= 1"),
    ({"steps": None}, "give steps .* or epochs"),
    ({"batch_size": 0}, "batch_size must be a whole number >= 1"),
    ({"batch_size": 1000}, "batch_size=1000 is larger than the 3 training examples"),
    ({"seed": -1}, "seed must be a whole number >= 0 or None, got -1"),
    ({"seed": "a"}, "seed must be a whole number >= 0 or None, got 'a'"),
    ({"resume_from": 123}, r"resume_from must be a file path \(a non-empty str or pathlib.Path\), got 123"),
    ({"validation_data": [1.0, 2.0, 3.0]}, r"validation_data must be a pair \(x_val, y_val\)"),
    ({"validation_data": ([1.0], [1.0, 2.0])},
     "validation_data x and validation_data y have different lengths"),
]


@pytest.mark.parametrize("overrides, message", BAD_FIT_INPUTS, ids=[m for _, m in BAD_FIT_INPUTS])
def test_bad_fit_input_names_the_argument(overrides, message):
    arguments = {"x": [1.0, 2.0, 3.0], "y": [2.0, 4.0, 6.0], "steps": 1, **overrides}
    model = mg.Linear(w=0.5, b=0.5)
    with pytest.raises(ValueError, match=message):
        make_trainer().fit(model, **arguments)
    assert float(model.params["w"]) == 0.5  # nothing ran


def test_wrong_features_count_is_explained():
    x, y = mg.make_linear_data(n=10, w=[1.0, 2.0], seed=0)
    with pytest.raises(ValueError, match=r"x has shape \(10, 2\) but Linear.*\(n, 3\)"):
        make_trainer().fit(mg.Linear(features=3), x, y, steps=1)


def test_a_forward_with_the_wrong_output_shape_is_explained():
    class Total(mg.Model):
        def __init__(self):
            super().__init__(w=0.0)

        def forward(self, params, x):
            return mg.ops.sum(params["w"] * x)  # one number for the whole batch

    with pytest.raises(ValueError, match=r"Total.forward returned shape \(\) for x of shape \(3,\).*\(3,\)"):
        make_trainer().fit(Total(), [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], steps=1)


def test_a_model_without_parameters_is_refused():
    class NoParams(mg.Model):
        def forward(self, params, x):
            return x

    with pytest.raises(ValueError, match="NoParams has no parameters"):
        make_trainer().fit(NoParams(), [1.0], [1.0], steps=1)


@pytest.mark.parametrize("loss, optimizer, message", [
    ("mse", mg.SGD(0.01), "loss must be a minigd.Loss"),
    (mg.MSE(), 0.01, "optimizer must be a minigd.Optimizer"),
])
def test_trainer_arguments_are_checked(loss, optimizer, message):
    with pytest.raises(ValueError, match=message):
        mg.Trainer(loss, optimizer)


def test_fit_refuses_something_that_is_not_a_model():
    with pytest.raises(ValueError, match="model must be a minigd.Model"):
        make_trainer().fit(lambda x: x, [1.0], [1.0], steps=1)


class FailsToBegin(mg.Callback):
    def __init__(self, error):
        self.error = error

    def on_train_begin(self, logs):
        raise self.error


@pytest.mark.parametrize("error", [ValueError("bad setup"), KeyboardInterrupt()])
def test_an_error_in_on_train_begin_is_the_one_fit_raises(data, error):
    # the callbacks after the failing one never set themselves up, so their on_train_end
    # (which would trip over the missing setup) is not called; the one before it ends
    ended = []
    before = mg.LambdaCallback(on_train_end=lambda logs: ended.append("before"))
    after = [mg.EarlyStopping(restore_best_weights=True), mg.LivePlot()]
    with pytest.raises(type(error)) as raised:
        make_trainer(callbacks=[before, FailsToBegin(error), *after]).fit(mg.Linear(), *data, steps=5)
    assert raised.value is error and ended == ["before"]


@pytest.mark.parametrize("where", ["y", "validation_data y"])
def test_every_label_is_checked_before_the_first_step_not_only_the_first_batch(where):
    x, labels = mg.make_spiral_data(n=30, seed=0)
    bad = labels.astype(float)
    bad[-1] = 3.0  # in the last mini-batch, and out of range for 3 classes
    y, y_val = (bad, labels) if where == "y" else (labels, bad)
    model = mg.Sequential([mg.Dense(3, activation="softmax")], seed=0)
    with pytest.raises(ValueError, match=f"^{where}: y_true holds 3.0: labels must be whole numbers 0 to 2"):
        mg.Trainer(mg.SparseCategoricalCrossentropy(), mg.SGD(0.1)).fit(
            model, x, y, steps=5, batch_size=10, validation_data=(x, y_val))


LOGGER = mg.StepLogger()


@pytest.mark.parametrize("callbacks, message", [
    (5, "callbacks must be a list of minigd.Callback instances, got 5"),
    ("StepLogger", "callbacks must be a list of minigd.Callback instances"),
    ([lambda step, logs: None], "wrap plain functions in LambdaCallback"),
    ([LOGGER, mg.History(), LOGGER], "callbacks holds StepLogger.* twice"),
])
def test_callbacks_are_checked_when_the_trainer_is_made(callbacks, message):
    with pytest.raises(ValueError, match=message):
        make_trainer(callbacks=callbacks)


@pytest.mark.parametrize("make, message", [
    (lambda: mg.StepLogger(stream="stdout"), "stream must be an open text stream"),
    (lambda: mg.ProgressBar(interval="a"), "interval must be a real number, got 'a'"),
    (lambda: mg.ProgressBar(delay=-1), r"delay must be a finite number in \[0.0, inf\)"),
    (lambda: mg.LivePlot(interval="a"), "interval must be a real number, got 'a'"),
    (lambda: mg.LivePlot(budget=2), r"budget must be a fraction in \(0, 1\]"),
])
def test_callback_arguments_are_checked_in_the_constructor(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_model_that_forgot_super_init_is_told_so(data):
    class NoSuper(mg.Model):
        def __init__(self):
            self.slope = 1.0

        def forward(self, params, x):
            return x

    with pytest.raises(ValueError, match=r"NoSuper has no params: its __init__ must call super\(\).__init__"):
        make_trainer().fit(NoSuper(), *data, steps=1)


@pytest.mark.parametrize("monitor, hint", [("los", False), ("val_loss", True)])
def test_early_stopping_names_a_missing_key_and_hints_only_for_val(data, monitor, hint):
    with pytest.raises(ValueError, match=f"monitor='{monitor}' is not in the epoch logs") as error:
        make_trainer(callbacks=[mg.EarlyStopping(monitor=monitor, mode="min")]).fit(mg.Linear(), *data, steps=2)
    assert ("needs validation_data" in str(error.value)) == hint
