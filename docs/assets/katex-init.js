// Typesets every formula on the page with the KaTeX that ships with the site (no CDN).
// pymdownx.arithmatex (generic mode) leaves each formula as the TeX source in
// <span class="arithmatex">\( ... \)</span> or <div class="arithmatex">\[ ... \]</div>;
// this replaces each with KaTeX's HTML. Material's document$ fires on every page load,
// instant navigation included; without Material's bundle, DOMContentLoaded does.
(function () {
  function typeset(root) {
    root.querySelectorAll(".arithmatex").forEach(function (element) {
      if (element.dataset.typeset) return;
      var tex = element.textContent.trim();
      var display = tex.startsWith("\\[");
      if (tex.startsWith("\\(") || tex.startsWith("\\[")) tex = tex.slice(2, -2);
      katex.render(tex, element, { displayMode: display, throwOnError: false });
      element.dataset.typeset = "1";
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(function () { typeset(document.body); });
  } else {
    document.addEventListener("DOMContentLoaded", function () { typeset(document.body); });
  }
})();
