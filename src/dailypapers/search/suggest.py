""""Did you mean": spelling suggestions from the keyword index's own terms.

A word of the query is unknown when none of its tokens (as the index analyses them: lowercased,
ASCII-folded, stemmed) is in the title, abstract or authors field. For an unknown word tantivy's
fuzzy term query first says whether any term lies within a small edit distance (one edit for
words of up to five letters, two beyond); if one does, the term dictionary is walked (the
MAX_TERMS most frequent terms sharing the word's first two letters, else its first) for the
closest term by Damerau-Levenshtein distance, ties going to the more frequent term. A stemmed term
("transform") is turned back into a word people write by reading a few papers that hold it and
taking the surface form closest to what was typed ("transformer").

The suggestion is the whole query with the unknown words replaced; None when every word is
known or no close term exists (`zxqvbnm flurbogastic` has none). Words with digits and words of
fewer than MIN_LETTERS letters are left alone.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

import tantivy

from dailypapers.search import keyword as kw
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import ParsedQuery

MAX_TERMS = 5_000     # most frequent terms with the word's first two letters (else its first)
                      # compared against it
MIN_LETTERS = 4
SURFACE_DOCS = 5      # papers read to turn a stemmed term back into a written word
_FIELDS = ("title", "abstract")
_WORD = re.compile(r"[A-Za-z]+")


def query_words(pq: ParsedQuery) -> list[str]:
    """The words of the query's terms and phrases (filters left out), in order."""
    return [w for text in [*pq.terms, *pq.phrases] for w in text.split()]


def knows_any_word(index: KeywordIndex, pq: ParsedQuery) -> bool:
    """Whether any word of the query is in the index (title, abstract or authors), as analysed.
    A query with no words (filters only) counts as known."""
    words = query_words(pq)
    if not words:
        return True
    searcher = index.searcher()
    return any(_known(searcher, kw.analyse("abstract", w), w) for w in words)


def did_you_mean(index: KeywordIndex, raw: str, pq: ParsedQuery) -> str | None:
    """The query `raw` (parsed as `pq`) with its unknown words spelled as the index spells
    them, or None when there is nothing to correct."""
    words = [w for text in query_words(pq) for w in _WORD.findall(text)]
    if not words:
        return None
    searcher = index.searcher()
    fixes = {}
    for word in dict.fromkeys(w.lower() for w in words):
        fix = _correction(searcher, word)
        if fix is not None:
            fixes[word] = fix
    if not fixes:
        return None
    return re.sub(r"[A-Za-z]+", lambda m: fixes.get(m.group(0).lower(), m.group(0)), raw)


def _correction(searcher, word: str) -> str | None:
    if len(word) < MIN_LETTERS or not word.isalpha():
        return None
    stems = kw.analyse("abstract", word)
    if not stems or _known(searcher, stems, word):
        return None
    stem = stems[0]
    if not _any_close(searcher, stem):
        return None
    best = _closest(stem, _candidates(searcher, stem[:2])) or _closest(stem, _candidates(searcher, stem[0]))
    return None if best is None else _surface(searcher, best, word)


def _max_edits(stem: str) -> int:
    return 1 if len(stem) <= 5 else 2


def _any_close(searcher, stem: str) -> bool:
    """Whether any term lies within reach (tantivy's Levenshtein automaton over the term
    dictionary: milliseconds, where walking the terms in Python is not): keyboard mash stops here."""
    for name in _FIELDS:
        query = tantivy.Query.fuzzy_term_query(kw.SCHEMA, name, stem, distance=_max_edits(stem))
        if searcher.search(query, limit=1).hits:
            return True
    return False


def _known(searcher, stems: list[str], word: str) -> bool:
    if any(searcher.doc_freq(name, stem) for name in _FIELDS for stem in stems):
        return True
    return any(searcher.doc_freq("authors", t) for t in kw.analyse("authors", word))


def _candidates(searcher, first: str) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for name in _FIELDS:
        for term, count in searcher.terms_with_prefix(name, first, limit=MAX_TERMS):
            counts[term] += count
    return counts


def _closest(stem: str, terms: dict[str, int]) -> str | None:
    limit = _max_edits(stem)
    best: tuple[int, int, str] | None = None
    for term, count in terms.items():
        if abs(len(term) - len(stem)) > limit or not term.isalpha():
            continue
        d = edit_distance(stem, term, limit)
        if d <= limit and (best is None or (d, -count, term) < best):
            best = (d, -count, term)
    return None if best is None else best[2]


def _surface(searcher, stem: str, typed: str) -> str:
    """The written word, among a few papers holding `stem`, closest to `typed`."""
    seen: Counter[str] = Counter()
    for name in _FIELDS:
        query = tantivy.Query.term_query(kw.SCHEMA, name, stem)
        for _, address in searcher.search(query, limit=SURFACE_DOCS).hits:
            text = searcher.doc(address).get_first(name) or ""
            seen.update(_forms(text, stem))
    if not seen:
        return stem
    return min(seen, key=lambda form: (edit_distance(typed, form, 99), -seen[form], form))


def _forms(text: str, stem: str) -> Iterable[str]:
    for token, start, end in kw.token_spans("abstract", text):
        if token == stem:
            form = text[start:end].lower()
            if form.isalpha():
                yield form


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau-Levenshtein distance (optimal string alignment) of `a` and `b`; any value above
    `limit` is returned as limit + 1."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        row = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            row[j] = min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                row[j] = min(row[j], prev2[j - 2] + 1)
        if min(row) > limit:
            return limit + 1
        prev2, prev = prev, row
    return min(prev[-1], limit + 1)
