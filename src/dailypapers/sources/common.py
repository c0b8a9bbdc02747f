"""Helpers shared by the source parsers: input streams, JSON Lines, typed field access,
dates, whitespace, TeX accents, author strings and link assembly."""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import io
import json
import re
import unicodedata
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, Literal, overload

from lxml import etree

from .. import ids
from ..errors import ParseError
from ..models import Author, Link, Paper, Record, Version
from . import links as links_mod

GZIP_MAGIC = b"\x1f\x8b"
MAX_VERSION = 1000  # arXiv papers have at most a few dozen versions


class FieldError(ValueError):
    """A field is missing or has the wrong type; parsers turn it into a ParseError."""


# ---------------------------------------------------------------- streams


def open_path(path: str | Path) -> BinaryIO:
    """Open a file for parsing, transparently gunzipping it when it starts with the gzip magic."""
    return as_stream(open(path, "rb"))


def as_stream(data: BinaryIO | bytes) -> BinaryIO:
    """A peekable binary stream over `data`, decompressed when it is gzip."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        stream: Any = io.BufferedReader(io.BytesIO(bytes(data)))
    elif hasattr(data, "peek"):
        stream = data
    else:
        stream = io.BufferedReader(data)
    if stream.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[return-value]
    return stream


def read_all(data: BinaryIO | bytes) -> bytes:
    """The whole input as bytes (for one-document formats such as XML); gzip is undone."""
    if isinstance(data, (bytes, bytearray, memoryview)) and bytes(data[:2]) != GZIP_MAGIC:
        return bytes(data)
    return as_stream(data).read()


def first_byte(stream: BinaryIO) -> bytes:
    """The first non-whitespace byte a peekable stream will return (b'' if none in view)."""
    head = stream.peek(64).lstrip()  # type: ignore[attr-defined]
    return head[:1]


def json_lines(data: BinaryIO | bytes, source: str) -> Iterator[tuple[int, Any] | ParseError]:
    """Stream `(line number, decoded value)` pairs; undecodable lines come as ParseError.

    Reads one line at a time, so memory stays bounded by the longest line."""
    lineno = 0
    try:
        stream = as_stream(data)
        for lineno, raw in enumerate(stream, 1):
            if not raw.strip():
                continue
            yield _decode_line(raw, source, lineno)
    except (OSError, EOFError, zlib.error) as exc:  # truncated or corrupt gzip
        yield ParseError(f"unreadable input: {exc}", source, lineno + 1)


def _decode_line(raw: bytes, source: str, lineno: int) -> tuple[int, Any] | ParseError:
    try:
        return lineno, json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return ParseError(f"invalid UTF-8: {exc.reason} at byte {exc.start}", source, lineno)
    except (ValueError, RecursionError) as exc:
        return ParseError(f"invalid JSON: {str(exc)[:200]}", source, lineno)


# ---------------------------------------------------------------- typed fields


@overload
def get_dict(obj: Any, key: str, *, required: Literal[True]) -> dict: ...
@overload
def get_dict(obj: Any, key: str, *, required: bool = False) -> dict | None: ...
def get_dict(obj: Any, key: str, *, required: bool = False) -> dict | None:
    return _typed(obj, key, dict, "an object", required)


def get_list(obj: Any, key: str, *, required: bool = False) -> list:
    return _typed(obj, key, list, "a list", required) or []


@overload
def get_str(obj: Any, key: str, *, required: Literal[True]) -> str: ...
@overload
def get_str(obj: Any, key: str, *, required: bool = False) -> str | None: ...
def get_str(obj: Any, key: str, *, required: bool = False) -> str | None:
    return _typed(obj, key, str, "a string", required)


def get_int(obj: Any, key: str, default: int | None = None) -> int | None:
    value = _typed(obj, key, int, "an integer", False)
    if isinstance(value, bool):
        raise FieldError(f"field {key!r} must be an integer, not bool")
    if value is not None and not -2**63 <= value < 2**63:  # what SQLite and PostgreSQL BIGINT hold
        raise FieldError(f"field {key!r} is out of range ({str(value)[:24]})")
    return default if value is None else value


def _typed(obj: Any, key: str, kind: type, label: str, required: bool) -> Any:
    if not isinstance(obj, dict):
        raise FieldError(f"expected an object, not {type(obj).__name__}")
    value = obj.get(key)
    if value is None:
        if required:
            raise FieldError(f"missing field {key!r}")
        return None
    if not isinstance(value, kind):
        raise FieldError(f"field {key!r} must be {label}, not {type(value).__name__}")
    return value


def str_items(values: Iterable[Any], what: str) -> list[str]:
    out = []
    for value in values:
        if not isinstance(value, str):
            raise FieldError(f"{what} must be strings, not {type(value).__name__}")
        out.append(value)
    return out


def optional_text(value: str | None) -> str | None:
    """Whitespace-normalised text, or None when empty."""
    cleaned = clean(value)
    return cleaned or None


# ---------------------------------------------------------------- text


def clean(text: str | None) -> str:
    """Collapse every whitespace run (line breaks and their indentation) into one space."""
    if not text:
        return ""
    return " ".join(text.split())


def unique(items: Iterable[str]) -> list[str]:
    """Deduplicate, keeping first occurrences in order, dropping empty strings."""
    seen: dict[str, None] = {}
    for item in items:
        if item:
            seen.setdefault(item, None)
    return list(seen)


def split_categories(value: str | None) -> list[str]:
    return unique((value or "").split())


_ACCENTS = {"'": "\u0301", "`": "\u0300", "^": "\u0302", '"': "\u0308", "~": "\u0303",
            "=": "\u0304", ".": "\u0307", "c": "\u0327", "v": "\u030c", "H": "\u030b",
            "u": "\u0306", "r": "\u030a", "k": "\u0328"}
_SYMBOLS = {"o": "ø", "O": "Ø", "ss": "ß", "aa": "å", "AA": "Å", "ae": "æ", "AE": "Æ",
            "oe": "œ", "OE": "Œ", "l": "ł", "L": "Ł", "i": "ı", "j": "ȷ"}
_ACCENT_RE = re.compile(r"\\([`'^\"~=.]|[cvHurk](?![a-zA-Z]))\s*(?:\{\s*(\\?[a-zA-Z])\s*\}|(\\?[a-zA-Z]))")
_SYMBOL_RE = re.compile(r"\{?\\(ss|aa|AA|ae|AE|oe|OE|o|O|l|L|i|j)(?![a-zA-Z])\}?")
_BRACED_LETTERS = re.compile(r"\{([^{}\\$]*)\}")


def tex_to_unicode(text: str) -> str:
    """Turn TeX accents in names (`Bal\\'azs`, `Bj{\\o}rn`, `Fr\\'{e}d\\'{e}ric`) into Unicode."""
    if "\\" not in text:
        return text
    text = _ACCENT_RE.sub(_accent, text)
    text = _SYMBOL_RE.sub(lambda m: _SYMBOLS[m.group(1)], text)
    text = _BRACED_LETTERS.sub(r"\1", text)
    return unicodedata.normalize("NFC", text)


def _accent(m: re.Match[str]) -> str:
    letter = m.group(2) or m.group(3)
    if letter.startswith("\\"):
        letter = _SYMBOLS.get(letter[1:], letter[1:])
    return letter + _ACCENTS[m.group(1)]


# ---------------------------------------------------------------- dates


def parse_datetime(value: str | None) -> dt.datetime | None:
    """ISO 8601 (`2024-05-24T17:34:15.000Z`), RFC 2822 (`Mon, 2 Apr 2007 19:18:42 GMT`) or a
    bare `YYYY-MM-DD` (midnight), always as an aware UTC datetime. Raises FieldError if unreadable."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    parsed = _snapshot_rfc2822(text) or _iso(text) or _rfc2822(text)
    if parsed is None:
        raise FieldError(f"unreadable date {text[:40]!r}")
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:  # `0001-01-01T00:00+05:00` is before year 1 in UTC (found by fuzzing)
        raise FieldError(f"date out of range {text[:40]!r}") from None


