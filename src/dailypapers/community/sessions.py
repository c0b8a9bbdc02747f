"""How long a signed-in session lasts, how it ends, and one-time sign-in links (rules on top of
store.sessions; web/sessions.py keeps the session's id in the cookie).

- A session lasts SESSION_IDLE (14 days) after its last use, and never more than SESSION_MAX
  (30 days) after signing in; its row is refreshed at most once per SESSION_REFRESH, so a busy
  member costs one write an hour, not one a request.
- Signing out deletes the row: a copy of the cookie stops working on every node at once.
  "Sign out everywhere", a password change and a password reset delete every row of the member.
- A sign-in link (mailed on request, through the outbox) signs its member in once within
  LINK_TTL without a password; it is how the owner gets past a sign-in limit an attacker filled
  with wrong passwords.
"""

from __future__ import annotations

import datetime as dt
import secrets

from ..errors import InvalidInput, InvalidToken
from ..store import Store
from ..store.accounts import User
from .accounts import digest, normalize_email

SESSION_IDLE = dt.timedelta(days=14)
SESSION_MAX = dt.timedelta(days=30)
SESSION_REFRESH = dt.timedelta(hours=1)
LINK_TTL = dt.timedelta(minutes=30)
BAD_LINK = "this sign-in link is invalid, expired or already used; ask for a new one"


def _bounds(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    return now - SESSION_IDLE, now - SESSION_MAX


def start(store: Store, user: User, now: dt.datetime) -> str:
    """A new session for the member: the random id for its cookie (the store keeps its hash)."""
    store.sessions.prune(*_bounds(now))
    session_id = secrets.token_urlsafe(32)
    store.sessions.start(user.id, digest(session_id), now)
    return session_id


def member(store: Store, session_id: str, now: dt.datetime) -> User | None:
    """The member of a live session (refreshing it when due), or None when it ended or expired."""
    found = store.sessions.find(digest(session_id), *_bounds(now))
    if found is None:
        return None
    if now - found.seen_at >= SESSION_REFRESH:
        store.sessions.touch(digest(session_id), now)
    return found.user


def end(store: Store, session_id: str) -> None:
    store.sessions.end(digest(session_id))


def end_everywhere(store: Store, user: User) -> None:
    """Sign the member out of every session, this one included."""
    store.accounts.end_sessions(user.id)


def count(store: Store, user: User, now: dt.datetime) -> int:
    """How many live sessions the member has (the account page shows it)."""
    return store.sessions.count(user.id, *_bounds(now))


def start_link(store: Store, email: str, now: dt.datetime) -> tuple[User, str] | None:
    """A one-time sign-in link token for the address's member (None if there is none: say nothing)."""
    try:
        user = store.accounts.by_email(normalize_email(email))
    except InvalidInput:  # an address that cannot be a member's
        return None
    if user is None:
        return None
    token = secrets.token_urlsafe(32)
    store.sessions.add_link(user.id, digest(token), now, now + LINK_TTL)
    return user, token


def check_link(store: Store, token: str, now: dt.datetime) -> None:
    if not token or store.sessions.link_user(digest(token), now) is None:
        raise InvalidToken(BAD_LINK)


def use_link(store: Store, token: str, now: dt.datetime) -> User:
    """Use the link (once) and return its member; InvalidToken when it is bad, used or expired."""
    user_id = store.sessions.use_link(digest(token or ""), now)
    user = store.accounts.get(user_id) if user_id is not None else None
    if user is None:
        raise InvalidToken(BAD_LINK)
    return user
