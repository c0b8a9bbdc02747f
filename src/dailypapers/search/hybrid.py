"""Fusing the keyword (BM25) and semantic (cosine) result lists, with an explanation per hit.

A convex combination of normalised scores (Bruch, Gai and Ingber, "An Analysis of Fusion
Functions for Hybrid Retrieval", 2023), inside literal tiers:

    score = alpha * bm25_norm + (1 - alpha) * cosine_norm

- `bm25_norm`: the paper's BM25 score in the any-word keyword list, min-max normalised over the
  list's best NORM_DEPTH scores (1 = the best match, 0 = the NORM_DEPTH-th; papers below that
  or not in the list: 0). The any-word list is used for every query, so a long question is not
  cut short to the few papers that happen to contain every one of its words.
- `cosine_norm`: the paper's cosine to the query, min-max normalised over the semantic list's
  best NORM_DEPTH similarities, and like `bm25_norm` never below 0 (a paper below the range
  counts as the range's worst). Every candidate's cosine is exact (the service looks up the
  keyword candidates' vectors), so a keyword match that means something else gets no credit
  for meaning, and one that is also close in meaning rises. Unclipped, the range's extrapolation
  went far below 0 where the semantic list is flat (its best 100 of 9,877 demo papers within
  0.12 of each other), and a keyword match a little less close in meaning lost more than any
  keyword score could give: the best BM25 match of "making language models use less energy",
  *Addition is All You Need for Energy-efficient Language Models* (cosine 0.40 against the
  list's 0.52-0.64), fell to rank 747 of the demo's hybrid list; it is 13th now (BENCHMARKS.md).
- `alpha` = KEYWORD_WEIGHT when some paper contains every word of the query. When none does,
  the any-word list is weaker evidence, and whether it is evidence at all shows in whether it
  agrees with meaning: if at least AGREEMENT_MIN of its best AGREEMENT_DEPTH papers are also
  among the semantic list's best AGREEMENT_DEPTH (a question in the corpus's own technical
  words: Cranfield, ADI, SciFact), alpha stays KEYWORD_WEIGHT; otherwise (a paraphrase, whose
  shared words are common ones and whose word matches are noise) it is RELAXED_KEYWORD_WEIGHT.

Literal tiers (see `literal_first`): a query of at most SHORT_WORDS words that at least PAGE
papers contain entirely lists those papers first (short queries are literal first: meaning
orders them, and fills in only where the words run out); a query of LONG_CONTENT_WORDS or more
content words lists the papers containing all of them first (matching four or more of a
query's content words is rarely chance: the known item, or the passage the words came from).
Before those, for a query longer than SHORT_WORDS words, a keyword match that stands out (its
BM25 score at least STANDOUT_GAP above the runner-up's, relatively: a known item found by its
words, e.g. a half-remembered title with one wrong word, which no paper contains entirely) leads.

Measured on every set in bench/ (dev sets and the public collections, bench/fusion_lab.py,
BENCHMARKS.md "search quality"): chosen for the best worst case of hybrid - max(keyword,
semantic) nDCG@10 over the eleven older sets, then the mean; the agreement rule was then checked
on SciFact, which played no part in choosing it (-0.003 worst over all twelve with exact
search). Reciprocal-rank fusion (k = 60) lost 0.04-0.62 to the better single list on eight of
them, because a noise list's ranks count as much as a good one's; min-max beat z-score and
theoretical (BM25/max, cosine from -1) normalisation; tiers for every query length cost the
category-name set 0.04; without the stand-out rule no single alpha served both paraphrases (want
alpha <= 0.15) and misremembered titles (want >= 0.5): 0.877 against keyword's 0.963 there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import overload

import numpy as np

from dailypapers.search.phrases import FUNCTION_WORDS

KEYWORD_WEIGHT = 0.3            # alpha when some paper has every word of the query
RELAXED_KEYWORD_WEIGHT = 0.15   # alpha when none has and the two lists disagree
AGREEMENT_DEPTH = 10            # the best papers of each list compared for agreement
AGREEMENT_MIN = 2               # papers both lists' best share for the any-word list to keep alpha
NORM_DEPTH = 100                # each list's best scores that set its min-max range
PAGE = 30                       # a page's worth of results (the site's page size)
SHORT_WORDS = 3                 # a short query: at most this many words
LONG_CONTENT_WORDS = 4          # a long query: at least this many content words
STANDOUT_GAP = 0.35             # (best - runner-up) / best BM25 that makes the best match lead
STOPWORDS = FUNCTION_WORDS      # words that carry no topic: content_words counts the others
DEFAULT_RRF_K = 60              # kept for callers that still pass rrf_k; fusion no longer uses it


@dataclass(frozen=True)
class FusionWeights:
    """How a query's lists were fused: alpha for the keyword list, 1 - alpha for meaning, and
    whether papers with every word come first."""

    keyword: float = KEYWORD_WEIGHT
    semantic: float = 1.0 - KEYWORD_WEIGHT
    literal_first: bool = False
    standout: bool = False      # whether a stand-out keyword match may lead (queries of 4+ words)
    reason: str = ""
    rrf_k: int | None = None    # always None: kept so stored explanations keep their shape


@dataclass
class KeywordCandidate:
    """One hit of the keyword list, as fusion needs it."""

    arxiv_id: str
    score: float
    matched_terms: list[str] = field(default_factory=list)


@dataclass
class Explanation:
    """Why a paper is in the results, in numbers the page can show.

    Ranks are 1-based positions in each list (None: not in that list's candidates);
    `keyword_contribution + semantic_contribution == score` for hybrid results; `every_word`
    marks a paper of the literal tier and `stands_out` the keyword match that leads (both listed
    before the others whatever their score).
    """

    mode: str
    matched_terms: list[str] = field(default_factory=list)
    keyword_rank: int | None = None
    keyword_score: float | None = None
    semantic_rank: int | None = None
    similarity: float | None = None
    keyword_contribution: float = 0.0
    semantic_contribution: float = 0.0
    keyword_weight: float | None = None
    semantic_weight: float | None = None
    rrf_k: int | None = None
    every_word: bool = False
    stands_out: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """One line for people, e.g. 'words: energy, language (#2) · meaning: 0.61 (#1)'."""
        parts = []
        if self.keyword_rank is not None:
            words = ", ".join(self.matched_terms) if self.matched_terms else "matched"
            parts.append(f"words: {words} (#{self.keyword_rank})")
        if self.semantic_rank is not None and self.similarity is not None:
            parts.append(f"meaning: {self.similarity:.2f} (#{self.semantic_rank})")
        return " · ".join(parts) or "matches the filters"


@dataclass
class Fused:
    arxiv_id: str
    score: float
    explanation: Explanation


def content_words(words: Sequence[str]) -> int:
    """How many of the query's words (or phrases) are not stopwords."""
    return sum(1 for w in words if w.lower() not in STOPWORDS)


def literal_first(words: Sequence[str], every_word_total: int) -> bool:
    """Whether the papers containing every word go before the others (the module doc's tiers)."""
    if every_word_total <= 0:
        return False
    if len(words) <= SHORT_WORDS:
        return every_word_total >= PAGE
    return content_words(words) >= LONG_CONTENT_WORDS


def fusion_weights(words: Sequence[str], every_word_total: int, agreement: int = 0) -> FusionWeights:
    """The weights and tier rule for a query of `words` that `every_word_total` papers contain,
    whose keyword and semantic lists share `agreement` of their best AGREEMENT_DEPTH papers."""
    tier = literal_first(words, every_word_total)
    if every_word_total > 0:
        alpha = KEYWORD_WEIGHT
        reason = f"{every_word_total} paper(s) had every word" + (": those first, " if tier else ": ")
    elif agreement >= AGREEMENT_MIN:
        alpha = KEYWORD_WEIGHT
        reason = f"no paper had every word; words and meaning agree on {agreement} of their best {AGREEMENT_DEPTH}: "
    else:
        alpha = RELAXED_KEYWORD_WEIGHT
        reason = "no paper had every word: "
    reason += f"then words {alpha:.2f} + meaning {1 - alpha:.2f}"
    return FusionWeights(alpha, 1.0 - alpha, tier, len(words) > SHORT_WORDS, reason)


def agreement(keyword_ids: Sequence[str], semantic_ids: Sequence[str], depth: int = AGREEMENT_DEPTH) -> int:
    """How many of the keyword list's best `depth` papers are among the semantic list's best `depth`."""
    return len(set(keyword_ids[:depth]) & set(semantic_ids[:depth]))


def stands_out(keyword: Sequence[KeywordCandidate]) -> str | None:
    """The id of the keyword list's best match when it stands out (the module doc), else None."""
    if not keyword or keyword[0].score <= 0:
        return None
    runner_up = keyword[1].score if len(keyword) > 1 else 0.0
    return keyword[0].arxiv_id if (keyword[0].score - runner_up) / keyword[0].score >= STANDOUT_GAP else None


def minmax(values: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """`values` scaled so the reference's best is 1 and its worst 0 (0 for an empty reference)."""
    if not len(reference):
        return np.zeros(len(values))
    hi, lo = float(np.max(reference)), float(np.min(reference))
    return (values - lo) / (hi - lo) if hi > lo else (values >= hi).astype(float)


def _first_ranks(items: Iterable[str]) -> dict[str, int]:
    ranks: dict[str, int] = {}
    for pid in items:
        ranks.setdefault(pid, len(ranks) + 1)
    return ranks


def fuse(keyword: Sequence[KeywordCandidate], semantic: Sequence[tuple[str, float]],
         weights: FusionWeights = FusionWeights(), *, similarity: Mapping[str, float] | None = None,
         every_word: Sequence[str] = (), limit: int | None = None) -> list[Fused]:
    """The fused list, best first (the module doc); its first `limit` entries when given.

    `keyword`: the any-word BM25 list, best first; `semantic`: (id, cosine), best first;
    `similarity`: exact cosines of candidates missing from `semantic` (a candidate with no
    cosine counts as the semantic list's worst); `every_word`: ids of the papers that contain
    every word, listed first when `weights.literal_first` (after a stand-out keyword match, when
    `weights.standout`). Duplicates keep their first rank. Ties break on the better rank in
    either list, then the id, so the order is deterministic.
    """
    return list(fused_list(keyword, semantic, weights, similarity=similarity, every_word=every_word, limit=limit))


def fused_list(keyword: Sequence[KeywordCandidate], semantic: Sequence[tuple[str, float]],
               weights: FusionWeights = FusionWeights(), *, similarity: Mapping[str, float] | None = None,
               every_word: Sequence[str] = (), limit: int | None = None) -> FusedList:
    """`fuse`'s list, its scores and order computed over arrays, each Fused built when it is read
    (a ranking is a thousand entries and a page reads thirty: building them all was a tenth of a
    hybrid search)."""
    kw_rank, sem_rank = _first_ranks(h.arxiv_id for h in keyword), _first_ranks(p for p, _ in semantic)
    kw_hit = {h.arxiv_id: h for h in reversed(keyword)}
    sims = {**(similarity or {}), **{p: float(s) for p, s in reversed(semantic)}}
    ids = list(dict.fromkeys([*kw_rank, *sem_rank, *(every_word if weights.literal_first else ())]))
    if not ids:
        return FusedList([], [], [], [], _Lists(kw_rank, sem_rank, kw_hit, sims, weights, None))
    sem_ref = np.array([s for _, s in semantic[:NORM_DEPTH]], dtype=float)
    floor = float(sem_ref.min()) if len(sem_ref) else 0.0
    bm = minmax(np.array([kw_hit[p].score for p in kw_rank] + [-np.inf] * (len(ids) - len(kw_rank)), dtype=float),
                np.array([h.score for h in keyword[:NORM_DEPTH]], dtype=float))
    known = np.array([p in sims for p in ids], dtype=bool)
    cosines = minmax(np.array([sims.get(p, floor) for p in ids], dtype=float), sem_ref)
    kc = weights.keyword * np.where(bm > 0, bm, 0.0)
    sc = weights.semantic * np.where(known, np.maximum(cosines, 0.0), 0.0)
    tier = set(every_word) if weights.literal_first else set()
    every = np.array([p in tier for p in ids], dtype=bool)
    lead = stands_out(keyword) if weights.standout else None
    big = 1 << 30
    best_rank = np.array([min(kw_rank.get(p, big), sem_rank.get(p, big)) for p in ids], dtype=np.int64)
    order = np.lexsort((np.array(ids), best_rank, -(kc + sc), ~every, np.array([p != lead for p in ids])))
    order = order[:limit]
    return FusedList([ids[i] for i in order.tolist()], kc[order].tolist(), sc[order].tolist(), every[order].tolist(),
                     _Lists(kw_rank, sem_rank, kw_hit, sims, weights, lead))


@dataclass(frozen=True)
class _Lists:
    """What a Fused's explanation is read from: the two lists' ranks and hits, the cosines."""

    kw_rank: dict[str, int]
    sem_rank: dict[str, int]
    kw_hit: dict[str, KeywordCandidate]
    sims: dict[str, float]
    weights: FusionWeights
    lead: str | None


class FusedList(Sequence[Fused]):
    """A fused ranking: ids best first with each one's two contributions and tier; an entry (a
    Fused with its Explanation) is built each time it is read."""

    def __init__(self, ids: list[str], keyword: list[float], semantic: list[float], every: list[bool],
                 lists: _Lists) -> None:
        self.ids, self._kc, self._sc, self._every, self._lists = ids, keyword, semantic, every, lists

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Fused: ...

    @overload
    def __getitem__(self, i: slice) -> list[Fused]: ...

    def __getitem__(self, i: int | slice) -> Fused | list[Fused]:
        if isinstance(i, slice):
            return [self._entry(n) for n in range(*i.indices(len(self.ids)))]
        return self._entry(range(len(self.ids))[i])

    def _entry(self, n: int) -> Fused:
        p, k, s, lists = self.ids[n], self._kc[n], self._sc[n], self._lists
        hit, w = lists.kw_hit.get(p), lists.weights
        return Fused(p, k + s, Explanation(
            mode="hybrid", matched_terms=list(hit.matched_terms) if hit else [], keyword_rank=lists.kw_rank.get(p),
            keyword_score=hit.score if hit else None, semantic_rank=lists.sem_rank.get(p),
            similarity=lists.sims.get(p), keyword_contribution=k, semantic_contribution=s,
            keyword_weight=w.keyword, semantic_weight=w.semantic, every_word=self._every[n],
            stands_out=p == lists.lead))
