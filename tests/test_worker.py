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
from support.processes import wait_until

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


def digest_runs(store: Store) -> list:
    return [r for r in store.jobs.runs() if r.key.startswith("digest:")]


def wait_past(moment: dt.datetime) -> None:
    """Until the clock has passed `moment` (the end of a lease nobody can renew any more)."""
    while (left := (moment - now()).total_seconds()) >= 0:
        time.sleep(left + 0.05)


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
    inbox = Inbox()
    inbox.hold(after=3)  # the fourth message stops at RCPT TO: the third is marked sent by then
    server = SMTPServer(inbox).start()
    log = tmp_path / "worker1.log"
    try:
        store = Store.open(data_dir_url(data_dir))
        subs = readers(store, 8, now() - dt.timedelta(days=3))
        build_all(store, now())
        assert store.outbox.counts()["queued"] == 8
        env = env_for(server, data_dir)
        worker = start_worker(env, log=log)
        inbox.wait_held(1)
        worker.send_signal(signal.SIGKILL)
        worker.wait(60)
        counts = store.outbox.counts()
        assert counts["sent"] == 3 and counts["queued"] == 5
        held = [m for m in store.outbox.recent(status="queued") if m.claimed_by]
        assert len(held) == 5  # the dead worker's claims: the rest of its batch
        unfinished = [a for a in store.outbox.attempts() if a.finished_at is None]
        assert len(unfinished) == 1  # killed during this attempt

        inbox.release()
        wait_past(max(m.claimed_until for m in held))  # the dead worker's lease runs out
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
    inbox = Inbox()
    inbox.hold(after=1)  # the second message stops at RCPT TO
    server = SMTPServer(inbox).start()
    log = tmp_path / "worker.log"
    try:
        store = Store.open(data_dir_url(data_dir))
        subs = readers(store, 5, now() - dt.timedelta(days=3))
        build_all(store, now())
        env = env_for(server, data_dir)
        worker = start_worker(env, log=log)
        inbox.wait_held(1)  # the second message is in hand
        worker.send_signal(signal.SIGTERM)
        wait_for_line(log, "received SIGTERM", process=worker)
        inbox.release()
        assert worker.wait(60) == 0
        text = log.read_text()
        assert "received SIGTERM" in text and "stopped after" in text
        assert not [m for m in store.outbox.recent() if m.claimed_by]  # every claim given back
        assert not [j for j in store.jobs.all() if j.claimed_by]
        assert len(inbox.messages) == 2  # the one in hand was finished, none was started after
        assert store.outbox.counts()["sent"] == 2
        assert run_cli(["worker", "--once"], env).returncode == 0  # no lease to wait for
        assert Counter(m["To"] for m in inbox.messages) == Counter(s.address for s in subs)
        store.close()
    finally:
        server.stop()


def test_two_workers_share_the_jobs_and_run_each_once(data_dir, tmp_path):
    """Worker A plans the digests and stops in the middle of its first message; worker B, started
    then, can only send a digest it built itself; both go on once B's message is held too."""
    inbox = Inbox()
    inbox.hold(parties=2)
    server = SMTPServer(inbox).start()
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    workers = []
    store = Store.open(data_dir_url(data_dir))
    try:
        env = env_for(server, data_dir, DAILYPAPERS_WORKER_LEASE_SECONDS="600")  # no claim runs out meanwhile
        workers.append(start_worker(env, "--id", "A", log=logs[0]))
        wait_for_line(logs[0], "ready", process=workers[0])
        subs = readers(store, 24, now() - dt.timedelta(days=3))
        store.jobs.wake("digests", now())  # plan them at the next poll
        inbox.wait_held(1)  # A built a digest and is sending it
        workers.append(start_worker(env, "--id", "B", log=logs[1]))
        inbox.wait_for(24)
        wait_until(lambda: store.outbox.counts().get("sent") == 24 and len(digest_runs(store)) >= 24, 120,
                   "every digest job recorded and every message marked sent")
        for w in workers:
            w.send_signal(signal.SIGTERM)
        assert [w.wait(60) for w in workers] == [0, 0]
        assert Counter(m["To"] for m in inbox.messages) == Counter(s.address for s in subs)  # every digest once
        runs = store.jobs.runs()
        per_job = Counter(r.job_id for r in digest_runs(store))
        assert len(per_job) == 24 and set(per_job.values()) == {1}  # every job once
        assert all(r.outcome == "ok" for r in digest_runs(store))
        by_slot = Counter((r.job_id, r.scheduled_for) for r in runs if r.outcome == "ok")
        assert set(by_slot.values()) == {1}
        assert {r.worker for r in digest_runs(store)} == {"A", "B"}  # shared
        assert store.outbox.counts()["sent"] == 24
    finally:
        inbox.release()
        for w in workers:
            if w.poll() is None:
                w.kill()
        store.close()
        server.stop()


def test_unknown_job_names_are_refused(data_dir):
    result = run_cli(["worker", "--once", "--jobs", "digests,launch-rockets"], data_dir_env(data_dir))
    assert result.returncode == 1 and "unknown job 'launch-rockets'" in result.stderr
