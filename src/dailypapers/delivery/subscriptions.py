"""Subscribing, confirming (double opt-in), changing preferences or address, unsubscribing.

- A member subscribes from their account: active at once, to their account address.
- Anyone else subscribes with an address: the subscription stays `pending`, and nothing but the
  confirmation message is sent, until the address opens the signed, expiring link in it. The web
  page answers the same whether or not the address was known (no address probing); an address
  that is already subscribed gets a note with its management link instead of a confirmation.
- Changing the address of a subscription needs the new address to confirm too; until then
  digests keep going to the old one.
- Unsubscribing (one click, from any message) takes effect at once: the sender checks the
  subscription right before each message, so a digest queued earlier is cancelled, not sent.

Confirmation and notice messages go through the outbox like digests; `*_message` functions
queue them and return the outbox row's id (the web layer then tries to send it straight away).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from dailypapers.community.accounts import normalize_email
from dailypapers.config import Settings
from dailypapers.delivery import links, message, render, schedule, tokens
from dailypapers.errors import Conflict, InvalidInput, InvalidToken
from dailypapers.store import Store
from dailypapers.store.accounts import User
from dailypapers.store.sqlutil import utcnow
from dailypapers.store.subscriptions import FREQUENCIES, Subscription

DEFAULTS = {"frequency": "daily", "hour": 8, "weekday": 0, "timezone": "UTC", "include_trending": True,
            "include_alerts": True, "include_recommendations": True}
ANONYMOUS_SECTIONS = {"include_alerts": False, "include_recommendations": False}  # they need an account


def _flag(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("1", "true", "on", "yes")


def check_preferences(raw: dict, *, member: bool) -> dict:
    """Validated preferences from form-like input; InvalidInput with a message for the reader."""
    prefs = dict(DEFAULTS)
    frequency = str(raw.get("frequency") or prefs["frequency"]).strip().lower()
    if frequency not in FREQUENCIES:
        raise InvalidInput("choose a daily or a weekly digest")
    try:
        hour = int(str(raw.get("hour", prefs["hour"])).strip())
        weekday = int(str(raw.get("weekday", prefs["weekday"])).strip())
    except ValueError:
        raise InvalidInput("the hour is a whole number from 0 to 23") from None
    if not 0 <= hour <= 23:
        raise InvalidInput("the hour is a whole number from 0 to 23")
    if not 0 <= weekday <= 6:
        raise InvalidInput("choose a weekday")
    tz_name = str(raw.get("timezone") or prefs["timezone"]).strip()
    schedule.zone(tz_name)
    prefs.update(frequency=frequency, hour=hour, weekday=weekday, timezone=tz_name)
    sections = ("include_trending", "include_alerts", "include_recommendations")
    # a form sends only the boxes that are ticked, and says `sections` so that none ticked is seen
    if "sections" in raw or any(name in raw for name in sections):
        for name in sections:
            prefs[name] = _flag(raw.get(name, False))
    if not member:
        prefs.update(ANONYMOUS_SECTIONS)
        prefs["include_trending"] = True
    if not (prefs["include_trending"] or prefs["include_alerts"] or prefs["include_recommendations"]):
        raise InvalidInput("choose at least one thing for the digest to hold")
    return prefs


def _key() -> str:
    return secrets.token_hex(16)


# -- members ---------------------------------------------------------------------------


def subscribe_member(store: Store, user: User, raw: dict, now: dt.datetime | None = None) -> Subscription:
    """Create or update the member's subscription (active at once, to their account address)."""
    now = now or utcnow()
    prefs = check_preferences(raw, member=True)
    subs = store.subscriptions
    existing = subs.for_user(user.id) or subs.by_email(user.email)
    if existing is None:
        try:
            return subs.create(email=user.email, user_id=user.id, status="active", key=_key(), preferences=prefs,
                               now=now)
        except Conflict:  # created meanwhile by another request: update that one
            existing = subs.for_user(user.id) or subs.by_email(user.email)
            if existing is None:
                raise
    if existing.user_id not in (None, user.id):
        raise Conflict("that address already has a subscription")
    state = {} if existing.active else {"status": "active", "confirmed_at": now, "unsubscribed_at": None}
    subs.update(existing.id, now, user_id=user.id, email=user.email, pending_email=None, **prefs, **state)
    return subs.require(existing.id)


def member_subscription(store: Store, user: User) -> Subscription | None:
    return store.subscriptions.for_user(user.id)


# -- addresses without an account --------------------------------------------------------


def subscribe_address(store: Store, settings: Settings, raw_email: str, raw: dict, *, base: str,
                      now: dt.datetime | None = None) -> int | None:
    """Start a double opt-in: queue a confirmation (or, for an address already subscribed, a note
    with its management link). Returns the outbox id of that message (None when one is already
    queued for this address today)."""
    now = now or utcnow()
    email = normalize_email(raw_email)
    prefs = check_preferences(raw, member=False)
    subs = store.subscriptions
    existing = subs.by_email(email)
    if existing is not None and existing.active:
        return _queue_notice(store, settings, existing, base, now)
    if existing is None:
        try:
            existing = subs.create(email=email, user_id=None, status="pending", key=_key(), preferences=prefs, now=now)
        except Conflict:
            existing = subs.by_email(email)
            if existing is None:
                raise
            if existing.active:
                return _queue_notice(store, settings, existing, base, now)
    else:  # pending or unsubscribed: take the new choices, wait for a (new) confirmation
        member_prefs = existing.user_id is not None
        subs.update(existing.id, now, status="pending",
                    **(prefs if not member_prefs else {k: prefs[k] for k in ("frequency", "hour", "weekday",
                                                                               "timezone")}))
        existing = subs.require(existing.id)
    return _queue_confirmation(store, settings, existing, base, now)


