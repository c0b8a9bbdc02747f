"""One ranking per query: the keyword list is the same on every node however its index was built
(tantivy's BM25 counts deleted documents and breaks ties by segment position; KeywordIndex
re-scores with the live papers' statistics), and the service pages one cached list."""

from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest
from test_search_keyword import load_listings

from dailypapers.ids import order_rank
from dailypapers.models import Author, Paper
from dailypapers.search import bm25
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import parse_query
from dailypapers.search.service import SearchService

QUERIES = ["video generation", "benchmark", "language models", '"neural networks"', "learning", "graph",
           "diffusion model image", "zzzunknownword transformer"]


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return load_listings(2500)


def rebuilt(path: Path, papers: list[Paper]) -> KeywordIndex:
    index = KeywordIndex(path)
    index.rebuild(papers)
    return index


def followed(path: Path, papers: list[Paper], seed: int = 7) -> KeywordIndex:
    """The same papers as a node that followed the database gets them: in batches, with papers
    updated (twice) and deleted and added back, and papers that came and went."""
    rng = random.Random(seed)
    index = KeywordIndex(path)
    for start in range(0, len(papers), 300):
        index.add(papers[start:start + 300])
    changed = rng.sample(papers, 400)
    index.add([dataclasses.replace(p, abstract=f"{p.abstract} video generation benchmark learning") for p in changed])
    index.add(changed)
    gone = rng.sample(papers, 150)
    index.delete([p.arxiv_id for p in gone])
    transient = [dataclasses.replace(p, arxiv_id=f"9901.{n:05d}") for n, p in enumerate(rng.sample(papers, 200))]
    index.add(transient)
    index.add(gone)
    index.delete([p.arxiv_id for p in transient])
    return index


@pytest.fixture(scope="module")
def nodes(tmp_path_factory, papers) -> tuple[KeywordIndex, KeywordIndex]:
    root = tmp_path_factory.mktemp("nodes")
    return rebuilt(root / "rebuilt", papers), followed(root / "followed", papers)


def ids(page) -> list[str]:
    return [h.arxiv_id for h in page.hits]


def test_the_two_nodes_hold_the_same_papers_but_tantivy_ranks_them_differently(nodes):
    a, b = nodes
    assert a.doc_count() == b.doc_count()
    differ = [q for q in QUERIES if ids(a.search(parse_query(q), 0, 1000)) != ids(b.search(parse_query(q), 0, 1000))]
    assert len(differ) >= 3, "the followed node must disagree with tantivy's own ranking, or this test proves nothing"


@pytest.mark.parametrize("text", QUERIES)
def test_two_nodes_rank_alike(nodes, text):
    a, b = nodes
    q = parse_query(text)
    ra, rb = a.candidates(q), b.candidates(q)
    assert (ra.total, ra.relaxed) == (rb.total, rb.relaxed) and ra.total > 0
    assert ids(ra) == ids(rb) and [h.score for h in ra.hits] == [h.score for h in rb.hits]
    assert len(ids(ra)) == min(ra.total, 1000) == len(set(ids(ra)))


@pytest.mark.parametrize("text", ["learning", "language models"])
def test_two_nodes_page_alike_through_the_service(nodes, text):
    pages = []
    for index in nodes:
        svc = SearchService(index, None, None)
        found = [svc.search(text, mode="keyword", offset=n * 30, limit=30) for n in range(10)]
        assert len({f.total for f in found}) == 1
        pages.append([r.arxiv_id for f in found for r in f.results])
    assert pages[0] == pages[1] and len(pages[0]) == len(set(pages[0])) == 300


def test_scores_are_tantivys_bm25_on_a_fresh_index(tmp_path, papers):
    """Without deleted documents the statistics agree, so the re-scored list is tantivy's own
    BM25 (to float32 precision): the formula and the field-length buckets are tantivy's."""
    index = rebuilt(tmp_path / "fresh", papers)
    for text in QUERIES[:6] + ["author:Wang learning"]:
        q = parse_query(text)
        tantivy_scores = {h.arxiv_id: h.score for h in index.search(q, 0, 1000).hits}
        ours = index.candidates(q).hits
        assert ours and set(tantivy_scores) >= {h.arxiv_id for h in ours[:100]}
        assert all(abs(tantivy_scores[h.arxiv_id] - h.score) <= 1e-5 * h.score for h in ours if h.arxiv_id in
                   tantivy_scores)


def twin(n: int) -> Paper:
    return Paper(f"2401.{n:05d}", "Identical twins of glimmerwick", "The very same abstract about glimmerwick.",
                 [Author("Ada Twin")])


def test_ties_go_to_the_newer_id_on_every_node(tmp_path):
    """40 papers with the same text tie; tantivy picks which of them fill a short list by their
    place in the segments, the ranking by id."""
    papers = [twin(n) for n in range(1, 41)]
    a = rebuilt(tmp_path / "a", papers)
    b = KeywordIndex(tmp_path / "b")
    for n in range(0, 40, 7):
        b.add(list(reversed(papers[n:n + 7])))
    b.add(papers[::3])
    newest = sorted((p.arxiv_id for p in papers), key=order_rank, reverse=True)
    for index in (a, b):
        page = index.candidates(parse_query("glimmerwick"), depth=10)
        assert page.total == 40 and ids(page) == newest[:10]


def test_a_ranking_is_computed_once_and_recomputed_after_a_change(tmp_path, papers):
    index = rebuilt(tmp_path / "cache", papers[:500])
    svc = SearchService(index, None, None)
    first = svc.search("learning", mode="keyword", limit=20)
    misses = svc.rankings.misses
    for n in range(1, 5):
        assert svc.search("learning", mode="keyword", offset=20 * n, limit=20).total == first.total
    assert svc.rankings.misses == misses  # paging read the cached list
    index.add([dataclasses.replace(papers[600], abstract="learning learning learning")])
    again = svc.search("learning", mode="keyword", limit=20)
    assert svc.rankings.misses > misses and again.total == first.total + 1  # the change made it recompute
    assert papers[600].arxiv_id in [e.arxiv_id for e in svc.ranking(parse_query("learning"), "keyword").entries]


def test_bm25_field_lengths_are_tantivys_buckets():
    assert [bm25.quantise(n) for n in (0, 39, 40, 41, 42, 43, 57, 59, 60, 200, 201, 10**10)] == [
        0, 39, 40, 40, 42, 42, 56, 56, 60, 200, 200, 2_013_265_944]
    assert bm25.frequency(["a", "b", "a", "a"], ["a"]) == 3 and bm25.frequency(["a", "a", "a"], ["a", "a"]) == 2
    assert bm25.dismax([3.0, 1.0, 2.0], 0.1) == pytest.approx(3.3)
