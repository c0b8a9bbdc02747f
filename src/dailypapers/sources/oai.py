"""OAI-PMH responses from arXiv (`verb=ListRecords|GetRecord`, `metadataPrefix=arXiv`).

The harvesting loop (paging, rate limits, retries, checkpoints) is in `harvest.py`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from lxml import etree

from ..errors import ParseError
from ..models import Author, Paper, Record, Version
from .common import (
    FieldError,
    arxiv_id,
    clean,
    midnight,
    optional_text,
    paper_links,
    parse_date,
    parse_xml,
    record_or_error,
    split_categories,
    tex_to_unicode,
    xml_text,
)

OAI = "http://www.openarchives.org/OAI/2.0/"
NS = {"oai": OAI, "arXiv": "http://arxiv.org/OAI/arXiv/"}
NO_RECORDS = "noRecordsMatch"


@dataclass
class Page:
    """One response: its records (or per-record errors) and the token for the next page."""

    records: list[Record | ParseError] = field(default_factory=list)
    token: str | None = None
    complete_list_size: int | None = None
    response_date: str | None = None


def parse(data: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    """Records of a ListRecords/GetRecord response; `noRecordsMatch` is an empty result,
    other OAI errors and malformed XML are one ParseError. Deleted records are skipped."""
    try:
        page = parse_page(data, source)
    except ParseError as exc:
        yield exc
        return
    yield from page.records


def parse_page(data: BinaryIO | bytes, source: str = "<input>") -> Page:
    """The whole page at once; raises ParseError for document-level problems."""
    root = parse_xml(data, source)
    if root.tag != f"{{{OAI}}}OAI-PMH":
        raise ParseError(f"not an OAI-PMH response (root element {root.tag!s:.60})", source)
    errors = [(e.get("code") or "unknown", clean(xml_text(e))) for e in root.iterfind("oai:error", NS)]
    if any(code != NO_RECORDS for code, _ in errors):
        raise ParseError("OAI-PMH error: " + "; ".join(f"{c}: {m}" if m else c for c, m in errors), source)
    page = Page(records=[record_or_error(_record, r, source=source, line=r.sourceline) for r in _records(root)],
                response_date=clean(xml_text(root.find("oai:responseDate", NS))) or None)
    token = root.find("oai:*/oai:resumptionToken", NS)
    if token is not None:
        page.token = clean(xml_text(token)) or None
        size = token.get("completeListSize") or ""
        page.complete_list_size = int(size) if size.isdigit() else None
    return page


def resumption_token(data: BinaryIO | bytes, source: str = "<input>") -> str | None:
    """The token for the next page; None when the list is complete (absent or empty token)."""
    return parse_page(data, source).token


def _records(root: etree._Element) -> Iterator[etree._Element]:
    for record in root.iterfind("oai:*/oai:record", NS):
        header = record.find("oai:header", NS)
        if header is not None and header.get("status") == "deleted":
            continue
        yield record


def _record(record: etree._Element) -> Record:
    return Record(paper=paper(record), line=record.sourceline)


def paper(record: etree._Element) -> Paper:
    meta = record.find("oai:metadata/arXiv:arXiv", NS)
    if meta is None:
        raise FieldError("record without arXiv metadata (wrong metadataPrefix?)")
    ident = arxiv_id(clean(_text(meta, "id")))
    title = clean(_text(meta, "title"))
    if not title:
        raise FieldError("record without a title")
    created, updated = parse_date(_text(meta, "created")), parse_date(_text(meta, "updated"))
    abstract, comments = _text(meta, "abstract"), _text(meta, "comments")
    categories = split_categories(_text(meta, "categories"))
    return Paper(
        arxiv_id=ident.id,
        title=title,
        abstract=clean(abstract),
        authors=[_author(a) for a in meta.iterfind("arXiv:authors/arXiv:author", NS)],
        # Without <updated> the paper has one version; with it the latest number is unknown.
        version=None if updated else 1,
        versions=[Version(1, midnight(created) if created else None)],
        primary_category=categories[0] if categories else None,
        categories=categories,
        published=midnight(created) if created else None,
        updated=midnight(updated) if updated else None,
        comments=optional_text(comments),
        journal_ref=optional_text(_text(meta, "journal-ref")),
        doi=optional_text(_text(meta, "doi")),
        license=optional_text(_text(meta, "license")),
        links=paper_links(abstract, comments),
    )


def _author(element: etree._Element) -> Author:
    parts = [clean(_text(element, n)) for n in ("forenames", "keyname", "suffix")]
    name = tex_to_unicode(" ".join(p for p in parts if p))
    if not name:
        raise FieldError("author without a name")
    affiliations = [clean(xml_text(a)) for a in element.iterfind("arXiv:affiliation", NS)]
    return Author(name, "; ".join(a for a in affiliations if a) or None)


def _text(element: etree._Element, name: str) -> str | None:
    return xml_text(element.find(f"arXiv:{name}", NS))
