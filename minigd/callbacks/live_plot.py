"""LivePlot: the loss curve redrawn in place while a run trains, like d2l's ProgressBoard."""

from __future__ import annotations

import os
import time
from typing import Any

from .base import Callback


class LivePlot(Callback):
    """Redraws the loss, ``val_loss`` and metrics while the run trains, and once at its end.

    In a notebook the picture appears under the cell and is replaced in place at each
    redraw (one picture, updated, not a new one each time). Outside a notebook it
    rewrites ``filename`` as a PNG at each redraw (open it in an image viewer that
    reloads), or, without ``filename``, does nothing at all.

    A redraw happens at most every ``every`` steps and every ``interval`` seconds, and
    never so often that drawing takes more than ``budget`` of the run's time: after a
    redraw that took ``d`` seconds, the next waits at least ``d / budget``. A run shorter
    than ``interval`` is drawn once, when it ends.

    Args:
        every: steps between redraws, at least; None: no limit in steps.
        interval: seconds between redraws, at least.
        filename: outside a notebook, the PNG to rewrite; None: draw nothing there.
        budget: the largest share of the run's time spent drawing (0.05: 5%).

    Attributes:
        redraws: how many pictures this run has drawn.

    Examples:
        >>> import os, tempfile
        >>> import minigd as mg
        >>> from minigd.callbacks.live_plot import LivePlot
        >>> path = os.path.join(tempfile.mkdtemp(), "live.png")
        >>> live = LivePlot(filename=path)
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> _ = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[live]).fit(mg.Linear(), x, y, steps=50)
        >>> live.redraws, open(path, "rb").read(4)   # a short run: one picture, at the end
        (1, b'\\x89PNG')
    """

    def __init__(self, every: int | None = None, interval: float = 0.5,
                 filename: str | os.PathLike | None = None, budget: float = 0.05) -> None:
        if every is not None and not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be None or an integer >= 1, got {every!r}.")
        if not interval >= 0:
            raise ValueError(f"interval must be a number of seconds >= 0, got {interval!r}.")
        if not 0 < budget <= 1:
            raise ValueError(f"budget must be a fraction in (0, 1], got {budget!r}.")
        self.every, self.interval, self.budget = every or 1, interval, budget
        self.filename = os.fspath(filename) if filename is not None else None
        self.redraws = 0

    def on_train_begin(self, logs):
        from ..plotting import in_notebook

        self._notebook = in_notebook()
        self.active = self._notebook or self.filename is not None
        self.redraws, self._figure, self._handle = 0, None, None
        self._next_step, self._next_time = 0, time.monotonic() + self.interval

    def on_step_end(self, step, logs):
        # two comparisons a step; everything else only when a redraw is due
        if step >= self._next_step and self.active and time.monotonic() >= self._next_time:
            self._redraw()
            self._next_step = step + self.every

    def on_train_end(self, logs):
        if self.active and self.trainer.history is not None and self.trainer.history.steps:
            self._redraw()

    def _redraw(self) -> None:
        started = time.monotonic()
        if self._figure is None:
            self._figure, self._lines = self._new_figure()
        self._update_lines()
        self._show()
        if self.redraws == 0:  # laid out once; redoing the layout each time doubles the cost
            self._figure.set_layout_engine("none")
        self.redraws += 1
        now = time.monotonic()
        self._next_time = now + max(self.interval, (now - started) / self.budget)

    def _new_figure(self) -> tuple[Any, dict[str, Any]]:
        from matplotlib.ticker import MaxNLocator

        from ..plotting import new_figure

        history = self.trainer.history
        metrics = [key for key in history.history
                   if key not in ("loss", "learning_rate") and not key.startswith("val_")]
        figure, axes = new_figure(1 + len(metrics), width=4.5, height=3.0)
        figure.set_dpi(100)  # a live picture need not be slide-sharp; it must be quick
        lines = {"loss": axes[0].semilogy([], [], label="loss")[0],
                 "val_loss": axes[0].semilogy([], [], "--", label="val_loss")[0]}
        axes[0].set(xlabel="step", ylabel="loss (log scale)", title="Loss")
        for ax, metric in zip(axes[1:], metrics):
            lines[metric] = ax.plot([], [], label=metric)[0]
            lines[f"val_{metric}"] = ax.plot([], [], "--", label=f"val_{metric}")[0]
            ax.set(xlabel="step", title=metric)
        for ax in axes:
            ax.legend(fontsize="small", loc="upper right")
            # few step ticks: the labels grow as the run does, and the layout is set only once
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        return figure, lines

    def _update_lines(self) -> None:
        history = self.trainer.history
        self._lines["loss"].set_data(history.steps, history.step_history.get("loss", []))
        for key, line in self._lines.items():
            if key != "loss":  # epoch values, drawn at each epoch's last step
                values = history.history.get(key, [])
                line.set_data(history.epoch_end_steps[:len(values)], values)
        for ax in self._figure.axes:
            ax.relim()
            ax.autoscale_view()

    def _show(self) -> None:
        if self._notebook:
            from IPython.display import display

            if self._handle is None:
                self._handle = display(self._figure, display_id=True)
            else:
                self._handle.update(self._figure)  # the same picture, replaced in place
        else:
            partial = f"{self.filename}.partial"  # written whole, then renamed: never half a PNG
            self._figure.savefig(partial, format="png")
            os.replace(partial, self.filename)
