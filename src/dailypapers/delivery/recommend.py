"""Personal recommendations, each with why, as in arxiv-sanity-lite but explained.

What a member keeps (upvotes, papers in their collections) are positive examples; papers they
marked "not interested" are negative ones. New papers (a digest's window) are ranked by:

- **embeddings**, when every candidate and at least one library paper has a stored vector
  (store/vectors.py; the demo ships them): with at least MIN_TRAIN library papers, a per-member
  logistic regression (numpy, L2-regularised, classes balanced) over the normalised vectors,
  trained on the library (1), the not-interested marks (0, weighted) and the candidates
  themselves (at most BACKGROUND_SAMPLE of them) as weak background (0) — arxiv-sanity-lite's
  trick of treating everything untagged as negative; with fewer, the cosine to the nearest
  library paper minus half the cosine to the nearest rejected one;
- **tf-idf** otherwise (delivery/tfidf.py): with at least MIN_TRAIN library papers, a linear SVM
  (squared hinge, classes balanced, as arxiv-sanity-lite's LinearSVC) over sparse tf-idf of title
  and abstract, trained on the library, the marks and a sample of at most BACKGROUND_SAMPLE
  candidates as background; with fewer, the nearest-neighbour score over the same features. The
  vocabulary (capped) and the model come from the library and that sample, so memory grows with
  the library, not the candidates (which are only sparse rows); see bench/bench_recommend.py.

Either way only what is needed is read: vectors, or titles and abstracts (store/candidates.py),
never whole paper records. The word counts of each paper are cached in the process
(delivery/wordcounts.py, `WORDS`), so the members of one digest run, or /for-you viewed again,
tokenise a window once; the ranking is the same with or without the cache. Dense products go
through `tfidf.dot` (numpy's loops, one thread) rather than OpenBLAS's threads.

A candidate must be close to something the member kept (cosine >= RELEVANT_MIN for its method)
or match one of their alerts or follows. Matching an alert adds ALERT_BOOST, a followed author
or category FOLLOW_BOOST. The reasons name the nearest library paper ("similar to “…” in your
collection “…”"), the alerts it matches and the follows.

The digest and /for-you call the same `for_member`, so they show the same ranking (the digest
leaves out papers it already sent or lists in an earlier section, keeping the order).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from dailypapers.delivery import tfidf, wordcounts
from dailypapers.delivery.tfidf import dot
from dailypapers.store import Store
from dailypapers.store.candidates import Library, Tags, library, stored_vectors, texts, vector_model
from dailypapers.store.candidates import tags as candidate_tags

if TYPE_CHECKING:
    from dailypapers.delivery.window import Window
    from dailypapers.search.encoder.embeddings import Encoder
    from dailypapers.search.keyword import KeywordIndex

MIN_TRAIN = 5
# the least cosine to the nearest library paper for a candidate to be shown (by method, else by its
# first word); the linear SVM ranks on its own and only needs one shared word to name a neighbour
RELEVANT_MIN = {"embeddings": 0.30, "tf-idf": 0.08, "tf-idf (linear SVM)": 1e-6}
ALERT_BOOST = 0.25
FOLLOW_BOOST = 0.15
NEGATIVE_WEIGHT = 3.0
BACKGROUND_WEIGHT = 0.2
LIMIT = 10
MAX_LIBRARY = 500        # the most recent kept (and rejected) papers a model learns from
BACKGROUND_SAMPLE = 2000  # candidates the tf-idf model trains on as background negatives
TEXT_L2 = 2e-3           # about LinearSVC(C=0.1, class_weight="balanced") on ~5,000 papers
TEXT_ITERS = 60          # early stopping: 60 steps ranked better than 120 or 400 (bench_recommend)
VECTOR_ITERS = 80        # on bench_recommend: precision@25 0.592 against 0.600 with 150 steps on every candidate
CHUNK = 1000             # candidates transformed and scored at a time
WORDS = wordcounts.Cache()  # every call's word counts: each paper of a window is tokenised once


@dataclass
class Recommendation:
    paper_id: str
    score: float
    reasons: list[str] = field(default_factory=list)
    nearest: str | None = None  # the library paper it is closest to


@dataclass
class Ranking:
    items: list[Recommendation]
    method: str  # "embeddings (logistic regression)" | "embeddings (similarity)" |
    #              "tf-idf (linear SVM)" | "tf-idf (similarity)" |
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
                "tf-idf (linear SVM)": "a linear SVM over tf-idf of titles and abstracts",
                "tf-idf (similarity)": "tf-idf similarity of titles and abstracts"}.get(self.method, self.method)
        marks = f" and {self.negatives} “not interested” mark{'s' if self.negatives != 1 else ''}" \
            if self.negatives else ""
        return (f"Ranked by {what}, learned from the {self.positives} paper{'s' if self.positives != 1 else ''} "
                f"you upvoted or collected{marks}; {self.candidates} new papers considered.")


# -- models ----------------------------------------------------------------------------


def _balanced_weights(n_pos: int, n_neg: int, n_background: int) -> np.ndarray:
    """Per-example weights summing to 1: the positives weigh as much as all the negatives, a
    "not interested" mark NEGATIVE_WEIGHT times a background paper."""
    w_neg = np.concatenate([np.full(n_neg, NEGATIVE_WEIGHT), np.full(n_background, BACKGROUND_WEIGHT)])
    w_pos = np.full(n_pos, max(w_neg.sum(), 1.0) / max(n_pos, 1))
    w = np.concatenate([w_pos, w_neg])
    return w / w.sum()


def logistic_scores(pos: np.ndarray, neg: np.ndarray, background: np.ndarray, *, l2: float = 1e-3,
                    iters: int = 150, sample: int | None = None) -> np.ndarray:
    """Train on pos (1) vs neg and background (0), classes balanced; P(kept) of `background`.
    With `sample`, at most that many background rows (evenly spread) are trained on."""
    train_bg = background if sample is None else background[_sample(np.arange(len(background)), sample)]
    X = np.vstack([pos, neg, train_bg]).astype(np.float32)
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg) + len(train_bg))])
    w = _balanced_weights(len(pos), len(neg), len(train_bg))
    theta, bias = tfidf.train_linear(lambda v: dot("ij,j->i", X, v), lambda g: dot("ij,i->j", X, g),
                                     X.shape[1], y, w, l2=l2, iters=iters)
    z = dot("ij,j->i", background, theta) + bias
    return 1.0 / (1.0 + np.exp(-z))


@dataclass
class TextModel:
    """What the no-vector path builds: a vocabulary and, with enough library papers, a linear
    classifier over sparse tf-idf; its size depends on the library and the capped vocabulary
    and background sample, never on the number of candidates."""

    vocab: tfidf.Vocabulary
    kept_columns: np.ndarray  # the words of the library and the rejected papers
    kept: np.ndarray          # their tf-idf rows over those words, (library + rejected) × words
    theta: np.ndarray | None = None
    bias: float = 0.0


def text_model(c: tfidf.Counts, n_lib: int, n_neg: int, background: np.ndarray, *, train: bool) -> TextModel:
    """The model of the papers 0..n_lib-1 (library) and n_lib..n_lib+n_neg-1 (rejected) of `c`,
    with `background` (row numbers of c) as unlabelled negatives."""
    kept_docs = np.arange(n_lib + n_neg)
    vocab = tfidf.fit(c, np.concatenate([kept_docs, background]))
    kept_rows = tfidf.transform(vocab, c, kept_docs)
    columns = kept_rows.used_columns()
    model = TextModel(vocab, columns, kept_rows.dense_columns(columns))
    if train:
        X = tfidf.transform(vocab, c, np.concatenate([kept_docs, background]))
        y = np.concatenate([np.ones(n_lib), np.zeros(n_neg + len(background))])
        w = _balanced_weights(n_lib, n_neg, len(background))
        model.theta, model.bias = tfidf.train_linear(X.matvec, X.rmatvec, len(vocab), y, w, l2=TEXT_L2,
                                                     loss="squared_hinge", iters=TEXT_ITERS)
    return model


def _sample(items: np.ndarray, n: int) -> np.ndarray:
    """At most n of items, evenly spread (deterministic)."""
    if len(items) <= n:
        return items
    return items[(np.arange(n) * (len(items) / n)).astype(np.int64)]


# -- ranking ---------------------------------------------------------------------------


def _vector_model(store: Store) -> str | None:
    from dailypapers.search.encoder.embeddings import MODEL_ID as preferred

    return vector_model(store, preferred)


def _library_reason(lib: Library, titles: dict[str, str], pid: str) -> str:
    title = titles.get(pid, pid)
    names = lib.collected.get(pid)
    if names:
        return f"similar to “{title}” in your collection “{names[0]}”"
    return f"similar to “{title}”, which you upvoted"


def _short(title: str, n: int = 80) -> str:
    title = " ".join((title or "").split())
    return title if len(title) <= n else title[: n - 1].rstrip() + "…"


def _follow_reasons(tags: Tags, followed_authors: set[str], followed_cats: set[str]) -> list[str]:
    reasons = []
    for name, key in tags.authors:
        if key in followed_authors or name in followed_authors:
            reasons.append(f"by {name}, whom you follow")
            break
    for cat in tags.categories:
        parts = cat.lower().split(".")
        if any(c in (cat.lower(), parts[0]) for c in followed_cats):
            reasons.append(f"in {cat}, which you follow")
            break
    return reasons


@dataclass
class Scored:
    """What a method makes of the candidates (those that are stored papers, in order)."""

    cands: list[str]
    scores: np.ndarray   # per candidate
    nearest: np.ndarray  # per candidate: its nearest library paper (an index into the library), -1 none
    near_sim: np.ndarray  # per candidate: the cosine to that paper
    method: str = "none"
    model_id: str | None = None


def rank(store: Store, user_id: int, candidate_ids: Sequence[str], *,
         alert_hits: dict[str, list[str]] | None = None, limit: int = LIMIT) -> Ranking:
    """The member's ranking of `candidate_ids` (at most `limit`), each with its reasons."""
    alert_hits = alert_hits or {}
    lib = library(store, user_id)
    rejected = store.not_interested.ids(user_id)
    kept, rejected_set = set(lib.ids), set(rejected)
    cands = [c for c in dict.fromkeys(candidate_ids) if c not in kept and c not in rejected_set]
    follows = store.follows.for_user(user_id)
    base = Ranking([], "none", len(kept), len(rejected), len(cands))
    if not cands or not (kept or alert_hits or follows):
        return base
    known = texts(store, [*lib.ids[:MAX_LIBRARY], *rejected[:MAX_LIBRARY]])
    lib_ids = [i for i in lib.ids[:MAX_LIBRARY] if i in known]
    neg_ids = [i for i in rejected[:MAX_LIBRARY] if i in known]
    scored = _similarity(store, known, lib_ids, neg_ids, cands)
    base.method, base.model_id = scored.method, scored.model_id
    titles = {pid: _short(t) for pid, (t, _) in known.items()}
    base.items = _top(scored, lib_ids, _other_reasons(store, scored.cands, alert_hits, follows), limit,
                      lambda pid: _library_reason(lib, titles, pid))
    if base.method == "none" and base.items:
        base.method = "alerts and follows"
    return base


