"""Benchmark: minigd against the code a student would write by hand, and against TF/Keras.

    python benchmarks/run.py              # everything, about two minutes on 2 cores
    python benchmarks/run.py --quick      # fewer repetitions, no Keras, no 1e7 row

Every contender does the reference job (1000 points, w = b = 0, learning rate 0.01, 1000
full-batch steps, a log line every 50 steps written to a discarded stream) and returns its
final (w, b), which are checked against each other before any time is reported.
Contenders run in a rotating order within each repetition, and each repetition's times
are divided by the hand-written numpy loop's time *of the same repetition*: the table
shows medians of those ratios, which a noisy shared machine disturbs far less than times.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the seed re-implementation the tests use too

import minigd as mg  # noqa: E402
from minigd.tape import import_tensorflow  # noqa: E402

LEARNING_RATE = 0.01
LOG_EVERY = 50


# -- contenders: each takes (x, y, steps) and returns the final (w, b) ------------------

def minigd_run(gradients):
    def run(x, y, steps):
        model = mg.Linear()
        logger = mg.StepLogger(every=LOG_EVERY, stream=io.StringIO())
        mg.Trainer(mg.MSE(), mg.SGD(LEARNING_RATE), gradients=gradients,
                   callbacks=[logger]).fit(model, x, y, steps=steps)
        return float(model.params["w"]), float(model.params["b"])
    return run


def seed_loop(x, y, steps):
    from seed_program import gradient_descent, mse

    points = np.column_stack([x, y])
    out = io.StringIO()
    b, w = gradient_descent(points, 0.0, 0.0, LEARNING_RATE, steps, print_=lambda line: out.write(line))
    out.write(f"Final loss:{mse(b, w, points)}")
    return w, b


def hand_numpy(x, y, steps):
    """What a student writes after learning numpy: the seed's loop, vectorised."""
    out = io.StringIO()
    w = b = 0.0
    for step in range(steps):
        err = w * x + b - y
        grad_w = 2.0 * np.mean(err * x)
        grad_b = 2.0 * np.mean(err)
        w -= LEARNING_RATE * grad_w
        b -= LEARNING_RATE * grad_b
        if step % LOG_EVERY == 0:
            out.write(f"iteration:{step}, loss:{np.mean((w * x + b - y) ** 2)}, w:{w}, b:{b}\n")
    return w, b


def raw_tf_function(x, y, steps):
    """The TensorFlow idiom: variables, a tf.function step with a GradientTape, float64."""
    tf = import_tensorflow()
    w = tf.Variable(0.0, dtype=tf.float64)
    b = tf.Variable(0.0, dtype=tf.float64)
    xt, yt = tf.constant(x), tf.constant(y)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w * xt + b - yt) ** 2)
        grad_w, grad_b = tape.gradient(loss, [w, b])
        w.assign_sub(LEARNING_RATE * grad_w)
        b.assign_sub(LEARNING_RATE * grad_b)
        return loss

    out = io.StringIO()
    for index in range(steps):
        loss = step()
        if index % LOG_EVERY == 0:
            out.write(f"iteration:{index}, loss:{float(loss)}, w:{float(w.numpy())}, b:{float(b.numpy())}\n")
    return float(w.numpy()), float(b.numpy())


def keras_fit(x, y, steps):
    import_tensorflow()
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), loss="mse")
    model.fit(x[:, None], y, batch_size=len(x), epochs=steps, verbose=0, shuffle=False)
    kernel, bias = model.layers[0].get_weights()
    return float(kernel[0, 0]), float(bias[0])


CONTENDERS = {
    "1. minigd, analytic, StepLogger": minigd_run("analytic"),
    "2. minigd, tape, compiled": minigd_run("tape"),
    "3. minigd, tape, eager": minigd_run(mg.TapeGradients(compiled=False)),
    "4. seed loop over points": seed_loop,
    "5. hand-vectorised numpy": hand_numpy,
    "6. raw tf.function + GradientTape": raw_tf_function,
    "7. Keras Dense(1).fit": keras_fit,
}
BASELINE = "5. hand-vectorised numpy"


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def compare(contenders, x, y, steps, repetitions, baseline=BASELINE, once=()):
    """Median time and median ratio to ``baseline`` for each contender, plus a results check."""
    times = {name: [] for name in contenders}
    ratios = {name: [] for name in contenders}
    results = {}
    names = list(contenders)
    for repetition in range(repetitions):
        order = names[repetition % len(names):] + names[:repetition % len(names)]
        this_round = {}
        for name in order:
            if name in once and times[name]:
                continue
            this_round[name], results[name] = timed(contenders[name], x, y, steps)
            times[name].append(this_round[name])
        for name, seconds in this_round.items():
            ratios[name].append(seconds / this_round[baseline])
    reference = np.array(results[baseline])
    for name, result in results.items():
        tolerance = 1e-3 if "Keras" in name else 1e-8  # Keras trains in float32
        if not np.allclose(result, reference, rtol=tolerance, atol=tolerance):
            raise SystemExit(f"{name} ended at {result}, the baseline at {tuple(reference)}")
    return {name: (statistics.median(times[name]), statistics.median(ratios[name]), len(times[name]))
            for name in contenders}


def print_table(title, rows, baseline_name="hand numpy"):
    print(f"\n### {title}\n")
    print(f"| contender | median time (s) | median ratio to {baseline_name} | runs |")
    print("| --- | ---: | ---: | ---: |")
    for name, (seconds, ratio, runs) in rows.items():
        print(f"| {name} | {seconds:.4f} | {ratio:.2f}x | {runs} |")


