"""BM25 as tantivy computes it, from statistics the caller chooses.

tantivy scores with the statistics of the segments a node happens to have, deleted documents
included (until a merge drops them), so a node that followed updates and one rebuilt from scratch
give the same papers slightly different scores, and break ties by where a document sits in its
segments. The keyword index therefore re-scores its candidates here with statistics of the live
papers only (the same on every node) and breaks ties by id (see KeywordIndex.candidates).

The formula is tantivy's (Robertson's BM25 with k1 = 1.2, b = 0.75, idf = ln(1 + (N - n + 0.5) /
(n + 0.5)), a phrase scored as one term whose idf is the sum of its words' idfs), and so is the
field length: tantivy stores it as one of 256 "field norms" (exact up to 40 tokens, then buckets
widening geometrically, as Lucene does); `quantise` gives the same value.

`term_scores` and `dismax_rows` are the same arithmetic over a whole candidate pool at once (numpy,
float64, the operations in the same order as the scalar functions, so the numbers are identical
to the last bit: tests/test_bm25_pool.py).
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence

import numpy as np

K1 = 1.2
B = 0.75


def _field_norms() -> tuple[int, ...]:
    """tantivy's 256 field-norm values: 0..40, then eight steps of 2, eight of 4, eight of 8, …"""
    table, value, step = list(range(41)), 40, 2
    while len(table) < 256:
        for _ in range(min(8, 256 - len(table))):
            value += step
            table.append(value)
        step *= 2
    return tuple(table)


FIELD_NORMS = _field_norms()
_NORMS = np.array(FIELD_NORMS, dtype=np.int64)


def quantise(length: int) -> int:
    """The field length tantivy scores a field of `length` tokens with."""
    return FIELD_NORMS[bisect_right(FIELD_NORMS, length) - 1]


def idf(doc_freq: int, docs: int) -> float:
    """Inverse document frequency of a term held by `doc_freq` of `docs` documents."""
    return math.log(1.0 + (docs - doc_freq + 0.5) / (doc_freq + 0.5))


def term_score(freq: int, length: int, avg_length: float, idf_sum: float) -> float:
    """One term's (or phrase's) BM25 score in one field of one document."""
    if freq <= 0 or avg_length <= 0:
        return 0.0
    norm = K1 * (1.0 - B + B * quantise(length) / avg_length)
    return idf_sum * (1.0 + K1) * freq / (freq + norm)


def frequency(tokens: list[str], run: list[str]) -> int:
    """How often `run` (one token, or a phrase's tokens in order) occurs in `tokens`."""
    if len(run) == 1:
        return tokens.count(run[0])
    n, first = len(run), run[0]
    return sum(1 for i, token in enumerate(tokens) if token == first and tokens[i:i + n] == run)


def dismax(scores: Sequence[float], tie_breaker: float) -> float:
    """tantivy's disjunction-max: the best score plus `tie_breaker` times the others."""
    if not scores:
        return 0.0
    best = max(scores)
    return best + tie_breaker * (sum(scores) - best)


def quantise_all(lengths: np.ndarray) -> np.ndarray:
    """`quantise` of every length in `lengths`."""
    return _NORMS[np.searchsorted(_NORMS, np.asarray(lengths, dtype=np.int64), side="right") - 1]


def term_scores(freqs: np.ndarray, lengths: np.ndarray, avg_length: float, idf_sum: float) -> np.ndarray:
    """`term_score` for every document of a pool: `freqs` and `lengths` (raw token counts) per document."""
    freqs = np.asarray(freqs, dtype=np.float64)
    if avg_length <= 0:
        return np.zeros(len(freqs))
    return normed_scores(freqs, length_norms(lengths, avg_length), idf_sum)


def length_norms(lengths: np.ndarray, avg_length: float) -> np.ndarray:
    """The length part of `term_score` for every document of a pool (`avg_length` > 0): the same
    for every term of one field, so a pool's scorer works it out once per field."""
    return K1 * (1.0 - B + B * quantise_all(lengths) / avg_length)


def normed_scores(freqs: np.ndarray, norms: np.ndarray, idf_sum: float) -> np.ndarray:
    """`term_scores` from `length_norms`: float64 `freqs`, the same operations in the same order."""
    scores = idf_sum * (1.0 + K1) * freqs / (freqs + norms)
    return np.where(freqs > 0, scores, 0.0)


def dismax_rows(rows: Sequence[np.ndarray], tie_breaker: float) -> np.ndarray:
    """`dismax` per document of per-field score rows (each non-negative, one entry per document);
    summed left to right as `dismax` sums them (a zero adds nothing, exactly)."""
    if not rows:
        return np.zeros(0)
    best, total = rows[0], rows[0]
    for row in rows[1:]:
        best, total = np.maximum(best, row), total + row
    return best + tie_breaker * (total - best)
