"""The training loop: batches in, gradients from a provider, updates from an optimizer."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from ._validation import check_positive_int, check_xy
from .callbacks import Callback, History
from .divergence import GROWTH_LIMIT, DivergenceError, stable_learning_rate
from .gradients import get_provider
from .losses import MSE, Loss
from .models import Linear, Model
from .optimizers import SGD, Optimizer


class Trainer:
    """Fits models by gradient descent, calling callbacks along the way.

    One step: take a batch, ask the gradient provider for the loss and ``dL/dparam``,
    let the optimizer update the parameters (e.g. ``w <- w - learning_rate * dL/dw``).

    Args:
        loss: a :class:`~minigd.Loss`, e.g. ``MSE()``.
        optimizer: an :class:`~minigd.Optimizer`, e.g. ``SGD(learning_rate=0.01)``.
        gradients: ``"analytic"``, ``"tape"``, ``"numeric"`` or a provider object
            (see :mod:`minigd.gradients`).
        callbacks: :class:`~minigd.Callback` instances, called in the order given.
        on_divergence: ``"raise"`` (default) raises :class:`~minigd.DivergenceError`
            when the loss becomes NaN/infinite or exceeds a million times
            max(first loss, 1); ``"stop"`` ends the run quietly instead, with a warning,
            and leaves the error in ``trainer.divergence``.

    Attributes:
        model, train_data, validation_data: what the current or last ``fit`` uses.
        stop_training: set it to True (from a callback) to end the run after this step.
        divergence: the :class:`~minigd.DivergenceError` of a run stopped by
            ``on_divergence="stop"``, else None.
        step, epoch: steps and epochs completed so far.
        total_steps: the steps the current or last ``fit`` planned to take.
        history: the :class:`~minigd.History` of the current or last ``fit``.

    Example:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(seed=0)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01))
        >>> history = trainer.fit(mg.Linear(), x, y, steps=1000)
        >>> round(float(trainer.model.params["w"]), 2)
        1.92
    """

    def __init__(self, loss: Loss, optimizer: Optimizer, gradients="analytic",
                 callbacks: Sequence[Callback] | None = None, on_divergence: str = "raise") -> None:
        if not isinstance(loss, Loss):
            raise ValueError(f"loss must be a minigd.Loss such as MSE(), got {loss!r}.")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a minigd.Optimizer such as SGD(), got {optimizer!r}.")
        self.loss = loss
        self.optimizer = optimizer
        self.gradients = get_provider(gradients)
        self.callbacks = _check_callbacks(callbacks)
        if on_divergence not in ("raise", "stop"):
            raise ValueError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}.")
        self.on_divergence = on_divergence
        self.divergence: DivergenceError | None = None
        self.model: Model | None = None
        self.train_data: tuple[np.ndarray, np.ndarray] | None = None
        self.validation_data: tuple[np.ndarray, np.ndarray] | None = None
        self.stop_training = False
        self.step = 0
        self.epoch = 0
        self.total_steps = 0
        self.history: History | None = None

    def fit(self, model: Model, x, y, *, steps: int | None = None, epochs: int | None = None,
            batch_size: int | None = None, shuffle: bool = True, validation_data=None,
            seed: int | None = None) -> History:
        """Train ``model`` on ``(x, y)`` and return its :class:`~minigd.History`.

        Args:
            model: the model to train; its parameters are updated in place.
            x: inputs, shape (n,) or (n, d).
            y: targets, shape (n,).
            steps: optimizer steps to take (the seed's "iterations").
            epochs: passes over the data. Give ``steps``, ``epochs`` or both (the run
                ends at whichever comes first).
            batch_size: examples per step; None uses all n (full batch, one step per epoch).
            shuffle: draw mini-batches in a new random order each epoch. A full batch is
                never shuffled: the order of a sum changes nothing but rounding.
            validation_data: ``(x_val, y_val)``; adds ``val_loss`` to each epoch's logs.
            seed: seed for the shuffling, so that runs repeat exactly.
        """
        if not isinstance(model, Model):
            raise ValueError(f"model must be a minigd.Model, got {model!r}.")
        x, y = check_xy(x, y)
        _check_model_takes(model, x)
        if validation_data is not None:
            validation_data = _check_validation_data(validation_data, model)
        steps = check_positive_int(steps, "steps", allow_none=True)
        epochs = check_positive_int(epochs, "epochs", allow_none=True)
        if steps is None and epochs is None:
            raise ValueError("give steps (optimizer steps) or epochs (passes over the data), or both.")
        batch_size = len(x) if batch_size is None else check_positive_int(batch_size, "batch_size")
        if batch_size > len(x):
            raise ValueError(
                f"batch_size={batch_size} is larger than the {len(x)} training examples: "
                "use batch_size=None for full batches, or a smaller number."
            )
        batches_per_epoch = math.ceil(len(x) / batch_size)
        if epochs is None:
            epochs = math.ceil(steps / batches_per_epoch)
        if steps is None:
            steps = epochs * batches_per_epoch

        self.model, self.train_data, self.validation_data = model, (x, y), validation_data
        self.stop_training, self.step, self.epoch, self.divergence = False, 0, 0, None
        self.total_steps = min(steps, epochs * batches_per_epoch)
        callbacks = self._attach_callbacks()
        shuffle = shuffle and batch_size < len(x)
        plan = (steps, epochs, batch_size, shuffle, np.random.default_rng(seed))
        logs: dict[str, float] = {}
        _call(callbacks, "on_train_begin", logs)
        try:
            logs = self._run_epochs(model, x, y, plan, callbacks)
        except (KeyboardInterrupt, DivergenceError):
            # The model holds the last completed step; let callbacks close files etc.
            _call(callbacks, "on_train_end", logs)
            raise
        _call(callbacks, "on_train_end", logs)
        return self.history

    def _run_epochs(self, model, x, y, plan, callbacks) -> dict[str, float]:
        steps, epochs, batch_size, shuffle, rng = plan
        self._loss_limit = None  # set from the first loss
        self._previous_params = dict(model.params)
        logs: dict[str, float] = {}
        for epoch in range(epochs):
            _call(callbacks, "on_epoch_begin", epoch, {})
            order = rng.permutation(len(x)) if shuffle else None
            weighted_loss, seen = 0.0, 0
            for start in range(0, len(x), batch_size):
                x_batch, y_batch = _batch(x, y, order, start, batch_size)
                step_logs = {"batch_size": len(y_batch)}
                _call(callbacks, "on_step_begin", self.step, step_logs)
                step_logs["loss"] = self._train_step(model, x_batch, y_batch)
                if self.divergence is not None:  # on_divergence="stop": no update was made
                    break
                _call(callbacks, "on_step_end", self.step, step_logs)
                weighted_loss += step_logs["loss"] * len(y_batch)
                seen += len(y_batch)
                self.step += 1
                if self.stop_training or self.step >= steps:
                    break
            if seen == 0:  # diverged on the epoch's first step: no epoch to report
                break
            logs = {"loss": weighted_loss / seen}
            if self.validation_data is not None:
                x_val, y_val = self.validation_data
                logs["val_loss"] = self.loss(y_val, model(x_val))
            self.epoch = epoch + 1
            _call(callbacks, "on_epoch_end", epoch, logs)
            if self.stop_training or self.step >= steps:
                break
        return logs

    def _train_step(self, model: Model, x: np.ndarray, y: np.ndarray) -> float:
        """One gradient-descent step on one batch; returns the batch loss before the update."""
        loss_value, grads = self.gradients.value_and_grad(model, self.loss, model.params, x, y)
        if self._loss_limit is None:
            self._loss_limit = GROWTH_LIMIT * max(loss_value, 1.0)
        if not loss_value <= self._loss_limit:  # also true for NaN
            self._diverged(model, loss_value)
            return loss_value
        # apply_gradients returns new arrays, so keeping the old dict costs no copy
        self._previous_params = dict(model.params)
        model.params.update(self.optimizer.apply_gradients(model.params, grads))
        return loss_value

    def _diverged(self, model: Model, loss_value: float) -> None:
        if not all(np.isfinite(value).all() for value in model.params.values()):
            model.params.update(self._previous_params)  # the last finite parameters
        bound = None
        if isinstance(model, Linear) and isinstance(self.loss, MSE) and isinstance(self.optimizer, SGD):
            bound = stable_learning_rate(self.train_data[0], self.optimizer.momentum,
                                         self.optimizer.nesterov)
        error = DivergenceError(self.step, loss_value, self.optimizer.learning_rate, bound,
                                self.history)
        if self.on_divergence == "raise":
            raise error
        self.divergence = error
        self.stop_training = True
        warnings.warn(str(error), RuntimeWarning, stacklevel=4)

    def _attach_callbacks(self) -> list[Callback]:
        histories = [c for c in self.callbacks if isinstance(c, History)]
        if histories:
            self.history = histories[0]
            callbacks = list(self.callbacks)
        else:
            self.history = History()
            callbacks = [self.history, *self.callbacks]  # first, so it sees logs before others
        for callback in callbacks:
            callback.set_trainer(self)
        return callbacks


def _call(callbacks, hook: str, *args) -> None:
    for callback in callbacks:
        getattr(callback, hook)(*args)


def _batch(x, y, order, start, batch_size):
    if order is None:
        return x[start:start + batch_size], y[start:start + batch_size]  # views, no copy
    index = order[start:start + batch_size]
    return x[index], y[index]


def _check_callbacks(callbacks) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    callbacks = list(callbacks)
    for callback in callbacks:
        if not isinstance(callback, Callback):
            raise ValueError(
                f"callbacks must be minigd.Callback instances, got {callback!r}; "
                "wrap plain functions in LambdaCallback(on_step_end=...)."
            )
    return callbacks


def _check_model_takes(model: Model, x: np.ndarray) -> None:
    """Fail before training if the model cannot take x or returns the wrong shape."""
    if not model.params:
        raise ValueError(
            f"{type(model).__name__} has no parameters to train: declare them with "
            "super().__init__(name=initial_value, ...) or self.add_param(name, value)."
        )
    model.check_input(x)
    sample = x[:2]
    y_pred = np.asarray(model.forward(model.params, sample))
    if y_pred.shape != (len(sample),):
        raise ValueError(
            f"{type(model).__name__}.forward returned shape {y_pred.shape} for x of shape "
            f"{sample.shape}: it must return one prediction per example, shape ({len(sample)},)."
        )


def _check_validation_data(validation_data, model: Model):
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
        raise ValueError(
            f"validation_data must be a pair (x_val, y_val), got {type(validation_data).__name__}."
        )
    x_val, y_val = check_xy(*validation_data, x_name="validation_data x", y_name="validation_data y")
    model.check_input(x_val)
    return x_val, y_val
