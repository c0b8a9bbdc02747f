"""The store on a real database (the backend under test): merging, idempotency, lists, the change feed."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from dailypapers.errors import NotFound
from dailypapers.models import Author, DailyEntry, Link, Paper, Record, Submitter, Version
from dailypapers.store import Store
from dailypapers.store.db import current_revision

UTC = dt.timezone.utc


def paper(pid="2405.15738", version=None, title="A title", **kw) -> Paper:
    return Paper(arxiv_id=pid, title=title, version=version, **kw)


def entry(pid="2405.15738", day=dt.date(2024, 5, 27), upvotes=3, **kw) -> DailyEntry:
    return DailyEntry(arxiv_id=pid, date=day, upvotes=upvotes, **kw)


@pytest.fixture
def store(database_url) -> Store:
    s = Store.open(database_url)
    yield s
    s.close()


def test_schema_is_migrated(store):
    assert current_revision(store.engine) is not None


@pytest.mark.only_backend("sqlite", reason="WAL is a SQLite journal mode")
def test_sqlite_runs_in_wal_mode(tmp_path):
    Store.open(f"sqlite:///{tmp_path / 'db.sqlite'}").close()
    con = sqlite3.connect(tmp_path / "db.sqlite")
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_write_then_read_round_trips_every_field(store):
    p = paper(version=2, abstract="Abstract.", authors=[Author("Ada Lovelace", "Analytical"), Author("B")],
              categories=["cs.CL", "cs.AI"], primary_category="cs.CL",
              published=dt.datetime(2024, 5, 24, 17, 34, 15, tzinfo=UTC),
              versions=[Version(1, dt.datetime(2024, 5, 24, tzinfo=UTC), "100kb"), Version(2, None, None)],
              comments="10 pages", journal_ref="J. Foo 1", doi="10.1/x", license="CC-BY",
              links=[Link("github", "https://github.com/a/b", "hf", 12)])
    summary = store.write([Record(p, entry(submitted_by=Submitter("ak", "AK", "/a.png")))])
    assert (summary.inserted, summary.updated, summary.unchanged) == (1, 0, 0)
    got = store.get_paper("2405.15738")
    assert got.authors == p.authors and got.categories == ["cs.CL", "cs.AI"]
    assert got.versions[0].submitted == dt.datetime(2024, 5, 24, tzinfo=UTC)
    assert got.links == p.links and got.doi == "10.1/x" and got.version == 2
    assert store.entries_for("2405.15738")[0].submitted_by.user == "ak"


def test_same_data_twice_changes_nothing(store):
    records = [Record(paper(f"2405.{n:05d}", version=1, abstract="x"), entry(f"2405.{n:05d}"))
               for n in range(10000, 10050)]
    store.write(records)
    seq = store.max_seq()
    again = store.write(records)
    assert (again.inserted, again.updated, again.unchanged, again.entries_written) == (0, 0, 50, 0)
    assert store.max_seq() == seq
    assert store.counts()["papers"] == 50


def test_newer_version_updates_and_older_only_fills_gaps(store):
    store.write([Record(paper(version=1, title="Old", abstract="old abstract"))])
    store.write([Record(paper(version=2, title="New", abstract=""))])
    got = store.get_paper("2405.15738")
    assert (got.title, got.abstract, got.version) == ("New", "old abstract", 2)
    store.write([Record(paper(version=1, title="Stale", doi="10.5/y"))])
    got = store.get_paper("2405.15738")
    assert (got.title, got.doi, got.version) == ("New", "10.5/y", 2)
    store.write([Record(paper(version=None, title="Unversioned"))])
    assert store.get_paper("2405.15738").title == "New"


def test_upvotes_keep_latest_snapshot(store):
    store.write([Record(paper(), entry(upvotes=3))])
    store.write([Record(paper(), entry(upvotes=41, num_comments=2))])
    (e,) = store.entries_for("2405.15738")
    assert (e.upvotes, e.num_comments) == (41, 2)


def test_links_are_merged_and_stars_updated(store):
    store.write([Record(paper(links=[Link("github", "https://github.com/a/b", "abstract")]))])
    store.write([Record(paper(links=[Link("github", "https://github.com/a/b", "hf", 99),
                                     Link("project", "https://a.github.io/b", "hf")]))])
    links = store.get_paper("2405.15738").links
    assert [(k.url, k.stars) for k in links] == [("https://github.com/a/b", 99), ("https://a.github.io/b", None)]


def test_daily_lists_rank_by_upvotes_with_one_row_per_paper(store):
    d1, d2 = dt.date(2024, 5, 27), dt.date(2024, 5, 28)
    store.write([
        Record(paper("2405.00001"), entry("2405.00001", d1, 5)),
        Record(paper("2405.00002"), entry("2405.00002", d1, 50)),
        Record(paper("2405.00003"), entry("2405.00003", d2, 7)),
        Record(paper("2405.00001"), entry("2405.00001", d2, 9)),
    ])
    day = store.daily(d1, d1)
    assert [i.paper.arxiv_id for i in day.items] == ["2405.00002", "2405.00001"] and day.total == 2
    week = store.daily(d1, d2)
    assert [i.paper.arxiv_id for i in week.items] == ["2405.00002", "2405.00001", "2405.00003"]
    assert week.items[1].entry.upvotes == 9
    assert store.daily(d1, d2, limit=1, offset=1).items[0].paper.arxiv_id == "2405.00001"
    assert store.latest_date() == d2
    assert store.neighbour_dates(d2) == (d1, None)
    assert store.neighbour_dates(dt.date(2024, 6, 30)) == (d2, None)


def test_unknown_paper_raises_not_found(store):
    with pytest.raises(NotFound):
        store.get_paper("9999.99999")


def test_author_and_category_pages(store):
    store.write([Record(paper("2405.00001", authors=[Author("José Núñez")], categories=["cs.CL"])),
                 Record(paper("2405.00002", authors=[Author("Jose Nunez")], categories=["cs.AI", "stat.ML"]))])
    name, page = store.by_author("jose-nunez")
    assert page.total == 2 and name in ("José Núñez", "Jose Nunez")
    assert store.by_category("cs").total == 2
    assert store.by_category("stat.ML").total == 1


def test_change_feed_and_checkpoints(store):
    store.write([Record(paper("2405.00001")), Record(paper("2405.00002"))])
    assert [pid for _, pid in store.changes_since(0)] == ["2405.00001", "2405.00002"]
    first = store.max_seq()
    store.write([Record(paper("2405.00002", version=1, title="changed"))])
    assert [pid for _, pid in store.changes_since(first)] == ["2405.00002"]
    assert store.load_checkpoint("x") is None
    store.save_checkpoint("x", {"token": "a"})
    store.save_checkpoint("x", {"token": "b"})
    assert store.load_checkpoint("x") == {"token": "b"}


def test_cursor_pagination_visits_every_paper_once(store):
    store.write([Record(paper(f"2405.{n:05d}")) for n in range(10000, 10025)])
    seen, cursor = [], None
    while True:
        batch, cursor = store.paper_cursor(cursor, 10)
        seen += [p.arxiv_id for p in batch]
        if cursor is None:
            break
    assert len(seen) == 25 == len(set(seen))
