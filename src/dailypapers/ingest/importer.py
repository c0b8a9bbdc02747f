"""Import files of any supported format into the store, in batches, reporting bad records."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from dailypapers.errors import ParseError
from dailypapers.ingest import seen_lines
from dailypapers.ingest.files import expand_paths, open_input
from dailypapers.ingest.parallel import parse_path_parallel
from dailypapers.ingest.seen_lines import Known, Seen
from dailypapers.ingest.writer import BatchWriter
from dailypapers.models import Record
from dailypapers.sources import formats
from dailypapers.store import Store, deferred
from dailypapers.store.db import bulk_load
from dailypapers.store.repo import WriteSummary
from dailypapers.store.schema import seen_records

MAX_REPORTED_ERRORS = 1000
PARALLEL_MIN_BYTES = 4 << 20
PARALLEL_MIN_CORES = 4
BULK_MIN_BYTES = 16 << 20  # ~8,000 snapshot lines: smaller imports keep the indexes up as they go
BULK_MAX_PAPERS = 20_000  # a database with more papers keeps its indexes up as it goes
ANALYZE_AFTER = 10_000  # papers written by one import before the planner's statistics are refreshed


class ImportWatcher(Protocol):
    """Told what an import has read and written (a progress bar, say)."""

    def bytes_read(self, n: int) -> None: ...

    def records_written(self, n: int) -> None: ...


# (description, total bytes or 0) -> a context that watches one file's or one feed's import;
# `progress.import_progress` is one
Progress = Callable[[str, int], AbstractContextManager[ImportWatcher]]


@dataclass
class ImportReport:
    files: int = 0
    records: int = 0
    written: WriteSummary = field(default_factory=WriteSummary)
    errors: list[ParseError] = field(default_factory=list)
    error_count: int = 0
    skipped_seen: int = 0  # lines an earlier import applied, not parsed again (ingest/seen_lines.py)

    @property
    def ok(self) -> bool:
        return self.error_count == 0


def parse_path(fmt: str, path: Path, on_read: Callable[[int], None] | None = None) -> Iterator[Record | ParseError]:
    source_format = formats.get(fmt)
    if not path.exists():
        yield ParseError("no such file", str(path))
        return
    with open_input(path, on_read) as stream:
        try:
            yield from source_format.parse(stream if source_format.streams else stream.read(), str(path))
        except (OSError, EOFError) as exc:  # truncated or corrupt gzip, unreadable file
            yield ParseError(f"cannot read the rest of the file: {exc}", str(path))


def parse_unseen_lines(store: Store, fmt: str, path: Path, on_read: Callable[[int], None] | None = None,
                       known: Known | None = None) -> Iterator[Record | ParseError | Seen]:
    """A line format's records, in this process, without the lines an earlier import applied
    (those `known` knows: store.seen unless told otherwise)."""
    if not path.exists():
        yield ParseError("no such file", str(path))
        return
    source, module, line_salt = str(path), formats.get(fmt).module_name, seen_lines.salt(fmt)
    with open_input(path, on_read) as raw:
        for chunk in seen_lines.line_chunks(raw, source):
            if isinstance(chunk, ParseError):
                yield chunk
                continue
            todo, skipped = seen_lines.unseen(known or store.seen, line_salt, chunk)
            if skipped:
                yield Seen(skipped)
            yield from seen_lines.parse_lines(module, todo, source)


def import_items(store: Store, items: Iterable[Record | ParseError | Seen], *, batch_size: int = 1000,
                 report: ImportReport | None = None,
                 on_records: Callable[[int], None] | None = None) -> ImportReport:
    """Write records in batches (one transaction each); collect errors without stopping. A batch
    is written in another thread while the next one is read and parsed (BatchWriter)."""
    report = report or ImportReport()
    batch: list[Record] = []
    with BatchWriter(store, report, on_records) as writer:
        for item in items:
            if isinstance(item, Seen):
                report.records += item.count
                report.written.unchanged += item.count
                report.skipped_seen += item.count
                if on_records:
                    on_records(item.count)
                continue
            if isinstance(item, ParseError):
                report.error_count += 1
                if len(report.errors) < MAX_REPORTED_ERRORS:
                    report.errors.append(item)
                continue
            batch.append(item)
            if len(batch) >= batch_size:
                writer.write(batch)
                batch = []
        writer.write(batch)
    return report


def import_paths(store: Store, fmt: str, paths: Iterable[Path], *, batch_size: int = 1000,
                 on_read: Callable[[int], None] | None = None,
                 on_records: Callable[[int], None] | None = None,
                 workers: int | None = None, bulk: bool | None = None) -> ImportReport:
    """Import every file; JSON Lines paper files are parsed in `workers` other processes
    (None: one when a file is large enough to pay for starting it, 0: in this process).

    `bulk`: whether the secondary indexes are built after the load instead of kept up row by row
    (store/deferred.py); None: when the files are large and the database (nearly) empty."""
    files = expand_paths(paths)
    formats.get(fmt)  # an unknown format fails before any file is read
    report = ImportReport(files=len(files))
    deferred.restore_abandoned(store.engine)
    with bulk_load(store.engine), _bulk_mode(store, files, bulk) as known:
        for path in files:
            import_items(store, _items(store, fmt, path, workers, on_read, known), batch_size=batch_size,
                         report=report, on_records=on_records)
    if report.written.inserted + report.written.updated >= ANALYZE_AFTER:
        store.analyze()
    return report


@contextmanager
def _bulk_mode(store: Store, files: list[Path], bulk: bool | None) -> Iterator[Known]:
    """Defer the indexes when asked to or worth it; yields what tells applied lines (`Known`):
    store.seen, or, in a bulk load that began with no line remembered, nothing (no line of these
    files can have been applied before, and a line repeated within them is merged again, to the
    same result, instead of being looked up once a chunk)."""
    if bulk is None:
        bulk = _worth_bulk(store, files)
    if not bulk:
        yield store.seen
        return
    fresh = not deferred.has_rows(store.engine, seen_records)
    with deferred.deferred_indexes(store.engine):
        yield seen_lines.none_known if fresh else store.seen


def _worth_bulk(store: Store, files: list[Path]) -> bool:
    size = 0
    for path in files:
        try:
            size += path.stat().st_size
        except OSError:
            continue
    return size >= BULK_MIN_BYTES and deferred.stored_papers(store.engine, BULK_MAX_PAPERS + 1) <= BULK_MAX_PAPERS


def _items(store: Store, fmt: str, path: Path, workers: int | None,
           on_read: Callable[[int], None] | None, known: Known) -> Iterator[Record | ParseError | Seen]:
    if not formats.get(fmt).one_paper_a_line:
        return parse_path(fmt, path, on_read)
    n = workers if workers is not None else (1 if _worth_a_process(path) else 0)
    if n > 0:
        return parse_path_parallel(fmt, path, n, on_read, known=known)
    return parse_unseen_lines(store, fmt, path, on_read, known)


def _worth_a_process(path: Path) -> bool:
    """Only with cores to spare: on 2 shared cores, pickling records between processes cost more
    than the overlap gained (100k snapshot lines: 54 s with a parser process, 40 s without)."""
    if (os.cpu_count() or 1) < PARALLEL_MIN_CORES:
        return False
    try:
        return path.stat().st_size >= PARALLEL_MIN_BYTES
    except OSError:
        return False
