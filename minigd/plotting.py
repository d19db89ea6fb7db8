"""Pictures of a run: the fitted line, the loss curve, and the descent path on the loss surface.

Every function returns a matplotlib ``Figure`` that shows itself: as a picture when it is
a notebook cell's last expression or passed to ``display()``, in a window with
``figure.show()`` from a script, and on disk with ``figure.savefig("fit.png")`` (150 dpi
unless you say otherwise). Figures are built without ``pyplot``, so no GUI backend is
needed and no pyplot state is left behind. Pass ``ax=`` to draw into an Axes of your own
(from ``plt.subplots()``, say); then the function returns that Axes, and pyplot shows
the figure, once. Install with ``pip install 'minigd[plot]'``.

Examples:
    >>> import minigd as mg
    >>> x, y = mg.make_linear_data(seed=0)
    >>> history = mg.History(record_params=True)   # the path needs the parameters per step
    >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history])
    >>> _ = trainer.fit(mg.Linear(), x, y, steps=1000)
    >>> figure = plot_training(trainer.model, x, y, history, true_params={"w": 1.915, "b": 0.915})
    >>> [ax.get_title() for ax in figure.axes[:3]]
    ['Data and fitted model', 'Loss during training', 'Descent path on the loss surface']
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._validation import check_xy
from .callbacks import History
from .divergence import GROWTH_LIMIT
from .models import Linear, Model

#: Dots per inch of every figure, so a saved picture is sharp on a slide.
DPI = 150
#: Path colours, in order: they stand out against the viridis contours and from each other.
PATH_COLORS = ("tab:red", "tab:orange", "black", "tab:pink", "tab:brown", "tab:cyan")
#: The loss-surface view keeps every path point whose loss is at most this many times the
#: highest starting loss, so a diverging path's first overshoots stay visible.
VIEW_LOSS_FACTOR = 4.0


# -- figures that show themselves -------------------------------------------------------

@functools.cache
def figure_class() -> type:
    """The ``Figure`` subclass minigd draws on (made once, when matplotlib is first needed).

    A plain matplotlib ``Figure`` made without pyplot has no picture for Jupyter and
    ``show()`` refuses to work; this one adds both, and draws at `DPI`.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("Plotting needs matplotlib: pip install 'minigd[plot]'") from error

    class LessonFigure(Figure):
        """A matplotlib Figure that shows itself in a notebook and from a script."""

        def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
            # Jupyter calls this for the picture. Drawn at DPI but shown at 100-dpi size,
            # so it is sharp on high-resolution screens and not huge on ordinary ones.
            buffer = io.BytesIO()
            self.savefig(buffer, format="png")
            width, height = self.get_size_inches() * 100
            return buffer.getvalue(), {"width": round(width), "height": round(height)}

        def show(self, warn: bool = True) -> None:
            """Show the figure: inline in a notebook, else in a pyplot window until closed."""
            if in_notebook():
                from IPython.display import display

                display(self)
                return
            import matplotlib.pyplot as plt

            plt.figure(self)  # hand this one figure to pyplot, only for as long as it shows
            try:
                plt.show()  # on a non-GUI backend matplotlib warns that it cannot show
            finally:
                plt.close(self)

    LessonFigure.__module__ = __name__
    return LessonFigure


def in_notebook() -> bool:
    """True inside a Jupyter kernel (where ``display()`` draws pictures), else False."""
    ipython = sys.modules.get("IPython")  # never imported here: no IPython, no notebook
    shell = ipython.get_ipython() if ipython is not None else None
    return shell is not None and hasattr(shell, "kernel")


def new_figure(panels: int = 1, width: float = 4.6, height: float = 3.8):
    """A new figure with ``panels`` Axes side by side, each ``width`` x ``height`` inches.

    Returns:
        ``(figure, axes)``, axes a list.

    Examples:
        >>> figure, axes = new_figure(2)
        >>> len(axes), figure.dpi
        (2, 150)
    """
    figure = figure_class()(figsize=(width * panels, height), dpi=DPI, layout="constrained")
    _join_pyplot_if_windowed(figure)
    return figure, list(figure.subplots(1, panels, squeeze=False)[0])


