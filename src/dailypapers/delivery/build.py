"""Planning and building digests, exactly one per (subscription, period).

`plan` finds the subscriptions whose latest scheduled instant has come (and that were confirmed
by then) and queues one `digest` job per (subscription, period); the job's key is unique, so
planning twice, or on two workers, queues it once. `build` renders the digest and stores it in
the outbox under the same key (`digest:<subscription id>:<period>`, unique too), so even two
builds of one period racing each other leave one message. A digest with nothing in it is not
sent (the job records "nothing new").

`force` (`dailypapers digest send --now`) also plans the *next* period of every subscription
that has nothing due now, so it is sent early and not again at its hour.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dailypapers.config import Settings
from dailypapers.delivery import content, links, message, render
from dailypapers.delivery.schedule import DAYS, WEEKDAYS, last_instant, next_instant, period_of
from dailypapers.store import Store
from dailypapers.store.subscriptions import Subscription

if TYPE_CHECKING:
    from dailypapers.search.encoder.embeddings import Encoder
    from dailypapers.search.keyword import KeywordIndex


def digest_key(subscription_id: int, period: dt.date) -> str:
    return f"digest:{subscription_id}:{period.isoformat()}"


@dataclass(frozen=True)
class Due:
    subscription: Subscription
    period: dt.date
    instant: dt.datetime

    @property
    def key(self) -> str:
        return digest_key(self.subscription.id, self.period)


@dataclass(frozen=True)
class BuildResult:
    key: str
    status: str  # queued | exists | empty | inactive
    outbox_id: int | None = None
    papers: int = 0


def schedule_label(sub: Subscription) -> str:
    when = f"at {sub.hour:02d}:00 ({sub.timezone})"
    return f"every day {when}" if sub.frequency == "daily" else f"every {WEEKDAYS[sub.weekday]} {when}"


def due(store: Store, now: dt.datetime, *, force: bool = False,
        subscription_ids: set[int] | None = None) -> list[Due]:
    """Digests that should exist by `now` and have not been planned yet."""
    subs = [s for s in store.subscriptions.active() if subscription_ids is None or s.id in subscription_ids]
    options: list[tuple[Due, Due | None]] = []
    for sub in subs:
        args = (sub.frequency, sub.hour, sub.weekday, sub.timezone)
        last = last_instant(*args, now)
        current = Due(sub, period_of(last, sub.timezone), last)
        early = None
        if force:
            nxt = next_instant(*args, now)
            early = Due(sub, period_of(nxt, sub.timezone), nxt)
        options.append((current, early))
    keys = [d.key for pair in options for d in pair if d is not None]
    planned = store.jobs.existing_keys(keys)
    out = []
    for current, early in options:
        confirmed = current.subscription.confirmed_at
        if confirmed is not None and confirmed <= current.instant and current.key not in planned:
            out.append(current)
        elif early is not None and early.key not in planned:
            out.append(early)
    return out


def plan(store: Store, now: dt.datetime, *, force: bool = False, subscription_ids: set[int] | None = None) -> list[str]:
    """Queue a `digest` job for each due digest; the keys queued."""
    queued = []
    for d in due(store, now, force=force, subscription_ids=subscription_ids):
        payload = {"subscription": d.subscription.id, "period": d.period.isoformat(),
                   "instant": d.instant.isoformat()}
        if store.jobs.enqueue(d.key, "digest", payload, run_at=now, now=now):
            queued.append(d.key)
    return queued


def render_digest(settings: Settings, digest: content.Digest) -> tuple[str, str]:
    """(text, html) of a digest."""
    sub, base = digest.subscription, digest.base
    for_you = links.absolute(base, "/for-you") if sub.user_id and sub.include_recommendations else None
    return render.render("digest", digest=digest, site_url=base, manage_url=links.manage_url(settings, base, sub),
                         unsubscribe_url=links.unsubscribe_url(settings, base, sub), for_you_url=for_you,
                         schedule_label=schedule_label(sub))


def assemble(store: Store, settings: Settings, sub: Subscription, instant: dt.datetime, *, now: dt.datetime,
             index: KeywordIndex | None = None, encoder: Encoder | None = None) -> content.Digest:
    """The digest of `sub` for `instant` (nothing written), reaching back to the last digest
    when that is longer ago than one period."""
    last = store.outbox.last_digest(sub.id)
    since = None
    one_period = instant - dt.timedelta(days=DAYS[sub.frequency])
    if last is not None and last.created_at < one_period:
        since = last.created_at
    return content.assemble(store, sub, instant, base=links.mail_base(settings), now=now, since=since, index=index,
                            encoder=encoder)


def build(store: Store, settings: Settings, subscription_id: int, period: dt.date, instant: dt.datetime, *,
          now: dt.datetime, index: KeywordIndex | None = None, encoder: Encoder | None = None) -> BuildResult:
    """Render the digest of (subscription, period) into the outbox, unless it is already there."""
    key = digest_key(subscription_id, period)
    sub = store.subscriptions.get(subscription_id)
    if sub is None or not sub.active:
        return BuildResult(key, "inactive")
    if store.outbox.exists(key):
        return BuildResult(key, "exists")
    digest = assemble(store, settings, sub, instant, now=now, index=index, encoder=encoder)
    if digest.empty:
        return BuildResult(key, "empty")
    text, html = render_digest(settings, digest)
    message_id = message.new_message_id(settings, f"digest.{sub.id}.{period.isoformat()}")
    msg = message.compose(
        settings, to=sub.address, subject=digest.subject, text=text, html=html, message_id=message_id, now=now,
        unsubscribe_url=links.unsubscribe_url(settings, digest.base, sub),
        unsubscribe_mailto=links.unsubscribe_mailto(settings, sub),
        list_id=f"dailypapers digest <digest.{message.mail_domain(settings)}>")
    outbox_id = store.outbox.enqueue(dedupe_key=key, kind="digest", to_addr=sub.address, subject=digest.subject,
                                     message_id=message_id, message=message.to_bytes(msg), now=now,
                                     subscription_id=sub.id, period_start=period, items=digest.items)
    return BuildResult(key, "queued" if outbox_id else "exists", outbox_id, digest.count)
