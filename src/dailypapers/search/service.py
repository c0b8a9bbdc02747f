"""The search service the web and CLI call: keyword, semantic and hybrid search, similar papers,
and key phrases per paper, each result with its explanation.

    service = SearchService(keyword_index, vector_index, encoder_loader, store)
    results = service.search("making language models use less energy", mode="hybrid")
    results.notice          # None, or why semantic search was not used (the encoder or the
                            # vector index is unavailable): shown to the user, never an error
    [(r.arxiv_id, r.score, r.explanation.summary()) for r in results.results]

Filters (dates, categories, authors, from the query text or passed separately) mean the same in
every mode because the keyword index evaluates them all: keyword search runs them inside its
query; semantic search asks it which papers pass. When few papers pass (up to
ALLOWED_FETCH_MAX) their ids are fetched (cached per filter) and the vector search is restricted
to them (exhaustively when the set is small); when many pass, the vector search runs deeper and
the keyword index keeps only the candidates that pass. A query with filters but no words lists
the matching papers newest first, whatever the mode.

Everything the encoder or the vector index might fail at (model not installed, index missing,
built with another model, unreadable) turns into a keyword search with a `notice`; invalid
input (empty, punctuation only, longer than query.MAX_QUERY_LENGTH characters, a bad filter)
raises `InvalidQuery`, which the web answers with 400.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.errors import InvalidQuery, NotFound
from dailypapers.ids import order_rank
from dailypapers.models import Paper
from dailypapers.search.floor import above_floor, floor_for
from dailypapers.search.hybrid import (
    DEFAULT_RRF_K,
    NORM_DEPTH,
    Explanation,
    Fused,
    FusionWeights,
    KeywordCandidate,
    agreement,
    fused_list,
    fusion_weights,
)
from dailypapers.search.keyword import MAX_LIMIT, RANK_DEPTH, Hit, KeywordIndex
from dailypapers.search.lookup import IdMatch, look_up, paper_refs
from dailypapers.search.phrases import distinctive_words, key_phrases
from dailypapers.search.query import ParsedQuery, normalise_category, parse_query
from dailypapers.search.vector_index import IndexMissing, VectorIndex, VectorIndexError

if TYPE_CHECKING:
    from dailypapers.search.encoder.embeddings import Encoder
    from dailypapers.store import Store

log = logging.getLogger(__name__)

MODES = ("hybrid", "keyword", "semantic")
DEPTH = RANK_DEPTH           # candidates taken from each list before fusing
RANKINGS_CACHED = 64         # whole result lists kept per service (LRU), for paging
ALLOWED_FETCH_MAX = 20_000   # filters passing at most this many papers: fetch their ids
POST_FILTER_MAX = 8_000      # otherwise: at most this many vector candidates are filtered
RETRY_ENCODER_AFTER = 60.0   # seconds before a failed encoder load is tried again
SIMILAR_FALLBACK_WORDS = 12

NOTICE_NO_MODEL = "Semantic search is unavailable ({reason}); showing keyword results."
NOTICE_NO_INDEX = "Semantic search is unavailable ({reason}); showing keyword results."


@dataclass
class Result:
    arxiv_id: str
    score: float
    explanation: Explanation
    highlights: dict[str, str] = field(default_factory=dict)
    published: dt.datetime | None = None


@dataclass
class Results:
    """One page of search results.

    `mode` is what was asked, `used_mode` what ran (keyword when semantic search was not
    available, "filter" for a query of filters only). `total` is how many results can be paged
    through: the length of the query's ranked list (at most RANK_DEPTH, see SearchService.ranking),
    the same on every page; for a query of filters only, every paper passing them (newest first).
    """

    query: str
    mode: str
    used_mode: str
    total: int
    results: list[Result]
    offset: int
    limit: int
    notice: str | None = None
    relaxed: bool = False
    weights: FusionWeights | None = None
    parsed: ParsedQuery | None = None
    missing_ids: list[str] = field(default_factory=list)  # ids the query named that are not here
    every_word: int | None = None  # keyword mode: how many of the ranked list contain every word

    @property
    def ids(self) -> list[str]:
        return [r.arxiv_id for r in self.results]

    def as_dict(self) -> dict:
        out = asdict(self)
        out["parsed"] = None if self.parsed is None else {
            **asdict(self.parsed),
            "date_from": self.parsed.date_from.isoformat() if self.parsed.date_from else None,
            "date_to": self.parsed.date_to.isoformat() if self.parsed.date_to else None}
        for r in out["results"]:
            r["published"] = r["published"].isoformat() if r["published"] else None
        return out


@dataclass
class Ranking:
    """A query's whole result list in one mode, best first (see SearchService.ranking).

    `hits`: the keyword hits by id (stored text for highlighting a page, publication dates);
    `matches`: papers matching the words (every word, or any when `relaxed`), however many."""

    used_mode: str
    entries: Sequence[Fused]  # hybrid: a FusedList, whose entries are built as they are read
    hits: dict[str, Hit] = field(default_factory=dict)
    relaxed: bool = False
    matches: int = 0
    weights: FusionWeights | None = None
    notice: str | None = None
    every_word: int | None = None  # keyword mode: its first `every_word` entries contain every word
    highlight_all: bool = False  # hybrid: a page highlights the words in every entry, not only in `hits`


class _SemanticFailed(Exception):
    """Semantic search failed for this query; the message is the notice shown with keyword results."""


@dataclass
class SimilarPaper:
    arxiv_id: str
    similarity: float | None   # cosine; None for keyword fallback matches
    source: str                # "vector" or "keyword"


class _LRU:
    def __init__(self, size: int) -> None:
        self.size = size
        self.data: OrderedDict = OrderedDict()
        self.lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                self.hits += 1
                return self.data[key]
            self.misses += 1
            return None

    def put(self, key, value) -> None:
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)


class SearchService:
    """Search over one keyword index and (optionally) one vector index.

    `vector_index`: a VectorIndex (read-only is best), a zero-argument callable returning one
    (called lazily, and again after a failure), or None. `encoder_loader`: a zero-argument
    callable returning an Encoder (`.encode(texts)`, `.model_id`); it is called on first use,
    and whatever it raises makes semantic search fall back to keyword search with a notice.
    `store` (optional) serves `similar`'s keyword fallback and `keywords_for(arxiv_id)`.
    """

    def __init__(self, keyword_index: KeywordIndex,
                 vector_index: VectorIndex | Callable[[], VectorIndex | None] | None,
                 encoder_loader: Callable[[], Encoder | None] | None, store: Store | None = None, *,
                 rrf_k: int = DEFAULT_RRF_K, depth: int = DEPTH,
                 query_cache_size: int = 2048, keyword_cache_size: int = 4096) -> None:
        self.keyword = keyword_index
        self.store = store
        self.rrf_k = rrf_k
        self.depth = depth
        self._vector_source = vector_index
        self._vectors: VectorIndex | None = vector_index if isinstance(vector_index, VectorIndex) else None
        self._vector_error: str | None = None
        self._vector_tried = 0.0
        self._encoder_loader = encoder_loader
        self._encoder: Encoder | None = None
        self._encoder_error: str | None = None
        self._encoder_tried = 0.0
        self._lock = threading.Lock()
        self.query_cache = _LRU(query_cache_size)
        self.keyword_cache = _LRU(keyword_cache_size)
        self.rankings = _LRU(RANKINGS_CACHED)
        self._allowed_cache = _LRU(64)
        self._resolved_cache = _LRU(16)  # the same sets resolved to vector-index labels

    # -- components ---------------------------------------------------------------------------

    def encoder(self) -> Encoder | None:
        """The encoder, loading it on first use; None (with `encoder_error`) if it cannot load."""
        if self._encoder is not None:
            return self._encoder
        if self._encoder_loader is None:
            self._encoder_error = "no embedding model is configured"
            return None
        with self._lock:
            if self._encoder is not None:
                return self._encoder
            if self._encoder_error and time.monotonic() - self._encoder_tried < RETRY_ENCODER_AFTER:
                return None
            self._encoder_tried = time.monotonic()
            try:
                self._encoder = self._encoder_loader()
                self._encoder_error = None
            except Exception as exc:  # noqa: BLE001 - ModelUnavailable, or anything else the loader hits
                self._encoder_error = f"the embedding model could not be loaded: {exc}"
                log.warning("semantic search disabled: %s", self._encoder_error)
            return self._encoder

    @property
    def encoder_error(self) -> str | None:
        return self._encoder_error

    def vectors(self) -> VectorIndex | None:
        """The vector index; None (with `vector_error`) when missing or unusable."""
        if self._vectors is not None:
            try:
                self._vectors.refresh()  # a stat(); reopens when the worker saved a new generation
                return self._vectors
            except (VectorIndexError, OSError, RuntimeError) as exc:  # rebuilt for another model, …
                self._vector_error = str(exc)
                self._vectors = None
                self._vector_tried = time.monotonic()
                return None
        if self._vector_source is None:
            self._vector_error = "there is no vector index"
            return None
        if not callable(self._vector_source):
            self._vector_error = "there is no vector index"
            return None
        with self._lock:
            if self._vectors is None and (time.monotonic() - self._vector_tried >= RETRY_ENCODER_AFTER
                                          or not self._vector_tried):
                self._vector_tried = time.monotonic()
                try:
                    self._vectors = self._vector_source()
                    self._vector_error = None if self._vectors is not None else "there is no vector index"
                except IndexMissing as exc:  # looking again is one failed read: do it on every call, so
                    self._vector_error = str(exc)  # an index built later (by the follower) serves at once
                    self._vector_tried = 0.0
                except VectorIndexError as exc:
                    self._vector_error = str(exc)
                except Exception as exc:  # noqa: BLE001 - an unreadable file must not break keyword search
                    self._vector_error = f"the vector index could not be opened: {exc}"
            return self._vectors

    def warm(self) -> bool:
        """Load the encoder and open the vector index now (e.g. in a thread at start-up)."""
        ok = self.encoder() is not None and self.vectors() is not None
        if ok:
            self.embed_query("warm up")
        return ok

    def semantic_status(self) -> str | None:
        """None when semantic search works, else why not (the text of the notice)."""
        return self._semantic_unavailable()

    def _semantic_unavailable(self) -> str | None:
        encoder = self.encoder()
        if encoder is None:
            return NOTICE_NO_MODEL.format(reason=self._encoder_error or "no embedding model")
        index = self.vectors()
        if index is None:
            return NOTICE_NO_INDEX.format(reason=self._vector_error or "there is no vector index")
        model_id = getattr(encoder, "model_id", None)
        if model_id and index.model_id and model_id != index.model_id:
            return NOTICE_NO_INDEX.format(
                reason=f"the vector index was built with {index.model_id}, the encoder is {model_id}; "
                       "it needs rebuilding")
        if len(index) == 0:
            return NOTICE_NO_INDEX.format(reason="no paper has been embedded yet")
        return None

    # -- embeddings ---------------------------------------------------------------------------

    def embed_query(self, text: str) -> np.ndarray:
        """The query's vector, cached (LRU) by its text."""
        encoder = self.encoder()
        if encoder is None:
            raise RuntimeError(self._encoder_error or "no encoder")
        key = (getattr(encoder, "model_id", ""), text)
        vec = self.query_cache.get(key)
        if vec is None:
            vec = np.asarray(encoder.encode([text]), dtype=np.float32)[0]
            vec.setflags(write=False)
            self.query_cache.put(key, vec)
        return vec

    # -- search -------------------------------------------------------------------------------

    def search(self, query: str, mode: str = "hybrid", *, categories: Sequence[str] = (),
               authors: Sequence[str] = (), date_from: dt.date | str | None = None,
               date_to: dt.date | str | None = None, offset: int = 0, limit: int = 30,
               rrf_k: int | None = None) -> Results:
        """Search in `mode` ("hybrid", "keyword" or "semantic"). Raises InvalidQuery only."""
        if mode not in MODES:
            raise InvalidQuery(f"mode must be one of {', '.join(MODES)}, got {str(mode)[:20]!r}")
        if not (isinstance(offset, int) and isinstance(limit, int)) or offset < 0 or limit < 0:
            raise InvalidQuery("offset and limit must be non-negative integers")
        if limit > MAX_LIMIT:
            raise InvalidQuery(f"limit must be at most {MAX_LIMIT}")
        rrf_k = self.rrf_k if rrf_k is None else rrf_k
        if not isinstance(rrf_k, int) or not 0 <= rrf_k <= 10_000:
            raise InvalidQuery("rrf_k must be an integer between 0 and 10000")
        refs = paper_refs(query)
        if refs:
            return self._lookup(refs, {"query": query, "mode": mode, "offset": offset, "limit": limit})
        pq = parse_query(query, date_from=date_from, date_to=date_to) if (query or "").strip() or not (
            categories or authors or date_from or date_to) else ParsedQuery()
        _add_filters(pq, categories, authors, date_from, date_to)
        if not pq.has_text and not pq.has_filters:
            raise InvalidQuery("the query is empty: type some words or use a filter such as cat:cs.CL")
        base = {"query": query, "mode": mode, "offset": offset, "limit": limit, "parsed": pq}
        if not pq.has_text:
            return self._keyword(pq, base, used_mode="filter")
        if offset >= RANK_DEPTH:
            raise InvalidQuery(f"search pages only through the first {RANK_DEPTH} results")
        return self._page(self.ranking(pq, mode, rrf_k=rrf_k), pq, base)

    # -- one ranking per query ------------------------------------------------------------------

    def ranking(self, pq: ParsedQuery, mode: str = "hybrid", *, rrf_k: int | None = None) -> Ranking:
        """`pq`'s whole result list in `mode`, at most RANK_DEPTH papers: every page is a slice of
        it, so the total stays put and no paper shows twice. Kept (LRU) per query, filters, mode
        and index versions, so paging does not recompute it; the keyword list is node-independent
        (KeywordIndex.candidates). Falls back to the keyword list, with a notice, when semantic
        search is unavailable."""
        rrf_k = self.rrf_k if rrf_k is None else rrf_k
        if mode == "keyword":
            return self._keyword_ranking(pq)
        notice = self._semantic_unavailable()
        if notice is None:
            try:
                return self._semantic_ranking(pq, mode, rrf_k)
            except _SemanticFailed as failed:
                notice = str(failed)
        return replace(self._keyword_ranking(pq), notice=notice)

    def _keyword_ranking(self, pq: ParsedQuery) -> Ranking:
        """Keyword mode's list: the papers with every word (BM25 order), then, down to RANK_DEPTH,
        those with only some of the words (BM25 order): a long question is not cut short to the
        few papers that happen to contain all of its words (BENCHMARKS.md "Search quality")."""
        key = ("keyword", _query_key(pq), self.keyword.version())
        ranking = self.rankings.get(key)
        if ranking is None:
            words = self._every_word_ranking(pq)
            hits = {e.arxiv_id: words.hits[e.arxiv_id] for e in words.entries}
            if not words.relaxed and len(pq.terms) > 1 and len(hits) < RANK_DEPTH:
                more = self.keyword.candidates(pq, RANK_DEPTH, any_word=True).hits
                rest = [h for h in more if h.arxiv_id not in hits][:RANK_DEPTH - len(hits)]
                hits.update((h.arxiv_id, h) for h in rest)
            every = 0 if words.relaxed else len(words.entries)
            entries = [Fused(pid, h.score, Explanation(mode="keyword", keyword_rank=n, keyword_score=h.score,
                                                       every_word=n <= every))
                       for n, (pid, h) in enumerate(hits.items(), 1)]
            ranking = Ranking("keyword", entries, hits, words.relaxed, words.matches, every_word=every)
            self.rankings.put(key, ranking)
        return ranking

    def _every_word_ranking(self, pq: ParsedQuery) -> Ranking:
        """The papers with every word of `pq`, best first (any word when none has every word:
        `relaxed`); hybrid's literal tier."""
        key = ("every word", _query_key(pq), self.keyword.version())
        ranking = self.rankings.get(key)
        if ranking is None:
            found = self.keyword.candidates(pq, RANK_DEPTH)
            entries = [Fused(h.arxiv_id, h.score, Explanation(mode="keyword", keyword_rank=n, keyword_score=h.score))
                       for n, h in enumerate(found.hits, 1)]
            ranking = Ranking("keyword", entries, {h.arxiv_id: h for h in found.hits}, found.relaxed, found.total)
            self.rankings.put(key, ranking)
        return ranking

    def _semantic_ranking(self, pq: ParsedQuery, mode: str, rrf_k: int) -> Ranking:
        index = self.vectors()
        if index is None:
            raise _SemanticFailed(NOTICE_NO_INDEX.format(reason=self._vector_error or "there is no vector index"))
        key = (mode, _query_key(pq), rrf_k, getattr(self._encoder, "model_id", ""), index.version,
               self.keyword.version())
        ranking = self.rankings.get(key)
        if ranking is None:
            semantic = self._semantic_list(pq)
            ranking = self._semantic_only(semantic) if mode == "semantic" else self._fused(pq, semantic, rrf_k)
            self.rankings.put(key, ranking)
        return ranking

    def _semantic_list(self, pq: ParsedQuery) -> list[tuple[str, float]]:
        """The semantic candidates, most similar first, ties to the newer id (as the keyword list)."""
        try:
            qvec = self.embed_query(semantic_text(pq))
        except Exception as exc:  # the encoder failed on this input: fall back, never 500
            log.exception("query embedding failed")
            raise _SemanticFailed(NOTICE_NO_MODEL.format(reason=f"the encoder failed: {exc}")) from exc
        depth = RANK_DEPTH
        try:
            floor = floor_for(self.keyword, pq, getattr(self._encoder, "model_id", None))
            semantic = above_floor(self._semantic_candidates(qvec, pq, depth), floor)
        except VectorIndexError as exc:
            raise _SemanticFailed(NOTICE_NO_INDEX.format(reason=str(exc))) from exc
        return _newest_first_on_ties(semantic)

    @staticmethod
    def _semantic_only(semantic: list[tuple[str, float]]) -> Ranking:
        entries = [Fused(pid, sim, Explanation(mode="semantic", semantic_rank=n, similarity=sim))
                   for n, (pid, sim) in enumerate(semantic, 1)]
        return Ranking("semantic", entries)

    def _fused(self, pq: ParsedQuery, semantic: list[tuple[str, float]], rrf_k: int) -> Ranking:
        """search/hybrid.py's fusion: the any-word BM25 list and the semantic list, every
        candidate with its exact cosine, papers with every word first where the tiers say so.

        Fusion reads the keyword list's best NORM_DEPTH only (their scores set its range), and of
        the papers with every word only which they are (the tier), so neither list is ranked to
        RANK_DEPTH here: that was two thirds of a hybrid search's time (BENCHMARKS.md)."""
        several = len(pq.terms) > 1  # with one word or none, "any word" is "every word"
        top = self.keyword.candidates(pq, NORM_DEPTH, any_word=several)
        every_total = self.keyword.count(pq) if several else top.total
        agree = agreement([h.arxiv_id for h in top.hits], [pid for pid, _ in semantic])
        weights = fusion_weights([*pq.terms, *pq.phrases], every_total, agree)
        every = self._every_word_ids(pq, every_total) if weights.literal_first else []
        keyword = [KeywordCandidate(h.arxiv_id, h.score) for h in top.hits]
        similarity = self._similarities(pq, [*(h.arxiv_id for h in top.hits), *every], {pid for pid, _ in semantic})
        fused = fused_list(keyword, semantic, weights, similarity=similarity, every_word=every, limit=RANK_DEPTH)
        relaxed = several and every_total == 0
        return Ranking("hybrid", fused, {}, relaxed, top.total if relaxed else every_total, weights,
                       highlight_all=True)

    def _every_word_ids(self, pq: ParsedQuery, total: int) -> list[str]:
        """The papers of hybrid's literal tier: those with every word of `pq`, the best RANK_DEPTH
        by BM25 when more have them."""
        if total <= RANK_DEPTH:
            return self.keyword.match_ids(pq, total)
        return [e.arxiv_id for e in self._every_word_ranking(pq).entries]

    def _similarities(self, pq: ParsedQuery, ids: Sequence[str], known: set[str]) -> dict[str, float]:
        """Exact cosines of the query to `ids` not in `known` (keyword candidates the semantic list
        did not reach), from the vector index; empty where it has none."""
        wanted = [pid for pid in dict.fromkeys(ids) if pid not in known]
        index = self.vectors()
        if not wanted or index is None:
            return {}
        return index.similarities(self.embed_query(semantic_text(pq)), wanted)

    def _page(self, ranking: Ranking, pq: ParsedQuery, base: dict) -> Results:
        """One page of `ranking`; its keyword hits are highlighted (every entry, in hybrid)."""
        page = ranking.entries[base["offset"]:base["offset"] + base["limit"]]
        hits = {e.arxiv_id: Hit(e.arxiv_id, e.score) for e in page} if ranking.highlight_all else ranking.hits
        self.keyword.highlight(pq, [hits[e.arxiv_id] for e in page if e.arxiv_id in hits])
        results = []
        for entry in page:
            hit = hits.get(entry.arxiv_id)
            explanation = replace(entry.explanation, matched_terms=list(hit.matched_terms) if hit else [])
            results.append(Result(entry.arxiv_id, entry.score, explanation, hit.highlights if hit else {},
                                  hit.published if hit else None))
        return Results(used_mode=ranking.used_mode, total=len(ranking.entries), results=results,
                       notice=ranking.notice, relaxed=ranking.relaxed, weights=ranking.weights,
                       every_word=ranking.every_word, **base)

    def _lookup(self, refs, base: dict) -> Results:
        """A query of arXiv ids or paper links (search/lookup.py): those papers, as named."""
        found = look_up(self.keyword, refs)
        named = {ref.id: str(ref) for ref in refs}
        page = found.found[base["offset"]:base["offset"] + base["limit"]]
        results = [Result(pid, 1.0, IdMatch(named_as=named[pid])) for pid in page]
        return Results(used_mode="id", total=len(found.found), results=results, missing_ids=found.missing, **base)

    def _keyword(self, pq: ParsedQuery, base: dict, *, notice: str | None = None,
                 used_mode: str = "keyword") -> Results:
        page = self.keyword.search(pq, base["offset"], base["limit"])
        results = [Result(h.arxiv_id, h.score,
                          Explanation(mode=used_mode, matched_terms=list(h.matched_terms),
                                      keyword_rank=base["offset"] + n + 1 if used_mode == "keyword" else None,
                                      keyword_score=h.score if used_mode == "keyword" else None),
                          h.highlights, h.published)
                   for n, h in enumerate(page.hits)]
        return Results(used_mode=used_mode, total=page.total, results=results, notice=notice,
                       relaxed=page.relaxed, **base)

    # -- the semantic list, with the same filters -------------------------------------------

    def _semantic_candidates(self, qvec: np.ndarray, pq: ParsedQuery, depth: int) -> list[tuple[str, float]]:
        index = self.vectors()
        if index is None:
            raise VectorIndexError(self._vector_error or "there is no vector index")
        if not pq.has_filters:
            return index.search(qvec, depth)
        fq = filters_only(pq)
        allowed, passing_total = self._filter_info(fq)
        if allowed is not None:
            if not allowed:
                return []
            key = (_filter_key(fq), self.keyword.last_seq, id(index))
            resolved = self._resolved_cache.get(key)
            if resolved is None or resolved.generation is not index.generation:
                resolved = index.allowed(allowed)
                self._resolved_cache.put(key, resolved)
            return index.search(qvec, depth, allowed=resolved)
        # many papers pass: search deeper, keep the candidates the keyword index lets through
        share = max(passing_total / max(len(index), 1), 1e-6)
        wide = int(min(POST_FILTER_MAX, max(depth, depth * 1.5 / share)))
        candidates = index.search(qvec, wide)
        passing = self.keyword.filter_members(fq, [pid for pid, _ in candidates])
        return [(pid, sim) for pid, sim in candidates if pid in passing][:depth]

    def allowed_ids(self, fq: ParsedQuery) -> list[str] | None:
        """Ids of the papers passing the filters of `fq`, or None when more than ALLOWED_FETCH_MAX
        do. Cached per filter and index state."""
        return self._filter_info(fq)[0]

    def _filter_info(self, fq: ParsedQuery) -> tuple[list[str] | None, int]:
        key = (_filter_key(fq), self.keyword.last_seq)
        hit = self._allowed_cache.get(key)
        if hit is not None:
            return hit
        total = self.keyword.search(fq, 0, 0).total
        ids = None if total > ALLOWED_FETCH_MAX else self.keyword.filter_ids(fq, total)
        self._allowed_cache.put(key, (ids, total))
        return ids, total

    # -- similar papers -------------------------------------------------------------------

    def similar(self, arxiv_id: str, k: int = 10) -> tuple[list[SimilarPaper], str | None]:
        """The `k` papers nearest to `arxiv_id` by vector, excluding itself, and a notice.

        Without a vector (paper not embedded yet, semantic search unavailable) it falls back to
        a keyword "more like this" over the paper's title and abstract words (needs the store),
        and the notice says so.
        """
        if not isinstance(k, int) or not 1 <= k <= 100:
            raise InvalidQuery("k must be between 1 and 100")
        index = self.vectors()
        vec = index.get(arxiv_id) if index is not None else None
        if index is not None and vec is not None:
            hits = index.search(vec, k + 1)
            return [SimilarPaper(pid, sim, "vector") for pid, sim in hits if pid != arxiv_id][:k], None
        reason = ("this paper has no vector yet" if index is not None
                  else (self._vector_error or "there is no vector index"))
        if self.store is None:
            return [], f"Similar papers are unavailable ({reason})."
        paper = self.store.get_paper(arxiv_id)  # raises NotFound for an unknown paper
        words = distinctive_words(paper, SIMILAR_FALLBACK_WORDS)
        if not words:
            return [], f"Similar papers are unavailable ({reason})."
        found = self.keyword.search_any(words, k + 1)
        by_words = [SimilarPaper(pid, None, "keyword") for pid in found if pid != arxiv_id][:k]
        return by_words, f"Similar by shared words ({reason})."

    # -- key phrases -------------------------------------------------------------------------

    def keywords_for(self, paper: Paper | str, k: int = 6) -> list[str]:
        """Up to `k` key phrases of the paper's abstract: those stored with its vector (picked by
        embedding similarity with MMR diversity when the paper was embedded, worker/embedding.py),
        else ranked by frequency. Runs no model, so a page view stays a read (issue 16).

        Stored phrases are cached by the text they were made from; the frequency fallback is not
        (it is cheap, and the backfill may store the real ones at any time)."""
        from dailypapers.store.vectors import content_hash, embed_text, stored_phrases

        if isinstance(paper, str):
            if self.store is None:
                raise NotFound(paper)
            paper = self.store.get_paper(paper)
        if self.store is None:
            return key_phrases(paper, None, k)
        text_hash = content_hash(embed_text(paper.title, paper.abstract))
        key = (paper.arxiv_id, text_hash, k)
        cached = self.keyword_cache.get(key)
        if cached is not None:
            return list(cached)
        stored = stored_phrases(self.store, paper.arxiv_id, text_hash)
        if stored is None:
            return key_phrases(paper, None, k)
        self.keyword_cache.put(key, tuple(stored[:k]))
        return stored[:k]


