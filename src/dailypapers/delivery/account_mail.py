"""Messages about accounts, queued in the outbox like every message (delivery/sender.py sends
them; the web app sends each one right after its answer, web/outgoing.py):

- `reset`: a one-time link to choose a new password;
- `signin`: a one-time link that signs a member in without a password (past a sign-in limit);
- `signup`: the link that finishes a sign-up, to the address being signed up;
- `exists`: to a member whose address someone tried to sign up with (the form answers the
  same as for a new address, so it never tells whether an address has an account).

Links are built from delivery/links.mail_base, never from a request. Each `queue_*` returns the
outbox row's id (None when an identical message is already queued).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from urllib.parse import quote

from dailypapers.config import Settings
from dailypapers.delivery import links, message, render
from dailypapers.store import Store
from dailypapers.store.accounts import User

SITE = "dailypapers"


def _queue(store: Store, settings: Settings, *, kind: str, dedupe: str, to: str, subject: str, template: str,
           now: dt.datetime, **context) -> int | None:
    text, html = render.render(template, settings=settings, base=links.mail_base(settings), **context)
    message_id = message.new_message_id(settings, kind)
    msg = message.compose(settings, to=to, subject=subject, text=text, html=html, message_id=message_id, now=now)
    return store.outbox.enqueue(dedupe_key=dedupe, kind=kind, to_addr=to, subject=subject, message_id=message_id,
                                message=message.to_bytes(msg), now=now)


def _once(token: str) -> str:
    """A dedupe key part naming one token without storing it."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def _link(settings: Settings, path: str, token: str) -> str:
    return links.absolute(links.mail_base(settings), f"{path}?token={quote(token)}")


def queue_reset(store: Store, settings: Settings, user: User, token: str, now: dt.datetime,
                minutes: int) -> int | None:
    return _queue(store, settings, kind="reset", dedupe=f"reset:{_once(token)}", to=user.email,
                  subject="Reset your dailypapers password", template="account_reset", now=now, user=user,
                  url=_link(settings, "/password/reset", token), minutes=minutes)


def queue_signin_link(store: Store, settings: Settings, user: User, token: str, now: dt.datetime,
                      minutes: int) -> int | None:
    return _queue(store, settings, kind="signin", dedupe=f"signin:{_once(token)}", to=user.email,
                  subject="Your dailypapers sign-in link", template="account_signin", now=now, user=user,
                  url=_link(settings, "/signin/link", token), minutes=minutes)


def queue_signup(store: Store, settings: Settings, email: str, username: str, token: str, now: dt.datetime,
                 hours: int) -> int | None:
    return _queue(store, settings, kind="signup", dedupe=f"signup:{_once(token)}", to=email,
                  subject="Finish creating your dailypapers account", template="account_signup", now=now,
                  email=email, username=username, url=_link(settings, "/signup/confirm", token), hours=hours)


def queue_exists(store: Store, settings: Settings, user: User, now: dt.datetime) -> int | None:
    """At most one an hour per member, however often the form is sent."""
    return _queue(store, settings, kind="exists", dedupe=f"exists:{user.id}:{now:%Y-%m-%dT%H}", to=user.email,
                  subject="Someone tried to sign up with your address", template="account_exists", now=now,
                  user=user, signin_url=links.absolute(links.mail_base(settings), "/signin"),
                  forgot_url=links.absolute(links.mail_base(settings), "/password/forgot"))
