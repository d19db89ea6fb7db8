"""Draw the Chinese pages' figures: the same code as docs/make_figures.py, Chinese labels.

    python docs/assets/make_zh_figures.py [FOLDER]      # default: docs/img/zh

Each figure is drawn by minigd.plotting exactly as for the English pages; then every
piece of text in it (titles, axis labels, legend entries, the colour bar) is looked up in
LABELS, or matched against PATTERNS for text with numbers in it, and replaced. A text
found in neither is left as it is and named on stderr, so a new label in minigd.plotting
shows up here rather than silently staying English.

Chinese glyphs need a CJK font (Debian: fonts-noto-cjk); Latin text and digits keep
matplotlib's DejaVu Sans, so the numbers look the same as on the English figures.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import matplotlib
import matplotlib.text
from matplotlib import font_manager

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # docs/, for make_figures
import make_figures  # noqa: E402  (the English figures' own code)
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei",
             "Microsoft YaHei", "PingFang SC"]

# Exact texts minigd.plotting writes, and their Chinese.
LABELS = {
    "Data and fitted model": "数据与拟合的模型",
    "Predictions against targets": "预测值与目标值",
    "Loss during training": "训练过程中的损失",
    "Descent path on the loss surface": "损失曲面上的下降路径",
    "loss (log scale)": "损失（对数坐标）",
    "MSE (log scale)": "均方误差（对数坐标）",
    "step": "步数",
    "loss": "损失",
    "val_loss": "验证损失",
    "data": "数据",
    "true": "真实直线",
    "current line": "当前直线",
    "descent path": "下降路径",
    "least squares": "最小二乘解",
    "end": "终点",
    "y (true)": "y（真实值）",
    "y_pred = y": "y_pred = y",
}

# Texts with numbers in them: (pattern, replacement).
PATTERNS = [
    (re.compile(r"^fitted: (.*)$"), r"拟合：\1"),
    (re.compile(r"^true: (.*)$"), r"真实：\1"),
    (re.compile(r"^start (.*)$"), r"起点 \1"),
    (re.compile(r"^after (\d+) steps: (.*)$"), r"第 \1 步之后：\2"),
]

# Texts that need no translation: variable names and numbers.
KEEP = re.compile(r"^([a-z_]\w*|[-+−\d.,e ×\^$\\{}()]*)$")


def chinese(text: str) -> str:
    """The Chinese for a text minigd.plotting wrote (the text itself if it needs none)."""
    if text in LABELS:
        return LABELS[text]
    for pattern, replacement in PATTERNS:
        if pattern.match(text):
            return pattern.sub(replacement, text)
    if text and not KEEP.match(text):
        print(f"make_zh_figures: no Chinese for {text!r}", file=sys.stderr)
    return text


def translate(figure) -> None:
    """Replace every text in ``figure`` by its Chinese."""
    for artist in figure.findobj(matplotlib.text.Text):
        artist.set_text(chinese(artist.get_text()))


def _installed(names: list[str]) -> list[str]:
    installed = {entry.name for entry in font_manager.fontManager.ttflist}
    return [name for name in names if name in installed]


def use_cjk_font() -> None:
    found = _installed(CJK_FONTS)
    if not found:  # a font installed after matplotlib built its font cache
        for path in font_manager.findSystemFonts():
            if "cjk" in path.lower() or "wqy" in path.lower():
                font_manager.fontManager.addfont(path)
        found = _installed(CJK_FONTS)
    if not found:
        print("make_zh_figures: no CJK font found (Debian: apt-get install fonts-noto-cjk)",
              file=sys.stderr)
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", *found]


def training_figure(folder: Path) -> None:
    """The tutorial's figure, as docs/make_figures.py draws it, with Chinese labels."""
    figure = make_figures.training_figure()
    translate(figure)
    figure.savefig(folder / "training.png")


def descent_animation(folder: Path) -> None:
    """The landing page's GIF, as docs/make_figures.py draws it, with Chinese labels."""
    animation = make_figures.descent_animation()
    figure = animation._fig
    translate(figure)
    # every frame writes its own title ("after 12 steps: ..."): translate it as it is set
    for axes in figure.axes:
        english_set_title = axes.set_title
        axes.set_title = lambda label, *args, _set=english_set_title, **kwargs: _set(
            chinese(label), *args, **kwargs)
    make_figures.save_animation(animation, folder / "descent.gif")


if __name__ == "__main__":
    matplotlib.use("Agg")
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "img" / "zh")
    folder.mkdir(parents=True, exist_ok=True)
    use_cjk_font()
    training_figure(folder)
    descent_animation(folder)
    print(f"figures written to {folder}")
