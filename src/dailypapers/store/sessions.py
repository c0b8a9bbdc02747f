"""Signed-in browser sessions and one-time sign-in links (SQL only; the rules — lifetimes, when a
session is refreshed — live in community/accounts.py and web/sessions.py).

A session row is keyed by the SHA-256 of the random id its cookie carries, so the table holds
nothing a cookie could be made from. Deleting the row ends the session on every web process and
node at once: each request looks its row up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, insert, or_, select, update

from .accounts import USER_COLUMNS, User, user_from_row
from .convert import utc
from .schema import sessions, signin_links, users

if TYPE_CHECKING:
    from .repo import Store


@dataclass(frozen=True)
class Session:
    user: User
    created_at: dt.datetime
    seen_at: dt.datetime


def _live(idle_since: dt.datetime, born_since: dt.datetime):
    return and_(sessions.c.seen_at > idle_since, sessions.c.created_at > born_since)


class Sessions:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    # -- sessions ------------------------------------------------------------------------

    def start(self, user_id: int, session_hash: str, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(sessions).values(id=session_hash, user_id=user_id, created_at=now, seen_at=now))

    def find(self, session_hash: str, idle_since: dt.datetime, born_since: dt.datetime) -> Session | None:
        """The live session with this hash and its member: None when it was ended, or when it was
        last seen before `idle_since` or began before `born_since`."""
        query = (select(*USER_COLUMNS, sessions.c.created_at.label("session_created"), sessions.c.seen_at)
                 .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
                 .where(sessions.c.id == session_hash, _live(idle_since, born_since)))
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return Session(user_from_row(row), utc(row.session_created), utc(row.seen_at))

    def touch(self, session_hash: str, now: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(sessions).where(sessions.c.id == session_hash).values(seen_at=now))

    def end(self, session_hash: str) -> bool:
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.id == session_hash)).rowcount == 1

    def end_all(self, user_id: int) -> int:
        """End every session of the member; how many there were."""
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(sessions.c.user_id == user_id)).rowcount

    def count(self, user_id: int, idle_since: dt.datetime, born_since: dt.datetime) -> int:
        query = select(func.count()).select_from(sessions).where(sessions.c.user_id == user_id,
                                                                 _live(idle_since, born_since))
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def prune(self, idle_since: dt.datetime, born_since: dt.datetime) -> int:
        """Delete expired sessions; how many."""
        with self.engine.begin() as conn:
            return conn.execute(delete(sessions).where(
                or_(sessions.c.seen_at <= idle_since, sessions.c.created_at <= born_since))).rowcount

    # -- one-time sign-in links ----------------------------------------------------------

    def add_link(self, user_id: int, token_hash: str, now: dt.datetime, expires_at: dt.datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(insert(signin_links).values(token_hash=token_hash, user_id=user_id, created_at=now,
                                                     expires_at=expires_at))

    def link_user(self, token_hash: str, now: dt.datetime) -> int | None:
        """The member a valid (unused, unexpired) link belongs to, without using it."""
        with self.engine.connect() as conn:
            return conn.execute(select(signin_links.c.user_id).where(
                signin_links.c.token_hash == token_hash, signin_links.c.used_at.is_(None),
                signin_links.c.expires_at > now)).scalar()

    def use_link(self, token_hash: str, now: dt.datetime) -> int | None:
        """Mark the link used (atomically: one caller wins) and return its member, or None; the
        member's other outstanding links stop working too."""
        with self.engine.begin() as conn:
            user_id = conn.execute(select(signin_links.c.user_id).where(
                signin_links.c.token_hash == token_hash)).scalar()
            done = conn.execute(update(signin_links).where(
                signin_links.c.token_hash == token_hash, signin_links.c.used_at.is_(None),
                signin_links.c.expires_at > now).values(used_at=now)).rowcount
            if done != 1:
                return None
            conn.execute(update(signin_links).where(
                signin_links.c.user_id == user_id, signin_links.c.used_at.is_(None)).values(used_at=now))
        return user_id
