"""The OAI-PMH harvester against a real local HTTP server replaying arXiv's recorded answers."""

import datetime as dt
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest
from sources_helpers import (
    FIXTURES,
    FakeClock,
    ReplayServer,
    Reply,
    needs_data,
    split,
    take,
)

from dailypapers.errors import FetchError
from dailypapers.models import Record
from dailypapers.sources.harvest import MemoryCheckpoint, OAIHarvester, retry_after
from dailypapers.sources.http import USER_AGENT

DIR = FIXTURES / "arxiv-oai-pmh"
pytestmark = needs_data

PARAMS = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2015-01-01", "until": "2015-01-03"}
TOKEN = "6054587|1001"


def page_one() -> bytes:
    """The recorded ListRecords page, with a resumptionToken pointing to a second page."""
    return (DIR / "listrecords_1.xml").read_bytes().replace(
        b"</ListRecords>", f'<resumptionToken cursor="0" completeListSize="3">{TOKEN}</resumptionToken>'
                           f"</ListRecords>".encode())


def page_two() -> bytes:
    """A last page: the GetRecord record under another id, with the empty closing token."""
    record = (DIR / "getrecord_0.xml").read_bytes().split(b"<GetRecord>")[1].split(b"</GetRecord>")[0]
    head = (DIR / "listrecords_1.xml").read_bytes().split(b"<ListRecords>")[0]
    body = record.replace(b"1412.8544", b"1501.00001")
    tail = b'<resumptionToken cursor="2" completeListSize="3"/></ListRecords></OAI-PMH>'
    return head + b"<ListRecords>" + body + tail


def unavailable() -> Reply:
    return Reply(503, (DIR / "listrecords_0.xml").read_bytes(), {"Retry-After": "10"}, "text/html")


class Arxiv:
    """Routes like arXiv: first ListRecords answers 503, then page one; the token gives page two."""

    def __init__(self, first_unavailable: int = 1) -> None:
        self.unavailable_left = first_unavailable

    def __call__(self, path: str) -> Reply:
        query = dict(parse_qsl(urlsplit(path).query))
        if query.get("resumptionToken") == TOKEN:
            return Reply(200, page_two())
        if self.unavailable_left:
            self.unavailable_left -= 1
            return unavailable()
        return Reply(200, page_one())


def queries(server: ReplayServer) -> list[dict[str, str]]:
    assert all(urlsplit(p).path == "/oai2" for p in server.requests)
    return [dict(parse_qsl(urlsplit(p).query)) for p in server.requests]


def harvester(server, clock, checkpoint=None, **kw) -> OAIHarvester:
    return OAIHarvester(server.url + "/oai2", from_=dt.date(2015, 1, 1), until=dt.date(2015, 1, 3),
                        sleep=clock.sleep, clock=clock, checkpoint=checkpoint, **kw)


def ids(results) -> list[str]:
    records, errors = split(results)
    assert errors == []
    return [r.paper.arxiv_id for r in records]


def test_full_harvest_retries_paces_pages_and_checkpoints(caplog):
    clock, checkpoint = FakeClock(), MemoryCheckpoint()
    with ReplayServer(route=Arxiv()) as server, caplog.at_level(logging.WARNING, "dailypapers.sources"):
        got = ids(harvester(server, clock, checkpoint).harvest())
    assert got == ["1412.8544", "hep-th/9504118", "1501.00001"]
    assert queries(server) == [PARAMS, PARAMS, {"verb": "ListRecords", "resumptionToken": TOKEN}]
    # 10 s as the 503 asked; then 3 s between the two pages, as nothing else took time
    assert clock.sleeps == [10, 3]
    assert checkpoint.saves == [{"params": PARAMS, "token": TOKEN, "done": False},
                                {"params": PARAMS, "token": None, "done": True, "last_until": "2015-01-03"}]
    assert set(server.user_agents) == {USER_AGENT}
    assert [r.name for r in caplog.records] == ["dailypapers.sources"]
    assert "503" in caplog.records[0].getMessage() and "retry 1 of 5" in caplog.records[0].getMessage()


def test_spacing_counts_time_already_spent():
    clock = FakeClock()
    with ReplayServer(route=Arxiv(first_unavailable=0)) as server:
        results = harvester(server, clock).harvest()
        take(results, 2)           # page one consumed
        clock.advance(1.25)        # the consumer worked for 1.25 s
        assert ids(results) == ["1501.00001"]
    assert clock.sleeps == [1.75]


def test_no_wait_when_consumer_is_slow():
    clock = FakeClock()
    with ReplayServer(route=Arxiv(first_unavailable=0)) as server:
        results = harvester(server, clock).harvest()
        take(results, 2)
        clock.advance(30)
        list(results)
    assert clock.sleeps == []


def test_gives_up_after_max_retries_with_default_wait():
    clock = FakeClock()
    replies = [Reply(503, b"<html>busy</html>", content_type="text/html") for _ in range(3)]
    with ReplayServer(replies) as server, pytest.raises(FetchError, match="503.*after 2 retries"):
        list(harvester(server, clock, max_retries=2).harvest())
    assert len(server.requests) == 3
    assert clock.sleeps == [10, 10]  # no Retry-After header: arXiv's usual 10 s


