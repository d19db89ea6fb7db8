"""LivePlot: the loss curve redrawn in place while a run trains, like d2l's ProgressBoard.

In a notebook the picture is an SVG written by hand, a few kilobytes of text that take
a millisecond or two to build and send, so watching a run costs it almost nothing.
matplotlib (tens to hundreds of milliseconds a picture) is used only to rewrite a PNG
file outside a notebook.
"""

from __future__ import annotations

import html
import importlib.util
import math
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .._validation import check_real
from ..files import atomic_write
from .base import Callback, StepPacer

#: Line colours in each panel, in order (matplotlib's first four, so both modes agree).
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728")
#: Size of one panel of the SVG picture, in pixels, and the plotting area's margins in it.
PANEL_WIDTH, PANEL_HEIGHT = 340, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 24, 32
#: Points drawn per line, at most: about one per pixel of width. A longer record is
#: thinned to every k-th point, so a redraw costs the same at step 1000 and step 100,000.
MAX_POINTS = 200


class Panel(NamedTuple):
    """One chart of the SVG picture.

    Attributes:
        title: shown above the chart.
        series: label -> ``(steps, values)``; a label starting with ``val_`` is dashed.
        log: draw the values on a log scale (losses), else a linear one (metrics).
    """

    title: str
    series: Mapping[str, tuple[Sequence[float], Sequence[float]]]
    log: bool = False


