"""A bulk import gives SQLite connections a larger page cache while it runs, and only then
(store/db.py bulk_load); PostgreSQL connections are left as they are. COPY cuts over-long values."""

from __future__ import annotations

import pytest
from sources_helpers import FIXTURES, needs_data

from dailypapers.ingest import importer
from dailypapers.models import Paper, Record
from dailypapers.store import Store, db

pytestmark = needs_data
SNAPSHOT = FIXTURES / "kaggle-snapshot" / "kaggle_snapshot_first200.jsonl"


def _cache_size(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA cache_size").scalar_one()


def test_sqlite_import_runs_with_a_larger_cache_then_gives_it_back(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        assert _cache_size(store) == -db.SQLITE_DEFAULT_CACHE_KIB
        during: list[int] = []
        report = importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0, batch_size=50,
                                       on_records=lambda _n: during.append(_cache_size(store)))
        assert report.ok and report.records == 200
        assert during and set(during) == {-db.IMPORT_CACHE_KIB}
        assert _cache_size(store) == -db.SQLITE_DEFAULT_CACHE_KIB
    finally:
        store.close()


def test_sqlite_cache_is_given_back_when_an_import_fails(tmp_path):
    store = Store.open(f"sqlite:///{tmp_path / 'p.db'}")

    def stop(_n: int) -> None:
        raise RuntimeError("stopped")

    try:
        with pytest.raises(RuntimeError, match="stopped"):
            importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0, batch_size=50, on_records=stop)
        assert _cache_size(store) == -db.SQLITE_DEFAULT_CACHE_KIB
    finally:
        store.close()


def test_over_long_values_are_cut_on_postgresql_as_insert_did(database_url):
    """COPY refuses a value longer than its VARCHAR(n); insert() let PostgreSQL cut it, and so does
    store/bulk.py. SQLite keeps the whole value (it enforces no length)."""
    long_category = "x." + "y" * 100
    paper = Paper(arxiv_id="2401.00001", title="T", abstract="A", version=1,
                  categories=["cs.LG", long_category], primary_category=long_category)
    store = Store.open(database_url)
    try:
        store.write([Record(paper=paper), Record(paper=Paper(arxiv_id="2401.00002", title="U", abstract="B",
                                                             version=1, categories=["cs.AI"]))])
        stored = store.get_paper("2401.00001")
        expected = long_category[:64] if not store.is_sqlite else long_category
        assert stored.categories == ["cs.LG", expected] and stored.primary_category == expected
        assert store.get_paper("2401.00002").categories == ["cs.AI"]
    finally:
        store.close()
