"""Hugging Face daily papers: `GET /api/daily_papers` responses.

Two forms: the archive's JSON Lines, one day a line (`{"date": "YYYY-MM-DD", "daily_papers": [...]}`),
and a raw API response (one JSON array). Each entry gives a paper and its DailyEntry.

The real data has two generations of fields: older entries carry the listing time in the entry's
`publishedAt` and the submitter in `submittedBy` (`name` = user name); newer ones (from 2025-03)
also have `paper.submittedOnDailyAt` (the listing time) and `paper.submittedOnDailyBy` (`user`),
and their entry `publishedAt` is the arXiv publication time instead. Both are handled.

Each entry is also kept whole, as JSON text (`DailyEntry.source_json`): the API serves what HF
gave (thumbnails, organizations, claimed authors, AI summaries...), not only the fields the
records name.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..errors import ParseError
from ..models import Author, DailyEntry, Link, Paper, Record, Submitter
from . import links
from .common import (
    FieldError,
    arxiv_id,
    as_stream,
    clean,
    first_byte,
    get_dict,
    get_int,
    get_list,
    get_str,
    json_lines,
    paper_links,
    parse_date,
    parse_datetime,
    record_or_error,
)


def parse(stream: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    """Either form, told apart by the first non-space byte (`[` = a raw response)."""
    try:
        buffered = as_stream(stream)
        raw_response = first_byte(buffered) == b"["
        data = buffered.read() if raw_response else None
    except (OSError, EOFError, zlib.error) as exc:  # corrupt or truncated gzip
        yield ParseError(f"unreadable input: {exc}", source)
        return
    if data is not None:
        yield from parse_response(data, None, source)
    else:
        yield from parse_days(buffered, source)


def parse_days(stream: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    """The archive form; line numbers in errors are the JSON Lines line numbers."""
    for item in json_lines(stream, source):
        if isinstance(item, ParseError):
            yield item
            continue
        lineno, obj = item
        try:
            day = parse_date(get_str(obj, "date", required=True))
            entries = get_list(obj, "daily_papers", required=True)
        except (ValueError, TypeError) as exc:
            yield ParseError(str(exc), source, lineno)
            continue
        for entry in entries:
            yield record_or_error(entry_record, entry, day, lineno, source=source, line=lineno)


def parse_response(data: bytes, date: dt.date | None = None, source: str = "<input>") -> Iterator[Record | ParseError]:
    """A raw response; without `date`, each entry's day is its listing time (see module doc)."""
    try:
        entries = json.loads(data.decode("utf-8") if isinstance(data, bytes) else data)
    except (ValueError, RecursionError) as exc:
        yield ParseError(f"invalid JSON: {str(exc)[:200]}", source)
        return
    if not isinstance(entries, list):
        yield ParseError(f"expected a JSON array of entries, not {type(entries).__name__}", source)
        return
    for number, entry in enumerate(entries, 1):
        result = record_or_error(entry_record, entry, date, None, source=source, line=None)
        if isinstance(result, ParseError):
            result = ParseError(f"entry {number}: {result.message}", source)
        yield result


def entry_record(entry: Any, day: dt.date | None, line: int | None) -> Record:
    """One daily-papers entry as a Record (paper + DailyEntry)."""
    if not isinstance(entry, dict):
        raise FieldError(f"entry must be an object, not {type(entry).__name__}")
    paper_obj = get_dict(entry, "paper", required=True)
    paper = _paper(entry, paper_obj)
    listed_at = parse_datetime(get_str(paper_obj, "submittedOnDailyAt") or get_str(entry, "publishedAt"))
    day = day or (listed_at.date() if listed_at else None)
    if day is None:
        raise FieldError("no date for the entry (no publishedAt)")
    daily = DailyEntry(
        arxiv_id=paper.arxiv_id,
        date=day,
        upvotes=get_int(paper_obj, "upvotes", 0) or 0,
        num_comments=get_int(entry, "numComments", 0) or 0,
        github_stars=get_int(paper_obj, "githubStars"),
        submitted_by=_submitter(get_dict(paper_obj, "submittedOnDailyBy") or get_dict(entry, "submittedBy")),
        submitted_at=listed_at,
        media_url=_media_url(entry, paper_obj),
        published_at=parse_datetime(get_str(entry, "publishedAt")),
        source_json=json.dumps(entry, ensure_ascii=False, separators=(",", ":"), allow_nan=False),
    )
    return Record(paper=paper, daily=daily, line=line)


def _paper(entry: dict, obj: dict) -> Paper:
    ident = arxiv_id(get_str(obj, "id", required=True))
    # The entry's title keeps LaTeX ($\mu$LO); the paper's has it stripped.
    title = clean(get_str(entry, "title")) or clean(get_str(obj, "title", required=True))
    if not title:
        raise FieldError("empty title")
    summary = get_str(obj, "summary") or get_str(entry, "summary")
    return Paper(
        arxiv_id=ident.id,
        title=title,
        abstract=clean(summary),
        authors=_authors(get_list(obj, "authors")),
        version=ident.version,
        published=parse_datetime(get_str(obj, "publishedAt")),
        links=paper_links(summary, None, _explicit_links(obj)),
    )


def _authors(rows: list[Any]) -> list[Author]:
    authors = []
    for row in rows:
        name = clean(get_str(row, "name"))
        if name:
            authors.append(Author(name))
    return authors


def _explicit_links(obj: dict) -> list[Link]:
    out = []
    repo = (get_str(obj, "githubRepo") or "").strip()
    if repo:
        classified = links.classify(repo)
        url = classified[1] if classified and classified[0] == "github" else repo.rstrip("/")
        out.append(Link("github", url, "hf", get_int(obj, "githubStars")))
    page = (get_str(obj, "projectPage") or "").strip()
    if page:
        classified = links.classify(page)
        out.append(Link("project", classified[1] if classified else page, "hf"))
    return out


def _submitter(obj: dict | None) -> Submitter | None:
    if not obj:
        return None
    user = get_str(obj, "user") or get_str(obj, "name")
    if not user:
        return None
    return Submitter(user=user, fullname=get_str(obj, "fullname"), avatar_url=get_str(obj, "avatarUrl"))


def _media_url(entry: dict, paper: dict) -> str | None:
    """`mediaUrl` (older entries), else the first of `mediaUrls`, else the social `thumbnail`."""
    direct = get_str(entry, "mediaUrl")
    if direct:
        return direct
    for url in get_list(entry, "mediaUrls") + get_list(paper, "mediaUrls"):
        if isinstance(url, str) and url:
            return url
    return get_str(entry, "thumbnail")
