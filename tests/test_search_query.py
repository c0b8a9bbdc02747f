"""The search box's query language: what each item becomes, and what is refused."""

from __future__ import annotations

import datetime as dt

import pytest

from dailypapers.errors import InvalidQuery
from dailypapers.search.query import ParsedQuery, parse_query

HOSTILE = [
    "title:",
    "AND OR (",
    "*",
    "\\",
    '"',
    '""',
    '" "',
    "<script>alert(1)</script>",
    "a:b:c:d",
    "author:",
    'author:""',
    "cat:",
    "cat:*",
    "from:",
    "to:2025-02-30",
    "from:yesterday",
    "(((((",
    ")",
    "[1 TO 5]",
    "title:foo^10 OR abstract:bar~2",
    "field:[* TO *]",
    "/regex.*/",
    "-",
    "+",
    "!",
    "\x00",
    "\u200b",
    "'; DROP TABLE papers; --",
    "🤖 llm",
    "abc\ud800def",
    "ẞ ﬃ İstanbul",
    "a" * 500,
    "a" * 501,
    " ".join(["x"] * 250),
    '"unterminated phrase',
    'author:"Yann LeCun',
    "cat:cs.CL from:2025-03-01 to:2025-01-01",
]


def test_words_phrases_and_filters() -> None:
    q = parse_query('graph  networks "attention is all" author:"Yann  LeCun" au:Bengio cat:cs.CL')
    assert q.terms == ["graph", "networks"]
    assert q.phrases == ["attention is all"]
    assert q.authors == ["Yann LeCun", "Bengio"]
    assert q.categories == ["cs.cl"]
    assert q.date_from is None and q.date_to is None
    assert q.has_text and q.has_filters


def test_category_prefixes_are_normalised() -> None:
    q = parse_query("cat:cs cat:CS.LG cat:math.* category:stat*")
    assert q.categories == ["cs", "cs.lg", "math", "stat"]
    assert not q.has_text and q.has_filters


def test_dates_full_and_partial() -> None:
    q = parse_query("x from:2025-01-01 to:2025-02-01")
    assert (q.date_from, q.date_to) == (dt.date(2025, 1, 1), dt.date(2025, 2, 1))
    q = parse_query("x from:2024-02 to:2024-02")
    assert (q.date_from, q.date_to) == (dt.date(2024, 2, 1), dt.date(2024, 2, 29))
    q = parse_query("x from:2023 to:2023")
    assert (q.date_from, q.date_to) == (dt.date(2023, 1, 1), dt.date(2023, 12, 31))


def test_date_parameters_combine_with_the_text() -> None:
    q = parse_query("x", date_from="2025-01-01", date_to=dt.date(2025, 6, 30))
    assert (q.date_from, q.date_to) == (dt.date(2025, 1, 1), dt.date(2025, 6, 30))
    q = parse_query("x from:2025-03-01 to:2025-12-31", date_from=dt.date(2025, 1, 1), date_to="2025-05")
    assert (q.date_from, q.date_to) == (dt.date(2025, 3, 1), dt.date(2025, 5, 31))  # narrower wins
    assert parse_query("", date_from="2025-01-01").date_from == dt.date(2025, 1, 1)


def test_unknown_keys_are_plain_words() -> None:
    q = parse_query('title:diffusion abstract:"score matching" https://arxiv.org')
    assert q.terms == ["title", "diffusion", "abstract", "https", "//arxiv.org"]
    assert q.phrases == ["score matching"]
    assert not q.has_filters


def test_items_without_letters_or_digits_are_dropped() -> None:
    q = parse_query("AND OR ( * \\ energy )")
    assert q.terms == ["AND", "OR", "energy"]


def test_unbalanced_quote_runs_to_the_end() -> None:
    assert parse_query('diffusion "score based models').phrases == ["score based models"]
    assert parse_query('author:"Yann LeCun').authors == ["Yann LeCun"]
    assert parse_query('x author:"Yann LeCun" "open').phrases == ["open"]


@pytest.mark.parametrize(
    "raw, message",
    [
        ("", "empty"),
        ("   \t\n ", "empty"),
        ("* ( ) \\", "empty"),
        ('""', "empty"),
        ("x from:2025-02-30", "not a real date"),
        ("x to:2025-13", "not a real date"),
        ("x from:0000-01-01", "not a real date"),
        ("x from:yesterday", "expects a date"),
        ("x from:2025-03-01 to:2025-02-01", "date range is empty"),
        ('x cat:"cs CL"', "not a category"),
    ],
)
def test_refused_queries(raw: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message):
        parse_query(raw)


def test_length_limit() -> None:
    need = " ".join(["how do transformers use less energy when they answer questions"] * 31)[:2000]
    assert len(parse_query(need).terms) > 300  # a long natural-language need is accepted
    with pytest.raises(InvalidQuery, match="too long .2001 characters; the limit is 2000"):
        parse_query("a" * 2001)
    with pytest.raises(InvalidQuery, match="limit is 10"):
        parse_query("eleven char", max_length=10)


def test_bad_date_parameter() -> None:
    with pytest.raises(InvalidQuery):
        parse_query("x", date_from="2025-02-30")


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_input_raises_nothing_but_invalid_query(raw: str) -> None:
    try:
        q = parse_query(raw)
    except InvalidQuery:
        return
    assert isinstance(q, ParsedQuery)
    assert q.has_text or q.has_filters
