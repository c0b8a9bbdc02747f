"""The bulk arXiv metadata snapshot (`arxiv-metadata-oai-snapshot.json`), JSON Lines with
`id, submitter, authors, authors_parsed, title, comments, journal-ref, doi, categories,
license, abstract, versions[{version, created}], update_date`. Streams: 2.7M lines are fine."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..errors import ParseError
from ..models import Author, Paper, Record, Version
from .common import (
    FieldError,
    arxiv_id,
    checked_version,
    clean,
    enumerated_affiliations,
    get_list,
    get_str,
    midnight,
    optional_text,
    paper_lines,
    paper_links,
    parse_date,
    parse_datetime,
    parsed_author,
    split_authors,
    split_categories,
)

_VERSION = re.compile(r"^v?(\d+)$")


def parse(stream: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    return paper_lines(stream, source, paper)


def paper(obj: Any) -> Paper:
    ident = arxiv_id(get_str(obj, "id", required=True))
    title = clean(get_str(obj, "title", required=True))
    if not title:
        raise FieldError("empty title")
    abstract, comments = get_str(obj, "abstract"), get_str(obj, "comments")
    categories = split_categories(get_str(obj, "categories"))
    versions = _versions(get_list(obj, "versions"))
    update_date = parse_date(get_str(obj, "update_date"))
    return Paper(
        arxiv_id=ident.id,
        title=title,
        abstract=clean(abstract),
        authors=_authors(obj),
        version=versions[-1].version if versions else ident.version,
        versions=versions,
        primary_category=categories[0] if categories else None,
        categories=categories,
        published=next((v.submitted for v in versions if v.version == 1), None),
        updated=versions[-1].submitted if versions else (midnight(update_date) if update_date else None),
        comments=optional_text(comments),
        journal_ref=optional_text(get_str(obj, "journal-ref")),
        doi=optional_text(get_str(obj, "doi")),
        license=optional_text(get_str(obj, "license")),
        links=paper_links(abstract, comments),
    )


def _versions(rows: list[Any]) -> list[Version]:
    found: dict[int, dt.datetime | None] = {}
    for row in rows:
        if not isinstance(row, dict):
            raise FieldError(f"versions entries must be objects, not {type(row).__name__}")
        label = get_str(row, "version", required=True)
        m = _VERSION.match(label.strip())
        if not m:
            raise FieldError(f"bad version label {label[:20]!r}")
        found[checked_version(int(m.group(1)))] = parse_datetime(get_str(row, "created"))
    return [Version(n, found[n]) for n in sorted(found)]


def _authors(obj: Any) -> list[Author]:
    line = get_str(obj, "authors")
    rows = get_list(obj, "authors_parsed")
    if not rows:
        return split_authors(line)
    table = enumerated_affiliations(line)
    for row in rows:
        if not isinstance(row, list):
            raise FieldError(f"authors_parsed entries must be lists, not {type(row).__name__}")
    return [parsed_author(row, table) for row in rows]
