"""Personal recommendations, each with why, as in arxiv-sanity-lite but explained.

What a member keeps (upvotes, papers in their collections) are positive examples; papers they
marked "not interested" are negative ones. New papers (a digest's window) are ranked by:

- **embeddings**, when every candidate and at least one library paper has a stored vector
  (store/vectors.py; the demo ships them): with at least MIN_TRAIN library papers, a per-member
  logistic regression (numpy, L2-regularised, classes balanced) over the normalised vectors,
  trained on the library (1), the not-interested marks (0, weighted) and the candidates
  themselves as weak background (0) — arxiv-sanity-lite's trick of treating everything untagged
  as negative; with fewer, the cosine to the nearest library paper minus half the cosine to the
  nearest rejected one;
- **tf-idf** otherwise: the same nearest-neighbour score over tf-idf vectors of title and abstract.

A candidate must be close to something the member kept (cosine >= RELEVANT_MIN for its method)
or match one of their alerts or follows. Matching an alert adds ALERT_BOOST, a followed author
or category FOLLOW_BOOST. The reasons name the nearest library paper ("similar to “…” in your
collection “…”"), the alerts it matches and the follows.

The digest and /for-you call the same `for_member`, so they show the same ranking (the digest
leaves out papers it already sent or lists in an earlier section, keeping the order).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.models import Paper
from dailypapers.names import author_key
from dailypapers.search.phrases import FIELD_WORDS, STOPWORDS
from dailypapers.store import Store
from dailypapers.store.candidates import Library, library

if TYPE_CHECKING:
    from dailypapers.delivery.window import Window
    from dailypapers.search.encoder.embeddings import Encoder
    from dailypapers.search.keyword import KeywordIndex

MIN_TRAIN = 5
RELEVANT_MIN = {"embeddings": 0.30, "tf-idf": 0.08}
ALERT_BOOST = 0.25
FOLLOW_BOOST = 0.15
NEGATIVE_WEIGHT = 3.0
BACKGROUND_WEIGHT = 0.2
LIMIT = 10
_WORD = re.compile(r"[a-z][a-z0-9\-]{2,}")
_STOP = STOPWORDS | FIELD_WORDS


@dataclass
class Recommendation:
    paper_id: str
    score: float
    reasons: list[str] = field(default_factory=list)
    nearest: str | None = None  # the library paper it is closest to


@dataclass
class Ranking:
    items: list[Recommendation]
    method: str  # "embeddings (logistic regression)" | "embeddings (similarity)" | "tf-idf (similarity)" |
    #              "alerts and follows" (nothing kept yet) | "none"
    positives: int = 0
    negatives: int = 0
    candidates: int = 0
    model_id: str | None = None

    @property
    def ids(self) -> list[str]:
        return [r.paper_id for r in self.items]

    def note(self) -> str:
        """How the ranking was made, for the page and the email."""
        if self.method == "none":
            return ("Upvote papers, add them to a collection or save a search with an alert, and new papers "
                    "like them will show up here.")
        if self.method == "alerts and follows":
            return (f"Ranked by your alerts and the authors and categories you follow; {self.candidates} new "
                    "papers considered. Upvote or collect papers to have similar ones found too.")
        what = {"embeddings (logistic regression)":
                f"a logistic regression over {self.model_id} embeddings of titles and abstracts",
                "embeddings (similarity)": f"similarity of {self.model_id} embeddings of titles and abstracts",
                "tf-idf (similarity)": "tf-idf similarity of titles and abstracts"}.get(self.method, self.method)
        marks = f" and {self.negatives} “not interested” mark{'s' if self.negatives != 1 else ''}" \
            if self.negatives else ""
        return (f"Ranked by {what}, learned from the {self.positives} paper{'s' if self.positives != 1 else ''} "
                f"you upvoted or collected{marks}; {self.candidates} new papers considered.")


# -- text features ---------------------------------------------------------------------


def _tokens(paper: Paper) -> list[str]:
    text = f"{paper.title} {paper.title} {paper.abstract}".lower()
    return [w for w in _WORD.findall(text) if w not in _STOP]


def tfidf_matrix(papers: Sequence[Paper]) -> np.ndarray:
    """Rows: L2-normalised tf-idf vectors (sublinear tf, smoothed idf) of the papers."""
    docs = [Counter(_tokens(p)) for p in papers]
    df: Counter = Counter()
    for d in docs:
        df.update(d.keys())
    vocab = {w: i for i, w in enumerate(sorted(w for w, n in df.items() if n >= 1))}
    n = len(docs)
    matrix = np.zeros((n, len(vocab)), dtype=np.float32)
    for row, d in enumerate(docs):
        for word, count in d.items():
            matrix[row, vocab[word]] = (1 + math.log(count)) * (math.log((1 + n) / (1 + df[word])) + 1)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def logistic_scores(pos: np.ndarray, neg: np.ndarray, background: np.ndarray, *, l2: float = 1e-3,
                    iters: int = 400, lr: float = 2.0) -> np.ndarray:
    """Train on pos (1) vs neg and background (0), classes balanced; P(kept) of `background`."""
    X = np.vstack([pos, neg, background]).astype(np.float64)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(background))])
    w_neg = np.concatenate([np.full(len(neg), NEGATIVE_WEIGHT), np.full(len(background), BACKGROUND_WEIGHT)])
    w_pos = np.full(len(pos), max(w_neg.sum(), 1.0) / max(len(pos), 1))
    w = np.concatenate([w_pos, w_neg])
    w = w / w.sum()
    theta = np.zeros(X.shape[1])
    bias = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-(X @ theta + bias)))
        g = (p - y) * w
        theta -= lr * (X.T @ g + l2 * theta)
        bias -= lr * g.sum()
    z = background.astype(np.float64) @ theta + bias
    return 1.0 / (1.0 + np.exp(-z))


# -- ranking ---------------------------------------------------------------------------


def _vector_model(store: Store) -> str | None:
    from dailypapers.store.vectors import models

    counts = models(store)
    if not counts:
        return None
    from dailypapers.search.encoder.embeddings import MODEL_ID as preferred

    return preferred if preferred in counts else max(counts, key=counts.__getitem__)


def _load(store: Store, model_id: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
    from dailypapers.store.vectors import load_vectors

    found, matrix = load_vectors(store, model_id, list(ids))
    if not found:
        return {}
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms == 0, 1, norms)
    return dict(zip(found, matrix, strict=True))


def _library_reason(lib: Library, papers: dict[str, Paper], pid: str) -> str:
    title = _short(papers[pid].title) if pid in papers else pid
    names = lib.collected.get(pid)
    if names:
        return f"similar to “{title}” in your collection “{names[0]}”"
    return f"similar to “{title}”, which you upvoted"


def _short(title: str, n: int = 80) -> str:
    title = " ".join((title or "").split())
    return title if len(title) <= n else title[: n - 1].rstrip() + "…"


def rank(store: Store, user_id: int, candidate_ids: Sequence[str], *,
         alert_hits: dict[str, list[str]] | None = None, limit: int = LIMIT) -> Ranking:
    """The member's ranking of `candidate_ids` (at most `limit`), each with its reasons."""
    alert_hits = alert_hits or {}
    lib = library(store, user_id)
    rejected = store.not_interested.ids(user_id)
    kept, rejected_set = set(lib.ids), set(rejected)
    cands = [c for c in dict.fromkeys(candidate_ids) if c not in kept and c not in rejected_set]
    follows = store.follows.for_user(user_id)
    followed_authors = {t for k, t in follows if k == "author"}
    followed_cats = {t.lower() for k, t in follows if k == "category"}
    base = Ranking([], "none", len(kept), len(rejected), len(cands))
    if not cands or not (kept or alert_hits or follows):
        return base
    papers = store.papers_by_ids([*cands, *lib.ids, *rejected])
    cands = [c for c in cands if c in papers]
    lib_ids = [i for i in lib.ids if i in papers]
    neg_ids = [i for i in rejected if i in papers]
    scores, nearest, method, model_id = _similarity(store, papers, lib_ids, neg_ids, cands)
    base.method, base.model_id = method, model_id
    items = []
    for i, pid in enumerate(cands):
        score, reasons = 0.0, []
        near_pid, near_sim = nearest[i] if nearest else (None, 0.0)
        if near_pid is not None and near_sim >= RELEVANT_MIN.get(method.split(" ")[0], 1.0):
            score = float(scores[i])
            reasons.append(_library_reason(lib, papers, near_pid))
        for name in alert_hits.get(pid, []):
            score += ALERT_BOOST
            reasons.append(f"matches your alert “{name}”")
        paper = papers[pid]
        for author in paper.authors:
            if author_key(author.name) in followed_authors or author.name in followed_authors:
                score += FOLLOW_BOOST
                reasons.append(f"by {author.name}, whom you follow")
                break
        for cat in paper.categories:
            parts = cat.lower().split(".")
            hit = next((c for c in followed_cats if c in (cat.lower(), parts[0])), None)
            if hit:
                score += FOLLOW_BOOST
                reasons.append(f"in {cat}, which you follow")
                break
        if reasons:
            items.append(Recommendation(pid, score, reasons, near_pid))
    order = {pid: i for i, pid in enumerate(cands)}
    items.sort(key=lambda r: (-round(r.score, 9), order[r.paper_id]))
    base.items = items[:limit]
    if base.method == "none" and base.items:
        base.method = "alerts and follows"
    return base


