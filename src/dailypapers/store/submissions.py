"""Who submitted which paper to a daily list: at most once per paper (the primary key)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict
from ..models import Record
from .schema import submissions

if TYPE_CHECKING:
    from .repo import Store


class Submissions:
    def __init__(self, store: Store) -> None:
        self.store, self.engine = store, store.engine

    def claim(self, paper_id: str, user_id: int, day: dt.date, now: dt.datetime) -> None:
        """Record the submission; Conflict if the paper was already submitted (by anyone)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(submissions).values(paper_id=paper_id, user_id=user_id, date=day, created_at=now))
        except IntegrityError as exc:
            raise Conflict(f"{paper_id} has already been submitted") from exc

    def write_entry(self, record: Record) -> None:
        """Write a claimed paper with its daily entry; if that fails the claim is released (Conflict
        when an import listed the paper at the same moment)."""
        paper_id = record.paper.arxiv_id
        try:
            self.store.write([record])
        except IntegrityError as exc:
            self.release(paper_id)
            raise Conflict(f"{paper_id} is already on a daily list") from exc
        except BaseException:
            self.release(paper_id)
            raise

    def release(self, paper_id: str) -> None:
        """Undo a claim whose daily entry could not be written."""
        with self.engine.begin() as conn:
            conn.execute(delete(submissions).where(submissions.c.paper_id == paper_id))

    def by_user(self, user_id: int, offset: int = 0, limit: int = 30) -> tuple[list[str], int]:
        where = submissions.c.user_id == user_id
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(submissions).where(where)).scalar_one()
            ids = conn.execute(select(submissions.c.paper_id).where(where)
                               .order_by(submissions.c.created_at.desc(), submissions.c.paper_id)
                               .offset(offset).limit(limit)).scalars().all()
        return list(ids), total

    def count_since(self, user_id: int, since: dt.datetime) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(submissions).where(
                submissions.c.user_id == user_id, submissions.c.created_at >= since)).scalar_one()
