"""Fusing the keyword (BM25) and semantic (cosine) result lists, with an explanation per hit.

Reciprocal-rank fusion (Cormack et al., 2009): a paper at rank r (1-based) of a list earns
weight / (k + r) from that list, and its fused score is the sum over the lists it appears in.
Ranks, not scores, are fused, so BM25's unbounded scores and cosines in [-1, 1] need no
calibration. k = 60 by default.

Plain RRF weighs both lists equally. On our development sets (bench/devsets, BENCHMARKS.md)
that lost badly to the semantic list alone on paraphrases and topic descriptions (nDCG@10
0.40 against 0.62, 0.31 against 0.40, development run) and slightly to BM25 on keyword-style
queries, because for each kind of query one list is mostly noise and equal weights let that
noise displace the other list's good hits. `adaptive_weights` therefore weighs the keyword list per query by how
discriminating its match was (see the constants below); the semantic list always has weight 1.
The weights and k are recorded in each result's explanation (and the reason in
Results.weights), so the page can show exactly how a score was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

DEFAULT_RRF_K = 60


@dataclass(frozen=True)
class FusionWeights:
    keyword: float = 1.0
    semantic: float = 1.0
    rrf_k: int = DEFAULT_RRF_K
    reason: str = "equal weights"


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
    `keyword_contribution + semantic_contribution == score` for hybrid results.
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


def rrf_term(rank: int | None, weight: float, k: int) -> float:
    """One list's contribution for a paper at 1-based `rank` (0 when it is not in the list)."""
    if rank is None:
        return 0.0
    if rank < 1:
        raise ValueError(f"ranks start at 1, got {rank}")
    return weight / (k + rank)


def fuse(keyword: Sequence[KeywordCandidate], semantic: Sequence[tuple[str, float]],
         weights: FusionWeights = FusionWeights()) -> list[Fused]:
    """Weighted reciprocal-rank fusion of the two lists, best first.

    Duplicates within a list keep their first (best) rank. Ties on the fused score are broken
    by the better of the two ranks, then the keyword rank, then the id, so the order is
    deterministic.
    """
    if weights.rrf_k < 0:
        raise ValueError("rrf_k must be non-negative")
    k = weights.rrf_k
    kw_rank: dict[str, int] = {}
    kw_hit: dict[str, KeywordCandidate] = {}
    for hit in keyword:
        if hit.arxiv_id not in kw_rank:
            kw_rank[hit.arxiv_id] = len(kw_rank) + 1
            kw_hit[hit.arxiv_id] = hit
    sem_rank: dict[str, int] = {}
    sem_sim: dict[str, float] = {}
    for arxiv_id, sim in semantic:
        if arxiv_id not in sem_rank:
            sem_rank[arxiv_id] = len(sem_rank) + 1
            sem_sim[arxiv_id] = float(sim)
    out = []
    for arxiv_id in dict.fromkeys([*kw_rank, *sem_rank]):
        kr, sr = kw_rank.get(arxiv_id), sem_rank.get(arxiv_id)
        kc, sc = rrf_term(kr, weights.keyword, k), rrf_term(sr, weights.semantic, k)
        kw = kw_hit.get(arxiv_id)
        out.append(Fused(arxiv_id, kc + sc, Explanation(
            mode="hybrid", matched_terms=list(kw.matched_terms) if kw else [], keyword_rank=kr,
            keyword_score=kw.score if kw else None, semantic_rank=sr, similarity=sem_sim.get(arxiv_id),
            keyword_contribution=kc, semantic_contribution=sc, keyword_weight=weights.keyword,
            semantic_weight=weights.semantic, rrf_k=k)))
    big = 1 << 30
    out.sort(key=lambda f: (-f.score, min(f.explanation.keyword_rank or big, f.explanation.semantic_rank or big),
                            f.explanation.keyword_rank or big, f.arxiv_id))
    return out


# Chosen on bench/devsets (BENCHMARKS.md, "Search quality"), k = 60 throughout:
#   every word matched and at most FEW_HITS papers have them all -> the keyword list leads
#     (a precise, keyword-style query; meaning breaks ties between its few hits);
#   every word matched by more papers -> meaning leads, exact matches get a small lift;
#   no paper had every word (tantivy relaxed to "any word") -> the keyword list is noise for
#     ranking (it only explains): weight 0.
# Plain RRF (1, 1) lost 0.09-0.23 nDCG@10 to the semantic list on paraphrase and topic queries.
FEW_HITS = 5
FEW_KEYWORD_WEIGHT = 2.0
MANY_KEYWORD_WEIGHT = 0.2
RELAXED_KEYWORD_WEIGHT = 0.0
SEMANTIC_WEIGHT = 1.0


def adaptive_weights(*, relaxed: bool, keyword_hits: int, keyword_total: int | None = None,
                     rrf_k: int = DEFAULT_RRF_K) -> FusionWeights:
    """The per-query weights (see the module's docstring and the constants above).

    `keyword_hits`: candidates the keyword list gave; `keyword_total`: papers matching every
    word (tantivy's count; defaults to `keyword_hits`).
    """
    total = keyword_hits if keyword_total is None else keyword_total
    if keyword_hits == 0:
        return FusionWeights(0.0, SEMANTIC_WEIGHT, rrf_k, "no paper matched the words: ranked by meaning")
    if relaxed:
        return FusionWeights(RELAXED_KEYWORD_WEIGHT, SEMANTIC_WEIGHT, rrf_k,
                             "no paper had every word: ranked by meaning")
    if total <= FEW_HITS:
        return FusionWeights(FEW_KEYWORD_WEIGHT, SEMANTIC_WEIGHT, rrf_k,
                             f"{total} paper(s) had every word: words lead, meaning breaks ties")
    return FusionWeights(MANY_KEYWORD_WEIGHT, SEMANTIC_WEIGHT, rrf_k,
                         f"{total} papers had every word: meaning leads, exact matches lift")
