"""Papers and daily entries turned into plain dicts: card data for templates, HF-compatible JSON.

Everything returned here is plain text; templates escape it (autoescape is on everywhere).
The one exception is `safe_snippet`, which vets the search module's highlight HTML.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlparse

from markupsafe import Markup, escape

from dailypapers.models import DailyEntry, Link, Paper
from dailypapers.names import author_key
from dailypapers.store.repo import Listed
from dailypapers.web.render import thumbnails
from dailypapers.web.render.overlay import Overlay

CARD_AUTHORS = 4
SNIPPET_CHARS = 300
_MARK = re.compile(r"(</?mark>)")


# -- small helpers ---------------------------------------------------------------------


def hf_time(value: dt.datetime | dt.date | None) -> str | None:
    """A timestamp in the exact form the Hugging Face API writes (`2025-03-14T00:00:00.000Z`)."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def human_date(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return ""
    return f"{value:%b} {value.day}, {value.year}"


def truncate(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The first `limit` characters of `text` (whitespace collapsed), cut at a word boundary."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "…"


def paragraphs(text: str) -> list[str]:
    """An abstract as paragraphs: blank lines separate them, hard line breaks inside are joined."""
    blocks = re.split(r"\n\s*\n", (text or "").strip())
    return [" ".join(b.split()) for b in blocks if b.strip()]


def safe_snippet(snippet: str) -> Markup:
    """Search highlights arrive as escaped text with <mark> tags; keep the marks, escape anything else."""
    parts = _MARK.split(snippet or "")
    return Markup("".join(p if _MARK.fullmatch(p) else str(escape(html.unescape(p))) for p in parts))


def paper_url(arxiv_id: str) -> str:
    return f"/papers/{arxiv_id}"


def author_url(name: str) -> str:
    return f"/authors/{quote(author_key(name))}"


def category_url(category: str) -> str:
    return f"/categories/{quote(category)}"


def safe_url(url: str | None) -> str | None:
    """The URL if it is http(s) (never javascript:, data: ...), else None."""
    if not url:
        return None
    return url if urlparse(url.strip()).scheme.lower() in ("http", "https") else None


def web_links(paper: Paper) -> list[Link]:
    """The paper's links that may be shown: http(s) only. The one filter pages, the JSON API and
    the exports share (imported links can say `javascript:`)."""
    return [link for link in paper.links if safe_url(link.url)]


def first_link(paper: Paper, *kinds: str) -> Link | None:
    return next((link for link in web_links(paper) if link.kind in kinds), None)


def github_label(url: str) -> str:
    path = urlparse(url).path.strip("/")
    return path.removesuffix(".git") or url


def arxiv_urls(paper: Paper) -> dict[str, str]:
    return {"abs": f"https://arxiv.org/abs/{paper.arxiv_id}", "pdf": f"https://arxiv.org/pdf/{paper.arxiv_id}"}


# -- cards and pages -------------------------------------------------------------------


def card(item: Listed, highlights: dict[str, str] | None = None, overlay: Overlay | None = None) -> dict:
    """What a list shows for one paper. Upvotes are the imported baseline plus local votes."""
    paper, entry = item.paper, item.entry
    overlay = overlay or Overlay()
    imported = entry.upvotes if entry else 0
    local = overlay.votes.get(paper.arxiv_id, 0)
    local_comments = overlay.comments.get(paper.arxiv_id, 0)
    github = first_link(paper, "github", "code")
    project = first_link(paper, "project")
    if project and github and project.url.rstrip("/") == github.url.rstrip("/"):
        project = None  # HF often gives the repository as the project page too: one chip is enough
    stars = github.stars if github and github.stars is not None else (entry.github_stars if entry else None)
    shown = paper.authors[:CARD_AUTHORS]
    return {
        "id": paper.arxiv_id,
        "url": paper_url(paper.arxiv_id),
        "title": paper.title,
        "authors": [{"name": a.name, "url": author_url(a.name)} for a in shown],
        "more_authors": max(0, len(paper.authors) - len(shown)),
        "published": human_date(paper.published),
        "published_iso": paper.published.date().isoformat() if paper.published else "",
        "listed": entry.date.isoformat() if entry else None,
        "upvotes": imported + local,
        "upvotes_imported": imported,
        "upvotes_local": local,
        "voted": paper.arxiv_id in overlay.voted,
        "comments": (entry.num_comments if entry else 0) + local_comments if entry or local_comments else None,
        "submitter": _submitter(entry),
        "github": {"url": github.url, "label": github_label(github.url), "stars": stars} if github else None,
        "project": project.url if project else None,
        "summary": truncate(paper.abstract),
        "categories": paper.categories[:3],
        "highlights": {k: safe_snippet(v) for k, v in (highlights or {}).items()},
        "thumbnail": thumbnails.choose(paper.arxiv_id, entry, paper.arxiv_id in overlay.thumbnails,
                                       overlay.remote_images),
    }


def _submitter(entry: DailyEntry | None) -> dict | None:
    if not entry or not entry.submitted_by:
        return None
    s = entry.submitted_by
    return {"user": s.user, "fullname": s.fullname or s.user, "initial": (s.fullname or s.user or "?")[:1].upper()}


def paper_page(paper: Paper, entries: list[DailyEntry], overlay: Overlay | None = None) -> dict:
    """Everything the paper page shows."""
    latest = entries[-1] if entries else None
    return {
        **card(Listed(paper, latest), overlay=overlay),
        "abstract": paragraphs(paper.abstract),
        "all_authors": [{"name": a.name, "url": author_url(a.name), "affiliation": a.affiliation}
                        for a in paper.authors],
        "categories": [{"name": c, "url": category_url(c), "primary": c == paper.primary_category}
                       for c in paper.categories],
        "versions": [{"label": f"v{v.version}", "date": human_date(v.submitted), "size": v.size}
                     for v in paper.versions],
        "links": [{"kind": KIND_LABELS.get(link.kind, link.kind), "url": link.url, "source": link.source,
                   "stars": link.stars} for link in web_links(paper)],
        "entries": [{"date": e.date.isoformat(), "label": human_date(e.date), "upvotes": e.upvotes,
                     "comments": e.num_comments, "url": f"/papers/date/{e.date.isoformat()}"} for e in entries],
        "arxiv": arxiv_urls(paper),
        "updated": human_date(paper.updated),
        "arxiv_comments": paper.comments,
        **hf_discussion(paper, latest),
        "journal_ref": paper.journal_ref,
        "doi": paper.doi,
        "license": paper.license,
        "version": paper.version,
    }


def hf_discussion(paper: Paper, entry: DailyEntry | None) -> dict:
    """The paper's Hugging Face discussion: its comment count (the card counts it too) and its address."""
    if entry is None:
        return {"hf_comments": 0, "hf_discussion_url": None}
    return {"hf_comments": entry.num_comments,
            "hf_discussion_url": f"https://huggingface.co/papers/{paper.arxiv_id}#community"}


KIND_LABELS = {"github": "Code (GitHub)", "code": "Code", "project": "Project page", "hf_model": "Model",
                "hf_dataset": "Dataset", "hf_space": "Space"}


# -- Hugging Face-compatible JSON ------------------------------------------------------
#
# An entry imported from Hugging Face is served from the JSON HF gave (DailyEntry.source_json):
# every field (thumbnails, organizations, claimed authors, AI summaries...), titles and abstracts
# verbatim, URLs as given; only a URL with a scheme other than http(s) is dropped. Our figures
# replace HF's where they differ: `upvotes` and `numComments` add local votes and comments. A
# paper from another source gets the HF fields we hold; a field we do not hold is absent, as on
# HF, not null. Our extras (importedUpvotes, categories, links, versions...) follow the same rule.

_URL_KEYS = frozenset({"avatarUrl", "avatar", "thumbnail", "mediaUrl", "mediaUrls", "projectPage", "githubRepo",
                       "url"})
_BLANKS = "".join(map(chr, range(0x21)))  # C0 controls and space: browsers strip them around a URL
_REPO_KINDS = {"hf_model": "models", "hf_dataset": "datasets", "hf_space": "spaces"}


def api_url(url: str) -> bool:
    """Whether a URL may leave through the API as given: http(s), or a path on the source's site
    (HF's `/avatars/…`). Never `javascript:`, `data:`..., however disguised."""
    flat = re.sub(r"[\t\n\r]", "", url).strip(_BLANKS)
    return flat.lower().startswith(("http://", "https://")) or flat.startswith("/")


def _vetted(value: Any, key: str | None = None) -> Any:
    """A copy of source JSON without the URLs `api_url` refuses (under the keys that hold URLs)."""
    if isinstance(value, dict):
        return {k: _vetted(v, k) for k, v in value.items()
                if not (k in _URL_KEYS and isinstance(v, str) and not api_url(v))}
    if isinstance(value, list):
        return [_vetted(v, key) for v in value if not (key in _URL_KEYS and isinstance(v, str) and not api_url(v))]
    return value


def _source(entry: DailyEntry | None) -> dict | None:
    """The entry as its source gave it (vetted), or None for an entry we built ourselves."""
    if entry is None or not entry.source_json:
        return None
    found = json.loads(entry.source_json)
    return _vetted(found) if isinstance(found, dict) and isinstance(found.get("paper"), dict) else None


def _present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not None}


