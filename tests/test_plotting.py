"""Pictures: each is drawn, decodes as a PNG of sensible size, and shows the real path."""

import struct
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

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
    assert 1000 <= width <= 2400 and 600 <= height <= 1400  # two rows: readable at a page's width


def test_sweep_plot_marks_the_diverged_run():
    figure = plotting.plot_sweep({0.01: [3.0, 2.0, 1.0], 0.5: [3.0, 30.0]}, diverged={0.5: 2})
    labels = [line.get_label() for line in figure.axes[0].lines]
    assert "learning_rate=0.5 (diverged at step 2)" in labels


def test_loss_surface_needs_recorded_parameters():
    x, y = mg.make_linear_data(n=10, seed=0)
    history = mg.Trainer(mg.MSE(), mg.SGD(0.01)).fit(mg.Linear(), x, y, steps=3)
    with pytest.raises(ValueError, match="record_params=True"):
        plotting.plot_loss_surface(x, y, history)


# -- figures show themselves, once, and leave pyplot alone ---------------------------------

def test_a_figure_has_a_png_for_jupyter_at_150_dpi(run):
    model, x, y, _ = run
    figure = plotting.plot_fit(model, x, y)
    data, metadata = figure._repr_png_()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert figure.dpi == 150 and (width, height) == tuple(round(v * 150) for v in figure.get_size_inches())
    assert metadata == {"width": round(width * 100 / 150), "height": round(height * 100 / 150)}


def test_given_an_axes_the_function_returns_it_so_pyplot_shows_the_figure_once(run):
    from matplotlib.figure import Figure

    model, x, y, history = run
    figure = Figure()
    ax = figure.subplots()
    assert plotting.plot_fit(model, x, y, ax=ax) is ax
    assert plotting.plot_loss(history, ax=ax) is ax


def test_plotting_never_touches_pyplot_and_show_hands_the_figure_back():
    # a fresh interpreter: pytest or another test may have imported pyplot already
    script = textwrap.dedent("""
        import sys, warnings
        import matplotlib
        matplotlib.use("agg")
        import minigd as mg
        from minigd import plotting
        x, y = mg.make_linear_data(n=50, seed=0)
        figure = plotting.plot_fit(mg.Linear(), x, y)
        print("pyplot imported by plotting:", "matplotlib.pyplot" in sys.modules)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")    # agg may warn that it cannot show
            figure.show()                      # but does not raise
        import matplotlib.pyplot as plt
        print("pyplot figures left:", plt.get_fignums())
        figure2 = plotting.plot_fit(mg.Linear(), x, y)   # pyplot imported, but no window backend
        print("pyplot figures after:", plt.get_fignums())
        figure.savefig(sys.argv[1])
    """)
    out = subprocess.run([sys.executable, "-c", script, "/dev/null"], capture_output=True, text=True,
                         check=True).stdout
    assert out.splitlines() == ["pyplot imported by plotting: False",
                                "pyplot figures left: []", "pyplot figures after: []"]


def test_without_matplotlib_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    plotting.figure_class.cache_clear()
    try:
        with pytest.raises(ImportError, match=r"pip install 'minigd\[plot\]'"):
            plotting.new_figure()
    finally:
        monkeypatch.undo()
        plotting.figure_class.cache_clear()


# -- what a teacher puts on a slide ---------------------------------------------------------

def test_the_fitted_line_is_drawn_wide_under_a_thin_true_line(run):
    model, x, y, _ = run
    ax = plotting.plot_fit(model, x, y, true_params={"w": 1.915, "b": 0.915}).axes[0]
    fitted, true = ax.lines
    assert fitted.get_label().startswith("fitted: y = ") and true.get_label() == "true: y = 1.915x + 0.915"
    assert fitted.get_linewidth() > 2 * true.get_linewidth() and true.get_zorder() > fitted.get_zorder()


