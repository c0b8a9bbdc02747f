"""Recommendations without stored vectors: a linear SVM over sparse tf-idf of titles and
abstracts (delivery/tfidf.py), trained on the member's library against the candidates, as
arxiv-sanity-lite does; its size bounded by the library and a capped vocabulary, never
candidates × vocabulary; reasons on every item; an empty or one-paper library degrades clearly."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import re

import numpy as np
import pytest
from support.paths import DATA

from dailypapers.community import accounts
from dailypapers.delivery import recommend, tfidf, wordcounts
from dailypapers.sources import listings
from dailypapers.store import Store
from dailypapers.store.candidates import tags, texts

UTC = dt.timezone.utc
T = dt.datetime(2026, 7, 2, tzinfo=UTC)
SLICE = 1200  # the first listings: 802 cs.CV, 171 cs.CL, 59 eess.IV, ... (primary categories)
REASON = re.compile(r"similar to “.+”, which you upvoted")


@pytest.fixture(scope="module")
def papers():
    with gzip.open(DATA / "arxiv_cs_listings.jsonl.gz", "rb") as fh:
        head = b"".join(itertools.islice(fh, SLICE))
    found = [r.paper for r in listings.parse(head, "listings") if hasattr(r, "paper")]
    assert len(found) == SLICE
    return found


@pytest.fixture
def store(database_url, papers):
    s = Store.open(database_url)
    s.write([listings_record(p) for p in papers])
    yield s
    s.close()


def listings_record(paper):
    from dailypapers.models import Record

    return Record(paper=paper)


def member(store: Store, name: str, upvoted: list[str]) -> int:
    user = accounts.create_user(store, f"{name}@example.org", "correct horse battery", username=name)
    for pid in upvoted:
        store.votes.set(pid, user.id, True, T)
    return user.id


def of(papers, category: str) -> list[str]:
    return [p.arxiv_id for p in papers if p.primary_category == category]


def test_the_classifier_ranks_the_librarys_category_first_with_reasons(store, papers):
    library = of(papers, "cs.CL")[:8]
    uid = member(store, "cl", library)
    candidates = [p.arxiv_id for p in papers if p.arxiv_id not in library]
    listed = {p.arxiv_id for p in papers if "cs.CL" in p.categories} - set(library)  # 243 of 1,192 candidates
    ranking = recommend.rank(store, uid, candidates, limit=len(candidates))
    assert ranking.method == "tf-idf (linear SVM)" and ranking.model_id is None
    assert "linear SVM over tf-idf" in ranking.note() and ranking.positives == 8
    assert sum(pid in listed for pid in ranking.ids[:20]) >= 12  # 4 by chance
    assert sum(pid in listed for pid in ranking.ids[:100]) >= 40
    assert all(REASON.fullmatch(r.reasons[0]) and r.nearest in library for r in ranking.items)
    assert not set(ranking.ids) & set(library)

    store.not_interested.mark(uid, ranking.ids[0], T)  # a negative example, and never shown again
    again = recommend.rank(store, uid, candidates, limit=20)
    assert again.method == "tf-idf (linear SVM)" and again.negatives == 1
    assert ranking.ids[0] not in again.ids and ranking.ids[1] in again.ids[:5]
    assert "1 “not interested” mark" in again.note()


def test_one_paper_uses_similarity_and_an_empty_library_says_what_to_do(store, papers):
    empty = member(store, "empty", [])
    candidates = [p.arxiv_id for p in papers[:300]]
    cold = recommend.rank(store, empty, candidates)
    assert cold.method == "none" and cold.items == [] and "Upvote papers" in cold.note()

    first = of(papers, "cs.RO")[0]
    one = member(store, "one", [first])
    ranking = recommend.rank(store, one, [p.arxiv_id for p in papers if p.arxiv_id != first], limit=5)
    assert ranking.method == "tf-idf (similarity)" and "tf-idf similarity" in ranking.note()
    assert len(ranking.items) == 5 and all(r.nearest == first and REASON.fullmatch(r.reasons[0])
                                           for r in ranking.items)
    scores = [r.score for r in ranking.items]
    assert scores == sorted(scores, reverse=True) and scores[0] > 0


def test_the_model_is_bounded_by_the_library_not_the_candidates(papers, monkeypatch):
    monkeypatch.setattr(recommend, "BACKGROUND_SAMPLE", 100)
    library = [(p.title, p.abstract) for p in papers if p.primary_category == "cs.CL"][:6]
    shapes = []
    for n in (300, 1100):
        pool = [(p.title, p.abstract) for p in papers[-n:]]
        c = wordcounts.count([*library, *pool])
        background = np.asarray(recommend._sample(np.arange(len(library), c.n_docs), 100))
        model = recommend.text_model(c, len(library), 0, background, train=True)
        assert len(background) == 100 and len(model.vocab) <= tfidf.MAX_FEATURES
        assert model.kept.shape == (len(library), len(model.kept_columns))
        assert model.theta is not None and model.theta.shape == (len(model.vocab),)
        X = tfidf.transform(model.vocab, c, np.arange(len(library), c.n_docs))
        assert isinstance(X, tfidf.Sparse) and X.shape == (n, len(model.vocab))
        assert X.nnz < 0.05 * n * len(model.vocab)  # sparse: what the papers hold, not rows × words
        shapes.append((len(model.vocab), model.kept.shape))
    # same library, same background sample size: the model's size hardly moves with the pool
    assert shapes[1][1][0] == shapes[0][1][0] and shapes[1][0] < 1.5 * shapes[0][0]


def test_the_vocabulary_is_capped_and_leaves_out_stop_words_and_one_off_words():
    docs = [("graph neural networks", "we propose graph networks for molecules"),
            ("graph transformers", "transformers for molecules and proteins"),
            ("protein folding", "we propose a folding model for proteins"),
            ("speech recognition", "a speech model")]
    c = wordcounts.count(docs)
    vocab = tfidf.fit(c, np.arange(4))
    in_two = {"graph", "propose", "molecules", "proteins", "model"}  # each in exactly two papers
    assert set(vocab.words) == in_two - wordcounts.STOP and {"graph", "molecules", "proteins"} <= in_two
    assert "for" not in vocab.words and "recognition" not in vocab.words  # stop word; in one paper only
    assert len(tfidf.fit(c, np.arange(4), max_features=3)) == 3
    X = tfidf.transform(vocab, c, np.array([2, 0]))
    dense = X.dense_columns(np.arange(len(vocab)))
    assert np.allclose(np.linalg.norm(dense, axis=1), 1.0)
    assert dense[1, vocab.words.index("graph")] > 0 and dense[0, vocab.words.index("graph")] == 0


def test_sparse_operations_match_dense_ones():
    rng = np.random.default_rng(3)
    dense = rng.random((7, 11)) * (rng.random((7, 11)) < 0.3)
    dense[4] = 0  # an empty row
    indptr = np.concatenate([[0], np.cumsum((dense != 0).sum(axis=1))])
    rows, cols = np.nonzero(dense)
    m = tfidf.Sparse(indptr.astype(np.int64), cols.astype(np.int32), dense[rows, cols].astype(np.float32), 11)
    w, g = rng.normal(size=11), rng.normal(size=7)
    assert np.allclose(m.matvec(w), dense @ w, atol=1e-5)
    assert np.allclose(m.rmatvec(g), dense.T @ g, atol=1e-5)
    some = np.array([1, 4, 9])
    assert np.allclose(m.dense_columns(some), dense[:, some], atol=1e-6)
    part = m.row_slice(3, 6)
    assert part.shape == (3, 11) and np.allclose(part.matvec(w), dense[3:6] @ w, atol=1e-5)


@pytest.mark.parametrize("loss", ["logistic", "squared_hinge"])
def test_train_linear_reaches_the_optimum_on_dense_and_sparse_data(loss):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 8))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    y = (X @ rng.normal(size=8) > 0).astype(float)
    w = np.full(60, 1 / 60)
    l2 = 0.05
    theta, bias = tfidf.train_linear(lambda v: X @ v, lambda g: X.T @ g, 8, y, w, l2=l2, loss=loss, iters=2000)
    z, sign = X @ theta + bias, 2 * y - 1
    if loss == "logistic":
        r = (1 / (1 + np.exp(-z)) - y) * w
    else:
        r = -2 * sign * np.maximum(0, 1 - sign * z) * w
    assert np.abs(X.T @ r + l2 * theta).max() < 1e-6 and abs(r.sum()) < 1e-6  # the gradient vanishes
    assert ((z > 0) == (y == 1)).mean() > 0.9
    rows, cols = np.nonzero(X)
    sparse = tfidf.Sparse(np.arange(0, 61 * 8, 8, dtype=np.int64), cols.astype(np.int32), X[rows, cols], 8)
    theta_s, bias_s = tfidf.train_linear(sparse.matvec, sparse.rmatvec, 8, y, w, l2=l2, loss=loss, iters=2000)
    assert np.allclose(theta_s, theta, atol=1e-4) and abs(bias_s - bias) < 1e-4


def test_the_store_reads_only_what_ranking_needs(store, papers):
    ids = [papers[0].arxiv_id, "9999.99999", papers[1].arxiv_id]
    found = texts(store, ids)
    assert set(found) == {papers[0].arxiv_id, papers[1].arxiv_id}
    assert found[papers[0].arxiv_id] == (papers[0].title, papers[0].abstract)
    t = tags(store, ids)
    assert t["9999.99999"].authors == [] and t[papers[1].arxiv_id].categories == papers[1].categories
    assert [name for name, _ in t[papers[0].arxiv_id].authors] == [a.name for a in papers[0].authors]
