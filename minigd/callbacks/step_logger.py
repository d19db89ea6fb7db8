"""StepLogger: the seed article's progress lines."""

from __future__ import annotations

import sys
from typing import TextIO

from .._validation import check_positive_int, check_stream
from ..formatting import format_params
from .base import Callback


class StepLogger(Callback):
    """Prints the seed article's progress lines every ``every`` steps, then a final line::

        iteration:0, loss:..., w:..., b:...
        Final loss:..., w:..., b:...

    The loss shown is the loss over the *whole training set with the parameters after
    that step's update*, as the seed computes it (unlike ``logs["loss"]``, which is the
    batch loss before the update). Other models show every parameter by name; large
    arrays are summarised (see [`minigd.formatting.format_value`][minigd.format_value]).

    The final line is printed when the run ends normally or a callback stops it; not
    after an interrupt, a divergence error or any other exception, where it would look
    like a finished run.

    Args:
        every: print on steps 0, every, 2*every, ...
        stream: where to print; None means ``sys.stdout`` at the time of printing.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[mg.StepLogger(every=2)])
        >>> _ = trainer.fit(mg.Linear(), x, y, steps=3)  # doctest: +ELLIPSIS
        iteration:0, loss:..., w:..., b:...
        iteration:2, loss:..., w:..., b:...
        Final loss:..., w:..., b:...
    """

    def __init__(self, every: int = 50, stream: TextIO | None = None) -> None:
        self.every = check_positive_int(every, "every")
        self.stream = check_stream(stream)

    def next_step_needed(self, step):
        # a line shows the parameters after its step; the steps between only pass by
        return step + (-step) % self.every

    def on_step_end(self, step, logs):
        if step % self.every == 0:
            self._print(f"iteration:{step}, {self._state()}")

    def on_train_end(self, logs):
        if self.trainer.stop_reason in ("completed", "stopped"):
            self._print(f"Final {self._state()}")

    def _state(self) -> str:
        x, y = self.trainer.train_data
        loss = self.trainer.loss(y, self.model.forward(self.model.params, x))  # x checked by fit
        return f"loss:{loss}, {format_params(self.model.params)}"

    def _print(self, line: str) -> None:
        from .progress import write_line  # through an active progress bar, so lines never tear

        write_line(line, self.stream if self.stream is not None else sys.stdout)
