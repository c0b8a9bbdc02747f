"""Named collections of papers (private or public) and follows of authors and categories."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, insert, select, update

from ..errors import NotFound
from .convert import utc
from .schema import collection_items, collections, follows, users
from .sqlutil import insert_ignore

if TYPE_CHECKING:
    from .repo import Store

FOLLOW_KINDS = ("author", "category")


@dataclass(frozen=True)
class Collection:
    id: int
    user_id: int
    owner: str  # the owner's user name
    name: str
    description: str
    is_public: bool
    created_at: dt.datetime
    updated_at: dt.datetime
    size: int


def _size():
    return (select(func.count()).select_from(collection_items)
            .where(collection_items.c.collection_id == collections.c.id).scalar_subquery())


_COLUMNS = [collections.c.id, collections.c.user_id, users.c.username, collections.c.name, collections.c.description,
            collections.c.is_public, collections.c.created_at, collections.c.updated_at]


def _collection(r) -> Collection:
    return Collection(r.id, r.user_id, r.username, r.name, r.description, bool(r.is_public), utc(r.created_at),
                      utc(r.updated_at), r.size)


class Collections:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def _query(self):
        return select(*_COLUMNS, _size().label("size")).select_from(
            collections.join(users, users.c.id == collections.c.user_id))

    def create(self, user_id: int, name: str, description: str, is_public: bool, now: dt.datetime) -> int:
        with self.engine.begin() as conn:
            return conn.execute(insert(collections).values(
                user_id=user_id, name=name, description=description, is_public=is_public, created_at=now,
                updated_at=now).returning(collections.c.id)).scalar_one()

    def get(self, collection_id: int) -> Collection:
        with self.engine.connect() as conn:
            row = conn.execute(self._query().where(collections.c.id == collection_id)).first()
        if row is None:
            raise NotFound(f"no collection {collection_id}")
        return _collection(row)

    def for_user(self, user_id: int, *, public_only: bool = False) -> list[Collection]:
        query = self._query().where(collections.c.user_id == user_id)
        if public_only:
            query = query.where(collections.c.is_public.is_(True))
        with self.engine.connect() as conn:
            return [_collection(r) for r in conn.execute(query.order_by(collections.c.updated_at.desc(),
                                                                        collections.c.id.desc()))]

    def update(self, collection_id: int, user_id: int, *, name: str, description: str, is_public: bool,
               now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(update(collections).where(
                collections.c.id == collection_id, collections.c.user_id == user_id).values(
                name=name, description=description, is_public=is_public, updated_at=now)).rowcount == 1

    def delete(self, collection_id: int, user_id: int) -> bool:
        with self.engine.begin() as conn:
            conn.execute(delete(collection_items).where(collection_items.c.collection_id.in_(
                select(collections.c.id).where(collections.c.id == collection_id, collections.c.user_id == user_id))))
            return conn.execute(delete(collections).where(
                collections.c.id == collection_id, collections.c.user_id == user_id)).rowcount == 1

    def add(self, collection_id: int, paper_id: str, now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            added = insert_ignore(conn, collection_items, {"collection_id": collection_id, "paper_id": paper_id,
                                                           "added_at": now})
            conn.execute(update(collections).where(collections.c.id == collection_id).values(updated_at=now))
        return added

    def remove(self, collection_id: int, paper_id: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(collection_items).where(
                collection_items.c.collection_id == collection_id,
                collection_items.c.paper_id == paper_id)).rowcount == 1

    def paper_ids(self, collection_id: int) -> list[str]:
        with self.engine.connect() as conn:
            return list(conn.execute(select(collection_items.c.paper_id)
                                     .where(collection_items.c.collection_id == collection_id)
                                     .order_by(collection_items.c.added_at, collection_items.c.paper_id)).scalars())

    def containing(self, user_id: int, paper_id: str) -> set[int]:
        """Which of the member's collections hold the paper."""
        query = (select(collection_items.c.collection_id)
                 .select_from(collection_items.join(collections,
                                                    collections.c.id == collection_items.c.collection_id))
                 .where(collections.c.user_id == user_id, collection_items.c.paper_id == paper_id))
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())


class Follows:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def toggle(self, user_id: int, kind: str, target: str, now: dt.datetime) -> bool:
        """Follow, or unfollow if already following; True when now following."""
        if kind not in FOLLOW_KINDS:
            raise ValueError(f"unknown follow kind {kind!r}")
        where = (follows.c.user_id == user_id, follows.c.kind == kind, follows.c.target == target)
        with self.engine.begin() as conn:
            if conn.execute(delete(follows).where(*where)).rowcount:
                return False
            insert_ignore(conn, follows, {"user_id": user_id, "kind": kind, "target": target, "created_at": now})
        return True

    def is_following(self, user_id: int, kind: str, target: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(follows.c.user_id).where(
                follows.c.user_id == user_id, follows.c.kind == kind, follows.c.target == target)).first() is not None

    def for_user(self, user_id: int) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            return [(r.kind, r.target) for r in conn.execute(
                select(follows.c.kind, follows.c.target).where(follows.c.user_id == user_id)
                .order_by(follows.c.kind, follows.c.target))]

    def followers(self, kind: str, target: str) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(follows).where(
                follows.c.kind == kind, follows.c.target == target)).scalar_one()
