"""Digest subscriptions (SQL only; the rules, double opt-in and tokens live in delivery/).

A subscription belongs to a member (`user_id`; it goes to their account address) or to an
address alone (`user_id` NULL; `status` stays `pending` until the address confirms). `key` is a
random value that every signed link of the subscription carries.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, NotFound
from .convert import utc
from .schema import subscriptions, users

if TYPE_CHECKING:
    from .repo import Store

STATUSES = ("pending", "active", "unsubscribed")
FREQUENCIES = ("daily", "weekly")
PREFERENCES = ("frequency", "hour", "weekday", "timezone", "include_trending", "include_alerts",
               "include_recommendations")


@dataclass(frozen=True)
class Subscription:
    id: int
    user_id: int | None
    email: str
    pending_email: str | None
    status: str
    frequency: str
    hour: int
    weekday: int
    timezone: str
    include_trending: bool
    include_alerts: bool
    include_recommendations: bool
    key: str
    created_at: dt.datetime
    updated_at: dt.datetime
    confirmed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None
    account_email: str | None = None  # the member's current account address

    @property
    def address(self) -> str:
        """Where digests go: a member's current account address, else the confirmed address."""
        return self.account_email or self.email

    @property
    def active(self) -> bool:
        return self.status == "active"


_COLUMNS = [c for c in subscriptions.c]


def _subscription(row) -> Subscription:
    values = {f.name: getattr(row, f.name) for f in fields(Subscription) if f.name != "account_email"}
    for name in ("created_at", "updated_at", "confirmed_at", "unsubscribed_at"):
        values[name] = utc(values[name])
    for name in ("include_trending", "include_alerts", "include_recommendations"):
        values[name] = bool(values[name])
    return Subscription(**values, account_email=row.account_email)


def _query():
    return select(*_COLUMNS, users.c.email.label("account_email")).select_from(
        subscriptions.outerjoin(users, users.c.id == subscriptions.c.user_id))


class Subscriptions:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    def create(self, *, email: str, user_id: int | None, status: str, key: str, preferences: dict,
               now: dt.datetime) -> Subscription:
        row = {"email": email, "user_id": user_id, "status": status, "key": key, "created_at": now,
               "updated_at": now, "confirmed_at": now if status == "active" else None, **preferences}
        try:
            with self.engine.begin() as conn:
                new_id = conn.execute(insert(subscriptions).values(**row).returning(subscriptions.c.id)).scalar_one()
        except IntegrityError as exc:
            raise Conflict("that address or member already has a subscription") from exc
        return self.require(new_id)

    def get(self, subscription_id: int) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(_query().where(subscriptions.c.id == subscription_id)).first()
        return _subscription(row) if row else None

    def require(self, subscription_id: int) -> Subscription:
        """The subscription, read back after a change; NotFound if it was deleted meanwhile."""
        sub = self.get(subscription_id)
        if sub is None:
            raise NotFound(f"no subscription {subscription_id}")
        return sub

    def by_email(self, email: str) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(_query().where(subscriptions.c.email == email)).first()
        return _subscription(row) if row else None

    def for_user(self, user_id: int) -> Subscription | None:
        with self.engine.connect() as conn:
            row = conn.execute(_query().where(subscriptions.c.user_id == user_id)).first()
        return _subscription(row) if row else None

    def active(self) -> list[Subscription]:
        with self.engine.connect() as conn:
            return [_subscription(r) for r in conn.execute(
                _query().where(subscriptions.c.status == "active").order_by(subscriptions.c.id))]

    def update(self, subscription_id: int, now: dt.datetime, **values) -> bool:
        """Change preferences or state columns (names from the table); True when the row exists."""
        unknown = set(values) - {c.name for c in subscriptions.c}
        if unknown:
            raise ValueError(f"unknown subscription columns: {sorted(unknown)}")
        with self.engine.begin() as conn:
            return conn.execute(update(subscriptions).where(subscriptions.c.id == subscription_id)
                                .values(updated_at=now, **values)).rowcount == 1

    def confirm(self, subscription_id: int, key: str, now: dt.datetime) -> bool:
        """pending → active (only with the subscription's key); True when it is active now."""
        with self.engine.begin() as conn:
            conn.execute(update(subscriptions).where(
                subscriptions.c.id == subscription_id, subscriptions.c.key == key,
                subscriptions.c.status == "pending").values(status="active", confirmed_at=now, updated_at=now,
                                                             unsubscribed_at=None))
            status = conn.execute(select(subscriptions.c.status).where(
                subscriptions.c.id == subscription_id, subscriptions.c.key == key)).scalar()
        return status == "active"

    def confirm_address(self, subscription_id: int, key: str, email: str, now: dt.datetime) -> bool:
        """Make a confirmed new address the subscription's address (it must still be the pending one)."""
        try:
            with self.engine.begin() as conn:
                return conn.execute(update(subscriptions).where(
                    subscriptions.c.id == subscription_id, subscriptions.c.key == key,
                    subscriptions.c.pending_email == email).values(email=email, pending_email=None,
                                                                   updated_at=now)).rowcount == 1
        except IntegrityError as exc:
            raise Conflict("that address already has a subscription") from exc

    def unsubscribe(self, subscription_id: int, key: str, now: dt.datetime) -> bool:
        """Stop sending (idempotent); True when the key matched a subscription."""
        with self.engine.begin() as conn:
            conn.execute(update(subscriptions).where(
                subscriptions.c.id == subscription_id, subscriptions.c.key == key,
                subscriptions.c.status != "unsubscribed").values(status="unsubscribed", unsubscribed_at=now,
                                                                  updated_at=now, pending_email=None))
            return conn.execute(select(subscriptions.c.id).where(
                subscriptions.c.id == subscription_id, subscriptions.c.key == key)).first() is not None

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        with self.engine.connect() as conn:
            for r in conn.execute(select(subscriptions.c.status, func.count().label("n"))
                                  .group_by(subscriptions.c.status)):
                out[r.status] = r.n
        return out
