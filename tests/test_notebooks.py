"""The lesson notebooks, run top to bottom in a real Jupyter kernel, with their outputs checked."""

from pathlib import Path
from xml.etree import ElementTree

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")
pytest.importorskip("pandas")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


class CountingClient(nbclient.NotebookClient):
    """A NotebookClient that also counts the in-place picture updates of each cell."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.updates: dict[int, int] = {}

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] == "update_display_data":
            self.updates[cell_index] = self.updates.get(cell_index, 0) + 1
        return super().process_message(msg, cell, cell_index)


def run(path: Path, folder: Path):
    notebook = nbformat.read(path, as_version=4)
    client = CountingClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook, client.updates


def cell_with(notebook, text: str) -> tuple[int, dict]:
    return next((i, cell) for i, cell in enumerate(notebook.cells)
                if cell.cell_type == "code" and text in cell.source)


def mime_types(cell) -> list[str]:
    return [mime for output in cell.outputs for mime in output.get("data", {})]


@pytest.fixture(scope="module")
def lesson(tmp_path_factory):
    return run(NOTEBOOKS / "01_seed_lesson.ipynb", tmp_path_factory.mktemp("lesson"))


def test_every_notebook_is_a_valid_notebook():
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert paths
    for path in paths:
        nbformat.validate(nbformat.read(path, as_version=4))


def test_a_figure_as_a_cells_last_expression_is_one_picture(lesson):
    notebook, _ = lesson
    for text in ("plotting.plot_training(", "plotting.plot_loss_surface("):
        _, cell = cell_with(notebook, text)
        assert mime_types(cell).count("image/png") == 1, text


def test_the_history_table_has_val_loss(lesson):
    notebook, _ = lesson
    _, cell = cell_with(notebook, "pd.DataFrame(history.history)")
    (result,) = [output for output in cell.outputs if output.output_type == "execute_result"]
    assert "text/html" in result.data and "val_loss" in result.data["text/html"]
    assert result.data["text/plain"].count("\n") == 8  # a header and eight epochs


def test_the_gradient_check_shows_as_a_table(lesson):
    notebook, _ = lesson
    _, cell = cell_with(notebook, "mg.check_gradients(")
    (result,) = [output for output in cell.outputs if output.output_type == "execute_result"]
    assert "text/html" in result.data and "ok" in result.data["text/html"]


def test_live_plot_redraws_one_picture_in_place(lesson):
    notebook, updates = lesson
    index, cell = cell_with(notebook, "LivePlot(")
    assert mime_types(cell).count("image/svg+xml") == 1  # one picture kept...
    assert "image/png" not in mime_types(cell)  # ...drawn by hand, not by matplotlib...
    assert updates.get(index, 0) >= 2  # ...updated in place, more than once
    (svg,) = [output.data["image/svg+xml"] for output in cell.outputs
              if "image/svg+xml" in output.get("data", {})]
    assert ElementTree.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"  # the last one, whole
    printed = "".join(output.get("text", "") for output in cell.outputs)
    assert f"redraws: {updates[index] + 1}" in printed


def test_log_lines_and_the_bar_are_separate_outputs(lesson):
    notebook, _ = lesson
    _, cell = cell_with(notebook, "mg.ProgressBar()")
    stdout = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
    assert stdout.splitlines()[0].startswith("iteration:0, loss:")
    assert "Final loss:" in stdout and "%|" not in stdout


def test_the_animation_shows_as_html(lesson):
    notebook, _ = lesson
    _, cell = cell_with(notebook, "animate_descent(")
    assert "text/html" in mime_types(cell)
