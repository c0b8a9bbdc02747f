"""Signing up without telling anyone whether an address has an account.

The form checks what it can say openly (the address's form, the password's length, the user
name: names are public) and then answers "check your mail" either way: a new address gets a link
that finishes the sign-up (the account is made when it is opened, within SIGNUP_TTL), an address
that already has an account gets a notice telling its owner. The password is hashed on both
paths, so the answer takes as long either way; the mail goes through the outbox after the answer
(web/outgoing.py).
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from ..errors import Conflict, InvalidToken
from ..store import Store
from ..store.accounts import PendingSignup, User
from . import passwords
from .accounts import checked_fields, digest, suggest_username

SIGNUP_HOURS = 24
SIGNUP_TTL = dt.timedelta(hours=SIGNUP_HOURS)
BAD_LINK = "this sign-up link is invalid, expired or already used; sign up again"


@dataclass(frozen=True)
class Started:
    """What a sign-up started: a `token` for the new address's link, or the `member` who already
    has the address (to be told by mail). Never shown to whoever sent the form."""

    email: str
    username: str
    token: str | None = None
    member: User | None = None


def start(store: Store, email: str, password: str, *, username: str | None = None, display_name: str = "",
          now: dt.datetime) -> Started:
    """Check the form (InvalidInput, or Conflict for a taken user name) and start the sign-up."""
    email, username, display_name = checked_fields(store, email, password, username, display_name)
    password_hash = passwords.hash_password(password)  # on both paths: the answer takes as long
    member = store.accounts.by_email(email)
    if member is not None:
        return Started(email, username, member=member)
    token = secrets.token_urlsafe(32)
    store.accounts.add_pending_signup(digest(token), email=email, username=username, display_name=display_name,
                                      password_hash=password_hash, now=now, expires_at=now + SIGNUP_TTL)
    return Started(email, username, token=token)


def check(store: Store, token: str, now: dt.datetime) -> PendingSignup:
    """The sign-up a link finishes (InvalidToken when it is bad, used or expired)."""
    pending = store.accounts.pending_signup(digest(token or ""), now) if token else None
    if pending is None:
        raise InvalidToken(BAD_LINK)
    return pending


def finish(store: Store, token: str, now: dt.datetime) -> User:
    """Use the link (once) and make the account. Whoever opens it reads the address's mail, so a
    Conflict may say that the address got an account meanwhile; a user name taken meanwhile is
    replaced by a free one."""
    pending = store.accounts.use_pending_signup(digest(token or ""), now)
    if pending is None:
        raise InvalidToken(BAD_LINK)
    if store.accounts.by_email(pending.email) is not None:
        raise Conflict("this address has an account already: sign in, or reset the password")
    username = pending.username
    if store.accounts.name_taken(username):
        username = suggest_username(store, pending.email)
    return store.accounts.create_user(email=pending.email, username=username, display_name=pending.display_name,
                                      password_hash=pending.password_hash, role="member", now=now)