def _other_reasons(store: Store, cands: list[str], alert_hits: dict[str, list[str]],
                   follows: list[tuple[str, str]]) -> dict[int, tuple[float, list[str]]]:
    """candidate index -> (boost, reasons) from the member's alerts and follows."""
    out: dict[int, tuple[float, list[str]]] = {}
    index = {pid: i for i, pid in enumerate(cands)}
    for pid, names in alert_hits.items():
        if pid in index and names:
            out[index[pid]] = (ALERT_BOOST * len(names), [f"matches your alert “{name}”" for name in names])
    if not follows:
        return out
    followed_authors = {t for k, t in follows if k == "author"}
    followed_cats = {t.lower() for k, t in follows if k == "category"}
    for pid, paper_tags in candidate_tags(store, cands).items():
        extra = _follow_reasons(paper_tags, followed_authors, followed_cats)
        if extra:
            boost, reasons = out.get(index[pid], (0.0, []))
            out[index[pid]] = (boost + FOLLOW_BOOST * len(extra), reasons + extra)
    return out


def _top(scored: Scored, lib_ids: list[str], other: dict[int, tuple[float, list[str]]], limit: int,
         library_reason: Callable[[str], str]) -> list[Recommendation]:
    """The `limit` best candidates that have a reason: close enough to a library paper (by the
    method's RELEVANT_MIN), or matching an alert or a follow (which add to the score)."""
    method = scored.method
    floor = RELEVANT_MIN.get(method, RELEVANT_MIN.get(method.split(" ")[0], 1.0))
    similar = (scored.nearest >= 0) & (scored.near_sim >= floor)
    total = np.where(similar, scored.scores, 0.0)
    eligible = similar.copy()
    for i, (boost, _) in other.items():
        total[i] += boost
        eligible[i] = True
    chosen = np.flatnonzero(eligible)
    chosen = chosen[np.lexsort((chosen, -np.round(total[chosen], 9)))[:limit]]
    items = []
    for i in chosen.tolist():
        near = lib_ids[scored.nearest[i]] if scored.nearest[i] >= 0 else None
        reasons = [library_reason(near)] if similar[i] and near is not None else []
        items.append(Recommendation(scored.cands[i], float(total[i]), reasons + other.get(i, (0.0, []))[1], near))
    return items


