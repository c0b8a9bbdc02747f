"""Papers' full text and thumbnails (paper_fulltext, migration 0010): what the worker's fulltext
job records (ingest/fulltext/job.py) and what the pages, the Markdown export and the keyword index read.

Storing text records a change (store/changes.py), so every node's keyword index re-indexes the
paper with its full text."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, insert, select

from .changes import record_changes
from .convert import utc
from .schema import paper_fulltext, papers

if TYPE_CHECKING:
    from .repo import Store

_IN_CHUNK = 500
RETRY = "unreachable"  # the one status that is tried again


@dataclass(frozen=True)
class FullText:
    paper_id: str
    status: str
    attempts: int
    detail: str | None
    body: str | None
    pages: int | None
    has_thumbnail: bool
    updated_at: dt.datetime

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass(frozen=True)
class Thumbnail:
    data: bytes
    media_type: str
    updated_at: dt.datetime


class FullTexts:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    # -- the worker's side ---------------------------------------------------------------

    def pending(self, now: dt.datetime, limit: int) -> list[str]:
        """Up to `limit` papers to fetch: those due for a retry, then those never tried, newest first."""
        t = paper_fulltext
        with self.engine.connect() as conn:
            due = conn.execute(select(t.c.paper_id).where(t.c.status == RETRY, t.c.next_attempt_at <= now)
                               .order_by(t.c.next_attempt_at, t.c.paper_id).limit(limit)).scalars().all()
            fresh = conn.execute(
                select(papers.c.id).outerjoin(t, t.c.paper_id == papers.c.id).where(t.c.paper_id.is_(None))
                .order_by(papers.c.published.desc().nulls_last(), papers.c.id.desc()).limit(limit - len(due))
            ).scalars().all() if len(due) < limit else []
        return list(due) + list(fresh)

    def record_text(self, paper_id: str, body: str, pages: int, thumbnail: bytes | None,
                    thumbnail_type: str | None, now: dt.datetime) -> None:
        """The paper's text and thumbnail (replacing any earlier outcome); its keyword entry is redone."""
        with self.engine.begin() as conn:
            attempts = self._attempts(conn, paper_id)
            conn.execute(delete(paper_fulltext).where(paper_fulltext.c.paper_id == paper_id))
            conn.execute(insert(paper_fulltext).values(
                paper_id=paper_id, status="ok", attempts=attempts + 1, next_attempt_at=None, detail=None,
                body=body, pages=pages, thumbnail=thumbnail, thumbnail_type=thumbnail_type, updated_at=now))
            record_changes(conn, [paper_id], now)

    def record_failure(self, paper_id: str, status: str, detail: str, now: dt.datetime,
                       retry_at: dt.datetime | None) -> int:
        """Why the paper has no text; `retry_at` (for `unreachable`) is when to try again. An
        earlier text, if any, is kept: only its status note changes. Returns the attempts so far."""
        with self.engine.begin() as conn:
            attempts = self._attempts(conn, paper_id) + 1
            old = conn.execute(select(paper_fulltext.c.status).where(paper_fulltext.c.paper_id == paper_id)).first()
            if old is not None and old.status == "ok":
                return attempts  # a PDF that went away later: the text we have stays
            conn.execute(delete(paper_fulltext).where(paper_fulltext.c.paper_id == paper_id))
            conn.execute(insert(paper_fulltext).values(
                paper_id=paper_id, status=status, attempts=attempts, next_attempt_at=retry_at,
                detail=detail[:1000], body=None, pages=None, thumbnail=None, thumbnail_type=None, updated_at=now))
        return attempts

    def attempts(self, paper_id: str) -> int:
        with self.engine.connect() as conn:
            return self._attempts(conn, paper_id)

    @staticmethod
    def _attempts(conn, paper_id: str) -> int:
        value = conn.execute(select(paper_fulltext.c.attempts)
                             .where(paper_fulltext.c.paper_id == paper_id)).scalar()
        return int(value or 0)

    # -- readers ---------------------------------------------------------------------------

    def get(self, paper_id: str) -> FullText | None:
        t = paper_fulltext
        query = select(t.c.paper_id, t.c.status, t.c.attempts, t.c.detail, t.c.body, t.c.pages,
                       t.c.thumbnail.is_not(None).label("has_thumbnail"), t.c.updated_at)
        with self.engine.connect() as conn:
            row = conn.execute(query.where(t.c.paper_id == paper_id)).first()
        if row is None:
            return None
        return FullText(row.paper_id, row.status, row.attempts, row.detail, row.body, row.pages,
                        bool(row.has_thumbnail), utc(row.updated_at))

    def thumbnail(self, paper_id: str) -> Thumbnail | None:
        t = paper_fulltext
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.thumbnail, t.c.thumbnail_type, t.c.updated_at)
                               .where(t.c.paper_id == paper_id, t.c.thumbnail.is_not(None))).first()
        return None if row is None else Thumbnail(bytes(row.thumbnail), row.thumbnail_type, utc(row.updated_at))

    def with_thumbnails(self, paper_ids: Sequence[str]) -> set[str]:
        """Which of `paper_ids` have a thumbnail (one query per 500)."""
        t = paper_fulltext
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(paper_ids), _IN_CHUNK):
                chunk = list(paper_ids[start:start + _IN_CHUNK])
                found |= set(conn.execute(select(t.c.paper_id).where(
                    and_(t.c.paper_id.in_(chunk), t.c.thumbnail.is_not(None)))).scalars())
        return found

    def texts(self, paper_ids: Sequence[str]) -> dict[str, str]:
        """The full text of those of `paper_ids` that have one."""
        t = paper_fulltext
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(paper_ids), _IN_CHUNK):
                chunk = list(paper_ids[start:start + _IN_CHUNK])
                rows = conn.execute(select(t.c.paper_id, t.c.body).where(
                    t.c.paper_id.in_(chunk), t.c.status == "ok", t.c.body.is_not(None))).all()
                out.update({row.paper_id: row.body for row in rows if row.body})
        return out

    def counts(self) -> dict[str, int]:
        """Papers per status (for the job's summary and the admin)."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(paper_fulltext.c.status, func.count()).group_by(paper_fulltext.c.status))
            return {status: int(n) for status, n in rows}
