"""LivePlot: the hand-written SVG, the in-place updates, the PNG file and the time budget.

In a real Jupyter kernel: tests/test_notebooks.py. Here IPython's ``display`` is replaced
by a recorder, so the notebook path runs in plain pytest.
"""

import math
import re
import subprocess
import sys
from xml.etree import ElementTree

import pytest

import minigd as mg
from minigd.callbacks.live_plot import LivePlot, Panel, svg_picture

SVG = "{http://www.w3.org/2000/svg}"


def paths(svg: str) -> list[list[tuple[float, float]]]:
    """The points of every <path>, after checking that the SVG is well-formed XML."""
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    found = []
    for path in root.iter(f"{SVG}path"):
        scale = {None: 1.0, "scale(0.1)": 0.1}[path.get("transform")]  # to pixels
        numbers = [scale * float(n) for n in re.findall(r"[-+]?\d*\.?\d+(?:e[-+]?\d+)?", path.get("d"))]
        points = list(zip(numbers[::2], numbers[1::2]))
        # a piece starts with a line of length 0 (a dot if alone): count its point once
        found.append([p for i, p in enumerate(points) if i == 0 or p != points[i - 1]])
    return found


def trained(live: LivePlot, **fit_options) -> LivePlot:
    x, y = mg.make_linear_data(n=200, seed=0)
    x_val, y_val = mg.make_linear_data(n=50, seed=1)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.005), metrics=["mae"], callbacks=[live])
    options = {"epochs": 30, "batch_size": 50, "validation_data": (x_val, y_val), "seed": 0}
    trainer.fit(mg.Linear(), x, y, **{**options, **fit_options})
    return live


class RecordedDisplay:
    """Stands in for IPython's ``display``; is also the handle it returns."""

    def __init__(self):
        self.shown, self.updates = [], []

    def __call__(self, bundle, raw=False, display_id=None):
        assert raw and display_id is True
        self.shown.append(bundle)
        return self

    def update(self, bundle, raw=False):
        self.updates.append(bundle)


@pytest.fixture
def notebook(monkeypatch):
    """As if in a notebook: LivePlot's pictures go to a RecordedDisplay."""
    pytest.importorskip("IPython")
    recorded = RecordedDisplay()
    monkeypatch.setattr("minigd.plotting.in_notebook", lambda: True)
    monkeypatch.setattr("IPython.display.display", recorded)
    return recorded


# -- the picture -----------------------------------------------------------------------

def test_the_svg_has_a_line_per_series_with_finite_coordinates_inside_the_picture():
    svg = trained(LivePlot()).svg()
    lines = paths(svg)
    assert len(lines) == 4  # loss and val_loss; mae and val_mae
    root = ElementTree.fromstring(svg)
    width, height = float(root.get("width")), float(root.get("height"))
    assert width == 2 * 340  # two panels
    for points in lines:
        assert len(points) >= 2
        for x, y in points:  # in each panel's own coordinates
            assert math.isfinite(x) and math.isfinite(y) and 0 <= x <= 340 and 0 <= y <= height
    texts = list(root.itertext())
    for label in ("loss", "val_loss", "mae", "val_mae", "step"):
        assert label in texts


def test_a_log_scale_spans_the_decades_of_the_loss():
    steps = list(range(16))
    values = [10.0 ** (3 - step) for step in steps]  # 1e3 down to 1e-12
    svg = svg_picture([Panel("Loss", {"loss": (steps, values)}, log=True)])
    (points,) = paths(svg)
    ys = [y for _, y in points]
    # equal ratios are equal distances: one step down is the same height every time
    gaps = [b - a for a, b in zip(ys, ys[1:])]
    assert max(gaps) - min(gaps) < 0.2 and min(gaps) > 0
    labels = [t for t in ElementTree.fromstring(svg).itertext() if t.startswith("1e")]
    assert labels[0] == "1e-12" and labels[-1] == "1e3" and len(labels) <= 7  # thinned out


def test_values_that_cannot_be_drawn_leave_gaps():
    values = [1.0, 0.5, float("nan"), 0.2, 0.0, 0.1, float("inf"), -1.0, 0.05]
    svg = svg_picture([Panel("Loss", {"loss": (list(range(9)), values)}, log=True)])
    (points,) = paths(svg)
    assert len(points) == 5  # only the finite, positive values...
    # ...in four pieces, the lone points among them drawn as dots (a line of length 0)
    assert ElementTree.fromstring(svg).find(f".//{SVG}path").get("d").count("M") == 4


def test_a_long_run_is_thinned_but_keeps_its_latest_value():
    steps = list(range(100_001))
    svg = svg_picture([Panel("Loss", {"loss": (steps, [1.0 + s for s in steps])}, log=True)])
    (points,) = paths(svg)
    assert len(points) <= 400 and len(svg) < 20_000
    assert points[-1][0] == max(x for x, _ in points)  # the last step is drawn


def test_names_are_escaped():
    svg = svg_picture([Panel("a<b & c", {"val_<x>": ([0, 1], [1.0, 2.0])})])
    assert "a<b & c" in "".join(ElementTree.fromstring(svg).itertext())