def _join_pyplot_if_windowed(figure) -> None:
    # A script that already uses pyplot with a window backend expects plt.show() to show
    # every figure, as pyplot's own figures are. Anywhere else (a notebook, a headless
    # backend) the figure stays out of pyplot, so nothing accumulates there.
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return
    from matplotlib.backends import BackendFilter, backend_registry

    if pyplot.get_backend().lower() in backend_registry.list_builtin(BackendFilter.INTERACTIVE):
        pyplot.figure(figure)


def _target(ax, width: float = 4.6, height: float = 3.8):
    """The figure and axes to draw on: the given axes, or a new one-panel figure."""
    if ax is not None:
        return ax.figure, ax
    figure, axes = new_figure(1, width, height)
    return figure, axes[0]


def _result(figure, ax, given_ax):
    # Given an Axes, return it: its figure belongs to the caller (often pyplot, which shows
    # it at the end of a cell), and returning the figure too would show it twice.
    return ax if given_ax is not None else figure


# -- the fit and the loss ---------------------------------------------------------------

def _draws_a_line(model: Model, x: np.ndarray) -> bool:
    return isinstance(model, Linear) and model.features is None and x.ndim == 1


def plot_fit(model: Model, x, y, true_params: Mapping | None = None, ax=None):
    """The data and the model's predictions: a line for one feature, else y_pred vs y.

    The fitted line is drawn wide and the true line thin and dashed on top of it, so
    both stay visible when they coincide.

    Args:
        model: the trained model.
        x: inputs, shape ``(n,)`` or ``(n, features)``.
        y: targets, shape ``(n,)``.
        true_params: ``{"w": ..., "b": ...}`` of the line the data came from.
        ax: an Axes to draw into; None makes a new figure.

    Returns:
        The new Figure, or ``ax`` if one was given.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=50, seed=0)
        >>> figure = plot_fit(mg.Linear(w=1.9, b=0.9), x, y, true_params={"w": 1.915, "b": 0.915})
        >>> [line.get_label() for line in figure.axes[0].lines]
        ['fitted: y = 1.9x + 0.9', 'true: y = 1.915x + 0.915']
    """
    x, y = check_xy(x, y)  # here, not inside matplotlib: "x and y must be the same size"
    figure, axes = _target(ax)
    if x.ndim == 1:
        # the points above the lines: on data this close to a line, a line would hide them
        axes.scatter(x, y, s=5, color="0.2", alpha=0.6, linewidths=0, label="data", zorder=3)
        grid = np.linspace(x.min(), x.max(), 200)
        fitted = "fitted"
        if _draws_a_line(model, x):
            fitted += f": {_line_text(model.params)}"
        axes.plot(grid, model(grid), color="tab:red", linewidth=5, alpha=0.75, label=fitted,
                  solid_capstyle="butt", zorder=2)
        if true_params is not None:
            axes.plot(grid, true_params["w"] * grid + true_params["b"], color="black",
                      linestyle=(0, (4, 3)), linewidth=1.3, label=f"true: {_line_text(true_params)}",
                      zorder=3)
        axes.set(xlabel="x", ylabel="y", title="Data and fitted model")
    else:
        axes.scatter(y, model(x), s=8, alpha=0.5, linewidths=0)
        axes.axline((y.mean(), y.mean()), slope=1.0, color="black", linestyle="--",
                    label="y_pred = y")
        axes.set(xlabel="y (true)", ylabel="y_pred", title="Predictions against targets")
    axes.legend(loc="upper left", fontsize="small")
    return _result(figure, axes, ax)


def _line_text(params: Mapping) -> str:
    return f"y = {float(params['w']):.4g}x + {float(params['b']):.4g}".replace("+ -", "- ")


def plot_loss(history: History, ax=None, label: str = "loss"):
    """The loss of every step on a log scale, and the validation loss per epoch if recorded.

    Call it again with the same ``ax`` and another ``label`` to compare runs.

    Args:
        history: the run's History.
        ax: an Axes to draw into; None makes a new figure.
        label: the legend entry for this run's loss.

    Returns:
        The new Figure, or ``ax`` if one was given.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=50, seed=0)
        >>> history = mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(mg.Linear(), x, y, steps=20)
        >>> plot_loss(history).axes[0].get_yscale()
        'log'
    """
    figure, axes = _target(ax)
    (line,) = axes.semilogy(history.steps, history.step_history["loss"], label=label)
    if "val_loss" in history.history:
        axes.semilogy(history.epoch_end_steps, history.history["val_loss"], "o--",
                      color=line.get_color(), markersize=4,
                      label="val_loss" if label == "loss" else f"{label} (validation)")
    axes.set(xlabel="step", ylabel="loss (log scale)", title="Loss during training")
    axes.legend(fontsize="small")
    return _result(figure, axes, ax)