# ---------------------------------------------------------------------------------------------
# helpers


def semantic_text(pq: ParsedQuery) -> str:
    """The words the encoder sees: the query's terms and phrases, filters left out."""
    return " ".join([*pq.terms, *pq.phrases])


def _newest_first_on_ties(semantic: list[tuple[str, float]]) -> list[tuple[str, float]]:
    """`semantic` most similar first, equal similarities newer id first (`order_rank`, as the
    keyword list breaks its ties), then by id; the id's rank is worked out only where a
    similarity is shared (it was 3% of a hybrid search for all thousand)."""
    shared = Counter(sim for _, sim in semantic)
    return sorted(semantic, key=lambda c: (-c[1], -order_rank(c[0]) if shared[c[1]] > 1 else 0, c[0]))


def filters_only(pq: ParsedQuery) -> ParsedQuery:
    return ParsedQuery(authors=list(pq.authors), categories=list(pq.categories),
                       date_from=pq.date_from, date_to=pq.date_to)


def _query_key(pq: ParsedQuery) -> tuple:
    return (tuple(pq.terms), tuple(pq.phrases), *_filter_key(pq))


def _filter_key(pq: ParsedQuery) -> tuple:
    return (tuple(sorted(pq.authors)), tuple(sorted(pq.categories)), pq.date_from, pq.date_to)


