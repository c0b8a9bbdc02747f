"""Recommendations without stored vectors: a linear SVM over sparse tf-idf of titles and
abstracts (delivery/tfidf.py), trained on the member's library against the candidates, as
arxiv-sanity-lite does; its size bounded by the library and a capped vocabulary, never
candidates × vocabulary; reasons on every item; an empty or one-paper library degrades clearly.
The words are the regex's, found by splitting, and cached per paper (delivery/wordcounts.py); the
ranking is the same whatever the cache held before."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import re
from collections import Counter

import numpy as np
import pytest
from support.paths import DATA

from dailypapers.community import accounts
from dailypapers.delivery import recommend, tfidf, wordcounts
from dailypapers.sources import listings
from dailypapers.store import Store
from dailypapers.store.candidates import stored_vectors, tags, texts, vector_model
from dailypapers.store.vectors import save_vectors

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
    other = rng.normal(size=(4, 3)).astype(np.float32)  # 4 rows over the columns `some`, zero elsewhere
    full = np.zeros((4, 11))
    full[:, some] = other
    for block in (1, 5, 1 << 21):  # in pieces smaller than a row's non-zeros, and at once
        assert np.allclose(m.times(some, other, block=block), dense @ full.T, atol=1e-5)


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


def regex_words(title: str, abstract: str) -> Counter:
    """What the tf-idf counted before it split instead: the regex's words, title twice, no stop words."""
    found = re.findall(r"[a-z][a-z0-9\-]{2,}", f"{title} {title} {abstract}".lower())
    return Counter(w for w in found if w not in wordcounts.STOP)


def bags(c: wordcounts.Counts) -> list[Counter]:
    out = [Counter() for _ in range(c.n_docs)]
    for row, code, n in zip(c.rows.tolist(), c.codes.tolist(), c.counts.tolist(), strict=True):
        out[row][c.words[code]] = n
    return out


TRICKY = [("Ünïcode — 3D-models, x2 İstanbul K-means", "a-b 12abc -xyz --- x-ray 1e-3 we the"),
          ("", ""), ("The", "of and the"), ("GPT-4o: 2x faster", "co-training; (re)ranking/retrieval… naïve"),
          ("tab\there", "line\nbreak, ÀÉÎ ǅ ß ﬁne"), ("under_score", "CamelCase HTTP2 a1b2c3 99-luftballons")]


def test_the_words_are_the_regexs_words_found_by_splitting(papers):
    docs = TRICKY + [(p.title, p.abstract) for p in papers[:300]]
    c = wordcounts.count(docs)
    assert bags(c) == [regex_words(t, a) for t, a in docs]
    assert bags(c)[0] == Counter({"code": 2, "d-models": 2, "stanbul": 2, "k-means": 2, "a-b": 1, "abc": 1,
                                  "xyz": 1, "x-ray": 1, "e-3": 1})
    for row in range(c.n_docs):  # each paper's words in alphabetical order, whatever their codes
        words = [c.words[code] for code in c.codes[c.rows == row]]
        assert words == sorted(words)


def test_the_cache_tokenises_each_paper_once_and_notices_a_changed_text(papers):
    cache = wordcounts.Cache(max_papers=250)
    items = [(p.arxiv_id, p.title, p.abstract) for p in papers[:200]]
    first = bags(cache.counts(items))
    assert (cache.hits, cache.misses) == (0, 200)
    again = bags(cache.counts(items[::-1]))
    assert (cache.hits, cache.misses) == (200, 200) and again == first[::-1]
    changed = [items[0][:2] + ("an abstract about protein folding",), *items[1:]]
    assert bags(cache.counts(changed))[0] == regex_words(items[0][1], "an abstract about protein folding")
    assert (cache.hits, cache.misses) == (399, 201)
    more = [(p.arxiv_id, p.title, p.abstract) for p in papers[200:300]]
    assert bags(cache.counts(more)) == [regex_words(t, a) for _, t, a in more]
    assert cache.misses == 301
    cache.counts([changed[0], items[199]])  # used last: still there
    assert cache.misses == 301
    cache.counts(items[1:2])  # among the least recently used 50 of 300: dropped (250 kept), tokenised again
    assert cache.misses == 302


def test_a_full_lexicon_starts_afresh_and_counts_stay_right(papers):
    cache = wordcounts.Cache(max_words=500)
    for start in range(0, 60, 20):
        items = [(p.arxiv_id, p.title, p.abstract) for p in papers[start:start + 20]]
        assert bags(cache.counts(items)) == [regex_words(t, a) for _, t, a in items]
    assert cache.misses == 60


def test_the_ranking_does_not_depend_on_what_the_cache_saw_before(store, papers):
    uid = member(store, "det", of(papers, "cs.CL")[:6])
    candidates = [p.arxiv_id for p in papers[:900]]
    recommend.WORDS.clear()
    cold = recommend.rank(store, uid, candidates, limit=200)
    recommend.WORDS.clear()
    recommend.WORDS.counts([(p.arxiv_id, p.title, p.abstract) for p in papers[::-1]])  # other codes, other order
    warm = recommend.rank(store, uid, candidates, limit=200)
    assert cold.method == warm.method == "tf-idf (linear SVM)"
    assert [(r.paper_id, r.score, r.nearest, r.reasons) for r in warm.items] == \
        [(r.paper_id, r.score, r.nearest, r.reasons) for r in cold.items]


def test_the_vocabulary_does_not_depend_on_the_words_codes(papers):
    docs = [(p.arxiv_id, p.title, p.abstract) for p in papers[:300]]
    fresh = wordcounts.Cache().counts(docs)
    seen = wordcounts.Cache()
    seen.counts([(p.arxiv_id, p.title, p.abstract) for p in papers[300:]])  # the words of other papers coded first
    again = seen.counts(docs)
    assert [fresh.words[c] for c in fresh.codes[:50]] == [again.words[c] for c in again.codes[:50]]
    rank = np.argsort(np.argsort(again.words[:again.n_codes]))  # a code's place among the words in alphabetical order
    assert not np.all(np.diff(rank) > 0)  # codes are not in alphabetical order: first seen, batch by batch
    for cap in (150, 1000, tfidf.MAX_FEATURES):  # the cap falls among words of equal frequency: ties by word
        a, b = tfidf.fit(fresh, np.arange(300), max_features=cap), tfidf.fit(again, np.arange(300), max_features=cap)
        assert a.words == b.words == sorted(a.words) and np.array_equal(a.idf, b.idf)


def test_vectors_are_read_without_the_rest_of_their_row(store, papers):
    from dailypapers.search.encoder.embeddings import MODEL_ID

    ids = [p.arxiv_id for p in papers[:4]]
    vecs = np.arange(4 * 3, dtype=np.float32).reshape(4, 3)
    assert vector_model(store, MODEL_ID) is None
    save_vectors(store, "other-model", [(pid, "h", v) for pid, v in zip(ids[:3], vecs, strict=False)])
    assert vector_model(store, MODEL_ID) == "other-model"  # none of the preferred: the one with most vectors
    save_vectors(store, MODEL_ID, [(ids[3], "h", vecs[3])])
    assert vector_model(store, MODEL_ID) == MODEL_ID
    found, matrix = stored_vectors(store, "other-model", [ids[2], "9999.99999", ids[0], ids[3]])
    assert found == [ids[2], ids[0]] and matrix.dtype == np.float32
    assert np.array_equal(matrix, vecs[[2, 0]])
    assert stored_vectors(store, "no-such-model", ids)[1].shape == (0, 0)
