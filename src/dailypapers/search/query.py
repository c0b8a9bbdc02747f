"""The search box's query language, parsed into a plain record.

Grammar (whitespace separates items; nothing here is passed to tantivy's query parser):

    word                free term; every term must match (falls back to any term if none do)
    "some phrase"       exact phrase in title, authors or abstract
    author:name         author filter; author:"First Last" needs every word of the name
    au:name             alias of author:
    cat:cs.CL           category filter (case-insensitive); cat:cs matches every cs.* category,
                        cat:cs.* is the same; several cat: filters match any of them
    category:...        alias of cat:
    from:2025-01-01     published on or after (YYYY, YYYY-MM or YYYY-MM-DD; a partial date means
                        the start of that year or month; years 1900 to 2199, see DATE_RANGE)
    to:2025-02-01       published on or before (inclusive; a partial date means its last day)

Unknown `key:value` items (e.g. `title:x`) are plain words. Items with no letter or digit
(`*`, `(`, `\\`) are dropped. There are no boolean operators: `AND`/`OR` are ordinary words.

Quotes are lenient: an unbalanced `"` opens a phrase (or quoted filter value) that runs to the
end of the query, so a user typing `"large language` still gets a sensible search.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from dailypapers.errors import InvalidQuery

MAX_QUERY_LENGTH = 2000  # a natural-language need, or a pasted abstract (arXiv caps those at 1,920)
# Dates a filter may name: arXiv began in 1991, and the keyword index stores dates only between
# 1677 and 2262 (nanoseconds since 1970 in 64 bits): `from:9999-12-31` is a mistake to point out.
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2199, 12, 31))

_FILTER_KEYS = {
    "author": "author",
    "au": "author",
    "cat": "cat",
    "category": "cat",
    "from": "from",
    "to": "to",
}
# A filter with a quoted value, a phrase, or a bare item (possibly with an opening quote inside).
_ITEM = re.compile(r'(?:(\w+):)?"([^"]*)(?:"|$)|(\S+)')
_WORDISH = re.compile(r"\w")
_DATE = re.compile(r"^(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?$")


@dataclass
class ParsedQuery:
    terms: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @property
    def has_text(self) -> bool:
        return bool(self.terms or self.phrases)

    @property
    def has_filters(self) -> bool:
        return bool(self.authors or self.categories or self.date_from or self.date_to)


def parse_query(
    raw: str,
    max_length: int = MAX_QUERY_LENGTH,
    *,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
) -> ParsedQuery:
    """Parse the search box's text. Raises InvalidQuery for anything that cannot be searched.

    `date_from` / `date_to` (e.g. from URL parameters) combine with any `from:` / `to:` in the
    text: both apply, so the narrower bound wins.
    """
    if not isinstance(raw, str):
        raise InvalidQuery("the query must be text")
    if len(raw) > max_length:
        raise InvalidQuery(f"the query is too long ({len(raw)} characters; the limit is {max_length})")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidQuery("the query is not valid text (it holds a lone surrogate)") from None
    q = ParsedQuery()
    for m in _ITEM.finditer(raw):
        key, quoted, bare = m.group(1), m.group(2), m.group(3)
        if bare is not None:
            _add_bare(q, bare)
        else:
            _add_item(q, key, quoted, is_phrase=True)
    _narrow_dates(q, _as_date(date_from, "from", end=False), _as_date(date_to, "to", end=True))
    if q.date_from and q.date_to and q.date_from > q.date_to:
        raise InvalidQuery(f"the date range is empty: {q.date_from} is after {q.date_to}")
    if not q.has_text and not q.has_filters:
        raise InvalidQuery("the query is empty: type some words or use a filter such as cat:cs.CL")
    return q


def _add_bare(q: ParsedQuery, item: str) -> None:
    key, sep, value = item.partition(":")
    if sep and key.lower() in _FILTER_KEYS and value:
        _add_item(q, key, value, is_phrase=False)
    elif sep:  # an unknown key (title:x) or a URL: its parts are plain words
        _add_item(q, None, key, is_phrase=False)
        _add_item(q, None, value, is_phrase=False)
    else:
        _add_item(q, None, item, is_phrase=False)


def _add_item(q: ParsedQuery, key: str | None, value: str, *, is_phrase: bool) -> None:
    kind = _FILTER_KEYS.get(key.lower()) if key else None
    if kind is None and key:  # unknown key before a quoted value: a word, then the phrase
        _add_item(q, None, key, is_phrase=False)
    value = " ".join(value.split())
    if not _WORDISH.search(value):
        return
    if kind == "author":
        q.authors.append(value)
    elif kind == "cat":
        q.categories.append(normalise_category(value))
    elif kind == "from":
        _narrow_dates(q, _as_date(value, "from", end=False), None)
    elif kind == "to":
        _narrow_dates(q, None, _as_date(value, "to", end=True))
    elif is_phrase:
        q.phrases.append(value)
    else:
        q.terms.append(value)


def normalise_category(value: str) -> str:
    """A category filter as the index holds categories: lower case, without a trailing `.*`, `*`
    or `.` (`cs.CL`, `cs.*` and `cs` become `cs.cl`, `cs`, `cs`). Raises InvalidQuery for no category."""
    value = value.strip().lower()
    for suffix in (".*", "*", "."):
        if value.endswith(suffix):
            value = value[: -len(suffix)]
    if not value or " " in value:
        raise InvalidQuery(f"not a category: {value[:40]!r} (try cat:cs.CL or cat:cs)")
    return value


def _as_date(value: dt.date | str | None, which: str, *, end: bool) -> dt.date | None:
    day = _read_date(value, which, end=end)
    if day is not None and not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
        raise InvalidQuery(f"{which}: {day.isoformat()} is out of range (dates from {DATE_RANGE[0].year} "
                           f"to {DATE_RANGE[1].year})")
    return day


def _read_date(value: dt.date | str | None, which: str, *, end: bool) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    m = _DATE.match(str(value).strip())
    if not m:
        raise InvalidQuery(f"{which}: expects a date like 2025-01-31, got {str(value)[:40]!r}")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if month is None:
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, int(month))[1] if 1 <= int(month) <= 12 else 0
            return dt.date(year, int(month), last if end else 1)
        return dt.date(year, int(month), int(day))
    except ValueError:
        raise InvalidQuery(f"{which}: {str(value)[:40]!r} is not a real date") from None


def _narrow_dates(q: ParsedQuery, lo: dt.date | None, hi: dt.date | None) -> None:
    if lo is not None:
        q.date_from = lo if q.date_from is None else max(q.date_from, lo)
    if hi is not None:
        q.date_to = hi if q.date_to is None else min(q.date_to, hi)
