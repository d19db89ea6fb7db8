"""The built site, read as HTML: what a reader (or a classroom with no network) gets.

The site is built once (`mkdocs build --strict`) into a temporary folder; each test reads
the pages it is about. tests/test_docs.py runs the pages' code; this file checks what
the theme, mkdocstrings and the Markdown extensions made of them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LEAKED_ROLE = re.compile(r":(?:class|mod|func|meth|attr|data|exc|obj):(?:`|<code>)")
# Characters that only formulas use: a text with one of them in a code span or a plain
# code block is a formula that was not typeset.
MATH_CHARS = set("∂Σ∑←√λ²³ᵢⱼ≈≤≥∇ηθ·")
RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\(?:frac|partial|sum|leftarrow|lambda|mathcal)\b")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                             str(folder)], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"}, check=False)
    assert result.returncode == 0, result.stderr
    return folder


def pages(site: Path) -> list[Path]:
    return sorted(path for path in site.rglob("*.html") if path.name != "404.html")


class Page(HTMLParser):
    """A page's parts: the text outside code, the code spans and blocks, math, resources."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.text: list[str] = []  # prose, outside code, math and scripts
        self.code_spans: list[str] = []  # inline <code> outside <pre>
        self.blocks: list[tuple[str, str]] = []  # (class of the <pre>'s block, text)
        self.math = 0  # elements pymdownx.arithmatex made
        self.resources: list[str] = []  # what the page makes the browser load
        self.lang = ""
        self.links: list[dict] = []
        self._code: list[str] | None = None
        self.feed(html)

    def _inside(self, tag: str, cls: str = "") -> bool:
        return any(t == tag and cls in a.get("class", "") for t, a in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = attrs.get("lang", "")
        if "arithmatex" in attrs.get("class", "").split():
            self.math += 1
        if tag == "script" and attrs.get("src"):
            self.resources.append(attrs["src"])
        if tag in ("img", "iframe", "source", "audio", "video", "embed") and attrs.get("src"):
            self.resources.append(attrs["src"])
        if tag == "link" and set(attrs.get("rel", "").split()) & {"stylesheet", "preload",
                                                                   "icon", "modulepreload"}:
            self.resources.append(attrs.get("href", ""))
        if tag == "a":
            self.links.append(attrs)
        if tag in ("br", "img", "link", "meta", "input", "hr", "source", "col", "wbr"):
            return
        if tag == "code" or (tag == "pre" and not self._inside("pre")):
            self._code = self._code if self._code is not None else []
        self.stack.append((tag, attrs))

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, attrs = self.stack.pop()
            if open_tag == tag:
                break
        if tag == "pre" and not self._inside("pre"):
            block = next((a.get("class", "") for t, a in reversed(self.stack)
                          if "highlight" in a.get("class", "")), "")
            self.blocks.append((block or attrs.get("class", ""), "".join(self._code or [])))
            self._code = None
        elif tag == "code" and not self._inside("pre") and self._code is not None:
            self.code_spans.append("".join(self._code))
            self._code = None

    def handle_data(self, data):
        if self._code is not None:
            self._code.append(data)
        elif not any(t in ("script", "style") or "arithmatex" in a.get("class", "")
                     for t, a in self.stack):
            self.text.append(data)


def parse(path: Path) -> Page:
    return Page(path.read_text(encoding="utf-8"))


def test_no_sphinx_role_leaks_as_text(site):
    leaks = {str(path.relative_to(site)): LEAKED_ROLE.findall(path.read_text(encoding="utf-8"))
             for path in pages(site)}
    assert not {page: found for page, found in leaks.items() if found}


def test_every_examples_section_on_the_api_page_is_highlighted_code(site):
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    sections = re.split(r'<span class="doc-section-title">', html)[1:]
    examples = [section for section in sections if section.startswith("Examples:")]
    assert len(examples) > 40  # every public name with examples has its section
    for section in examples:
        body = re.split(r'<div class="doc doc-children">|<h\d', section)[0]
        # a highlighted block whose prompts Pygments marked as prompts
        assert re.search(r'<div class="language-\w+ highlight"><pre>', body), body[:500]
        assert '<span class="gp">&gt;&gt;&gt; </span>' in body, body[:500]
        assert "<blockquote>" not in body, body[:500]
    # no "Example:" admonition left (griffe reads only "Examples:" as code)
    assert "<summary>Example</summary>" not in html
    # and the doctests' dunders stay code, not bold text
    assert "<strong>init</strong>" not in html


def test_api_names_in_docstrings_are_links(site):
    html = (site / "api" / "index.html").read_text(encoding="utf-8")
    # from minigd.layers's docstrings: Sequential is a Model, layers use minigd.ops
    # Layer's docstring names Dense; Model's names minigd.ops
    for target, shown in (("minigd.Dense", "Dense"), ("minigd.ops", "minigd.ops")):
        link = re.compile(r'<a class="autorefs autorefs-internal"[^>]+href="#%s">\s*<code>%s</code>'
                          % (re.escape(target), re.escape(shown)))
        assert link.search(html), target


def test_every_formula_is_typeset_math_not_code_or_raw_tex(site):
    problems = {}
    for path in pages(site):
        page = parse(path)
        text = "".join(page.text)
        found = RAW_TEX.findall(text)
        found += [span for span in page.code_spans if MATH_CHARS & set(span)]
        found += [code for kind, code in page.blocks
                  if not re.search(r"language-(python|pycon|text|bash|console)", kind)
                  and MATH_CHARS & set(code)]
        if found:
            problems[str(path.relative_to(site))] = found
    assert not problems


def test_pages_with_formulas_load_the_shipped_katex(site):
    with_math = [path for path in pages(site) if parse(path).math]
    names = {str(path.relative_to(site)) for path in with_math}
    assert {"index.html", "tutorial/index.html", "zh/tutorial/index.html",
            "api/index.html"} <= names
    for path in with_math:
        resources = parse(path).resources
        for name in ("katex.min.js", "katex-init.js", "katex.min.css"):
            found = [src for src in resources if src.endswith(name)]
            assert found, f"{path.relative_to(site)} does not load {name}"
            assert (path.parent / found[0]).resolve().is_file()
    fonts = site / "assets" / "katex" / "fonts"
    css = (site / "assets" / "katex" / "katex.min.css").read_text()
    for font in set(re.findall(r"url\(fonts/([^)]+)\)", css)):
        assert (fonts / font).is_file(), font


def test_nothing_is_loaded_from_another_host(site):
    for path in pages(site):
        for src in parse(path).resources:
            assert not re.match(r"(https?:)?//", src), f"{path.relative_to(site)} loads {src}"
    for css in site.rglob("*.css"):
        for url in re.findall(r"(?:url\(|@import\s+)['\"]?([^'\")\s]+)", css.read_text()):
            assert not re.match(r"(https?:)?//", url), f"{css.relative_to(site)} loads {url}"


def test_the_chinese_pages_are_chinese_and_the_english_ones_english(site):
    for path in pages(site):
        name = str(path.relative_to(site))
        expected = "zh" if name.startswith("zh/") else "en"
        assert parse(path).lang == expected, name
    tutorial = (site / "zh" / "tutorial" / "index.html").read_text(encoding="utf-8")
    for chrome in ("搜索", "目录"):  # the theme's search box and table of contents
        assert chrome in tutorial
    assert "Table of contents" not in tutorial


def test_every_page_has_a_language_switcher(site):
    for english, chinese in (("index.html", "zh/index.html"),
                             ("tutorial/index.html", "zh/tutorial/index.html"),
                             ("api/index.html", "zh/api/index.html")):
        for page, other, lang in ((english, chinese, "zh"), (chinese, english, "en")):
            path = site / page
            # links are relative, but for the home pages ("/" and "/zh/")
            targets = [(site / a["href"].lstrip("/") if a["href"].startswith("/")
                        else path.parent / a["href"]).resolve()
                       for a in parse(path).links if a.get("hreflang") == lang]
            assert targets, f"{page} has no link to its {lang} version"
            assert (site / other).parent.resolve() in {t if t.is_dir() else t.parent
                                                        for t in targets}, page


def test_the_chinese_pages_show_figures_with_chinese_labels(site):
    for page in ("zh/tutorial/index.html", "zh/index.html"):
        figures = [src for src in parse(site / page).resources if "/img/" in src or
                   src.startswith("img/")]
        assert figures, page
        for src in figures:
            assert "/zh/" in src, f"{page} shows the English figure {src}"
            assert ((site / page).parent / src).resolve().is_file()


def test_a_page_in_english_under_zh_says_so_and_is_marked_english(site):
    html = (site / "zh" / "guides" / "models" / "index.html").read_text(encoding="utf-8")
    assert "本页尚无中文版" in html and '<div lang="en">' in html
    assert "本页尚无中文版" not in (site / "zh" / "tutorial" / "index.html").read_text("utf-8")


def test_printed_output_wraps_instead_of_scrolling(site):
    css = (site / "assets" / "minigd.css").read_text()
    rule = re.search(r"code\.language-text[^{]*\{([^}]*)\}", css)
    assert rule and "pre-wrap" in rule.group(1)
    page = parse(site / "tutorial" / "index.html")
    assert "assets/minigd.css" in " ".join(page.resources)
    assert any("language-text" in kind for kind, _ in page.blocks)
