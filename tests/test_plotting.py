"""Pictures: each is drawn, decodes as a PNG of sensible size, and shows the real path."""

import struct

import numpy as np
import pytest

import minigd as mg
from minigd import plotting
from minigd.cli import main


@pytest.fixture(scope="module")
def run():
    x, y = mg.make_linear_data(n=300, seed=5)
    history = mg.History(record_params=True)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history])
    trainer.fit(mg.Linear(), x, y, steps=400)
    return trainer.model, x, y, history


def png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # IHDR width, height


def test_training_figure_has_three_panels(run):
    model, x, y, history = run
    figure = plotting.plot_training(model, x, y, history, true_params={"w": 1.915, "b": 0.915})
    titles = [ax.get_title() for ax in figure.axes if ax.get_title()]
    assert titles == ["Data and fitted model", "Loss during training", "Descent path on the loss surface"]
    assert figure.axes[1].get_yscale() == "log"


def test_descent_path_runs_from_the_start_to_the_final_parameters(run):
    model, x, y, history = run
    figure = plotting.plot_loss_surface(x, y, history)
    path = next(line for line in figure.axes[0].lines if line.get_label() == "descent path")
    w, b = path.get_xdata(), path.get_ydata()
    assert (w[0], b[0]) == (0.0, 0.0)
    assert (w[-1], b[-1]) == (float(model.params["w"]), float(model.params["b"]))
    assert len(w) == 401  # the start and every step


def test_mse_surface_matches_the_loss_at_every_grid_point(run):
    _, x, y, _ = run
    w_grid, b_grid = np.linspace(-1, 3, 5), np.linspace(-2, 2, 4)
    surface = plotting.mse_surface(x, y, w_grid, b_grid)
    for i, b in enumerate(b_grid):
        for j, w in enumerate(w_grid):
            assert surface[i, j] == pytest.approx(mg.MSE()(y, w * x + b), rel=1e-10)


def test_several_features_give_predictions_against_targets_and_no_surface():
    x, y = mg.make_linear_data(n=100, w=[1.0, 2.0], seed=0)
    history = mg.History(record_params=True)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history])
    trainer.fit(mg.Linear(features=2), x, y, steps=50)
    figure = plotting.plot_training(trainer.model, x, y, history)
    assert [ax.get_title() for ax in figure.axes] == ["Predictions against targets", "Loss during training"]


def test_validation_loss_is_drawn_at_epoch_ends():
    x, y = mg.make_linear_data(n=100, seed=1)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01))
    history = trainer.fit(mg.Linear(), x, y, epochs=3, batch_size=50, validation_data=(x, y))
    figure = plotting.plot_loss(history)
    val = next(line for line in figure.axes[0].lines if line.get_label() == "val_loss")
    assert list(val.get_xdata()) == [1, 3, 5]


def test_fit_command_writes_a_png_of_sensible_size(tmp_path):
    path = tmp_path / "fit.png"
    assert main(["fit", "--quiet", "--steps", "100", "--plot", str(path)]) == 0
    width, height = png_size(path)
    assert 1000 <= width <= 2000 and 300 <= height <= 600


def test_sweep_plot_marks_the_diverged_run():
    figure = plotting.plot_sweep({0.01: [3.0, 2.0, 1.0], 0.5: [3.0, 30.0]}, diverged={0.5: 2})
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert "learning_rate=0.5 (diverged at step 2)" in labels


def test_loss_surface_needs_recorded_parameters():
    x, y = mg.make_linear_data(n=10, seed=0)
    history = mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(mg.Linear(), x, y, steps=3)
    with pytest.raises(ValueError, match="record_params=True"):
        plotting.plot_loss_surface(x, y, history)
