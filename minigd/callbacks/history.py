"""History: the record of a run, as Keras keeps it."""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import Callback


class History(Callback):
    """Records the logs; ``Trainer.fit`` always attaches one and returns it.

    As in Keras, ``history.history`` has one entry per epoch for every key, so
    ``pandas.DataFrame(history.history)`` is a table of epochs. Under full-batch
    descent an epoch is one step, so there it also holds every step's loss.

    Attributes:
        history: logs key -> one value per epoch (``loss``, ``val_loss``, metrics,
            ``learning_rate``).
        epoch: the epoch numbers those values belong to.
        step_history: logs key -> one value per step (``loss``: the batch loss before
            the step's update; ``learning_rate``: the rate the step used).
        steps: the step numbers ``step_history``'s values belong to.
        epoch_end_steps: for each epoch, the number of its last step (to draw epoch
            values on a step axis).
        params: parameter name -> values after each step; filled only with
            ``record_params=True`` (needed to draw the descent path).
        initial_params: the parameters before the first step (``record_params=True``).

    Args:
        record_params: also keep a copy of the parameters after every step. Off by
            default, so plain training pays nothing for it.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> history = mg.Trainer(mg.MSE(), mg.SGD()).fit(mg.Linear(), x, y, epochs=3, batch_size=50)
        >>> history.epoch, len(history.history["loss"]), len(history.step_history["loss"])
        ([0, 1, 2], 3, 6)
    """

    def __init__(self, record_params: bool = False) -> None:
        self.record_params = record_params
        self._clear()

    def _clear(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.step_history: dict[str, list[float]] = {key: [] for key in STEP_KEYS}
        self.steps: list[int] = []
        self.epoch_end_steps: list[int] = []
        self.params: dict[str, list[np.ndarray]] = {}
        self.initial_params: dict[str, np.ndarray] = {}

    def on_train_begin(self, logs):
        self._clear()  # each fit gets a fresh record
        if self.record_params:
            self.initial_params = self.model.get_weights()

    def next_step_needed(self, step):
        # it only records logs, which replayed steps carry too; but copying the parameters
        # after every step needs each step's parameters in place
        return step if self.record_params else None

    def on_step_end(self, step, logs):
        self.steps.append(step)
        step_history = self.step_history
        for key in STEP_KEYS:  # the trainer puts both in every step's logs
            step_history[key].append(logs[key])
        if self.record_params:
            for name, value in self.model.params.items():
                self.params.setdefault(name, []).append(value.copy())

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        self.epoch_end_steps.append(self.steps[-1])
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    _RECORDS = ("history", "epoch", "step_history", "steps", "epoch_end_steps")

    def get_state(self) -> dict[str, Any]:
        """The logs recorded so far (not the parameters), for checkpoints."""
        return {name: getattr(self, name) for name in self._RECORDS}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from ``get_state()``'s record (used when a run resumes)."""
        for name in self._RECORDS:
            setattr(self, name, state[name])

    def param_path(self, name: str) -> np.ndarray:
        """Values of parameter ``name`` from the start through every step (needs record_params)."""
        if not self.record_params:
            raise ValueError("param_path needs History(record_params=True) among the callbacks.")
        return np.stack([self.initial_params[name], *self.params.get(name, [])])

    def summary(self) -> list[tuple[str, float, str]]:
        """(key, last value, best value as text) for every epoch key; no best for the rate."""
        rows = []
        for key, values in self.history.items():
            if not values:
                continue
            if key == "learning_rate":
                best = ""
            else:  # larger is better for accuracies, smaller for losses and errors
                best = f"{(max if _larger_is_better(key) else min)(values):.6g}"
            rows.append((key, values[-1], best))
        return rows

    def __repr__(self) -> str:
        rows = [f"History: {len(self.steps)} steps, {len(self.epoch)} epochs"]
        rows += [f"  {key:<14} last {last:<12.6g}" + (f" best {best}" if best else "")
                 for key, last, best in self.summary()]
        return "\n".join(rows)

    def _repr_html_(self) -> str:
        cells = "".join(f"<tr><td>{key}</td><td>{last:.6g}</td><td>{best}</td></tr>"
                        for key, last, best in self.summary())
        return (f"<p>History: {len(self.steps)} steps, {len(self.epoch)} epochs</p>"
                f"<table><tr><th>key</th><th>last</th><th>best</th></tr>{cells}</table>")


#: Step-log keys History records once per step (every key is recorded per epoch).
STEP_KEYS = ("loss", "learning_rate")


def _larger_is_better(key: str) -> bool:
    from ..metrics import METRICS

    name = key[4:] if key.startswith("val_") else key
    return name in METRICS and METRICS[name][1] == "up"
