"""The ``minigd`` command: the reference job, on generated or your own CSV data.

    minigd fit                      # the reference job: 1000 points, lr 0.01, 1000 steps
    minigd fit --data points.csv --plot fit.png --json run.json
    minigd check                    # analytic vs tape vs numeric gradients
    minigd check --model mlp        # ... of lesson 4's network, on its spirals
    minigd sweep --learning-rates 0.001,0.01,0.03,0.05 --plot sweep.png

Exit status: 0 done; 1 a fit diverged, every rate of a sweep diverged, or the gradients
disagree; 2 bad input, found before any training where it can be; 130 Ctrl-C.

Everything that can be checked before training is: options, output paths, optional
packages, memory. Files are written only after a run succeeds, each atomically (whole or
not at all), and each is named in the output.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import __version__
from .callbacks import Callback, History, StepLogger
from .data import make_linear_data, read_csv
from .datasets import make_classification_data, make_spiral_data
from .divergence import DivergenceError, stable_learning_rate
from .files import atomic_write, check_writable
from .formatting import format_value as _format
from .gradients import check_gradients
from .layers import Dense, Sequential
from .losses import MSE, BinaryCrossentropy, Loss, SparseCategoricalCrossentropy
from .models import Linear
from .optimizers import SGD
from .trainer import Trainer

TRUE_LINE = {"w": 1.915, "b": 0.915}  # the reference job's line, used when data is generated
PROVIDER_NAMES = ("analytic", "tape", "numeric")
# --n and --steps are refused when the run would not fit in memory. A point: x and y, and
# the few arrays of that length a step makes (predictions, residuals, ...), 8 bytes each.
# A step: History's record of it, measured at about 170 bytes, 400 with the parameters
# that --plot needs.
BYTES_PER_POINT = 8 * 8
BYTES_PER_STEP = 200
BYTES_PER_STEP_WITH_PARAMS = 400
INTERRUPTED = 130  # the shell's status for a program stopped by Ctrl-C (128 + SIGINT)


@dataclass(frozen=True)
class CourseModel:
    """A lesson's model, loss and data, for ``minigd check --model`` (lessons 2 and 3 write
    their models by hand; here they are the one-layer Sequential that computes the same)."""

    lesson: int
    data: Callable[..., tuple[np.ndarray, np.ndarray]]
    data_options: dict
    layers: tuple[Dense, ...]  # a layer owns no numbers, so every check can share them
    loss: type[Loss]


# --seed seeds the data and the weights; its default, 0, is the lessons' seed, so a check
# sees the page's data (and, for mlp, lesson 4's very network).
COURSE_MODELS = {
    "logistic": CourseModel(2, make_classification_data, {"n": 200, "separation": 1.5},
                            (Dense(1, activation="sigmoid"),), BinaryCrossentropy),
    "softmax": CourseModel(3, make_spiral_data, {"n": 300},
                           (Dense(3, activation="softmax"),), SparseCategoricalCrossentropy),
    "mlp": CourseModel(4, make_spiral_data, {"n": 300},
                       (Dense(50, activation="tanh"), Dense(3, activation="softmax")),
                       SparseCategoricalCrossentropy),
}


# -- argument types: argparse turns ArgumentTypeError into "error: argument --x: ..." --------

def _positive_float(text: str) -> float:
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a number > 0, got {text}")
    return value


def _momentum(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {text}")
    return value


def _float(text: str) -> float:
    value = _parse(text, float, "a number")
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be finite, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = _parse(text, int, "a whole number >= 1")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, got {text}")
    return value


def _parse(text: str, convert, expected: str):
    try:
        return convert(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {expected}, got {text!r}") from None


def _seed(text: str) -> int:
    value = _parse(text, int, "a whole number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {text}")
    return value


def _path(text: str) -> str:
    """A file name; "" would be taken as "not given" and "-" as a file named "-"."""
    if text.strip() in ("", "-"):
        raise argparse.ArgumentTypeError(f"must name a file, got {text!r}")
    return text


def _learning_rates(text: str) -> list[float]:
    rates = [_positive_float(part) for part in text.split(",") if part.strip()]
    if not rates:
        raise argparse.ArgumentTypeError("give comma-separated learning rates, e.g. 0.001,0.01")
    return rates


def _providers(text: str) -> list[str]:
    names = list(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    allowed = ", ".join(PROVIDER_NAMES)
    for name in names:
        if name not in PROVIDER_NAMES:
            raise argparse.ArgumentTypeError(f"unknown provider {name!r}; choose from {allowed}")
    if len(names) < 2:  # one provider compared with itself always "agrees"
        raise argparse.ArgumentTypeError(
            f"give two or more different providers to compare, from {allowed}; got {text!r}")
    return names


# -- the parser ------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class _Given(argparse.Action):
    """Store the value and note the option in ``given``: check refuses an option its --model
    does not take even when its value is the default, which the value alone cannot tell."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = (*namespace.given, self.option_strings[0])


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show "(default: ...)" except where there is none to show (None, or an off flag)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="minigd", description="Gradient descent on a line, step by step.",
        formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"minigd {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = _command(commands, "fit", "train y = w*x + b by gradient descent and print a progress "
                   "line every --log-every steps; with no options, the reference job", run_fit)
    _data_options(fit)
    _training_options(fit)
    fit.add_argument("--log-every", type=_positive_int, default=50, metavar="K",
                     help="print a progress line every K steps")
    fit.add_argument("--plot", type=_path, metavar="PATH",
                     help="write a PNG (PATH ends in .png): the fit, the loss curve, the path on "
                          "the loss surface")
    fit.add_argument("--json", type=_path, metavar="PATH",
                     help="write parameters, final loss and the per-step loss history as JSON")
    fit.add_argument("--quiet", action="store_true",
                     help="print only the final line (and the files written)")
    fit.add_argument("--no-progress", action="store_true",
                     help="no progress bar (one appears when stderr is a terminal)")

    check = _command(commands, "check", "compare analytic, tape and numeric gradients of the "
                     "linear model or of a later lesson's model", run_check)
    check.set_defaults(given=())
    check.add_argument("--model", choices=["linear", *COURSE_MODELS], default="linear",
                       help="linear: y = w*x + b and MSE, at --w and --b, on --data or --n "
                            "points; logistic, softmax, mlp: lessons 2, 3 and 4's models on "
                            "their data, both seeded by --seed (--data, --n, --w and --b are "
                            "for linear only)")
    _data_options(check, action=_Given, seed_help="random seed for the generated data and, "
                  "with --model other than linear, the model's initial weights")
    check.add_argument("--w", type=_float, default=0.0, action=_Given,
                       help="slope(s) at which to check")
    check.add_argument("--b", type=_float, default=0.0, action=_Given,
                       help="intercept at which to check")
    check.add_argument("--providers", type=_providers, default="analytic,tape,numeric",
                       help="two or more gradient providers to compare, comma-separated")

    sweep = _command(commands, "sweep", "train at several learning rates and compare the "
                     "loss curves", run_sweep)
    _data_options(sweep)
    sweep.add_argument("--learning-rates", type=_learning_rates, default="0.001,0.01,0.03,0.05",
                       metavar="LR,LR,...", help="comma-separated learning rates to try")
    _training_options(sweep, learning_rate=False)
    sweep.add_argument("--plot", type=_path, metavar="PATH",
                       help="write a PNG (PATH ends in .png) with every loss curve")
    return parser


