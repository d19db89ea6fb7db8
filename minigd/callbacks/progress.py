"""ProgressBar, a tqdm bar over the run's steps, and ``write_line``, which prints through it."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .._validation import check_real, check_stream
from .base import Callback, StepPacer

# The bars now drawing. While one is, write_line prints through tqdm, which lifts the bar,
# writes the line and redraws the bar under it, so a log line and the bar never share a row.
_active_bars: list[Any] = []


class ProgressBar(Callback):
    """A progress bar over the run's steps, showing the loss of the step it has reached.

    On ``tqdm.auto``: a widget in a notebook, text on a terminal. The bar is redrawn at
    most every ``interval`` seconds, and each redraw shows the step count and the loss of
    that same step, so the two always agree. Lines that [`StepLogger`][minigd.StepLogger] prints (or
    anything printed with `write_line`) appear above the bar, never torn by it.

    Args:
        stream: where to draw a text bar; None means ``tqdm.auto``'s choice (a widget in
            a notebook, ``sys.stderr`` elsewhere). Giving a stream always draws text.
        interval: seconds between redraws. Formatting the loss costs more than a step,
            so the bar does it only when it redraws.
        delay: seconds to wait before showing the bar at all (0: show at once, so even a
            run of a few milliseconds ends with a full bar and its final loss).

    Examples:
        >>> import io
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> out = io.StringIO()
        >>> _ = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[mg.ProgressBar(stream=out)]
        ...               ).fit(mg.Linear(), x, y, steps=200)
        >>> last = out.getvalue().split("\\r")[-1]
        >>> "200/200" in last, "loss=" in last
        (True, True)
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 0.1, delay: float = 0.0) -> None:
        try:
            import tqdm  # noqa: F401 - fail here, with advice, not in the middle of fit
        except ImportError as error:
            raise ImportError("ProgressBar needs tqdm: pip install 'minigd[progress]'") from error
        self.stream = check_stream(stream)
        self.interval = check_real(interval, "interval", low=0.0, low_inclusive=True)  # seconds
        self.delay = check_real(delay, "delay", low=0.0, low_inclusive=True)
        self.bar: Any = None
        self._next_draw = 0.0
        self._last: tuple[int, Any] | None = None  # the latest step and its logs

    def on_train_begin(self, logs):
        if self.stream is None:
            from tqdm.auto import tqdm
        else:
            from tqdm import tqdm
        # miniters=1, mininterval=0: tqdm draws on every update(); this callback decides
        # when to update, so the drawn count and the drawn loss belong to the same step.
        self.bar = tqdm(total=self.trainer.total_steps, initial=self.trainer.step, unit="step",
                        file=self.stream, delay=self.delay, miniters=1, mininterval=0,
                        dynamic_ncols=True)
        _active_bars.append(self.bar)
        self._last = None
        self._next_draw = time.monotonic() + self.interval
        self._next_step, self._pacer = 0, StepPacer()  # when to look at the clock next

    def next_step_needed(self, step: int) -> int | None:
        """The step at which the bar next looks at the clock: the steps before it may run
        as one chunk (their hooks are replayed after it), so a bar does not slow a
        compiled run down to one call per step."""
        return max(step, self._next_step)

    def on_step_end(self, step, logs):
        self._last = step, logs
        if step < self._next_step:  # one comparison on most steps
            return
        now = time.monotonic()
        if now >= self._next_draw:
            self._draw(step, logs)
            self._next_draw = now + self.interval
        self._next_step = self._pacer.step_due(step, now, self._next_draw)

    def on_train_end(self, logs):
        if self.bar is None:
            return
        try:
            if self._last is not None and self._last[0] + 1 > self.bar.n:
                self._draw(*self._last)  # the steps since the last redraw, and their loss
        finally:
            _active_bars.remove(self.bar)
            self.bar.close()
            self.bar = None

    def _draw(self, step: int, logs) -> None:
        if "loss" in logs:
            self.bar.set_postfix(loss=f"{logs['loss']:.4g}", refresh=False)
        self.bar.update(step + 1 - self.bar.n)  # draws: miniters=1


def write_line(line: str, stream: TextIO) -> None:
    """Print ``line`` to ``stream``; with a progress bar drawing, above the bar.

    Without an active [`ProgressBar`][minigd.ProgressBar] this is ``print(line, file=stream)``. With one,
    tqdm lifts the bar, writes the line and redraws the bar below it, so the two never
    tear each other on a terminal (tqdm treats stdout and stderr as one screen).

    Examples:
        >>> import io
        >>> out = io.StringIO()
        >>> write_line("iteration:0, loss:1.0", out)
        >>> out.getvalue()
        'iteration:0, loss:1.0\\n'
    """
    if not _active_bars:
        print(line, file=stream)
        return
    from tqdm import tqdm

    with tqdm.external_write_mode(file=stream):
        print(line, file=stream)
        stream.flush()  # out before the bar is drawn again, maybe on the other stream
