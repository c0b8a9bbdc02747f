"""The change sequence (`paper_changes`) that every node's search indexes follow."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import insert, text
from sqlalchemy.engine import Connection

from .schema import paper_changes


def record_changes(conn: Connection, paper_ids: Iterable[str], now: dt.datetime) -> None:
    """Append one change per paper; call it as the transaction's last statement.

    PostgreSQL hands out sequence numbers when rows are inserted, not when they commit, so a
    writer could take n, another n+1 and commit first; a follower that read up to n+1 would never
    look at n again. The table lock (EXCLUSIVE: reads go on) is held from this insert to the
    commit, so numbers become visible in the order they were handed out. SQLite has one writer.
    """
    rows = [{"paper_id": pid, "changed_at": now} for pid in paper_ids]
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE paper_changes IN EXCLUSIVE MODE"))
    conn.execute(insert(paper_changes), rows)
