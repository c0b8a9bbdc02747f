"""arXiv daily listings as JSON Lines (`arxiv_cs_listings.jsonl.gz`): one paper a line with
`id, title, summary, authors[], categories[], comment, abs, pdf, announced`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..errors import ParseError
from ..models import Author, Paper, Record
from .common import (
    FieldError,
    arxiv_id,
    clean,
    get_list,
    get_str,
    midnight,
    optional_text,
    paper_lines,
    paper_links,
    parse_date,
    str_items,
    unique,
)

# The listings' categories also hold ACM and MSC classes ("I.2.7", "68T50") and free text (longer than
# the store's 64-character column, which PostgreSQL enforces); only arXiv categories are kept.
ARXIV_CATEGORY = re.compile(r"[A-Za-z][A-Za-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")


def parse(stream: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    return paper_lines(stream, source, paper)


def paper(obj: Any) -> Paper:
    ident = arxiv_id(get_str(obj, "id", required=True))
    title = clean(get_str(obj, "title", required=True))
    if not title:
        raise FieldError("empty title")
    summary = get_str(obj, "summary")
    comment = get_str(obj, "comment")
    categories = unique(c.strip() for c in str_items(get_list(obj, "categories"), "categories")
                        if ARXIV_CATEGORY.fullmatch(c.strip()))
    announced = parse_date(get_str(obj, "announced"))
    return Paper(
        arxiv_id=ident.id,
        title=title,
        abstract=clean(summary),
        authors=[Author(clean(n)) for n in str_items(get_list(obj, "authors"), "authors") if clean(n)],
        version=ident.version,
        primary_category=categories[0] if categories else None,
        categories=categories,
        published=midnight(announced) if announced else None,
        comments=optional_text(comment),
        links=paper_links(summary, comment),
    )