def test_the_end_star_shows_inside_the_least_squares_ring(run):
    _, x, y, history = run
    ax = plotting.plot_loss_surface(x, y, history).axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    ring, star = lines["least squares"], lines["end"]
    assert ring.get_markerfacecolor() == "none" and ring.get_markersize() > star.get_markersize()
    assert star.get_zorder() > ring.get_zorder()


def runs_at(x, y, rates, steps):
    runs = {}
    for rate in rates:
        runs[f"learning_rate={rate}"] = history = mg.History(record_params=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # some of these runs diverge, on purpose
            mg.Trainer(mg.MSE(), mg.SGD(rate), callbacks=[history],
                       on_divergence="stop").fit(mg.Linear(), x, y, steps=steps)
    return runs


def test_several_runs_share_one_surface_one_colorbar_one_legend_and_get_their_own_colours():
    x, y = mg.make_linear_data(n=200, seed=0)
    runs = runs_at(x, y, (0.01, 0.025, 0.0315), steps=40)
    figure = plotting.plot_loss_surface(x, y, runs)
    assert len(figure.axes) == 2  # the surface and one colorbar
    ax = figure.axes[0]
    paths = [line for line in ax.lines if line.get_label().startswith("learning_rate")]
    assert [p.get_label() for p in paths] == ["learning_rate=0.01", "learning_rate=0.025",
                                              "learning_rate=0.0315 (diverges)"]
    assert len({p.get_color() for p in paths}) == 3
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert len(labels) == len(set(labels)) == 6  # 3 runs, start, end, least squares


def test_a_second_run_on_the_same_axes_adds_a_path_not_a_colorbar():
    x, y = mg.make_linear_data(n=200, seed=0)
    runs = runs_at(x, y, (0.01, 0.02), steps=40)
    figure = plotting.plot_loss_surface(x, y, runs["learning_rate=0.01"], label="slow")
    plotting.plot_loss_surface(x, y, runs["learning_rate=0.02"], ax=figure.axes[0], label="fast")
    assert len(figure.axes) == 2
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels.count("slow") == labels.count("fast") == labels.count("least squares") == 1


def test_a_diverging_path_does_not_blow_up_the_view():
    x, y = mg.make_linear_data(n=200, seed=0)
    history = runs_at(x, y, (0.04,), steps=40)["learning_rate=0.04"]
    assert abs(history.param_path("w")[-1]) > 1e3  # the path went far away...
    ax = plotting.plot_loss_surface(x, y, history).axes[0]
    low, high = ax.get_xlim()
    assert -20 < low < 0 < 1.915 < high < 20  # ...but the view stays where its overshoots show


def test_the_sweep_draws_the_bound_and_the_diverged_run_up_to_its_step():
    x, y = mg.make_linear_data(n=200, seed=0)
    losses = {rate: run.step_history["loss"] for rate, run in
              zip((0.01, 0.05), runs_at(x, y, (0.01, 0.05), steps=50).values())}
    bound = mg.stable_learning_rate(x)
    figure = plotting.plot_sweep(losses, {0.05: len(losses[0.05])}, stable_bound=bound)
    curves, finals = figure.axes
    # up to the trainer's bar for divergence, so the x sits at the step the legend names
    top = mg.divergence.GROWTH_LIMIT * losses[0.01][0]
    assert curves.get_xscale() == "symlog" and curves.get_ylim()[1] == pytest.approx(top)
    marker = next(line for line in curves.lines if line.get_marker() == "x")
    assert (marker.get_xdata()[0], marker.get_ydata()[0]) == (len(losses[0.05]), pytest.approx(top))
    assert max(losses[0.05]) <= top  # every loss the diverged run kept is on the chart
    assert any(line.get_xdata()[0] == bound for line in finals.lines)  # the bound, drawn
    assert "stable for learning_rate < " in curves.get_legend().get_title().get_text()


def test_figures_save_at_150_dpi(tmp_path, run):
    model, x, y, history = run
    figure = plotting.plot_training(model, x, y, history)
    figure.savefig(tmp_path / "t.png")
    width, height = png_size(tmp_path / "t.png")
    assert (width, height) == tuple(round(v * 150) for v in figure.get_size_inches())


def test_the_descent_animation_saves_as_a_gif_and_shows_as_html(tmp_path):
    from PIL import Image

    x, y = mg.make_linear_data(n=50, seed=0)
    history = mg.History(record_params=True)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history]).fit(mg.Linear(), x, y, steps=100)
    animation = plotting.animate_descent(x, y, history, frames=6)
    assert list(animation.frame_steps)[0] == 0 and list(animation.frame_steps)[-1] == 100
    animation.save(tmp_path / "descent.gif", writer="pillow", dpi=40)
    with Image.open(tmp_path / "descent.gif") as gif:
        assert gif.n_frames == len(animation.frame_steps) >= 5
    assert "<script" in animation._repr_html_()


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="stable_bound"):
        plotting.plot_sweep({0.1: [1.0]}, stable_bound=-1.0)
    with pytest.raises(ValueError, match="history"):
        plotting.plot_loss_surface([1.0], [1.0], {})


