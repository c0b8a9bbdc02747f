"""Keeps this node's search indexes current while the web server runs.

Every node follows the database's change sequence on its own; on one node, several web worker
processes share one index directory, so only the process holding the follower lock syncs (the
others just read what it commits). If that process exits, the lock is released with it and the
next worker to look takes over.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..redact import describe

log = logging.getLogger("dailypapers.search")


class IndexFollower:
    def __init__(self, lock_path: Path, syncs: list[Callable[[], int]], interval: float = 2.0) -> None:
        self.lock_path, self.syncs, self.interval = lock_path, syncs, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock_file: TextIO | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="index-follower", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        if self._lock_file:
            self._lock_file.close()
            self._lock_file = None

    def _holds_lock(self) -> bool:
        if self._lock_file is not None:
            return True
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._lock_file = handle
        return True

    def run_once(self) -> int:
        if not self._holds_lock():
            return 0
        done = 0
        for sync in self.syncs:
            try:
                done += sync()
            except Exception as exc:  # keep following; a failed round is retried on the next tick
                log.error("index sync failed; retrying in %.0f s: %s", self.interval, describe(exc))
        return done

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()
