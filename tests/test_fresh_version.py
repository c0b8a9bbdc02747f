"""web/fresh_version.py: one read answers many requests, never one that arrived after it started."""

from __future__ import annotations

import asyncio
import threading

import pytest

from dailypapers.web.fresh_version import FreshVersion


class Source:
    """A value that tests change, and a read of it that can be held at its start."""

    def __init__(self) -> None:
        self.value = 0
        self.started = threading.Event()
        self.go = threading.Event()
        self.go.set()
        self.fail = False

    def read(self) -> tuple:
        seen = self.value  # what the statement sees: the value when it started
        self.started.set()
        self.go.wait(timeout=30)
        if self.fail:
            raise RuntimeError("database is down")
        return (seen,)


def test_a_lone_request_reads_once_and_gets_the_current_value():
    source = Source()
    fresh = FreshVersion(source.read)

    async def main():
        first = await fresh.get()
        source.value = 1
        return first, await fresh.get()

    assert asyncio.run(main()) == ((0,), (1,))
    assert fresh.reads == 2


def test_requests_that_arrive_during_a_read_share_the_next_one_and_see_what_was_written_before():
    source = Source()
    fresh = FreshVersion(source.read)

    async def main():
        source.go.clear()
        early = asyncio.ensure_future(fresh.get())
        await asyncio.to_thread(source.started.wait, 30)  # the first read has started, seeing 0
        source.value = 1  # a vote committed before the next requests arrive
        late = [asyncio.ensure_future(fresh.get()) for _ in range(5)]
        await asyncio.sleep(0)  # one turn of the loop: each runs to its queueing (no time passes)
        source.started.clear()
        source.go.set()
        return await early, await asyncio.gather(*late)

    early, late = asyncio.run(main())
    assert early == (0,)
    assert late == [(1,)] * 5  # none is answered by the read that started before the write
    assert fresh.reads == 2  # the five shared one read


def test_a_failed_read_reaches_its_waiters_and_the_next_request_reads_again():
    source = Source()
    fresh = FreshVersion(source.read)

    async def main():
        source.fail = True
        with pytest.raises(RuntimeError, match="database is down"):
            await fresh.get()
        source.fail = False
        source.value = 7
        return await fresh.get()

    assert asyncio.run(main()) == (7,)
    assert fresh.reads == 2


def test_each_event_loop_has_its_own_reads_and_closed_loops_are_forgotten():
    source = Source()
    fresh = FreshVersion(source.read)
    for value in range(3):  # a test client runs each of its requests on a loop of its own
        source.value = value
        assert asyncio.run(fresh.get()) == (value,)
    assert len(fresh._loops) == 1  # only the last loop's state is held (the earlier ones closed)