def test_bad_data_is_named_before_matplotlib_or_lapack_see_it():
    x, y = mg.make_linear_data(n=20, seed=0)
    history = mg.History(record_params=True)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[history]).fit(mg.Linear(), x, y, steps=3)
    with_nan = x.copy()
    with_nan[3] = np.nan
    with pytest.raises(ValueError, match=r"x and y have different lengths \(20 and 5\)"):
        plotting.plot_fit(mg.Linear(), x, y[:5])
    with pytest.raises(ValueError, match=r"x contains 1 NaN .*first at flat index 3"):
        plotting.plot_fit(mg.Linear(), with_nan, y)  # the user's x, not the plotting grid
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        plotting.plot_loss_surface(with_nan, y, history)
    with pytest.raises(ValueError, match="x contains 1 NaN"):
        mg.Linear.least_squares(with_nan, y)


def test_the_committed_doc_pictures_are_sharp_and_the_gif_moves():
    from PIL import Image

    img = Path(__file__).resolve().parent.parent / "docs" / "img"
    for name in ("training.png", "sweep.png", "runs.png"):
        with Image.open(img / name) as picture:
            assert round(picture.info["dpi"][0]) == 150, name  # sharp on a slide, not 100 dpi
    with Image.open(img / "descent.gif") as gif:
        assert gif.n_frames >= 20


# -- LivePlot outside a notebook (inside one: tests/test_notebooks.py) ----------------------

def test_live_plot_outside_a_notebook_without_a_file_draws_nothing(tmp_path, monkeypatch):
    from minigd.callbacks.live_plot import LivePlot

    monkeypatch.chdir(tmp_path)
    live = LivePlot(interval=0.0)
    x, y = mg.make_linear_data(n=50, seed=0)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[live]).fit(mg.Linear(), x, y, steps=30)
    assert live.redraws == 0 and list(tmp_path.iterdir()) == []


def test_live_plot_rewrites_a_png_and_keeps_to_its_budget(tmp_path):
    from minigd.callbacks.live_plot import LivePlot

    path = tmp_path / "live.png"
    # interval 0 allows a redraw at once; a tiny budget then forbids another until the end
    live = LivePlot(interval=0.0, filename=path, budget=1e-9)
    x, y = mg.make_linear_data(n=50, seed=0)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[live]).fit(mg.Linear(), x, y, steps=30)
    assert live.redraws == 2  # the first step's picture, and the final one
    assert png_size(path)[0] > 300 and [p.name for p in tmp_path.iterdir()] == ["live.png"]


def test_live_plot_options_are_checked():
    from minigd.callbacks.live_plot import LivePlot

    for options, name in (({"every": 0}, "every"), ({"interval": -1}, "interval"), ({"budget": 0}, "budget")):
        with pytest.raises(ValueError, match=name):
            LivePlot(**options)