# -- the loss surface -------------------------------------------------------------------

def _data_means(x, y) -> tuple[float, ...]:
    x, y = check_xy(x, y)
    return np.mean(x * x), x.mean(), np.mean(x * y), y.mean(), np.mean(y * y)


def _mse_from_means(means, w, b):
    xx, xm, xy, ym, yy = means
    return w * w * xx + 2 * w * b * xm + b * b - 2 * w * xy - 2 * b * ym + yy


def mse_surface(x, y, w_grid: np.ndarray, b_grid: np.ndarray) -> np.ndarray:
    """MSE of the line w*x + b for every (w, b) on a grid, from five data means.

    ``mean((w*x + b - y)**2)`` expands to
    ``w**2 E[x^2] + 2wb E[x] + b**2 - 2w E[xy] - 2b E[y] + E[y^2]``,
    so the whole grid costs no pass over the data beyond these means.

    Returns:
        An array of shape ``(len(b_grid), len(w_grid))``.

    Examples:
        >>> x, y = np.array([0.0, 1.0]), np.array([1.0, 3.0])   # on y = 2x + 1
        >>> mse_surface(x, y, np.array([2.0, 3.0]), np.array([1.0]))
        array([[0. , 0.5]])
    """
    w, b = np.meshgrid(w_grid, b_grid)
    return _mse_from_means(_data_means(x, y), w, b)


def plot_loss_surface(x, y, history: History | Mapping[str, History], ax=None,
                      label: str | None = None):
    """Contours of the MSE over (w, b) with each run's descent path from start to end.

    Give several runs as ``{"label": history, ...}`` to draw them on one surface with one
    colorbar, one legend and a colour each; or call again with the same ``ax``. The view
    keeps every point whose loss is at most `VIEW_LOSS_FACTOR` times the start's,
    so a diverging path shows its first overshoots and then leaves the frame.

    Needs a one-feature ``Linear`` model trained with ``History(record_params=True)``.

    Args:
        x: inputs, shape ``(n,)``.
        y: targets, shape ``(n,)``.
        history: one run's History, or label -> History for several.
        ax: an Axes to draw into; None makes a new figure.
        label: the legend entry for a single run (default ``"descent path"``).

    Returns:
        The new Figure, or ``ax`` if one was given.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=100, seed=0)
        >>> runs = {}
        >>> for rate in (0.01, 0.02):
        ...     runs[f"learning_rate={rate}"] = mg.History(record_params=True)
        ...     _ = mg.Trainer(mg.MSE(), mg.SGD(rate), callbacks=[runs[f"learning_rate={rate}"]]
        ...                    ).fit(mg.Linear(), x, y, steps=100)
        >>> figure = plot_loss_surface(x, y, runs)
        >>> len(figure.axes)   # the surface and one colorbar
        2
    """
    runs = {label or "descent path": history} if isinstance(history, History) else dict(history)
    if not runs:
        raise ValueError("history: give a History or a non-empty mapping of label -> History.")
    paths = {name: (run.param_path("w"), run.param_path("b")) for name, run in runs.items()}
    if any(w.ndim != 1 for w, _ in paths.values()):
        raise ValueError("plot_loss_surface draws one-feature Linear models only (w and b scalars).")
    figure, axes = _target(ax, width=5.6)
    means = _data_means(x, y)
    first_call = not hasattr(axes, "_minigd_paths")
    if first_call:
        axes._minigd_paths = 0  # how many paths this Axes holds: picks the next colour
        _draw_surface(figure, axes, x, y, means, paths)
    for name, (w_path, b_path) in paths.items():
        _draw_path(axes, name, w_path, b_path, means, first=axes._minigd_paths == 0)
        axes._minigd_paths += 1
    axes.set(xlabel="w", ylabel="b", title="Descent path on the loss surface")
    _legend_below_if_crowded(axes)
    return _result(figure, axes, ax)