def _command(commands, name, help_text, function):
    command = commands.add_parser(name, help=help_text, description=help_text,
                                  formatter_class=_HelpFormatter)
    command.set_defaults(run=function, command_parser=command)
    return command


def _data_options(command, action="store", seed_help="random seed for generated data and for "
                                                      "shuffling mini-batches") -> None:
    command.add_argument("--data", type=_path, metavar="PATH", action=action,
                         help="CSV file: columns x,y (header optional); with more columns "
                              "the last is y. Default: generate --n points around the reference "
                              "job's line y = 1.915x + 0.915")
    command.add_argument("--n", type=_positive_int, default=1000, action=action,
                         help="points to generate")
    command.add_argument("--seed", type=_seed, default=0, help=seed_help)


def _training_options(command, learning_rate: bool = True) -> None:
    if learning_rate:
        command.add_argument("--learning-rate", type=_positive_float, default=0.01, metavar="LR",
                             help="step size of gradient descent")
    command.add_argument("--steps", type=_positive_int, default=1000, metavar="N",
                         help="optimizer steps")
    command.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                         help="examples per step (default: all of them, full-batch descent)")
    command.add_argument("--momentum", type=_momentum, default=0.0, metavar="M",
                         help="SGD momentum in [0, 1)")
    command.add_argument("--gradients", choices=PROVIDER_NAMES,
                         default="analytic", help="how gradients are computed")


