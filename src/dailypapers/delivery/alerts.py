"""Saved searches and alerts: which new papers match a member's saved search.

A saved search is the search box's query plus its mode and author / category filters. Matching
means what keyword search means (the same parser, analysers and filters): every word and phrase
in the title, authors or abstract, and every filter passing. It is evaluated against a given
set of candidate papers (the new papers of a digest's window) in one tantivy query restricted to
their ids; candidates the keyword index has not seen yet (it follows the database a little
behind) are checked in Python with the same analysers, so nothing new is missed.

Semantic and hybrid saved searches add papers whose embedding is close to the query's
(cosine >= SEMANTIC_MIN) when an encoder and stored vectors are available; without them they
match like keyword searches (and say so in the explanation). Their feeds do the same through the
search service (`feed_ids`). SEMANTIC_MIN is stricter than the search's own floor
(search/floor.py, for a list a reader looks through): an alert interrupts.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

import numpy as np

from dailypapers.errors import InvalidInput, InvalidQuery
from dailypapers.redact import describe as describe_error
from dailypapers.search.keyword import paper_matches
from dailypapers.search.query import MAX_QUERY_LENGTH, ParsedQuery, normalise_category, parse_query
from dailypapers.store import Store
from dailypapers.store.saved_searches import SavedSearch

if TYPE_CHECKING:
    from dailypapers.search.encoder.embeddings import Encoder
    from dailypapers.search.keyword import KeywordIndex
    from dailypapers.search.service import SearchService

log = logging.getLogger("dailypapers.digest")

MODES = ("keyword", "hybrid", "semantic")
SEMANTIC_MIN = 0.45
FEED_SIZE = 50
MAX_SAVED = 100  # saved searches a member may keep
FEED_MEANING_DEPTH = 200  # a semantic or hybrid feed's papers by meaning: the closest this many


class Search(Protocol):
    """What matching and describing read of a search: a SavedSearch, or the unsaved one a
    search feed is made of."""

    @property
    def query(self) -> str: ...
    @property
    def author(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def mode(self) -> str: ...


@dataclass
class Match:
    paper_id: str
    how: str  # "keyword" | "semantic" | "keyword+semantic"
    similarity: float | None = None
    terms: list[str] = field(default_factory=list)


def parsed(query: str, author: str = "", category: str = "") -> ParsedQuery:
    """The saved search as the search box would parse it (InvalidQuery when it cannot run)."""
    pq = parse_query(query) if (query or "").strip() else ParsedQuery()
    if author.strip():
        pq.authors.append(" ".join(author.split()))
    if category.strip():
        try:
            pq.categories.append(normalise_category(category))
        except InvalidQuery:
            raise InvalidQuery(f"not a category: {category[:40]!r} (try cs.CL or cs)") from None
    if not pq.has_text and not pq.has_filters:
        raise InvalidQuery("a saved search needs words or a filter (author or category)")
    return pq


def check(name: str, query: str, mode: str, author: str, category: str) -> dict:
    """Validated fields of a saved search (InvalidInput / InvalidQuery with a message)."""
    name = " ".join((name or "").split())
    query, author, category = (query or "").strip(), (author or "").strip(), (category or "").strip()
    if mode not in MODES:
        raise InvalidInput(f"the mode is one of {', '.join(MODES)}")
    if len(query) > MAX_QUERY_LENGTH or len(author) > 200 or len(category) > 64:
        raise InvalidInput("the search is too long")
    parsed(query, author, category)
    if not name:
        name = query or author or category
    return {"name": name[:200], "query": query, "mode": mode, "author": author, "category": category}


def save(store: Store, user_id: int, *, name: str, query: str, mode: str, author: str, category: str,
         alert: bool, now: dt.datetime) -> SavedSearch:
    """Save a member's search (at most MAX_SAVED each) with a feed address of its own."""
    if store.saved_searches.count(user_id) >= MAX_SAVED:
        raise InvalidInput(f"you can keep at most {MAX_SAVED} saved searches")
    fields = check(name, query, mode, author, category)
    return store.saved_searches.create(user_id=user_id, alert=alert, feed_token=secrets.token_urlsafe(24), now=now,
                                       **fields)


# -- keyword matching ------------------------------------------------------------------


def keyword_matches(store: Store, index: KeywordIndex | None, pq: ParsedQuery, ids: Sequence[str]) -> set[str]:
    ids = list(dict.fromkeys(ids))
    found: set[str] = set()
    known: set[str] = set()
    if index is not None:
        try:
            found, known = index.matching_among(pq, ids)
        except Exception as exc:  # an unreadable index must not stop a digest: check everything in Python
            log.error("keyword index unavailable for alert matching: %s", describe_error(exc))
            found, known = set(), set()
    rest = [i for i in ids if i not in known]
    if rest:
        papers = store.papers_by_ids(rest)
        found |= {pid for pid, paper in papers.items() if paper_matches(paper, pq)}
    return found


# -- semantic matching -----------------------------------------------------------------