_MONTH_NUMBERS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_SNAPSHOT_RFC2822 = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{1,2}) ([A-Z][a-z]{2}) ([1-9]\d{3}) "
                               r"(\d\d):(\d\d):(\d\d) GMT")


def _snapshot_rfc2822(text: str) -> dt.datetime | None:
    """The one form the arXiv snapshot writes (`Mon, 2 Apr 2007 19:18:42 GMT`), read without
    email.utils (a fifth of the parsing time); anything else, or an impossible date, goes to the
    general parsers, which give the same result for this form (tests/test_parse_equivalence.py)."""
    m = _SNAPSHOT_RFC2822.fullmatch(text)
    month = _MONTH_NUMBERS.get(m.group(2)) if m else None
    if m is None or month is None:
        return None
    day, year, hour, minute, second = (int(m.group(i)) for i in (1, 3, 4, 5, 6))
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError:
        return None


def _iso(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None


def _rfc2822(text: str) -> dt.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):  # `14:47:4444444444 GMT` overflows (fuzzing)
        return None


def parse_date(value: str | None) -> dt.date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed else None


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


# ---------------------------------------------------------------- authors

_SUFFIX = re.compile(r"^(Jr\.?|Sr\.?|I{2,3}|IV|V)$", re.IGNORECASE)
_ET_AL = re.compile(r"^et\.?\s+al\.?$", re.IGNORECASE)
_COLLAB = re.compile(r"\b(collaboration|consortium|group|team)s?\b", re.IGNORECASE)
_ENUMERATED = re.compile(r"\(\s*(\d+)\s*\)")
_ENUM_BLOCK = re.compile(r"\(\s*(\(\s*\d+\s*\).*)\)\s*\.?\s*$")
_REFS = re.compile(r"^(?:[\d\s,&]|and)+$")
_SEPARATOR = re.compile(r" ?(?:[,;:]|\band\b|&) ?")  # on clean()ed text; `\s*` was n^2 on a run of spaces