def _legend_below_if_crowded(axes) -> None:
    # One legend (a new one replaces the old), the runs first. One run's legend fits in a
    # corner; several runs' legend would cover their paths, so it goes under the plot.
    handles, labels = axes.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda i: labels[i] in ("least squares", "end")
                   or labels[i].startswith("start"))
    handles, labels = [handles[i] for i in order], [labels[i] for i in order]
    if axes._minigd_paths == 1:
        axes.legend(handles, labels, loc="best", fontsize="small")
    else:
        axes.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncols=2,
                    fontsize="small")


def _draw_surface(figure, axes, x, y, means, paths) -> None:
    from matplotlib.colors import LogNorm

    best = Linear.least_squares(x, y).params
    w_best, b_best = float(best["w"]), float(best["b"])
    w_view, b_view = [w_best], [b_best]
    start_loss = max(_mse_from_means(means, w[0], b[0]) for w, b in paths.values())
    for w_path, b_path in paths.values():
        # points beyond the limit are where a diverging path has already left for good
        near = _mse_from_means(means, w_path, b_path) <= VIEW_LOSS_FACTOR * start_loss
        w_view.extend(w_path[near])
        b_view.extend(b_path[near])
    w_grid, b_grid = _padded_range(np.array(w_view)), _padded_range(np.array(b_view))
    surface = mse_surface(x, y, w_grid, b_grid)
    levels = np.geomspace(max(surface.min(), 1e-12), surface.max(), 25)
    contours = axes.contour(w_grid, b_grid, surface, levels=levels, cmap="viridis",
                            norm=LogNorm(), linewidths=0.7, alpha=0.8)
    figure.colorbar(contours, ax=axes, label="MSE (log scale)", format="%.3g")
    axes.plot(w_best, b_best, "o", markersize=15, markerfacecolor="none", markeredgecolor="black",
              markeredgewidth=1.5, label="least squares", zorder=4)
    axes.set_xlim(w_grid[0], w_grid[-1])
    axes.set_ylim(b_grid[0], b_grid[-1])


def _draw_path(axes, name: str, w_path, b_path, means, first: bool) -> None:
    color = PATH_COLORS[axes._minigd_paths % len(PATH_COLORS)]
    if _mse_from_means(means, w_path[-1], b_path[-1]) > _mse_from_means(means, w_path[0], b_path[0]):
        name += " (diverges)"
    # earlier runs above later ones: a straight path stays visible over a zigzag
    axes.plot(w_path, b_path, ".-", color=color, markersize=3, linewidth=1.2, label=name,
              zorder=3 - axes._minigd_paths / 100)
    # start and end are labelled once; every path's markers share those two entries
    axes.plot(w_path[0], b_path[0], "o", color="black", markersize=6,
              label=f"start ({w_path[0]:g}, {b_path[0]:g})" if first else None, zorder=5)
    axes.plot(w_path[-1], b_path[-1], "*", color=color, markersize=13, markeredgecolor="white",
              markeredgewidth=0.8, label="end" if first else None, zorder=5)


def _padded_range(values: np.ndarray, points: int = 200) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    pad = 0.15 * (high - low) or 1.0
    return np.linspace(low - pad, high + pad, points)


def plot_training(model: Model, x, y, history: History, true_params: Mapping | None = None):
    """One figure: the fit and the loss per step side by side, the path on the loss surface below.

    The surface panel appears for a one-feature ``Linear`` model whose History recorded
    its parameters; otherwise the figure has the first two panels, in one row.

    Args:
        model: the trained model.
        x: inputs.
        y: targets.
        history: the run's History.
        true_params: ``{"w": ..., "b": ...}`` of the line the data came from, if known.

    Returns:
        The Figure.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=50, seed=0)
        >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01))
        >>> history = trainer.fit(mg.Linear(), x, y, steps=20)
        >>> len(plot_training(trainer.model, x, y, history).axes)   # no parameters recorded
        2
    """
    x, y = check_xy(x, y)
    with_surface = _draws_a_line(model, x) and history.record_params
    figure, axes = new_figure(2)
    if with_surface:
        # two rows, the surface full width below: three panels in a row are too small to
        # read at the width of a page or a slide
        figure.set_size_inches(8.4, 7.6)
        grid = figure.add_gridspec(2, 2, height_ratios=[1.0, 1.1])
        for ax, spec in zip(axes, (grid[0, 0], grid[0, 1])):
            ax.set_subplotspec(spec)
        axes.append(figure.add_subplot(grid[1, :]))
    plot_fit(model, x, y, true_params, ax=axes[0])
    plot_loss(history, ax=axes[1])
    if with_surface:
        plot_loss_surface(x, y, history, ax=axes[2])
    return figure