def semantic_matches(store: Store, encoder: Encoder | None, pq: ParsedQuery, ids: Sequence[str]) -> dict[str, float]:
    """Candidates whose stored vector is within SEMANTIC_MIN cosine of the query's embedding,
    among those passing the filters; {} when the encoder or the vectors are missing."""
    from dailypapers.store.vectors import load_vectors

    text = " ".join([*pq.terms, *pq.phrases])
    if encoder is None or not text or not ids:
        return {}
    try:
        found_ids, matrix = load_vectors(store, encoder.model_id, list(ids))
        if not found_ids:
            return {}
        qvec = np.asarray(encoder.encode([text]), dtype=np.float32)[0]
    except Exception as exc:
        log.error("semantic alert matching unavailable: %s", describe_error(exc))
        return {}
    sims = matrix @ qvec
    close = {pid: float(s) for pid, s in zip(found_ids, sims, strict=True) if s >= SEMANTIC_MIN}
    if close and pq.has_filters:
        filters = ParsedQuery(authors=list(pq.authors), categories=list(pq.categories),
                              date_from=pq.date_from, date_to=pq.date_to)
        papers = store.papers_by_ids(list(close))
        close = {pid: s for pid, s in close.items() if pid in papers and paper_matches(papers[pid], filters)}
    return close


def match(store: Store, saved: Search, ids: Sequence[str], *, index: KeywordIndex | None = None,
          encoder: Encoder | None = None) -> list[Match]:
    """The candidates `ids` that match the saved search, best first (semantic similarity, then
    the order of `ids`)."""
    try:
        pq = parsed(saved.query, saved.author, saved.category)
    except InvalidQuery:
        return []
    keyword = set() if saved.mode == "semantic" and encoder is not None else keyword_matches(store, index, pq, ids)
    semantic = semantic_matches(store, encoder, pq, ids) if saved.mode in ("semantic", "hybrid") else {}
    if saved.mode == "semantic" and encoder is None:
        keyword = keyword_matches(store, index, pq, ids)
    out = []
    for pid in ids:
        if pid in keyword or pid in semantic:
            how = "+".join(k for k, hit in (("keyword", pid in keyword), ("semantic", pid in semantic)) if hit)
            out.append(Match(pid, how, semantic.get(pid), [*pq.terms, *pq.phrases]))
    out.sort(key=lambda m: -(m.similarity or 0.0) if m.how == "semantic" else 0.0)
    return out


def feed_ids(index: KeywordIndex | None, saved: Search, limit: int = FEED_SIZE, *,
             service: SearchService | None = None, store: Store | None = None) -> list[str]:
    """The newest papers matching a saved search (its feed), newest first, in its mode: keyword
    matches; in semantic mode the papers the search service finds by meaning (as close as an
    alert needs, SEMANTIC_MIN, among the closest FEED_MEANING_DEPTH) instead; in hybrid mode
    both. Keyword matches only without a `service` and `store`, or when the service cannot
    search by meaning."""
    if index is None:
        return []
    try:
        pq = parsed(saved.query, saved.author, saved.category)
    except InvalidQuery:
        return []
    meaning = _by_meaning(service, saved, pq) if saved.mode != "keyword" and store is not None else None
    if meaning is None or store is None:  # store is None: no meaning looked for
        return _newest_matches(index, pq, limit)
    words = [] if saved.mode == "semantic" else _newest_matches(index, pq, limit)
    return _newest_first(store, [*words, *meaning])[:limit]


def _newest_matches(index: KeywordIndex, pq: ParsedQuery, limit: int) -> list[str]:
    """The newest papers with every word (as alerts match): none when the index had to relax
    the query to "any word"."""
    page = index.search(pq, 0, limit, sort="date")
    return [] if page.relaxed else [h.arxiv_id for h in page.hits]


def _by_meaning(service: SearchService | None, saved: Search, pq: ParsedQuery) -> list[str] | None:
    """Ids the search service finds by meaning for the saved search; None when it cannot."""
    if service is None or not pq.has_text:
        return None
    found = service.search(saved.query, "semantic", authors=[saved.author] if saved.author else [],
                           categories=[saved.category] if saved.category else [], limit=FEED_MEANING_DEPTH)
    if found.used_mode != "semantic":
        return None
    return [r.arxiv_id for r in found.results if (r.explanation.similarity or 0.0) >= SEMANTIC_MIN]


def _newest_first(store: Store, ids: Sequence[str]) -> list[str]:
    papers = store.papers_by_ids(list(dict.fromkeys(ids)))
    return sorted(papers, key=lambda pid: (papers[pid].published is not None, papers[pid].published, pid),
                  reverse=True)


def search_box_query(saved: Search) -> str:
    """The saved search as one query of the search box (its words, then author: and cat:)."""
    parts = [saved.query] if saved.query else []
    if saved.author:
        parts.append(f'author:"{saved.author}"' if " " in saved.author else f"author:{saved.author}")
    if saved.category:
        parts.append(f"cat:{saved.category}")
    return " ".join(parts)


def describe(saved: Search) -> str:
    """How a saved search reads: its query and filters."""
    parts = [saved.query] if saved.query else []
    if saved.author:
        parts.append(f"author: {saved.author}")
    if saved.category:
        parts.append(f"category: {saved.category}")
    return " · ".join(parts) + ("" if saved.mode == "keyword" else f" ({saved.mode})")