def split_authors(line: str | None) -> list[Author]:
    """Split an arXiv `Authors:` string into authors with affiliations.

    Follows arXiv's own conventions: names separated by commas, `and` or `&`; a parenthesised
    group after a name is its affiliation and also applies to the authors before it that have
    none (`A, B (MIT)`); numbered groups refer to a trailing `((1) X, (2) Y)` block; a leading
    `LHCb collaboration:` is kept as an author of its own."""
    text = clean(line)
    if not text:
        return []
    text, enumerated = _enumerated_affiliations(text)
    authors = [_author(name, aff, enumerated) for name, aff in _name_groups(text)]
    return _back_propagate([a for a in authors if a.name and not _ET_AL.match(a.name)])


def _enumerated_affiliations(text: str) -> tuple[str, dict[str, str]]:
    """Cut a trailing `((1) X, (2) Y)` block off the line and return it as {"1": "X", ...}."""
    m = _ENUM_BLOCK.search(text)
    if not m:
        return text, {}
    parts = _ENUMERATED.split(m.group(1))
    table = {num: aff.strip(" ,;.") for num, aff in zip(parts[1::2], parts[2::2], strict=True)}
    return text[: m.start()].rstrip(" ,"), table


def _name_groups(text: str) -> list[tuple[str, str | None]]:
    """[(name, affiliation or None)] in order, from plain-text runs and parenthesised groups."""
    entries: list[list] = []
    after_paren = False
    for is_paren, content in _segments(text):
        if is_paren:
            after_paren = bool(entries) and entries[-1][1] is None
            if after_paren:
                entries[-1][1] = content
            continue
        pieces = _SEPARATOR.split(content)
        if after_paren and pieces[0].strip():  # `Zhe (Rita) Liang`: the group was part of the name
            name, nickname = entries[-1]
            entries[-1] = [f"{name} ({nickname}) {pieces.pop(0).strip()}", None]
        after_paren = False
        for piece in (p.strip() for p in pieces):
            if _SUFFIX.match(piece) and entries:
                entries[-1][0] = f"{entries[-1][0]} {piece}"
            elif piece:
                entries.append([piece, None])
    return [(name, aff) for name, aff in entries]


