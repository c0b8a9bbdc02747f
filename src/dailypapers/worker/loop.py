"""`dailypapers worker`: the loop that claims due jobs from the jobs table and sends the outbox.

Each turn: claim one due job (store/jobs.py: a conditional UPDATE, `FOR UPDATE SKIP LOCKED` on
PostgreSQL, so several workers share the table and never take the same job), run it while a
heartbeat thread renews its lease, record the outcome and its next run time; then send one
batch of due messages (claimed the same way). When neither found anything, wait
settings.worker_poll_seconds. `once` returns as soon as nothing is due (tests, cron).

SIGTERM / SIGINT: the worker finishes the job it is running (long handlers check the stop flag
between records or messages), gives back claims it has not started, and exits. A worker killed
outright (SIGKILL, power loss) loses nothing: its claims end with their lease
(settings.worker_lease_seconds) and another worker, or the same one restarted, takes over.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from dailypapers.config import Settings
from dailypapers.delivery import sender
from dailypapers.redact import describe
from dailypapers.store import Store
from dailypapers.store.jobs import Job
from dailypapers.store.sqlutil import utcnow
from dailypapers.worker import jobs as job_kinds

log = logging.getLogger("dailypapers.worker")


def new_worker_id() -> str:
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class TurnReport:
    job: Job | None = None
    outcome: str | None = None
    detail: str | None = None
    mail: sender.SendReport | None = None

    @property
    def did_something(self) -> bool:
        return self.job is not None or bool(self.mail and self.mail.claimed)


class Worker:
    def __init__(self, store: Store, settings: Settings, *, worker_id: str | None = None,
                 clock: Callable[[], dt.datetime] = utcnow, kinds: list[str] | None = None,
                 handlers: dict | None = None, on_event: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.id = worker_id or new_worker_id()
        self.clock = clock
        self.kinds = kinds if kinds is not None else job_kinds.kinds(settings)
        self.handlers = handlers or job_kinds.HANDLERS
        self.on_event = on_event or (lambda line: log.info("%s", line))
        self._stop = threading.Event()
        self.context = job_kinds.Context(store, settings, self.id, clock, self._stop.is_set)

    # -- control -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a graceful stop (main thread only)."""
        def handler(signum, _frame):
            self.on_event(f"received {signal.Signals(signum).name}: finishing the current job, then stopping")
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    # -- running -------------------------------------------------------------------------

    def run(self, *, once: bool = False) -> int:
        """Work until stopped (or, with `once`, until nothing is due); the number of jobs run."""
        job_kinds.schedule(self.store, self.settings, self.clock())
        ran = 0
        while not self.stopping:
            turn = self.turn()
            ran += turn.job is not None
            if not turn.did_something:
                if once:
                    break
                self._stop.wait(self.settings.worker_poll_seconds)
        return ran

    def turn(self) -> TurnReport:
        """Claim and run one due job, then send one batch of due mail."""
        report = TurnReport()
        job = self.store.jobs.claim(self.id, self.kinds, self.clock(), self.settings.worker_lease_seconds)
        if job is not None:
            report.job = job
            if self.stopping:
                self.store.jobs.release(job, self.id, self.clock())
                return report
            report.outcome, report.detail = self.run_job(job)
        if not self.stopping:
            report.mail = sender.send_batch(self.store, self.settings, self.id, now=self.clock,
                                            should_stop=self._stop.is_set)
            if report.mail.claimed:
                self.on_event(f"mail: {report.mail}")
        return report

    def run_job(self, job: Job) -> tuple[str, str]:
        handler = self.handlers.get(job.kind)
        beat = _Heartbeat(self.store, job, self.id, self.clock, self.settings.worker_lease_seconds)
        beat.start()
        try:
            if handler is None:
                raise LookupError(f"no handler for job kind {job.kind!r}")
            detail, ok = handler(self.context, job), True
        except Exception as exc:  # a failed job is recorded and retried; the worker goes on
            log.error("job %s failed: %s", job.key, describe(exc))
            detail, ok = f"{exc.__class__.__name__}: {exc}", False
        finally:
            beat.stop()
        now = self.clock()
        next_at, give_up = job_kinds.next_run(job, now, ok)
        mine = self.store.jobs.finish(job, self.id, now, ok=ok, detail=detail, next_run_at=next_at, give_up=give_up)
        outcome = ("ok" if ok else "error") if mine else "lost"
        self.on_event(f"job {job.key}: {outcome}: {detail}")
        return outcome, detail


class _Heartbeat:
    """Renews a running job's lease every third of the lease."""

    def __init__(self, store: Store, job: Job, worker: str, clock, lease_s: float) -> None:
        self.store, self.job, self.worker, self.clock, self.lease_s = store, job, worker, clock, lease_s
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lease-{job.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(max(self.lease_s / 3, 0.5)):
            try:
                if not self.store.jobs.extend(self.job.id, self.worker,
                                              self.clock() + dt.timedelta(seconds=self.lease_s)):
                    log.error("job %s: the lease passed to another worker", self.job.key)
                    return
            except Exception as exc:  # a database hiccup: try again at the next beat
                log.error("could not renew the lease of job %s: %s", self.job.key, describe(exc))

    def stop(self) -> None:
        self._done.set()
        self._thread.join(timeout=5)
