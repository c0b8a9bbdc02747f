"""Key phrases of a paper and its distinctive words, without a part-of-speech tagger.

`key_phrases` picks 1-3-word phrases of the abstract that neither start nor end with a stopword
(noun-ish phrases), ranked by embedding similarity to the paper with MMR diversity, or by
frequency when there is no encoder. `distinctive_words` gives the words a keyword
"more like this" search uses when a paper has no vector. `STOPWORDS` is the project's one
stopword list (delivery/recommend.py adds `FIELD_WORDS` to it for tf-idf).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.models import Paper

if TYPE_CHECKING:
    from dailypapers.search.encoder.embeddings import Encoder

# English function words, one initial letter a line.
ENGLISH_WORDS: tuple[str, ...] = tuple("""
a about above across after again against all almost along already also although always am among an and
    another any anyone are around as at
based be because been before being below between both but by
can cannot could
did do does doing done due during
each either enough especially even every
few for from further
given
had has have having he her here hers how however
i if in into is it its itself
just
least less like
made make makes making many may me might more most much must my
neither no nor not now
of off often on once one only onto or other others otherwise our ours out over own
per
rather
same several she should show shown shows since so some such
than that the their theirs them then there therefore these they this those though through thus to too
    toward towards
under until up upon us use used uses using
very via
was we well were what whatever when where whereas whether which while who whom whose why will with within
    without would
yet you your
""".split())

# The boilerplate of abstracts: nouns, adjectives and connectives, then one verb family a line.
ABSTRACT_WORDS: tuple[str, ...] = tuple("""
paper approach approaches method methods study work works result results experiments matters
new novel existing recent recently first second significant significantly extensive various
furthermore moreover specifically including include includes called named termed dubbed leading
propose proposes proposed
present presents
demonstrate demonstrates
achieve achieves achieved achieving
introduce introduces introduced
address addresses
reduce reduces reduced
improve improves improved
enable enables enabled enabling
outperform outperforms outperforming
leverage leverages leveraging
require requires required
provide provides provided providing
remain remains
allow allows allowed
yield yields yielding
obtain obtains obtained
perform performs
apply applies applied
consider considers
evaluate evaluates evaluated
aim aims
focus focuses
explore explores explored
investigate investigates investigated
develop develops developed
take takes taken
give gives
""".split())

STOPWORDS: frozenset[str] = frozenset(ENGLISH_WORDS + ABSTRACT_WORDS)
# The words of a query that carry no topic (hybrid search counts the others to tell a long query)
FUNCTION_WORDS: frozenset[str] = frozenset("""
a an and are as at be but by can do does for from has have how i in into is it its not of on or
our so that the their there these this those to was we were what when where which who why will
with you your
""".split())

# Words of machine-learning abstracts too common to tell papers apart in tf-idf features.
FIELD_WORDS: frozenset[str] = frozenset("data large learning model models task tasks".split())
STORED = 6  # key phrases stored with a paper's vector (the paper page shows 6)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-']*[A-Za-z0-9]|[A-Za-z]")


def distinctive_words(paper: Paper, n: int) -> list[str]:
    """The paper's title words, then frequent abstract words, without stopwords."""
    seen: dict[str, None] = {}
    for w in _WORD.findall(paper.title or ""):
        if w.lower() not in STOPWORDS and len(w) > 2:
            seen.setdefault(w.lower(), None)
    counts: dict[str, int] = {}
    for w in _WORD.findall(paper.abstract or ""):
        lw = w.lower()
        if lw not in STOPWORDS and len(lw) > 3:
            counts[lw] = counts.get(lw, 0) + 1
    for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        seen.setdefault(w, None)
    return list(seen)[:n]


