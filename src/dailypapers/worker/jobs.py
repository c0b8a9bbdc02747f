"""What `dailypapers worker` runs: the recurring jobs it schedules and the handler of each kind.

    kind      key                 every   does
    harvest   harvest:<set>       6 h     OAI-PMH harvest of one set (settings.harvest_categories),
                                          resuming from its checkpoint
    embed     embed               15 min  embed papers without a vector (when the encoder loads)
    index     index               1 min   follow the change sequence into the keyword index
    digests   digests             1 min   plan the digests that are due (one `digest` job each)
    digest    digest:<sid>:<day>  once    build one digest into the outbox
    fulltext  fulltext            10 min  fetch the PDFs of a slice of papers without full text,
                                          extract the text, render the thumbnail (ingest/fulltext/job.py;
                                          not in the default DAILYPAPERS_WORKER_JOBS: add it)
    cleanup   cleanup             1 day   forget finished jobs, old job runs and the bodies of
                                          messages older than RETENTION (rows and keys stay)

settings.worker_jobs chooses the recurring ones; `digest` and `cleanup` jobs run wherever
`digests` does.
Trending needs no job: it is computed when a list is read. The outbox is not a job: every worker
sends due messages between jobs (delivery/sender.py), the rows being claimed one by one.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from dailypapers.config import Settings
from dailypapers.errors import ConfigError, JobError
from dailypapers.store import Store
from dailypapers.store.jobs import Job

log = logging.getLogger("dailypapers.worker")

INTERVALS = {"harvest": 6 * 3600, "embed": 15 * 60, "index": 60, "digests": 60, "fulltext": 10 * 60}
CLEANUP_INTERVAL = 24 * 3600
RETENTION = dt.timedelta(days=30)
MAX_ONE_OFF_ATTEMPTS = 5
RETRY_BASE = dt.timedelta(seconds=30)
EMBED_SLICE = 2000  # papers embedded per run, so one run stays short


@dataclass
class Context:
    """What a handler may use: the store and settings, the clock, the stop flag, and lazily
    opened heavy things (keyword index, encoder)."""

    store: Store
    settings: Settings
    worker: str
    now: Callable[[], dt.datetime]
    should_stop: Callable[[], bool]
    _cache: dict = field(default_factory=dict)

    def index(self):
        """The keyword index, or None before it has been built."""
        if "index" not in self._cache:
            from dailypapers.search.keyword import KeywordIndex

            path = self.settings.index_dir / "keyword"
            self._cache["index"] = KeywordIndex(path) if (path / "state.json").exists() else None
        return self._cache["index"]

    def encoder(self):
        """The embedding model, or None when it cannot load (the reason is logged once)."""
        if "encoder" not in self._cache:
            try:
                from dailypapers.search.encoder.embeddings import load_encoder

                self._cache["encoder"] = load_encoder(self.settings.data_dir / "models")
            except Exception as exc:  # ModelUnavailable, ImportError, a broken model file
                log.warning("the embedding model is unavailable: %s", exc)
                self._cache["encoder"] = None
        return self._cache["encoder"]


def recurring(settings: Settings) -> list[tuple[str, str, dict, int]]:
    """(key, kind, payload, interval) of the recurring jobs settings.worker_jobs asks for."""
    out = []
    for name in settings.worker_jobs:
        if name not in INTERVALS:
            raise ConfigError(f"DAILYPAPERS_WORKER_JOBS: unknown job {name!r}; choose from {', '.join(INTERVALS)}")
        if name == "harvest":
            out += [(f"harvest:{s}", "harvest", {"set": s}, INTERVALS[name]) for s in settings.harvest_categories]
        else:
            out.append((name, name, {}, INTERVALS[name]))
    if "digests" in settings.worker_jobs:
        out.append(("cleanup", "cleanup", {}, CLEANUP_INTERVAL))
    return out


def kinds(settings: Settings) -> list[str]:
    """The job kinds this installation's workers claim."""
    names = list(dict.fromkeys(settings.worker_jobs))
    return names + (["digest", "cleanup"] if "digests" in names else [])


def schedule(store: Store, settings: Settings, now: dt.datetime) -> None:
    for key, kind, payload, interval in recurring(settings):
        store.jobs.schedule(key, kind, payload, interval, now)


def next_run(job: Job, now: dt.datetime, ok: bool) -> tuple[dt.datetime | None, bool]:
    """(when the job runs next, whether to give up) after a run."""
    if job.interval_s is not None:  # job.recurring, in a form the type checker follows
        interval = dt.timedelta(seconds=job.interval_s)
        if ok:
            due = job.run_at + interval
            return (due if due > now else now + interval), False
        return now + min(interval, RETRY_BASE * 2 ** max(0, job.attempts - 1)), False
    if ok:
        return None, False
    if job.attempts >= MAX_ONE_OFF_ATTEMPTS:
        return None, True
    return now + RETRY_BASE * 2 ** max(0, job.attempts - 1), False


