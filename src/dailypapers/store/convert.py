"""Rows to records and back. Datetimes are stored as UTC and always read back timezone-aware."""

from __future__ import annotations

import datetime as dt
from typing import overload

from ..models import Author, DailyEntry, Link, Paper, Submitter, Version
from ..names import author_key


@overload
def utc(value: None) -> None: ...
@overload
def utc(value: dt.datetime | str) -> dt.datetime: ...
def utc(value: dt.datetime | str | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def as_date(value) -> dt.date:
    return dt.date.fromisoformat(value) if isinstance(value, str) else value


def paper_row(p: Paper, now: dt.datetime) -> dict:
    return {
        "id": p.arxiv_id, "version": p.version, "title": p.title, "abstract": p.abstract or "",
        "primary_category": p.primary_category, "published": utc(p.published), "updated": utc(p.updated),
        "comments": p.comments, "journal_ref": p.journal_ref, "doi": p.doi, "license": p.license,
        "imported_at": now,
    }


def child_rows(p: Paper) -> dict[str, list[dict]]:
    return {
        "authors": [{"paper_id": p.arxiv_id, "position": i, "name": a.name, "name_key": author_key(a.name),
                     "affiliation": a.affiliation} for i, a in enumerate(p.authors)],
        "categories": [{"paper_id": p.arxiv_id, "category": c, "position": i} for i, c in enumerate(p.categories)],
        "versions": [{"paper_id": p.arxiv_id, "version": v.version, "submitted": utc(v.submitted), "size": v.size}
                     for v in p.versions],
        "links": [{"paper_id": p.arxiv_id, "kind": link.kind, "url": link.url, "source": link.source,
                   "stars": link.stars} for link in p.links],
    }


def paper_from_rows(row, authors, categories, versions, links) -> Paper:
    return Paper(
        arxiv_id=row.id, title=row.title, abstract=row.abstract, version=row.version,
        primary_category=row.primary_category, published=utc(row.published), updated=utc(row.updated),
        comments=row.comments, journal_ref=row.journal_ref, doi=row.doi, license=row.license,
        authors=[Author(a.name, a.affiliation) for a in authors],
        categories=[c.category for c in categories],
        versions=[Version(v.version, utc(v.submitted), v.size) for v in versions],
        links=[Link(k.kind, k.url, k.source, k.stars) for k in links],
    )


def entry_row(e: DailyEntry) -> dict:
    s = e.submitted_by
    return {
        "paper_id": e.arxiv_id, "date": e.date, "upvotes": e.upvotes, "num_comments": e.num_comments,
        "github_stars": e.github_stars, "submitted_by": s.user if s else None,
        "submitted_by_name": s.fullname if s else None, "submitted_by_avatar": s.avatar_url if s else None,
        "submitted_at": utc(e.submitted_at), "media_url": e.media_url, "published_at": utc(e.published_at),
        "source_json": e.source_json,
    }


def entry_from_row(row) -> DailyEntry:
    submitter = (Submitter(row.submitted_by, row.submitted_by_name, row.submitted_by_avatar)
                 if row.submitted_by else None)
    return DailyEntry(
        arxiv_id=row.paper_id, date=as_date(row.date), upvotes=row.upvotes, num_comments=row.num_comments,
        github_stars=row.github_stars, submitted_by=submitter, submitted_at=utc(row.submitted_at),
        media_url=row.media_url, published_at=utc(row.published_at), source_json=row.source_json,
    )
