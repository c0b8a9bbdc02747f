"""Local upvotes: one row per member and paper (the primary key), counted on read.

Counting rows makes every count exact under any concurrency: a second vote by the same member
cannot insert a second row. Imported Hugging Face upvotes are not here; they stay the baseline
in daily_entries.upvotes, and pages show baseline + local.
"""

from __future__ import annotations

import builtins
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound
from .convert import as_date
from .schema import papers, votes
from .sqlutil import insert_ignore

if TYPE_CHECKING:
    from .repo import Store

_IN_CHUNK = 500
_RETRIES = 5


class Votes:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def _require_paper(self, paper_id: str) -> None:
        with self.engine.connect() as conn:
            if conn.execute(select(papers.c.id).where(papers.c.id == paper_id)).first() is None:
                raise NotFound(f"no paper with id {paper_id}")

    def toggle(self, paper_id: str, user_id: int, now: dt.datetime) -> bool:
        """Add the member's vote, or take it back if it is there; True when the paper is now upvoted.

        The first statement writes (DELETE), so SQLite takes its write lock at once and waits
        for it; if two toggles race on PostgreSQL, the loser's INSERT hits the primary key and
        the toggle is simply run again (it then finds the row and removes it)."""
        self._require_paper(paper_id)
        mine = and_(votes.c.paper_id == paper_id, votes.c.user_id == user_id)
        for attempt in range(_RETRIES):
            try:
                with self.engine.begin() as conn:
                    if conn.execute(delete(votes).where(mine)).rowcount:
                        return False
                    conn.execute(insert(votes).values(paper_id=paper_id, user_id=user_id, created_at=now))
                    return True
            except IntegrityError:
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def set(self, paper_id: str, user_id: int, upvoted: bool, now: dt.datetime) -> bool:
        """Make the vote present or absent (idempotent); True when something changed."""
        self._require_paper(paper_id)
        with self.engine.begin() as conn:
            if upvoted:
                return insert_ignore(conn, votes, {"paper_id": paper_id, "user_id": user_id, "created_at": now})
            return conn.execute(delete(votes).where(and_(votes.c.paper_id == paper_id,
                                                         votes.c.user_id == user_id))).rowcount == 1

    def count(self, paper_id: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(votes)
                                .where(votes.c.paper_id == paper_id)).scalar_one()

    def counts(self, ids: Sequence[str]) -> dict[str, int]:
        """Local votes per paper, for the ids that have any."""
        out: dict[str, int] = {}
        wanted = list(dict.fromkeys(ids))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start:start + _IN_CHUNK]
                query = (select(votes.c.paper_id, func.count().label("n")).where(votes.c.paper_id.in_(chunk))
                         .group_by(votes.c.paper_id))
                out.update({r.paper_id: r.n for r in conn.execute(query)})
        return out

    def voted(self, user_id: int, ids: Sequence[str]) -> builtins.set[str]:  # `set` here is Votes.set
        """Which of these papers the member has upvoted."""
        wanted = list(dict.fromkeys(ids))
        out: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start:start + _IN_CHUNK]
                out.update(conn.execute(select(votes.c.paper_id).where(
                    votes.c.user_id == user_id, votes.c.paper_id.in_(chunk))).scalars())
        return out

    def by_user(self, user_id: int, offset: int = 0, limit: int = 30) -> tuple[list[str], int]:
        """The papers a member upvoted, most recent vote first."""
        where = votes.c.user_id == user_id
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(votes).where(where)).scalar_one()
            ids = conn.execute(select(votes.c.paper_id).where(where)
                               .order_by(votes.c.created_at.desc(), votes.c.paper_id)
                               .offset(offset).limit(limit)).scalars().all()
        return list(ids), total

    def times(self, paper_id: str) -> list[dt.datetime]:
        """When each current local vote on a paper was cast, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(votes.c.created_at).where(votes.c.paper_id == paper_id)
                                .order_by(votes.c.created_at)).scalars().all()
        from .convert import utc

        return [utc(r) for r in rows]

    def per_day(self, start: dt.date, end: dt.date) -> dict[dt.date, int]:
        """Local votes cast on each day between two dates (inclusive)."""
        lo = dt.datetime.combine(start, dt.time(), dt.timezone.utc)
        hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
        day = func.date(votes.c.created_at) if self.engine.dialect.name == "sqlite" else \
            func.date(func.timezone("UTC", votes.c.created_at))
        query = (select(day.label("day"), func.count().label("n"))
                 .where(votes.c.created_at >= lo, votes.c.created_at < hi).group_by(day))
        with self.engine.connect() as conn:
            return {as_date(r.day): r.n for r in conn.execute(query)}

    def total(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(votes)).scalar_one()
