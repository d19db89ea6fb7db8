"""Pictures of a run: the fitted line, the loss curve, and the descent path on the loss surface.

Every function returns a matplotlib ``Figure`` (shown inline in a notebook, or saved
with ``figure.savefig("fit.png")``). Figures are built without ``pyplot``, so no GUI
backend is needed or changed. Install with ``pip install 'minigd[plot]'``.

Example:
    >>> import minigd as mg
    >>> x, y = mg.make_linear_data(seed=0)
    >>> history = mg.History(record_params=True)   # the path needs the parameters per step
    >>> trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history])
    >>> _ = trainer.fit(mg.Linear(), x, y, steps=1000)
    >>> figure = plot_training(trainer.model, x, y, history, true_params={"w": 1.915, "b": 0.915})
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .callbacks import History
from .models import Linear, Model


def _figure(panels: int):
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError("Plotting needs matplotlib: pip install 'minigd[plot]'") from error
    figure = Figure(figsize=(5.0 * panels, 4.2), layout="constrained")
    return figure, figure.subplots(1, panels, squeeze=False)[0]


def _draws_a_line(model: Model, x: np.ndarray) -> bool:
    return isinstance(model, Linear) and model.features is None and x.ndim == 1


def plot_fit(model: Model, x, y, true_params: Mapping | None = None, ax=None):
    """The data and the model's predictions: a line for one feature, else y_pred vs y.

    Args:
        true_params: ``{"w": ..., "b": ...}`` of the line the data came from, drawn dashed.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    figure, ax = _target(ax)
    if x.ndim == 1:
        ax.scatter(x, y, s=6, alpha=0.4, label="data")
        grid = np.linspace(x.min(), x.max(), 200)
        ax.plot(grid, model(grid), color="C3", label="fitted")
        if true_params is not None:
            ax.plot(grid, true_params["w"] * grid + true_params["b"], "k--", label="true")
        ax.set(xlabel="x", ylabel="y", title="Data and fitted model")
    else:
        ax.scatter(y, model(x), s=6, alpha=0.4)
        ax.axline((y.mean(), y.mean()), slope=1.0, color="k", linestyle="--", label="y_pred = y")
        ax.set(xlabel="y (true)", ylabel="y_pred", title="Predictions against targets")
    ax.legend()
    return figure


def plot_loss(history: History, ax=None, label: str = "loss"):
    """Loss per step on a log scale (and validation loss per epoch, if recorded)."""
    figure, ax = _target(ax)
    ax.semilogy(history.steps, history.history["loss"], label=label)
    if "val_loss" in history.history:
        ax.semilogy(history.epoch_end_steps, history.history["val_loss"], "o-", label="val_loss")
    ax.set(xlabel="step", ylabel="loss (log scale)", title="Loss during training")
    ax.legend()
    return figure


def mse_surface(x, y, w_grid: np.ndarray, b_grid: np.ndarray) -> np.ndarray:
    """MSE of the line w*x + b for every (w, b) on a grid, from five data means.

    ``mean((w*x + b - y)**2)`` expands to
    ``w**2 E[x^2] + 2wb E[x] + b**2 - 2w E[xy] - 2b E[y] + E[y^2]``,
    so the whole grid costs no pass over the data beyond these means.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    w, b = np.meshgrid(w_grid, b_grid)
    xx, xm, xy, ym, yy = np.mean(x * x), x.mean(), np.mean(x * y), y.mean(), np.mean(y * y)
    return w * w * xx + 2 * w * b * xm + b * b - 2 * w * xy - 2 * b * ym + yy


def plot_loss_surface(x, y, history: History, ax=None):
    """Contours of the MSE over (w, b) with the run's descent path from start to end.

    Needs a one-feature ``Linear`` model trained with ``History(record_params=True)``.
    """
    w_path, b_path = history.param_path("w"), history.param_path("b")
    if w_path.ndim != 1:
        raise ValueError("plot_loss_surface draws one-feature Linear models only (w and b scalars).")
    figure, ax = _target(ax)
    best = Linear.least_squares(x, y).params
    w_best, b_best = float(best["w"]), float(best["b"])
    w_grid = _padded_range(np.append(w_path, w_best))
    b_grid = _padded_range(np.append(b_path, b_best))
    surface = mse_surface(x, y, w_grid, b_grid)
    levels = np.geomspace(max(surface.min(), 1e-12), surface.max(), 25)
    contours = ax.contour(w_grid, b_grid, surface, levels=levels, cmap="viridis",
                          norm=_log_norm(), linewidths=0.8)
    figure.colorbar(contours, ax=ax, label="MSE", format="%.3g")
    ax.plot(w_path, b_path, ".-", color="C3", markersize=3, linewidth=1, label="descent path")
    ax.plot(w_path[0], b_path[0], "o", color="k", label=f"start ({w_path[0]:g}, {b_path[0]:g})")
    ax.plot(w_path[-1], b_path[-1], "*", color="C3", markersize=12, label="end")
    ax.plot(w_best, b_best, "x", color="k", markersize=9, label="least squares")
    ax.set(xlabel="w", ylabel="b", title="Descent path on the loss surface")
    ax.legend(loc="best", fontsize="small")
    return figure


def _log_norm():
    from matplotlib.colors import LogNorm

    return LogNorm()


def _padded_range(values: np.ndarray, points: int = 200) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    pad = 0.15 * (high - low) or 1.0
    return np.linspace(low - pad, high + pad, points)


def plot_training(model: Model, x, y, history: History, true_params: Mapping | None = None):
    """One figure, three panels: the fit, the loss per step, the path on the loss surface.

    The surface panel appears for a one-feature ``Linear`` model whose History recorded
    its parameters; otherwise the figure has the first two panels.
    """
    x = np.asarray(x, dtype=np.float64)
    with_surface = _draws_a_line(model, x) and history.record_params
    figure, axes = _figure(3 if with_surface else 2)
    plot_fit(model, x, y, true_params, ax=axes[0])
    plot_loss(history, ax=axes[1])
    if with_surface:
        plot_loss_surface(x, y, history, ax=axes[2])
    return figure


def plot_sweep(losses: Mapping[float, list[float]], diverged: Mapping[float, int] | None = None,
               ax=None):
    """Loss curves for several learning rates on one log-scale plot.

    Args:
        losses: learning rate -> loss per step.
        diverged: learning rate -> the step where that run diverged (marked with an x).
    """
    figure, ax = _target(ax)
    diverged = diverged or {}
    for index, (learning_rate, curve) in enumerate(losses.items()):
        color = f"C{index}"
        label = f"learning_rate={learning_rate:g}"
        if learning_rate in diverged:
            label += f" (diverged at step {diverged[learning_rate]})"
        ax.semilogy(range(len(curve)), curve, color=color, label=label)
        if learning_rate in diverged and curve:
            ax.semilogy(len(curve) - 1, curve[-1], "x", color=color, markersize=10)
    ax.set(xlabel="step", ylabel="loss (log scale)", title="Loss for each learning rate")
    ax.legend(fontsize="small")
    return figure


def _target(ax):
    """The figure and axes to draw on: the given axes, or a new one-panel figure."""
    if ax is not None:
        return ax.figure, ax
    figure, axes = _figure(1)
    return figure, axes[0]