def _queue(store: Store, settings: Settings, sub: Subscription, *, kind: str, dedupe: str, to: str, subject: str,
           template: str, now: dt.datetime, **context) -> int | None:
    text, html = render.render(template, settings=settings, subscription=sub, **context)
    message_id = message.new_message_id(settings, f"{kind}.{sub.id}")
    msg = message.compose(settings, to=to, subject=subject, text=text, html=html, message_id=message_id, now=now)
    return store.outbox.enqueue(dedupe_key=dedupe, kind=kind, to_addr=to, subject=subject, message_id=message_id,
                                message=message.to_bytes(msg), now=now, subscription_id=sub.id)


def _queue_confirmation(store: Store, settings: Settings, sub: Subscription, base: str, now: dt.datetime,
                        email: str | None = None) -> int | None:
    to = email or sub.email
    url = links.confirm_url(settings, base, sub, email)
    # one confirmation per address and hour at most: repeated form posts cannot flood an inbox
    slot = hashlib.sha256(f"{sub.id}:{to}:{now:%Y-%m-%dT%H}".encode()).hexdigest()[:24]
    return _queue(store, settings, sub, kind="confirm", dedupe=f"confirm:{slot}", to=to,
                  subject="Confirm your dailypapers digest", template="confirm", now=now, confirm_url=url,
                  hours=settings.confirm_link_hours, address=to, changing=email is not None, base=base)


def _queue_notice(store: Store, settings: Settings, sub: Subscription, base: str, now: dt.datetime) -> int | None:
    return _queue(store, settings, sub, kind="notice", dedupe=f"notice:{sub.id}:{now:%Y-%m-%d}", to=sub.address,
                  subject="You are already subscribed to dailypapers", template="notice", now=now,
                  manage_url=links.manage_url(settings, base, sub),
                  unsubscribe_url=links.unsubscribe_url(settings, base, sub), base=base)


# -- links -----------------------------------------------------------------------------


def _from_token(store: Store, settings: Settings, purpose: str, token: str) -> tuple[Subscription, tokens.LinkToken]:
    data = tokens.read(settings, purpose, token)
    sub = store.subscriptions.get(data.subscription_id)
    if sub is None or not secrets.compare_digest(sub.key, data.key):
        raise InvalidToken("this link belongs to a subscription that no longer exists")
    return sub, data


def check_confirmation(store: Store, settings: Settings, token: str) -> Subscription:
    """The subscription a confirmation link is for (InvalidToken when the link is bad or expired)."""
    return _from_token(store, settings, "confirm", token)[0]


def confirm(store: Store, settings: Settings, token: str, now: dt.datetime | None = None) -> Subscription:
    """Confirm an address: a pending subscription becomes active, or a new address replaces the old."""
    now = now or utcnow()
    sub, data = _from_token(store, settings, "confirm", token)
    if data.email is not None and data.email != sub.email:
        if not store.subscriptions.confirm_address(sub.id, sub.key, data.email, now):
            raise InvalidToken("this address change was replaced by a newer one; use the latest link")
        return store.subscriptions.require(sub.id)
    if sub.status == "unsubscribed":
        raise InvalidToken("this subscription was cancelled after the link was sent; subscribe again")
    store.subscriptions.confirm(sub.id, sub.key, now)
    return store.subscriptions.require(sub.id)


def by_manage_token(store: Store, settings: Settings, token: str) -> Subscription:
    return _from_token(store, settings, "manage", token)[0]


def by_unsubscribe_token(store: Store, settings: Settings, token: str) -> Subscription:
    return _from_token(store, settings, "unsubscribe", token)[0]


def unsubscribe(store: Store, settings: Settings, token: str, now: dt.datetime | None = None) -> Subscription:
    """One-click unsubscribe (idempotent)."""
    sub = by_unsubscribe_token(store, settings, token)
    store.subscriptions.unsubscribe(sub.id, sub.key, now or utcnow())
    return store.subscriptions.require(sub.id)


def cancel(store: Store, sub: Subscription, now: dt.datetime | None = None) -> None:
    store.subscriptions.unsubscribe(sub.id, sub.key, now or utcnow())


def update_preferences(store: Store, sub: Subscription, raw: dict, now: dt.datetime | None = None) -> Subscription:
    prefs = check_preferences(raw, member=sub.user_id is not None)
    store.subscriptions.update(sub.id, now or utcnow(), **prefs)
    return store.subscriptions.require(sub.id)


def change_address(store: Store, settings: Settings, sub: Subscription, raw_email: str, *, base: str,
                   now: dt.datetime | None = None) -> int | None:
    """Ask the new address to confirm; digests keep going to the current one until it does."""
    now = now or utcnow()
    if sub.user_id is not None:
        raise InvalidInput("a member's digest goes to their account address")
    email = normalize_email(raw_email)
    if email == sub.email:
        return None
    other = store.subscriptions.by_email(email)
    if other is not None and other.id != sub.id:
        raise Conflict("that address already has its own subscription")
    store.subscriptions.update(sub.id, now, pending_email=email)
    return _queue_confirmation(store, settings, store.subscriptions.require(sub.id), base, now, email=email)


def require(store: Store, subscription_id: int) -> Subscription:
    return store.subscriptions.require(subscription_id)
