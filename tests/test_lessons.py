"""The lessons in docs/lessons/ and their Chinese twins in docs/zh/lessons/.

test_docs.py runs every lesson's code and compares what it prints. Here: each English
lesson has a Chinese twin whose code and shown outputs are byte for byte the English
ones (only the prose is translated), the pictures the lessons show are committed, and
docs/lessons/make_figures.py draws every one of them from the lessons' own code.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "docs" / "lessons"
CHINESE = ROOT / "docs" / "zh" / "lessons"
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```\s*$", re.M | re.S)
PICTURE = re.compile(r"!\[[^\]]*\]\(((?:\.\./)+img/lessons/[\w-]+\.png)\)")
LESSONS = ("logistic-regression.md", "softmax-regression.md", "hidden-layer.md", "optimizers.md")


def fenced_blocks(page: Path) -> list[tuple[str, str]]:
    """(language, body) of every fenced block: code, shown output and the like."""
    return FENCE.findall(page.read_text(encoding="utf-8"))


def pictures(page: Path) -> list[Path]:
    return [(page.parent / link).resolve() for link in PICTURE.findall(page.read_text(encoding="utf-8"))]


def test_the_four_lessons_are_there_in_both_languages():
    assert {page.name for page in ENGLISH.glob("*.md")} >= set(LESSONS)
    assert sorted(page.name for page in ENGLISH.glob("*.md")) == sorted(page.name for page in CHINESE.glob("*.md"))


@pytest.mark.parametrize("name", sorted(page.name for page in ENGLISH.glob("*.md")))
def test_the_chinese_lesson_has_the_english_code_and_outputs(name):
    english, chinese = fenced_blocks(ENGLISH / name), fenced_blocks(CHINESE / name)
    assert any(language == "python" for language, _ in english)
    assert chinese == english


@pytest.mark.parametrize("name", sorted(page.name for page in ENGLISH.glob("*.md")))
def test_both_pages_show_the_same_committed_pictures(name):
    english, chinese = pictures(ENGLISH / name), pictures(CHINESE / name)
    assert english and chinese == english
    for picture in english:
        assert picture.parent == ROOT / "docs" / "img" / "lessons"
        assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{picture} is not committed"


def test_every_page_math_is_in_dollars():
    """Formulas are $...$ or $$...$$ (typeset by arithmatex), balanced outside code."""
    for page in [*ENGLISH.glob("*.md"), *CHINESE.glob("*.md")]:
        prose = FENCE.sub("", page.read_text(encoding="utf-8"))
        prose = re.sub(r"`[^`\n]*`", "", prose)
        assert prose.count("$") % 2 == 0, page


def test_the_figures_script_draws_every_picture_the_lessons_show(tmp_path):
    subprocess.run([sys.executable, str(ENGLISH / "make_figures.py"), str(tmp_path)], check=True,
                   capture_output=True)
    shown = {picture.name for page in ENGLISH.glob("*.md") for picture in pictures(page)}
    drawn = {path.name for path in tmp_path.iterdir()}
    assert shown and shown <= drawn
    for name in shown:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
