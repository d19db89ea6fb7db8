"""Draw the figures the docs show, with minigd's own plotting code.

    python docs/make_figures.py [FOLDER]      # default: docs/img

Every picture is saved at the figures' own 150 dpi, so it is sharp on a slide.
"""

import sys
from pathlib import Path

import minigd as mg
from minigd.plotting import animate_descent, plot_loss_surface, plot_sweep, plot_training

TRUE_LINE = {"w": 1.915, "b": 0.915}


def training_figure():
    """The tutorial's figure for the reference job: fit, loss, and the path on the surface."""
    x, y = mg.make_linear_data(n=1000, seed=0)
    history = mg.History(record_params=True)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01), callbacks=[history])
    model = mg.Linear()
    trainer.fit(model, x, y, steps=1000)
    return plot_training(model, x, y, history, true_params=TRUE_LINE)


def sweep_figure():
    """Loss curves at four learning rates around the stable bound (about 0.031)."""
    x, y = mg.make_linear_data(n=1000, seed=0)
    losses, diverged = {}, {}
    for learning_rate in (0.001, 0.01, 0.03, 0.05):
        try:
            history = mg.Trainer(mg.MSE(), mg.SGD(learning_rate)).fit(mg.Linear(), x, y, steps=1000)
        except mg.DivergenceError as error:
            history = error.history
            diverged[learning_rate] = error.step
        losses[learning_rate] = history.step_history.get("loss", [])
    return plot_sweep(losses, diverged, stable_bound=mg.stable_learning_rate(x))


def runs_figure():
    """Three labelled runs on one loss surface: smooth, zigzag, and just past the bound."""
    x, y = mg.make_linear_data(n=1000, seed=0)
    runs = {}
    for learning_rate, steps in ((0.01, 300), (0.025, 300), (0.0315, 12)):
        runs[f"learning_rate={learning_rate}"] = history = mg.History(record_params=True)
        trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate), callbacks=[history])
        trainer.fit(mg.Linear(), x, y, steps=steps)
    return plot_loss_surface(x, y, runs)


def descent_animation():
    """The reference job's descent as a GIF: the point on the surface, the line on the data."""
    x, y = mg.make_linear_data(n=200, seed=0)  # fewer points: a lighter GIF, the same picture
    history = mg.History(record_params=True)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history]).fit(mg.Linear(), x, y, steps=1000)
    return animate_descent(x, y, history, frames=30, true_params=TRUE_LINE)


def save_animation(animation, path: Path) -> None:
    animation.save(path, writer="pillow", dpi=80)  # 800 pixels wide


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "img")
    folder.mkdir(parents=True, exist_ok=True)
    training_figure().savefig(folder / "training.png")
    sweep_figure().savefig(folder / "sweep.png")
    runs_figure().savefig(folder / "runs.png")
    save_animation(descent_animation(), folder / "descent.gif")
    print(f"figures written to {folder}")