class LivePlot(Callback):
    """Redraws the loss, ``val_loss`` and metrics while the run trains, and once at its end.

    In a notebook the picture appears under the cell and is replaced in place at each
    redraw (one picture, updated, not a new one each time): an SVG with the loss and
    ``val_loss`` on a log scale and one more panel per metric. Outside a notebook it
    rewrites ``filename`` as a PNG at each redraw, drawn with matplotlib (open it in an
    image viewer that reloads), or, without ``filename``, does nothing at all.

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
        >>> live.svg()[:4]   # the picture a notebook shows, as text
        '<svg'
    """

    def __init__(self, every: int | None = None, interval: float = 0.5,
                 filename: str | os.PathLike | None = None, budget: float = 0.05) -> None:
        if every is not None and not (isinstance(every, int) and every >= 1):
            raise ValueError(f"every must be None or an integer >= 1, got {every!r}.")
        interval = check_real(interval, "interval", low=0.0, low_inclusive=True)  # seconds
        if not (check_real(budget, "budget", low=0.0) <= 1):
            raise ValueError(f"budget must be a fraction in (0, 1], got {budget!r}.")
        self.every, self.interval, self.budget = every or 1, interval, float(budget)
        self.filename = os.fspath(filename) if filename is not None else None
        if self.filename is not None and importlib.util.find_spec("matplotlib") is None:
            # here, not after a whole run, at its first picture
            raise ImportError("LivePlot(filename=...) draws with matplotlib: pip install 'minigd[plot]'")
        self.redraws = 0

    def on_train_begin(self, logs):
        from ..plotting import in_notebook

        self._notebook = in_notebook()
        self.active = self._notebook or self.filename is not None
        self.redraws, self._figure, self._handle = 0, None, None
        self._next_time = time.monotonic() + self.interval  # no redraw before this time...
        self._earliest = 0  # ...nor before this step (``every`` steps after the last one)
        self._next_step = 0  # the step at which to look at the clock next
        self._pacer = StepPacer()

    def next_step_needed(self, step: int) -> int | None:
        """The step at which LivePlot next looks at the clock; the trainer may run the
        steps before it in one chunk (see ``Callback.next_step_needed``). None outside
        a notebook without a file: nothing is drawn, so no step is needed."""
        return max(step, self._next_step) if self.active else None

    def on_step_end(self, step, logs):
        # one comparison on most steps: the clock is read only at the step guessed below
        if self.active and step >= self._next_step:
            now = time.monotonic()
            if now >= self._next_time and step >= self._earliest:
                self._redraw()
                self._earliest, now = step + self.every, time.monotonic()
            self._next_step = max(self._pacer.step_due(step, now, self._next_time), self._earliest)

    def on_train_end(self, logs):
        if self.active and self.trainer.history is not None and self.trainer.history.steps:
            self._redraw()

    def _redraw(self) -> None:
        started = time.monotonic()
        if self._notebook:
            self._show_svg()
        else:
            self._write_png()
        self.redraws += 1
        now = time.monotonic()
        self._next_time = now + max(self.interval, (now - started) / self.budget)

    # -- in a notebook: an SVG, replaced in place -----------------------------------------

    def panels(self) -> list[Panel]:
        """The charts to draw from the trainer's History: the loss, then one per metric.

        The loss is drawn for every step, ``val_loss`` and metrics for every epoch, at
        the epoch's last step.
        """
        history = self.trainer.history
        metrics = [key for key in history.history
                   if key not in ("loss", "learning_rate") and not key.startswith("val_")]

        def at_epoch_ends(key: str) -> dict[str, tuple[list[int], list[float]]]:
            values = history.history.get(key)
            return {key: (history.epoch_end_steps[:len(values)], values)} if values else {}

        loss = {"loss": (history.steps, history.step_history.get("loss", [])),
                **at_epoch_ends("val_loss")}
        return [Panel("Loss", loss, log=True)] + [
            Panel(metric, {**at_epoch_ends(metric), **at_epoch_ends(f"val_{metric}")})
            for metric in metrics]

    def svg(self) -> str:
        """The picture a notebook shows, as SVG text (see ``svg_picture``)."""
        return svg_picture(self.panels())

    def _show_svg(self) -> None:
        from IPython.display import display

        # a raw bundle: IPython's SVG class would parse the text again at every redraw
        bundle = {"image/svg+xml": self.svg(),
                  "text/plain": f"<LivePlot: {len(self.trainer.history.steps)} steps>"}
        if self._handle is None:
            self._handle = display(bundle, raw=True, display_id=True)
        else:
            self._handle.update(bundle, raw=True)  # the same picture, replaced in place

    # -- outside a notebook: a PNG file, drawn by matplotlib -------------------------------

    def _write_png(self) -> None:
        if self._figure is None:
            self._figure, self._lines = self._new_figure()
        self._update_lines()
        with atomic_write(self.filename) as file:  # a viewer never sees half a PNG
            self._figure.savefig(file, format="png")
        if self.redraws == 0:  # laid out once; redoing the layout each time doubles the cost
            self._figure.set_layout_engine("none")

    def _new_figure(self) -> tuple[Any, dict[str, Any]]:
        from matplotlib.ticker import MaxNLocator

        from ..plotting import new_figure

        panels = self.panels()
        figure, axes = new_figure(len(panels), width=4.5, height=3.0)
        figure.set_dpi(100)  # a live picture need not be slide-sharp; it must be quick
        lines = {}
        for ax, panel in zip(axes, panels):
            main = "loss" if panel.log else panel.title
            for key, style in ((main, "-"), (f"val_{main}", "--")):
                lines[key] = (ax.semilogy if panel.log else ax.plot)([], [], style, label=key)[0]
            ax.set(xlabel="step", title=panel.title, ylabel="loss (log scale)" if panel.log else "")
            # few step ticks: the labels grow as the run does, and the layout is set only once
            ax.xaxis.set_major_locator(MaxNLocator(4, integer=True))
        return figure, lines

    def _update_lines(self) -> None:
        for panel in self.panels():
            for key, (steps, values) in panel.series.items():
                if key in self._lines:  # a metric first logged after the figure was made waits
                    self._lines[key].set_data(steps, values)
        for ax in self._figure.axes:
            # a legend of the lines that have something to show (no val_loss without
            # validation data)
            ax.legend(handles=[line for line in ax.get_lines() if len(line.get_xdata())],
                      fontsize="small", loc="upper right")
            ax.relim()
            ax.autoscale_view()