# -- checks made before anything slow ---------------------------------------------------

def _check_before_training(args) -> None:
    """Raise ValueError for anything that would otherwise fail only after the run.

    The options differ between commands; ``getattr`` skips those a command lacks.
    """
    if args.data is None:
        _check_memory_for("--n", "points", args.n, BYTES_PER_POINT)
    if hasattr(args, "steps"):
        runs = len(getattr(args, "learning_rates", [None]))  # a sweep keeps every run's losses
        each = BYTES_PER_STEP_WITH_PARAMS if getattr(args, "plot", None) else BYTES_PER_STEP
        _check_memory_for("--steps", "steps", args.steps, each * runs)
    if getattr(args, "gradients", None) == "tape":
        _require("tensorflow", "--gradients tape", "tf")
    _check_outputs(args.data, getattr(args, "json", None), getattr(args, "plot", None))


def _check_outputs(data: str | None, json_path: str | None, plot_path: str | None) -> None:
    """The files a run will write: writable, a .png for --plot, and none the --data file."""
    if plot_path is not None:
        _require("matplotlib", "--plot", "plot")
        check_writable(plot_path, "argument --plot")
        if not plot_path.lower().endswith(".png"):  # matplotlib would quietly add ".png"
            raise ValueError(f"argument --plot {plot_path}: the picture is a PNG; "
                             "give a name ending in .png")
    if json_path is not None:
        check_writable(json_path, "argument --json")
    _check_distinct({"--data": data, "--json": json_path, "--plot": plot_path})


def _require(module: str, option: str, extra: str) -> None:
    """An optional package that ``option`` needs, checked without importing it (TF is slow)."""
    if importlib.util.find_spec(module) is None:
        raise ValueError(f"{option} needs {module}, which is not installed: "
                         f"pip install 'minigd[{extra}]'")


def _check_distinct(paths: dict[str, str | None]) -> None:
    """No two of --data, --json, --plot may be one file: an output would overwrite it."""
    seen: dict[str, str] = {}
    for option, path in paths.items():
        if path is None:
            continue
        key = os.path.realpath(path)  # "d.csv", "./d.csv" and a link to it are one file
        if key in seen:
            raise ValueError(f"argument {option} {path} is also the {seen[key]} file, which it "
                             "would overwrite; give each its own file")
        seen[key] = option


def _check_memory_for(option: str, what: str, count: int, bytes_each: int) -> None:
    total = _memory_size()
    need = count * bytes_each
    if total is not None and need > total:
        raise ValueError(f"argument {option}: {count} {what} need about {need / 1e9:.3g} GB of "
                         f"memory, more than this machine's {total / 1e9:.3g} GB; "
                         f"use a smaller {option}")