# -- in a notebook: one picture, updated in place --------------------------------------

def test_in_a_notebook_one_picture_is_shown_then_updated_in_place(notebook):
    live = trained(LivePlot(interval=0.0, budget=1.0), epochs=200)
    assert len(notebook.shown) == 1 and len(notebook.updates) >= 2
    assert live.redraws == 1 + len(notebook.updates)
    for bundle in notebook.shown + notebook.updates:
        assert set(bundle) == {"image/svg+xml", "text/plain"}
    assert paths(notebook.updates[-1]["image/svg+xml"])  # the final picture, whole


def test_the_budget_spaces_the_redraws(notebook):
    # interval 0 allows a redraw at once; a tiny budget then forbids another until the end
    live = trained(LivePlot(interval=0.0, budget=1e-9))
    assert live.redraws == 2 and len(notebook.shown) == 1 and len(notebook.updates) == 1


def test_every_limits_the_redraws_in_steps(notebook):
    live = trained(LivePlot(every=50, interval=0.0, budget=1.0), epochs=50)  # 200 steps
    assert live.redraws <= 200 // 50 + 1


def test_a_long_full_batch_run_is_still_drawn_while_it_runs(notebook):
    # full batch: the trainer may run many steps in one go; LivePlot must still get
    # to look at the clock during the run, not only at its end
    x, y = mg.make_linear_data(seed=0)
    live = LivePlot(interval=0.0, budget=1.0)  # as often as drawing itself allows
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[live]).fit(mg.Linear(), x, y, steps=20_000)
    assert live.redraws >= 3


def test_the_notebook_picture_needs_no_matplotlib():
    pytest.importorskip("IPython")
    code = """
import sys
import minigd as mg, minigd.plotting
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from minigd.callbacks.live_plot import LivePlot
InteractiveShell.instance()
minigd.plotting.in_notebook = lambda: True
live = LivePlot()
with capture_output() as shown:
    x, y = mg.make_linear_data(seed=0)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[live]).fit(mg.Linear(), x, y, steps=100)
print(live.redraws, len(shown.outputs), "matplotlib" in sys.modules)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["1", "1", "False"]


def test_in_a_real_kernel_each_picture_lands_in_its_own_cell(tmp_path):
    # "Run All" on a busy kernel: each cell starts as soon as the one before ends; one
    # picture per cell that trains, none in the cells between, text in the order printed
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    fit = ("mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[mg.LivePlot({})]).fit("
           "mg.Linear(), *mg.make_linear_data(seed=0), steps={})")
    slow_sends = """
import time, IPython.display
import minigd as mg

def slowly(send):  # a busy kernel: each picture reaches the front end 0.2 s late
    def slow(*args, **options):
        time.sleep(0.2)
        return send(*args, **options)
    return slow

IPython.display.display = slowly(IPython.display.display)
IPython.display.update_display = slowly(IPython.display.update_display)
"""
    cells = [slow_sends,
             fit.format("", 1000),  # one picture, at the end of the run
             "print('no picture here')",
             fit.format("", 100) + "\nprint('after the fit')",
             fit.format("interval=0.0", 2000),  # drawn, then replaced in place
             "for seed in range(3):\n    " + fit.format("", 100),  # three pictures
             "print('nor here')"]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    pictures = [sum("image/svg+xml" in o.get("data", {}) for o in cell.outputs) for cell in notebook.cells]
    assert pictures == [0, 1, 0, 1, 1, 3, 0]
    printed = ["".join(o.get("text", "") for o in cell.outputs) for cell in notebook.cells]
    assert printed[2:4] == ["no picture here\n", "after the fit\n"]
    kinds = [output["output_type"] for output in notebook.cells[3].outputs]
    assert kinds == ["display_data", "stream"]  # the fit's picture above what follows it


# -- outside a notebook ----------------------------------------------------------------

def test_outside_a_notebook_without_a_file_it_does_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    live = trained(LivePlot(interval=0.0, budget=1.0))
    assert live.redraws == 0 and list(tmp_path.iterdir()) == []
    assert live.next_step_needed(0) is None  # and never holds the trainer back


def test_with_a_file_it_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "live.png"
    live = trained(LivePlot(interval=0.0, budget=1.0, filename=path), epochs=5)
    assert live.redraws >= 2
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["live.png"]


def test_a_failed_png_write_leaves_the_old_picture(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    path = tmp_path / "live.png"
    path.write_bytes(b"old picture")

    def broken_savefig(self, file, **options):
        file.write(b"half a PNG")
        raise OSError("disk full")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disk full"):
        trained(LivePlot(filename=path), epochs=1)
    assert path.read_bytes() == b"old picture" and [p.name for p in tmp_path.iterdir()] == ["live.png"]


def test_a_png_without_matplotlib_is_refused_before_the_run(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    with pytest.raises(ImportError, match=r"LivePlot\(filename=...\) draws with matplotlib: pip install 'minigd\[plot\]'"):
        mg.LivePlot(filename="live.png")
    mg.LivePlot()  # in a notebook it draws SVG by hand: no matplotlib needed
