"""A paper page as Markdown, served at `/papers/{id}.md` and to `Accept: text/markdown` on the
page (what huggingface_hub's `read_paper` reads): title, facts with the authors, the abstract,
then the full text in paragraphs when the worker has extracted it (a note saying why not
otherwise)."""

from __future__ import annotations

import re

from dailypapers.models import DailyEntry, Paper
from dailypapers.store.fulltext import FullText
from dailypapers.web.render import views

# Why a paper has no full text yet, as a reader is told (status: paper_fulltext.status)
NO_TEXT = {
    None: "The full text has not been fetched yet; it appears here once the worker has read the PDF.",
    "unreachable": "The full text is not available yet: arXiv could not be reached; the worker tries again.",
    "missing": "The full text is not available: arXiv has no PDF for this paper.",
    "not_pdf": "The full text is not available: arXiv did not answer with a PDF.",
    "too_large": "The full text is not available: the PDF is larger than this site's limit.",
    "corrupt": "The full text is not available: the PDF could not be read.",
    "failed": "The full text is not available: arXiv could not be reached after several attempts.",
}
# A paragraph of plain text starting like Markdown syntax (a heading, quote, list, rule, fence,
# table or HTML): escaped so that it stays text
_BLOCK_START = re.compile(r"^(?:[#>*+\-|=`~<]|\d+[.)]\s)")


def to_markdown(paper: Paper, entries: list[DailyEntry], base_url: str = "",
                fulltext: FullText | None = None) -> str:
    urls = views.arxiv_urls(paper)
    lines = [f"# {' '.join(paper.title.split())}", ""]
    lines += _facts(paper, entries, urls)
    lines += ["", "## Abstract", ""]
    for para in views.paragraphs(paper.abstract):
        lines += [para, ""]
    links = views.web_links(paper)
    if links:
        lines += ["## Links", ""]
        lines += [f"- {views.KIND_LABELS.get(link.kind, link.kind)}: <{link.url}> (from {link.source})"
                  for link in links]
        lines.append("")
    if entries:
        lines += ["## Daily papers", ""]
        lines += [f"- Listed on {e.date.isoformat()}: {e.upvotes} upvotes, {e.num_comments} comments"
                  for e in entries]
        lines.append("")
    lines += [f"Page: <{base_url}{views.paper_url(paper.arxiv_id)}>", ""]
    lines += _full_text(fulltext)
    return "\n".join(lines)


def _full_text(fulltext: FullText | None) -> list[str]:
    lines = ["## Full text", ""]
    if fulltext is None or not fulltext.ok or not fulltext.body:
        status = None if fulltext is None else fulltext.status
        return lines + [f"_{NO_TEXT.get(status, NO_TEXT[None])}_", ""]
    lines += [f"_Extracted from the arXiv PDF ({fulltext.pages} pages); formulas, tables and figures may be "
              "garbled or missing._", ""]
    for para in fulltext.body.split("\n\n"):
        lines += [_escape_block(para), ""]
    return lines


def _escape_block(text: str) -> str:
    return "\\" + text if _BLOCK_START.match(text) else text


def _facts(paper: Paper, entries: list[DailyEntry], urls: dict[str, str]) -> list[str]:
    facts = [
        ("Authors", ", ".join(a.name for a in paper.authors)),
        ("arXiv", f"[{paper.arxiv_id}]({urls['abs']}) · [PDF]({urls['pdf']})"),
        ("Published", views.human_date(paper.published)),
        ("Categories", ", ".join(paper.categories)),
        ("Upvotes", str(entries[-1].upvotes) if entries else ""),
        ("Comments", paper.comments or ""),
        ("Journal reference", paper.journal_ref or ""),
        ("DOI", paper.doi or ""),
    ]
    return [f"- **{name}:** {value}" for name, value in facts if value]