# -- a learning-rate sweep --------------------------------------------------------------

def plot_sweep(losses: Mapping[float, list[float]], diverged: Mapping[float, int] | None = None,
               stable_bound: float | None = None, ax=None):
    """Loss curves for several learning rates, and (with ``stable_bound``) the final losses.

    The step axis is linear up to 10 and logarithmic beyond, so a run that diverges in
    its first steps is a curve, not a spike. The loss axis reaches up to where the
    trainer calls a run diverged (``GROWTH_LIMIT`` times the larger of the starting loss
    and 1, see
    [`DivergenceGuard`][minigd.divergence.DivergenceGuard]) if a run did, else to 100 times the starting loss; a
    diverged run's curve climbs to an x on the top edge at the step where it diverged.

    Args:
        losses: learning rate -> loss per step.
        diverged: learning rate -> the step where that run diverged.
        stable_bound: the largest stable learning rate (see
            [`stable_learning_rate`][minigd.stable_learning_rate]); adds a second panel, final loss by
            learning rate, with the bound drawn (only when ``ax`` is None).
        ax: an Axes for the curves; None makes a new figure.

    Returns:
        The new Figure, or ``ax`` if one was given.

    Examples:
        >>> figure = plot_sweep({0.01: [3.0, 2.0, 1.0], 0.5: [3.0, 30.0, 9e9]}, diverged={0.5: 2},
        ...                     stable_bound=0.1)
        >>> [axes.get_title() for axes in figure.axes]
        ['Loss for each learning rate', 'Final loss by learning rate']
    """
    diverged = dict(diverged or {})
    if stable_bound is not None and not stable_bound > 0:
        raise ValueError(f"stable_bound must be a positive number, got {stable_bound!r}.")
    if ax is None:
        figure, axes = new_figure(2 if stable_bound is not None else 1, width=5.2)
    else:
        figure, axes = ax.figure, [ax]
    start = max((curve[0] for curve in losses.values() if len(curve)), default=1.0)
    # the guard's bar, so that every loss a diverged run kept is on the chart
    top = GROWTH_LIMIT * max(start, 1.0) if diverged else 100 * start
    curves = axes[0]
    for index, (learning_rate, curve) in enumerate(losses.items()):
        color = f"C{index}"
        label = f"learning_rate={learning_rate:g}"
        if learning_rate in diverged:
            label += f" (diverged at step {diverged[learning_rate]})"
        curve = np.asarray(curve, dtype=np.float64)
        curves.plot(np.arange(len(curve)), curve, color=color, label=label)
        if learning_rate in diverged and len(curve):
            # dotted from its last kept loss to the x: the refused step went off the chart
            curves.plot([len(curve) - 1, diverged[learning_rate]], [curve[-1], top], ":", color=color)
            curves.plot(diverged[learning_rate], top, "x", color=color, markersize=10,
                        markeredgewidth=2, clip_on=False)
    curves.set_xscale("symlog", linthresh=10)
    curves.set_yscale("log")
    curves.set_ylim(top=top)
    curves.set(xlabel="step (linear to 10, then log)", ylabel="loss (log scale)",
               title="Loss for each learning rate")
    legend_title = f"stable for learning_rate < {stable_bound:.3g}" if stable_bound else None
    curves.legend(fontsize="small", title=legend_title, title_fontsize="small")
    if stable_bound is not None and ax is None:  # (final losses need no room for blow-ups)
        _draw_final_losses(axes[1], losses, diverged, stable_bound, 100 * start)
    return _result(figure, curves, ax)


def _draw_final_losses(axes, losses, diverged, stable_bound: float, top: float) -> None:
    for index, (learning_rate, curve) in enumerate(losses.items()):
        if learning_rate in diverged or not len(curve):
            axes.plot(learning_rate, top, "x", color=f"C{index}", markersize=10, markeredgewidth=2,
                      clip_on=False)
        else:
            axes.plot(learning_rate, curve[-1], "o", color=f"C{index}", markersize=8)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_ylim(top=top)
    axes.axvline(stable_bound, color="black", linestyle="--", linewidth=1.2,
                 label=f"stable bound 2/λmax = {stable_bound:.3g}")
    axes.axvspan(stable_bound, axes.get_xlim()[1] * 10, color="tab:red", alpha=0.1,
                 label="diverges (x at the top)")
    axes.set_xlim(right=max(max(losses), stable_bound) * 1.6)
    axes.set(xlabel="learning rate (log scale)", ylabel="final loss (log scale)",
             title="Final loss by learning rate")
    axes.legend(fontsize="small", loc="upper left")


