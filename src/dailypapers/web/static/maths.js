// dailypapers: TeX in titles, abstracts and comments, typeset in the browser with the vendored
// KaTeX (static/katex/, loaded only on pages that hold math). The page keeps the TeX as escaped
// text, so readers without JavaScript and search engines see it as the authors wrote it.
//
// Safety: KaTeX reads text nodes, never HTML, and runs with trust: false, so \href{javascript:…},
// \url, \htmlClass and friends render as plain red text. A formula KaTeX cannot parse stays as
// written: auto-render catches the parse error per formula (throwOnError: true inside it), since
// KaTeX's own error box (throwOnError: false) sets a style attribute that the CSP refuses.
(function () {
  "use strict";
  var ROOT = document.documentElement;
  var SELECTOR = "[data-tex], .comment-body .math";
  var HAS_MATH = /\$[^$]*[^$\s][^$]*\$|\\\(|\\\[/;
  var DELIMITERS = [
    { left: "$$", right: "$$", display: false },  // titles and abstracts are prose: keep it inline
    { left: "$", right: "$", display: false },
    { left: "\\(", right: "\\)", display: false },
    { left: "\\[", right: "\\]", display: false }
  ];
  var OPTIONS = {
    delimiters: DELIMITERS, trust: false, throwOnError: true, strict: "ignore",
    maxSize: 10, maxExpand: 200, output: "htmlAndMathml",
    ignoredTags: ["script", "noscript", "style", "textarea", "pre", "code", "option"],
    errorCallback: function () { ROOT.setAttribute("data-maths-errors", "1"); }
  };
  // Text-mode TeX outside formulas, as arXiv titles and abstracts use it: 97.3\% and 1--2.
  var TEXT_MODE = [[/---/g, "\u2014"], [/--/g, "\u2013"], [/\\([%&#_])/g, "$1"], [/``/g, "\u201c"]];
  var TEXT_HINT = /---?|\\[%&#_]|``/;

  function targets() {
    return Array.prototype.slice.call(document.querySelectorAll(SELECTOR));
  }

  // Text nodes of el that are prose: not inside typeset math, links' targets, code or forms.
  function proseNodes(el) {
    var walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT, {
      acceptNode: function (node) {
        var parent = node.parentNode;
        if (parent && parent.closest && parent.closest(".katex, code, pre, textarea, .math")) {
          return NodeFilter.FILTER_REJECT;
        }
        return TEXT_HINT.test(node.nodeValue) ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_SKIP;
      }
    });
    var nodes = [];
    while (walker.nextNode()) { nodes.push(walker.currentNode); }
    return nodes;
  }

  function typesetText(el) {
    if (el.matches(".comment-body .math")) { return; }  // comments are Markdown, not TeX prose
    proseNodes(el).forEach(function (node) {
      var text = node.nodeValue;
      TEXT_MODE.forEach(function (rule) { text = text.replace(rule[0], rule[1]); });
      node.nodeValue = text;
    });
  }

  function load(tag, attrs) {
    return new Promise(function (resolve, reject) {
      var node = document.createElement(tag);
      Object.keys(attrs).forEach(function (key) { node[key] = attrs[key]; });
      node.onload = resolve;
      node.onerror = function () { reject(new Error("could not load " + (attrs.src || attrs.href))); };
      document.head.appendChild(node);
    });
  }

  function typesetMath(elements) {
    load("link", { rel: "stylesheet", href: "/static/katex/katex.min.css" });
    return load("script", { src: "/static/katex/katex.min.js" }).then(function () {
      return load("script", { src: "/static/katex/auto-render.min.js" });
    }).then(function () {
      elements.forEach(function (el) { window.renderMathInElement(el, OPTIONS); });
    });
  }

  function run() {
    var elements = targets();
    var withMath = elements.filter(function (el) { return HAS_MATH.test(el.textContent); });
    var done = function () {
      elements.forEach(typesetText);
      ROOT.setAttribute("data-maths", "done");  // the browser tests wait for this
    };
    if (!withMath.length) { done(); return; }
    typesetMath(withMath).then(done, function () {
      ROOT.setAttribute("data-maths", "failed");  // the TeX stays readable as text
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", run);
  } else {
    run();
  }
})();
