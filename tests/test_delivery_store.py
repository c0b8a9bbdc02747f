"""The delivery tables on SQLite and PostgreSQL: migration 0004 matches schema.py, jobs and outbox
rows are claimed by one worker at a time (also under concurrency), leases expire, every state
change after a claim is conditional on still holding it, and dedupe keys make queueing
idempotent."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from dailypapers.store import Store
from dailypapers.store.schema import metadata

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
DELIVERY_TABLES = {"subscriptions", "saved_searches", "not_interested", "feed_tokens", "outbox", "outbox_attempts",
                   "digest_items", "jobs", "job_runs"}


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


def test_migration_0004_matches_schema(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    ours = [d for d in diff if any(t in repr(d) for t in DELIVERY_TABLES)]
    assert ours == []
    from dailypapers.store.db import current_revision

    assert current_revision(store.engine) >= "0004"


def _message(store, key: str, now=T0, **kw) -> int | None:
    return store.outbox.enqueue(dedupe_key=key, kind="digest", to_addr="ada@example.org", subject="s",
                                message_id=f"<{key}@example.org>", message=b"Subject: s\r\n\r\nbody", now=now, **kw)


# -- jobs ------------------------------------------------------------------------------


def test_a_job_is_claimed_once_and_its_lease_expires(store):
    assert store.jobs.enqueue("digest:1:2026-11-02", "digest", {"subscription": 1}, run_at=T0, now=T0)
    assert not store.jobs.enqueue("digest:1:2026-11-02", "digest", {}, run_at=T0, now=T0)  # the key is taken
    job = store.jobs.claim("w1", ["digest"], T0, lease_s=60)
    assert job is not None and job.payload == {"subscription": 1} and job.attempts == 1
    assert store.jobs.claim("w2", ["digest"], T0 + dt.timedelta(seconds=59), lease_s=60) is None
    assert store.jobs.claim("w2", ["harvest"], T0, lease_s=60) is None  # not a kind w2 runs
    # w1 dies; after the lease w2 takes over and w1 can no longer finish it
    taken = store.jobs.claim("w2", ["digest"], T0 + dt.timedelta(seconds=61), lease_s=60)
    assert taken is not None and taken.id == job.id and taken.attempts == 2
    assert not store.jobs.finish(job, "w1", T0 + dt.timedelta(seconds=62), ok=True)
    assert store.jobs.finish(taken, "w2", T0 + dt.timedelta(seconds=63), ok=True)
    assert store.jobs.get("digest:1:2026-11-02").status == "done"
    runs = store.jobs.runs()
    assert [(r.worker, r.outcome) for r in runs] == [("w1", "lost"), ("w2", "ok")]
    assert store.jobs.claim("w3", ["digest"], T0 + dt.timedelta(days=1), lease_s=60) is None  # done is done


def test_a_recurring_job_moves_to_its_next_run_and_extend_keeps_it(store):
    store.jobs.schedule("index", "index", {}, 60, T0)
    job = store.jobs.claim("w1", ["index"], T0, lease_s=30)
    assert store.jobs.extend(job.id, "w1", T0 + dt.timedelta(seconds=120))
    assert store.jobs.claim("w2", ["index"], T0 + dt.timedelta(seconds=90), lease_s=30) is None  # extended
    assert not store.jobs.extend(job.id, "w2", T0 + dt.timedelta(seconds=500))
    assert store.jobs.finish(job, "w1", T0 + dt.timedelta(seconds=5), ok=True,
                             next_run_at=T0 + dt.timedelta(seconds=60))
    again = store.jobs.get("index")
    assert again.status == "queued" and again.run_at == T0 + dt.timedelta(seconds=60) and again.claimed_by is None
    assert store.jobs.claim("w2", ["index"], T0 + dt.timedelta(seconds=59), lease_s=30) is None
    assert store.jobs.claim("w2", ["index"], T0 + dt.timedelta(seconds=60), lease_s=30) is not None
    store.jobs.schedule("index", "index", {}, 120, T0)  # a changed interval is kept
    assert store.jobs.get("index").interval_s == 120


def test_a_failed_one_off_job_is_retried_then_given_up(store):
    store.jobs.enqueue("digest:9:2026-11-02", "digest", {}, run_at=T0, now=T0)
    job = store.jobs.claim("w", ["digest"], T0, 60)
    store.jobs.finish(job, "w", T0, ok=False, detail="boom", next_run_at=T0 + dt.timedelta(seconds=30))
    row = store.jobs.get("digest:9:2026-11-02")
    assert row.status == "queued" and row.last_error == "boom" and row.run_at == T0 + dt.timedelta(seconds=30)
    job = store.jobs.claim("w", ["digest"], T0 + dt.timedelta(seconds=30), 60)
    store.jobs.finish(job, "w", T0, ok=False, detail="boom again", give_up=True)
    assert store.jobs.get("digest:9:2026-11-02").status == "failed"


def _claim_concurrently(store, claim, workers: int = 6) -> list:
    """Every worker claims at once, then (once all hold their first claim) until nothing is left;
    so the work is shared however the threads are scheduled."""
    got: list = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    start, first_round = threading.Barrier(workers, timeout=120), threading.Barrier(workers, timeout=120)

    def take(name: str) -> bool:
        item = claim(name)
        with lock:
            got.extend(item if isinstance(item, list) else [item] if item else [])
        return bool(item)

    def run(name: str) -> None:
        try:
            start.wait()
            take(name)
            first_round.wait()
            while take(name):
                pass
        except BaseException as exc:  # reported below
            errors.append(exc)
            start.abort()
            first_round.abort()

    threads = [threading.Thread(target=run, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    return got


def test_concurrent_workers_claim_each_job_exactly_once(store):
    for i in range(60):
        store.jobs.enqueue(f"job:{i}", "digest", {"i": i}, run_at=T0, now=T0)
    got = _claim_concurrently(store, lambda name: store.jobs.claim(name, ["digest"], T0, 600))
    counts = Counter(j.key for j in got)
    assert len(counts) == 60 and set(counts.values()) == {1}
    assert len({j.claimed_by for j in got}) > 1  # the work was shared


def test_concurrent_workers_claim_each_message_exactly_once(store):
    for i in range(80):
        _message(store, f"digest:{i}:2026-11-02")
    got = _claim_concurrently(store, lambda name: store.outbox.claim(name, T0, 600, limit=7))
    counts = Counter(m.id for m in got)
    assert len(counts) == 80 and set(counts.values()) == {1}


# -- outbox ----------------------------------------------------------------------------


def test_a_digest_key_queues_one_message_with_its_papers(store):
    first = _message(store, "digest:1:2026-11-02", items=[("2401.00001", "trending"), ("2401.00002", "alerts"),
                                                           ("2401.00001", "recommended")])
    assert first is not None
    assert _message(store, "digest:1:2026-11-02", items=[("2401.00009", "trending")]) is None
    assert store.outbox.counts()["queued"] == 1
    assert store.outbox.items(first) == [("2401.00001", "trending"), ("2401.00002", "alerts")]


def test_claims_attempts_and_outcomes_are_recorded(store):
    mid = _message(store, "digest:1:2026-11-02", subscription_id=None)
    (msg,) = store.outbox.claim("w1", T0, 60)
    assert store.outbox.claim("w2", T0, 60) == []
    attempt = store.outbox.begin_attempt(msg.id, "w1", T0, 60)
    assert store.outbox.begin_attempt(msg.id, "w2", T0, 60) is None  # not w2's
    later = T0 + dt.timedelta(seconds=5)
    assert store.outbox.mark_retry(msg.id, "w1", attempt, later, "421 try later", T0 + dt.timedelta(minutes=1))
    assert store.outbox.claim("w2", T0 + dt.timedelta(seconds=59), 60) == []  # waiting for its retry time
    (msg,) = store.outbox.claim("w2", T0 + dt.timedelta(minutes=1), 60)
    attempt = store.outbox.begin_attempt(msg.id, "w2", T0 + dt.timedelta(minutes=1), 60)
    # w2 is killed after starting the attempt; w3 takes over when the lease is over
    (msg,) = store.outbox.claim("w3", T0 + dt.timedelta(minutes=3), 60)
    attempt3 = store.outbox.begin_attempt(msg.id, "w3", T0 + dt.timedelta(minutes=3), 60)
    assert not store.outbox.mark_sent(msg.id, "w2", attempt, T0 + dt.timedelta(minutes=3))
    assert store.outbox.mark_sent(msg.id, "w3", attempt3, T0 + dt.timedelta(minutes=3))
    row = store.outbox.get(mid)
    assert row.status == "sent" and row.attempts == 3 and row.claimed_by is None
    attempts = store.outbox.attempts(mid)
    assert [(a.attempt, a.worker, a.outcome) for a in attempts] == [(1, "w1", "retry"), (2, "w2", "lost"),
                                                                     (3, "w3", "sent")]
    assert "after the claim had passed" in attempts[1].error
    assert all(a.finished_at is not None for a in attempts)


def test_failed_messages_can_be_queued_again(store):
    mid = _message(store, "confirm:x")
    (msg,) = store.outbox.claim("w", T0, 60)
    attempt = store.outbox.begin_attempt(msg.id, "w", T0, 60)
    store.outbox.mark_failed(msg.id, "w", attempt, T0, "550 no such user")
    assert store.outbox.counts()["failed"] == 1
    assert store.outbox.requeue(T0 + dt.timedelta(hours=1)) == 1
    row = store.outbox.get(mid)
    assert row.status == "queued" and row.attempts == 0


def test_cleanup_forgets_old_bodies_and_jobs_but_keeps_the_keys(store):
    mid = _message(store, "digest:1:2026-10-01", now=T0 - dt.timedelta(days=40), items=[("2401.00001", "trending")])
    recent = _message(store, "digest:1:2026-11-01", now=T0)
    for _ in range(2):
        (msg,) = store.outbox.claim("w", T0, 60, limit=1)
        attempt = store.outbox.begin_attempt(msg.id, "w", T0 - dt.timedelta(days=40) if msg.id == mid else T0, 60)
        store.outbox.mark_sent(msg.id, "w", attempt, T0)
    store.jobs.enqueue("digest:1:2026-10-01", "digest", {}, run_at=T0 - dt.timedelta(days=40), now=T0)
    job = store.jobs.claim("w", ["digest"], T0, 60)
    store.jobs.finish(job, "w", T0 - dt.timedelta(days=40), ok=True)
    store.jobs.schedule("index", "index", {}, 60, T0)
    assert store.jobs.prune(T0 - dt.timedelta(days=30)) == 1
    assert store.outbox.prune(T0 - dt.timedelta(days=30)) == (1, 1)
    assert store.jobs.get("index") is not None and store.jobs.get("digest:1:2026-10-01") is None
    old = store.outbox.get(mid)
    assert old.message == b"" and store.outbox.items(mid) == [] and store.outbox.attempts(mid) == []
    assert store.outbox.get(recent).message != b"" and store.outbox.attempts(recent)
    assert _message(store, "digest:1:2026-10-01") is None  # the key still guards the period
