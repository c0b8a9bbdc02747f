"""The change sequence (`paper_changes`) that every node's search indexes follow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection

from .bulk import insert_rows
from .schema import comments, paper_changes, votes


def record_changes(conn: Connection, paper_ids: Iterable[str], now: dt.datetime) -> None:
    """Append one change per paper; call it as the transaction's last statement.

    PostgreSQL hands out sequence numbers when rows are inserted, not when they commit, so a
    writer could take n, another n+1 and commit first; a follower that read up to n+1 would never
    look at n again. The table lock (EXCLUSIVE: reads go on) is held from this insert to the
    commit, so numbers become visible in the order they were handed out. SQLite has one writer.
    """
    ids = list(paper_ids)
    if not ids:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE paper_changes IN EXCLUSIVE MODE"))
        # one statement for the batch, numbered in the order given (an executemany sent one INSERT a paper)
        conn.exec_driver_sql("INSERT INTO paper_changes (paper_id, changed_at) "
                             "SELECT unnest(%s::varchar[]), %s::timestamptz", (ids, now))
        return
    insert_rows(conn, paper_changes, ("paper_id", "changed_at"), [(pid, now) for pid in ids])


def _scalar(expr, table):
    return select(expr).select_from(table).scalar_subquery()


# built once: constructing this select took twice as long as running it (0.5 of 0.73 ms on SQLite)
CONTENT_VERSION = select(
    _scalar(func.max(paper_changes.c.seq), paper_changes),
    _scalar(func.count(), votes), _scalar(func.max(votes.c.created_at), votes),
    _scalar(func.count(), comments), _scalar(func.max(comments.c.id), comments),
    _scalar(func.max(comments.c.edited_at), comments), _scalar(func.max(comments.c.deleted_at), comments),
    _scalar(func.max(comments.c.hidden_at), comments), _scalar(func.count(comments.c.hidden_at), comments),
)


def content_version(conn: Connection) -> tuple:
    """What a public page of papers is made of, in one statement: the change sequence (papers,
    entries, vectors) and the community's marks that do not append to it (votes, comments and
    their edits, deletes and hides). Any write moves some value: an insert raises a count or a
    maximum, a delete lowers a count, an edit, delete or hide sets a newer time (unhiding lowers
    the hidden count). The validator of the pages' ETags (web/caching.py); it reads the shared
    database, so every node and worker agrees."""
    return tuple(conn.execute(CONTENT_VERSION).one())
