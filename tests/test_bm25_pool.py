"""The keyword index's pool re-scoring (numpy over the candidate pool, KeywordIndex.candidates)
against a straightforward reference on real papers: every candidate's text analysed afresh, its
term frequencies counted token by token, document frequencies and average field lengths counted
over the live papers in Python, BM25 one document and one field at a time. Same pool, same
scores to the last bit, same order, on an index that followed updates and deletions."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from test_search_keyword import load_listings
from test_search_ranking import QUERIES, followed

from dailypapers.ids import order_rank
from dailypapers.models import Author, Paper
from dailypapers.search import bm25
from dailypapers.search.keyword import BOOSTS, Hit, KeywordIndex, _build_query, _count, _Highlighter, _pool, analyse
from dailypapers.search.query import ParsedQuery, parse_query

TIE_BREAKER = 0.1


def texts(paper: Paper) -> dict[str, str]:
    return {"title": " ".join(paper.title.split()), "abstract": " ".join((paper.abstract or "").split()),
            "authors": ", ".join(" ".join(a.name.split()) for a in paper.authors), "fulltext": ""}


class Reference:
    """BM25 over `papers` (the live ones), computed the plain way."""

    def __init__(self, papers: list[Paper]) -> None:
        self.tokens = {p.arxiv_id: {name: analyse(name, text) for name, text in texts(p).items()} for p in papers}
        self.docs = len(papers)
        self.avg = {name: sum(len(t[name]) for t in self.tokens.values()) / self.docs for name in BOOSTS}
        self.df = {name: Counter(tok for t in self.tokens.values() for tok in set(t[name])) for name in BOOSTS}

    def score(self, q: ParsedQuery, arxiv_id: str) -> float:
        tokens = self.tokens[arxiv_id]
        total = 0.0
        for text in q.terms + q.phrases:
            scores = []
            for name, boost in BOOSTS.items():
                run = analyse(name, text)
                if not run:
                    continue
                idf = sum(bm25.idf(self.df[name][t], self.docs) for t in run)
                freq = sum(1 for i in range(len(tokens[name])) if tokens[name][i:i + len(run)] == run)
                scores.append(boost * bm25.term_score(freq, len(tokens[name]), self.avg[name], idf))
            total += bm25.dismax([s for s in scores if s > 0], TIE_BREAKER)
        return total

    def ranking(self, index: KeywordIndex, q: ParsedQuery, depth: int, any_word: bool) -> list[tuple[str, float]]:
        """The same pool as the index takes (tantivy's best matches), scored and ordered here."""
        searcher = index.searcher()
        query, _ = _build_query(q, relaxed=any_word)
        assert query is not None
        pool = _pool(searcher, query, _count(searcher, query), depth)
        ids = [searcher.doc(a).get_first("arxiv_id") for a in pool]
        scored = sorted(((self.score(q, pid), pid) for pid in ids), key=lambda s: (-s[0], -order_rank(s[1]), s[1]))
        return [(pid, score) for score, pid in scored[:depth]]


@pytest.fixture(scope="module")
def papers() -> list[Paper]:
    return load_listings(2500)


@pytest.fixture(scope="module")
def index(tmp_path_factory, papers) -> KeywordIndex:
    return followed(Path(tmp_path_factory.mktemp("pool")) / "followed", papers)


@pytest.fixture(scope="module")
def reference(papers) -> Reference:
    return Reference(papers)


@pytest.mark.parametrize("text", [*QUERIES, "author:Wang learning", "model cat:cs.CV", '"large language" model'])
@pytest.mark.parametrize("any_word", [None, True])
def test_pool_scores_match_the_reference(index, reference, text, any_word):
    q = parse_query(text)
    found = index.candidates(q, 300, any_word=any_word)
    expected = reference.ranking(index, q, 300, found.relaxed)
    assert found.hits, "every query here matches something"
    assert [(h.arxiv_id, h.score) for h in found.hits] == expected


def test_the_reference_is_not_trivially_equal_to_tantivy(index):
    """The followed index counts deleted documents, so tantivy's own scores differ from the
    live-paper scores the pool gets: the comparison above is one that could fail."""
    q = parse_query("video generation")
    ours = {h.arxiv_id: h.score for h in index.candidates(q, 100).hits}
    theirs = {h.arxiv_id: h.score for h in index.search(q, 0, 100).hits}
    common = sorted(set(ours) & set(theirs))
    assert common and any(abs(ours[p] - theirs[p]) > 1e-4 * ours[p] for p in common)


def test_vectorised_formula_equals_the_scalar_one_bit_for_bit():
    rng = np.random.default_rng(3)
    freqs = rng.integers(0, 6, 500)
    lengths = rng.integers(0, 3000, 500)
    got = bm25.term_scores(freqs, lengths, 173.25, 2.75)
    want = [bm25.term_score(int(f), int(n), 173.25, 2.75) for f, n in zip(freqs, lengths, strict=True)]
    assert got.tolist() == want
    rows = [rng.random(50) * rng.integers(0, 2, 50) for _ in range(3)]
    mixed = bm25.dismax_rows(rows, TIE_BREAKER).tolist()
    assert mixed == [bm25.dismax([r[i] for r in rows if r[i] > 0], TIE_BREAKER) for i in range(50)]


def test_highlight_loads_the_text_of_the_page_only(index):
    q = parse_query("video generation")
    hits = index.candidates(q, 50).hits
    assert all(not h.fields and h.published is None for h in hits)
    index.highlight(q, hits[:5])
    assert all(h.fields["title"] and h.highlights for h in hits[:5])
    assert all(not h.fields for h in hits[5:])


def test_repeated_words_and_phrases_count_as_the_reference_counts_them(tmp_path):
    """Runs at the edges of a field, repeated back to back, overlapping themselves, and inside
    longer words (which do not count)."""
    papers = [Paper("2401.00001", "Deep deep deep learning", "learning deep deep. Deeper deepness deep",
                    [Author("Deep Learner")]),
              Paper("2401.00002", "Learning", "deep learning learning deep", [Author("Ada Deep")]),
              Paper("2401.00003", "Nothing here", "undeep mislearning", [Author("Bo Other")])]
    index = KeywordIndex(tmp_path / "repeats")
    index.rebuild(papers)
    reference = Reference(papers)
    for text in ['"deep deep"', "deep", "learning deep", '"deep learning"', '"deep deep deep"']:
        q = parse_query(text)
        found = index.candidates(q, 10)
        assert found.hits and [(h.arxiv_id, h.score) for h in found.hits] == reference.ranking(index, q, 10, False)


@pytest.mark.parametrize("text", ["video generation", "benchmark", "graph", '"neural networks"',
                                  "segmentation cat:cs.CV"])
def test_match_ids_are_the_papers_with_every_word(index, text):
    """Hybrid's literal tier reads the every-word matches as a set when no more than RANK_DEPTH
    have them: the same papers the ranked list holds."""
    q = parse_query(text)
    total = index.count(q)
    assert 0 < total <= 1000
    ids = index.match_ids(q, total)
    assert len(ids) == len(set(ids)) == total
    assert set(ids) == {h.arxiv_id for h in index.candidates(q, 1000).hits}
    assert len(set(index.match_ids(q, 5)) & set(ids)) == 5


def test_highlights_from_stored_tokens_are_the_analysers(tmp_path, papers):
    """The highlighter reads each field's words from the stored `terms` field and splits ASCII
    text itself; on real abstracts and on edge cases (tokens of 39 to 41 characters, digits,
    underscores, accents, other scripts) it marks exactly what analysing the text marks."""
    edge = [Paper("2401.00011", "Graph_nets for 3D graphs: " + "g" * 39 + " " + "graph" + "h" * 35 + " ok",
                  "Grâph réseaux, graph-based graph's GRAPHS 12graph graph12 " + "x" * 40 + " graph " + "y" * 41,
                  [Author("Gráph Graphson")]),
            Paper("2401.00012", "Графы and graph learning", "学习 graph 🙂 learning déjà-vu graphs", [Author("A B")])]
    index = KeywordIndex(tmp_path / "edges")
    index.rebuild([*papers[:300], *edge])
    for text in ["graph learning", "graph", '"graph learning"', "video generation benchmark", "déjà vu",
                 "author:Graphson"]:
        q = parse_query(text)
        hits = [Hit(p.arxiv_id, 0.0) for p in [*papers[:300], *edge]]
        index.highlight(q, hits)
        highlighter = _Highlighter(q)
        for hit in hits:
            assert (hit.matched_terms, hit.highlights) == highlighter(hit.fields), (text, hit.arxiv_id)
        assert any(h.highlights for h in hits)


def test_a_commit_made_elsewhere_is_seen_by_the_next_search(tmp_path, papers):
    """The reader reloads only when meta.json changed: a commit through another KeywordIndex
    (another process) is still seen by the next search, and a search without one reuses it."""
    reader, writer = KeywordIndex(tmp_path / "shared"), KeywordIndex(tmp_path / "shared")
    writer.add(papers[:50])
    q = parse_query("zzqquniqueword")
    assert reader.count(q) == 0
    writer.add([Paper("2401.00099", "zzqquniqueword", "an abstract", [Author("A B")])])
    assert reader.count(q) == 1 and reader.match_ids(q, 5) == ["2401.00099"]
    writer.delete(["2401.00099"])
    assert reader.count(q) == 0
