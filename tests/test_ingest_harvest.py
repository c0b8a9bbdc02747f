"""The one harvest loop (ingest/harvest.py) that `dailypapers harvest` and the worker's harvest job
run: a set starts from its checkpoint, stops when asked, and a failing set does not stop the others."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from urllib.parse import parse_qsl, urlsplit

import pytest
from sources_helpers import ReplayServer, Reply, needs_data
from test_sources_harvest import page_one, page_two

from dailypapers.errors import FetchError
from dailypapers.ingest.harvest import Endpoint, checkpoint_name, harvest_set, harvest_sets
from dailypapers.store import Store

pytestmark = needs_data


def _route(path: str) -> Reply:
    query = dict(parse_qsl(urlsplit(path).query))
    if query.get("set") == "broken":
        return Reply(404, b"no such set")
    return Reply(200, page_two() if "resumptionToken" in query else page_one())


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.close()


def _queries(server: ReplayServer) -> list[dict[str, str]]:
    return [dict(parse_qsl(urlsplit(p).query)) for p in server.requests]


def test_a_set_resumes_from_the_day_its_last_harvest_reached(store):
    with ReplayServer(route=_route) as oai:
        endpoint = Endpoint(oai.url + "/oai2", delay=0.0)
        first = harvest_set(store, endpoint, "cs", until=dt.date(2015, 1, 3))
        assert first.ok and first.written.inserted >= 2
        assert store.load_checkpoint(checkpoint_name("cs"))["last_until"] == "2015-01-03"
        again = harvest_set(store, endpoint, "cs")
    assert again.written.inserted == 0
    assert _queries(oai)[2]["from"] == "2015-01-03" and "until" not in _queries(oai)[2]


def test_should_stop_ends_the_harvest_between_records(store):
    with ReplayServer(route=_route) as oai:
        report = harvest_set(store, Endpoint(oai.url + "/oai2", delay=0.0), "cs", should_stop=lambda: True)
    assert report.records == 0 and len(oai.requests) == 1


def test_a_failing_set_is_reported_and_the_next_one_still_runs(store):
    watched: list[tuple[str, int]] = []

    class Bar:
        def bytes_read(self, n: int) -> None: ...

        def records_written(self, n: int) -> None:
            watched.append((self.name, n))

    @contextmanager
    def progress(description: str, total: int):
        bar = Bar()
        bar.name = description
        yield bar

    with ReplayServer(route=_route) as oai:
        results = list(harvest_sets(store, Endpoint(oai.url + "/oai2", delay=0.0), ["broken", "cs"],
                                    progress=progress))
    assert [r.oai_set for r in results] == ["broken", "cs"]
    assert isinstance(results[0].error, FetchError) and not results[0].ok
    assert results[1].ok and results[1].report.written.inserted >= 2
    assert {name for name, _ in watched} == {"harvest cs"}


def test_the_command_prints_each_set_and_fails_when_one_stopped(fresh_data_dir, monkeypatch):
    from test_cli import run

    monkeypatch.setenv("DAILYPAPERS_HARVEST_DELAY", "0")
    with ReplayServer(route=_route) as oai:
        proc = run(fresh_data_dir, "harvest", "--url", oai.url + "/oai2", "--set", "broken", "--set", "cs")
    assert proc.returncode == 1
    assert "error: harvest of broken stopped: " in proc.stderr and "rerun to resume" in proc.stderr
    assert "2 new" in proc.stderr or "3 new" in proc.stderr, proc.stderr
