"""`dailypapers digest …` and `dailypapers worker`: delivery from the command line.

Registered in cli/commands.py with:

    from dailypapers.cli.delivery import digest_app, worker
    app.add_typer(digest_app, name="digest")
    app.command()(worker)

(`python -m dailypapers.cli.delivery …` runs the same commands on their own.)
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from dailypapers import config
from dailypapers.cli.errors import fail, load_settings
from dailypapers.errors import DailyPapersError
from dailypapers.progress import console
from dailypapers.store import Store
from dailypapers.store.sqlutil import utcnow

digest_app = typer.Typer(help="Email digests: send, status, preview, retry.", no_args_is_help=True)
out = Console(soft_wrap=True)  # listings are the output: stdout (progress and events go to stderr)


def _open() -> tuple[config.Settings, Store]:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings, Store.open(settings.resolved_database_url)


def _say(line: str) -> None:
    console.print(line, highlight=False, markup=False)


@digest_app.command("send")
def send(
    now: Annotated[bool, typer.Option("--now", help="Also send each subscription's next digest now, "
                                                    "instead of at its hour (it is not sent again then).")] = False,
    subscription: Annotated[Optional[list[int]], typer.Option(help="Only these subscription ids.")] = None,
) -> None:
    """Build the digests that are due (with --now: every subscription's next one) and send the outbox."""
    from dailypapers.worker.loop import Worker

    settings, store = _open()
    try:
        from dailypapers.delivery.build import plan

        wanted = set(subscription) if subscription else None
        keys = plan(store, utcnow(), force=now, subscription_ids=wanted)
        _say(f"planned {len(keys)} digest(s)")
        worker = Worker(store, settings, kinds=["digest"], on_event=_say)
        while worker.turn().did_something:
            pass
        counts = store.outbox.counts()
        _say(f"outbox: {counts['queued']} queued, {counts['sent']} sent, {counts['failed']} failed, "
             f"{counts['cancelled']} cancelled")
    except DailyPapersError as exc:
        fail(str(exc))
    finally:
        store.close()


@digest_app.command("status")
def status(
    limit: Annotated[int, typer.Option(help="Recent messages to list.")] = 20,
    failed: Annotated[bool, typer.Option("--failed", help="List only failed messages.")] = False,
) -> None:
    """Subscriptions, the outbox (queued, sent, failed) and the jobs table."""
    _, store = _open()
    try:
        subs = store.subscriptions.counts()
        counts = store.outbox.counts()
        nxt = store.outbox.next_due()
        out.print(f"subscriptions: {subs['active']} active, {subs['pending']} waiting for confirmation, "
                  f"{subs['unsubscribed']} unsubscribed", highlight=False)
        out.print(f"outbox: {counts['queued']} queued, {counts['sent']} sent, {counts['failed']} failed, "
                  f"{counts['cancelled']} cancelled" + (f"; next attempt {nxt:%Y-%m-%d %H:%M:%S} UTC" if nxt else ""),
                  highlight=False)
        line = out.print
        line("\nrecent messages (id, kind, to, status, attempts, created UTC, last error):", highlight=False)
        for m in store.outbox.recent(status="failed" if failed else None, limit=limit):
            line(f"  #{m.id}  {m.kind:8} {m.to_addr:32} {m.status:9} {m.attempts:>2}  {m.created_at:%Y-%m-%d %H:%M}"
                 + (f"  {m.last_error[:100]}" if m.last_error else ""), highlight=False, markup=False)
        line("\nscheduled jobs (key, next run UTC, held by):", highlight=False)
        for j in store.jobs.all(limit=50):
            line(f"  {j.key:32} {j.run_at:%Y-%m-%d %H:%M:%S}  {j.claimed_by or '-'}"
                 + (f"  last error: {j.last_error[:80]}" if j.last_error else ""), highlight=False, markup=False)
        line("\nrecent job runs (key, worker, outcome, detail):", highlight=False)
        for r in store.jobs.recent_runs(limit):
            line(f"  {r.key:32} {r.worker:24} {r.outcome or 'running':8} {(r.detail or '')[:100]}",
                 highlight=False, markup=False)
    finally:
        store.close()


@digest_app.command("preview")
def preview(
    email: Annotated[Optional[str], typer.Option(help="The subscription of this address.")] = None,
    subscription: Annotated[Optional[int], typer.Option(help="The subscription with this id.")] = None,
    html: Annotated[Optional[Path], typer.Option(help="Write the HTML part to this file.")] = None,
) -> None:
    """Show the next digest of a subscription as text (nothing is queued or sent)."""
    from dailypapers.delivery.build import assemble, render_digest
    from dailypapers.delivery.schedule import next_instant
    from dailypapers.search.keyword import KeywordIndex

    settings, store = _open()
    try:
        sub = (store.subscriptions.get(subscription) if subscription is not None
               else store.subscriptions.by_email((email or "").strip().lower()) if email else None)
        if sub is None:
            fail("no such subscription (give --email or --subscription; `digest status` lists them)")
        now = utcnow()
        instant = next_instant(sub.frequency, sub.hour, sub.weekday, sub.timezone, now)
        path = settings.index_dir / "keyword"
        index = KeywordIndex(path) if (path / "state.json").exists() else None
        digest = assemble(store, settings, sub, instant, now=now, index=index)
        text, page = render_digest(settings, digest)
        sys.stdout.write(f"Subject: {digest.subject}\nTo: {sub.address}\n\n{text}")
        if html is not None:
            html.write_text(page, encoding="utf-8")
            _say(f"HTML written to {html}")
    finally:
        store.close()


@digest_app.command("retry")
def retry(ids: Annotated[Optional[list[int]], typer.Argument(help="Message ids; default: every failed one.")] = None
          ) -> None:
    """Queue failed messages again."""
    _, store = _open()
    try:
        _say(f"requeued {store.outbox.requeue(utcnow(), ids or None)} message(s)")
    finally:
        store.close()


def worker(
    once: Annotated[bool, typer.Option("--once", help="Run what is due, then exit.")] = False,
    jobs: Annotated[Optional[str], typer.Option(help="Comma-separated recurring jobs; default: "
                                                     "DAILYPAPERS_WORKER_JOBS.")] = None,
    worker_id: Annotated[Optional[str], typer.Option("--id", help="Name of this worker in the jobs table.")] = None,
) -> None:
    """Run scheduled jobs (harvest, embed, index, digests) and send the outbox, until SIGTERM."""
    from dailypapers.worker.loop import Worker

    try:
        if jobs is None:
            settings = config.load()
        else:
            settings = config.load(worker_jobs=tuple(j.strip() for j in jobs.split(",") if j.strip()))
        from dailypapers.worker.jobs import recurring

        recurring(settings)  # unknown job names fail here, before anything runs
    except DailyPapersError as exc:
        fail(str(exc))
    from dailypapers.redact import quiet

    quiet(settings)  # no secret or email address in the worker's log lines
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(settings.resolved_database_url)
    w = Worker(store, settings, worker_id=worker_id, on_event=_say)
    w.install_signal_handlers()
    _say(f"worker {w.id} ready (jobs: {', '.join(w.kinds) or 'none'}; mail: "
         f"{settings.smtp_host + ':' + str(settings.smtp_port) if settings.smtp_host else 'logged only'})")
    try:
        ran = w.run(once=once)
    except DailyPapersError as exc:
        fail(str(exc))
    finally:
        store.close()
    _say(f"worker {w.id} stopped after {ran} job(s)")


def _standalone() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
    app.add_typer(digest_app, name="digest")
    app.command()(worker)
    return app


if __name__ == "__main__":
    _standalone()()
