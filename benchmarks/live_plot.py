"""What LivePlot costs the reference job, measured in a real Jupyter kernel (issue 12).

    python benchmarks/live_plot.py               # 41 repetitions, about a minute
    python benchmarks/live_plot.py --repeat 21 --steps 20000

Starts a kernel with jupyter_client and runs, in it, the reference job
``mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[...]).fit(mg.Linear(),
*mg.make_linear_data(seed=0), steps=STEPS)`` in three ways, each in a cell of its own, as
in a notebook:

* ``none``: without LivePlot;
* ``live``: with LivePlot;
* ``bare``: no training, one ``display({"text/plain": "x"}, raw=True)``: the least any
  picture costs a Jupyter kernel.

Each repetition runs the three in a rotating order, so that none always runs first or
last; the table shows medians over the repetitions. Times inside LivePlot are taken by
a subclass that times its methods (``svg``, ``_show_svg``, ``_redraw``). Every LivePlot
cell is also checked to have received exactly one picture, and the ``none`` cells none.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent

#: Run once in the kernel: the job and the timed LivePlots.
SETUP = """
import json, sys, time
sys.path.insert(0, {root!r})
import minigd as mg
from IPython.display import display
from minigd.callbacks.live_plot import LivePlot

X, Y = mg.make_linear_data(seed=0)
STEPS = {steps}
clock = time.perf_counter


class Timed(LivePlot):
    # times spent in LivePlot's parts, in seconds, summed over the run
    def on_train_begin(self, logs):
        self.spent = {{"svg": 0.0, "shown": 0.0, "redraw": 0.0}}
        super().on_train_begin(logs)

    def _timed(self, key, method, *args):
        start = clock()
        try:
            return method(*args)
        finally:
            self.spent[key] += clock() - start

    def svg(self):  # writing the picture's text
        return self._timed("svg", super().svg)

    def _show_svg(self):  # the text, then display (or update) in the notebook
        return self._timed("shown", super()._show_svg)

    def _redraw(self):  # everything LivePlot does to draw
        return self._timed("redraw", super()._redraw)


def job(callbacks):
    trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=callbacks)
    return trainer.fit(mg.Linear(), X, Y, steps=STEPS)


job([]); job([Timed()])  # warm up: imports, first calls
"""

#: One cell per variant and repetition; prints one line of JSON.
CELLS = {
    "none": """
start = clock(); job([]); end = clock()
print(json.dumps({"fit": end - start}))
""",
    "live": """
live = Timed()
start = clock(); job([live]); end = clock()
print(json.dumps({"fit": end - start, "redraws": live.redraws, **live.spent}))
""",
    "bare": """
start = clock(); display({"text/plain": "x"}, raw=True); end = clock()
print(json.dumps({"display": end - start}))
""",
}


def run_cell(client, code: str) -> tuple[str, list[str]]:
    """Runs ``code``; returns what it printed and the MIME types of the pictures it showed."""
    printed, shown = [], []

    def on_message(msg):
        kind, content = msg["msg_type"], msg["content"]
        if kind == "stream":
            printed.append(content["text"])
        elif kind == "display_data":  # a new picture (updates replace one in place)
            shown.extend(content["data"])
        elif kind == "error":
            raise RuntimeError("\n".join(content["traceback"]))

    reply = client.execute_interactive(code, output_hook=on_message, timeout=120)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"the cell failed: {reply['content']}")
    return "".join(printed), shown


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=41, help="repetitions (default 41)")
    parser.add_argument("--steps", type=int, default=1000, help="steps of the job (default 1000)")
    args = parser.parse_args()

    manager, client = start_new_kernel(kernel_name="python3")
    try:
        run_cell(client, SETUP.format(root=str(ROOT), steps=args.steps))
        versions = run_cell(client, "import ipykernel, IPython, platform, os\n"
                                    "print(platform.python_version(), ipykernel.__version__, "
                                    "IPython.__version__, os.cpu_count())")[0].split()
        results: dict[str, list[dict]] = {name: [] for name in CELLS}
        names = list(CELLS)
        for rep in range(args.repeat):
            for name in names[rep % len(names):] + names[:rep % len(names)]:
                printed, shown = run_cell(client, CELLS[name])
                expected = {"none": [], "bare": ["text/plain"]}.get(name, ["image/svg+xml", "text/plain"])
                if sorted(shown) != expected:  # one picture per LivePlot cell, in that cell
                    raise RuntimeError(f"{name}: the cell showed {shown}, expected {expected}")
                results[name].append(json.loads(printed))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    def ms(name: str, key: str) -> float:
        return 1e3 * statistics.median(r[key] for r in results[name])

    base = ms("none", "fit")

    def row(label: str, value: float, share: bool = True) -> str:
        return f"| {label} | {value:.2f} | {100 * value / base:.1f}% |" if share else \
            f"| {label} | {value:.2f} | |"

    redraws = sorted({r["redraws"] for r in results["live"]})
    print(f"\nReference job, {args.steps} steps, in a Jupyter kernel (Python {versions[0]}, "
          f"ipykernel {versions[1]}, IPython {versions[2]}, {versions[3]} CPUs); median of "
          f"{args.repeat} repetitions, rotating order; LivePlot drew {redraws} picture(s) a run.\n")
    print("| | ms | % of the job without LivePlot |\n| --- | --- | --- |")
    print(row("fit without LivePlot", base, share=False))
    print(row("fit with LivePlot", ms("live", "fit")))
    print(row("time inside LivePlot's redraws", ms("live", "redraw")))
    print(row("... of which writing the SVG", ms("live", "svg")))
    print(row("... of which display (the SVG written, then shown)", ms("live", "shown") - ms("live", "svg")))
    print(row('a bare display({"text/plain": "x"}, raw=True)', ms("bare", "display")))


if __name__ == "__main__":
    sys.exit(main())