# -- an animation of the descent --------------------------------------------------------

def animate_descent(x, y, history: History, frames: int = 60, interval: int = 80,
                    true_params: Mapping | None = None) -> Any:
    """An animation of the descent: the point moving over the loss surface, the line over the data.

    Needs a one-feature ``Linear`` model trained with ``History(record_params=True)``.
    The animation shows inline in a notebook (as HTML with play controls) and saves as a
    GIF with ``animation.save("descent.gif", writer="pillow")`` (needs Pillow). Frames
    are spread evenly over a log scale of steps, so the fast first steps are not a blur.

    Args:
        x: inputs, shape ``(n,)``.
        y: targets, shape ``(n,)``.
        history: the run's History.
        frames: how many frames, at most.
        interval: milliseconds between frames.
        true_params: ``{"w": ..., "b": ...}`` of the line the data came from, drawn dashed.

    Returns:
        A ``matplotlib.animation.FuncAnimation``.

    Examples:
        >>> import minigd as mg
        >>> x, y = mg.make_linear_data(n=50, seed=0)
        >>> history = mg.History(record_params=True)
        >>> _ = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history]).fit(mg.Linear(), x, y, steps=30)
        >>> animation = animate_descent(x, y, history, frames=10)
        >>> animation.frame_steps[0], animation.frame_steps[-1], len(animation.frame_steps) <= 10
        (0, 30, True)
    """
    if not (isinstance(frames, int) and frames >= 2):
        raise ValueError(f"frames must be an integer >= 2, got {frames!r}.")
    x, y = check_xy(x, y)
    w_path, b_path = history.param_path("w"), history.param_path("b")
    if w_path.ndim != 1 or x.ndim != 1:
        raise ValueError("animate_descent draws one-feature Linear models only (w and b scalars).")
    steps = [int(s) for s in np.unique(np.geomspace(1, len(w_path), frames).astype(int) - 1)]
    figure, (data_axes, surface_axes) = new_figure(2, width=5.0)
    plot_loss_surface(x, y, history, ax=surface_axes)
    data_axes.scatter(x, y, s=8, color="0.55", alpha=0.5, linewidths=0, label="data")
    grid = np.array([x.min(), x.max()])
    if true_params is not None:
        data_axes.plot(grid, true_params["w"] * grid + true_params["b"], color="black",
                       linestyle=(0, (4, 3)), linewidth=1.3, label="true", zorder=3)
    (line,) = data_axes.plot([], [], color="tab:red", linewidth=3, label="current line", zorder=2)
    (point,) = surface_axes.plot([], [], "o", color="tab:red", markersize=10,
                                 markeredgecolor="white", zorder=6)
    data_axes.set(xlabel="x", ylabel="y", ylim=_padded_limits(y))
    data_axes.legend(loc="upper left", fontsize="small")

    def draw(index: int):
        w, b = w_path[index], b_path[index]
        line.set_data(grid, w * grid + b)
        point.set_data([w], [b])
        data_axes.set_title(f"after {index} steps: y = {w:.3f}x + {b:.3f}")
        return line, point

    draw(steps[-1])  # lay the figure out once, with the longest title it will show
    figure.draw_without_rendering()
    figure.set_layout_engine("none")  # and keep that layout: redoing it per frame triples the cost
    animation = _animation_class()(figure, draw, frames=steps, interval=interval, blit=False)
    animation.frame_steps = steps  # which step each frame shows
    return animation


def _padded_limits(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.1 * (high - low) or 1.0
    return low - pad, high + pad


@functools.cache
def _animation_class() -> type:
    from matplotlib.animation import FuncAnimation

    class LessonAnimation(FuncAnimation):
        """A FuncAnimation that shows itself in a notebook as HTML with play controls."""

        def _repr_html_(self) -> str:
            # matplotlib does this only if rcParams["animation.html"] says so; we always do
            return self.to_jshtml()

    LessonAnimation.__module__ = __name__
    return LessonAnimation
