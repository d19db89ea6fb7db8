"""Draw the figures the docs show, with minigd's own plotting code.

    python docs/make_figures.py [FOLDER]      # default: docs/img
"""

import sys
from pathlib import Path

import minigd as mg
from minigd.plotting import plot_sweep, plot_training

TRUE_LINE = {"w": 1.915, "b": 0.915}


def training_figure(folder: Path) -> None:
    """The tutorial's three panels for the reference job."""
    x, y = mg.make_linear_data(n=1000, seed=0)
    history = mg.History(record_params=True)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(learning_rate=0.01), callbacks=[history])
    model = mg.Linear()
    trainer.fit(model, x, y, steps=1000)
    plot_training(model, x, y, history, true_params=TRUE_LINE).savefig(folder / "training.png", dpi=100)


def sweep_figure(folder: Path) -> None:
    """Loss curves at four learning rates around the stable bound (about 0.031)."""
    x, y = mg.make_linear_data(n=1000, seed=0)
    losses, diverged = {}, {}
    for learning_rate in (0.001, 0.01, 0.03, 0.05):
        try:
            history = mg.Trainer(mg.MSE(), mg.SGD(learning_rate)).fit(mg.Linear(), x, y, steps=1000)
        except mg.DivergenceError as error:
            history = error.history
            diverged[learning_rate] = error.step
        losses[learning_rate] = history.history["loss"]
    plot_sweep(losses, diverged).savefig(folder / "sweep.png", dpi=100)


if __name__ == "__main__":
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "img")
    folder.mkdir(parents=True, exist_ok=True)
    training_figure(folder)
    sweep_figure(folder)
    print(f"figures written to {folder}")
