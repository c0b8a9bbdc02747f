"""`dailypapers worker` as real processes against a real SMTP server: it delivers what is due and
exits with --once; killed with SIGKILL in the middle of a batch, a restart delivers every message
exactly once; SIGTERM stops it cleanly; two workers share the jobs table (on the backend under
test) with no job and no digest run twice."""

from __future__ import annotations

import datetime as dt
import signal
import time
from collections import Counter

import pytest
from support.community import copy_data_dir
from support.databases import data_dir_env, data_dir_url
from support.delivery import Inbox, SMTPServer, member_with_subscription, run_cli, start_worker, wait_for_line

from dailypapers.delivery import build
from dailypapers.store import Store

pytestmark = pytest.mark.slow
UTC = dt.timezone.utc


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def env_for(server: SMTPServer, data_dir, **extra: str) -> dict[str, str]:
    env = {**server.env(), **data_dir_env(data_dir), "DAILYPAPERS_WORKER_JOBS": "digests",
           "DAILYPAPERS_WORKER_POLL_SECONDS": "0.2", "DAILYPAPERS_WORKER_LEASE_SECONDS": "3"}
    env.update(extra)
    return env


def readers(store: Store, n: int, created: dt.datetime) -> list:
    """n members whose daily digest (at the last full UTC hour) is due now."""
    hour = (now() - dt.timedelta(hours=1)).hour
    prefs = {"frequency": "daily", "hour": str(hour), "timezone": "UTC", "include_trending": "1"}
    return [member_with_subscription(store, f"reader{i:02d}", created, prefs)[1] for i in range(n)]


def build_all(store: Store, settings_now: dt.datetime) -> None:
    """Plan and build every due digest in this process (so a worker only has mail to send)."""
    from dailypapers import config

    settings = config.load(environ={}, public_url="https://papers.example.org")
    build.plan(store, settings_now)
    while (job := store.jobs.claim("builder", ["digest"], settings_now, 60)) is not None:
        p = job.payload
        build.build(store, settings, p["subscription"], dt.date.fromisoformat(p["period"]),
                    dt.datetime.fromisoformat(p["instant"]), now=settings_now)
        store.jobs.finish(job, "builder", settings_now, ok=True)


@pytest.fixture
def data_dir(web_data_dir, tmp_path):
    return copy_data_dir(web_data_dir, tmp_path / "data")


def test_worker_once_delivers_what_is_due_and_nothing_twice(data_dir, tmp_path):
    server = SMTPServer().start()
    try:
        store = Store.open(data_dir_url(data_dir))
        subs = readers(store, 3, now() - dt.timedelta(days=3))
        env = env_for(server, data_dir)
        first = run_cli(["worker", "--once"], env)
        assert first.returncode == 0, first.stderr
        assert "ready" in first.stderr and "planned 3 digests" in first.stderr
        assert sorted(m["To"] for m in server.inbox.messages) == sorted(s.address for s in subs)
        again = run_cli(["worker", "--once"], env)
        assert again.returncode == 0, again.stderr
        assert len(server.inbox.messages) == 3
        runs = [r for r in store.jobs.runs() if r.key.startswith("digest:")]
        assert len(runs) == 3 and all(r.outcome == "ok" for r in runs)
        store.close()
    finally:
        server.stop()