def subprocess_seconds(code_or_args, repetitions=5):
    """Median wall time of a fresh Python process (import time, CLI start to exit)."""
    samples = []
    for _ in range(repetitions):
        args = code_or_args if isinstance(code_or_args, list) else [sys.executable, "-c", code_or_args]
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def import_and_cli_rows(repetitions):
    print("\n### Start-up\n")
    print("| what | median seconds |")
    print("| --- | ---: |")
    bare = subprocess_seconds("pass", repetitions)
    rows = {
        "python -c pass (the interpreter alone)": bare,
        "python -c 'import minigd'": subprocess_seconds("import minigd", repetitions),
        "python -c 'import tensorflow'": subprocess_seconds(
            "import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; import tensorflow", 3),
        "python -m minigd fit (reference job, start to exit)": subprocess_seconds(
            [sys.executable, "-m", "minigd", "fit", "--quiet"], repetitions),
    }
    for what, seconds in rows.items():
        print(f"| {what} | {seconds:.3f} |")
    heavy = subprocess.run([sys.executable, "-c", "import sys, minigd; print(sorted(m for m in "
                            "('tensorflow', 'matplotlib', 'tqdm') if m in sys.modules))"],
                           check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()
    print(f"\n`import minigd` also imported: {heavy} (should be [])")


def scaling_rows(repetitions, sizes):
    print("\n### Scaling, full batch (steps scaled down for large N)\n")
    print("| N | steps | analytic / hand numpy | tape compiled / raw tf.function |")
    print("| ---: | ---: | ---: | ---: |")
    for n in sizes:
        steps = {1_000: 1000, 10_000: 1000, 100_000: 200, 1_000_000: 50}[n]
        x, y = mg.make_linear_data(n=n, seed=1)
        numpy_rows = compare({"analytic": CONTENDERS["1. minigd, analytic, StepLogger"],
                              "hand": hand_numpy}, x, y, steps, repetitions, baseline="hand")
        tf_rows = compare({"tape": CONTENDERS["2. minigd, tape, compiled"], "raw": raw_tf_function},
                          x, y, steps, repetitions, baseline="raw")
        print(f"| {n:.0e} | {steps} | {numpy_rows['analytic'][1]:.2f}x | {tf_rows['tape'][1]:.2f}x |")


class FreeGradients:
    """A provider that does no work: what remains is the training loop's own cost."""

    name = "free"
    grads = {"w": np.float64(0.0), "b": np.float64(0.0)}  # for Linear(): made once, reused

    def value_and_grad(self, model, loss, params, x, y):
        return 1.0, self.grads


def loop_overhead_row(steps=20_000, repetitions=5):
    x, y = mg.make_linear_data(n=1000, seed=0)
    print("\n### The training loop's own cost (a provider that computes nothing)\n")
    print("| callbacks | microseconds per step |")
    print("| --- | ---: |")
    for label, callbacks in [("History only", []),
                             ("History + StepLogger(every=50)", [mg.StepLogger(stream=io.StringIO())])]:
        seconds = min(timed(mg.Trainer(mg.MSE(), mg.SGD(LEARNING_RATE), gradients=FreeGradients(),
                                       callbacks=callbacks).fit, mg.Linear(), x, y, steps=steps)[0]
                      for _ in range(repetitions))
        print(f"| {label} | {seconds / steps * 1e6:.1f} |")


def big_mini_batch_row(n=10_000_000, batch_size=10_000):
    print(f"\n### N = {n:.0e}, mini-batches of {batch_size}, one shuffled epoch\n")
    x, y = mg.make_linear_data(n=n, seed=2)
    data_mb = (x.nbytes + y.nbytes) / 2**20
    tracemalloc.start()
    start = time.perf_counter()
    trainer = mg.Trainer(mg.MSE(), mg.SGD(LEARNING_RATE))
    trainer.fit(mg.Linear(), x, y, epochs=1, batch_size=batch_size, seed=0)
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print("| data (x and y) | peak extra memory during fit | time (s) | steps |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| {data_mb:.0f} MiB | {peak / 2**20:.1f} MiB | {seconds:.2f} | {trainer.step} |")
    print(f"\nExtra memory: the shuffled order (int32, {n * 4 / 2**20:.0f} MiB), the finiteness check's "
          f"boolean mask ({n / 2**20:.0f} MiB), one batch; never a copy of the data.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repetitions, no Keras, no 1e7 row")
    parser.add_argument("--repetitions", type=int, default=None)
    args = parser.parse_args()
    repetitions = args.repetitions or (3 if args.quick else 7)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"TensorFlow {import_tensorflow().__version__}, {os.cpu_count()} CPUs")
    x, y = mg.make_linear_data(n=1000, seed=0)
    contenders = dict(CONTENDERS)
    if args.quick:
        del contenders["7. Keras Dense(1).fit"]
    rows = compare(contenders, x, y, 1000, repetitions, once=("7. Keras Dense(1).fit",))
    print_table("Reference job: N = 1000, 1000 full-batch steps", rows)
    tape, raw = rows["2. minigd, tape, compiled"][0], rows["6. raw tf.function + GradientTape"][0]
    print(f"\ntape compiled / raw tf.function (ratio of medians): {tape / raw:.2f}x")
    import_and_cli_rows(repetitions)
    scaling_rows(repetitions, [1_000, 10_000, 100_000, 1_000_000])
    loop_overhead_row()
    if not args.quick:
        big_mini_batch_row()


if __name__ == "__main__":
    main()
