"""The fetching layer and the arXiv API client against a local server replaying recorded answers."""

import json
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sources_helpers import FIXTURES, FakeClock, ReplayServer, Reply, needs_data, split

from dailypapers.errors import FetchError, InvalidQuery
from dailypapers.sources.http import USER_AGENT, RateLimiter, arxiv_api_query, fetch

DIR = FIXTURES / "arxiv-api-atom"
pytestmark = needs_data
KEYS = ("search_query", "id_list", "start", "max_results")


def recorded() -> dict[tuple, tuple[int, bytes]]:
    """Recorded answers keyed by the query parameters that select them."""
    answers = {}
    for meta in DIR.glob("*.request.json"):
        request = json.loads(meta.read_text())
        query = dict(parse_qsl(urlsplit(request["url"]).query, keep_blank_values=True))
        body = meta.with_name(meta.name.replace(".request.json", ".xml")).read_bytes()
        answers[tuple(query.get(k, "") for k in KEYS)] = (request["status_code"], body)
    return answers


@pytest.fixture(scope="module")
def arxiv():
    answers = recorded()

    def route(path: str) -> Reply:
        query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        status, body = answers.get(tuple(query.get(k, "") for k in KEYS), (404, b"not recorded"))
        return Reply(status, body, content_type="application/atom+xml; charset=utf-8")

    with ReplayServer(route=route) as server:
        yield server


def query(server, **kw):
    return arxiv_api_query(server.url + "/api/query", **kw)


def test_id_list(arxiv):
    records, errors = split(query(arxiv, id_list=["1707.08567"]))
    assert errors == [] and [r.paper.arxiv_id for r in records] == ["1707.08567"]
    assert records[0].paper.title.startswith("Proceedings of Workshop AEW10")
    sent = dict(parse_qsl(urlsplit(arxiv.requests[-1]).query, keep_blank_values=True))
    assert sent == {"search_query": "", "id_list": "1707.08567", "start": "0", "max_results": "100"}
    assert arxiv.user_agents[-1] == USER_AGENT


def test_several_ids_and_old_style(arxiv):
    assert [r.paper.arxiv_id for r in query(arxiv, id_list=["0808.05394", "1707.08567"])] == ["1707.08567"]
    assert [r.paper.arxiv_id for r in query(arxiv, id_list=["astro-ph/0601001"])] == ["astro-ph/0601001"]
    [r] = query(arxiv, id_list=["quant-ph/0201082v1"])
    assert (r.paper.arxiv_id, r.paper.version) == ("quant-ph/0201082", 1)


def test_unknown_id_is_empty(arxiv):
    assert query(arxiv, id_list=["0000.0000"]) == []


def test_error_answer_is_a_fetch_error(arxiv):
    with pytest.raises(FetchError, match=r"HTTP 400 .*incorrect id format for abc"):
        query(arxiv, id_list=["abc"])


def test_search_query_paging(arxiv):
    first = query(arxiv, search_query="testing", start=0, max_results=15)
    overlap = query(arxiv, search_query="testing", start=5, max_results=10)
    assert len(first) == 15 and len(overlap) == 10
    assert [r.paper.arxiv_id for r in first[5:15]] == [r.paper.arxiv_id for r in overlap]


def test_sort_parameters_are_sent(arxiv):
    query(arxiv, search_query="testing", start=10, max_results=10, sort_by="relevance", sort_order="descending")
    sent = dict(parse_qsl(urlsplit(arxiv.requests[-1]).query))
    assert (sent["sortBy"], sent["sortOrder"], sent["start"]) == ("relevance", "descending", "10")


def test_needs_ids_or_query(arxiv):
    with pytest.raises(InvalidQuery):
        query(arxiv)


def test_fetch_keeps_a_given_client_open(arxiv):
    with httpx.Client() as client:
        response = fetch(arxiv.url + "/api/query", {"search_query": "", "id_list": "1605.08386",
                                                    "start": 0, "max_results": 100}, client)
        assert response.status_code == 200 and not client.is_closed
    assert arxiv.user_agents[-1] == USER_AGENT


def test_unreachable_is_a_fetch_error():
    with ReplayServer() as server:
        url = server.url
    with pytest.raises(FetchError, match="failed"):
        fetch(url)


def test_rate_limiter():
    clock = FakeClock()
    limiter = RateLimiter(3.0, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.wait()
    clock.advance(2)
    limiter.wait()
    clock.advance(5)
    limiter.wait()
    assert clock.sleeps == [3.0, 1.0]
