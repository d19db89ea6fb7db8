"""How fast is minigd.read_csv? Compared with np.loadtxt (and pandas.read_csv if installed).

Writes a file of ``x,y`` rows (with a header) to a temporary folder, then reads it with
each reader in turn, rotating the order every repetition so that none always runs
first (cold caches) or last, and prints the median time of each and its ratio to
np.loadtxt. The goal (issue 14) is read_csv within 1.5x of np.loadtxt.

    python benchmarks/read_csv.py              # 1e6 rows, 7 repetitions
    python benchmarks/read_csv.py --rows 100000 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

import minigd


def write_points(path: str, rows: int) -> None:
    """A header, then ``rows`` lines of ``x,y`` with full-precision floats."""
    rng = np.random.default_rng(0)
    x = rng.uniform(-10, 10, rows)
    y = 1.915 * x + 0.915 + rng.normal(0, 0.1, rows)
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header="x,y", comments="", fmt="%.17g")


def readers(path: str) -> dict:
    """name -> function reading (x, y) from ``path``."""
    def loadtxt():
        table = np.loadtxt(path, delimiter=",", skiprows=1)
        return table[:, 0], table[:, 1]

    found = {"np.loadtxt": loadtxt, "minigd.read_csv": lambda: minigd.read_csv(path)}
    try:
        import pandas
    except ImportError:
        print("(pandas is not installed: skipped)")
    else:
        def pandas_read_csv():
            table = pandas.read_csv(path).to_numpy()
            return table[:, 0], table[:, 1]

        found["pandas.read_csv"] = pandas_read_csv
    return found


def time_readers(found: dict, repeat: int) -> dict[str, list[float]]:
    """Seconds per call of each reader, ``repeat`` times each, in rotating order."""
    names = list(found)
    times: dict[str, list[float]] = {name: [] for name in names}
    for repetition in range(repeat):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            found[name]()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=7, help="repetitions (at least 5)")
    args = parser.parse_args()
    repeat = max(args.repeat, 5)
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "points.csv")
        write_points(path, args.rows)
        print(f"{args.rows:,} rows, {os.path.getsize(path) / 1e6:.1f} MB, median of {repeat}:")
        found = readers(path)
        expected = found["np.loadtxt"]()
        for name, read in found.items():  # all read the same numbers, bit for bit
            for got, want in zip(read(), expected):
                assert np.array_equal(got, want), name
        times = time_readers(found, repeat)
    baseline = statistics.median(times["np.loadtxt"])
    for name, seconds in times.items():
        median = statistics.median(seconds)
        print(f"  {name:<16} {median:7.3f} s   {median / baseline:5.2f} x np.loadtxt"
              f"   (min {min(seconds):.3f}, max {max(seconds):.3f})")


if __name__ == "__main__":
    main()
