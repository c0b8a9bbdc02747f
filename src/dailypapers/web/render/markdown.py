"""A paper page as Markdown, served at `/papers/{id}.md` (what huggingface_hub's `read_paper` reads)."""

from __future__ import annotations

from dailypapers.models import DailyEntry, Paper
from dailypapers.web.render import views


def to_markdown(paper: Paper, entries: list[DailyEntry], base_url: str = "") -> str:
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
    return "\n".join(lines)


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
