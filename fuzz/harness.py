"""The contracts the fuzzers check, shared by the fuzzers (fuzz_parser.py) and the regression test
that replays their corpus and crashes (tests/test_fuzz_regressions.py). A target is a source
parser (FORMATS) or `redact`.

A parser: any bytes in, each item out is a `Record` the store can keep, or a typed `ParseError`.
Never another exception. "Can keep" means what SQLite and PostgreSQL accept: text without NUL
characters or lone surrogates, integers within 64 bits, aware datetimes, canonical arXiv ids.

`redact` (it runs on every access-log line, on the event loop; issue 14, item 1): any text in
(the bytes decoded as UTF-8 with surrogateescape, so lone surrogates come too), `redact` returns
a text made of at most MAX_SCAN characters read (each local part becoming `[redacted]`) plus a
note, with no registered secret and no address left (`unmasked`, a definition independent of
redact's), in at most 4 steps a character of what it read (`scan`'s count); `describe` gives one
line; `LogFilter` passes a record carrying the text."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from dailypapers import ids
from dailypapers.errors import ParseError
from dailypapers.models import LINK_KINDS, Record
from dailypapers.sources.formats import FORMATS as REGISTRY

FORMATS = tuple(REGISTRY)
TARGETS = (*FORMATS, "redact")
INT64 = 2**63
FUZZ_SECRET = "fuzz-secret-0123456789"  # registered with redact: it must never come out


def check_target(target: str, data: bytes) -> list:
    """Check one input against `target`'s contract (a parser's or redact's)."""
    return check_redact(data) if target == "redact" else check(target, data)


LOCAL_PUNCT = ".!#$%&'*+/=?^_`{|}~-"


def _local(char: str) -> bool:
    return char.isalnum() or char in LOCAL_PUNCT


def unmasked(text: str) -> str | None:
    """An address left in `text`, by a definition of its own (not redact's): an `@` right after a
    letter or digit (of any script) or local-part punctuation, and right before a domain (a letter
    or digit, then letters, digits, dots and hyphens with a dot before more). A local part that is
    the domain of the address before it (`a@b.c@d.e`) is shown anyway, as that domain; it does not
    count. None if there is none."""
    for at, char in enumerate(text):
        if char != "@" or not at or not _local(text[at - 1]):
            continue
        start = at - 1
        while start > 0 and _local(text[start - 1]) and text[start - 1] != "@":
            start -= 1
        if start > 0 and text[start - 1] == "@":
            continue
        end = at + 1
        while end < len(text) and (text[end].isalnum() or text[end] in ".-"):
            end += 1
        domain = text[at + 1:end].rstrip(".")
        if domain[:1].isalnum() and "." in domain[1:]:
            return text[max(0, at - 40):end + 1]
    return None


def check_redact(data: bytes) -> list[str]:
    """redact's contract (see the module docstring); returns what it made of the text."""
    import logging

    from dailypapers import redact

    redact.add_secrets([FUZZ_SECRET])
    text = data.decode("utf-8", "surrogateescape")
    out = redact.redact(text)
    read = text.replace(FUZZ_SECRET, "[secret]")[: redact.MAX_SCAN]
    if not isinstance(out, str) or len(out) > len("[redacted]") * redact.MAX_SCAN + 60:
        raise ContractViolation(f"redact returned {type(out).__name__} of length {len(out)}")
    if FUZZ_SECRET in out:
        raise ContractViolation("a registered secret came out")
    left = unmasked(out)
    if left is not None:
        raise ContractViolation(f"an address is left: {left!r}")
    if redact.scan(read).steps > 4 * len(read) + 4:
        raise ContractViolation(f"scan took {redact.scan(read).steps} steps for {len(read)} characters")
    described = redact.describe(ValueError(text))
    if "\n" in described or "\r" in described:
        raise ContractViolation("describe gave more than one line")
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, text, (text, 1, None), None)
    if not redact.LogFilter().filter(record):
        raise ContractViolation("LogFilter dropped a record")
    return [out, described]


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
