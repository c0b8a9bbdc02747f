"""Saved searches (a member's query, mode and filters, optionally an alert in their digest),
"not interested" marks, and the private tokens of members' recommendation feeds. SQL only."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select, update

from .convert import utc
from .schema import feed_tokens, not_interested, saved_searches
from .sqlutil import insert_ignore

if TYPE_CHECKING:
    from .repo import Store


@dataclass(frozen=True)
class SavedSearch:
    id: int
    user_id: int
    name: str
    query: str
    mode: str
    author: str
    category: str
    alert: bool
    feed_token: str
    created_at: dt.datetime


def _saved(row) -> SavedSearch:
    return SavedSearch(row.id, row.user_id, row.name, row.query, row.mode, row.author, row.category,
                       bool(row.alert), row.feed_token, utc(row.created_at))


class SavedSearches:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def create(self, *, user_id: int, name: str, query: str, mode: str, author: str, category: str, alert: bool,
               feed_token: str, now: dt.datetime) -> SavedSearch:
        row: dict[str, Any] = {"user_id": user_id, "name": name, "query": query, "mode": mode, "author": author,
               "category": category, "alert": alert, "feed_token": feed_token, "created_at": now}
        with self.engine.begin() as conn:
            new_id = conn.execute(insert(saved_searches).values(**row).returning(saved_searches.c.id)).scalar_one()
        return SavedSearch(new_id, **{k: v for k, v in row.items()})

    def get(self, search_id: int) -> SavedSearch | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(saved_searches).where(saved_searches.c.id == search_id)).first()
        return _saved(row) if row else None

    def by_feed_token(self, token: str) -> SavedSearch | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(saved_searches).where(saved_searches.c.feed_token == token)).first()
        return _saved(row) if row else None

    def for_user(self, user_id: int, *, alerts_only: bool = False) -> list[SavedSearch]:
        query = select(saved_searches).where(saved_searches.c.user_id == user_id)
        if alerts_only:
            query = query.where(saved_searches.c.alert.is_(True))
        with self.engine.connect() as conn:
            return [_saved(r) for r in conn.execute(query.order_by(saved_searches.c.id))]

    def count(self, user_id: int) -> int:
        return len(self.for_user(user_id))

    def set_alert(self, search_id: int, user_id: int, alert: bool) -> bool:
        with self.engine.begin() as conn:
            mine = (saved_searches.c.id == search_id, saved_searches.c.user_id == user_id)
            return conn.execute(update(saved_searches).where(*mine).values(alert=alert)).rowcount == 1

    def delete(self, search_id: int, user_id: int) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(saved_searches).where(
                saved_searches.c.id == search_id, saved_searches.c.user_id == user_id)).rowcount == 1


class NotInterested:
    """Papers a member marked "not interested": hidden from their recommendations, and negative
    examples for their model."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def mark(self, user_id: int, paper_id: str, now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            return insert_ignore(conn, not_interested, {"user_id": user_id, "paper_id": paper_id, "created_at": now})

    def unmark(self, user_id: int, paper_id: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(not_interested).where(
                not_interested.c.user_id == user_id, not_interested.c.paper_id == paper_id)).rowcount == 1

    def ids(self, user_id: int) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(not_interested.c.paper_id).where(not_interested.c.user_id == user_id)
                                     .order_by(not_interested.c.created_at, not_interested.c.paper_id)).scalars())


class FeedTokens:
    """One private token per member for their recommendations feed."""

    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def get(self, user_id: int) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(feed_tokens.c.token).where(feed_tokens.c.user_id == user_id)).scalar()

    def ensure(self, user_id: int, token: str, now: dt.datetime) -> str:
        """The member's token, storing `token` as it when they have none yet."""
        with self.engine.begin() as conn:
            insert_ignore(conn, feed_tokens, {"user_id": user_id, "token": token, "created_at": now})
        return self.get(user_id) or token

    def replace(self, user_id: int, token: str, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(feed_tokens).where(feed_tokens.c.user_id == user_id))
            conn.execute(insert(feed_tokens).values(user_id=user_id, token=token, created_at=now))

    def user_for(self, token: str) -> int | None:
        with self.engine.connect() as conn:
            return conn.execute(select(feed_tokens.c.user_id).where(feed_tokens.c.token == token)).scalar()
