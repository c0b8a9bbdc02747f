"""Collection and follow rules: owners change their collections; private ones are theirs alone."""

from __future__ import annotations

import datetime as dt
import re

from ..errors import InvalidInput, NotFound, PermissionDenied
from ..names import author_key
from ..store import Store
from ..store.accounts import User
from ..store.collections import FOLLOW_KINDS, Collection
from ..store.sqlutil import utcnow

CATEGORY = re.compile(r"[A-Za-z][A-Za-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")


def _fields(name: str, description: str) -> tuple[str, str]:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("give the collection a name")
    if len(name) > 200:
        raise InvalidInput("collection names have at most 200 characters")
    description = (description or "").strip()
    if len(description) > 2000:
        raise InvalidInput("descriptions have at most 2,000 characters")
    return name, description


def create(store: Store, user: User, name: str, description: str = "", is_public: bool = False,
           now: dt.datetime | None = None) -> int:
    name, description = _fields(name, description)
    return store.collections.create(user.id, name, description, is_public, now or utcnow())


def visible(store: Store, viewer: User | None, collection_id: int) -> Collection:
    """A public collection, or a private one to its owner; anyone else gets NotFound."""
    found = store.collections.get(collection_id)
    if not found.is_public and (viewer is None or viewer.id != found.user_id):
        raise NotFound(f"no collection {collection_id}")
    return found


def owned(store: Store, user: User, collection_id: int) -> Collection:
    found = visible(store, user, collection_id)
    if found.user_id != user.id:
        raise PermissionDenied("only the owner can change this collection")
    return found


def update(store: Store, user: User, collection_id: int, name: str, description: str, is_public: bool,
           now: dt.datetime | None = None) -> None:
    owned(store, user, collection_id)
    name, description = _fields(name, description)
    store.collections.update(collection_id, user.id, name=name, description=description, is_public=is_public,
                             now=now or utcnow())


def delete(store: Store, user: User, collection_id: int) -> None:
    owned(store, user, collection_id)
    store.collections.delete(collection_id, user.id)


def add_paper(store: Store, user: User, collection_id: int, paper_id: str, now: dt.datetime | None = None) -> bool:
    owned(store, user, collection_id)
    store.get_paper(paper_id)
    return store.collections.add(collection_id, paper_id, now or utcnow())


def remove_paper(store: Store, user: User, collection_id: int, paper_id: str) -> bool:
    owned(store, user, collection_id)
    return store.collections.remove(collection_id, paper_id)


def follow_target(kind: str, target: str) -> str:
    """The stored form of what is followed: an author's name key, or a category."""
    if kind not in FOLLOW_KINDS:
        raise InvalidInput(f"you can follow {' or '.join(FOLLOW_KINDS)}s")
    if kind == "author":
        key = author_key(target or "")
        if key == "unknown":
            raise InvalidInput("no author given")
        return key
    if not CATEGORY.fullmatch(target or ""):
        raise InvalidInput("categories look like cs.CL or hep-th")
    return target


def toggle_follow(store: Store, user: User, kind: str, target: str, now: dt.datetime | None = None) -> bool:
    return store.follows.toggle(user.id, kind, follow_target(kind, target), now or utcnow())