@dataclass(frozen=True)
class _Counts:
    imported: int
    local: int
    comments: int

    @property
    def upvotes(self) -> int:
        return self.imported + self.local


def _counts(paper: Paper, entry: DailyEntry | None, overlay: Overlay) -> _Counts:
    comments = (entry.num_comments if entry else 0) + overlay.comments.get(paper.arxiv_id, 0)
    return _Counts(entry.upvotes if entry else 0, overlay.votes.get(paper.arxiv_id, 0), comments)


def hf_user(entry: DailyEntry | None) -> dict | None:
    if not entry or not entry.submitted_by:
        return None
    s = entry.submitted_by
    return {"user": s.user, "name": s.user, "fullname": s.fullname or s.user, "avatarUrl": safe_url(s.avatar_url) or "",
            "type": "user"}


def _extras(paper: Paper, counts: _Counts) -> dict[str, Any]:
    """What we add to HF's fields: where upvotes come from, and arXiv's metadata."""
    return _present({
        "importedUpvotes": counts.imported,
        "localUpvotes": counts.local,
        "version": paper.version,
        "updatedAt": hf_time(paper.updated),
        "primaryCategory": paper.primary_category,
        "categories": list(paper.categories),
        # `comments` would clash with huggingface_hub's PaperInfo.comments (the comment count).
        "arxivComments": paper.comments,
        "journalRef": paper.journal_ref,
        "doi": paper.doi,
        "license": paper.license,
        "links": [{"kind": link.kind, "url": link.url, "source": link.source, "stars": link.stars}
                  for link in web_links(paper)],
        "versions": [{"version": v.version, "submittedAt": hf_time(v.submitted), "size": v.size}
                     for v in paper.versions],
    })


