"""The worker's `fulltext` job: for a slice of papers without text, fetch the PDF (politely,
from the cache when it is there), extract its text in paragraphs, render its first page, and
record the outcome. Each paper's outcome is stored as it is reached, so a stopped run loses at
most the paper in hand and the next run resumes with the papers still pending.

A failure is recorded with its status and message (and logged), never dropped: a missing,
corrupt, oversized or non-PDF answer is final; an unreachable server is tried again after
RETRY_BASE * 4^(attempts-1), MAX_ATTEMPTS times in all, then recorded as failed."""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from dailypapers.errors import PdfUnavailable
from dailypapers.ingest.fulltext import extract, render
from dailypapers.ingest.fulltext.fetch import PdfFetcher
from dailypapers.ingest.fulltext.paragraphs import paragraphs
from dailypapers.redact import describe
from dailypapers.store import Store

log = logging.getLogger("dailypapers.worker")

SLICE = 20  # papers per run: at 3 s a request, a run stays around a minute
MAX_ATTEMPTS = 3
RETRY_BASE = dt.timedelta(minutes=30)


@dataclass
class FullTextReport:
    outcomes: Counter = field(default_factory=Counter)

    @property
    def tried(self) -> int:
        return sum(self.outcomes.values())

    def __str__(self) -> str:
        if not self.outcomes:
            return "no papers waiting for full text"
        parts = ", ".join(f"{n} {status}" for status, n in sorted(self.outcomes.items()))
        return f"full text of {self.tried} papers: {parts}"


def process(store: Store, fetcher: PdfFetcher, arxiv_id: str, now: dt.datetime) -> str:
    """Fetch, extract, render and record one paper; returns the status recorded."""
    try:
        data = fetcher.get(arxiv_id)
        pages = extract.extract(data)
        body = "\n\n".join(paragraphs(pages.pages))
        image = render.thumbnail(data)
    except PdfUnavailable as exc:
        if exc.status == "corrupt":
            fetcher.forget(arxiv_id)
        return _failed(store, arxiv_id, exc.status, str(exc), now)
    except Exception as exc:  # PDFium or Pillow tripping on a strange file: recorded, not raised
        fetcher.forget(arxiv_id)
        return _failed(store, arxiv_id, "corrupt", describe(exc), now)
    store.fulltext.record_text(arxiv_id, body, pages.page_count, image, render.MEDIA_TYPE, now)
    return "ok"


def _failed(store: Store, arxiv_id: str, status: str, detail: str, now: dt.datetime) -> str:
    retry_at = None
    if status == "unreachable":
        before = store.fulltext.attempts(arxiv_id)
        if before + 1 >= MAX_ATTEMPTS:
            status, detail = "failed", f"gave up after {before + 1} attempts: {detail}"
        else:
            retry_at = now + RETRY_BASE * 4 ** before
    store.fulltext.record_failure(arxiv_id, status, detail, now, retry_at)
    log.warning("full text of %s: %s: %s", arxiv_id, status, detail)
    return status


def run(store: Store, fetcher: PdfFetcher, now: Callable[[], dt.datetime], *, limit: int = SLICE,
        should_stop: Callable[[], bool] = lambda: False) -> FullTextReport:
    report = FullTextReport()
    for arxiv_id in store.fulltext.pending(now(), limit):
        if should_stop():
            break
        report.outcomes[process(store, fetcher, arxiv_id, now())] += 1
    return report