def candidate_phrases(text: str, max_words: int = 3, limit: int = 60) -> list[str]:
    """1-3-word phrases of `text` that neither start nor end with a stopword and stay within a
    clause: noun-ish phrases without a part-of-speech tagger. Most frequent first, then first seen."""
    counts: dict[str, int] = {}
    surface: dict[str, str] = {}
    first: dict[str, int] = {}
    for clause in re.split(r"[.,;:!?()\[\]{}\"]\s|[;:!?()\[\]{}\"]|\s-\s|\.$", text or ""):
        words: list[str | None] = [w if _WORD.fullmatch(w) else None for w in clause.split()]
        for i in range(len(words)):
            for n in range(1, max_words + 1):
                gram = [w for w in words[i:i + n] if w is not None]
                if len(gram) < n:  # past the end, or a non-word in it
                    break
                lows = [w.lower() for w in gram]
                if any(w in STOPWORDS for w in lows):
                    continue
                if n == 1 and (len(lows[0]) < 4 or lows[0].isdigit()):
                    continue
                key = " ".join(lows)
                counts[key] = counts.get(key, 0) + 1
                surface.setdefault(key, " ".join(gram))
                first.setdefault(key, len(first))
    ranked = sorted(counts, key=lambda key: (-counts[key] * (1 + key.count(" ")), first[key]))
    return [surface[key] for key in ranked[:limit]]


def mmr(doc: np.ndarray, cands: np.ndarray, k: int, diversity: float = 0.5) -> list[int]:
    """Maximal marginal relevance: indices of `k` candidates close to `doc`, far from each other."""
    if len(cands) == 0:
        return []
    rel = cands @ doc
    chosen = [int(np.argmax(rel))]
    sim = cands @ cands.T
    while len(chosen) < min(k, len(cands)):
        redundancy = sim[:, chosen].max(axis=1)
        score = (1 - diversity) * rel - diversity * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return chosen


def key_phrases(paper: Paper, encoder: Encoder | None, k: int = 6, doc_vector: np.ndarray | None = None) -> list[str]:
    """Key phrases of the abstract by embedding similarity (MMR); by frequency without encoder.

    `doc_vector`: the paper's stored vector, if at hand (saves encoding the abstract). The
    candidates are encoded in their own batch: batched with the abstract they would all be
    padded to its length (60 short phrases then cost as much as 60 abstracts).
    """
    cands = candidate_phrases(paper.abstract or "")
    if not cands:
        return []
    if encoder is None:
        return _dedupe(cands, k)
    if doc_vector is None:
        from dailypapers.search.encoder.embeddings import document_vectors, paper_text

        doc_vector = document_vectors(encoder, [paper_text(paper)], [paper.title or ""])[0]
    vecs = np.asarray(encoder.encode(cands), dtype=np.float32)
    picked = mmr(np.asarray(doc_vector, dtype=np.float32), vecs, k * 2)
    return _dedupe([cands[i] for i in picked], k)


def key_phrases_batch(abstracts: Sequence[str], doc_vectors: np.ndarray, encoder: Encoder, k: int = STORED,
                      batch_size: int | None = None) -> list[list[str]]:
    """`key_phrases` of many papers at once, from their document vectors: what the embedding job
    stores with each vector (the paper page then reads them and runs no model).

    Each distinct candidate phrase of the batch is encoded once (phrases recur across papers), in
    batches of short texts of their own; the picks are those of `key_phrases` for each paper.
    """
    cands = [candidate_phrases(a or "") for a in abstracts]
    unique = list(dict.fromkeys(c for paper in cands for c in paper))
    if not unique:
        return [[] for _ in cands]
    kw = {} if batch_size is None else {"batch_size": batch_size}
    vecs = np.asarray(encoder.encode(unique, **kw), dtype=np.float32)
    row = {c: i for i, c in enumerate(unique)}
    docs = np.asarray(doc_vectors, dtype=np.float32)
    out: list[list[str]] = []
    for i, paper in enumerate(cands):
        if not paper:
            out.append([])
            continue
        picked = mmr(docs[i], vecs[[row[c] for c in paper]], k * 2)
        out.append(_dedupe([paper[j] for j in picked], k))
    return out


def _dedupe(phrases: Iterable[str], k: int) -> list[str]:
    """Drop a phrase whose words are all inside an earlier pick (or the other way round)."""
    out: list[str] = []
    sets: list[set[str]] = []
    for p in phrases:
        words = set(p.lower().split())
        if any(words <= s or s <= words for s in sets):
            continue
        out.append(p)
        sets.append(words)
        if len(out) == k:
            break
    return out
