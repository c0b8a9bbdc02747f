"""Moving up: SQLite → PostgreSQL copies (into the backend under test, so SQLite → SQLite in the SQLite
pass), and backup/restore round trips on the backend under test."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
import subprocess
import sys

import pytest
from support.databases import data_dir_env, data_dir_url

from dailypapers.models import Author, DailyEntry, Link, Paper, Record
from dailypapers.store import Store
from dailypapers.store.transfer import TransferError, backup, copy_database, count_rows, restore


def fill(store: Store, n: int = 40) -> None:
    store.write([Record(Paper(f"2405.{10000 + i}", f"Paper {i}", "abstract", [Author(f"A{i}"), Author("B")],
                              version=1, categories=["cs.CL"],
                              links=[Link("github", f"https://github.com/a/{i}", "hf")]),
                        DailyEntry(f"2405.{10000 + i}", dt.date(2024, 5, 27), upvotes=i), digest=_digest(i))
                 for i in range(n)])


def _digest(i: int) -> bytes:  # as an import of a line would remember it (seen_lines.py)
    return hashlib.blake2b(f"line {i}".encode(), digest_size=16).digest()


def test_copy_sqlite_into_the_backend_keeps_every_row_and_sequences(tmp_path, database_url):
    source = f"sqlite:///{tmp_path / 'src.db'}"
    store = Store.open(source)
    fill(store)
    store.close()
    target = database_url
    counts = copy_database(source, target)
    assert all(c.ok for c in counts) and {c.table: c.target for c in counts}["papers"] == 40
    moved = Store.open(target)
    assert moved.get_paper("2405.10003").authors == [Author("A3"), Author("B")]
    assert {c.table: c.target for c in counts}["seen_records"] == 40
    assert moved.seen({_digest(3), _digest(99)}) == {_digest(3)}  # the bytes came across intact
    before = moved.max_seq()
    moved.write([Record(Paper("2405.99999", "new", version=1))])  # sequences continue past copied ids
    assert moved.max_seq() > before
    moved.close()
    with pytest.raises(TransferError, match="already holds data"):
        copy_database(source, target)


def test_backup_restore_round_trip(tmp_path, database_url):
    url = database_url
    store = Store.open(url)
    fill(store)
    expected = count_rows(store.engine)
    saved = backup(url, tmp_path / "backup.file")
    store.write([Record(Paper("2405.99999", "written after the backup", version=1))])
    assert count_rows(store.engine)["papers"] == 41
    store.close()
    restore(url, saved)
    store = Store.open(url)
    assert count_rows(store.engine) == expected
    store.close()


def test_restore_refuses_a_missing_or_corrupt_file(tmp_path, database_url):
    url = database_url
    with pytest.raises(TransferError, match="no backup file"):
        restore(url, tmp_path / "missing")
    store = Store.open(url)
    fill(store, 3)
    store.close()
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database" * 100)
    with pytest.raises((TransferError, sqlite3.DatabaseError)):  # pg_restore fails; SQLite cannot open it
        restore(url, junk)
    store = Store.open(url)
    assert count_rows(store.engine)["papers"] == 3  # nothing lost
    store.close()


@pytest.mark.slow
def test_cli_backup_and_restore(tmp_path, fresh_data_dir):
    env = dict(os.environ, **data_dir_env(fresh_data_dir))
    store = Store.open(data_dir_url(fresh_data_dir))
    fill(store, 5)
    store.close()

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "dailypapers", *args], env=env, capture_output=True,
                              text=True, timeout=120)

    made = cli("backup", str(tmp_path / "b.sqlite"))
    assert made.returncode == 0, made.stderr
    done = cli("restore", str(tmp_path / "b.sqlite"), "--yes")
    assert done.returncode == 0 and "index rebuilt with 5 papers" in done.stderr, done.stderr
