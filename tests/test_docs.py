"""Every ```python block in docs/ runs, page by page in order, from an empty folder.

Where a page shows what a block prints (a ```text block right after it), the printed
output must match: words exactly, and numbers by the rule of ``numbers_match``:

* to 1e-9 relative (RTOL): the last digits of a float differ between CPUs and BLAS
  kernels (``OPENBLAS_CORETYPE=Prescott`` shows it on any x86-64 machine);
* any number below 1e-8 in magnitude (NOISE_FLOOR) matches any other below it. On these
  pages such numbers are relative errors and gaps between results that agree, that is
  rounding (or finite-difference) noise: a page promises only that they are that small.

A line holding only "..." stands for any number of lines, and "..." inside a line for any
text there.

Run ``python tests/test_docs.py docs/tutorial.md`` to see what each block prints.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?")
RTOL = 1e-9  # float64 results agree to ~1e-15 across CPUs; 1e-9 leaves room to spare
NOISE_FLOOR = 1e-8  # the gradient check's own absolute tolerance: below it is noise


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def code_blocks(page: Path) -> list[tuple[str, str | None, int]]:
    """(python source, the output shown after it or None, line number) for each block."""
    text = page.read_text(encoding="utf-8")
    found = [(m.group(1), m.group(2), text[:m.start()].count("\n") + 1) for m in BLOCK.finditer(text)]
    blocks = []
    for index, (language, body, line) in enumerate(found):
        if language != "python":
            continue
        following = found[index + 1] if index + 1 < len(found) else None
        shown = following[1] if following and following[0] == "text" and _adjacent(text, line, body) else None
        blocks.append((body, shown, line))
    return blocks


def _adjacent(text: str, line: int, body: str) -> bool:
    """True if the next fence starts right after this block (blank lines aside)."""
    lines = text.splitlines()
    after = line + body.count("\n") + 1  # index of the line after the closing fence
    while after < len(lines) and not lines[after].strip():
        after += 1
    return after < len(lines) and lines[after].startswith("```text")


def outputs_match(actual: str, expected: str) -> bool:
    want, got = expected.rstrip("\n").splitlines(), actual.rstrip("\n").splitlines()
    return _match(want, got)


def _match(want: list[str], got: list[str]) -> bool:
    if not want:
        return not got
    if want[0].strip() == "...":
        return any(_match(want[1:], got[start:]) for start in range(len(got) + 1))
    return bool(got) and _same_line(want[0], got[0]) and _match(want[1:], got[1:])


def _same_line(want: str, got: str) -> bool:
    if "..." in want:  # "..." inside a line stands for any text there
        pattern = ".*".join(re.escape(part) for part in want.rstrip().split("..."))
        return re.fullmatch(pattern, got.rstrip()) is not None
    if NUMBER.sub("#", want).rstrip() != NUMBER.sub("#", got).rstrip():
        return False
    return all(numbers_match(float(a), float(b))
               for a, b in zip(NUMBER.findall(want), NUMBER.findall(got)))


def numbers_match(shown: float, printed: float) -> bool:
    """True if a number printed on this machine matches the one the page shows.

    Both below NOISE_FLOOR: noise matches noise (5.68e-17 on one CPU, 1.70e-16 on another).
    Otherwise they agree to RTOL relative, so a noise value never matches a real one.
    """
    if abs(shown) < NOISE_FLOOR and abs(printed) < NOISE_FLOOR:
        return True
    return abs(shown - printed) <= RTOL * max(abs(shown), abs(printed))


def run_page(page: Path, folder: Path, check: bool = True) -> list[str]:
    """Run a page's blocks in order in ``folder``; return what each printed."""
    namespace: dict = {"__name__": "__docs__"}
    printed = []
    previous = Path.cwd()
    os.chdir(folder)
    try:
        for source, shown, line in code_blocks(page):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(source, f"{page.relative_to(ROOT)}:{line}", "exec"), namespace)
            printed.append(out.getvalue())
            if check and shown is not None:
                assert outputs_match(out.getvalue(), shown), (
                    f"{page.relative_to(ROOT)}, block at line {line} printed:\n{out.getvalue()}\n"
                    f"but the page shows:\n{shown}")
    finally:
        os.chdir(previous)
    return printed


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(DOCS)))
def test_every_python_block_runs_and_prints_what_the_page_shows(page, tmp_path):
    run_page(page, tmp_path)


