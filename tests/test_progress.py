"""ProgressBar and write_line: a current loss, a bar even on short runs, and no torn lines."""

import io
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

import minigd as mg
from minigd.callbacks.progress import _active_bars, write_line

pytest.importorskip("tqdm")


def fit_with_bar(steps, **bar_options):
    out = io.StringIO()
    x, y = mg.make_linear_data(n=100, seed=0)
    bar = mg.ProgressBar(stream=out, **bar_options)
    history = mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[bar]).fit(mg.Linear(), x, y, steps=steps)
    return out.getvalue(), history


def test_a_short_run_ends_with_a_full_bar_and_the_last_steps_loss():
    text, history = fit_with_bar(300)
    last = text.split("\r")[-1]
    assert "300/300" in last
    assert f"loss={history.step_history['loss'][-1]:.4g}" in last


def test_every_redraw_shows_the_loss_of_the_step_it_counts():
    text, history = fit_with_bar(400, interval=0.0)  # redraw on every step
    losses = history.step_history["loss"]
    draws = [re.search(r"(\d+)/400 .*loss=([^\]]+)\]", part) for part in text.split("\r")]
    draws = [draw.groups() for draw in draws if draw]
    assert len(draws) >= 400
    for count, loss in draws:
        assert loss == f"{losses[int(count) - 1]:.4g}"


def test_a_bar_lets_full_batch_steps_run_in_chunks(monkeypatch):
    # it looks at the clock only at the step it guesses a redraw is due, so the steps
    # between run as one chunk (a compiled provider: one call), not one call each
    import minigd.gradients as gradients

    chunks, run_steps = [], gradients.run_steps
    monkeypatch.setattr(gradients, "run_steps", lambda step, *args: chunks.append(len(args[4]))
                        or run_steps(step, *args))
    steps = 20_000
    text, history = fit_with_bar(steps)
    assert sum(chunks) >= steps and len(chunks) < steps / 10
    assert f"{steps}/{steps}" in text.split("\r")[-1]


def test_the_bar_is_closed_and_forgotten_after_the_run():
    fit_with_bar(5)
    assert _active_bars == []


def test_the_bar_is_closed_even_when_the_run_fails():
    x, y = mg.make_linear_data(n=100, seed=0)
    trainer = mg.Trainer(mg.MSE(), mg.SGD(10.0), callbacks=[mg.ProgressBar(stream=io.StringIO())])
    with pytest.raises(mg.DivergenceError):
        trainer.fit(mg.Linear(), x, y, steps=100)
    assert _active_bars == []


def test_write_line_prints_plainly_without_a_bar():
    out = io.StringIO()
    write_line("iteration:0, loss:1.5", out)
    assert out.getvalue() == "iteration:0, loss:1.5\n"


def test_write_line_lifts_an_active_bar_on_the_same_stream():
    out = io.StringIO()
    log = mg.StepLogger(every=100, stream=out)
    x, y = mg.make_linear_data(n=100, seed=0)
    mg.Trainer(mg.MSE(), mg.SGD(0.01), callbacks=[mg.ProgressBar(stream=out, interval=0.0), log]
               ).fit(mg.Linear(), x, y, steps=300)
    # each log line starts right after a carriage return that cleared the bar's row
    for line in re.findall(r"[^\r\n]*iteration:[^\n]*", out.getvalue()):
        assert re.fullmatch(r"iteration:\d+, loss:\S+, w:\S+, b:\S+", line.strip()), line


def test_bad_options_name_themselves():
    with pytest.raises(ValueError, match="interval"):
        mg.ProgressBar(interval=-1)
    with pytest.raises(ValueError, match="delay"):
        mg.ProgressBar(delay=float("nan"))


LOG_LINE = re.compile(r"iteration:\d+, loss:[-\d.e]+, w:[-\d.e]+, b:[-\d.e]+")
FINAL_LINE = re.compile(r"Final loss:[-\d.e]+, w:[-\d.e]+, b:[-\d.e]+")
BAR_LINE = re.compile(r"100%\|[█ ]+\| 60000/60000 \[.*, loss=([-\d.e]+)\]")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux for a real terminal")
def test_in_a_real_terminal_log_lines_and_the_bar_never_tear(tmp_path):
    """A run long enough for many redraws, in a 100 x 50 tmux window: read the screen."""
    script = tmp_path / "run.py"
    script.write_text(textwrap.dedent("""
        import minigd as mg
        x, y = mg.make_linear_data(seed=0)
        trainer = mg.Trainer(mg.MSE(), mg.SGD(0.01),
                             callbacks=[mg.ProgressBar(interval=0.02), mg.StepLogger(every=5000)])
        trainer.fit(mg.Linear(), x, y, steps=60000)
        print("DONE")
    """))
    server = f"minigd-test-{os.getpid()}"  # a tmux server of our own, apart from anyone's
    tmux = ["tmux", "-L", server, "-f", os.devnull]
    subprocess.run([*tmux, "new-session", "-d", "-x", "100", "-y", "50",
                    f"{sys.executable} {script}; sleep 60"], check=True)
    try:
        deadline = time.monotonic() + 120
        screen = ""
        while "DONE" not in screen and time.monotonic() < deadline:
            time.sleep(0.5)
            screen = subprocess.run([*tmux, "capture-pane", "-p", "-J"], capture_output=True,
                                    text=True, check=True).stdout
        width = subprocess.run([*tmux, "display", "-p", "#{pane_width}"], capture_output=True,
                               text=True, check=True).stdout.strip()
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)
    assert width == "100"
    lines = [line.rstrip() for line in screen.splitlines() if line.strip()]
    assert lines[-1] == "DONE", screen
    logs = [line for line in lines if "iteration:" in line]
    assert len(logs) == 12 and all(LOG_LINE.fullmatch(line) for line in logs), screen
    bar = BAR_LINE.fullmatch(lines[-3])  # the finished bar, below every log line, once
    assert FINAL_LINE.fullmatch(lines[-2]), screen
    assert bar, screen
    assert sum("%|" in line for line in lines) == 1, screen
    final_loss = float(lines[-2].split(",")[0].split(":")[1])
    assert bar.group(1) == f"{final_loss:.4g}"  # the bar's loss is the current one
