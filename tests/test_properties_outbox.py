"""The outbox (store/outbox.py) and its sender (delivery/sender.py) as a state machine (hypothesis
RuleBasedStateMachine) against a real SMTP server (aiosmtpd on loopback) and a real database.

Rules interleave in any order: queue digests (also a second time under the same key), send a batch
as some worker, have the server answer the next messages with 451 or 554, stop and start the
server, kill a worker at any point of a batch (its clock raises at the n-th reading: before the
claim, after the claim, after the attempt row, after the server's 250 and before the row is
marked sent), queue failed messages again, and let time pass (leases run out, backoffs end).

After every step: the server only ever got queued messages; a message the server got twice was
hit in the one window sender.py documents (killed after the 250, before marking), and both copies
carry the same Message-ID; a `sent` row was received; a `queued` or `failed` row the server has
was hit in that window. At the end, with the server up and time passed, every message is received
exactly once by Message-ID, and exactly once by count unless it was in the window.
"""

from __future__ import annotations

import datetime as dt
import email
import itertools
import threading
from collections import Counter
from email import policy

import pytest
from aiosmtpd.controller import Controller
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule
from support import hypothesis_profile
from support.delivery import free_port, member_with_subscription

from dailypapers import config
from dailypapers.delivery import mail, sender
from dailypapers.store import Store

pytestmark = pytest.mark.slow
UTC = dt.timezone.utc
LEASE_S, RETRY_S, MAX_ATTEMPTS = 60, 10, 3


class WorkerKilled(BaseException):
    """The worker process died (raised from its clock, so at any point the sender reads the time)."""


class FlakyInbox:
    """The aiosmtpd handler: keeps every accepted message; `failures` holds the answers to give the
    next DATA commands instead of 250 (e.g. "451 4.3.0 try later", "554 5.6.0 rejected")."""

    def __init__(self) -> None:
        self.received: list[str] = []  # Message-IDs, in arrival order
        self.failures: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            if self.failures:
                return self.failures.pop(0)
            parsed = email.message_from_bytes(envelope.content, policy=policy.default)
            self.received.append(parsed["Message-ID"])
        return "250 OK"

    def counts(self) -> Counter:
        with self.lock:
            return Counter(self.received)


