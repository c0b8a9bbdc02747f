"""The tantivy keyword index, on disk, with hand-written papers and real arXiv listings."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
import random
import threading
from pathlib import Path

import pytest
from support.paths import LISTINGS as LISTINGS_FILE  # noqa: E402
from test_search_query import HOSTILE

from dailypapers.errors import InvalidQuery
from dailypapers.ids import order_rank
from dailypapers.models import Author, Paper
from dailypapers.search.keyword import KeywordIndex, SearchPage, analyse
from dailypapers.search.query import MAX_QUERY_LENGTH, parse_query

LISTINGS = [LISTINGS_FILE]
MARK = "glimmerwick"  # a made-up word in every hand-written abstract


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.timezone.utc)


def hand(arxiv_id: str, title: str, abstract: str, authors: list[str], cats: list[str], published) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        title=title,
        abstract=f"{abstract} {MARK}",
        authors=[Author(a) for a in authors],
        categories=cats,
        primary_category=cats[0] if cats else None,
        published=published,
    )


HAND = [
    hand("h.1", "Zorblax energy models for tiny robots", "We build small robots.",
         ["Alice Quux", "Bob Frobnitz"], ["cs.RO"], utc(2024, 1, 10)),
    hand("h.2", "A study of something else entirely", "Zorblax appears here, and zorblax again.",
         ["Carol Quux"], ["cs.CL", "cs.LG"], utc(2024, 2, 15)),
    hand("h.3", "<script>alert(1)</script> Energy models", "Plain & simple <b>bold</b> text on grommets.",
         ["Dana Scully"], ["stat.ML"], utc(2024, 3, 1, 18)),
    hand("h.4", "Quibbleton frazzle networks", "Adjacent words.", ["Zoë Ñandú"], ["cs.NE"], utc(2024, 4, 1)),
    hand("h.5", "Frazzle of the quibbleton kind", "Same words, apart.", ["Eve Frobnitz"], ["cs.NE"], None),
]


def load_listings(n: int = 2000) -> list[Paper]:
    """The first `n` real papers, parsed here with json (the sources parser is not ours)."""
    path = next(p for p in LISTINGS if p.exists())
    papers = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in itertools.islice(fh, n):
            r = json.loads(line)
            papers.append(Paper(
                arxiv_id=r["id"],
                title=r["title"],
                abstract=r["summary"],
                authors=[Author(a) for a in r["authors"]],
                categories=r["categories"],
                primary_category=(r["categories"] or [None])[0],
                published=dt.datetime.fromisoformat(r["announced"]).replace(tzinfo=dt.timezone.utc),
            ))
    return papers


@pytest.fixture(scope="module")
def real() -> list[Paper]:
    return load_listings()


@pytest.fixture(scope="module")
def index(tmp_path_factory, real) -> KeywordIndex:
    """A read-only index of the hand-written papers plus 2,000 real ones."""
    idx = KeywordIndex(tmp_path_factory.mktemp("kw") / "keyword")
    assert idx.rebuild(HAND + real) == len(HAND) + len(real)
    return idx


@pytest.fixture
def fresh(tmp_path) -> KeywordIndex:
    idx = KeywordIndex(tmp_path / "keyword")
    idx.add(HAND)
    return idx


def ids(page: SearchPage) -> list[str]:
    return [h.arxiv_id for h in page.hits]


def search(idx: KeywordIndex, raw: str, **kw) -> SearchPage:
    return idx.search(parse_query(raw), **kw)


def all_ids(idx: KeywordIndex, raw: str, page: int = 100, sort: str = "relevance") -> list[str]:
    out: list[str] = []
    while True:
        got = ids(search(idx, raw, offset=len(out), limit=page, sort=sort))
        if not got:
            return out
        out += got


# --- matching --------------------------------------------------------------------------------


def test_exact_ids_for_specific_queries(index: KeywordIndex) -> None:
    assert ids(search(index, "zorblax")) == ["h.1", "h.2"]
    assert ids(search(index, "zorblax robots")) == ["h.1"]
    assert ids(search(index, "grommets")) == ["h.3"]
    assert set(ids(search(index, MARK, limit=50))) == {p.arxiv_id for p in HAND}
    assert search(index, "zorblax robots").relaxed is False


def test_title_outranks_abstract(index: KeywordIndex) -> None:
    page = search(index, "zorblax")
    first, second = page.hits
    assert (first.arxiv_id, second.arxiv_id) == ("h.1", "h.2")  # h.2 has the word twice, in its abstract
    assert first.score > second.score > 0


def test_title_boost_on_real_data(index: KeywordIndex) -> None:
    for word in ("diffusion", "robot", "graph"):
        top = search(index, word, limit=5).hits
        assert all("title" in h.highlights for h in top), word


def test_stemming_and_case(index: KeywordIndex) -> None:
    assert ids(search(index, "ZORBLAX robot")) == ["h.1"]
    assert ids(search(index, "Grommet")) == ["h.3"]


def test_phrase_versus_words(index: KeywordIndex) -> None:
    assert ids(search(index, "quibbleton frazzle")) == ["h.4", "h.5"]
    assert ids(search(index, '"quibbleton frazzle"')) == ["h.4"]
    assert ids(search(index, '"frazzle quibbleton"')) == []


def test_hyphenated_word_is_a_phrase(index: KeywordIndex) -> None:
    assert ids(search(index, "quibbleton-frazzle")) == ["h.4"]


def test_conjunction_matches_brute_force(index: KeywordIndex, real: list[Paper]) -> None:
    words = ["graph", "neural"]
    wanted = analyse("abstract", " ".join(words))
    expected = {
        p.arxiv_id for p in real if all(w in analyse("abstract", f"{p.title} {p.abstract}") for w in wanted)
    }
    got = all_ids(index, " ".join(words))
    assert len(got) == len(set(got)) and set(got) == expected and len(expected) > 10


def test_relaxed_when_no_paper_has_every_word(index: KeywordIndex) -> None:
    page = search(index, "zorblax qqqnotawordqqq")
    assert page.relaxed is True
    assert ids(page) == ["h.1", "h.2"]
    assert page.hits[0].matched_terms == ["zorblax"]
    assert search(index, "qqqnotawordqqq zzznotawordzzz").total == 0


def test_phrase_is_never_relaxed(index: KeywordIndex) -> None:
    page = search(index, '"quibbleton frazzle" zorblax qqqnotawordqqq')
    assert page.total == 0


def test_real_titles_find_their_paper(index: KeywordIndex, real: list[Paper]) -> None:
    for paper in real[::97]:
        page = search(index, f'"{" ".join(paper.title.split()[:12])}"'.replace('""', ""))
        assert paper.arxiv_id in ids(page)[:3], paper.title


def test_known_real_paper(index: KeywordIndex, real: list[Paper]) -> None:
    assert ids(search(index, '"unsafe weights manipulation"'))[0] == "2503.11742"
    assert ids(search(index, "author:Mancini cat:cs.CV safe vision language")) == ["2503.11742"]


# --- filters ---------------------------------------------------------------------------------


def test_author_filter(index: KeywordIndex) -> None:
    assert ids(search(index, "author:quux")) == ["h.2", "h.1"]  # filter only: newest first
    assert ids(search(index, 'author:"Alice Quux"')) == ["h.1"]
    assert ids(search(index, 'author:"Quux Alice"')) == ["h.1"]  # every word, any order
    assert ids(search(index, "au:frobnitz zorblax")) == ["h.1"]
    assert ids(search(index, 'author:"zoe nandu"')) == ["h.4"]  # accents folded
    assert ids(search(index, 'author:"Alice Scully"')) == []


def test_author_filter_does_not_change_scores(index: KeywordIndex) -> None:
    plain = search(index, "zorblax").hits[0]
    filtered = search(index, "zorblax author:alice").hits[0]
    assert plain.arxiv_id == filtered.arxiv_id and plain.score == pytest.approx(filtered.score)


def test_category_filter_exact_and_prefix(index: KeywordIndex) -> None:
    assert ids(search(index, f"{MARK} cat:cs.CL")) == ["h.2"]
    assert ids(search(index, f"{MARK} cat:cs.lg")) == ["h.2"]
    assert sorted(ids(search(index, f"{MARK} cat:cs"))) == ["h.1", "h.2", "h.4", "h.5"]
    assert sorted(ids(search(index, f"{MARK} cat:cs.*"))) == ["h.1", "h.2", "h.4", "h.5"]
    assert ids(search(index, f"{MARK} cat:stat")) == ["h.3"]
    assert sorted(ids(search(index, f"{MARK} cat:stat cat:cs.RO"))) == ["h.1", "h.3"]  # any of them
    assert ids(search(index, f"{MARK} cat:c")) == []  # prefixes are whole archive names


def test_category_filter_on_real_data(index: KeywordIndex, real: list[Paper]) -> None:
    expected = {p.arxiv_id for p in HAND + real if "cs.CL" in p.categories}
    assert set(all_ids(index, "cat:cs.CL", page=500)) == expected


def test_date_range(index: KeywordIndex) -> None:
    assert ids(search(index, f"{MARK} from:2024-02-01 to:2024-02-29")) == ["h.2"]
    assert set(ids(search(index, f"{MARK} from:2024-02"))) == {"h.2", "h.3", "h.4"}
    # to: is inclusive: h.3 was published at 18:00 on the day
    assert ids(search(index, f"{MARK} to:2024-03-01", sort="date")) == ["h.3", "h.2", "h.1"]
    assert ids(search(index, f"{MARK} to:2024-02-29", sort="date")) == ["h.2", "h.1"]
    page = index.search(parse_query(MARK, date_from=dt.date(2024, 3, 2), date_to="2024-12-31"))
    assert ids(page) == ["h.4"]  # h.5 has no date, so no range holds it


def test_sort_by_date(index: KeywordIndex) -> None:
    page = search(index, "learning", sort="date", limit=200)
    dates = [h.published for h in page.hits]
    assert page.sort == "date" and dates == sorted(dates, reverse=True)
    assert search(index, MARK, sort="date", limit=10).hits[-1].arxiv_id == "h.5"  # undated last


# --- pages -----------------------------------------------------------------------------------


def test_pagination(index: KeywordIndex) -> None:
    whole = search(index, "learning", limit=21)
    pages = [search(index, "learning", offset=o, limit=7) for o in (0, 7, 14)]
    assert sum((ids(p) for p in pages), []) == ids(whole)
    assert {p.total for p in pages} == {whole.total} and whole.total > 100
    beyond = search(index, "learning", offset=whole.total + 5, limit=10)
    assert beyond.hits == [] and beyond.total == whole.total
    last = search(index, "learning", offset=whole.total - 3, limit=10)
    assert len(last.hits) == 3


def test_limit_zero_counts_only(index: KeywordIndex) -> None:
    page = search(index, "zorblax", limit=0)  # tantivy itself panics on limit=0
    assert page.total == 2 and page.hits == []


@pytest.mark.parametrize("kw", [{"offset": -1}, {"limit": -1}, {"limit": 10_000}, {"sort": "random"}])
def test_bad_page_arguments(index: KeywordIndex, kw: dict) -> None:
    with pytest.raises(InvalidQuery):
        search(index, "zorblax", **kw)


# --- highlights ------------------------------------------------------------------------------


def test_highlights_escape_html(index: KeywordIndex) -> None:
    hit = search(index, "energy grommets").hits[0]
    assert hit.arxiv_id == "h.3"
    title = hit.highlights["title"]
    assert title == "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Energy</mark> models"
    assert "&lt;script&gt;" in title and "<script>" not in title and title.count("<mark>") == 1
    abstract = hit.highlights["abstract"]
    assert "&lt;b&gt;bold&lt;/b&gt;" in abstract and "<mark>grommets</mark>" in abstract
    assert "&amp;" in abstract and "<b>" not in abstract
    assert "authors" not in hit.highlights  # only fields where a word was found
    assert hit.matched_terms == ["energy", "grommets"]


def test_hostile_query_is_highlighted_safely(index: KeywordIndex) -> None:
    hit = search(index, "<script>alert(1)</script>").hits[0]
    assert hit.arxiv_id == "h.3"
    assert hit.highlights["title"].startswith("&lt;<mark>script</mark>&gt;<mark>alert</mark>(<mark>1</mark>)")


def test_author_and_phrase_highlights(index: KeywordIndex) -> None:
    hit = search(index, '"quibbleton frazzle" author:zoe').hits[0]
    assert hit.highlights["title"] == "<mark>Quibbleton</mark> <mark>frazzle</mark> networks"
    assert hit.highlights["authors"] == "<mark>Zoë</mark> Ñandú"
    assert hit.matched_terms == ["quibbleton frazzle"]


def test_long_abstract_snippet_is_a_window(index: KeywordIndex, real: list[Paper]) -> None:
    for hit in search(index, "benchmark", limit=20).hits:
        snippet = hit.highlights.get("abstract")
        if snippet:
            assert "<mark>" in snippet and len(snippet) < 280 + 20 * len("<mark></mark>") + 2


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_queries_never_raise_anything_but_invalid_query(index: KeywordIndex, raw: str) -> None:
    try:
        page = search(index, raw)
    except InvalidQuery:
        return
    assert page.total >= 0
    for hit in page.hits:
        assert all("<script>" not in s for s in hit.highlights.values())


def test_over_long_query(index: KeywordIndex) -> None:
    with pytest.raises(InvalidQuery):
        search(index, "energy " * (MAX_QUERY_LENGTH // 7 + 1))


# --- writing ---------------------------------------------------------------------------------


def test_upsert_by_id_does_not_duplicate(fresh: KeywordIndex) -> None:
    assert fresh.doc_count() == len(HAND)
    changed = hand("h.1", "Renamed wibblequark paper", "New.", ["Alice Quux"], ["cs.RO"], utc(2024, 1, 10))
    assert fresh.add([changed]) == 1
    assert fresh.doc_count() == len(HAND)
    assert ids(search(fresh, "wibblequark")) == ["h.1"]
    assert ids(search(fresh, "zorblax")) == ["h.2"]


def test_duplicates_within_one_batch_keep_the_last(fresh: KeywordIndex) -> None:
    a = hand("d.1", "First flarnish", "", [], [], None)
    b = hand("d.1", "Second snorkwidget", "", [], [], None)
    fresh.add([a, b])
    assert fresh.doc_count() == len(HAND) + 1
    assert ids(search(fresh, "snorkwidget")) == ["d.1"] and search(fresh, "flarnish").total == 0


def test_delete(fresh: KeywordIndex) -> None:
    assert fresh.delete(["h.1", "h.1", "nope"]) == 1
    assert ids(search(fresh, "zorblax")) == ["h.2"] and fresh.doc_count() == len(HAND) - 1


def test_another_instance_sees_commits_without_reopening(fresh: KeywordIndex) -> None:
    reader = KeywordIndex(fresh.path)
    assert ids(search(reader, "zorblax")) == ["h.1", "h.2"]
    fresh.add([hand("n.1", "Zorblax returns", "", [], [], None)])
    assert ids(search(reader, "zorblax"))[0] == "n.1"
    reader.add([hand("n.2", "Written by the reader", "", [], [], None)])  # the writer lock was released
    assert fresh.doc_count() == len(HAND) + 2


def test_reopen_keeps_documents(fresh: KeywordIndex) -> None:
    path = fresh.path
    del fresh
    assert KeywordIndex(path).doc_count() == len(HAND)


def test_rebuild_swaps_while_a_reader_is_open(fresh: KeywordIndex, real: list[Paper]) -> None:
    reader = KeywordIndex(fresh.path)
    assert search(reader, "zorblax").total == 2  # the reader holds generation 1 open
    assert fresh.rebuild(real[:300]) == 300
    assert search(reader, "zorblax").total == 0 and reader.doc_count() == 300
    fresh.rebuild(HAND)
    fresh.rebuild(real[:50])  # generation 1 is deleted now; the reader moves on
    assert reader.doc_count() == 50
    gens = [p.name for p in fresh.path.iterdir() if p.name.startswith("gen-")]
    assert len(gens) == 2  # the live one and the one before it


def test_readers_never_see_a_half_built_index(fresh: KeywordIndex, real: list[Paper]) -> None:
    reader = KeywordIndex(fresh.path)
    seen: set[int] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                seen.add(reader.doc_count())
                search(reader, "learning zorblax")
            except BaseException as exc:  # noqa: BLE001 - any failure is the test's failure
                errors.append(exc)
                return

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for _ in range(3):
            fresh.rebuild(real)
            fresh.rebuild(HAND)
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert seen <= {len(HAND), len(real)} and len(seen) >= 1


def test_failed_rebuild_keeps_the_old_index(fresh: KeywordIndex) -> None:
    def papers():
        yield HAND[0]
        raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        fresh.rebuild(papers())
    assert fresh.doc_count() == len(HAND)
    assert len([p for p in fresh.path.iterdir() if p.name.startswith("gen-")]) == 1


def test_last_seq_persists(tmp_path: Path) -> None:
    idx = KeywordIndex(tmp_path / "kw")
    assert idx.last_seq == 0
    idx.set_last_seq(42)
    assert KeywordIndex(tmp_path / "kw").last_seq == 42
    idx.rebuild(HAND)
    assert idx.last_seq == 42  # kept: the change feed replays from there
    idx.rebuild(HAND, last_seq=100)
    assert KeywordIndex(tmp_path / "kw").last_seq == 100
    with pytest.raises(ValueError):
        idx.set_last_seq(-1)


def test_papers_without_dates_or_categories(tmp_path: Path) -> None:
    idx = KeywordIndex(tmp_path / "kw")
    bare = Paper(arxiv_id="b.1", title="Bare blorptastic paper")
    ancient = Paper(arxiv_id="b.2", title="Ancient blorptastic", published=dt.datetime(1, 1, 1))
    assert idx.add([bare, ancient]) == 2
    assert sorted(ids(search(idx, "blorptastic"))) == ["b.1", "b.2"]
    assert search(idx, "blorptastic from:2000-01-01").total == 0


def test_date_order_is_the_same_whatever_the_index_layout(index: KeywordIndex, real, tmp_path: Path) -> None:
    """Papers of the same day (the listings carry dates only) come in one order on every node: a
    node that added the papers in small shuffled batches (other segments, other merges) pages
    through a date-sorted search exactly as a node that rebuilt them in one go."""
    other = KeywordIndex(tmp_path / "other")
    shuffled = list(reversed(HAND + real))
    random.Random(6).shuffle(shuffled)
    for start in range(0, len(shuffled), 97):
        other.add(shuffled[start:start + 97])
    for raw in ("learning", "cat:cs.LG", "cat:cs"):
        pages = [all_ids(idx, raw, page=7, sort="date") for idx in (index, other)]
        assert pages[0] == pages[1] and len(pages[0]) == len(set(pages[0])) > 5, raw
    hits = search(other, "cat:cs.LG", limit=1000).hits
    keys = [(h.published, order_rank(h.arxiv_id)) for h in hits]
    assert keys == sorted(keys, reverse=True)  # newest first, then the later-numbered id
    assert len({h.published for h in hits}) < len(hits)  # ties were there to break


def test_order_rank_follows_arxiv_numbering() -> None:
    ranked = ["hep-th/9108001", "hep-th/9912999", "hep-th/0001001", "hep-th/0703999", "0704.0001", "0704.9999",
              "1412.9999", "1501.00001", "2501.01234", "2501.10000", "9912.99999"]
    assert sorted(ranked, key=order_rank) == ranked
    olds = [f"{a}/{y:02d}{m:02d}{n:03d}" for a in ("math", "cs", "astro-ph", "supr-con", "unknown-arch")
            for y in (91, 99, 0, 7) for m in (1, 12) for n in (1, 999)]
    assert len({order_rank(i) for i in olds}) == len(olds)
    assert order_rank("math.AG/0101001") == order_rank("math/0101001")
    assert all(0 <= order_rank(i) < 2**32 for i in ranked + olds + ["h.3", "x" * 500])