def _segments(text: str) -> list[tuple[bool, str]]:
    """Split into (is_parenthesised, content) runs at the top nesting level."""
    out: list[tuple[bool, str]] = []
    buf, depth = "", 0
    for ch in text:
        if ch == "(":
            if depth == 0:
                out.append((False, buf))
                buf = ""
            else:
                buf += ch
            depth += 1
        elif ch == ")" and depth:
            depth -= 1
            if depth == 0:
                out.append((True, buf.strip()))
                buf = ""
            else:
                buf += ch
        else:
            buf += ch
    out.append((depth > 0, buf.strip() if depth else buf))
    return out


def _author(name: str, affiliation: str | None, enumerated: dict[str, str]) -> Author:
    aff = resolve_affiliation(affiliation, enumerated)
    return Author(tex_to_unicode(clean(name)), tex_to_unicode(aff) if aff else None)


def resolve_affiliation(affiliation: str | None, enumerated: dict[str, str]) -> str | None:
    """The affiliation text; numbered references like `1 and 2` are looked up in `enumerated`."""
    affiliation = clean(affiliation)
    if affiliation and _REFS.match(affiliation) and re.search(r"\d", affiliation):
        found = [enumerated[n] for n in re.findall(r"\d+", affiliation) if n in enumerated]
        affiliation = "; ".join(clean(a) for a in found)
    return affiliation or None


def enumerated_affiliations(line: str | None) -> dict[str, str]:
    """The `((1) X, (2) Y)` table of an authors line, as {"1": "X", "2": "Y"}."""
    if not line or "(" not in line:  # most lines: no table possible, skip the search
        return {}
    return _enumerated_affiliations(clean(line))[1]


def _back_propagate(authors: list[Author]) -> list[Author]:
    out: list[Author] = []
    current: str | None = None
    for author in reversed(authors):
        if author.affiliation:
            current = author.affiliation
        elif current and not _COLLAB.search(author.name):
            author = Author(author.name, current)
        out.append(author)
    return out[::-1]


def parsed_author(parts: list[Any], enumerated: dict[str, str] | None = None) -> Author:
    """An author from the snapshot's `authors_parsed` row: [last, first, suffix, affiliation...]."""
    for value in parts:
        if not isinstance(value, str):
            raise FieldError(f"authors_parsed entries must be strings, not {type(value).__name__}")
    last, first, suffix = (list(parts) + ["", "", ""])[:3]
    # joining the parts and collapsing whitespace in one split: blank parts add no words
    name = " ".join(f"{first} {last} {suffix}".split())
    if "\\" in name:
        name = tex_to_unicode(name)
    if not name:
        raise FieldError("empty author name in authors_parsed")
    if len(parts) <= 3:
        return Author(name, None)
    affiliations = (resolve_affiliation(a, enumerated or {}) for a in parts[3:])
    return Author(name, "; ".join(a for a in affiliations if a) or None)


# ---------------------------------------------------------------- links


def paper_links(abstract: str | None, comments: str | None, explicit: Iterable[Link] = ()) -> list[Link]:
    """Explicit links first, then those found in the abstract and comments, deduplicated by URL."""
    found = list(explicit)
    found += links_mod.extract(abstract, source="abstract")
    found += links_mod.extract(comments, source="comments")
    return links_mod.dedupe(found)


# ---------------------------------------------------------------- records


def record_or_error(build: Callable[..., Record], *args: Any, source: str, line: int | None) -> Record | ParseError:
    """`build(*args)` for one record; a bad value becomes a ParseError for that record.

    FieldError and InvalidArxivId are ValueErrors; the other types are caught as a safety net
    so that no input can stop a whole import."""
    try:
        return storable(build(*args))
    except (ValueError, TypeError, LookupError, AttributeError) as exc:
        return ParseError(str(exc) or type(exc).__name__, source, line)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")  # NUL (PostgreSQL refuses it) and lone surrogates (not UTF-8)