class Server:
    """A real SMTP server on 127.0.0.1 that keeps its port across stop() and start()."""

    def __init__(self) -> None:
        self.inbox, self.port, self.controller = FlakyInbox(), free_port(), None

    def start(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class Clock:
    """The workers' time. At its `kill_at`-th reading it raises WorkerKilled; at its `stall_at`-th
    it runs `stall()` first (the worker froze there while the world went on)."""

    def __init__(self, start: dt.datetime) -> None:
        self.time, self.kill_at, self.stall_at, self.stall = start, None, None, None

    def __call__(self) -> dt.datetime:
        if self.kill_at is not None:
            self.kill_at -= 1
            if self.kill_at < 0:
                self.kill_at = None
                raise WorkerKilled()
        if self.stall_at is not None:
            self.stall_at -= 1
            if self.stall_at < 0:
                self.stall_at, stall, self.stall = None, self.stall, None
                stall()
        return self.time


class Outbox(RuleBasedStateMachine):
    store: Store
    server: Server
    settings: config.Settings
    subscriptions: list
    clock: Clock
    periods = itertools.count()

    @initialize()
    def fresh_run(self):
        self.server.start()
        self.server.inbox.failures.clear()
        self.queued: dict[str, int] = {}  # Message-ID -> outbox id, for this run
        self.window: Counter = Counter()  # Message-ID -> kills after the server's 250, before marking
        self.baseline = self.server.inbox.counts()  # earlier runs' messages
        self.workers = itertools.count()
        self.worker = self._new_worker()

    def _new_worker(self) -> str:
        return f"worker-{id(self)}-{next(self.workers)}"

    def received(self) -> Counter:
        counts = self.server.inbox.counts()
        counts.subtract(self.baseline)
        return +counts

    # -- rules ---------------------------------------------------------------------------

    @rule(sub=st.integers(0, 1), again=st.booleans())
    def queue_a_digest(self, sub, again):
        subscription = self.subscriptions[sub]
        period = dt.date(2000, 1, 1) + dt.timedelta(days=next(self.periods))
        key = f"digest:{subscription.id}:{period.isoformat()}"
        built = mail.build_message(self.settings, subscription.address, f"Digest {period}", f"Papers of {period}.")
        message_id = built["Message-ID"]
        new_id = self.store.outbox.enqueue(dedupe_key=key, kind="digest", to_addr=subscription.address,
                                           subject=built["Subject"], message_id=message_id, message=bytes(built),
                                           now=self.clock.time, subscription_id=subscription.id,
                                           period_start=period, items=[("2401.00001", "new")])
        assert new_id is not None
        self.queued[message_id] = new_id
        if again:  # the same period built again (another worker, a rerun): nothing new is queued
            assert self.store.outbox.enqueue(dedupe_key=key, kind="digest", to_addr=subscription.address,
                                             subject="again", message_id="<other@x>", message=b"x",
                                             now=self.clock.time, subscription_id=subscription.id,
                                             period_start=period) is None

    @rule(limit=st.integers(1, 5))
    def send(self, limit):
        sender.send_batch(self.store, self.settings, self.worker, now=self.clock, limit=limit)

    # readings: 0 the claim, then per message 1 its attempt row, 2 marking it (after the server's 250)...
    @rule(limit=st.integers(1, 5), readings=st.sampled_from([1, 2, 4]) | st.integers(0, 12))
    def worker_killed_while_sending(self, limit, readings):
        """The worker dies at its `readings`-th look at the clock; a new worker takes over."""
        before = self.received()
        self.clock.kill_at = readings
        try:
            sender.send_batch(self.store, self.settings, self.worker, now=self.clock, limit=limit)
        except WorkerKilled:
            after = self.received()
            for message_id, outbox_id in self.queued.items():
                if after[message_id] > before[message_id] and self.store.outbox.get(outbox_id).status == "queued":
                    self.window[message_id] += 1  # accepted by the server, not marked: the documented window
        finally:
            self.clock.kill_at = None
        self.worker = self._new_worker()

    @rule(limit=st.integers(1, 5), readings=st.sampled_from([1, 2, 3, 4]) | st.integers(0, 12),
          other_limit=st.integers(1, 5))
    def worker_stalls_past_its_lease(self, limit, readings, other_limit):
        """The worker freezes at a reading for longer than its lease; another worker claims and
        sends meanwhile; then the first one wakes up and carries on."""
        stalled = self.worker

        def meanwhile():
            self._note_the_window()  # what the stalled worker got accepted but has not marked yet
            self.clock.time += dt.timedelta(seconds=LEASE_S + 1)
            sender.send_batch(self.store, self.settings, self._new_worker(), now=self.clock, limit=other_limit)

        self.clock.stall_at, self.clock.stall = readings, meanwhile
        try:
            sender.send_batch(self.store, self.settings, stalled, now=self.clock, limit=limit)
        finally:
            self.clock.stall_at = self.clock.stall = None

    def _note_the_window(self):
        received = self.received()
        for message_id, outbox_id in self.queued.items():
            if received[message_id] > self._marked_copies(message_id, outbox_id):
                self.window[message_id] += 1

    def _marked_copies(self, message_id: str, outbox_id: int) -> int:
        """Copies the server has that the rows account for (a sent row accounts for one)."""
        row = self.store.outbox.get(outbox_id)
        return (1 if row.status == "sent" else 0) + self.window[message_id]

    @rule(answers=st.lists(st.sampled_from(["451 4.3.0 try again later", "554 5.6.0 message rejected",
                                            "421 4.3.2 shutting down"]), min_size=1, max_size=3))
    def server_refuses_the_next_messages(self, answers):
        self.server.inbox.failures.extend(answers)

    @rule()
    def server_stops(self):
        self.server.stop()

    @rule()
    def server_starts(self):
        self.server.start()

    @rule(seconds=st.sampled_from([1, RETRY_S, LEASE_S + 1, 3600, 7 * 3600]))
    def time_passes(self, seconds):
        self.clock.time += dt.timedelta(seconds=seconds)

    @rule()
    def failed_messages_are_queued_again(self):
        self.store.outbox.requeue(self.clock.time, ids=list(self.queued.values()))

    # -- what must hold after every step -------------------------------------------------

    @invariant()
    def delivered_at_most_once_outside_the_window(self):
        received = self.received()
        assert set(received) <= set(self.queued), set(received) - set(self.queued)
        for message_id, outbox_id in self.queued.items():
            row = self.store.outbox.get(outbox_id)
            got = received[message_id]
            assert got <= 1 + self.window[message_id], (row, got, self.window[message_id])
            if row.status == "sent":
                assert got >= 1, row
            elif got:  # received, yet queued or failed: only after a kill in the window
                assert self.window[message_id] >= 1, (row, got)
            unfinished = [a for a in self.store.outbox.attempts(outbox_id) if a.finished_at is None]
            assert len(unfinished) <= 1, unfinished

    def teardown(self):
        if not hasattr(self, "queued"):
            return
        self.server.start()
        self.server.inbox.failures.clear()
        ids = list(self.queued.values())
        for _ in range(4):  # time passes (leases, backoff), failed messages are queued again, a worker sends
            self.clock.time += dt.timedelta(hours=7)
            self.store.outbox.requeue(self.clock.time, ids=ids)
            sender.send_all(self.store, self.settings, self._new_worker(), now=self.clock)
            if all(self.store.outbox.get(i).status == "sent" for i in ids):
                break
        received = self.received()
        for message_id, outbox_id in self.queued.items():
            row = self.store.outbox.get(outbox_id)
            assert row.status == "sent", row
            assert 1 <= received[message_id] <= 1 + self.window[message_id], (row, received[message_id])
            if not self.window[message_id]:
                assert received[message_id] == 1, row


def test_every_message_is_delivered_once_whatever_happens(database_url, tmp_path):
    server = Server()
    server.start()
    store = Store.open(database_url)
    try:
        Outbox.store, Outbox.server = store, server
        Outbox.settings = config.load(environ={}, data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=server.port,
                                      smtp_starttls=False, mail_from="dailypapers <digest@papers.example.org>",
                                      worker_lease_seconds=LEASE_S, outbox_retry_seconds=RETRY_S,
                                      outbox_max_attempts=MAX_ATTEMPTS)
        start = dt.datetime(2026, 8, 20, 6, tzinfo=UTC)
        Outbox.subscriptions = [member_with_subscription(store, name, start)[1] for name in ("ada", "grace")]
        Outbox.clock = Clock(start)
        run = Outbox.TestCase
        run.settings = settings(max_examples=hypothesis_profile.scaled(30), stateful_step_count=40)
        run("runTest").runTest()
    finally:
        store.close()
        server.stop()


@pytest.fixture
def outbox_world(database_url, tmp_path):
    """A store, a running server, settings pointing at it, one subscription, a clock."""
    server = Server()
    server.start()
    store = Store.open(database_url)
    start = dt.datetime(2026, 8, 20, 6, tzinfo=UTC)
    settings_ = config.load(environ={}, data_dir=tmp_path, smtp_host="127.0.0.1", smtp_port=server.port,
                            smtp_starttls=False, mail_from="dailypapers <digest@papers.example.org>",
                            worker_lease_seconds=LEASE_S, outbox_retry_seconds=RETRY_S,
                            outbox_max_attempts=MAX_ATTEMPTS)
    sub = member_with_subscription(store, "ada", start)[1]
    yield store, server, settings_, sub, Clock(start)
    store.close()
    server.stop()


def _queue(store, settings_, sub, clock, n: int) -> list[str]:
    ids = []
    for i in range(n):
        built = mail.build_message(settings_, sub.address, f"Digest {i}", "Papers.")
        store.outbox.enqueue(dedupe_key=f"digest:{sub.id}:2026-08-{i + 1:02d}", kind="digest", to_addr=sub.address,
                             subject=built["Subject"], message_id=built["Message-ID"], message=bytes(built),
                             now=clock.time, subscription_id=sub.id, period_start=dt.date(2026, 8, i + 1))
        ids.append(built["Message-ID"])
    return ids


def test_killed_after_the_servers_250_the_copy_sent_again_has_the_same_message_id(outbox_world):
    """The one documented at-least-once window: killed after the 250, before the row is marked."""
    store, server, settings_, sub, clock = outbox_world
    (message_id,) = _queue(store, settings_, sub, clock, 1)
    clock.kill_at = 2  # 0: the claim, 1: the attempt row, 2: marking it sent
    with pytest.raises(WorkerKilled):
        sender.send_batch(store, settings_, "doomed", now=clock)
    assert server.inbox.counts() == Counter({message_id: 1})
    assert store.outbox.counts()["queued"] == 1
    clock.time += dt.timedelta(seconds=LEASE_S + 1)
    assert sender.send_batch(store, settings_, "heir", now=clock).sent == 1
    assert server.inbox.counts() == Counter({message_id: 2})  # two copies, one Message-ID
    outcomes = [a.outcome for a in store.outbox.attempts(store.outbox.by_key(f"digest:{sub.id}:2026-08-01").id)]
    assert outcomes == ["interrupted", "sent"]


def test_a_worker_that_stalls_past_its_lease_does_not_send_what_another_took_over(outbox_world):
    store, server, settings_, sub, clock = outbox_world
    first, second = _queue(store, settings_, sub, clock, 2)

    def meanwhile():
        clock.time += dt.timedelta(seconds=LEASE_S + 1)
        assert sender.send_batch(store, settings_, "other", now=clock).sent == 1  # the second message

    clock.stall_at, clock.stall = 3, meanwhile  # after sending the first, before the second's attempt row
    report = sender.send_batch(store, settings_, "slow", now=clock)
    assert report.sent == 1
    assert server.inbox.counts() == Counter({first: 1, second: 1})
    assert store.outbox.counts()["sent"] == 2
