"""The README's commands are the ones CI runs, and its example runs."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quick_start_commands():
    text = (ROOT / "README.md").read_text()
    block = text.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    return [line for line in block.strip().splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands():
    install_and_run, install_and_test = quick_start_commands()
    assert "minigd fit" in install_and_run and "pytest" in install_and_test


def test_ci_runs_the_readme_test_command():
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert quick_start_commands()[1] in ci_lines


def test_ten_line_example_runs(capsys):
    text = (ROOT / "README.md").read_text()
    example = re.search(r"## In ten lines\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(example.strip().splitlines()) <= 10
    exec(compile(example, "README example", "exec"), {})
    out = capsys.readouterr().out
    assert out.count("iteration:") == 20 and "analytic vs numeric" in out
