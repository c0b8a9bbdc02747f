"""arXiv API responses (`export.arxiv.org/api/query`), Atom XML."""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from lxml import etree

from ..errors import ParseError
from ..models import Author, Paper, Record
from .common import (
    FieldError,
    arxiv_id,
    clean,
    optional_text,
    paper_links,
    parse_datetime,
    parse_xml,
    record_or_error,
    unique,
    versions_upto,
    xml_text,
)

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "arxiv": "http://arxiv.org/schemas/atom",
    "opensearch": "http://a9.com/-/spec/opensearch/1.1/",
}
_FEED = f"{{{NS['atom']}}}feed"


def parse(stream: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    """Entries as Records; an API error entry (id …/api/errors…) is yielded as a ParseError."""
    try:
        feed = _feed(stream, source)
    except ParseError as exc:
        yield exc
        return
    for entry in feed.iterfind("atom:entry", NS):
        line = entry.sourceline
        error = _api_error(entry)
        if error is not None:
            yield ParseError(f"arXiv API error: {error}", source, line)
        else:
            yield record_or_error(_record, entry, source=source, line=line)


def total_results(data: BinaryIO | bytes, source: str = "<input>") -> int:
    """`opensearch:totalResults`, for paging; raises ParseError if absent or malformed."""
    text = clean(_text(_feed(data, source), "opensearch:totalResults"))
    if not text.isdigit():
        raise ParseError(f"no usable opensearch:totalResults ({text[:20]!r})", source)
    return int(text)


def api_error(data: BinaryIO | bytes, source: str = "<input>") -> str | None:
    """The message of the first API error entry, if the response is an error report."""
    try:
        feed = _feed(data, source)
    except ParseError:
        return None
    for entry in feed.iterfind("atom:entry", NS):
        message = _api_error(entry)
        if message is not None:
            return message
    return None


def _record(entry: etree._Element) -> Record:
    return Record(paper=paper(entry), line=entry.sourceline)


def paper(entry: etree._Element) -> Paper:
    ident = arxiv_id(clean(_text(entry, "atom:id")))
    title = clean(_text(entry, "atom:title"))
    if not title:
        raise FieldError("entry without a title")
    summary, comment = _text(entry, "atom:summary"), _text(entry, "arxiv:comment")
    published = parse_datetime(_text(entry, "atom:published"))
    updated = parse_datetime(_text(entry, "atom:updated"))
    version = ident.version
    dates = {1: published} | ({version: updated} if version and version > 1 else {})
    categories = unique([_term(entry.find("arxiv:primary_category", NS))]
                        + [_term(c) for c in entry.iterfind("atom:category", NS)])
    return Paper(
        arxiv_id=ident.id,
        title=title,
        abstract=clean(summary),
        authors=[_author(a) for a in entry.iterfind("atom:author", NS)],
        version=version,
        versions=versions_upto(version, dates) if version else [],
        primary_category=categories[0] if categories else None,
        categories=categories,
        published=published,
        updated=updated,
        comments=optional_text(comment),
        journal_ref=optional_text(_text(entry, "arxiv:journal_ref")),
        doi=optional_text(_text(entry, "arxiv:doi")),
        links=paper_links(summary, comment),
    )


def _feed(data: BinaryIO | bytes, source: str) -> etree._Element:
    root = parse_xml(data, source)
    if root.tag != _FEED:
        raise ParseError(f"not an Atom feed (root element {root.tag!s:.60})", source)
    return root


def _api_error(entry: etree._Element) -> str | None:
    if "/api/errors" not in (_text(entry, "atom:id") or ""):
        return None
    return clean(_text(entry, "atom:summary")) or "unspecified error"


def _author(element: etree._Element) -> Author:
    name = clean(_text(element, "atom:name"))
    if not name:
        raise FieldError("author without a name")
    affiliations = unique(clean(xml_text(a)) for a in element.iterfind("arxiv:affiliation", NS))
    return Author(name, "; ".join(affiliations) or None)


def _term(element: etree._Element | None) -> str:
    return clean(element.get("term")) if element is not None else ""


def _text(element: etree._Element, path: str) -> str | None:
    return xml_text(element.find(path, NS))
