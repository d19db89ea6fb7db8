"""The training loop: batches in, gradients from a provider, updates from an optimizer."""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from ._validation import check_positive_int, check_xy
from .callbacks import Callback, History
from .checkpoints import read_checkpoint, write_checkpoint
from .divergence import GROWTH_LIMIT, DivergenceError, stable_learning_rate
from .gradients import GradientProvider, get_provider
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
        >>> round(float(trainer.model.params["w"]), 3)
        1.915
    """

    def __init__(self, loss: Loss, optimizer: Optimizer, gradients: str | GradientProvider = "analytic",
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

    def fit(self, model: Model, x: ArrayLike, y: ArrayLike, *, steps: int | None = None,
            epochs: int | None = None, batch_size: int | None = None, shuffle: bool = True,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, seed: int | None = None,
            resume_from: str | os.PathLike | None = None) -> History:
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
            resume_from: a checkpoint written by :meth:`save_checkpoint` (or
                :class:`~minigd.ModelCheckpoint`) during a run with the same data and
                ``batch_size``; the run continues from it exactly as if never stopped
                (``seed`` is then ignored: the shuffling continues from the file).
        """
        if not isinstance(model, Model):
            raise ValueError(f"model must be a minigd.Model, got {model!r}.")
        x, y = check_xy(x, y)
        _check_model_takes(model, x)
        if validation_data is not None:
            validation_data = _check_validation_data(validation_data, model)
        steps, epochs, batch_size = _plan_run(len(x), steps, epochs, batch_size)

        self.model, self.train_data, self.validation_data = model, (x, y), validation_data
        self.stop_training, self.step, self.epoch, self.divergence = False, 0, 0, None
        self.total_steps = steps
        self._batch_size = batch_size
        self._shuffle = shuffle and batch_size < len(x)
        self._rng = np.random.default_rng(seed)
        self._position = _Position()
        self._previous_params = dict(model.params)
        saved = self._read_resume_file(resume_from) if resume_from is not None else None
        # after a resume, so a compiled step starts from the restored parameters
        make_step = getattr(self.gradients, "train_step_for", None)
        self._compiled_step = make_step(model, self.loss, self.optimizer, x.shape) if make_step else None
        callbacks = self._attach_callbacks()
        logs: dict[str, float] = {}
        _call(callbacks["on_train_begin"], logs)
        if saved is not None:
            self.history.set_state(saved)  # after on_train_begin, which starts a fresh record
        try:
            # Overflow is how divergence begins; the trainer reports it (DivergenceError)
            # in words, so numpy's own warnings would only add noise.
            with np.errstate(over="ignore", invalid="ignore"):
                logs = self._run_epochs(model, x, y, steps, epochs, callbacks)
        except (KeyboardInterrupt, DivergenceError):
            # The model holds the last completed step; let callbacks close files etc.
            _call(callbacks["on_train_end"], logs)
            raise
        _call(callbacks["on_train_end"], logs)
        return self.history

    def _run_epochs(self, model, x, y, steps, epochs, callbacks) -> dict[str, float]:
        position, rng, batch_size, n = self._position, self._rng, self._batch_size, len(y)
        on_epoch_begin, on_epoch_end = callbacks["on_epoch_begin"], callbacks["on_epoch_end"]
        on_step_begin, on_step_end = callbacks["on_step_begin"], callbacks["on_step_end"]
        logs: dict[str, float] = {}
        while self.epoch < epochs and self.step < steps and not self.stop_training:
            epoch = self.epoch
            if position.batch_start == 0:  # not resuming in the middle of this epoch
                for method in on_epoch_begin:
                    method(epoch, {})
            order = None
            if self._shuffle:
                # kept so that a checkpoint mid-epoch can replay this permutation
                position.rng_state = rng.bit_generator.state
                order = _indices(n)
                rng.shuffle(order)  # in place: permutation() would hold a second copy
            while position.batch_start < n:
                x_batch, y_batch = _batch(x, y, order, position.batch_start, batch_size)
                examples = len(y_batch)
                step_logs = {"batch_size": examples}
                for method in on_step_begin:
                    method(self.step, step_logs)
                step_logs["loss"] = loss_value = self._train_step(model, x_batch, y_batch)
                if self.divergence is not None:  # on_divergence="stop": no update was made
                    break
                # Book-keeping before on_step_end, so a checkpoint taken there is complete.
                self.step += 1
                position.batch_start += batch_size
                position.loss_sum += loss_value * examples
                position.examples += examples
                for method in on_step_end:
                    method(self.step - 1, step_logs)
                if self.stop_training or self.step >= steps:
                    break
            if position.examples == 0:  # diverged on the epoch's first step: nothing to report
                break
            logs = {"loss": position.loss_sum / position.examples}
            if self.validation_data is not None:
                x_val, y_val = self.validation_data
                # forward, not model(): fit checked x_val once; no need to each epoch
                logs["val_loss"] = self.loss(y_val, model.forward(model.params, x_val))
            self.epoch = epoch + 1
            position.next_epoch()
            for method in on_epoch_end:
                method(epoch, logs)
        return logs

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write everything needed to resume this run exactly (atomically; see ``fit``).

        That is the model's parameters, the optimizer's state (e.g. momentum
        velocities), the step and epoch counters, the position inside the epoch with
        the shuffling generator's state, and the History's record so far. Callbacks'
        own state (e.g. EarlyStopping's patience counter) is not included.
        """
        if self.model is None:
            raise ValueError("save_checkpoint needs a run: call it during or after fit().")
        position = self._position
        # mid-epoch: the state that drew this epoch's permutation; between epochs: the live one
        rng_state = position.rng_state if position.batch_start else self._rng.bit_generator.state
        state = {
            "step": self.step, "epoch": self.epoch, "batch_start": position.batch_start,
            "loss_sum": position.loss_sum, "examples": position.examples,
            "loss_limit": position.loss_limit, "rng_state": rng_state,
            "examples_in_data": len(self.train_data[1]), "batch_size": self._batch_size,
            "optimizer": type(self.optimizer).__name__, "history": self.history.get_state(),
        }
        write_checkpoint(path, self.model.params, self.optimizer.get_state(), state)

    def _read_resume_file(self, path) -> dict:
        """Restore the model, optimizer and position from a checkpoint; return the history."""
        params, optimizer_state, state = read_checkpoint(path)
        n, batch_size = len(self.train_data[1]), self._batch_size
        if (state["examples_in_data"], state["batch_size"]) != (n, batch_size):
            raise ValueError(
                f"{path} comes from a run on {state['examples_in_data']} examples with batch_size="
                f"{state['batch_size']}; this run has {n} and {batch_size}, so it cannot continue it."
            )
        if state["optimizer"] != type(self.optimizer).__name__:
            raise ValueError(f"{path} was written with a {state['optimizer']} optimizer, "
                             f"not {type(self.optimizer).__name__}.")
        self.model.set_weights(params)
        self.optimizer.set_state(optimizer_state)
        self.step, self.epoch = state["step"], state["epoch"]
        self._position = _Position(state["batch_start"], state["loss_sum"], state["examples"],
                                   state["loss_limit"])
        self._rng.bit_generator.state = state["rng_state"]
        self._previous_params = dict(self.model.params)
        return state["history"]

    def _train_step(self, model: Model, x: np.ndarray, y: np.ndarray) -> float:
        """One gradient-descent step on one batch; returns the batch loss before the update."""
        if self._compiled_step is not None:  # the provider does the update too
            loss_value, new_params = self._compiled_step(model.params, x, y)
        else:
            loss_value, grads = self.gradients.value_and_grad(model, self.loss, model.params, x, y)
            new_params = None
        position = self._position
        if position.loss_limit is None:  # the first step sets the bar for divergence
            position.loss_limit = GROWTH_LIMIT * max(loss_value, 1.0)
        if not loss_value <= position.loss_limit:  # also true for NaN
            self._diverged(model, loss_value)
            return loss_value
        # apply_gradients returns new arrays, so keeping the old dict costs no copy
        self._previous_params = dict(model.params)
        if new_params is None:
            new_params = self.optimizer.apply_gradients(model.params, grads)
        model.params.update(new_params)
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

    def _attach_callbacks(self) -> dict[str, list]:
        """Set up the callbacks; return, per hook, the methods that actually do something."""
        histories = [c for c in self.callbacks if isinstance(c, History)]
        if histories:
            self.history = histories[0]
            callbacks = list(self.callbacks)
        else:
            self.history = History()
            callbacks = [self.history, *self.callbacks]  # first, so it sees logs before others
        for callback in callbacks:
            callback.set_trainer(self)
        # A hook left as Callback's empty method is skipped, so a callback that does
        # nothing on a step costs nothing on that step.
        return {hook: [getattr(c, hook) for c in callbacks if _overrides(c, hook)] for hook in HOOKS}


@dataclass
class _Position:
    """Where a run is inside its current epoch: what a checkpoint must keep to resume."""

    batch_start: int = 0  # index of the next batch's first example
    loss_sum: float = 0.0  # sum of batch loss * batch size over the epoch so far
    examples: int = 0  # examples seen in the epoch so far
    loss_limit: float | None = None  # divergence bar, set by the run's first loss
    rng_state: dict | None = None  # shuffling generator state that drew this epoch's order

    def next_epoch(self) -> None:
        self.batch_start, self.loss_sum, self.examples = 0, 0.0, 0


def _plan_run(n: int, steps, epochs, batch_size) -> tuple[int, int, int]:
    """Check the run's length arguments; return (steps, epochs, batch_size), all filled in.

    Each epoch takes ceil(n / batch_size) steps. Given only epochs, steps follow; given
    only steps, epochs follow; given both, the run ends at whichever comes first.
    """
    steps = check_positive_int(steps, "steps", allow_none=True)
    epochs = check_positive_int(epochs, "epochs", allow_none=True)
    if steps is None and epochs is None:
        raise ValueError("give steps (optimizer steps) or epochs (passes over the data), or both.")
    batch_size = n if batch_size is None else check_positive_int(batch_size, "batch_size")
    if batch_size > n:
        raise ValueError(
            f"batch_size={batch_size} is larger than the {n} training examples: "
            "use batch_size=None for full batches, or a smaller number."
        )
    batches_per_epoch = math.ceil(n / batch_size)
    if epochs is None:
        epochs = math.ceil(steps / batches_per_epoch)
    steps = min(steps or math.inf, epochs * batches_per_epoch)
    return steps, epochs, batch_size


HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_step_begin", "on_step_end")


def _overrides(callback: Callback, hook: str) -> bool:
    method = getattr(callback, hook)
    # bound methods carry __func__; a function stored on the instance (LambdaCallback) does not
    return getattr(method, "__func__", None) is not getattr(Callback, hook)


def _call(methods, *args) -> None:
    for method in methods:
        method(*args)


def _indices(n: int) -> np.ndarray:
    """0..n-1, in int32 when it fits: the shuffled order then costs 4 bytes per example,
    a quarter of the data's x and y, and shuffles exactly as int64 would."""
    return np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)


def _batch(x, y, order, start, batch_size):
    if order is None and start == 0 and batch_size >= len(y):
        return x, y  # the full batch: no slicing at all
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
