"""The store's content version for the pages' validators, read once for many requests (issue 16, item 1).

Every anonymous page request needs the content version (store/changes.py) to build its ETag and
render key, and it must see every write committed before the request arrived, on any node: a vote
shows on the next request. Reading it once per request put a thread hop, a pool checkout and a
statement on every kept page: under 50 clients kept pages served 32-43% of hello-world's rate on
SQLite and 15-23% on PostgreSQL; sharing the read (and with httptools), 115-251% and 144-247%
(BENCHMARKS.md, "Kept pages").

A read that *starts* after a request arrived sees everything committed before it, so it may answer
every request that arrived before it started. FreshVersion keeps at most one read running per
event loop: a request that finds none starts one; a request that arrives while one runs waits for
the next, which starts as soon as the running one ends and answers all who queued meanwhile. Under
load the statement runs back to back, once per its own latency, however many requests come; a
lone request pays one read as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool


@dataclass
class _Reads:
    """One event loop's reads: the running one and the one queued behind it."""
    running: asyncio.Future | None = None
    queued: asyncio.Future | None = None
    tasks: set = field(default_factory=set)


class FreshVersion:
    """`await fresh.get()`: the value of `read()` from a call that started after get() was called."""

    def __init__(self, read: Callable[[], tuple]) -> None:
        self._read = read
        self._loops: dict[asyncio.AbstractEventLoop, _Reads] = {}
        self.reads = 0  # reads started (the tests count them)

    async def get(self) -> tuple:
        loop = asyncio.get_running_loop()
        reads = self._loops.get(loop)
        if reads is None:  # a new loop (a test client makes one per client): forget the closed ones
            self._loops = {seen: r for seen, r in self._loops.items() if not seen.is_closed()}
            reads = self._loops[loop] = _Reads()
        if reads.running is None:
            wanted = reads.running = self._start(loop, reads)
        else:
            if reads.queued is None:
                reads.queued = loop.create_future()
                reads.queued.add_done_callback(_retrieved)
            wanted = reads.queued
        return await asyncio.shield(wanted)

    def _start(self, loop: asyncio.AbstractEventLoop, reads: _Reads,
               future: asyncio.Future | None = None) -> asyncio.Future:
        if future is None:
            future = loop.create_future()
            future.add_done_callback(_retrieved)
        task = loop.create_task(self._run(loop, reads, future))
        reads.tasks.add(task)  # the loop holds tasks weakly
        task.add_done_callback(reads.tasks.discard)
        return future

    async def _run(self, loop: asyncio.AbstractEventLoop, reads: _Reads, future: asyncio.Future) -> None:
        try:
            self.reads += 1
            value = await run_in_threadpool(self._read)
        except asyncio.CancelledError:  # the loop is shutting down
            future.cancel()
            raise
        except Exception as error:  # every waiter gets it, as each would have from its own read
            future.set_exception(error)
        else:
            future.set_result(value)
        finally:
            reads.running = None
            if reads.queued is not None:
                queued, reads.queued = reads.queued, None
                reads.running = self._start(loop, reads, queued)


def _retrieved(future: asyncio.Future) -> None:
    """Marks an exception as seen when every waiter went away (a client that disconnected)."""
    if not future.cancelled():
        future.exception()