@pytest.mark.parametrize("status", [400, 404, 500])
def test_other_http_errors_are_not_retried(status):
    with ReplayServer([Reply(status, b"nope")]) as server, pytest.raises(FetchError, match=str(status)):
        list(harvester(server, FakeClock()).harvest())
    assert len(server.requests) == 1


def test_oai_error_stops_the_harvest():
    bad = (DIR / "listrecords_1.xml").read_bytes().split(b"<ListRecords>")[0] + \
        b'<error code="badResumptionToken">expired</error></OAI-PMH>'
    with ReplayServer([Reply(200, bad)]) as server, pytest.raises(FetchError, match="badResumptionToken: expired"):
        list(harvester(server, FakeClock()).harvest())


def test_unreachable_server_is_a_fetch_error():
    with ReplayServer() as server:
        url = server.url
    with pytest.raises(FetchError):
        list(OAIHarvester(url + "/oai2", sleep=FakeClock().sleep).harvest())


def test_resume_after_crash_requests_the_saved_token_and_repeats_nothing_finished():
    checkpoint = MemoryCheckpoint()
    with ReplayServer(route=Arxiv()) as server:
        first_run = harvester(server, FakeClock(), checkpoint).harvest()
        before_crash = take(first_run, 3)   # all of page one and the start of page two
        first_run.close()                   # the process dies here
        assert checkpoint.state == {"params": PARAMS, "token": TOKEN, "done": False}
        requests_before = len(server.requests)

        clock = FakeClock()
        after = ids(harvester(server, clock, checkpoint).harvest())
        resumed = queries(server)[requests_before:]
    assert [r.paper.arxiv_id for r in before_crash] == ["1412.8544", "hep-th/9504118", "1501.00001"]
    assert resumed == [{"verb": "ListRecords", "resumptionToken": TOKEN}]
    assert after == ["1501.00001"]  # only the page that was not finished
    assert checkpoint.state == {"params": PARAMS, "token": None, "done": True, "last_until": "2015-01-03"}
    assert clock.sleeps == []


def test_crash_inside_the_first_page_starts_over():
    checkpoint = MemoryCheckpoint()
    with ReplayServer(route=Arxiv(first_unavailable=0)) as server:
        run = harvester(server, FakeClock(), checkpoint).harvest()
        take(run, 1)
        run.close()
        assert checkpoint.state is None
        assert ids(harvester(server, FakeClock(), checkpoint).harvest()) == ["1412.8544", "hep-th/9504118",
                                                                           "1501.00001"]
        assert queries(server)[1] == PARAMS


@pytest.mark.parametrize("state", [
    {"params": dict(PARAMS, until="2015-01-31"), "token": TOKEN, "done": False},   # other request
    {"params": PARAMS, "token": None, "done": True},                                 # finished
])
def test_checkpoint_not_reused_for_other_or_finished_harvests(state):
    with ReplayServer(route=Arxiv(first_unavailable=0)) as server:
        got = ids(harvester(server, FakeClock(), MemoryCheckpoint(state)).harvest())
        assert queries(server)[0] == PARAMS
    assert len(got) == 3


def test_other_checkpoint_keys_are_kept_and_last_until_comes_from_the_server():
    checkpoint = MemoryCheckpoint({"last_until": "2014-12-31", "note": "kept"})
    with ReplayServer([Reply(200, page_one()), Reply(200, page_two())]) as server:
        h = OAIHarvester(server.url + "/oai2", from_=dt.date(2015, 1, 1), sleep=FakeClock().sleep,
                         checkpoint=checkpoint)
        assert len(ids(h.harvest())) == 3
    params = {"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2015-01-01"}
    assert checkpoint.saves[0] == {"last_until": "2014-12-31", "note": "kept", "params": params, "token": TOKEN,
                                   "done": False}
    # no `until`: the harvest reached the server's own date (responseDate of the last page)
    assert checkpoint.state == {"last_until": "2018-06-21", "note": "kept", "params": params, "token": None,
                                "done": True}


def test_set_and_prefix_parameters():
    with ReplayServer([Reply(200, (DIR / "listrecords_1.xml").read_bytes())]) as server:
        h = OAIHarvester(server.url + "/oai2", metadata_prefix="arXiv", set_="cs", from_=dt.date(2015, 1, 1),
                         until=None, sleep=FakeClock().sleep)
        assert all(isinstance(r, Record) for r in h.harvest())
        assert queries(server) == [{"verb": "ListRecords", "metadataPrefix": "arXiv", "from": "2015-01-01",
                                    "set": "cs"}]


def test_no_records_match_completes_empty():
    empty = (DIR / "listrecords_1.xml").read_bytes().split(b"<ListRecords>")[0] + \
        b'<error code="noRecordsMatch">none</error></OAI-PMH>'
    checkpoint = MemoryCheckpoint()
    with ReplayServer([Reply(200, empty)]) as server:
        assert list(harvester(server, FakeClock(), checkpoint).harvest()) == []
    assert checkpoint.state["done"] is True


@pytest.mark.parametrize("header, seconds", [(None, 10), ("", 10), ("7", 7), (" 2.5 ", 2.5), ("-3", 0),
                                             ("soon", 10), ("nan", 10), ("inf", 10),
                                             ("Wed, 21 Oct 2015 07:28:00 GMT", 0)])
def test_retry_after_values(header, seconds):
    assert retry_after(header) == seconds
