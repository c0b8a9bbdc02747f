"""The contract every source parser is fuzzed against, shared by the fuzzers (fuzz_parser.py) and
the regression test that replays their corpus and crashes (tests/test_fuzz_regressions.py).

Any bytes in: each item out is a `Record` the store can keep, or a typed `ParseError`. Never
another exception. "Can keep" means what SQLite and PostgreSQL accept: text without NUL
characters or lone surrogates, integers within 64 bits, aware datetimes, canonical arXiv ids."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from dailypapers import ids
from dailypapers.errors import ParseError
from dailypapers.models import LINK_KINDS, Record
from dailypapers.sources.formats import FORMATS as REGISTRY

FORMATS = tuple(REGISTRY)
INT64 = 2**63


class ContractViolation(AssertionError):
    """A parser yielded something other than a storable Record or a ParseError."""


def check(fmt: str, data: bytes) -> list[Record | ParseError]:
    """Run one parser over `data` and check every item it yields; returns the items."""
    items = list(REGISTRY[fmt].parse(data, "<fuzz>"))
    for item in items:
        if isinstance(item, ParseError):
            if not isinstance(item.message, str) or not item.message:
                raise ContractViolation(f"ParseError without a message: {item!r}")
            str(item)
        elif isinstance(item, Record):
            check_record(item)
        else:
            raise ContractViolation(f"{fmt} yielded {type(item).__name__}: {item!r:.200}")
    return items


def check_record(record: Record) -> None:
    paper = record.paper
    if ids.parse(paper.arxiv_id).id != paper.arxiv_id or ids.parse(paper.arxiv_id).version is not None:
        raise ContractViolation(f"arxiv_id {paper.arxiv_id!r} is not canonical")
    if not isinstance(paper.title, str) or not paper.title.strip():
        raise ContractViolation("a record without a title")
    if paper.version is not None and not 1 <= paper.version <= 1000:
        raise ContractViolation(f"implausible version {paper.version}")
    if any(v.version < 1 for v in paper.versions):
        raise ContractViolation(f"version numbers below 1: {paper.versions}")
    if any(not a.name.strip() for a in paper.authors):
        raise ContractViolation("an author without a name")
    if any(link.kind not in LINK_KINDS for link in paper.links):
        raise ContractViolation(f"unknown link kind in {paper.links}")
    if record.daily is not None and record.daily.arxiv_id != paper.arxiv_id:
        raise ContractViolation("the daily entry names another paper")
    _storable(record, "record")


def _storable(value: Any, where: str) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ContractViolation(f"{where} holds a NUL character: {value[:80]!r}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ContractViolation(f"{where} is not valid text (lone surrogate): {value[:80]!r}") from None
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not -INT64 <= value < INT64:
            raise ContractViolation(f"{where} does not fit 64 bits: {str(value)[:40]}")
    elif isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ContractViolation(f"{where} is a naive datetime")
    elif isinstance(value, dt.date):
        return
    elif isinstance(value, (list, tuple)):
        for n, item in enumerate(value):
            _storable(item, f"{where}[{n}]")
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            _storable(getattr(value, f.name), f"{where}.{f.name}")
    else:
        raise ContractViolation(f"{where} has an unexpected type {type(value).__name__}")