def svg_picture(panels: Sequence[Panel]) -> str:
    """Line charts side by side, as one standalone SVG document.

    Each line is one ``<path>``; a value that cannot be drawn (not finite, or not above
    0 on a log scale) leaves a gap. A log scale spans whole decades, a tick at each
    power of ten (or every few, over many decades).

    Args:
        panels: the charts, left to right.

    Returns:
        The SVG text, about a kilobyte per line drawn.

    Examples:
        >>> import xml.etree.ElementTree as ET
        >>> text = svg_picture([Panel("Loss", {"loss": ([0, 1, 2], [100.0, 1.0, 0.01])}, log=True)])
        >>> root = ET.fromstring(text)
        >>> root.get("width"), len(root.findall(".//{http://www.w3.org/2000/svg}path"))
        ('340', 1)
        >>> [t for t in root.itertext() if t.startswith("1e")]   # the decades it spans
        ['1e-2', '1e-1', '1e0', '1e1', '1e2']
    """
    width = PANEL_WIDTH * max(len(panels), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{PANEL_HEIGHT}" '
             f'viewBox="0 0 {width} {PANEL_HEIGHT}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{PANEL_HEIGHT}" fill="white"/>']
    for index, panel in enumerate(panels):
        parts.append(f'<g transform="translate({index * PANEL_WIDTH},0)">')
        parts.extend(_panel(panel))
        parts.append("</g>")
    parts.append("</svg>")
    return "\n".join(parts)


def _panel(panel: Panel) -> list[str]:
    """The SVG elements of one chart, in panel coordinates."""
    # 1. the points to draw, thinned, in data units (log10 of the value on a log scale)
    lines = {label: _drawable(steps, values, panel.log)
             for label, (steps, values) in panel.series.items()}
    xs = np.concatenate([x for x, _ in lines.values()] or [np.zeros(0)])
    ys = np.concatenate([y for _, y in lines.values()] or [np.zeros(0)])
    x0, x1 = 0.0, max(float(xs.max(initial=0)), 1.0)  # from step 0 in every panel, so they line up
    y0, y1 = _range(ys[~np.isnan(ys)], pad=not panel.log)
    if panel.log:  # whole decades, so every tick is a power of ten
        y0, y1 = math.floor(y0), max(math.ceil(y1), math.floor(y0) + 1)

    # 2. data units -> pixels (SVG's y axis points down)
    right, bottom = PANEL_WIDTH - RIGHT, PANEL_HEIGHT - BOTTOM

    def px(x):
        return LEFT + (x - x0) / (x1 - x0) * (right - LEFT)

    def py(y):
        return bottom - (y - y0) / (y1 - y0) * (bottom - TOP)

    # 3. frame, grid and tick labels, title
    out = [f'<rect x="{LEFT}" y="{TOP}" width="{right - LEFT}" height="{bottom - TOP}" '
           'fill="none" stroke="#444"/>']
    for y, label in _y_ticks(y0, y1, panel.log):
        out.append(f'<line x1="{LEFT}" x2="{right}" y1="{py(y):.1f}" y2="{py(y):.1f}" stroke="#ddd"/>'
                   f'<text x="{LEFT - 4}" y="{py(y) + 4:.1f}" text-anchor="end">{label}</text>')
    for x in sorted({x0, round((x0 + x1) / 2), x1}):
        out.append(f'<text x="{px(x):.1f}" y="{bottom + 14}" text-anchor="middle">{x:g}</text>')
    scale = " (log scale)" if panel.log else ""
    out.append(f'<text x="{(LEFT + right) / 2}" y="{PANEL_HEIGHT - 4}" text-anchor="middle">step</text>'
               f'<text x="{(LEFT + right) / 2}" y="{TOP - 8}" text-anchor="middle" font-weight="bold">'
               f'{html.escape(panel.title)}{scale}</text>')

    # 4. one path per line, and its legend entry at the top right
    for index, (label, (x, y)) in enumerate(lines.items()):
        color = COLORS[index % len(COLORS)]
        dashed = label.startswith("val_")
        # the line's points in tenths of a pixel, scaled back by the transform (so are its
        # width and dashes): whole numbers are written three times faster than decimals,
        # and writing the points is most of a redraw's time
        path = _path(np.rint(10 * px(x)), np.rint(10 * py(y)))
        if path:
            dash = ' stroke-dasharray="50,30"' if dashed else ""
            out.append(f'<path transform="scale(0.1)" d="{path}" fill="none" stroke="{color}" '
                       f'stroke-width="15" stroke-linecap="round" stroke-linejoin="round"{dash}/>')
        dash = ' stroke-dasharray="5,3"' if dashed else ""
        y = TOP + 14 + 14 * index
        out.append(f'<line x1="{right - 90}" x2="{right - 70}" y1="{y - 4}" y2="{y - 4}" '
                   f'stroke="{color}" stroke-width="1.5"{dash}/>'
                   f'<text x="{right - 66}" y="{y}">{html.escape(label)}</text>')
    return out


