"""arXiv daily listings as JSON Lines (`arxiv_cs_listings.jsonl.gz`): one paper a line with
`id, title, summary, authors[], categories[], comment, abs, pdf, announced`."""

from __future__ import annotations

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


def parse(stream: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    return paper_lines(stream, source, paper)


def paper(obj: Any) -> Paper:
    ident = arxiv_id(get_str(obj, "id", required=True))
    title = clean(get_str(obj, "title", required=True))
    if not title:
        raise FieldError("empty title")
    summary = get_str(obj, "summary")
    comment = get_str(obj, "comment")
    categories = unique(c.strip() for c in str_items(get_list(obj, "categories"), "categories"))
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