def _similarity(store: Store, known: dict[str, tuple[str, str]], lib_ids: list[str], neg_ids: list[str],
                cands: list[str]) -> Scored:
    if not lib_ids:
        return Scored(cands, np.zeros(len(cands)), np.full(len(cands), -1), np.zeros(len(cands)))
    model_id = _vector_model(store)
    if model_id:
        found, matrix = stored_vectors(store, model_id, [*lib_ids, *neg_ids, *cands])
        row = {pid: i for i, pid in enumerate(found)}
        if all(c in row for c in cands) and any(i in row for i in lib_ids):
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            matrix = matrix / np.where(norms == 0, 1, norms)
            return _by_vectors(matrix, row, lib_ids, neg_ids, cands, model_id)
    cand_text = texts(store, cands)
    cands = [c for c in cands if c in cand_text]
    return _by_text(known, cand_text, lib_ids, neg_ids, cands)


def _by_vectors(matrix: np.ndarray, row: dict[str, int], lib_ids: list[str], neg_ids: list[str],
                cands: list[str], model_id: str) -> Scored:
    lib_use = [i for i, pid in enumerate(lib_ids) if pid in row]
    L = matrix[[row[lib_ids[i]] for i in lib_use]]
    N = matrix[[row[pid] for pid in neg_ids if pid in row]]
    C = matrix[[row[pid] for pid in cands]]
    sim_l = dot("ij,kj->ik", C, L)
    best = sim_l.argmax(axis=1)
    nearest, near_sim = np.asarray(lib_use, dtype=np.int64)[best], sim_l[np.arange(len(cands)), best]
    penalty = 0.5 * dot("ij,kj->ik", C, N).max(axis=1) if len(N) else np.zeros(len(cands))
    if len(lib_use) >= MIN_TRAIN:
        scores = logistic_scores(L, N, C, iters=VECTOR_ITERS, sample=BACKGROUND_SAMPLE)
        return Scored(cands, scores - penalty, nearest, near_sim, "embeddings (logistic regression)", model_id)
    return Scored(cands, sim_l.max(axis=1) - penalty, nearest, near_sim, "embeddings (similarity)", model_id)


