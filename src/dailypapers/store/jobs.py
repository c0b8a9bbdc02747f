"""The jobs table that `dailypapers worker` processes share (SQL only; the loop lives in worker/loop.py).

A job is a row with a unique `key`. Recurring jobs (`interval_s` set) stay `queued` and move
their `run_at` forward after each run; one-off jobs end `done` or `failed`.

Claiming is one conditional UPDATE that sets `claimed_by` and a lease (`lease_until`):

    UPDATE jobs SET claimed_by = :me, lease_until = :lease, ...
     WHERE id IN (SELECT id FROM jobs AS pick
                   WHERE pick.status = 'queued' AND pick.run_at <= :now
                     AND (pick.claimed_by IS NULL OR pick.lease_until < :now)
                   ORDER BY run_at, id LIMIT 1)
       AND status = 'queued' AND (claimed_by IS NULL OR lease_until < :now)
    RETURNING ...

On PostgreSQL the pick is a MATERIALIZED CTE (`WITH picked AS MATERIALIZED (SELECT … FOR
UPDATE SKIP LOCKED)`, see `picked`): it skips rows another worker's transaction has locked, so concurrent
workers pick different jobs without waiting; the repeated condition in the outer WHERE is
re-checked on the row's latest version. On SQLite the single statement runs under the
database's write lock, so two workers cannot both match the same row. A worker that dies
keeps its claim only until the lease ends; a running worker extends it (`extend`). Every state
change after the claim is conditional on `claimed_by` still naming the worker, so a worker that
lost its lease cannot overwrite the new owner's work.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, delete, func, insert, or_, select, update

from .convert import utc
from .schema import job_runs, jobs
from .sqlutil import insert_ignore

if TYPE_CHECKING:
    from .repo import Store


@dataclass(frozen=True)
class Job:
    id: int
    key: str
    kind: str
    payload: dict
    status: str
    run_at: dt.datetime
    interval_s: int | None
    attempts: int
    claimed_by: str | None
    lease_until: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    last_error: str | None
    run_id: int | None = None  # set on a claimed job: its row in job_runs

    @property
    def recurring(self) -> bool:
        return self.interval_s is not None


@dataclass(frozen=True)
class JobRun:
    id: int
    job_id: int
    key: str
    scheduled_for: dt.datetime
    worker: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str | None
    detail: str | None


def _job(row, run_id: int | None = None) -> Job:
    return Job(row.id, row.key, row.kind, json.loads(row.payload or "{}"), row.status, utc(row.run_at),
               row.interval_s, row.attempts, row.claimed_by, utc(row.lease_until), utc(row.started_at),
               utc(row.finished_at), row.last_error, run_id)


def picked(pick, postgres: bool):
    """The ids chosen by `pick`, as a sub-select for `UPDATE … WHERE id IN (…)`.

    On PostgreSQL the choice is a MATERIALIZED common table expression locking its rows
    `FOR UPDATE SKIP LOCKED`: evaluated exactly once. (A plain `IN (SELECT … LIMIT n FOR UPDATE
    SKIP LOCKED)` may be re-run by the planner for each candidate row and then claims more than
    `n` rows.) SQLite evaluates the uncorrelated sub-select once, under its write lock."""
    if not postgres:
        return pick
    cte = pick.with_for_update(skip_locked=True).cte("picked").prefix_with("MATERIALIZED")
    return select(cte.c.id)


def _claimable(table, now: dt.datetime):
    return and_(table.c.status == "queued", table.c.run_at <= now,
                or_(table.c.claimed_by.is_(None), table.c.lease_until < now))


class Jobs:
    def __init__(self, store: Store) -> None:
        self.engine = store.engine

    @property
    def _postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    # -- creating ------------------------------------------------------------------------

    def enqueue(self, key: str, kind: str, payload: dict | None = None, *, run_at: dt.datetime,
                interval_s: int | None = None, now: dt.datetime) -> bool:
        """Add a job unless one with this key exists (ever: a finished one-off job is kept, so
        the same key is never run twice); True when it was added."""
        row = {"key": key, "kind": kind, "payload": json.dumps(payload or {}, sort_keys=True), "status": "queued",
               "run_at": run_at, "interval_s": interval_s, "attempts": 0, "created_at": now}
        with self.engine.begin() as conn:
            return insert_ignore(conn, jobs, row)

    def schedule(self, key: str, kind: str, payload: dict | None, interval_s: int, now: dt.datetime) -> None:
        """Make sure a recurring job exists (due now when new); a changed interval is updated."""
        if not self.enqueue(key, kind, payload, run_at=now, interval_s=interval_s, now=now):
            with self.engine.begin() as conn:
                conn.execute(update(jobs).where(jobs.c.key == key, jobs.c.interval_s != interval_s)
                             .values(interval_s=interval_s))

    def wake(self, key: str, now: dt.datetime) -> None:
        """Make a queued job due now (e.g. send the outbox right after building digests)."""
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.key == key, jobs.c.status == "queued", jobs.c.run_at > now)
                         .values(run_at=now))

    # -- claiming ------------------------------------------------------------------------

    def claim(self, worker: str, kinds: Sequence[str], now: dt.datetime, lease_s: float) -> Job | None:
        """Take the most overdue job of one of `kinds` that nobody holds; None when none is due."""
        if not kinds:
            return None
        pick_table = jobs.alias("pick")
        pick = (select(pick_table.c.id).where(_claimable(pick_table, now), pick_table.c.kind.in_(list(kinds)))
                .order_by(pick_table.c.run_at, pick_table.c.id).limit(1))
        statement = (update(jobs).where(jobs.c.id.in_(picked(pick, self._postgres)), _claimable(jobs, now))
                     .values(claimed_by=worker, lease_until=now + dt.timedelta(seconds=lease_s),
                             attempts=jobs.c.attempts + 1, started_at=now)
                     .returning(*jobs.c))
        with self.engine.begin() as conn:
            row = conn.execute(statement).first()
            if row is None:
                return None
            # a run left unfinished by a worker that died is over: say so
            conn.execute(update(job_runs).where(job_runs.c.job_id == row.id, job_runs.c.finished_at.is_(None))
                         .values(finished_at=now, outcome="lost", detail="the worker stopped before finishing"))
            run_id = conn.execute(insert(job_runs).values(
                job_id=row.id, scheduled_for=row.run_at, worker=worker, started_at=now)
                .returning(job_runs.c.id)).scalar_one()
        return _job(row, run_id)

    def extend(self, job_id: int, worker: str, until: dt.datetime) -> bool:
        """Renew the lease; False when the job is no longer this worker's."""
        with self.engine.begin() as conn:
            return conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.claimed_by == worker)
                                .values(lease_until=until)).rowcount == 1

    def finish(self, job: Job, worker: str, now: dt.datetime, *, ok: bool, detail: str | None = None,
               next_run_at: dt.datetime | None = None, give_up: bool = False) -> bool:
        """Record the outcome and release the job: a recurring job is due again at `next_run_at`;
        a one-off job is done, or (failed) queued again at `next_run_at`, or failed for good when
        `give_up`. False when the worker had lost the job (nothing is changed then)."""
        values: dict = {"claimed_by": None, "lease_until": None, "finished_at": now,
                        "last_error": None if ok else (detail or "failed")}
        if job.recurring:
            values["run_at"] = next_run_at or now
            if ok:
                values["attempts"] = 0
        elif ok:
            values["status"] = "done"
        elif give_up or next_run_at is None:
            values["status"] = "failed"
        else:
            values["run_at"] = next_run_at
        with self.engine.begin() as conn:
            mine = conn.execute(update(jobs).where(jobs.c.id == job.id, jobs.c.claimed_by == worker)
                                .values(**values)).rowcount == 1
            if job.run_id is not None:
                conn.execute(update(job_runs).where(job_runs.c.id == job.run_id, job_runs.c.finished_at.is_(None))
                             .values(finished_at=now, outcome=("ok" if ok else "error") if mine else "lost",
                                     detail=(detail or "")[:2000] or None))
        return mine

    def release(self, job: Job, worker: str, now: dt.datetime) -> None:
        """Give a claimed job back untouched (the worker is stopping before running it)."""
        with self.engine.begin() as conn:
            mine = conn.execute(update(jobs).where(jobs.c.id == job.id, jobs.c.claimed_by == worker)
                                .values(claimed_by=None, lease_until=None,
                                        attempts=case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0)))
            if mine.rowcount and job.run_id is not None:
                conn.execute(update(job_runs).where(job_runs.c.id == job.run_id)
                             .values(finished_at=now, outcome="released"))

    # -- reading -------------------------------------------------------------------------

    def get(self, key: str) -> Job | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(jobs).where(jobs.c.key == key)).first()
        return _job(row) if row else None

    def exists(self, key: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(select(jobs.c.id).where(jobs.c.key == key)).first() is not None

    def existing_keys(self, keys: Sequence[str]) -> set[str]:
        out: set[str] = set()
        wanted = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), 500):
                out.update(conn.execute(select(jobs.c.key).where(jobs.c.key.in_(wanted[start:start + 500])))
                           .scalars())
        return out

    def all(self, *, include_done: bool = False, limit: int = 200) -> list[Job]:
        query = select(jobs).order_by(jobs.c.run_at, jobs.c.id).limit(limit)
        if not include_done:
            query = query.where(jobs.c.status == "queued")
        with self.engine.connect() as conn:
            return [_job(r) for r in conn.execute(query)]

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {r.status: r.n for r in conn.execute(
                select(jobs.c.status, func.count().label("n")).group_by(jobs.c.status))}

    def runs(self, *, key: str | None = None, limit: int = 10_000) -> list[JobRun]:
        query = (select(job_runs, jobs.c.key).select_from(job_runs.join(jobs, jobs.c.id == job_runs.c.job_id))
                 .order_by(job_runs.c.id).limit(limit))
        if key is not None:
            query = query.where(jobs.c.key == key)
        with self.engine.connect() as conn:
            return [JobRun(r.id, r.job_id, r.key, utc(r.scheduled_for), r.worker, utc(r.started_at),
                           utc(r.finished_at), r.outcome, r.detail) for r in conn.execute(query)]

    def recent_runs(self, limit: int = 20) -> list[JobRun]:
        """The latest runs, newest first."""
        query = (select(job_runs, jobs.c.key).select_from(job_runs.join(jobs, jobs.c.id == job_runs.c.job_id))
                 .order_by(job_runs.c.id.desc()).limit(limit))
        with self.engine.connect() as conn:
            return [JobRun(r.id, r.job_id, r.key, utc(r.scheduled_for), r.worker, utc(r.started_at),
                           utc(r.finished_at), r.outcome, r.detail) for r in conn.execute(query)]

    def prune(self, before: dt.datetime) -> int:
        """Delete one-off jobs that ended before `before` (and every run older than that); a
        digest's key stays protected by its outbox row. The number of jobs deleted."""
        with self.engine.begin() as conn:
            conn.execute(delete(job_runs).where(job_runs.c.started_at < before,
                                                job_runs.c.finished_at.is_not(None)))
            return conn.execute(delete(jobs).where(jobs.c.interval_s.is_(None), jobs.c.status.in_(("done", "failed")),
                                                   jobs.c.finished_at < before)).rowcount
