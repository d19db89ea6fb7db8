"""The ``minigd`` command: the seed's reference job, on generated or your own CSV data.

    minigd fit                      # the reference job: 1000 points, lr 0.01, 1000 steps
    minigd fit --data points.csv --plot fit.png --json run.json
    minigd check                    # analytic vs tape vs numeric gradients
    minigd sweep --learning-rates 0.001,0.01,0.03,0.05 --plot sweep.png

Exit status: 0 done; 1 the run diverged or the gradients disagree; 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import math
import sys

import numpy as np

from . import __version__
from .callbacks import Callback, History, StepLogger, _format
from .data import make_linear_data, read_csv
from .divergence import DivergenceError, stable_learning_rate
from .gradients import check_gradients
from .losses import MSE
from .models import Linear
from .optimizers import SGD
from .trainer import Trainer

TRUE_LINE = {"w": 1.915, "b": 0.915}  # the seed's line, used when data is generated


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


def _learning_rates(text: str) -> list[float]:
    rates = [_positive_float(part) for part in text.split(",") if part.strip()]
    if not rates:
        raise argparse.ArgumentTypeError("give comma-separated learning rates, e.g. 0.001,0.01")
    return rates


# -- the parser ------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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

    fit = _command(commands, "fit", "train y = w*x + b by gradient descent and print the seed's log",
                   run_fit)
    _data_options(fit)
    _training_options(fit)
    fit.add_argument("--log-every", type=_positive_int, default=50, metavar="K",
                     help="print a progress line every K steps")
    fit.add_argument("--plot", metavar="PATH",
                     help="write a PNG: the fit, the loss curve, the path on the loss surface")
    fit.add_argument("--json", metavar="PATH",
                     help="write parameters, final loss and the per-step loss history as JSON")
    fit.add_argument("--quiet", action="store_true",
                     help="print only the final line")
    fit.add_argument("--no-progress", action="store_true",
                     help="no progress bar (one appears on a terminal for runs over a second)")

    check = _command(commands, "check", "compare analytic, tape and numeric gradients of the "
                     "linear model", run_check)
    _data_options(check)
    check.add_argument("--w", type=_float, default=0.0, help="slope(s) at which to check")
    check.add_argument("--b", type=_float, default=0.0, help="intercept at which to check")
    check.add_argument("--providers", default="analytic,tape,numeric",
                       help="comma-separated gradient providers to compare")

    sweep = _command(commands, "sweep", "train at several learning rates and compare the "
                     "loss curves", run_sweep)
    _data_options(sweep)
    sweep.add_argument("--learning-rates", type=_learning_rates, default="0.001,0.01,0.03,0.05",
                       metavar="LR,LR,...", help="comma-separated learning rates to try")
    _training_options(sweep, learning_rate=False)
    sweep.add_argument("--plot", metavar="PATH", help="write a PNG with every loss curve")
    return parser


def _command(commands, name, help_text, function):
    command = commands.add_parser(name, help=help_text, description=help_text,
                                  formatter_class=_HelpFormatter)
    command.set_defaults(run=function)
    return command


def _data_options(command) -> None:
    command.add_argument("--data", metavar="PATH",
                         help="CSV file: columns x,y (header optional); with more columns "
                              "the last is y. Default: generate points as the seed does")
    command.add_argument("--n", type=_positive_int, default=1000, help="points to generate")
    command.add_argument("--seed", type=int, default=0,
                         help="seed for generated data and for shuffling mini-batches")


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
    command.add_argument("--gradients", choices=("analytic", "tape", "numeric"),
                         default="analytic", help="how gradients are computed")


# -- the commands ----------------------------------------------------------------------

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
    history = trainer.fit(model, x, y, steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    return trainer, history


def run_fit(args) -> int:
    x, y, true_line = _load_data(args)
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
    if args.quiet:
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
            "true_params": true_line, "history": {"loss": history.history["loss"]},
        })
    if args.plot:
        from .plotting import plot_training

        _save(plot_training(model, x, y, history, true_params=true_line), args.plot)
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
    x, y, _ = _load_data(args)
    model = _new_model(x)
    model.set_weights({"w": np.full(model.params["w"].shape, args.w), "b": args.b})
    providers = [name.strip() for name in args.providers.split(",") if name.strip()]
    print(f"Gradients of the MSE of {model} on {len(y)} points:")
    result = check_gradients(model, MSE(), x, y, providers=providers)
    print("All gradients agree." if result.passed else "Some gradients DISAGREE (see MISMATCH).")
    return 0 if result.passed else 1


def run_sweep(args) -> int:
    x, y, _ = _load_data(args)
    losses, diverged, rows = {}, {}, []
    for learning_rate in args.learning_rates:
        try:
            trainer, history = _train(args, x, y, learning_rate)
            final = trainer.loss(y, trainer.model(x))
            rows.append((learning_rate, f"{final:.6g}", "finished"))
            losses[learning_rate] = history.history["loss"]
        except DivergenceError as error:
            diverged[learning_rate] = error.step
            losses[learning_rate] = error.history.history.get("loss", [])
            rows.append((learning_rate, "-", f"diverged at step {error.step}"))
    if args.batch_size is None:  # the bound holds for full-batch descent
        bound = stable_learning_rate(x, args.momentum)
        print(f"Full-batch descent on this data is stable for learning_rate < {bound:.4g}.")
    print(f"{'learning_rate':<15}{'final loss':<14}result")
    for learning_rate, final, result in rows:
        print(f"{learning_rate:<15g}{final:<14}{result}")
    if args.plot:
        from .plotting import plot_sweep

        _save(plot_sweep(losses, diverged), args.plot)
    return 1 if len(diverged) == len(rows) else 0


# -- output files ----------------------------------------------------------------------

def _write_json(path, content) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(content, file, indent=1)
        file.write("\n")


def _save(figure, path) -> None:
    figure.savefig(path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DivergenceError as error:
        print(f"minigd {args.command}: {error}", file=sys.stderr)
        return 1
    except (ValueError, ImportError, OSError) as error:
        # bad data, a missing extra, an unwritable output file: one line, no traceback
        print(f"minigd {args.command}: error: {error}", file=sys.stderr)
        return 2
