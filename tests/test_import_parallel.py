"""Parsing JSON Lines in parser processes gives exactly what parsing in this process gives:
the same records with the same line numbers, the same errors, the same stored rows."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sources_helpers import FIXTURES, needs_data

from dailypapers.errors import ParseError
from dailypapers.ingest import importer, parallel
from dailypapers.store import Store

pytestmark = needs_data
SNAPSHOT = FIXTURES / "kaggle-snapshot" / "kaggle_snapshot_first200.jsonl"


def _items(items) -> list:
    out = []
    for item in items:
        if isinstance(item, ParseError):
            out.append(("error", item.message, item.source, item.line))
        else:
            out.append(("record", item.paper, item.daily, item.line))
    return out


def _damaged(tmp_path: Path) -> Path:
    """The fixture with bad lines spread over several chunks: bad JSON, a bad id, blanks, bad UTF-8."""
    lines = SNAPSHOT.read_bytes().splitlines(keepends=True)
    lines.insert(3, b"{not json\n")
    lines.insert(10, b"\n")
    lines.insert(11, b'{"id": "not-an-id", "title": "x"}\n')
    lines.insert(57, b"\xff\xfe\n")
    lines.insert(120, b"   \n")
    lines.insert(150, b"\x1f\x8b looks like gzip\n")
    lines.append(b'{"id": "2101.00001", "title": "last line without a newline"}')
    path = tmp_path / "damaged.jsonl"
    path.write_bytes(b"".join(lines))
    return path


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("chunk_lines", [1, 7, 1000])
def test_parallel_parse_matches_in_process(tmp_path, monkeypatch, workers, chunk_lines):
    path = _damaged(tmp_path)
    monkeypatch.setattr(parallel, "CHUNK_LINES", chunk_lines)
    expected = _items(importer.parse_path("snapshot", path))
    got = _items(parallel.parse_path_parallel("snapshot", path, workers))
    assert [x[0] for x in expected].count("error") == 4
    assert got == expected


def test_parallel_parse_of_gzip_and_truncated_gzip(tmp_path, monkeypatch):
    monkeypatch.setattr(parallel, "CHUNK_LINES", 16)
    data = gzip.compress(SNAPSHOT.read_bytes())
    whole, cut = tmp_path / "whole.jsonl.gz", tmp_path / "cut.jsonl.gz"
    whole.write_bytes(data)
    cut.write_bytes(data[: len(data) // 2])
    for path in (whole, cut):
        expected = _items(importer.parse_path("snapshot", path))
        assert _items(parallel.parse_path_parallel("snapshot", path, 1)) == expected
    truncated = _items(parallel.parse_path_parallel("snapshot", cut, 1))
    assert truncated[-1][0] == "error" and "unreadable input" in truncated[-1][1]
    assert sum(x[0] == "record" for x in truncated) < 200


def test_parallel_parse_of_a_missing_file(tmp_path):
    got = _items(parallel.parse_path_parallel("listings", tmp_path / "nope.jsonl", 1))
    assert got == [("error", "no such file", str(tmp_path / "nope.jsonl"), None)]


def test_bytes_read_are_reported_from_the_reading_process(tmp_path):
    path = _damaged(tmp_path)
    seen: list[int] = []
    list(parallel.parse_path_parallel("snapshot", path, 1, on_read=seen.append))
    assert sum(seen) == path.stat().st_size


def test_import_with_parser_processes_stores_the_same_rows(tmp_path, make_database_url):
    path = _damaged(tmp_path)
    stores = [Store.open(make_database_url("inproc")), Store.open(make_database_url("workers"))]
    try:
        reports = [importer.import_paths(stores[0], "snapshot", [path], batch_size=13, workers=0),
                   importer.import_paths(stores[1], "snapshot", [path], batch_size=13, workers=2)]
        assert [(r.records, r.error_count, r.written) for r in reports[:1]] == \
            [(r.records, r.error_count, r.written) for r in reports[1:]]
        assert reports[0].records == 201 and reports[0].error_count == 4
        assert [str(e) for e in reports[0].errors] == [str(e) for e in reports[1].errors]
        ids = [p.arxiv_id for p in stores[0].iter_papers()]
        assert len(ids) == 201
        assert stores[0].papers_by_ids(ids) == stores[1].papers_by_ids(ids)
        again = importer.import_paths(stores[1], "snapshot", [path], workers=1)
        assert (again.written.inserted, again.written.updated, again.written.unchanged) == (0, 0, 201)
    finally:
        for store in stores:
            store.close()


@pytest.mark.only_backend("postgresql", reason="PostgreSQL's planner statistics (SQLite's planner needs none)")
def test_a_bulk_import_refreshes_the_planner_statistics(tmp_path, database_url, monkeypatch):
    monkeypatch.setattr(importer, "ANALYZE_AFTER", 100)
    store = Store.open(database_url)
    try:
        importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0)
        with store.engine.connect() as conn:
            analyzed = conn.exec_driver_sql("select count(*) from pg_stat_user_tables where relname in "
                                            "('papers', 'paper_authors') and last_analyze is not null").scalar()
        assert analyzed == 2
    finally:
        store.close()
