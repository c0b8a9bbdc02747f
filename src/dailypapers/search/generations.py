"""The index generation protocol both search indexes use (keyword.py and vector_index.py).

An index directory holds:

    state.json      which generation is live, plus the index's own fields; replaced atomically
    .write.lock     flock held by whoever writes (one writer at a time, across processes)
    gen-…/          one complete generation of the index's files

A writer builds a new generation beside the live one and switches `state.json` to it in one
`os.replace`, so a reader sees either the old generation or the new one, never a half-built one.
The previous generation is kept (a reader may still have it open or mapped); older ones are
deleted by `collect`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: writers are serialised per process only
    fcntl = None  # type: ignore[assignment]

STATE = "state.json"
LOCK = ".write.lock"
GEN_PREFIX = "gen-"
_THREAD_LOCKS: dict[str, threading.Lock] = {}


class LockTimeout(Exception):
    """The write lock was not free within the time allowed."""


def read_state(path: Path) -> dict | None:
    """The index's `state.json` at `path`, or None when there is none (or it is unreadable)."""
    try:
        return json.loads((Path(path) / STATE).read_text())
    except (FileNotFoundError, NotADirectoryError, ValueError):
        return None


def write_state(path: Path, state: dict) -> None:
    """Replace `state.json` at `path` atomically (written to a temporary file, fsynced, renamed)."""
    target = Path(path) / STATE
    tmp = target.parent / f".{STATE}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "w") as fh:
        json.dump(state, fh, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, target)


def state_stamp(path: Path) -> tuple[int, int, int] | None:
    """A cheap fingerprint of `state.json` (one stat): it changes whenever the state is replaced."""
    try:
        st = os.stat(Path(path) / STATE)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def new_generation(path: Path) -> str:
    """Create an empty, uniquely named generation directory under `path`; return its name."""
    name = f"{GEN_PREFIX}{time.time_ns()}-{uuid.uuid4().hex[:8]}"
    (Path(path) / name).mkdir()
    return name


def collect(path: Path, keep: set) -> None:
    """Delete every generation under `path` except those named in `keep`."""
    for child in Path(path).iterdir():
        if child.name.startswith(GEN_PREFIX) and child.name not in keep:
            shutil.rmtree(child, ignore_errors=True)  # a reader still mapping it keeps its pages


def thread_lock(path: Path) -> threading.Lock:
    """The in-process lock for the index at `path` (flock does not exclude threads of one process)."""
    return _THREAD_LOCKS.setdefault(str(Path(path).resolve()), threading.Lock())


@contextlib.contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Hold the index's write lock (this process's threads, then other processes) for a block."""
    with thread_lock(path):
        if fcntl is None:  # pragma: no cover
            yield
            return
        with open(Path(path) / LOCK, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def acquire_file_lock(path: Path, timeout: float) -> IO[str] | None:
    """Take the index's cross-process write lock and keep it until `release_file_lock`.

    Polls for up to `timeout` seconds, then raises LockTimeout. Returns the open lock file
    (None where flock does not exist)."""
    if fcntl is None:  # pragma: no cover
        return None
    fh = open(Path(path) / LOCK, "a")  # noqa: SIM115 - held open (locked) until released
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fh
        except OSError:
            if time.monotonic() > deadline:
                fh.close()
                raise LockTimeout(str(path)) from None
            time.sleep(0.05)


def release_file_lock(fh: IO[str] | None) -> None:
    """Release a lock taken by `acquire_file_lock`."""
    if fh is None:
        return
    if fcntl is not None:
        with contextlib.suppress(OSError):
            fcntl.flock(fh, fcntl.LOCK_UN)
    fh.close()