def _built_paper(paper: Paper, entry: DailyEntry | None) -> dict[str, Any]:
    """HF's paper fields from what we hold, for a paper no HF entry brought."""
    github = first_link(paper, "github", "code")
    project = first_link(paper, "project")
    stars = github.stars if github and github.stars is not None else (entry.github_stars if entry else None)
    return _present({
        "id": paper.arxiv_id,
        "authors": [{"name": a.name, "hidden": False} for a in paper.authors],
        "publishedAt": hf_time(paper.published),
        "title": paper.title,
        "summary": paper.abstract,
        "githubRepo": github.url if github else None,
        "githubStars": stars if github else None,
        "projectPage": project.url if project else None,
        "submittedOnDailyAt": hf_time(entry.submitted_at or entry.date) if entry else None,
        "submittedOnDailyBy": hf_user(entry),
    })


def _paper_fields(paper: Paper, entry: DailyEntry | None, source: dict | None, counts: _Counts) -> dict[str, Any]:
    fields = source["paper"] if source is not None else _built_paper(paper, entry)
    fields.update({"id": paper.arxiv_id, "upvotes": counts.upvotes})
    fields.update(_extras(paper, counts))
    return fields


def paper_object(paper: Paper, entry: DailyEntry | None, overlay: Overlay | None = None, *,
                 repos: bool = False) -> dict[str, Any]:
    """A paper in the HF papers API's field names, plus our extras (categories, links, versions...).

    `upvotes` is the imported baseline plus local votes; the extras give each part. With `repos`
    (`GET /api/papers/{id}`, what paper_info reads) the linked models, datasets and Spaces too."""
    counts = _counts(paper, entry, overlay or Overlay())
    fields = _paper_fields(paper, entry, _source(entry), counts)
    fields["numComments"] = counts.comments  # a daily entry has it beside the paper, not in it
    if repos:
        linked = linked_repos(paper)
        for group, name in (("models", "Models"), ("datasets", "Datasets"), ("spaces", "Spaces")):
            fields[f"linked{name}"] = linked[group]
            fields[f"numTotal{name}"] = len(linked[group])
    return fields


def daily_object(item: Listed, overlay: Overlay | None = None) -> dict[str, Any]:
    """One entry of `GET /api/daily_papers` (and of search results): the paper nested, as HF does."""
    paper, entry = item.paper, item.entry
    counts = _counts(paper, entry, overlay or Overlay())
    source = _source(entry)
    inner = _paper_fields(paper, entry, source, counts)
    if source is not None:
        return {**source, "paper": inner, "numComments": counts.comments}
    return _present({
        "paper": inner,
        "publishedAt": hf_time((entry.published_at if entry else None) or paper.published),
        "title": paper.title,
        "summary": paper.abstract,
        "mediaUrl": safe_url(entry.media_url) if entry else None,
        "numComments": counts.comments,
        "submittedBy": hf_user(entry),
    })


def linked_repos(paper: Paper) -> dict[str, list[dict[str, str]]]:
    """The Hugging Face models, datasets and Spaces a paper links to (`GET /api/arxiv/{id}/repos`),
    from the links its sources carry (HF data, the abstract, the comments); empty lists otherwise."""
    out: dict[str, list[dict[str, str]]] = {"models": [], "datasets": [], "spaces": []}
    for link in web_links(paper):
        group = _REPO_KINDS.get(link.kind)
        if group:
            out[group].append(_repo(link))
    return out


def _repo(link: Link) -> dict[str, str]:
    parts = urlparse(link.url).path.strip("/").split("/")
    repo_id = "/".join(parts[1:] if parts[0] in ("datasets", "spaces") else parts)
    author = {"author": repo_id.split("/")[0]} if "/" in repo_id else {}
    return {"id": repo_id, **author, "url": link.url, "source": link.source}
