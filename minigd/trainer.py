"""The training loop: batches in, loss and gradients from a provider, updates from an optimizer.

``Trainer.fit`` reads like the seed article's loop; each piece it calls lives in the
module named after it: the step (`minigd.gradients`, `minigd.optimizers`),
the divergence guard (`minigd.divergence`), the counters and shuffling (`minigd.run_state`),
the hooks ([`CallbackList`][minigd.callbacks.CallbackList]), the
checkpoint file (`minigd.checkpoints`) and the input checks (``_validation``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ._validation import check_model_contract, check_path, check_seed, check_targets, check_validation_data, \
    check_xy
from .callbacks import Callback, CallbackList, History
from .divergence import DivergenceError, DivergenceGuard, first_loss_advice, largest_curvature, \
    learning_rate_advice
from .gradients import GradientProvider, get_provider, train_step_for, train_steps_for
from .interrupts import InterruptGuard
from .losses import Loss
from .models import Model
from .optimizers import Optimizer
from .run_state import RunPlan, RunState, plan_run

if TYPE_CHECKING:  # numpy.typing costs milliseconds at import; the hints need it only here
    from numpy.typing import ArrayLike

Logs = dict[str, float]

#: The most full-batch steps run as one chunk: long enough that a compiled provider's
#: per-call cost vanishes, short enough that the chunk's per-step records (rates, losses)
#: stay small however many steps the run has.
MAX_CHUNK = 1000


class Trainer:
    """Fits models by gradient descent, calling callbacks along the way.

    One step: take a batch, ask the gradient provider for the loss and ``dL/dparam``,
    let the optimizer compute the new parameters (e.g. ``w <- w - learning_rate *
    dL/dw``), check that the run has not diverged, then put the whole step in place.

    Args:
        loss: a [`Loss`][minigd.Loss], e.g. ``MSE()``.
        optimizer: an [`Optimizer`][minigd.Optimizer], e.g. ``SGD(learning_rate=0.01)``.
        gradients: ``"analytic"``, ``"tape"``, ``"numeric"`` or a provider object
            (see `minigd.gradients`).
        callbacks: [`Callback`][minigd.Callback] instances, called in the order given.
        on_divergence: ``"raise"`` (default) raises [`DivergenceError`][minigd.DivergenceError]
            when the loss becomes NaN/infinite or exceeds a million times
            max(first loss, 1); ``"stop"`` ends the run quietly instead, with a warning,
            and leaves the error in ``trainer.divergence``.
        metrics: names such as ``"accuracy"`` or ``"mae"`` (Keras's), or callables
            ``(y_true, y_pred) -> float``, in a list (or one alone); each is computed on
            the training data after every epoch, and as ``"val_<name>"`` on
            ``validation_data``. A name may not be ``loss``, ``learning_rate``,
            ``batch_size`` or start with ``val_``: those keys are the trainer's.

    Attributes:
        model, train_data, validation_data: what the current or last ``fit`` uses.
        optimizer_state: the optimizer's state (e.g. momentum velocities). It belongs
            to the model being trained: fitting the same model again continues it, as
            in Keras; fitting another model starts it afresh.
        stop_training: set it to True (from a callback) to end the run after this step.
        stop_reason: why the last run ended: ``"completed"``, ``"stopped"``,
            ``"diverged"``, ``"interrupted"`` or ``"error"``.
        divergence: the [`DivergenceError`][minigd.DivergenceError] of a run stopped by
            ``on_divergence="stop"``, else None.
        step, epoch: steps and epochs completed so far.
        total_steps: the steps the current or last ``fit`` planned to take.
        history: the [`History`][minigd.History] of the current or last ``fit``.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(seed=0)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01))
        >>> history = trainer.fit(mg.Linear(), x, y, steps=1000)
        >>> round(float(trainer.model.params["w"]), 3)
        1.915
    """

    def __init__(self, loss: Loss, optimizer: Optimizer, gradients: str | GradientProvider = "analytic",
                 callbacks: Sequence[Callback] | None = None, on_divergence: str = "raise",
                 metrics: Sequence[Any] | None = None) -> None:
        if not isinstance(loss, Loss):
            raise ValueError(f"loss must be a minigd.Loss such as MSE(), got {loss!r}.")
        if not isinstance(optimizer, Optimizer):
            raise ValueError(f"optimizer must be a minigd.Optimizer such as SGD(), got {optimizer!r}.")
        if on_divergence not in ("raise", "stop"):
            raise ValueError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}.")
        self.loss, self.optimizer, self.on_divergence = loss, optimizer, on_divergence
        self.gradients = get_provider(gradients)
        self.callbacks = _check_callbacks(callbacks)
        self.metrics = _check_metrics(metrics)
        self.model: Model | None = None
        self.optimizer_state: dict | None = None
        self.train_data: tuple[np.ndarray, np.ndarray] | None = None
        self.validation_data: tuple[np.ndarray, np.ndarray] | None = None
        self.history: History | None = None
        self.stop_training = False
        self.stop_reason: str | None = None
        self.divergence: DivergenceError | None = None
        self._run = RunState()
        self._plan: RunPlan | None = None

    step = property(lambda self: self._run.step, doc="Steps completed in the current or last run.")
    epoch = property(lambda self: self._run.epoch, doc="Epochs completed in the current or last run.")
    total_steps = property(lambda self: self._plan.steps if self._plan else 0,
                           doc="The steps the current or last run planned to take.")

    def fit(self, model: Model, x: ArrayLike, y: ArrayLike, *, steps: int | None = None,
            epochs: int | None = None, batch_size: int | None = None, shuffle: bool = True,
            validation_data: tuple[ArrayLike, ArrayLike] | None = None, seed: int | None = None,
            resume_from: str | os.PathLike | None = None) -> History:
        """Train ``model`` on ``(x, y)`` and return its [`History`][minigd.History].

        Args:
            model: the model to train; its parameters are updated in place.
            x: inputs, shape (n,) or (n, d).
            y: targets, shape (n,) or (n, k).
            steps: optimizer steps to take (the seed's "iterations").
            epochs: passes over the data. Give ``steps``, ``epochs`` or both (the run
                ends at whichever comes first).
            batch_size: examples per step; None uses all n (full batch, one step per epoch).
            shuffle: draw mini-batches in a new random order each epoch. A full batch is
                never shuffled: the order of a sum changes nothing but rounding.
            validation_data: ``(x_val, y_val)``; adds ``val_loss`` (and ``val_<metric>``)
                to each epoch's logs.
            seed: seed for the shuffling, so that runs repeat exactly.
            resume_from: a checkpoint written by `save_checkpoint` (or
                [`ModelCheckpoint`][minigd.ModelCheckpoint]) during a run with the same data, model,
                loss, optimizer, callbacks, ``batch_size`` and ``shuffle``; the run
                continues from it exactly as if never stopped. Anything different is a
                ValueError that names it.
        """
        x, y = self._prepare(model, x, y, steps, epochs, batch_size, shuffle, validation_data, seed)
        callbacks = self._callbacks = CallbackList(self.callbacks, self, self.history)
        logs = {}
        self._interrupts.install()
        try:
            callbacks.on_train_begin(logs)
            if resume_from is not None:
                self._resume(check_path(resume_from, "resume_from"))
            # Overflow is how divergence begins; the guard reports it in words, so numpy's
            # own warnings would only add noise.
            with np.errstate(over="ignore", invalid="ignore"):
                while self._run.step < self._plan.steps and not self.stop_training:
                    x_batch, y_batch, count = self._next_batch(x, y)
                    logs = self._train_steps(x_batch, y_batch, count)
                if self._run.examples:  # stopped, or out of steps, inside an epoch: end it too
                    logs = self._commit(self._end_epoch, logs)
            self.stop_reason = "stopped" if self.stop_training else "completed"
        except BaseException as error:
            self.stop_reason = _stop_reason(error)
            raise
        finally:
            try:
                callbacks.on_train_end(logs)
            finally:
                self._interrupts.uninstall()
        return self.history

    def _train_steps(self, x_batch: np.ndarray, y_batch: np.ndarray, count: int) -> Logs:
        """``count`` steps on one batch, as the seed writes them: loss and gradient, update,
        (guard), commit, log. Usually one; see ``_next_batch`` for when it is more."""
        logs: Logs = {"batch_size": len(y_batch)}
        self._begin_step(logs)
        rates = self._learning_rates(count)
        losses, new_params, new_state, refused = self._steps(
            self.model.params, self.optimizer_state, x_batch, y_batch, rates, self._guard)
        if losses:  # every step of the chunk is put in place, or none of them
            logs = self._commit(self._put_in_place, new_params, new_state, losses, rates, logs)
        if refused is not None:  # the guard refused the step after the last one committed
            logs = {"batch_size": len(y_batch), "loss": refused, "learning_rate": rates[len(losses)]}
            self._diverged(refused, rates[len(losses)])  # raises, or stops the run
        return logs

    def _begin_step(self, logs: Logs) -> None:
        run = self._run
        if run.batch_start == 0:
            self._callbacks.on_epoch_begin(run.epoch, {})
        self._callbacks.on_step_begin(run.step, logs)

    def _learning_rates(self, count: int) -> list[float]:
        """The rate of each of the next ``count`` steps (a schedule's, or the number)."""
        rate_at, iterations = self.optimizer.learning_rate_at, self.optimizer_state["iterations"]
        if count == 1 or not callable(self.optimizer.learning_rate):
            return [rate_at(iterations)] * count
        return [rate_at(iterations + index) for index in range(count)]

    def _put_in_place(self, new_params, new_state, losses: list[float], rates: list[float],
                      logs: Logs) -> Logs:
        """The parameters and state after the chunk, then each of its steps counted and
        logged in order: counters, History, hooks, epoch ends.

        The first step's hooks ran live up to ``on_step_begin``; every later step of a
        chunk gets its ``on_epoch_begin``/``on_step_begin`` here, replayed.
        """
        self.model.params.update(new_params)
        self.optimizer_state = new_state
        run, callbacks, n = self._run, self._callbacks, len(self.train_data[1])
        batch_size, examples = self._plan.batch_size, logs["batch_size"]
        begins = callbacks.overrides("on_epoch_begin") or callbacks.overrides("on_step_begin")
        for index, (loss, rate) in enumerate(zip(losses, rates)):
            if index:  # a later step of the chunk: its own logs; its begin hooks, if any
                logs = {"batch_size": examples}
                if begins:
                    self._begin_step(logs)
            logs["loss"], logs["learning_rate"] = loss, rate
            run.advance(batch_size, examples, loss)
            callbacks.on_step_end(run.step - 1, logs)
            if run.batch_start >= n:
                logs = self._end_epoch(logs)
        return logs

    def _commit(self, log, *args) -> Logs:
        """Run ``log(*args)`` as one whole (a Ctrl-C meanwhile is held back until it is
        done: [`InterruptGuard`][minigd.interrupts.InterruptGuard]), then write the checkpoints its
        hooks asked for, so that they hold the state after it all."""
        with self._interrupts:
            self._in_hook = True
            try:
                logs = log(*args)
            finally:
                self._in_hook = False
            if self._requested_checkpoints:
                self._write_requested_checkpoints()
        return logs

    # -- epochs ---------------------------------------------------------------------------

    def _next_batch(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        """The next step's batch, and how many steps in a row may take it.

        A mini-batch serves one step. The full batch serves every step, so the steps up
        to the next one that Python must see run as one *chunk* (a compiled provider
        runs them in one call): the chunk ends at the first step a callback needs live
        ([`Callback.next_step_needed`][minigd.Callback.next_step_needed]), at the run's
        last step, after ``MAX_CHUNK`` steps, and after every step when each epoch's end
        evaluates metrics or validation data.
        """
        run, plan = self._run, self._plan
        if plan.batch_size < len(y):
            order = run.epoch_order(len(y)) if plan.shuffle else None
            return *_batch(x, y, order, run.batch_start, plan.batch_size), 1
        last = plan.steps - 1
        if not (self.metrics or self.validation_data is not None):
            needed = self._callbacks.next_step_needed(run.step)
            last = last if needed is None else min(max(needed, run.step), last)  # never in the past
        return x, y, min(last - run.step + 1, MAX_CHUNK)

    def _end_epoch(self, step_logs: Logs) -> Logs:
        """The epoch's logs (loss, metrics, validation), then ``on_epoch_end``.

        Called while its last step is committed, so both are put in place together.
        """
        run = self._run
        # the rate of the epoch's last step (computed again if the run resumed right after it)
        if "learning_rate" in step_logs:
            last_rate = step_logs["learning_rate"]
        else:
            last_rate = self.optimizer.learning_rate_at(self.optimizer_state["iterations"] - 1)
        logs = {"loss": run.epoch_loss(), "learning_rate": last_rate}
        if self.metrics:
            logs.update(self._evaluate(*self.train_data))
        if self.validation_data is not None:
            x_val, y_val = self.validation_data
            # forward, not model(): fit checked x_val once; no need to each epoch
            logs["val_loss"] = self.loss(y_val, self.model.forward(self.model.params, x_val))
            if self.metrics:
                logs.update({f"val_{key}": value for key, value in self._evaluate(x_val, y_val).items()})
        epoch = run.epoch
        run.end_epoch()
        self._callbacks.on_epoch_end(epoch, logs)
        return logs

    def _evaluate(self, x: np.ndarray, y: np.ndarray) -> Logs:
        y_pred = self.model.forward(self.model.params, x)
        return {metric.name: float(metric(y, y_pred)) for metric in self.metrics}

    # -- before the run -------------------------------------------------------------------

    def _prepare(self, model, x, y, steps, epochs, batch_size, shuffle, validation_data, seed):
        """Check everything once, before the first step; set up the run's state."""
        if not isinstance(model, Model):
            raise ValueError(f"model must be a minigd.Model, got {model!r}.")
        if not isinstance(getattr(model, "params", None), dict):
            raise ValueError(f"{type(model).__name__} has no params: its __init__ must call "
                             "super().__init__(name=initial_value, ...) (Model's constructor).")
        x, y = check_xy(x, y)
        model.build(x.shape)
        self._plan = plan_run(len(y), steps, epochs, batch_size, shuffle)
        seed = check_seed(seed)
        batch = self._plan.batch_size
        y_pred = check_model_contract(model, self.loss, x[:batch], y[:batch])
        check_targets(self.loss, y, y_pred, "y")  # all of y: the contract saw one batch
        if validation_data is not None:
            validation_data = check_validation_data(validation_data, model)
            check_targets(self.loss, validation_data[1], y_pred, "validation_data y")
        if model is not self.model or self.optimizer_state is None:
            self.optimizer_state = self.optimizer.init(model.params)  # the state is this model's
        self.model, self.train_data, self.validation_data = model, (x, y), validation_data
        self.history = next((c for c in self.callbacks if isinstance(c, History)), None) or History()
        self.stop_training, self.stop_reason, self.divergence = False, None, None
        self._run, self._guard, self._interrupts = RunState(seed), DivergenceGuard(), InterruptGuard()
        self._start_params = model.get_weights()  # for the curvature, if the run diverges
        from . import checkpoints  # json, hashlib and zipfile: imported at the first fit, not with minigd

        self._fingerprint = checkpoints.RunFingerprint(model, self.loss, self.optimizer, self._plan, x, y)
        self._in_hook, self._requested_checkpoints = False, []
        self._step = train_step_for(self.gradients, model, self.loss, self.optimizer, x.shape, y.shape)
        self._steps = train_steps_for(self._step)
        return x, y

    # -- divergence -----------------------------------------------------------------------

    def _diverged(self, loss: float, learning_rate: float) -> None:
        error = self._divergence_error(loss, learning_rate)
        if self.on_divergence == "raise":
            raise error
        self.divergence = error
        self.stop_training = True
        warnings.warn(str(error), RuntimeWarning, stacklevel=5)

    def _divergence_error(self, loss: float, learning_rate: float) -> DivergenceError:
        x, y = self.train_data
        if self._run.step == 0 and not np.isfinite(loss):
            return DivergenceError(0, loss, learning_rate, None, self.history, first_loss_advice(x, y))

        def gradient(params):  # of the loss on all the data, by the run's own provider
            return self.gradients.value_and_grad(self.model, self.loss, params, x, y)[1]

        with np.errstate(all="ignore"):
            curvature = largest_curvature(gradient, self._start_params)
        bound, advice = learning_rate_advice(self.optimizer, curvature)
        return DivergenceError(self._run.step, loss, learning_rate, bound, self.history, advice)

    # -- checkpoints ----------------------------------------------------------------------

    def save_checkpoint(self, path: str | os.PathLike) -> None:
        """Write everything needed to resume this run exactly (atomically; see ``fit``).

        That is the model's parameters, the optimizer's state and learning rate, the
        counters, the position inside the epoch with the shuffling generator's state,
        the divergence guard, every callback's state (the History's record included)
        and a fingerprint of the data and the run's options. Called from a callback's
        ``on_step_end`` or ``on_epoch_end``, the file is written once every callback
        has run that hook, so that it holds their state after it.
        """
        if self.model is None:
            raise ValueError("save_checkpoint needs a run: call it during or after fit().")
        if self._in_hook:
            self._requested_checkpoints.append(path)
            return
        from . import checkpoints

        checkpoints.write_checkpoint(path, {
            "params": self.model.params, "optimizer_state": self.optimizer_state,
            "learning_rate": self.optimizer.learning_rate, "run": self._run.get_state(),
            "stop_training": self.stop_training, "guard": self._guard.get_state(),
            "callbacks": self._callbacks.get_state(), "fingerprint": self._fingerprint.value(),
        })

    def _write_requested_checkpoints(self) -> None:
        while self._requested_checkpoints:
            self.save_checkpoint(self._requested_checkpoints.pop(0))

    def _resume(self, path) -> None:
        """Put the model, optimizer, counters and callbacks where the checkpoint left them.

        All or nothing for what outlives the run: if the checkpoint does not fit this run
        (other callbacks, a damaged file), the model's weights, the optimizer's state and
        its learning rate are left as they were, and the error names the file.
        """
        from . import checkpoints

        content = checkpoints.read_checkpoint(path)
        before = self.model.get_weights(), self.optimizer_state, self.optimizer.learning_rate
        try:
            self._fingerprint.check(content["fingerprint"], path)
            self.model.set_weights(content["params"])
            self.optimizer_state = content["optimizer_state"]
            if not callable(self.optimizer.learning_rate):  # a callback may have changed it
                self.optimizer.learning_rate = content["learning_rate"]
            self._run.set_state(content["run"])
            self._guard.set_state(content["guard"])
            self._callbacks.set_state(content["callbacks"])
            self.stop_training = content["stop_training"]
        except Exception as error:
            self.model.set_weights(before[0])
            self.optimizer_state, self.optimizer.learning_rate = before[1:]
            if isinstance(error, ValueError) and str(path) in str(error):
                raise  # a mismatch, explained already, with the file's name
            reason = error if isinstance(error, ValueError) else f"the trainer state is damaged ({error!r})."
            raise ValueError(f"{path}: {reason}") from None

    def __repr__(self) -> str:
        return (f"Trainer(loss={self.loss!r}, optimizer={self.optimizer!r}, "
                f"gradients={self.gradients!r}, callbacks={self.callbacks!r}, "
                f"step={self.step}, epoch={self.epoch})")


def _batch(x, y, order, start, batch_size):
    if order is None and start == 0 and batch_size >= len(y):
        return x, y  # the full batch: no slicing at all
    if order is None:
        return x[start:start + batch_size], y[start:start + batch_size]  # views, no copy
    index = order[start:start + batch_size]
    return x[index], y[index]


def _stop_reason(error: BaseException) -> str:
    if isinstance(error, KeyboardInterrupt):
        return "interrupted"
    return "diverged" if isinstance(error, DivergenceError) else "error"


#: Log keys the trainer writes itself, which a metric's name must not overwrite.
RESERVED_LOG_KEYS = ("loss", "learning_rate", "batch_size")


def _check_metrics(metrics) -> list:
    if not metrics:
        return []
    from .metrics import get_metric

    if isinstance(metrics, str) or callable(metrics):  # one metric: metrics="mae"
        metrics = [metrics]
    metrics = [get_metric(metric) for metric in metrics]
    names = [metric.name for metric in metrics]
    for name in names:
        # "val_loss" would collide with the validation loss, "val_x" with val_ of a metric "x"
        if name in RESERVED_LOG_KEYS or name.startswith("val_") or names.count(name) > 1:
            raise ValueError(f"metrics: the name {name!r} is taken (by the trainer's own logs "
                             f"{list(RESERVED_LOG_KEYS)}, the val_ prefix, or another metric); "
                             "give the metric another name, e.g. Metric(function, name=...).")
    return metrics


def _check_callbacks(callbacks) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback):
        return [callbacks]
    if isinstance(callbacks, (str, bytes)) or not isinstance(callbacks, Iterable):
        raise ValueError(f"callbacks must be a list of minigd.Callback instances, got {callbacks!r}.")
    callbacks = list(callbacks)
    for index, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise ValueError(
                f"callbacks must be minigd.Callback instances, got {callback!r}; "
                "wrap plain functions in LambdaCallback(on_step_end=...)."
            )
        if any(callback is other for other in callbacks[:index]):  # it would run twice a step
            raise ValueError(f"callbacks holds {callback!r} twice; give each callback once.")
    return callbacks