def transcripts() -> list[tuple[Path, str, str]]:
    """(page, command, expected output) for each "$ minigd ..." line in a ```text block."""
    found = []
    for page in pages():
        for language, body in BLOCK.findall(page.read_text(encoding="utf-8")):
            if language != "text" or not body.startswith("$ minigd"):
                continue
            for chunk in body.split("$ ")[1:]:
                command, _, output = chunk.partition("\n")
                found.append((page, command, output))
    return found


@pytest.mark.parametrize("page, command, expected", transcripts(),
                         ids=[command for _, command, _ in transcripts()])
def test_every_command_line_transcript_prints_what_the_page_shows(page, command, expected, tmp_path):
    args = command.split()[1:]
    result = subprocess.run([sys.executable, "-m", "minigd", *args], capture_output=True, text=True,
                            cwd=tmp_path, check=False)
    assert outputs_match(result.stdout + result.stderr, expected), (
        f"{page.relative_to(ROOT)}: `{command}` printed:\n{result.stdout}{result.stderr}")


def test_the_chinese_tutorial_has_the_same_code_as_the_english_one():
    english = [source for source, _, _ in code_blocks(DOCS / "tutorial.md")]
    chinese = [source for source, _, _ in code_blocks(DOCS / "zh" / "tutorial.md")]
    assert chinese == english


def test_the_site_builds_with_no_warning(tmp_path):
    """`mkdocs build --strict`: broken links, missing pages and docstring errors all fail."""
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                             str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, check=False)
    assert result.returncode == 0, result.stderr


def test_the_output_matcher():
    assert outputs_match("loss:0.1000000000001\n", "loss:0.1\n")
    assert not outputs_match("loss:0.11\n", "loss:0.1\n")
    assert outputs_match("a\nb\nc\nd\n", "a\n...\nd\n")
    assert outputs_match("w  -1.25  0.3 ok\n", "w  -1.25...ok\n")
    assert not outputs_match("a\nb\n", "a\nc\n")


def test_the_matcher_treats_numbers_below_the_noise_floor_as_noise():
    # the case that failed on another CPU: analytic vs tape relative error of w
    assert numbers_match(5.68e-17, 1.70e-16)
    assert numbers_match(0.0, 3e-9) and numbers_match(-9.9e-9, 9.9e-9)
    # noise never matches a value at or above the floor, nor two values above it that differ
    assert not numbers_match(5e-9, 1e-8) and not numbers_match(1e-8, 1e-7)
    assert not numbers_match(2e-8, 3e-8) and not numbers_match(1e-6, 0.0)
    # above the floor the relative rule holds, down to the last digits a CPU may change
    assert numbers_match(15.504135265087967, 15.504135265087974)
    assert not numbers_match(15.504135, 15.504136)
    # words still match exactly around noise
    shown = "w  -125.1243897  5.68e-17  ok\n"
    assert outputs_match("w  -125.1243897  1.70e-16  ok\n", shown)
    assert not outputs_match("w  -125.1243897  1.70e-16  MISMATCH\n", shown)
    assert not outputs_match("w  -125.1243897  0.3  ok\n", shown)


def test_the_figures_script_draws_every_figure_the_pages_use(tmp_path):
    subprocess.run([sys.executable, str(DOCS / "make_figures.py"), str(tmp_path)], check=True)
    used = {name for page in pages() for name in re.findall(r"img/([\w-]+\.png)", page.read_text())}
    assert used and used <= {path.name for path in tmp_path.iterdir()}
    for name in used:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert (DOCS / "img" / name).exists(), f"docs/img/{name} is not committed"


if __name__ == "__main__":  # print each block's output, for writing pages
    import tempfile

    for name in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as folder:
            page = Path(name).resolve()
            outputs = run_page(page, Path(folder), check=False)
            for (source, _, line), output in zip(code_blocks(page), outputs):
                print(f"--- {name}:{line}\n{output}", end="")
