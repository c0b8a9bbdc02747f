"""arXiv `.abs` metadata files: a header of `Field: value` lines (continuations indented)
between `\\\\` separator lines, then the abstract up to the last `\\\\` line.

    arXiv:funct-an/9301001
    Date: Sat, 16 Jan 1993 11:49:26 GMT   (0kb,I)
    Date (revised v2): Tue, 8 Sep 1998 18:01:31 GMT   (38kb)
    Title: ...
"""

from __future__ import annotations

import datetime as dt
import re
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from ..errors import ParseError
from ..models import Paper, Record, Version
from .common import (
    FieldError,
    arxiv_id,
    checked_version,
    clean,
    optional_text,
    paper_links,
    parse_datetime,
    read_all,
    record_or_error,
    split_authors,
    split_categories,
)

_SEPARATOR = "\\\\"
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9\- ()]*?):\s?(.*)$")
_REVISED = re.compile(r"^Date \(revised v(\d+)\)$")
# on clean()ed text (single spaces): `\s*\s*$` here backtracked in n^3 on a run of spaces (tests/test_redos.py)
_DATE_VALUE = re.compile(r"^(.*?) ?(?:\(([^()]*)\))?$")


def parse(data: BinaryIO | bytes, source: str = "<input>") -> Iterator[Record | ParseError]:
    """One `.abs` file: one Record, or one ParseError."""
    try:
        raw = read_all(data)
    except (OSError, EOFError, zlib.error) as exc:  # corrupt or truncated gzip
        yield ParseError(f"unreadable input: {exc}", source)
        return
    yield record_or_error(_record, raw, source=source, line=None)


def _record(raw: bytes) -> Record:
    return Record(paper=paper(_decode(raw)))


def parse_paths(paths: Iterable[str | Path]) -> Iterator[Record | ParseError]:
    """Every `.abs` file in the given files and directories (recursively, in sorted order)."""
    for path in map(Path, paths):
        files = sorted(path.rglob("*.abs")) if path.is_dir() else [path]
        for file in files:
            try:
                data = file.read_bytes()
            except OSError as exc:
                yield ParseError(f"cannot read: {exc.strerror or exc}", str(file))
                continue
            yield from parse(data, str(file))


def paper(text: str) -> Paper:
    header, abstract = _split(text)
    fields = _fields(header)
    ident = arxiv_id(clean(fields.get("arXiv") or fields.get("Paper")))
    title = clean(fields.get("Title"))
    if not title:
        raise FieldError("no Title field")
    versions = _versions(fields)
    categories = split_categories(fields.get("Categories")) or _archive(ident.id)
    comments = fields.get("Comments")
    return Paper(
        arxiv_id=ident.id,
        title=title,
        abstract=clean(abstract),
        authors=split_authors(fields.get("Authors")),
        version=versions[-1].version if versions else ident.version,
        versions=versions,
        primary_category=categories[0] if categories else None,
        categories=categories,
        published=versions[0].submitted if versions and versions[0].version == 1 else None,
        updated=versions[-1].submitted if versions else None,
        comments=optional_text(comments),
        journal_ref=optional_text(fields.get("Journal-ref")),
        doi=optional_text(fields.get("DOI")),
        license=optional_text(fields.get("License")),
        links=paper_links(abstract, comments),
    )


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _split(text: str) -> tuple[list[str], str]:
    """(header lines, abstract text). The abstract may itself contain `\\\\` lines (LaTeX breaks),
    so it runs from the second separator to the last one."""
    lines = text.splitlines()
    seps = [i for i, line in enumerate(lines) if line.strip() == _SEPARATOR]
    if len(seps) < 2:
        raise FieldError("not an .abs file (no \\\\ separated header)")
    end = seps[-1] if len(seps) > 2 else len(lines)
    return lines[seps[0] + 1: seps[1]], "\n".join(lines[seps[1] + 1: end])


def _fields(header: list[str]) -> dict[str, str]:
    """Header fields; an indented (or otherwise unlabelled) line continues the previous field."""
    fields: dict[str, str] = {}
    key = None
    for line in header:
        m = None if line[:1].isspace() else _FIELD.match(line)
        if m:
            key = m.group(1)
            fields[key] = m.group(2)
        elif key and line.strip():
            fields[key] += "\n" + line
    return fields


def _versions(fields: dict[str, str]) -> list[Version]:
    found: dict[int, Version] = {}
    for key, value in fields.items():
        revised = _REVISED.match(key)
        if key == "Date" or revised:
            number = checked_version(int(revised.group(1))) if revised else 1
            found[number] = _version(number, value)
    return [found[n] for n in sorted(found)]


def _version(number: int, value: str) -> Version:
    m = _DATE_VALUE.match(clean(value))
    when: dt.datetime | None = parse_datetime(m.group(1)) if m else None
    size = m.group(2).split(",")[0].strip() if m and m.group(2) else None
    return Version(number, when, size or None)


def _archive(ident: str) -> list[str]:
    """Old-style ids name their archive (`hep-th/9709111`): the category when none is listed."""
    return [ident.split("/")[0]] if "/" in ident else []
