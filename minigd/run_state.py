"""Where a run is: step and epoch counters, the position inside the epoch, the shuffling.

This is everything besides the model, the optimizer state and the callbacks that a
checkpoint must keep for a resumed run to continue exactly as if never stopped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import check_bool, check_positive_int, check_seed


class RunState:
    """Counters, the position in the current epoch, and the generator that shuffles.

    Attributes:
        step: optimizer steps completed in this run.
        epoch: epochs completed in this run.
        batch_start: index (in this epoch's order) of the next batch's first example.
        loss_sum: sum of batch loss * batch size over the epoch so far.
        examples: examples seen in the epoch so far.

    Examples:
        >>> run = RunState(seed=0)
        >>> sorted(run.epoch_order(5)) == [0, 1, 2, 3, 4]
        True
        >>> run.advance(batch_size=2, examples=2, loss=3.0)
        >>> run.step, run.batch_start, run.epoch_loss()
        (1, 2, 3.0)
    """

    def __init__(self, seed: int | None = None) -> None:
        self.step = 0
        self.epoch = 0
        self.batch_start = 0
        self.loss_sum = 0.0
        self.examples = 0
        self.rng = np.random.default_rng(check_seed(seed))
        self._epoch_rng_state = self._next_epoch_rng_state = self.rng.bit_generator.state
        self._order: tuple[int, np.ndarray] | None = None  # (epoch, its order), drawn once

    def epoch_order(self, n: int) -> np.ndarray:
        """This epoch's random order of the n examples, drawn at its first step.

        It is always drawn from the generator's state at the start of the epoch, so
        drawing it again (a run resumed mid-epoch, or interrupted right after the
        draw) gives the very same order.
        """
        if self._order is not None and self._order[0] == self.epoch:
            return self._order[1]
        self.rng.bit_generator.state = self._epoch_rng_state
        # int32 when it fits: the order then costs 4 bytes per example
        order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
        self.rng.shuffle(order)  # in place: permutation() would hold a second copy
        self._next_epoch_rng_state = self.rng.bit_generator.state
        self._order = (self.epoch, order)
        return order

    def advance(self, batch_size: int, examples: int, loss: float) -> None:
        """Count one completed step on a batch of ``examples`` examples."""
        self.step += 1
        self.batch_start += batch_size
        self.loss_sum += loss * examples
        self.examples += examples

    def epoch_loss(self) -> float:
        """The epoch's loss so far: the mean of its batch losses, weighted by batch size."""
        return self.loss_sum / self.examples

    def end_epoch(self) -> None:
        self.epoch += 1
        self.batch_start, self.loss_sum, self.examples = 0, 0.0, 0
        # the next epoch draws from where this one's draw left the generator (reading the
        # state costs microseconds: only runs that shuffle do it, once per epoch)
        self._epoch_rng_state = self._next_epoch_rng_state

    _COUNTERS = ("step", "epoch", "batch_start", "loss_sum", "examples")

    def get_state(self) -> dict[str, Any]:
        return {**{name: getattr(self, name) for name in self._COUNTERS}, "epoch_rng": self._epoch_rng_state}

    def set_state(self, state: dict[str, Any]) -> None:
        for name in self._COUNTERS:
            setattr(self, name, state[name])
        self._epoch_rng_state = self._next_epoch_rng_state = state["epoch_rng"]
        self._order = None


@dataclass(frozen=True)
class RunPlan:
    """How long a run is and how it walks the data, all filled in by `plan_run`."""

    steps: int
    epochs: int
    batch_size: int
    shuffle: bool


def plan_run(n: int, steps: int | None, epochs: int | None, batch_size: int | None,
             shuffle: bool = True) -> RunPlan:
    """Check the run's length arguments and fill in what follows from them.

    Each epoch takes ceil(n / batch_size) steps. Given only epochs, steps follow; given
    only steps, epochs follow; given both, the run ends at whichever comes first. A full
    batch is never shuffled: the order of a sum changes nothing but rounding.

    Examples:
        >>> plan_run(10, steps=None, epochs=2, batch_size=4)
        RunPlan(steps=6, epochs=2, batch_size=4, shuffle=True)
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
    shuffle = check_bool(shuffle, "shuffle")
    batches_per_epoch = math.ceil(n / batch_size)
    if epochs is None:
        epochs = math.ceil(steps / batches_per_epoch)
    steps = min(steps or math.inf, epochs * batches_per_epoch)
    return RunPlan(steps, epochs, batch_size, shuffle and batch_size < n)
