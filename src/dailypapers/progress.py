"""Progress bars for long commands: count, rate and ETA on a terminal, silent elsewhere."""

from __future__ import annotations

import time
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

console = Console(stderr=True, soft_wrap=True)  # no hard wraps in logs and pipes


class ImportProgress:
    def __init__(self, progress: Progress, task, started: float) -> None:
        self.progress, self.task, self.started, self.records = progress, task, started, 0

    def bytes_read(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def records_written(self, n: int) -> None:
        self.records += n
        rate = self.records / max(time.monotonic() - self.started, 1e-6)
        self.progress.update(self.task, records=self.records, rate=f"{rate:,.0f}")


@contextmanager
def import_progress(description: str, total_bytes: int):
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        TextColumn("{task.fields[records]:,} records · {task.fields[rate]}/s"), TimeRemainingColumn(),
        console=console, transient=False, disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total_bytes or None, records=0, rate="0")
        yield ImportProgress(progress, task, time.monotonic())


@contextmanager
def count_progress(description: str, total: int | None):
    progress = Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeRemainingColumn(), console=console, disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield lambda n: progress.advance(task, n)
