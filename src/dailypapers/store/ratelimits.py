"""Rate-limit counters in the database, so every web process on one database shares them.

One row per (key, fixed window). A hit is one statement, the same on SQLite and PostgreSQL:

    INSERT INTO rate_limits (key, window_start, hits, expires_at) VALUES (:key, :start, 1, :expires)
    ON CONFLICT (key, window_start) DO UPDATE SET hits = rate_limits.hits + 1
     WHERE rate_limits.hits < :cap
    RETURNING hits

It returns no row when the window is already at `cap`: the hit is refused and not counted, so a
client that keeps knocking while refused does not push its own wait further out. PostgreSQL
re-checks the WHERE on the row's latest version under the row lock, and SQLite runs the statement
under its write lock, so concurrent processes never count past `cap`. The policy (which cap, how
long to wait) lives in community/ratelimit.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from .schema import rate_limits
from .sqlutil import storage_errors

if TYPE_CHECKING:
    from .repo import Store


class RateLimits:
    def __init__(self, store: "Store") -> None:
        self.store = store

    def hits(self, key: str, window_start: int) -> int:
        """Hits counted for `key` in the window that starts at `window_start` (0 if none)."""
        with self.store.engine.connect() as conn:
            return self._hits(conn, key, window_start)

    def hit(self, key: str, window_start: int, window_s: int, cap: int) -> int | None:
        """Count one hit in this window unless it already has `cap`; the new count, or None if refused."""
        if cap <= 0:
            return None
        with self.store.engine.begin() as conn:
            _relaxed(conn)
            return self._hit(conn, key, window_start, window_s, cap)

    def hit_sliding(self, key: str, window_start: int, window_s: int,
                    cap_for: Callable[[int], int]) -> tuple[bool, int, int]:
        """One hit against a cap that depends on the previous window's count: (counted, previous
        window's hits, this window's hits). StorageError when the database refuses the write.

        The read of the closed previous window stays outside the write: on SQLite a transaction
        that reads and then writes can fail when another process wrote in between (WAL
        snapshots), while the single upsert just waits for the lock."""
        with storage_errors("the rate-limit counter could not be written"):
            return self._hit_sliding(key, window_start, window_s, cap_for)

    def _hit_sliding(self, key: str, window_start: int, window_s: int,
                     cap_for: Callable[[int], int]) -> tuple[bool, int, int]:
        if self.store.engine.dialect.name == "postgresql":  # one transaction (READ COMMITTED)
            with self.store.engine.begin() as conn:
                _relaxed(conn)
                previous = self._hits(conn, key, window_start - window_s)
                cap = cap_for(previous)
                counted = self._hit(conn, key, window_start, window_s, cap) if cap > 0 else None
                current = counted if counted is not None else self._hits(conn, key, window_start)
            return counted is not None, previous, current
        previous = self.hits(key, window_start - window_s)
        counted = self.hit(key, window_start, window_s, cap_for(previous))
        if counted is not None:
            return True, previous, counted
        return False, previous, self.hits(key, window_start)

    @staticmethod
    def _hits(conn, key: str, window_start: int) -> int:
        value = conn.execute(select(rate_limits.c.hits).where(
            rate_limits.c.key == key, rate_limits.c.window_start == window_start)).scalar()
        return int(value or 0)

    @staticmethod
    def _hit(conn, key: str, window_start: int, window_s: int, cap: int) -> int | None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(rate_limits).values(
            key=key, window_start=window_start, hits=1, expires_at=window_start + 2 * window_s)
        statement = statement.on_conflict_do_update(
            index_elements=[rate_limits.c.key, rate_limits.c.window_start],
            set_={"hits": rate_limits.c.hits + 1},
            where=rate_limits.c.hits < cap,
        ).returning(rate_limits.c.hits)
        value = conn.execute(statement).scalar()
        return None if value is None else int(value)

    def forget(self, key: str) -> None:
        """Drop every window of `key` (a successful sign-in clears its failed attempts)."""
        with storage_errors("the rate-limit counter could not be reset"), self.store.engine.begin() as conn:
            conn.execute(delete(rate_limits).where(rate_limits.c.key == key))

    def prune(self, now: int) -> int:
        """Delete windows that can no longer matter; the number deleted."""
        with storage_errors("old rate-limit windows could not be deleted"), self.store.engine.begin() as conn:
            return conn.execute(delete(rate_limits).where(rate_limits.c.expires_at < now)).rowcount or 0


def _relaxed(conn) -> None:
    """A counter may lose its last hits in a crash: PostgreSQL need not wait for the WAL flush."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL synchronous_commit TO OFF")
