"""The `minigd` command: seed equality, every option, JSON, and bad input."""

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_same_log, parse_log_line
from seed_program import run, sample_points

import minigd as mg
from minigd.cli import main


def minigd_command():
    """The installed console script, next to this Python."""
    script = Path(sys.executable).parent / "minigd"
    return [str(script)] if script.exists() else [shutil.which("minigd") or "minigd"]


def run_minigd(*args, cwd=None):
    return subprocess.run([*minigd_command(), *args], capture_output=True, text=True, cwd=cwd,
                          check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def write_csv(path, x, y, header=True):
    lines = (["x,y"] if header else []) + [f"{float(a)!r},{float(b)!r}" for a, b in zip(x, y)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def seed_csv(tmp_path_factory):
    points = sample_points(seed=7)
    lines = []
    run(points, print_=lines.append)
    path = write_csv(tmp_path_factory.mktemp("seed") / "seed.csv", points[:, 0], points[:, 1])
    return path, lines


@pytest.mark.parametrize("gradients", ["analytic", "tape"])
def test_console_script_reproduces_the_seed_program(seed_csv, gradients):
    path, seed_lines = seed_csv
    result = run_minigd("fit", "--data", str(path), "--gradients", gradients)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert_same_log(lines[:21], seed_lines, rtol=1e-9)
    assert lines[21].startswith("Least squares:")


def test_python_dash_m_is_the_same_command():
    result = subprocess.run([sys.executable, "-m", "minigd", "fit", "--quiet", "--steps", "5"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stdout.startswith("Final loss:")


def test_reference_job_prints_20_lines_final_line_and_the_comparison(capsys):
    assert main(["fit"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [parse_log_line(line)[0] for line in lines[:20]] == [("iteration", s) for s in range(0, 1000, 50)]
    assert lines[20].startswith("Final loss:")
    assert lines[21] == "True line:       w:1.915, b:0.915"
    assert lines[22].startswith("Least squares:   w:") and lines[23].startswith("Gap to least squares:")
    final = dict(parse_log_line(lines[20]))
    assert final["w"] == pytest.approx(1.915, abs=0.01) and final["Final loss"] < 0.011


def test_json_parses_and_matches_the_printed_numbers(tmp_path, capsys):
    path = tmp_path / "run.json"
    assert main(["fit", "--n", "200", "--seed", "3", "--steps", "300", "--json", str(path)]) == 0
    final = dict(parse_log_line(capsys.readouterr().out.splitlines()[6]))
    content = json.loads(path.read_text())
    assert content["params"] == {"w": final["w"], "b": final["b"]}
    assert content["final_loss"] == final["Final loss"]
    assert len(content["history"]["loss"]) == 300 and content["steps"] == 300
    assert content["true_params"] == {"w": 1.915, "b": 0.915}


def test_options_change_the_run(tmp_path, capsys):
    x = np.linspace(-1, 1, 64)
    data = write_csv(tmp_path / "d.csv", x, 3 * x - 1, header=False)
    args = ["fit", "--data", str(data), "--learning-rate", "0.1", "--steps", "40",
            "--batch-size", "16", "--momentum", "0.5", "--log-every", "10", "--seed", "1",
            "--gradients", "numeric", "--no-progress"]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[:4]] == [f"iteration:{step}" for step in (0, 10, 20, 30)]
    assert "True line" not in "\n".join(lines)  # unknown for a user's file
    final = dict(parse_log_line(lines[4]))
    assert final["w"] == pytest.approx(3.0, abs=0.05) and final["b"] == pytest.approx(-1.0, abs=0.05)


def test_quiet_prints_only_the_final_line(capsys):
    assert main(["fit", "--quiet", "--steps", "10"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("Final loss:")


def test_read_csv_returns_contiguous_float_arrays(tmp_path):
    path = write_csv(tmp_path / "d.csv", [1, 2, 3], [4, 5, 6])
    x, y = mg.read_csv(path)
    assert x.flags.c_contiguous and y.flags.c_contiguous and x.dtype == y.dtype == np.float64
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])


def test_several_feature_columns(tmp_path, capsys):
    rng = np.random.default_rng(0)
    table = rng.uniform(-1, 1, (100, 2))
    y = table @ [2.0, -1.0] + 0.5
    path = tmp_path / "three.csv"
    rows = np.column_stack([table, y])
    path.write_text("a,b,y\n" + "\n".join(",".join(repr(float(cell)) for cell in row) for row in rows))
    assert main(["fit", "--data", str(path), "--learning-rate", "0.3", "--steps", "500", "--quiet"]) == 0
    assert "w:[ 2. -1.]" in capsys.readouterr().out


def test_no_progress_bar_when_stderr_is_not_a_terminal():
    result = run_minigd("fit", "--quiet", "--steps", "20")
    assert result.returncode == 0 and result.stderr == ""


def test_check_prints_a_table_with_verdicts(capsys):
    assert main(["check", "--n", "100", "--w", "0.5", "--b", "-0.5"]) == 0
    out = capsys.readouterr().out
    assert "Linear(w=0.5, b=-0.5)" in out and out.count(" ok\n") == 2
    assert "analytic vs tape" in out and "All gradients agree." in out


def test_check_on_a_file_with_chosen_providers(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", [0.0, 1.0, 2.0], [1.0, 2.0, 4.0])
    assert main(["check", "--data", str(data), "--providers", "analytic,numeric"]) == 0
    assert "analytic vs numeric" in capsys.readouterr().out


def test_sweep_reports_each_rate_and_marks_divergence(tmp_path, capsys):
    plot = tmp_path / "sweep.png"
    assert main(["sweep", "--learning-rates", "0.001,0.01,0.05", "--steps", "200", "--plot", str(plot)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Full-batch descent on this data is stable for learning_rate < 0.03")
    assert out[-1] == f"wrote {plot}"
    rows = {line.split()[0]: line for line in out[2:-1]}
    assert "finished" in rows["0.001"] and "finished" in rows["0.01"]
    assert "diverged at step" in rows["0.05"]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sweep_with_mini_batches_and_tape(capsys):
    assert main(["sweep", "--learning-rates", "0.01", "--steps", "20", "--batch-size", "100",
                 "--gradients", "tape", "--momentum", "0.5", "--n", "300", "--seed", "2"]) == 0
    assert "finished" in capsys.readouterr().out


def test_help_documents_every_option_with_its_default():
    for command, options in {"fit": ["--data", "--n", "--seed", "--learning-rate", "--steps",
                                     "--batch-size", "--momentum", "--log-every", "--gradients",
                                     "--plot", "--json", "--quiet", "--no-progress"],
                             "check": ["--model", "--providers", "--w", "--b"],
                             "sweep": ["--learning-rates", "--plot"]}.items():
        result = run_minigd(command, "--help")
        assert result.returncode == 0
        for option in options:
            assert option in result.stdout, (command, option)
        assert "(default: 1000)" in result.stdout


BAD_FILES = {
    "missing": (None, "no such file"),
    "folder": ("<dir>", "is a folder"),
    "non-numeric": ("x,y\n1,2\n3,abc\n", "line 3, column 2: 'abc' is not a number"),
    "one column": ("1\n2\n3\n", "has 1 column"),
    "nan": ("1,2\n3,nan\n", "line 2, column 2: 'nan' is not finite"),
    "inf": ("1,2\ninf,4\n", "line 2, column 1: 'inf' is not finite"),
    "empty": ("", "has no rows of numbers"),
    "ragged": ("1,2\n3,4,5\n", "line 2: 3 column(s)"),
    "binary": (b"\xff\xfe\x00\x81garbage", "not a text"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_data_files_exit_2_with_one_line_naming_the_file(tmp_path, capsys, name):
    content, message = BAD_FILES[name]
    path = tmp_path / f"{name}.csv"
    if content == "<dir>":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    assert main(["fit", "--data", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and str(path) in captured.err and message in captured.err


@pytest.mark.parametrize("args, option", [
    (["--learning-rate", "-0.1"], "--learning-rate"), (["--learning-rate", "0"], "--learning-rate"),
    (["--learning-rate", "nan"], "--learning-rate"), (["--steps", "0"], "--steps"),
    (["--steps", "-3"], "--steps"), (["--batch-size", "0"], "--batch-size"),
    (["--momentum", "1"], "--momentum"), (["--n", "abc"], "--n"),
    (["--gradients", "magic"], "--gradients"),
])
def test_bad_options_exit_2_with_one_line_naming_the_option(args, option):
    result = run_minigd("fit", *args)
    assert result.returncode == 2
    assert result.stdout == "" and result.stderr.count("\n") == 1
    assert option in result.stderr and "Traceback" not in result.stderr


def test_batch_size_larger_than_the_file_is_a_clear_error_in_the_cli_s_words(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", [0.0, 1.0], [1.0, 2.0])
    assert main(["fit", "--data", str(data), "--batch-size", "5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--batch-size: 5 is more than the 2 points" in err
    assert "batch_size" not in err  # the Python argument's name means nothing here


def test_a_diverging_fit_exits_1_with_the_stable_bound(capsys):
    assert main(["fit", "--learning-rate", "0.05"]) == 1
    err = capsys.readouterr().err
    assert "diverged at step" in err and "learning_rate < 0.03" in err






def test_a_terminal_gets_a_progress_bar_unless_no_progress(monkeypatch, capsys):
    import minigd.cli as cli

    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True)
    shown = []
    monkeypatch.setattr(cli, "_progress_bar", lambda: mg.LambdaCallback(
        on_train_begin=lambda logs: shown.append("bar")))
    assert main(["fit", "--quiet", "--steps", "5"]) == 0
    assert main(["fit", "--quiet", "--steps", "5", "--no-progress"]) == 0
    assert shown == ["bar"]


# -- one clear line, never a traceback, checked before it trains ------------------------

def assert_one_line_error(result_or_err, *words):
    """stderr is one line holding every word, and no traceback."""
    err = result_or_err if isinstance(result_or_err, str) else result_or_err.stderr
    assert err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)


def without(module, args, cwd=None):
    """Run the command in a Python where ``module`` cannot be imported (a minimal install)."""
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "from minigd.cli import main\n"
            f"sys.exit(main({list(args)!r}))")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd,
                          check=False, env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_ctrl_c_mid_fit_exits_130_with_one_line_and_leaves_the_old_json(tmp_path):
    previous = tmp_path / "run.json"
    previous.write_text('{"from": "the previous run"}\n')
    command = [*minigd_command(), "fit", "--steps", "10000000", "--log-every", "1000",
               "--json", "run.json"]
    process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        first = process.stdout.readline()  # training has begun once a progress line is out
        assert first.startswith("iteration:0,"), first
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)  # a safety net, not a measurement
    finally:
        process.kill()
    assert process.returncode == 130
    assert_one_line_error(err, "minigd fit: interrupted at step", "of 10000000; no file written")
    assert "Final" not in out and "wrote" not in out
    assert previous.read_text() == '{"from": "the previous run"}\n'
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run.json"]  # no temporary file


def test_ctrl_c_while_the_json_is_written_keeps_the_previous_file(tmp_path, monkeypatch, capsys):
    import minigd.cli as cli

    previous = tmp_path / "run.json"
    previous.write_text("previous\n")

    def dump_half_then_interrupt(content, file, **options):
        file.write('{"params": ')
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.json, "dump", dump_half_then_interrupt)
    assert main(["fit", "--quiet", "--steps", "3", "--json", str(previous)]) == 130
    assert previous.read_text() == "previous\n"
    assert [path.name for path in tmp_path.iterdir()] == ["run.json"]
    assert_one_line_error(capsys.readouterr().err, "minigd fit: interrupted")


@pytest.mark.parametrize("case", ["json in a missing folder", "plot in a missing folder",
                                  "plot is a folder", "plot is not a png", "json is the data",
                                  "plot is the data", "plot is the json"])
def test_output_paths_are_checked_before_training(tmp_path, capsys, case):
    data = write_csv(tmp_path / "d.csv", [0.0, 1.0, 2.0], [1.0, 2.0, 4.0])
    (tmp_path / "somedir").mkdir()
    option, path, message = {
        "json in a missing folder": ("--json", tmp_path / "no" / "x.json", "does not exist"),
        "plot in a missing folder": ("--plot", tmp_path / "no" / "x.png", "does not exist"),
        "plot is a folder": ("--plot", tmp_path / "somedir", "is a folder"),
        "plot is not a png": ("--plot", tmp_path / "fit.pdf", "ending in .png"),
        "json is the data": ("--json", data, "the --data file"),
        "plot is the data": ("--plot", tmp_path / "d.png", "the --data file"),
        "plot is the json": ("--plot", tmp_path / "r.png", "the --json file"),
    }[case]
    args = ["fit", "--data", str(data), "--steps", "20000", option, str(path)]
    if case == "plot is the data":
        data.rename(tmp_path / "d.png")
        args[2] = str(tmp_path / "d.png")
    if case == "plot is the json":
        args += ["--json", str(path)]
    before = sorted(tmp_path.rglob("*"))
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # not a single step was taken
    assert_one_line_error(captured.err, f"argument {option}", str(path), message)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written, the data untouched


def test_every_file_written_is_named_and_is_exactly_the_path_given(tmp_path):
    result = run_minigd("fit", "--steps", "5", "--quiet", "--json", "run.json", "--plot", "fit.png",
                        cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == ["wrote run.json", "wrote fit.png"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["fit.png", "run.json"]
    assert (tmp_path / "fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_diverging_fit_writes_nothing(tmp_path, capsys):
    args = ["fit", "--learning-rate", "0.05", "--json", str(tmp_path / "run.json"),
            "--plot", str(tmp_path / "fit.png")]
    assert main(args) == 1
    assert "Final" not in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("option", ["--n", "--steps"])
def test_a_run_too_large_for_memory_is_refused_before_it_starts(option):
    result = run_minigd("fit", option, "100000000000000000000")
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, f"argument {option}", "100000000000000000000", "memory")


def test_running_out_of_memory_is_one_line_and_exit_2(monkeypatch, capsys):
    import minigd.cli as cli

    def no_memory(**options):
        raise MemoryError

    monkeypatch.setattr(cli, "make_linear_data", no_memory)
    assert main(["fit", "--quiet"]) == 2
    assert_one_line_error(capsys.readouterr().err, "minigd fit: error:", "memory", "--n")


def test_sweep_exits_0_when_a_rate_finishes_and_1_when_every_rate_diverges(tmp_path, capsys):
    # as docs/guides/cli.md and the README say: 1 for a sweep only when no rate finished
    assert main(["sweep", "--learning-rates", "0.01,0.05", "--steps", "50"]) == 0
    plot = tmp_path / "sweep.png"
    assert main(["sweep", "--learning-rates", "0.05,0.1", "--steps", "50", "--plot", str(plot)]) == 1
    captured = capsys.readouterr()
    assert_one_line_error(captured.err, "every learning rate diverged", "learning_rate < 0.03")
    assert not plot.exists() and "wrote" not in captured.out


def test_sweep_on_data_too_large_says_to_standardise_it(tmp_path, capsys):
    data = tmp_path / "huge.csv"
    x = np.linspace(-1.0, 1.0, 50) * 1e200
    write_csv(data, x, 2 * x)
    assert main(["sweep", "--data", str(data), "--steps", "5"]) == 1
    captured = capsys.readouterr()
    assert "stable for learning_rate < nan" not in captured.out
    assert_one_line_error(captured.err, "every learning rate diverged", "x is too large", "standardise")


def test_help_speaks_of_the_reference_job_not_the_seed():
    for command in ("fit", "check", "sweep"):
        text = " ".join(run_minigd(command, "--help").stdout.split())
        assert "the seed" not in text.lower() and "seed's" not in text, command
    assert "reference job" in " ".join(run_minigd("fit", "--help").stdout.split())


@pytest.mark.parametrize("providers", ["analytic", "tape,tape", ",,,", "analytic,magic"])
def test_check_needs_two_distinct_known_providers(providers):
    result = run_minigd("check", "--providers", providers)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, "argument --providers", "analytic")


def test_an_unknown_option_is_named_with_its_command(capsys):
    # check's --model given to fit: the message says which command refused it
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "--model", "mlp"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("minigd fit: error: unrecognized arguments: --model mlp "
                                       "(see minigd fit --help)\n")


@pytest.mark.parametrize("option", ["--json", "--plot", "--data"])
@pytest.mark.parametrize("value", ["", "-"])
def test_a_file_option_needs_a_file_name(option, value):
    result = run_minigd("fit", option, value)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, f"argument {option}: must name a file, got {value!r}")


def test_seed_must_not_be_negative():
    result = run_minigd("fit", "--seed", "-1")
    assert result.returncode == 2
    assert_one_line_error(result, "argument --seed", "-1")


def test_plot_without_matplotlib_is_refused_before_training(tmp_path):
    result = without("matplotlib", ["fit", "--steps", "20000", "--plot", "f.png"], cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, "--plot", "pip install 'minigd[plot]'")
    assert list(tmp_path.iterdir()) == []


def test_tape_without_tensorflow_is_refused_before_training():
    result = without("tensorflow", ["fit", "--gradients", "tape"])
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, "--gradients tape", "pip install 'minigd[tf]'")


def test_check_without_tensorflow_compares_the_rest_and_says_tape_was_skipped():
    result = without("tensorflow", ["check", "--n", "100"])
    assert result.returncode == 0, result.stderr
    assert "analytic vs numeric" in result.stdout and "tape grad" not in result.stdout
    assert "tape skipped" in result.stdout and "pip install 'minigd[tf]'" in result.stdout
    assert "All gradients agree." in result.stdout


def test_check_without_tensorflow_and_only_tape_left_to_compare_is_refused():
    result = without("tensorflow", ["check", "--providers", "analytic,tape"])
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, "argument --providers", "pip install 'minigd[tf]'")


def test_check_at_the_minimum_says_the_gradients_are_too_small(capsys):
    assert main(["check", "--w", "1.9148963005892492", "--b", "0.9138350027726658"]) == 2
    captured = capsys.readouterr()
    assert "DISAGREE" not in captured.out
    assert_one_line_error(captured.err, "too small to compare", "--w", "--b")


def test_json_history_has_one_loss_per_step_with_mini_batches(tmp_path):
    path = tmp_path / "run.json"
    assert main(["fit", "--quiet", "--batch-size", "100", "--steps", "50", "--json", str(path)]) == 0
    assert len(json.loads(path.read_text())["history"]["loss"]) == 50


# -- check --model: the lessons' models, on their data ------------------------------------

COURSE = {"logistic": ("BinaryCrossentropy", "Dense(1, activation='sigmoid')",
                       "make_classification_data(n=200, separation=1.5, seed=0)", 2),
          "softmax": ("SparseCategoricalCrossentropy", "Dense(3, activation='softmax')",
                      "make_spiral_data(n=300, seed=0)", 2),
          "mlp": ("SparseCategoricalCrossentropy", "Dense(50, activation='tanh'), Dense(3",
                  "make_spiral_data(n=300, seed=0)", 4)}
HAS_TENSORFLOW = importlib.util.find_spec("tensorflow") is not None


@pytest.mark.parametrize("model", COURSE)
def test_check_model_agrees_on_the_lesson_s_data(model, capsys):
    loss, layers, data, parameters = COURSE[model]
    assert main(["check", "--model", model]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Gradients of the {loss} of Sequential([{layers}")
    assert f"seed=0) on {data}:\n" in out
    assert "analytic vs numeric" in out and out.count(" ok\n") == parameters
    assert ("analytic vs tape" in out) == HAS_TENSORFLOW
    assert out.endswith("All gradients agree.\n")


@pytest.mark.parametrize("model", COURSE)
def test_check_model_without_tensorflow_compares_the_rest_and_says_tape_was_skipped(model):
    result = without("tensorflow", ["check", "--model", model])
    assert result.returncode == 0, result.stderr
    assert "analytic vs numeric" in result.stdout and "tape grad" not in result.stdout
    assert "tape skipped" in result.stdout and "All gradients agree." in result.stdout


def test_check_model_seed_seeds_the_data_and_the_weights(capsys):
    assert main(["check", "--model", "softmax", "--seed", "3", "--providers", "analytic,numeric"]) == 0
    assert "seed=3) on make_spiral_data(n=300, seed=3):" in capsys.readouterr().out


def test_check_model_linear_is_the_default(capsys):
    assert main(["check", "--n", "100", "--w", "0.5", "--providers", "analytic,numeric"]) == 0
    default = capsys.readouterr().out
    assert main(["check", "--model", "linear", "--n", "100", "--w", "0.5",
                 "--providers", "analytic,numeric"]) == 0
    assert capsys.readouterr().out == default


@pytest.mark.parametrize("model, option, value", [
    ("mlp", "--w", "0.5"), ("logistic", "--b", "0"), ("softmax", "--n", "1000"),
    ("mlp", "--data", "points.csv"),
])
def test_check_model_refuses_the_linear_model_s_options(model, option, value):
    # --b 0 and --n 1000 are the defaults: given, they are still refused, not ignored
    result = run_minigd("check", "--model", model, option, value)
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, f"argument {option}: only --model linear takes it", "lesson")


def test_check_model_must_be_a_known_one():
    result = run_minigd("check", "--model", "magic")
    assert result.returncode == 2 and result.stdout == ""
    assert_one_line_error(result, "argument --model", "'logistic', 'softmax', 'mlp'")


@pytest.mark.parametrize("model", COURSE)
def test_check_model_with_a_broken_backward_exits_1(model, monkeypatch, capsys):
    original = mg.Dense.backward

    def forgets_half_the_kernel_gradient(self, params, cache, grad_out, input_gradient=True):
        grads, grad_x = original(self, params, cache, grad_out, input_gradient)
        return {**grads, "kernel": grads["kernel"] / 2}, grad_x

    monkeypatch.setattr(mg.Dense, "backward", forgets_half_the_kernel_gradient)
    assert main(["check", "--model", model, "--providers", "analytic,numeric"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCH" in out and out.endswith("Some gradients DISAGREE (see MISMATCH).\n")