def storable(record: Record) -> Record:
    """The record, if the store can keep every text in it; FieldError otherwise (found by fuzzing:
    `.abs` bytes decode NULs, JSON `\\u0000` and `\\ud800` escapes decode to unstorable text)."""
    paper, daily = record.paper, record.daily
    texts = [paper.title, paper.abstract, paper.primary_category, paper.comments, paper.journal_ref, paper.doi,
             paper.license, *paper.categories, *(v.size for v in paper.versions)]
    texts += [t for a in paper.authors for t in (a.name, a.affiliation)]
    texts += [link.url for link in paper.links]
    if daily is not None:
        texts += [daily.media_url, daily.source_json]
        if daily.submitted_by is not None:
            sub = daily.submitted_by
            texts += [sub.user, sub.fullname, sub.avatar_url]
    for text in texts:  # `in` and isascii() are C fast paths; the regex only runs on non-ASCII text
        if text and ("\x00" in text or not text.isascii()):
            found = _UNSTORABLE.search(text)
            if found:
                bad = found.group()
                what = "a NUL character" if bad == "\x00" else f"a lone surrogate (U+{ord(bad):04X})"
                raise FieldError(f"text holds {what}: {text[:60]!r}")
    return record


def paper_lines(stream: BinaryIO | bytes, source: str,
                to_paper: Callable[[Any], Paper]) -> Iterator[Record | ParseError]:
    """JSON Lines with one paper a line: a Record for each good line, a ParseError for each bad one."""
    for item in json_lines(stream, source):
        if isinstance(item, ParseError):
            yield item
            continue
        lineno, obj = item
        yield record_or_error(lambda o, n=lineno: Record(paper=to_paper(o), line=n), obj, source=source, line=lineno)


def paper_line(raw: bytes, source: str, lineno: int, to_paper: Callable[[Any], Paper]) -> Record | ParseError:
    """One non-blank line of such a file, as paper_lines would give it."""
    item = _decode_line(raw, source, lineno)
    if isinstance(item, ParseError):
        return item
    return record_or_error(lambda o: Record(paper=to_paper(o), line=lineno), item[1], source=source, line=lineno)


def arxiv_id(raw: Any) -> ids.ArxivId:
    if not isinstance(raw, str):
        raise FieldError(f"id must be a string, not {type(raw).__name__}")
    return ids.parse(raw)


def versions_upto(latest: int | None, dates: dict[int, dt.datetime | None]) -> list[Version]:
    """Versions 1..latest with the dates that are known (others None)."""
    if not latest:
        return [Version(n, d) for n, d in sorted(dates.items())]
    return [Version(n, dates.get(n)) for n in range(1, checked_version(latest) + 1)]


def checked_version(number: int) -> int:
    """A version number within what arXiv can have (guards against absurd input sizes)."""
    if not 1 <= number <= MAX_VERSION:
        raise FieldError(f"implausible version number v{number}")
    return number


# ---------------------------------------------------------------- XML


def parse_xml(data: BinaryIO | bytes, source: str) -> etree._Element:
    """Parse an XML document safely (no entity expansion, no network, no DTD); ParseError if bad."""
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                                 load_dtd=False, dtd_validation=False)
        root = etree.fromstring(read_all(data), parser)
    except (etree.XMLSyntaxError, ValueError, OSError, EOFError, zlib.error) as exc:
        raise ParseError(f"malformed XML: {str(exc)[:200]}", source) from None
    if root is None:
        raise ParseError("empty XML document", source)
    if root.getroottree().docinfo.internalDTD is not None:
        raise ParseError("XML documents with a DTD are not accepted", source)
    return root


def xml_text(element: etree._Element | None) -> str | None:
    """The element's text content, children included (None if the element is absent)."""
    if element is None:
        return None
    return "".join(t for t in element.itertext() if isinstance(t, str))
