"""Re-importing a file skips the lines an earlier import applied (ingest/seen_lines.py), on both backends,
in this process and with parser processes, and still applies every line that changed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sources_helpers import FIXTURES, needs_data
from sqlalchemy import delete, func, select

from dailypapers.ingest import importer, seen_lines
from dailypapers.store import Store
from dailypapers.store.schema import (
    paper_authors,
    paper_categories,
    paper_links,
    paper_versions,
    papers,
    seen_records,
)

pytestmark = needs_data
SNAPSHOT = FIXTURES / "kaggle-snapshot" / "kaggle_snapshot_first200.jsonl"


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


def _written(report: importer.ImportReport) -> tuple[int, int, int, int]:
    w = report.written
    return w.inserted, w.updated, w.unchanged, report.skipped_seen


def _seen_rows(store: Store) -> int:
    with store.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(seen_records)).scalar_one()


@pytest.mark.parametrize("workers", [0, 1])
def test_a_second_import_skips_every_line_and_changes_nothing(store, workers):
    first = importer.import_paths(store, "snapshot", [SNAPSHOT], workers=workers)
    assert _written(first) == (200, 0, 0, 0)
    seq, rows = store.max_seq(), _seen_rows(store)
    assert rows == 200
    again = importer.import_paths(store, "snapshot", [SNAPSHOT], workers=workers)
    assert _written(again) == (0, 0, 200, 200) and again.records == 200 and again.ok
    assert store.max_seq() == seq and _seen_rows(store) == rows  # no change recorded, nothing new remembered


def test_a_changed_line_is_read_and_applied(store, tmp_path):
    importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0)
    lines = SNAPSHOT.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[42])
    record["title"] = "A retitled paper about glimmerwick"
    lines[42] = json.dumps(record).encode() + b"\n"
    changed = tmp_path / "changed.jsonl"
    changed.write_bytes(b"".join(lines))
    again = importer.import_paths(store, "snapshot", [changed], workers=0)
    assert _written(again) == (0, 1, 199, 199)
    assert store.get_paper(record["id"].strip()).title == "A retitled paper about glimmerwick"


def test_a_line_counts_as_seen_only_while_its_paper_is_stored(store):
    importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0)
    gone = json.loads(SNAPSHOT.read_bytes().splitlines()[7])["id"].strip()
    with store.engine.begin() as conn:  # a paper removed by hand (there is no command for it)
        for table in (paper_authors, paper_categories, paper_versions, paper_links):
            conn.execute(delete(table).where(table.c.paper_id == gone))
        conn.execute(delete(papers).where(papers.c.id == gone))
    again = importer.import_paths(store, "snapshot", [SNAPSHOT], workers=0)
    assert _written(again) == (1, 0, 199, 199)
    assert store.get_paper(gone).arxiv_id == gone


def test_bad_lines_are_reported_on_every_import(store, tmp_path):
    lines = SNAPSHOT.read_bytes().splitlines(keepends=True)
    lines[5:5] = [b"{not json\n", b'{"id": "not-an-id", "title": "x"}\n', b"\n"]
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"".join(lines))
    reports = [importer.import_paths(store, "snapshot", [damaged], workers=w) for w in (0, 0, 1)]
    for report in reports:
        assert report.error_count == 2 and [e.line for e in report.errors] == [6, 7]
    assert [r.skipped_seen for r in reports] == [0, 200, 200]


def test_the_same_lines_in_another_format_are_not_seen(store, tmp_path):
    """A listings line and a snapshot line are different records even with the same bytes."""
    listing = tmp_path / "one.jsonl"
    listing.write_text(json.dumps({"id": "2401.00001", "title": "Glimmerwick", "summary": "An abstract.",
                                   "authors": ["A. Person"], "categories": ["cs.LG"],
                                   "announced": "2024-01-02"}) + "\n")
    assert _written(importer.import_paths(store, "listings", [listing], workers=0)) == (1, 0, 0, 0)
    assert importer.import_paths(store, "snapshot", [listing], workers=0).skipped_seen == 0
    assert seen_lines.salt("listings") != seen_lines.salt("snapshot")


def test_a_change_to_the_parsing_code_makes_every_line_new(tmp_path):
    package = Path(seen_lines.__file__).resolve().parents[1]
    copy = tmp_path / "dailypapers"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))

    def digest_now() -> bytes:
        seen_lines.code_digest.cache_clear()
        return seen_lines.code_digest(copy)

    before = digest_now()
    with open(copy / "web" / "routes" / "pages.py", "a") as fh:
        fh.write("\n# not parsing code\n")
    assert digest_now() == before
    with open(copy / "sources" / "snapshot.py", "a") as fh:
        fh.write("\n# a parser change\n")
    assert digest_now() != before
    seen_lines.code_digest.cache_clear()
