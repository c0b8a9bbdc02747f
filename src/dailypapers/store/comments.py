"""Comments on papers, threaded one level deep (SQL only; permissions live in community/comments.py).

Every write that concerns one member's comment names that member in its WHERE clause, so even a
bug above this layer cannot edit or delete someone else's comment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, func, insert, select, update

from ..errors import NotFound
from .convert import utc
from .schema import comments, users

if TYPE_CHECKING:
    from .repo import Store

_IN_CHUNK = 500


@dataclass(frozen=True)
class Comment:
    id: int
    paper_id: str
    user_id: int
    username: str
    display_name: str
    parent_id: int | None
    body: str
    created_at: dt.datetime
    edited_at: dt.datetime | None
    deleted: bool
    hidden: bool

    @property
    def visible(self) -> bool:
        return not (self.deleted or self.hidden)


_COLUMNS = [comments.c.id, comments.c.paper_id, comments.c.user_id, users.c.username, users.c.display_name,
            comments.c.parent_id, comments.c.body, comments.c.created_at, comments.c.edited_at,
            comments.c.deleted_at, comments.c.hidden_at]
_JOINED = comments.join(users, users.c.id == comments.c.user_id)
_VISIBLE = and_(comments.c.deleted_at.is_(None), comments.c.hidden_at.is_(None))


def _comment(r) -> Comment:
    return Comment(r.id, r.paper_id, r.user_id, r.username, r.display_name, r.parent_id, r.body,
                   utc(r.created_at), utc(r.edited_at), r.deleted_at is not None, r.hidden_at is not None)


class Comments:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def add(self, paper_id: str, user_id: int, body: str, parent_id: int | None, now: dt.datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(comments).values(
                paper_id=paper_id, user_id=user_id, parent_id=parent_id, body=body, created_at=now)
                .returning(comments.c.id)).scalar_one()

    def get(self, comment_id: int) -> Comment:
        with self.engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).select_from(_JOINED).where(comments.c.id == comment_id)).first()
        if row is None:
            raise NotFound(f"no comment {comment_id}")
        return _comment(row)

    def for_paper(self, paper_id: str) -> list[Comment]:
        """Every comment on a paper (hidden and deleted ones too: the caller decides what to show)."""
        query = (select(*_COLUMNS).select_from(_JOINED).where(comments.c.paper_id == paper_id)
                 .order_by(comments.c.created_at, comments.c.id))
        with self.engine.connect() as conn:
            return [_comment(r) for r in conn.execute(query)]

    def edit(self, comment_id: int, user_id: int, body: str, now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(update(comments).where(
                comments.c.id == comment_id, comments.c.user_id == user_id, comments.c.deleted_at.is_(None))
                .values(body=body, edited_at=now)).rowcount == 1

    def delete(self, comment_id: int, user_id: int, now: dt.datetime) -> bool:
        """The author's delete: the text goes, a placeholder stays so replies keep their thread."""
        with self.engine.begin() as conn:
            return conn.execute(update(comments).where(
                comments.c.id == comment_id, comments.c.user_id == user_id, comments.c.deleted_at.is_(None))
                .values(body="", deleted_at=now)).rowcount == 1

    def set_hidden(self, comment_id: int, moderator_id: int | None, hidden: bool, now: dt.datetime) -> bool:
        values = {"hidden_at": now, "hidden_by": moderator_id} if hidden else {"hidden_at": None, "hidden_by": None}
        with self.engine.begin() as conn:
            return conn.execute(update(comments).where(comments.c.id == comment_id).values(**values)).rowcount == 1

    def counts(self, ids: Sequence[str]) -> dict[str, int]:
        """Visible comments per paper, for the ids that have any."""
        wanted = list(dict.fromkeys(ids))
        out: dict[str, int] = {}
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start:start + _IN_CHUNK]
                query = (select(comments.c.paper_id, func.count().label("n"))
                         .where(comments.c.paper_id.in_(chunk), _VISIBLE).group_by(comments.c.paper_id))
                out.update({r.paper_id: r.n for r in conn.execute(query)})
        return out

    def recent(self, *, hidden_only: bool = False, offset: int = 0, limit: int = 50) -> tuple[list[Comment], int]:
        """The newest comments across the site, for moderators."""
        cond = comments.c.hidden_at.is_not(None) if hidden_only else comments.c.deleted_at.is_(None)
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(comments).where(cond)).scalar_one()
            rows = conn.execute(select(*_COLUMNS).select_from(_JOINED).where(cond)
                                .order_by(comments.c.created_at.desc(), comments.c.id.desc())
                                .offset(offset).limit(limit)).all()
        return [_comment(r) for r in rows], total

    def count_since(self, user_id: int, since: dt.datetime) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(comments).where(
                comments.c.user_id == user_id, comments.c.created_at >= since)).scalar_one()
