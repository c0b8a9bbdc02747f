"""Storage faults under a running node (issue 14, items 6 and 10), on the backend under test.

- The keyword index deleted while the node serves (a real index directory removed under a
  running app): every keyword or hybrid search and every search feed answers 503 with
  Retry-After, never 500; pages that only use the database keep working; the index follower
  (started with the app, stepped by the test) builds the index again and searches answer as
  before. A node that starts with no keyword index at all builds it the same way.
- The database refusing writes (a disk full, a read-only database): searches and pages, which
  only read, keep working although the rate-limit counter cannot count (it fails open, counting
  in memory, and says so in the log).
- A data directory the server cannot write: `dailypapers serve` stops at once with a one-line
  error instead of a traceback.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient
from support.community import copy_data_dir, make_app

SEARCHES = ["/search?q=agents&mode=keyword", "/search?q=agents&mode=hybrid", "/search?q=agents&sort=date",
            "/search?q=cat:cs.CL", "/api/papers/search?q=agents&mode=keyword", "/api/papers/search?q=agents",
            "/feeds/search.rss?q=agents", "/feeds/search.atom?q=language+models"]
READS = ["/", "/papers/2608.19880", "/papers/date/2026-08-21", "/api/daily_papers", "/api/papers/2608.19880",
         "/feeds/daily.rss", "/about"]


@pytest.fixture
def node(web_data_dir, tmp_path):
    """The app on its own copy of the site; its index follower runs (started with the app) but
    never ticks by itself in a test: the test steps it with run_once()."""
    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    app, store = make_app(data_dir, index_follow_interval=3600, rate_limit_store="memory", rate_limit_search=0,
                          rate_limit_api=0)
    yield app
    store.close()


def _found(client: TestClient) -> list[str]:
    response = client.get("/api/papers/search", params={"q": "agents", "mode": "keyword", "limit": 50})
    assert response.status_code == 200, response.text[:300]
    return [hit["paper"]["id"] for hit in response.json()]


def _all_unavailable(client: TestClient) -> None:
    for url in SEARCHES:
        response = client.get(url)
        assert response.status_code == 503, (url, response.status_code, response.text[:300])
        if not url.startswith("/search"):
            assert int(response.headers["retry-after"]) > 0, url
    for url in READS:
        assert client.get(url).status_code == 200, url


def test_keyword_index_deleted_while_serving_answers_503_then_rebuilds_itself(node):
    with TestClient(node, raise_server_exceptions=False) as client:  # the follower starts with the app
        before = _found(client)
        assert before
        shutil.rmtree(node.state.index_path)
        _all_unavailable(client)
        assert node.state.follower.run_once() > 0  # what the follower's next tick does
        assert _found(client) == before
        for url in SEARCHES:
            assert client.get(url).status_code == 200, url


def test_a_node_without_a_keyword_index_builds_it_itself(node):
    shutil.rmtree(node.state.index_path)  # a new node: the data directory has no index yet
    with TestClient(node, raise_server_exceptions=False) as client:
        _all_unavailable(client)
        node.state.follower.run_once()
        assert _found(client)
        assert node.state.follower.run_once() == 0  # built once; then it only follows changes