def test_sigkill_in_the_middle_of_a_batch_then_restart_delivers_each_message_once(data_dir, tmp_path):
    inbox = Inbox(rcpt_delay=1.0)  # a slow server: the worker spends its time waiting on RCPT TO
    server = SMTPServer(inbox).start()
    log = tmp_path / "worker1.log"
    try:
        store = Store.open(data_dir_url(data_dir))
        subs = readers(store, 8, now() - dt.timedelta(days=3))
        build_all(store, now())
        assert store.outbox.counts()["queued"] == 8
        env = env_for(server, data_dir)
        worker = start_worker(env, log=log)
        inbox.wait_for(3, timeout=60)
        time.sleep(0.4)  # the worker marked the third sent and is waiting on the fourth's RCPT TO
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        counts = store.outbox.counts()
        assert counts["sent"] == 3 and counts["queued"] == 5
        held = [m for m in store.outbox.recent(status="queued") if m.claimed_by]
        assert len(held) == 5  # the dead worker's claims: the rest of its batch
        unfinished = [a for a in store.outbox.attempts() if a.finished_at is None]
        assert len(unfinished) == 1  # killed during this attempt

        inbox.rcpt_delay = 0.0
        time.sleep(3.2)  # the dead worker's lease runs out
        restart = run_cli(["worker", "--once"], env)
        assert restart.returncode == 0, restart.stderr
        assert Counter(m["To"] for m in inbox.messages) == Counter(s.address for s in subs)  # each exactly once
        assert sorted(i.strip() for i in inbox.message_ids()) == sorted(m.message_id for m in store.outbox.recent())
        assert store.outbox.counts()["sent"] == 8
        assert [a.outcome for a in store.outbox.attempts()].count("interrupted") == 1
        store.close()
    finally:
        server.stop()


def test_sigterm_finishes_the_message_in_hand_and_gives_the_rest_back(data_dir, tmp_path):
    inbox = Inbox(rcpt_delay=0.4)
    server = SMTPServer(inbox).start()
    log = tmp_path / "worker.log"
    try:
        store = Store.open(data_dir_url(data_dir))
        subs = readers(store, 5, now() - dt.timedelta(days=3))
        build_all(store, now())
        env = env_for(server, data_dir)
        worker = start_worker(env, log=log)
        inbox.wait_for(1, timeout=60)
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(20) == 0
        text = log.read_text()
        assert "received SIGTERM" in text and "stopped after" in text
        assert not [m for m in store.outbox.recent() if m.claimed_by]  # every claim given back
        assert not [j for j in store.jobs.all() if j.claimed_by]
        sent_before = len(inbox.messages)
        assert 1 <= sent_before < 5
        inbox.rcpt_delay = 0.0
        assert run_cli(["worker", "--once"], env).returncode == 0  # no lease to wait for
        assert Counter(m["To"] for m in inbox.messages) == Counter(s.address for s in subs)
        store.close()
    finally:
        server.stop()


def test_two_workers_share_the_jobs_and_run_each_once(data_dir, tmp_path):
    inbox = Inbox(rcpt_delay=0.05)
    server = SMTPServer(inbox).start()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = []
    store = Store.open(data_dir_url(data_dir))
    try:
        env = env_for(server, data_dir)
        workers = [start_worker(env, "--id", name, log=log) for name, log in zip(("A", "B"), logs, strict=True)]
        for w, log in zip(workers, logs, strict=True):
            wait_for_line(log, "ready", process=w)
        subs = readers(store, 24, now() - dt.timedelta(days=3))
        store.jobs.wake("digests", now())  # plan them at the next poll
        inbox.wait_for(24, timeout=120)
        time.sleep(0.5)
        for w in workers:
            w.send_signal(signal.SIGTERM)
        assert [w.wait(30) for w in workers] == [0, 0]
        assert Counter(m["To"] for m in inbox.messages) == Counter(s.address for s in subs)  # every digest once
        runs = store.jobs.runs()
        digest_runs = [r for r in runs if r.key.startswith("digest:")]
        per_job = Counter(r.job_id for r in digest_runs)
        assert len(per_job) == 24 and set(per_job.values()) == {1}  # every job once
        assert all(r.outcome == "ok" for r in digest_runs)
        by_slot = Counter((r.job_id, r.scheduled_for) for r in runs if r.outcome == "ok")
        assert set(by_slot.values()) == {1}
        assert {r.worker for r in digest_runs} == {"A", "B"}  # shared
        assert store.outbox.counts()["sent"] == 24
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
        store.close()
        server.stop()


def test_unknown_job_names_are_refused(data_dir):
    result = run_cli(["worker", "--once", "--jobs", "digests,launch-rockets"], data_dir_env(data_dir))
    assert result.returncode == 1 and "unknown job 'launch-rockets'" in result.stderr