def _similarity(store: Store, papers: dict[str, Paper], lib_ids: list[str], neg_ids: list[str],
                cands: list[str]) -> tuple[np.ndarray, list[tuple[str, float]], str, str | None]:
    """(score per candidate, nearest library paper and its cosine per candidate, method, model)."""
    if not lib_ids:
        return np.zeros(len(cands)), [], "none", None
    model_id = _vector_model(store)
    vectors = _load(store, model_id, [*lib_ids, *neg_ids, *cands]) if model_id else {}
    use_vectors = bool(vectors) and all(c in vectors for c in cands) and any(i in vectors for i in lib_ids)
    if use_vectors:
        lib_use = [i for i in lib_ids if i in vectors]
        neg_use = [i for i in neg_ids if i in vectors]
        L = np.stack([vectors[i] for i in lib_use])
        N = np.stack([vectors[i] for i in neg_use]) if neg_use else np.zeros((0, L.shape[1]), np.float32)
        C = np.stack([vectors[i] for i in cands])
    else:
        lib_use, neg_use = lib_ids, neg_ids
        matrix = tfidf_matrix([papers[i] for i in [*lib_use, *neg_use, *cands]])
        L, N, C = matrix[:len(lib_use)], matrix[len(lib_use):len(lib_use) + len(neg_use)], \
            matrix[len(lib_use) + len(neg_use):]
    sim_l = C @ L.T
    best = sim_l.argmax(axis=1)
    nearest = [(lib_use[int(b)], float(sim_l[i, b])) for i, b in enumerate(best)]
    penalty = 0.5 * (C @ N.T).max(axis=1) if len(N) else np.zeros(len(cands))
    if use_vectors and len(lib_use) >= MIN_TRAIN:
        scores = logistic_scores(L, N, C) - penalty
        method = "embeddings (logistic regression)"
    else:
        scores = sim_l.max(axis=1) - penalty
        method = "embeddings (similarity)" if use_vectors else "tf-idf (similarity)"
    return scores, nearest, method, model_id if use_vectors else None


