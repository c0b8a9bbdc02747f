"""On PostgreSQL, write an import's batches in a second thread while the next batch is parsed.

A PostgreSQL batch spends a third or more of its time waiting for the server to take the COPYs
(the server's work, on another core), without the GIL. Writing in a thread lets that wait overlap
the parsing of the next batch, with no pickling (a parser process cost more than it gained on 2
cores: importer.py). SQLite writes in the importing thread as before: its executemany takes the
GIL back after every row, so a writer thread there would mostly wait for the parser.

At most one batch is being written and one being filled, so memory stays bounded. Batches are
written one at a time and in order, each in its own transaction, as before; a write's error is
raised in the importing thread at the next batch or at the end.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import TracebackType
from typing import TYPE_CHECKING

from dailypapers.models import Record
from dailypapers.store import Store
from dailypapers.store.repo import WriteSummary

if TYPE_CHECKING:
    from dailypapers.ingest.importer import ImportReport


class BatchWriter:
    def __init__(self, store: Store, report: "ImportReport", on_records: Callable[[int], None] | None) -> None:
        self._store, self._report, self._on_records = store, report, on_records
        self._pool = (None if store.is_sqlite else
                      ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-writer"))
        self._pending: tuple[Future[WriteSummary], int] | None = None

    def write(self, batch: list[Record]) -> None:
        """Start writing `batch` (the caller hands it over) once the previous batch is written."""
        self._settle()
        if not batch:
            return
        if self._pool is None:
            self._done(self._store.write(batch), len(batch))
            return
        self._pending = (self._pool.submit(self._store.write, batch), len(batch))

    def _settle(self) -> None:
        if self._pending is None:
            return
        future, n = self._pending
        self._pending = None
        self._done(future.result(), n)

    def _done(self, written: WriteSummary, n: int) -> None:
        self._report.written.add(written)
        self._report.records += n
        if self._on_records:
            self._on_records(n)

    def __enter__(self) -> "BatchWriter":
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if exc_type is None:
                self._settle()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)  # a write under way ends (commits or rolls back) first
