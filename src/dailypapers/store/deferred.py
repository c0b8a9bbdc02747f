"""Secondary indexes left out while a bulk import fills a (nearly) empty database, built after it.

Inserting 15 million author rows one by one into the name index of a growing B-tree costs far
more than sorting them once at the end (CREATE INDEX). During a bulk load the indexes below are
dropped; a row in `checkpoints` (MARKER) says so, written in the same transaction as the drops.
At the end they are created again and the row deleted, in one transaction.

A crash or a kill in between leaves the marker: the data is consistent (none of these indexes
enforces anything) and the next import, or the next command that opens the store, builds them
(`restore_abandoned`). While a bulk load runs it holds a lock that dies with its process (a file
lock beside the SQLite database, a session advisory lock on PostgreSQL), so a second process
never rebuilds the indexes of a load that is still running.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, Index, delete, func, insert, select
from sqlalchemy.engine import Connection

from .db import SQLITE_DEFAULT_CACHE_KIB
from .schema import checkpoints, paper_authors, paper_categories, paper_changes, papers

MARKER = "bulk_load.deferred_indexes"
_ADVISORY_KEY = 0x6470_626C_6B31  # "dpblk1": PostgreSQL advisory lock of a running bulk load
DEFERRED: tuple[Index, ...] = tuple(
    index for table in (papers, paper_authors, paper_categories, paper_changes) for index in table.indexes
    if not index.unique)


def stored_papers(engine: Engine, at_most: int) -> int:
    """How many papers are stored, counting no further than `at_most` (cheap on a big table)."""
    with engine.connect() as conn:
        inner = select(papers.c.id).limit(at_most).subquery()
        return int(conn.execute(select(func.count()).select_from(inner)).scalar_one())


def has_rows(engine: Engine, table) -> bool:
    with engine.connect() as conn:
        return conn.execute(select(1).select_from(table).limit(1)).first() is not None


@contextmanager
def deferred_indexes(engine: Engine) -> Iterator[bool]:
    """Drop the DEFERRED indexes for the duration, build them afterwards; yields whether they were
    dropped (not when another bulk load holds the lock, nor for an in-memory SQLite database)."""
    with _bulk_lock(engine) as held:
        if not held:
            yield False
            return
        _restore(engine)  # an earlier load's, killed before it could
        with engine.begin() as conn:  # the marker first: pysqlite begins its transaction at the INSERT
            conn.execute(insert(checkpoints).values(
                name=MARKER, state=json.dumps([i.name for i in DEFERRED]), updated_at=_now()))
            for index in DEFERRED:
                index.drop(conn, checkfirst=True)
        try:
            yield True
        finally:
            _restore(engine)


def restore_abandoned(engine: Engine) -> bool:
    """Build the indexes a killed bulk load left out, unless that load is still running; whether
    it built them."""
    if not _marked(engine):
        return False
    with _bulk_lock(engine) as held:
        if not held:
            return False
        return _restore(engine)


def _restore(engine: Engine) -> bool:
    with engine.begin() as conn:
        if not _marked(conn):
            return False
        if conn.dialect.name == "sqlite":
            # SQLite's sorter holds up to the page cache's worth in memory: with the default cache
            # the build of 1.7M author keys took 1.1 CPU s and ~2 MiB, with the import's 32 MiB 1.9 s and ~60 MiB
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_DEFAULT_CACHE_KIB}")
        for index in DEFERRED:  # then the marker: a kill in between leaves it, and the next run builds the rest
            index.create(conn, checkfirst=True)
        conn.execute(delete(checkpoints).where(checkpoints.c.name == MARKER))
    return True


def _marked(bind: Engine | Connection) -> bool:
    query = select(checkpoints.c.name).where(checkpoints.c.name == MARKER)
    if isinstance(bind, Connection):
        return bind.execute(query).first() is not None
    with bind.connect() as conn:
        return conn.execute(query).first() is not None


@contextmanager
def _bulk_lock(engine: Engine) -> Iterator[bool]:
    """Try to take the bulk-load lock without waiting; yields whether this process holds it."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            held = bool(conn.exec_driver_sql(f"SELECT pg_try_advisory_lock({_ADVISORY_KEY})").scalar())
            try:
                yield held
            finally:
                if held:
                    conn.exec_driver_sql(f"SELECT pg_advisory_unlock({_ADVISORY_KEY})")
        return
    path = _lock_path(engine)
    if path is None:
        yield False
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock; the kernel does the same when the process dies


def _lock_path(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database + ".bulk-lock")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