def _add_filters(pq: ParsedQuery, categories, authors, date_from, date_to) -> None:
    for c in categories or ():
        if c and str(c).strip():
            pq.categories.append(normalise_category(str(c)))
    for a in authors or ():
        a = " ".join(str(a).split())
        if a:
            pq.authors.append(a)
    if (date_from or date_to) and not (pq.date_from or pq.date_to):
        extra = parse_query("x", date_from=date_from, date_to=date_to)
        pq.date_from, pq.date_to = extra.date_from, extra.date_to


# ---------------------------------------------------------------------------------------------
# wiring


def vector_index_path(index_dir: str | Path) -> Path:
    """Where the vector index lives beside the keyword index (`<data_dir>/index/vectors`)."""
    from pathlib import Path

    return Path(index_dir) / "vectors"


def open_search_service(index_dir: str | Path, store: Store | None, model_cache_dir: str | Path, *,
                        keyword_index: KeywordIndex | None = None,
                        rrf_k: int = DEFAULT_RRF_K) -> SearchService:
    """The service for a data directory: the keyword index at `<index_dir>/keyword`, the vector
    index at `<index_dir>/vectors` opened read-only (memory-mapped) on first use, and the CPU
    encoder built/cached in `model_cache_dir` on first use. Nothing slow happens here; call
    `service.warm()` in a background thread at start-up to load the model before the first query.
    """
    from dailypapers.search.encoder.embeddings import MODEL_ID

    keyword = keyword_index or KeywordIndex(Path(index_dir) / "keyword")
    path = vector_index_path(index_dir)
    return SearchService(keyword, lambda: VectorIndex.open(path, MODEL_ID),
                         lambda: query_encoder(Path(model_cache_dir)), store, rrf_k=rrf_k)


QUERY_THREADS = 1  # ONNX Runtime intra-op threads of the encoder that embeds queries


def query_encoder(model_cache_dir: Path) -> Encoder:
    """The CPU encoder on QUERY_THREADS intra-op threads. A query is one short text: a second
    thread did not make it faster, and after every query it spin-waited for work, burning about
    7 ms of CPU per query in the background, which doubled a hybrid search's CPU on a 2-core
    server (BENCHMARKS.md, search latency; the vectors are identical)."""
    from dailypapers.search.encoder.embeddings import load_encoder

    return load_encoder(model_cache_dir, threads=QUERY_THREADS)
