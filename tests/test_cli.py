"""The `minigd` command: seed equality, every option, JSON, and bad input."""

import json
import os
import shutil
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
    rows = {line.split()[0]: line for line in out[2:]}
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
                             "check": ["--providers", "--w", "--b"],
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


def test_batch_size_larger_than_the_file_is_a_clear_error(tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", [0.0, 1.0], [1.0, 2.0])
    assert main(["fit", "--data", str(data), "--batch-size", "5"]) == 2
    assert "batch_size=5 is larger than the 2 training examples" in capsys.readouterr().err


def test_a_diverging_fit_exits_1_with_the_stable_bound(capsys):
    assert main(["fit", "--learning-rate", "0.05"]) == 1
    err = capsys.readouterr().err
    assert "diverged at step" in err and "learning_rate < 0.03" in err


def test_an_unwritable_output_file_exits_2(tmp_path, capsys):
    assert main(["fit", "--quiet", "--steps", "2", "--json", str(tmp_path / "no" / "such" / "x.json")]) == 2
    assert "x.json" in capsys.readouterr().err


def test_plot_without_matplotlib_explains_the_pip_command(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from minigd.cli import main\n"
            f"sys.exit(main(['fit', '--quiet', '--steps', '2', '--plot', {str(tmp_path / 'f.png')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 2
    assert "pip install 'minigd[plot]'" in result.stderr and "Traceback" not in result.stderr


def test_a_terminal_gets_a_progress_bar_unless_no_progress(monkeypatch, capsys):
    import minigd.cli as cli

    monkeypatch.setattr(cli.sys.stderr, "isatty", lambda: True)
    shown = []
    monkeypatch.setattr(cli, "_progress_bar", lambda: mg.LambdaCallback(
        on_train_begin=lambda logs: shown.append("bar")))
    assert main(["fit", "--quiet", "--steps", "5"]) == 0
    assert main(["fit", "--quiet", "--steps", "5", "--no-progress"]) == 0
    assert shown == ["bar"]