def _by_text(known: dict[str, tuple[str, str]], cand_text: dict[str, tuple[str, str]], lib_ids: list[str],
             neg_ids: list[str], cands: list[str]) -> Scored:
    n_lib, n_kept = len(lib_ids), len(lib_ids) + len(neg_ids)
    c = WORDS.counts([*((pid, *known[pid]) for pid in [*lib_ids, *neg_ids]),
                      *((pid, *cand_text[pid]) for pid in cands)])
    cand_docs = np.arange(n_kept, c.n_docs)
    train = n_lib >= MIN_TRAIN
    model = text_model(c, n_lib, len(neg_ids), _sample(cand_docs, BACKGROUND_SAMPLE), train=train)
    scores, near_sim = np.zeros(len(cands)), np.zeros(len(cands))
    nearest = np.zeros(len(cands), dtype=np.int64)
    everything = tfidf.transform(model.vocab, c, cand_docs)
    for start in range(0, len(cands), CHUNK):
        X = everything.row_slice(start, start + CHUNK)
        sims = X.times(model.kept_columns, model.kept)
        sim_l, sim_n = sims[:, :n_lib], sims[:, n_lib:]
        best = sim_l.argmax(axis=1)
        part = slice(start, start + len(best))
        nearest[part], near_sim[part] = best, sim_l[np.arange(len(best)), best]
        penalty = 0.5 * sim_n.max(axis=1) if sim_n.shape[1] else 0.0
        raw = X.matvec(model.theta) + model.bias if model.theta is not None else sim_l.max(axis=1)
        scores[part] = raw - penalty
    return Scored(cands, scores, nearest, near_sim, "tf-idf (linear SVM)" if train else "tf-idf (similarity)")


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
