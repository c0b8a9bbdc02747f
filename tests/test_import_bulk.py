"""A bulk load (an import into a nearly empty database) drops the secondary indexes of the paper
tables and builds them at the end (store/deferred.py). A killed load leaves a consistent database
whose indexes the next command builds; a load still running keeps its indexes deferred."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sources_helpers import FIXTURES, needs_data
from sqlalchemy import func, inspect, select

from dailypapers.ingest import importer
from dailypapers.store import Store, deferred
from dailypapers.store.schema import checkpoints, paper_authors, papers, seen_records

pytestmark = needs_data
SNAPSHOT = FIXTURES / "kaggle-snapshot" / "kaggle_snapshot_first200.jsonl"
SRC = Path(__file__).resolve().parents[1] / "src"
DEFERRED = {index.name for index in deferred.DEFERRED}

# imports the snapshot in bulk mode, 20 lines a batch; after the first batch it says so and waits
# on its stdin, so the test kills it mid-run, with the indexes dropped, without sleeping
CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from dailypapers.ingest import importer
    from dailypapers.store import Store

    def first_batch_written(_n):
        print("written", flush=True)
        sys.stdin.readline()

    store = Store.open(sys.argv[1])
    importer.import_paths(store, "snapshot", [Path(sys.argv[2])], workers=0, batch_size=20, bulk=True,
                          on_records=first_batch_written)
""")


def _indexes(store: Store) -> set[str]:
    found = set()
    inspector = inspect(store.engine)
    for table in ("papers", "paper_authors", "paper_categories", "paper_changes"):
        found.update(i["name"] for i in inspector.get_indexes(table))
    return found & DEFERRED


def _marked(store: Store) -> bool:
    with store.engine.connect() as conn:
        return conn.execute(select(checkpoints).where(checkpoints.c.name == deferred.MARKER)).first() is not None


def _count(store: Store, table) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


def test_a_bulk_load_builds_the_indexes_again_at_the_end(store):
    assert _indexes(store) == DEFERRED
    during: list[set[str]] = []
    report = importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0, batch_size=50, bulk=True,
                                   on_records=lambda _n: during.append(_indexes(store)))
    assert report.ok and report.written.inserted == 200
    assert during and all(found == set() for found in during)
    assert _indexes(store) == DEFERRED and not _marked(store)
    again = importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0, bulk=True)
    assert again.skipped_seen == 200  # the bulk load remembered its lines


def test_a_small_import_into_a_full_database_keeps_its_indexes(store, monkeypatch):
    importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0)
    monkeypatch.setattr(importer, "BULK_MIN_BYTES", 1)
    monkeypatch.setattr(importer, "BULK_MAX_PAPERS", 100)  # 200 stored: more than "nearly empty"
    during: list[set[str]] = []
    importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0,
                          on_records=lambda _n: during.append(_indexes(store)))
    assert during and all(found == DEFERRED for found in during)


def test_a_killed_bulk_load_is_consistent_and_the_next_command_builds_the_indexes(database_url):
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, database_url, str(SNAPSHOT)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
        store = Store.open(database_url, migrate_schema=False)
        try:
            assert _indexes(store) == set() and _marked(store)
            assert not deferred.restore_abandoned(store.engine)  # the load is alive: its indexes stay deferred
            assert _indexes(store) == set()
        finally:
            store.close()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    store = Store.open(database_url)  # the next command
    try:
        assert _indexes(store) == DEFERRED and not _marked(store)
        assert 20 <= _count(store, papers) < 200  # the batches committed before the kill, whole
        assert _count(store, seen_records) == _count(store, papers)
        with store.engine.connect() as conn:
            orphans = conn.execute(select(func.count()).select_from(paper_authors).where(
                paper_authors.c.paper_id.not_in(select(papers.c.id)))).scalar_one()
            assert orphans == 0
            if store.is_sqlite:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        report = importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0)
        assert report.ok and _count(store, papers) == 200
        assert report.skipped_seen == report.written.unchanged  # what the killed load wrote is not parsed again
    finally:
        store.close()


def test_a_failed_batch_write_stops_the_import_with_the_earlier_batches_kept(store, monkeypatch):
    """On PostgreSQL batches are written in a thread (ingest/writer.py): its error still reaches
    the caller, and the batches before it stay committed."""
    write, calls = store.write, []

    def fail_the_third(batch):
        calls.append(len(batch))
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return write(batch)

    monkeypatch.setattr(store, "write", fail_the_third)
    with pytest.raises(RuntimeError, match="disk full"):
        importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0, batch_size=50)
    assert _count(store, papers) == 100
    assert calls == [50, 50, 50]  # nothing written after the failure
