"""Comments as HTML: CommonMark (raw HTML off) through a strict allow-list sanitiser (nh3).

Math is left as text: `$…$` and `$$…$$` spans are set aside before Markdown runs (so `a_1 * b_2`
keeps its underscores and stars) and put back escaped, in <span class="math">.
"""

from __future__ import annotations

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a", "hr", "span", "del"}
ATTRIBUTES = {"a": {"href", "title"}, "span": {"class"}, "code": {"class"}, "ol": {"start"}}
SCHEMES = {"http", "https", "mailto"}
_MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.S)
_md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable(
    ["image", "heading", "lheading", "html_block", "html_inline"])


def render_comment(body: str) -> Markup:
    maths: list[str] = []

    def stash(m: re.Match) -> str:
        maths.append(m.group(0))
        return f"\ue000{len(maths) - 1}\ue001"

    html = _md.render(_MATH.sub(stash, body or ""))
    for i, text in enumerate(maths):
        html = html.replace(f"\ue000{i}\ue001", f'<span class="math">{escape(text)}</span>')
    clean = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes=SCHEMES, link_rel="nofollow noopener ugc",
                      strip_comments=True)
    return Markup(clean)