def _memory_size() -> int | None:
    """The machine's memory in bytes, or None where the system does not say (Windows)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _check_batch_size(args, points: int) -> None:
    if args.batch_size is not None and args.batch_size > points:
        raise ValueError(f"argument --batch-size: {args.batch_size} is more than the {points} "
                         f"points; give at most {points}, or leave --batch-size out for "
                         "full-batch descent")


def _check_providers_installed(providers: list[str]) -> None:
    """Tape is skipped (and noted) without TensorFlow; refuse if that leaves one provider."""
    if "tape" in providers and importlib.util.find_spec("tensorflow") is None:
        left = [name for name in providers if name != "tape"]
        if len(left) < 2:
            raise ValueError(f"argument --providers: tape needs tensorflow, which is not installed "
                             f"(pip install 'minigd[tf]'), and {left[0]} alone has nothing to be "
                             "compared with; add another provider")


# -- the commands ----------------------------------------------------------------------

class Interrupted(KeyboardInterrupt):
    """Ctrl-C during training, with the words that say where the run stopped."""


def _load_data(args):
    """(x, y, the true line's parameters or None): from --data, or generated."""
    if args.data is not None:
        x, y = read_csv(args.data)
        return x, y, None
    x, y = make_linear_data(n=args.n, seed=args.seed, **TRUE_LINE)
    return x, y, TRUE_LINE


def _new_model(x) -> Linear:
    return Linear(features=None if x.ndim == 1 else x.shape[1])


def _train(args, x, y, learning_rate, callbacks=()):
    trainer = Trainer(MSE(), SGD(learning_rate=learning_rate, momentum=args.momentum),
                      gradients=args.gradients, callbacks=list(callbacks))
    model = _new_model(x)
    try:
        history = trainer.fit(model, x, y, steps=args.steps, batch_size=args.batch_size,
                              seed=args.seed)
    except KeyboardInterrupt:
        # the trainer stops between two whole steps; nothing has been written yet
        raise Interrupted(f"interrupted at step {trainer.step} of {args.steps}; "
                          "no file written") from None
    return trainer, history


def run_fit(args) -> int:
    _check_before_training(args)
    x, y, true_line = _load_data(args)
    _check_batch_size(args, len(y))
    history = History(record_params=args.plot is not None)
    callbacks: list[Callback] = [history]
    if not args.quiet:
        callbacks.append(StepLogger(every=args.log_every))
    if not args.no_progress and sys.stderr.isatty():
        callbacks.append(_progress_bar())
    trainer, _ = _train(args, x, y, args.learning_rate, callbacks)
    model, loss = trainer.model, trainer.loss
    final_loss = loss(y, model.forward(model.params, x))  # x was checked by fit
    if not args.quiet or args.json:  # least squares copies the data: only when it is shown
        best = Linear.least_squares(x, y)
        best_loss = loss(y, best.forward(best.params, x))
    if args.quiet:  # StepLogger prints this line otherwise, and only for a finished run
        print(f"Final loss:{final_loss}, {_params_text(model.params)}")
    else:
        _print_comparison(model, final_loss, best, best_loss, true_line)
    if args.json:
        _write_json(args.json, {
            "data": args.data or f"generated: n={args.n}, seed={args.seed}",
            "gradients": args.gradients, "learning_rate": args.learning_rate,
            "momentum": args.momentum, "steps": trainer.step, "batch_size": args.batch_size,
            "params": _jsonable(model.params), "final_loss": final_loss,
            "least_squares": {"params": _jsonable(best.params), "loss": best_loss},
            "true_params": true_line, "history": {"loss": history.step_history["loss"]},
        })
    if args.plot:
        from .plotting import plot_training

        _write_png(plot_training(model, x, y, history, true_params=true_line), args.plot)
    return 0


def _progress_bar() -> Callback:
    from .callbacks import ProgressBar

    try:
        return ProgressBar()
    except ImportError:  # tqdm is optional; a missing bar is no reason to fail
        return Callback()


def _print_comparison(model, final_loss, best, best_loss, true_line) -> None:
    if true_line is not None:
        print(f"True line:       {_params_text(true_line)}")
    print(f"Least squares:   {_params_text(best.params)}, loss:{best_loss}")
    # the loss gap can come out a hair below 0: both are rounded, and lstsq is not exact
    gaps = ", ".join(f"{name} {np.max(np.abs(value - best.params[name])):.3g}"
                     for name, value in model.params.items())
    print(f"Gap to least squares: loss {abs(final_loss - best_loss):.3g}; {gaps}")


def _params_text(params) -> str:
    return ", ".join(f"{name}:{_format(np.asarray(value))}" for name, value in params.items())


def _jsonable(params) -> dict:
    return {name: np.asarray(value).tolist() for name, value in params.items()}


def run_check(args) -> int:
    if args.model != "linear" and args.given:
        lesson = COURSE_MODELS[args.model].lesson
        raise ValueError(f"argument {args.given[0]}: only --model linear takes it; --model "
                         f"{args.model} checks lesson {lesson}'s model on lesson {lesson}'s data, "
                         "both seeded by --seed")
    _check_before_training(args)
    _check_providers_installed(args.providers)
    if args.model == "linear":
        model, loss, x, y, data = _linear_check(args)
        elsewhere = (f"at --w {args.w} --b {args.b}, a minimum; check at another --w and --b, "
                     "such as the default 0")
    else:
        model, loss, x, y, data = _course_check(COURSE_MODELS[args.model], args.seed)
        elsewhere = f"with --seed {args.seed}; check with another --seed"
    print(f"Gradients of the {type(loss).__name__} of {model} on {data}:")
    result = check_gradients(model, loss, x, y, providers=args.providers)
    verdicts = [result.verdict(name) for name in model.params]
    if "MISMATCH" in verdicts:
        print("Some gradients DISAGREE (see MISMATCH).")
        return 1
    if not result.passed:  # every gradient is rounding noise: nothing was really compared
        raise ValueError(f"every gradient is too small to compare {elsewhere}")
    print("All gradients agree.")
    return 0


def _linear_check(args):
    """(model, loss, x, y, the data in words) for the linear model at --w and --b."""
    x, y, _ = _load_data(args)
    model = _new_model(x)
    model.set_weights({"w": np.full(model.params["w"].shape, args.w), "b": args.b})
    return model, MSE(), x, y, f"{len(y)} points"


def _course_check(course: CourseModel, seed: int):
    """(model, loss, x, y, the data call as text, to paste into Python) for a lesson's model."""
    x, y = course.data(**course.data_options, seed=seed)
    call = ", ".join(f"{name}={value!r}" for name, value in {**course.data_options, "seed": seed}.items())
    return (Sequential(list(course.layers), seed=seed), course.loss(), x, y,
            f"{course.data.__name__}({call})")


def run_sweep(args) -> int:
    _check_before_training(args)
    x, y, _ = _load_data(args)
    _check_batch_size(args, len(y))
    losses, diverged, rows = {}, {}, []
    for learning_rate in args.learning_rates:
        try:
            trainer, history = _train(args, x, y, learning_rate)
            final = trainer.loss(y, trainer.model(x))
            rows.append((learning_rate, f"{final:.6g}", "finished"))
            losses[learning_rate] = history.step_history["loss"]  # one per step, as the axis says
        except DivergenceError as error:
            diverged[learning_rate] = error.step
            losses[learning_rate] = error.history.step_history["loss"]
            rows.append((learning_rate, "-", f"diverged at step {error.step}"))
        except Interrupted as interrupt:
            raise Interrupted(f"{interrupt} (learning rate {learning_rate:g})") from None
    bound, advice = _stable_bound(x, args.momentum) if args.batch_size is None else (None, None)
    if bound is not None:  # the bound holds for full-batch descent
        print(f"Full-batch descent on this data is stable for learning_rate < {bound:.4g}.")
    print(f"{'learning_rate':<15}{'final loss':<14}result")
    for learning_rate, final, result in rows:
        print(f"{learning_rate:<15g}{final:<14}{result}")
    if len(diverged) == len(rows):  # a sweep fails only when no rate finished
        return _fail(args, _every_rate_diverged(bound, args.plot, advice), 1)
    if args.plot:
        from .plotting import plot_sweep

        _write_png(plot_sweep(losses, diverged, stable_bound=bound), args.plot)
    return 0


def _stable_bound(x, momentum: float) -> tuple[float | None, str | None]:
    """Full-batch SGD's exact bound on this data; for data too large to tell, None and why."""
    try:
        return stable_learning_rate(x, momentum), None
    except ValueError as error:
        return None, str(error)


def _every_rate_diverged(bound: float | None, plot: str | None, advice: str | None) -> str:
    words = ["every learning rate diverged"]
    if plot is not None:
        words.append(f"{plot} was not written")
    if bound is not None:
        words.append(f"full-batch descent on this data is stable for learning_rate < {bound:.4g}")
    else:
        words.append(advice or "try smaller --learning-rates")
    return "; ".join(words)


# -- output files: whole or not at all, each named ---------------------------------------

def _write_json(path: str, content: dict) -> None:
    with atomic_write(path, "w") as file:
        json.dump(content, file, indent=1)
        file.write("\n")
    print(f"wrote {path}")


def _write_png(figure, path: str) -> None:
    with atomic_write(path, "wb") as file:
        figure.savefig(file, format="png")  # at the figure's own dpi, as make_figures does
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # the command's own error, so that it says "minigd fit" and its --help
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        return args.run(args)
    except DivergenceError as error:
        return _fail(args, str(error), 1)
    except (ValueError, ImportError, OSError) as error:
        # bad data, a missing extra, an unwritable output file: one line, no traceback
        return _fail(args, f"error: {error}", 2)
    except MemoryError:
        hint = "a smaller --n" if args.data is None else "a smaller --data file"
        return _fail(args, f"error: not enough memory for this run; use {hint}", 2)
    except KeyboardInterrupt as interrupt:
        return _fail(args, str(interrupt) if isinstance(interrupt, Interrupted) else "interrupted",
                     INTERRUPTED)


def _fail(args, message: str, status: int) -> int:
    print(f"minigd {args.command}: {message}", file=sys.stderr)
    return status