def _drawable(steps: Sequence[float], values: Sequence[float], log: bool) -> tuple[np.ndarray, np.ndarray]:
    """Steps and values of at most about MAX_POINTS points, each value NaN where the line
    breaks (not finite, or not above 0 on a log scale), log10 of it on a log scale."""
    n = len(values)
    stride = max(1, math.ceil(n / MAX_POINTS))
    # slices of the record (copied in C): converting all of a long list would cost more
    x, y = list(steps[:n:stride]), list(values[::stride])
    if (n - 1) % stride:
        x.append(steps[n - 1])  # always draw the latest value
        y.append(values[n - 1])
    x, y = np.array(x, dtype=float), np.array(y, dtype=float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):  # log10(0) = -inf, log10(-1) = nan
            y = np.log10(y)
    y[~np.isfinite(y)] = np.nan
    return x, y


def _range(values: np.ndarray, pad: bool) -> tuple[float, float]:
    """The smallest and largest value, never equal; 5% more on each side if ``pad``."""
    if len(values) == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    if low == high:  # one value: a span of 1 around it (padded) or from it
        return (low - 0.5, high + 0.5) if pad else (low, low + 1)
    margin = 0.05 * (high - low) if pad else 0.0
    return low - margin, high + margin


def _y_ticks(y0: float, y1: float, log: bool) -> list[tuple[float, str]]:
    """(position, label) of the value ticks: powers of ten on a log scale, else three."""
    if log:
        every = math.ceil((y1 - y0) / 6)  # at most about six labels, however many decades
        return [(e, f"1e{e}") for e in range(int(y0), int(y1) + 1, every)]
    return [(y, f"{y:.3g}") for y in (y0, (y0 + y1) / 2, y1)]


def _path(px: np.ndarray, py: np.ndarray) -> str:
    """SVG path data through the points (whole numbers), one piece per run of points
    without a gap (NaN): "M" moves to a piece's first point, "L" draws a line to the next.

    Each piece also begins with a line of length 0, which round line caps draw as a
    dot: a point alone between gaps (the first epoch's ``val_loss``) is still seen.
    """
    drawable = np.concatenate([[False], ~np.isnan(py), [False]]).astype(np.int8)
    edges = np.diff(drawable)  # +1 where a piece starts, -1 just after it ends
    pieces = []
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)):
        # as Python ints: "%d" formats them faster than floats
        xy = tuple(np.column_stack([px[start:end], py[start:end]]).astype(np.int64).ravel().tolist())
        # one % for the whole piece: formatting point by point costs twice as much
        pieces.append("M%d,%d" % xy[:2] + (" L%d,%d" * (end - start)) % xy)
    return " ".join(pieces)
