"""Benchmark: minigd against the code a student would write by hand, and against TF/Keras.

    python benchmarks/run.py              # everything, a few minutes on 2 cores
    python benchmarks/run.py --quick      # fewer repetitions, no Keras, no 1e7 row

Every contender does the reference job (1000 points, w = b = 0, learning rate 0.01, 1000
full-batch steps, a log line every 50 steps written to a discarded stream) and returns its
final (w, b), which are checked against each other before any time is reported.
Contenders run in a rotating order within each repetition, and each repetition's times
are divided by one baseline's time *of the same repetition*: the tables show medians of
those ratios, which a noisy shared machine disturbs far less than times. Every contender
runs once, untimed, before the first repetition, so that TensorFlow code is traced
beforehand on both sides (minigd's tape by a fit of the same trainer and model, as a
notebook cell run again); the cost of tracing is reported on its own.
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

def minigd_run(gradients, every=LOG_EVERY):
    """A Trainer with a StepLogger; the same trainer and model for every call after the first
    (weights and optimizer state reset), so that a compiled tape is traced once."""
    kept = {}

    def run(x, y, steps):
        if kept.get("data") is not x:
            callbacks = [mg.StepLogger(every=every, stream=io.StringIO())] if every else []
            kept.update(data=x, model=mg.Linear(), trainer=mg.Trainer(
                mg.MSE(), mg.SGD(LEARNING_RATE), gradients=gradients() if callable(gradients) else gradients,
                callbacks=callbacks))
        model, trainer = kept["model"], kept["trainer"]
        model.set_weights({"w": 0.0, "b": 0.0})
        trainer.optimizer_state = None
        trainer.fit(model, x, y, steps=steps)
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


def hand_dot(x, y, steps):
    """The same loop as a numerical programmer writes it: dot products, no np.mean."""
    out = io.StringIO()
    w = b = 0.0
    scale = 2.0 / len(x)
    for step in range(steps):
        err = w * x + b - y
        w -= LEARNING_RATE * scale * err.dot(x)
        b -= LEARNING_RATE * scale * err.sum()
        if step % LOG_EVERY == 0:
            err = w * x + b - y
            out.write(f"iteration:{step}, loss:{err.dot(err) / len(x)}, w:{w}, b:{b}\n")
    return w, b


def bare_fused_step(x, y, steps):
    """minigd's own fused step and SGD rule, called directly: the Trainer's floor."""
    model, loss, optimizer = mg.Linear(), mg.MSE(), mg.SGD(LEARNING_RATE)
    params, state, out = model.params, optimizer.init(model.params), io.StringIO()
    for step in range(steps):
        _, grads = model.fused_value_and_grad(loss, params, x, y)
        params, state = optimizer.update(grads, state, params, LEARNING_RATE)
        if step % LOG_EVERY == 0:
            shown = f"loss:{loss(y, model.forward(params, x))}, {mg.format_params(params)}"
            out.write(f"iteration:{step}, {shown}\n")
    return float(params["w"]), float(params["b"])


def raw_tf_function():
    """The TensorFlow idiom: variables, a tf.function step with a GradientTape, float64."""
    tf = import_tensorflow()
    w = tf.Variable(0.0, dtype=tf.float64)
    b = tf.Variable(0.0, dtype=tf.float64)
    data = {}

    @tf.function
    def step(xt, yt):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean((w * xt + b - yt) ** 2)
        grad_w, grad_b = tape.gradient(loss, [w, b])
        w.assign_sub(LEARNING_RATE * grad_w)
        b.assign_sub(LEARNING_RATE * grad_b)
        return loss

    def run(x, y, steps):
        if data.get("x") is not x:
            data.update(x=x, tensors=(tf.constant(x), tf.constant(y)))
        w.assign(0.0)
        b.assign(0.0)
        out = io.StringIO()
        for index in range(steps):
            loss = step(*data["tensors"])
            if index % LOG_EVERY == 0:
                shown = f"loss:{float(loss)}, w:{float(w.numpy())}, b:{float(b.numpy())}"
                out.write(f"iteration:{index}, {shown}\n")
        return float(w.numpy()), float(b.numpy())
    return run


def tf_whole_loop(jit_compile=False):
    """All the steps in one tf.function (an in-graph loop), the fastest TensorFlow can go.

    It records each step's loss and parameters, and the log lines are written from them
    afterwards: step k's line shows the loss of step k + 1 (the loss after step k).
    """
    tf = import_tensorflow()
    data = {}

    @tf.function(jit_compile=jit_compile)
    def train(xt, yt, steps):
        def body(index, w, b, losses, ws, bs):
            with tf.GradientTape() as tape:
                tape.watch([w, b])
                loss = tf.reduce_mean((w * xt + b - yt) ** 2)
            grad_w, grad_b = tape.gradient(loss, [w, b])
            w, b = w - LEARNING_RATE * grad_w, b - LEARNING_RATE * grad_b
            return index + 1, w, b, losses.write(index, loss), ws.write(index, w), bs.write(index, b)

        arrays = [tf.TensorArray(tf.float64, size=steps, element_shape=()) for _ in range(3)]
        zero = tf.constant(0.0, tf.float64)
        _, w, b, losses, ws, bs = tf.while_loop(lambda index, *_: index < steps, body,
                                                (tf.constant(0), zero, zero, *arrays))
        return w, b, losses.stack(), ws.stack(), bs.stack()

    def run(x, y, steps):
        if data.get("x") is not x:
            data.update(x=x, tensors=(tf.constant(x), tf.constant(y)))
        w, b, losses, ws, bs = (tensor.numpy() for tensor in train(*data["tensors"], tf.constant(steps)))
        out = io.StringIO()
        for index in range(0, steps, LOG_EVERY):
            loss = losses[index + 1] if index + 1 < steps else np.mean((w * x + b - y) ** 2)
            out.write(f"iteration:{index}, loss:{loss}, w:{ws[index]}, b:{bs[index]}\n")
        return float(w), float(b)
    return run


def keras_fit(x, y, steps):
    import_tensorflow()
    import keras

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1, kernel_initializer="zeros")])
    model.compile(optimizer=keras.optimizers.SGD(LEARNING_RATE), loss="mse")
    model.fit(x[:, None], y, batch_size=len(x), epochs=steps, verbose=0, shuffle=False)
    kernel, bias = model.layers[0].get_weights()
    return float(kernel[0, 0]), float(bias[0])


ANALYTIC, TAPE, XLA = "1. minigd, analytic", "2. minigd, tape (chunks)", "3. minigd, tape (chunks), XLA"
HAND, DOT, BARE = "6. hand-vectorised numpy", "7. hand numpy, dot products", "8. minigd's bare fused step"
RAW, WHOLE, WHOLE_XLA = ("9. raw tf.function per step", "10. tf.function, whole loop",
                         "11. tf.function, whole loop, XLA")
KERAS = "12. Keras Dense(1).fit"


def contenders(quick=False):
    table = {
        ANALYTIC: minigd_run("analytic"),
        TAPE: minigd_run("tape"),
        XLA: minigd_run(lambda: mg.TapeGradients(jit_compile=True)),
        "4. minigd, tape, eager": minigd_run(lambda: mg.TapeGradients(compiled=False)),
        "5. seed loop over points": seed_loop,
        HAND: hand_numpy,
        DOT: hand_dot,
        BARE: bare_fused_step,
        RAW: raw_tf_function(),
        WHOLE: tf_whole_loop(),
        WHOLE_XLA: tf_whole_loop(jit_compile=True),
        KERAS: keras_fit,
    }
    if quick:
        del table[KERAS]
    return table


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def compare(contenders, x, y, steps, repetitions, baseline=HAND, once=(), tolerance=1e-8):
    """Each contender's times, one per repetition, in a rotating order; results checked.

    Returns a ``Comparison``: ``rows()`` gives (median time, median ratio to ``baseline``,
    runs) per contender, ``ratio(a, b)`` the median over repetitions of a's time / b's.
    """
    times = {name: [] for name in contenders}
    results = {}
    names = list(contenders)
    for name in names:  # untimed: traces TensorFlow functions, warms caches
        if name not in once:
            contenders[name](x, y, steps)
    for repetition in range(repetitions):
        order = names[repetition % len(names):] + names[:repetition % len(names)]
        for name in order:
            if name in once and times[name]:
                times[name].append(None)
                continue
            seconds, results[name] = timed(contenders[name], x, y, steps)
            times[name].append(seconds)
    reference = np.array(results[baseline], dtype=float).ravel()
    for name, result in results.items():
        allowed = 1e-3 if "Keras" in name else tolerance  # Keras trains in float32
        result = np.array(result, dtype=float).ravel()
        if not np.allclose(result, reference, rtol=allowed, atol=allowed):
            raise SystemExit(f"{name} ended at {result}, the baseline at {reference}")
    return Comparison(times, baseline)


class Comparison:
    def __init__(self, times, baseline):
        self.times, self.baseline = times, baseline

    def ratio(self, name, other):
        """Median of the per-repetition ratios name / other (None where one did not run)."""
        pairs = [a / b for a, b in zip(self.times[name], self.times[other])
                 if a is not None and b is not None]
        if not pairs:  # run once (Keras): against the median of the other
            pairs = [self.times[name][0] / statistics.median(t for t in self.times[other] if t is not None)]
        return statistics.median(pairs)

    def rows(self):
        return {name: (statistics.median(t for t in times if t is not None), self.ratio(name, self.baseline),
                       sum(t is not None for t in times))
                for name, times in self.times.items()}


def print_table(title, comparison, baseline_name):
    print(f"\n### {title}\n")
    print(f"| contender | median time (s) | median ratio to {baseline_name} | runs |")
    print("| --- | ---: | ---: | ---: |")
    for name, (seconds, ratio, runs) in comparison.rows().items():
        print(f"| {name} | {seconds:.4f} | {ratio:.2f}x | {runs} |")


def print_goals(goals):
    print("\n| goal | measured (median of per-repetition ratios) | met |")
    print("| --- | ---: | :---: |")
    for text, value, limit in goals:
        print(f"| {text} <= {limit}x | {value:.2f}x | {'yes' if value <= limit else 'no'} |")


def tracing_row():
    """What the first fit of a tape trainer costs more than a later one: tracing."""
    x, y = mg.make_linear_data(n=1000, seed=0)
    first, later = [], []
    for _ in range(3):
        run = minigd_run("tape")
        first.append(timed(run, x, y, 1000)[0])
        later.append(timed(run, x, y, 1000)[0])
    print("\nTracing: a tape trainer's first fit of the reference job took "
          f"{statistics.median(first):.3f} s, "
          f"a later fit {statistics.median(later):.3f} s (medians of 3).")


# -- the MLP: 1-32-1 tanh, 1000 full-batch steps ---------------------------------------------

MLP_RATE = 0.05  # at 0.1 the run crosses a region that amplifies rounding: even analytic and
# tape end 1e-3 apart after 1000 steps, and the results check would mean nothing


def mlp_model():
    return mg.Sequential([mg.Dense(32, "tanh"), mg.Dense(1)])  # seed=0: the same start each time


def mlp_minigd(gradients):
    kept = {}

    def run(x, y, steps):
        if kept.get("data") is not x:
            model = mlp_model()
            model.build(x.shape)
            kept.update(data=x, model=model, start=model.get_weights(), trainer=mg.Trainer(
                mg.MSE(), mg.SGD(MLP_RATE), gradients=gradients() if callable(gradients) else gradients))
        model, trainer = kept["model"], kept["trainer"]
        model.set_weights(kept["start"])
        trainer.optimizer_state = None
        trainer.fit(model, x, y, steps=steps)
        return np.concatenate([value.ravel() for value in model.params.values()])
    return run


def mlp_tf_whole_loop(jit_compile=False):
    """The same network in plain TensorFlow, all steps in one tf.function."""
    tf = import_tensorflow()
    data = {}

    @tf.function(jit_compile=jit_compile)
    def train(xt, yt, params, steps):
        def body(index, params):
            with tf.GradientTape() as tape:
                tape.watch(params)
                k1, b1, k2, b2 = params
                y_pred = tf.matmul(tf.tanh(tf.matmul(xt, k1) + b1), k2) + b2
                loss = tf.reduce_mean((y_pred - yt) ** 2)
            grads = tape.gradient(loss, params)
            return index + 1, [p - MLP_RATE * g for p, g in zip(params, grads)]

        return tf.while_loop(lambda index, _: index < steps, body, (tf.constant(0), params))[1]

    def run(x, y, steps):
        if data.get("x") is not x:
            model = mlp_model()
            model.build(x.shape)
            data.update(x=x, tensors=(tf.constant(x[:, None]), tf.constant(y[:, None])),
                        start=[tf.constant(value) for value in model.params.values()])
        params = train(*data["tensors"], data["start"], tf.constant(steps))
        return np.concatenate([param.numpy().ravel() for param in params])
    return run


def mlp_hand_numpy(x, y, steps):
    """The same network as a student writes it after cs231n: forward, backward by hand, SGD."""
    model = mlp_model()
    model.build(x.shape)
    kernel_1, bias_1, kernel_2, bias_2 = (value.copy() for value in model.params.values())
    x, y, n = x[:, None], y[:, None], len(y)
    for _ in range(steps):
        hidden = np.tanh(x @ kernel_1 + bias_1)
        y_pred = hidden @ kernel_2 + bias_2
        grad_y_pred = (2.0 / n) * (y_pred - y)           # dL/dy_pred of the MSE
        grad_kernel_2, grad_bias_2 = hidden.T @ grad_y_pred, grad_y_pred.sum(axis=0)
        grad_hidden = (grad_y_pred @ kernel_2.T) * (1.0 - hidden**2)   # through tanh
        grad_kernel_1, grad_bias_1 = x.T @ grad_hidden, grad_hidden.sum(axis=0)
        kernel_1 -= MLP_RATE * grad_kernel_1
        bias_1 -= MLP_RATE * grad_bias_1
        kernel_2 -= MLP_RATE * grad_kernel_2
        bias_2 -= MLP_RATE * grad_bias_2
    return np.concatenate([kernel_1.ravel(), bias_1, kernel_2.ravel(), bias_2])


def mlp_rows(repetitions):
    x, y = mg.make_sine_data(n=200, seed=0)
    table = {"minigd, tape (chunks)": mlp_minigd("tape"),
             "minigd, tape (chunks), XLA": mlp_minigd(lambda: mg.TapeGradients(jit_compile=True)),
             "minigd, analytic (backward by hand)": mlp_minigd("analytic"),
             "hand numpy backprop": mlp_hand_numpy,
             "tf.function, whole loop": mlp_tf_whole_loop(),
             "tf.function, whole loop, XLA": mlp_tf_whole_loop(jit_compile=True)}
    comparison = compare(table, x, y, 1000, repetitions, baseline="tf.function, whole loop", tolerance=1e-8)
    print_table("MLP 1-32-1 tanh (200 points, SGD 0.05), 1000 full-batch steps, History only", comparison,
                "tf.function whole loop")
    return comparison


# -- start-up ----------------------------------------------------------------------------------

def subprocess_seconds(code_or_args, repetitions=5, env=None):
    """Median wall time of a fresh Python process (import time, CLI start to exit)."""
    samples = []
    for _ in range(repetitions):
        args = code_or_args if isinstance(code_or_args, list) else [sys.executable, "-c", code_or_args]
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, cwd=ROOT, env=env)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def import_and_cli_rows(repetitions):
    """Start-up with compiled bytecode, as after pip install (a private cache directory, so
    that PYTHONDONTWRITEBYTECODE or a read-only tree changes nothing), in a rotating order."""
    import tempfile

    env = {**os.environ, "PYTHONPYCACHEPREFIX": tempfile.mkdtemp(prefix="minigd-pyc-")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    codes = {"python -c pass (the interpreter alone)": "pass",
             "python -c 'import numpy'": "import numpy",
             "python -c 'import minigd'": "import minigd"}
    for code in codes.values():
        subprocess_seconds(code, 1, env)  # writes the bytecode cache
    samples = {what: [] for what in codes}
    for repetition in range(max(repetitions, 9)):
        for what in list(codes)[repetition % 3:] + list(codes)[:repetition % 3]:
            samples[what].append(subprocess_seconds(codes[what], 1, env))
    print("\n### Start-up\n")
    print("| what | median seconds | median over the interpreter alone |")
    print("| --- | ---: | ---: |")
    bare = samples["python -c pass (the interpreter alone)"]
    for what, times in samples.items():
        over = statistics.median(t - b for t, b in zip(times, bare))
        print(f"| {what} | {statistics.median(times):.3f} | {over:.3f} |")
    rows = {"python -c 'import tensorflow'": subprocess_seconds(
                "import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3'; import tensorflow", 3, env),
            "python -m minigd fit (reference job, start to exit)": subprocess_seconds(
                [sys.executable, "-m", "minigd", "fit", "--quiet"], repetitions, env)}
    for what, seconds in rows.items():
        print(f"| {what} | {seconds:.3f} | |")
    heavy = subprocess.run([sys.executable, "-c", "import sys, minigd; print(sorted(m for m in "
                            "('tensorflow', 'matplotlib', 'tqdm', 'zipfile', 'json', 'hashlib') "
                            "if m in sys.modules))"],
                           check=True, capture_output=True, text=True, cwd=ROOT, env=env).stdout.strip()
    print(f"\n`import minigd` also imported: {heavy} (should be [])")


def scaling_rows(repetitions, sizes):
    print("\n### Scaling, full batch (steps scaled down for large N)\n")
    print("| N | steps | analytic / hand numpy | analytic / dot loop | analytic / bare fused step "
          "| tape / raw tf.function | tape / whole-loop tf.function |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    results = {}
    for n in sizes:
        steps = {1_000: 1000, 10_000: 1000, 100_000: 200, 1_000_000: 50}[n]
        x, y = mg.make_linear_data(n=n, seed=1)
        numpy_side = compare({"analytic": minigd_run("analytic"), "hand": hand_numpy, "dot": hand_dot,
                              "bare": bare_fused_step}, x, y, steps, repetitions, baseline="hand")
        tf_side = compare({"tape": minigd_run("tape"), "raw": raw_tf_function(), "whole": tf_whole_loop()},
                          x, y, steps, repetitions, baseline="raw")
        row = (numpy_side.ratio("analytic", "hand"), numpy_side.ratio("analytic", "dot"),
               numpy_side.ratio("analytic", "bare"), tf_side.ratio("tape", "raw"),
               tf_side.ratio("tape", "whole"))
        results[n] = row
        print(f"| {n:.0e} | {steps} | " + " | ".join(f"{value:.2f}x" for value in row) + " |")
    return results


def floor_rows(repetitions, n=1_000_000, steps=50):
    """Per-step time against the physical floor at n points: one pass over x and y."""
    x, y = mg.make_linear_data(n=n, seed=1)
    passes = []
    for _ in range(max(repetitions, 5)):
        start = time.perf_counter()
        for _ in range(steps):
            x.dot(y)  # reads x and y once: what any step must at least do
        passes.append((time.perf_counter() - start) / steps)
    floor = statistics.median(passes)
    side = compare({"analytic": minigd_run("analytic"), "hand": hand_numpy, "dot": hand_dot,
                    "bare": bare_fused_step, "tape": minigd_run("tape"),
                    "tape, XLA": minigd_run(lambda: mg.TapeGradients(jit_compile=True))},
                   x, y, steps, repetitions, baseline="hand")
    print(f"\n### The floor at N = {n:.0e}: one pass over x and y (x.dot(y)) takes {floor * 1e3:.2f} ms\n")
    print("| path | ms per step | times the floor |")
    print("| --- | ---: | ---: |")
    for name, (seconds, _, _) in side.rows().items():
        print(f"| {name} | {seconds / steps * 1e3:.2f} | {seconds / steps / floor:.1f}x |")


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
    parser.add_argument("--only", default=None,
                        choices=["reference", "mlp", "scaling", "floor", "startup", "loop"])
    args = parser.parse_args()
    repetitions = args.repetitions or (3 if args.quick else 7)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

    print(f"Python {sys.version.split()[0]}, numpy {np.__version__}, "
          f"TensorFlow {import_tensorflow().__version__}, {os.cpu_count()} CPUs")
    goals = []
    if args.only in (None, "reference"):
        x, y = mg.make_linear_data(n=1000, seed=0)
        reference = compare(contenders(args.quick), x, y, 1000, repetitions, once=(KERAS,))
        print_table("Reference job: N = 1000, 1000 full-batch steps", reference, "hand numpy")
        goals += [("analytic / hand numpy (issue 10)", reference.ratio(ANALYTIC, HAND), 1.0),
                  ("analytic / dot-product hand loop (issue 14)", reference.ratio(ANALYTIC, DOT), 1.5),
                  ("tape / raw per-step tf.function (issue 10)", reference.ratio(TAPE, RAW), 1.3),
                  ("tape / whole-loop tf.function (issue 14)", reference.ratio(TAPE, WHOLE), 2.0),
                  ("tape, XLA / whole-loop tf.function, XLA", reference.ratio(XLA, WHOLE_XLA), 2.0)]
        tracing_row()
    if args.only in (None, "mlp"):
        mlp = mlp_rows(repetitions)
        goals += [("MLP: tape / whole-loop tf.function (issue 14)",
                   mlp.ratio("minigd, tape (chunks)", "tf.function, whole loop"), 1.3),
                  ("MLP: analytic / hand numpy backprop (issue 11)",
                   mlp.ratio("minigd, analytic (backward by hand)", "hand numpy backprop"), 1.2)]
    if args.only in (None, "scaling"):
        scaling = scaling_rows(repetitions, [1_000, 10_000, 100_000, 1_000_000])
        goals += [("N = 1e6: analytic / hand numpy (issue 10)", scaling[1_000_000][0], 0.8),
                  ("N = 1e6: Trainer / bare fused step (issue 14)", scaling[1_000_000][2], 1.2)]
    if args.only in (None, "floor"):
        floor_rows(repetitions)
    if goals:
        print("\n### Goals\n")
        print_goals(goals)
    if args.only in (None, "startup"):
        import_and_cli_rows(repetitions)
    if args.only in (None, "loop"):
        loop_overhead_row()
    if not args.quick and args.only is None:
        big_mini_batch_row()


if __name__ == "__main__":
    main()
