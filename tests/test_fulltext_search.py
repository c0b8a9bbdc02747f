"""Full text in keyword search (issue 15 item 7): a word found only inside a paper's text finds
it, a paper with the word in its abstract ranks above one with it only in its text (the fourth
field is weighted below the abstract), text stored after the paper was indexed reaches the index
through the change sequence, the re-scorer agrees with tantivy's pool, and an index of the
previous schema is refilled with it."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from dailypapers.models import Author, Paper, Record
from dailypapers.search import keyword
from dailypapers.search.keyword import BOOSTS, FULLTEXT_BOOST, KeywordIndex
from dailypapers.search.query import parse_query
from dailypapers.search.sync import follow_keyword_index, rebuild_keyword_index
from dailypapers.store import Store

T = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)


def paper(arxiv_id: str, abstract: str) -> Record:
    return Record(Paper(arxiv_id, f"Paper {arxiv_id} on attention", abstract, [Author("Ada Lovelace")], version=1,
                        primary_category="cs.CL", categories=["cs.CL"], published=T))


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    s.write([paper("2611.00001", "We mention the axolotl once in the abstract."),
             paper("2611.00002", "Nothing about amphibians here."),
             paper("2611.00003", "A third paper without the word.")])
    yield s
    s.close()


def ids(index: KeywordIndex, query: str) -> list[str]:
    return [hit.arxiv_id for hit in index.candidates(parse_query(query)).hits]


def test_the_full_text_is_a_fourth_field_weighted_below_the_abstract():
    assert list(BOOSTS) == ["title", "authors", "abstract", "fulltext"]
    assert 0 < FULLTEXT_BOOST < BOOSTS["abstract"]


def test_a_word_inside_the_text_finds_the_paper_and_ranks_below_the_abstract(store, tmp_path):
    path = tmp_path / "keyword"
    follow_keyword_index(store, path)
    index = KeywordIndex(path)
    assert ids(index, "axolotl") == ["2611.00001"]
    # text stored later is a change: the follower re-indexes the paper with it
    store.fulltext.record_text("2611.00002", "Methods\n\nThe axolotl regrows its limbs; the axolotl is studied.",
                               3, None, None, T)
    assert follow_keyword_index(store, path, index) == 1
    assert ids(index, "axolotl") == ["2611.00001", "2611.00002"]  # the abstract's one mention wins
    assert ids(index, "regrows limbs") == ["2611.00002"]
    assert ids(index, '"regrows its limbs"') == ["2611.00002"]  # phrases too
    assert ids(index, "zebrafish") == []
    scores = {h.arxiv_id: h.score for h in index.candidates(parse_query("axolotl")).hits}
    assert scores["2611.00001"] > scores["2611.00002"] > 0
    # the re-scorer (search/bm25.py over the stored tokens) orders tantivy's pool as a fresh rebuild does
    fresh = KeywordIndex(tmp_path / "fresh")
    rebuild_keyword_index(store, fresh)
    assert {h.arxiv_id: h.score for h in fresh.candidates(parse_query("axolotl")).hits} == pytest.approx(scores)


def test_only_the_first_words_of_a_long_text_are_indexed(store, tmp_path):
    filler = " ".join(["filler"] * keyword.FULLTEXT_WORDS)
    store.fulltext.record_text("2611.00003", f"early {filler} lateword", 99, None, None, T)
    path = tmp_path / "keyword"
    follow_keyword_index(store, path)
    index = KeywordIndex(path)
    assert ids(index, "early") == ["2611.00003"]
    assert ids(index, "lateword") == []


def test_an_index_of_the_previous_schema_is_refilled_with_the_full_text(store, tmp_path):
    store.fulltext.record_text("2611.00002", "The axolotl appears in the text.", 1, None, None, T)
    path = tmp_path / "keyword"
    follow_keyword_index(store, path)
    state = json.loads((path / "state.json").read_text())
    (path / "state.json").write_text(json.dumps({**state, "schema": keyword.SCHEMA_VERSION - 1}))
    reopened = KeywordIndex(path)  # a new generation of this schema, with nothing consumed yet
    assert reopened.last_seq == 0 and reopened.doc_count() == 0
    follow_keyword_index(store, path, reopened)
    assert reopened.doc_count() == 3 and ids(reopened, "axolotl") == ["2611.00001", "2611.00002"]
