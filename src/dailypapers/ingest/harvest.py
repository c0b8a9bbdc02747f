"""The OAI-PMH harvest loop, written once: `dailypapers harvest` and the worker's harvest job both
run it. A set's harvest starts where its last complete harvest ended (the `oai:<set>` checkpoint)
unless dates are given, imports every record, and leaves the checkpoint at the last page it
consumed, so a harvest that stops (network error, worker shutdown) resumes when run again."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from dailypapers.errors import DailyPapersError
from dailypapers.ingest.importer import ImportReport, Progress, import_items
from dailypapers.sources.harvest import Checkpoint, OAIHarvester
from dailypapers.store import Store
from dailypapers.store.repo import StoreCheckpoint

BATCH_SIZE = 200  # records per transaction: an OAI-PMH page holds about a thousand


@dataclass(frozen=True)
class Endpoint:
    """Where to harvest from, and how politely (seconds between requests)."""

    url: str
    delay: float = 3.0


@dataclass
class SetHarvest:
    """One set's harvest: what it wrote, or the error that stopped it (run again to resume)."""

    oai_set: str
    report: ImportReport
    error: DailyPapersError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.report.ok


def checkpoint_name(oai_set: str) -> str:
    return f"oai:{oai_set}"


def resume_date(checkpoint: Checkpoint) -> dt.date | None:
    """The day the set's last complete harvest reached, or None before its first one."""
    last = (checkpoint.load() or {}).get("last_until")
    return dt.date.fromisoformat(last) if last else None


def harvest_set(store: Store, endpoint: Endpoint, oai_set: str, *, from_: dt.date | None = None,
                until: dt.date | None = None, should_stop: Callable[[], bool] | None = None,
                on_records: Callable[[int], None] | None = None) -> ImportReport:
    """Harvest one set into the store; with neither `from_` nor `until`, from its checkpoint.

    `should_stop` is asked between records (the harvester checkpoints each page, so the next run
    resumes). Raises FetchError when the endpoint fails for good; the checkpoint keeps the place.
    """
    checkpoint = StoreCheckpoint(store, checkpoint_name(oai_set))
    if from_ is None and until is None:
        from_ = resume_date(checkpoint)
    harvester = OAIHarvester(endpoint.url, set_=oai_set, from_=from_, until=until, delay=endpoint.delay,
                             checkpoint=checkpoint)
    records: Iterable = harvester.harvest()
    if should_stop is not None:
        records = itertools.takewhile(lambda _: not should_stop(), records)
    return import_items(store, records, batch_size=BATCH_SIZE, on_records=on_records)


def harvest_sets(store: Store, endpoint: Endpoint, sets: Iterable[str], *, from_: dt.date | None = None,
                 until: dt.date | None = None, progress: Progress | None = None) -> Iterator[SetHarvest]:
    """Harvest each set in turn, yielding each one's outcome as it ends; a set that stops with an
    error is reported in its SetHarvest and the next set still runs."""
    for oai_set in sets:
        yield _harvest_one(store, endpoint, oai_set, from_, until, progress)


def _harvest_one(store: Store, endpoint: Endpoint, oai_set: str, from_: dt.date | None, until: dt.date | None,
                 progress: Progress | None) -> SetHarvest:
    try:
        if progress is None:
            return SetHarvest(oai_set, harvest_set(store, endpoint, oai_set, from_=from_, until=until))
        with progress(f"harvest {oai_set}", 0) as bar:
            report = harvest_set(store, endpoint, oai_set, from_=from_, until=until, on_records=bar.records_written)
        return SetHarvest(oai_set, report)
    except DailyPapersError as exc:
        return SetHarvest(oai_set, ImportReport(), exc)