# -- handlers: each returns a one-line summary, raises on failure ----------------------


def run_index(ctx: Context, job: Job) -> str:
    from dailypapers.search.encoder.embeddings import DIM, MODEL_ID
    from dailypapers.search.sync import follow_keyword_index, follow_vector_index

    indexed = follow_keyword_index(ctx.store, ctx.settings.index_dir / "keyword", ctx.index())
    done = f"indexed {indexed:,} changed papers"  # or every paper, when the index was missing
    checked = follow_vector_index(ctx.store, ctx.settings.index_dir / "vectors", MODEL_ID, DIM)
    return done + f"; vector index: {checked:,} checked"


def run_embed(ctx: Context, job: Job) -> str:
    encoder = ctx.encoder()
    if encoder is None:
        return "skipped: the embedding model is unavailable"
    from dailypapers.worker.embedding import embed_missing, fill_phrases

    report = embed_missing(ctx.store, encoder, limit=EMBED_SLICE)
    done = f"embedded {report.embedded:,} papers ({report.total:,} vectors)"
    if report.embedded >= EMBED_SLICE:
        return done
    # what is left of the slice backfills the key phrases of vectors stored without them
    filled = fill_phrases(ctx.store, encoder, limit=EMBED_SLICE - report.embedded)
    return done + (f"; key phrases of {filled.stored:,} papers" if filled.stored else "")


def run_harvest(ctx: Context, job: Job) -> str:
    from dailypapers.ingest.harvest import Endpoint, harvest_set

    oai_set = job.payload.get("set") or "cs"
    endpoint = Endpoint(ctx.settings.oai_url, ctx.settings.harvest_delay)
    # stops between records on SIGTERM: the harvester checkpoints each page, the next run resumes
    report = harvest_set(ctx.store, endpoint, oai_set, should_stop=ctx.should_stop)
    ctx.store.jobs.wake("index", ctx.now())
    if not report.ok and report.records == 0:
        raise JobError(f"harvest of {oai_set} failed: {report.errors[:1]}")
    w = report.written
    return f"harvested {oai_set}: {w.inserted:,} new, {w.updated:,} updated, {report.error_count} errors"


def run_fulltext(ctx: Context, job: Job) -> str:
    from dailypapers.ingest.fulltext import job as fulltext_job
    from dailypapers.ingest.fulltext.fetch import PdfFetcher

    s = ctx.settings
    fetcher = PdfFetcher(s.pdf_url, s.data_dir / "pdf", max_bytes=s.pdf_max_bytes, delay=s.pdf_delay)
    try:
        report = fulltext_job.run(ctx.store, fetcher, ctx.now, should_stop=ctx.should_stop)
    finally:
        fetcher.close()
    if report.outcomes.get("ok"):
        ctx.store.jobs.wake("index", ctx.now())
    return str(report)


def run_digests(ctx: Context, job: Job) -> str:
    from dailypapers.delivery.build import plan

    keys = plan(ctx.store, ctx.now())
    return f"planned {len(keys)} digests"


def run_digest(ctx: Context, job: Job) -> str:
    from dailypapers.delivery.build import build

    sid = int(job.payload["subscription"])
    period = dt.date.fromisoformat(job.payload["period"])
    instant = dt.datetime.fromisoformat(job.payload["instant"])
    sub = ctx.store.subscriptions.get(sid)
    wants_meaning = sub is not None and sub.user_id is not None and any(
        s.mode != "keyword" for s in ctx.store.saved_searches.for_user(sub.user_id, alerts_only=True))
    result = build(ctx.store, ctx.settings, sid, period, instant, now=ctx.now(), index=ctx.index(),
                   encoder=ctx.encoder() if wants_meaning else None)
    return {"queued": f"queued digest with {result.papers} papers (outbox {result.outbox_id})",
            "exists": "already queued", "empty": "nothing new: no digest sent",
            "inactive": "the subscription is not active"}[result.status]


def run_cleanup(ctx: Context, job: Job) -> str:
    before = ctx.now() - RETENTION
    jobs_deleted = ctx.store.jobs.prune(before)
    bodies, items = ctx.store.outbox.prune(before)
    return f"forgot {jobs_deleted} finished jobs and {bodies} message bodies older than {RETENTION.days} days"


HANDLERS: dict[str, Callable[[Context, Job], str]] = {
    "index": run_index, "embed": run_embed, "harvest": run_harvest, "digests": run_digests, "digest": run_digest,
    "cleanup": run_cleanup, "fulltext": run_fulltext,
}