# -- what a member sees ----------------------------------------------------------------


def alert_hits(store: Store, user_id: int, candidate_ids: Sequence[str], *, index: KeywordIndex | None = None,
               encoder: Encoder | None = None) -> dict[str, list[str]]:
    """paper id -> names of the member's alerts (saved searches with alert on) it matches."""
    from dailypapers.delivery import alerts

    hits: dict[str, list[str]] = {}
    for saved in store.saved_searches.for_user(user_id, alerts_only=True):
        for m in alerts.match(store, saved, candidate_ids, index=index, encoder=encoder):
            hits.setdefault(m.paper_id, []).append(saved.name)
    return hits


def for_member(store: Store, user_id: int, until: dt.datetime, frequency: str, *, since: dt.datetime | None = None,
               index: KeywordIndex | None = None, encoder: Encoder | None = None,
               limit: int = LIMIT) -> tuple[Ranking, Window]:
    """The ranking /for-you shows and a digest starts from: the window of `frequency` ending at
    `until` (papers published after `since`, default one period back), the member's alert
    matches, their library. Returns (ranking, window)."""
    from dailypapers.delivery.window import new_papers, window

    w = window(store, until, frequency, since)
    cands = new_papers(store, w)
    hits = alert_hits(store, user_id, cands, index=index, encoder=encoder)
    return rank(store, user_id, cands, alert_hits=hits, limit=limit), w
