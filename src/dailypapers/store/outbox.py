"""The outbox: every message, fully rendered, is a row here before anything is sent (SQL only;
the sending rules live in delivery/sender.py).

Lifecycle of a row: `queued` → `sent` | `failed` | `cancelled`. While a worker works on a row it
holds a claim (`claimed_by`, `claimed_until`); the claim is taken by one conditional UPDATE (on
PostgreSQL the rows are picked `FOR UPDATE SKIP LOCKED`, see store/jobs.py for the statement
shape), so two workers never hold the same row, and a killed worker's claims become claimable
again when `claimed_until` passes. Each delivery attempt is a row in `outbox_attempts`, written
when the attempt starts (finished_at NULL) and completed with its outcome; an attempt that never
finished is marked `interrupted` when the message is attempted again.

`dedupe_key` is unique: a digest's key is `digest:<subscription id>:<period start>`, so the same
period can be queued only once however often, and by however many workers, it is built.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .convert import as_date, utc
from .jobs import picked
from .schema import digest_items, outbox, outbox_attempts

if TYPE_CHECKING:
    from .repo import Store

STATUSES = ("queued", "sent", "failed", "cancelled")


@dataclass(frozen=True)
class OutboxMessage:
    id: int
    dedupe_key: str
    kind: str
    subscription_id: int | None
    period_start: dt.date | None
    to_addr: str
    subject: str
    message_id: str
    message: bytes
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    claimed_by: str | None
    claimed_until: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None


@dataclass(frozen=True)
class Attempt:
    id: int
    outbox_id: int
    attempt: int
    worker: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str | None
    error: str | None


def _message(row) -> OutboxMessage:
    return OutboxMessage(row.id, row.dedupe_key, row.kind, row.subscription_id,
                         as_date(row.period_start) if row.period_start else None, row.to_addr, row.subject,
                         row.message_id, bytes(row.message), row.status, row.attempts, utc(row.next_attempt_at),
                         row.claimed_by, utc(row.claimed_until), row.last_error, utc(row.created_at),
                         utc(row.sent_at))


def _claimable(table, now: dt.datetime):
    return and_(table.c.status == "queued", table.c.next_attempt_at <= now,
                or_(table.c.claimed_by.is_(None), table.c.claimed_until < now))


class Outbox:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # -- queueing ------------------------------------------------------------------------

    def enqueue(self, *, dedupe_key: str, kind: str, to_addr: str, subject: str, message_id: str, message: bytes,
                now: dt.datetime, subscription_id: int | None = None, period_start: dt.date | None = None,
                items: Sequence[tuple[str, str]] = ()) -> int | None:
        """Store a rendered message (and the papers it lists, in order) unless its dedupe key is
        taken; the new row's id, or None when the key existed (nothing is written then)."""
        row = {"dedupe_key": dedupe_key, "kind": kind, "subscription_id": subscription_id,
               "period_start": period_start, "to_addr": to_addr, "subject": subject, "message_id": message_id,
               "message": message, "status": "queued", "attempts": 0, "next_attempt_at": now, "created_at": now}
        dialect = postgresql if self._postgres else sqlite
        statement = dialect.insert(outbox).values(**row).on_conflict_do_nothing(
            index_elements=[outbox.c.dedupe_key]).returning(outbox.c.id)
        with self.engine.begin() as conn:
            new_id = conn.execute(statement).scalar()
            if new_id is not None and items:
                seen: dict[str, tuple[str, int]] = {}
                for position, (paper_id, section) in enumerate(items):
                    seen.setdefault(paper_id, (section, position))
                conn.execute(insert(digest_items), [
                    {"outbox_id": new_id, "paper_id": pid, "section": sec, "position": pos}
                    for pid, (sec, pos) in seen.items()])
        return new_id

    def exists(self, dedupe_key: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(outbox.c.id).where(outbox.c.dedupe_key == dedupe_key)).first() is not None

    # -- claiming and attempts -----------------------------------------------------------

    def claim(self, worker: str, now: dt.datetime, lease_s: float, limit: int = 20,
              ids: Sequence[int] | None = None) -> list[OutboxMessage]:
        """Reserve up to `limit` due messages (oldest first; only `ids` when given)."""
        pick_table = outbox.alias("pick")
        pick = select(pick_table.c.id).where(_claimable(pick_table, now))
        if ids is not None:
            pick = pick.where(pick_table.c.id.in_(list(ids)))
        pick = pick.order_by(pick_table.c.next_attempt_at, pick_table.c.id).limit(limit)
        statement = (update(outbox).where(outbox.c.id.in_(picked(pick, self._postgres)), _claimable(outbox, now))
                     .values(claimed_by=worker, claimed_until=now + dt.timedelta(seconds=lease_s))
                     .returning(*outbox.c))
        with self.engine.begin() as conn:
            rows = conn.execute(statement).all()
        return sorted((_message(r) for r in rows), key=lambda m: (m.next_attempt_at, m.id))

    def begin_attempt(self, message_id: int, worker: str, now: dt.datetime, lease_s: float) -> int | None:
        """Renew the claim and record the start of an attempt, right before talking to the SMTP
        server; the attempt's id, or None when the message is no longer this worker's to send."""
        with self.engine.begin() as conn:
            row = conn.execute(update(outbox).where(
                outbox.c.id == message_id, outbox.c.claimed_by == worker, outbox.c.status == "queued")
                .values(claimed_until=now + dt.timedelta(seconds=lease_s), attempts=outbox.c.attempts + 1)
                .returning(outbox.c.attempts)).first()
            if row is None:
                return None
            conn.execute(update(outbox_attempts).where(outbox_attempts.c.outbox_id == message_id,
                                                       outbox_attempts.c.finished_at.is_(None))
                         .values(finished_at=now, outcome="interrupted",
                                 error="the worker stopped during this attempt; the server may have the message"))
            return conn.execute(insert(outbox_attempts).values(
                outbox_id=message_id, attempt=row.attempts, worker=worker, started_at=now)
                .returning(outbox_attempts.c.id)).scalar_one()

    def _finish(self, message_id: int, worker: str, attempt_id: int | None, now: dt.datetime, outcome: str,
                error: str | None, values: dict) -> bool:
        with self.engine.begin() as conn:
            mine = conn.execute(update(outbox).where(outbox.c.id == message_id, outbox.c.claimed_by == worker,
                                                     outbox.c.status == "queued")
                                .values(claimed_by=None, claimed_until=None, **values)).rowcount == 1
            if attempt_id is not None:
                if not mine:  # the claim had passed to another worker meanwhile: say what happened
                    error = f"finished ({outcome}) after the claim had passed to another worker" + \
                        (f": {error}" if error else "")
                conn.execute(update(outbox_attempts).where(outbox_attempts.c.id == attempt_id)
                             .values(finished_at=now, outcome=outcome if mine else "lost", error=error))
        return mine

    def mark_sent(self, message_id: int, worker: str, attempt_id: int | None, now: dt.datetime,
                  outcome: str = "sent") -> bool:
        return self._finish(message_id, worker, attempt_id, now, outcome, None,
                            {"status": "sent", "sent_at": now, "last_error": None})

    def mark_retry(self, message_id: int, worker: str, attempt_id: int | None, now: dt.datetime, error: str,
                   next_attempt_at: dt.datetime) -> bool:
        return self._finish(message_id, worker, attempt_id, now, "retry", error,
                            {"next_attempt_at": next_attempt_at, "last_error": error})

    def mark_failed(self, message_id: int, worker: str, attempt_id: int | None, now: dt.datetime,
                    error: str) -> bool:
        return self._finish(message_id, worker, attempt_id, now, "failed", error,
                            {"status": "failed", "last_error": error})

    def cancel(self, message_id: int, worker: str, now: dt.datetime, reason: str) -> bool:
        """Drop a claimed message without sending it (its subscription ended)."""
        with self.engine.begin() as conn:
            mine = conn.execute(update(outbox).where(outbox.c.id == message_id, outbox.c.claimed_by == worker,
                                                     outbox.c.status == "queued")
                                .values(status="cancelled", claimed_by=None, claimed_until=None,
                                        last_error=reason)).rowcount == 1
            if mine:
                attempts = conn.execute(select(outbox.c.attempts).where(outbox.c.id == message_id)).scalar_one()
                conn.execute(insert(outbox_attempts).values(
                    outbox_id=message_id, attempt=attempts, worker=worker, started_at=now, finished_at=now,
                    outcome="cancelled", error=reason))
        return mine

    def release(self, message_id: int, worker: str, next_attempt_at: dt.datetime | None = None) -> bool:
        """Give a claimed message back without attempting it (optionally not before a time)."""
        values: dict = {"claimed_by": None, "claimed_until": None}
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        with self.engine.begin() as conn:
            return conn.execute(update(outbox).where(outbox.c.id == message_id, outbox.c.claimed_by == worker,
                                                     outbox.c.status == "queued").values(**values)).rowcount == 1

    def readdress(self, message_id: int, worker: str, to_addr: str, message: bytes) -> bool:
        """Point a claimed message at the subscription's new address (before it is sent)."""
        with self.engine.begin() as conn:
            return conn.execute(update(outbox).where(outbox.c.id == message_id, outbox.c.claimed_by == worker,
                                                     outbox.c.status == "queued")
                                .values(to_addr=to_addr, message=message)).rowcount == 1

    def requeue(self, now: dt.datetime, ids: Sequence[int] | None = None) -> int:
        """Queue failed messages again (all of them, or `ids`), with a fresh attempt count."""
        where = [outbox.c.status == "failed"]
        if ids is not None:
            where.append(outbox.c.id.in_(list(ids)))
        with self.engine.begin() as conn:
            return conn.execute(update(outbox).where(*where).values(
                status="queued", attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None)).rowcount

    # -- reading -------------------------------------------------------------------------

    def get(self, message_id: int) -> OutboxMessage | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.id == message_id)).first()
        return _message(row) if row else None

    def by_key(self, dedupe_key: str) -> OutboxMessage | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.dedupe_key == dedupe_key)).first()
        return _message(row) if row else None

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATUSES, 0)
        with self.engine.connect() as conn:
            for r in conn.execute(select(outbox.c.status, func.count().label("n")).group_by(outbox.c.status)):
                out[r.status] = r.n
        return out

    def recent(self, *, status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
        query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
        if status:
            query = query.where(outbox.c.status == status)
        with self.engine.connect() as conn:
            return [_message(r) for r in conn.execute(query)]

    def next_due(self) -> dt.datetime | None:
        with self.engine.connect() as conn:
            return utc(conn.execute(select(func.min(outbox.c.next_attempt_at))
                                    .where(outbox.c.status == "queued")).scalar())

    def attempts(self, message_id: int | None = None, *, ids: Sequence[int] | None = None) -> list[Attempt]:
        """Attempts, oldest first: of one message, of the messages `ids`, or all."""
        query = select(outbox_attempts).order_by(outbox_attempts.c.id)
        if message_id is not None:
            query = query.where(outbox_attempts.c.outbox_id == message_id)
        if ids is not None:
            query = query.where(outbox_attempts.c.outbox_id.in_(list(ids)))
        with self.engine.connect() as conn:
            return [Attempt(r.id, r.outbox_id, r.attempt, r.worker, utc(r.started_at), utc(r.finished_at),
                            r.outcome, r.error) for r in conn.execute(query)]

    def items(self, message_id: int) -> list[tuple[str, str]]:
        """(paper id, section) of a digest, in the order the message lists them."""
        with self.engine.connect() as conn:
            return [(r.paper_id, r.section) for r in conn.execute(
                select(digest_items).where(digest_items.c.outbox_id == message_id)
                .order_by(digest_items.c.position))]

    def delivered(self, subscription_id: int) -> set[str]:
        """Papers already in a digest of this subscription (not counting cancelled ones)."""
        query = (select(digest_items.c.paper_id)
                 .select_from(digest_items.join(outbox, outbox.c.id == digest_items.c.outbox_id))
                 .where(outbox.c.subscription_id == subscription_id, outbox.c.status != "cancelled"))
        with self.engine.connect() as conn:
            return set(conn.execute(query).scalars())

    def last_digest(self, subscription_id: int) -> OutboxMessage | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(outbox).where(outbox.c.subscription_id == subscription_id,
                                                    outbox.c.kind == "digest", outbox.c.status != "cancelled")
                               .order_by(outbox.c.period_start.desc(), outbox.c.id.desc()).limit(1)).first()
        return _message(row) if row else None

    def prune(self, before: dt.datetime) -> tuple[int, int]:
        """Forget what old messages said: the bodies of messages finished before `before` are
        emptied (the rows stay: their dedupe keys keep a period from being sent again) and
        their digest items are removed. (bodies emptied, items removed)"""
        old = and_(outbox.c.status.in_(("sent", "failed", "cancelled")), outbox.c.created_at < before)
        with self.engine.begin() as conn:
            items = conn.execute(delete(digest_items).where(
                digest_items.c.outbox_id.in_(select(outbox.c.id).where(old)))).rowcount
            bodies = conn.execute(update(outbox).where(old, func.length(outbox.c.message) > 0)
                                  .values(message=b"")).rowcount
            conn.execute(delete(outbox_attempts).where(
                outbox_attempts.c.outbox_id.in_(select(outbox.c.id).where(old)),
                outbox_attempts.c.started_at < before))
        return bodies, items
