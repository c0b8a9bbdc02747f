"""Sending the outbox: claim a batch, deliver each message over one SMTP connection, record every
attempt, retry with exponential backoff, never send a (subscription, period) twice.

For each claimed message, in this order:

1. the subscription is checked: unsubscribed (or gone) → the message is cancelled, not sent; a
   changed address → the stored message is re-addressed first;
2. `begin_attempt` renews the claim and writes the attempt row (conditional on the claim still
   being this worker's, so a worker whose lease ran out never sends a message another took over);
3. the stored bytes, with the Message-ID recorded when the message was queued, go to the server;
4. the row is marked `sent` in its own short transaction right after the server's 250.

The one window left is between 3 and 4: if the worker dies after the server accepted the
message and before the row is marked, the message is still `queued`; when the claim's lease runs
out another worker sends it again, byte for byte, with the same Message-ID (the attempt that never
finished is recorded as `interrupted`). That is at-least-once for that one message; mail clients
and most providers collapse copies with the same Message-ID. The window is the length of one
database commit. Everything else — a crash before the DATA command, a server that is down, a
dropped connection — is retried without duplicates.

Retries: a temporary failure (no connection, 4xx) waits settings.outbox_retry_seconds × 2^(n-1)
(capped at MAX_BACKOFF) after the n-th attempt; after settings.outbox_max_attempts attempts, or on
a permanent failure (5xx for this message), the message is `failed` (`dailypapers digest retry`
queues failed messages again). When the server cannot be reached, the rest of the batch is
released to wait for the same backoff instead of hammering it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dailypapers.config import Settings
from dailypapers.delivery import mail
from dailypapers.delivery import message as messages
from dailypapers.errors import MailError, PermanentMailError
from dailypapers.redact import redact
from dailypapers.store import Store
from dailypapers.store.outbox import OutboxMessage
from dailypapers.store.sqlutil import utcnow

log = logging.getLogger("dailypapers.digest")

MAX_BACKOFF = dt.timedelta(hours=6)
BATCH = 20


@dataclass
class SendReport:
    claimed: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    cancelled: int = 0
    released: int = 0

    def add(self, other: "SendReport") -> None:
        for name in ("claimed", "sent", "retried", "failed", "cancelled", "released"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def __str__(self) -> str:
        return (f"{self.sent} sent, {self.retried} to retry, {self.failed} failed, {self.cancelled} cancelled"
                + (f", {self.released} released" if self.released else ""))


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    """The wait after the `attempts`-th failed attempt."""
    seconds = settings.outbox_retry_seconds * 2 ** max(0, attempts - 1)
    return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


def _check(store: Store, msg: OutboxMessage) -> tuple[str | None, str | None]:
    """(reason to cancel, new address) for a message about to be sent."""
    if msg.subscription_id is None:
        return (None, None) if msg.kind not in ("digest", "notice") else ("its subscription was deleted", None)
    sub = store.subscriptions.get(msg.subscription_id)
    if sub is None:
        return "its subscription was deleted", None
    if msg.kind in ("digest", "notice"):
        if not sub.active:
            return f"the subscription is {sub.status}", None
        return None, sub.address if sub.address != msg.to_addr else None
    if msg.kind == "confirm":
        if sub.status == "unsubscribed":
            return "the subscription was cancelled", None
        if msg.to_addr == sub.pending_email:
            return None, None  # a new address to confirm
        if sub.active or msg.to_addr != sub.email:
            return "the address was confirmed already (or replaced)", None
    return None, None


def send_batch(store: Store, settings: Settings, worker: str, *, now: Callable[[], dt.datetime] = utcnow,
               limit: int = BATCH, ids: Sequence[int] | None = None,
               should_stop: Callable[[], bool] = lambda: False) -> SendReport:
    """Claim up to `limit` due messages and try each once."""
    report = SendReport()
    lease = settings.worker_lease_seconds
    batch = store.outbox.claim(worker, now(), lease, limit, ids=ids)
    report.claimed = len(batch)
    if not batch:
        return report
    live = mail.configured(settings)  # ConfigError in production without a server
    sender = mail.envelope_sender(settings)
    connection: mail.Connection | None = None
    try:
        for position, msg in enumerate(batch):
            if should_stop():
                for rest in batch[position:]:
                    report.released += store.outbox.release(rest.id, worker)
                break
            reason, new_address = _check(store, msg)
            if reason is not None:
                report.cancelled += store.outbox.cancel(msg.id, worker, now(), reason)
                continue
            data = msg.message
            if new_address is not None:
                data = messages.readdressed(msg.message, new_address)
                if not store.outbox.readdress(msg.id, worker, new_address, data):
                    continue
            attempt = store.outbox.begin_attempt(msg.id, worker, now(), lease)
            if attempt is None:  # our claim ran out and another worker has it
                continue
            attempts = msg.attempts + 1
            try:
                if not live:
                    log.warning("mail is not configured (DAILYPAPERS_SMTP_HOST); logging message %s instead "
                                "of sending it:\n%s", msg.id, redact(messages.as_text(data)))
                    store.outbox.mark_sent(msg.id, worker, attempt, now(), outcome="logged")
                    report.sent += 1
                    continue
                if connection is None:
                    connection = mail.Connection(settings).__enter__()
                connection.send(sender, new_address or msg.to_addr, data)
            except PermanentMailError as exc:
                store.outbox.mark_failed(msg.id, worker, attempt, now(), str(exc))
                report.failed += 1
                log.warning("message %s to %s failed for good: %s", msg.id, redact(msg.to_addr), redact(str(exc)))
                continue
            except MailError as exc:
                connection = None  # Connection.send closed it; __enter__ failures never opened one
                at = now()
                if attempts >= settings.outbox_max_attempts:
                    store.outbox.mark_failed(msg.id, worker, attempt, at, f"gave up after {attempts} attempts: {exc}")
                    report.failed += 1
                else:
                    wait = backoff(settings, attempts)
                    store.outbox.mark_retry(msg.id, worker, attempt, at, str(exc), at + wait)
                    report.retried += 1
                    for rest in batch[position + 1:]:  # the server is unwell: let the others wait too
                        report.released += store.outbox.release(rest.id, worker, at + wait)
                    log.warning("message %s to %s: %s; retrying in %s", msg.id, redact(msg.to_addr), redact(str(exc)),
                                wait)
                    break
                continue
            if store.outbox.mark_sent(msg.id, worker, attempt, now()):
                report.sent += 1
            else:
                log.error("message %s was sent but its claim had passed to another worker", msg.id)
    finally:
        if connection is not None:
            connection.close()
    return report


def send_all(store: Store, settings: Settings, worker: str, *, now: Callable[[], dt.datetime] = utcnow,
             should_stop: Callable[[], bool] = lambda: False, max_batches: int = 1000) -> SendReport:
    """Send batches until nothing due is left (or `should_stop`)."""
    total = SendReport()
    for _ in range(max_batches):
        if should_stop():
            break
        report = send_batch(store, settings, worker, now=now, should_stop=should_stop)
        total.add(report)
        if report.claimed == 0 or report.sent + report.cancelled + report.failed == 0:
            break
    return total
