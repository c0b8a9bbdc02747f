"""Conditional GET and compression (web/caching.py, issue 16 item 1), on a private copy of the test
site: gzip when asked, 304 on a repeat, and the ETag moves with a vote, a new paper and a hidden
comment, on this node and on a second node over the same database; signed-in pages stay private."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from support.community import copy_data_dir, signed_in_client, two_nodes

from dailypapers.models import Author, DailyEntry, Paper, Record

LATEST = dt.date(2026, 8, 21)
TOP_ID = "2608.19880"
NEW_ID = "2608.20077"
NOW = dt.datetime(2026, 8, 22, 9, tzinfo=dt.timezone.utc)
DAY = f"/papers/date/{LATEST}"
CACHED = [DAY, "/papers/week/2026-W34", "/papers/month/2026-08", f"/papers/{TOP_ID}",
          f"/api/daily_papers?date={LATEST}"]


@pytest.fixture(scope="module")
def nodes(web_data_dir, tmp_path_factory):
    """Two apps (two nodes) over one copy of the site's database."""
    with two_nodes(copy_data_dir(web_data_dir, tmp_path_factory.mktemp("caching") / "data"), NOW) as apps:
        yield apps


def anonymous(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def revalidate(app, path: str, etag: str):
    return anonymous(app).get(path, headers={"If-None-Match": etag})


def vote_count(html: str, paper_id: str) -> str:
    card = BeautifulSoup(html, "html.parser").select_one(f'article.card[data-id="{paper_id}"]')
    return card.select_one(".vote-count").get_text(strip=True)


@pytest.mark.parametrize("path", CACHED)
def test_a_repeat_gets_304_with_the_security_headers(nodes, path):
    first = anonymous(nodes[0]).get(path)
    assert first.status_code == 200 and first.headers["cache-control"].startswith("public, max-age=")
    etag = first.headers["etag"]
    again = revalidate(nodes[0], path, etag)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag and again.headers["cache-control"] == first.headers["cache-control"]
    assert "default-src 'self'" in again.headers["content-security-policy"]
    assert again.headers["x-content-type-options"] == "nosniff"
    assert revalidate(nodes[1], path, etag).status_code == 304  # the other node agrees
    assert revalidate(nodes[0], path, 'W/"something-else"').status_code == 200
    assert "set-cookie" not in first.headers and not re.search(r'csrf_token" value="[^"]', first.text)


def test_an_anonymous_upvote_button_asks_to_sign_in(nodes):
    form = BeautifulSoup(anonymous(nodes[0]).get(DAY).text, "html.parser").select_one("form.vote")
    assert form["method"] == "get" and form["action"] == "/signin" and form.select_one('[name="next"]')["value"] == DAY


def test_pages_are_gzipped_when_the_client_accepts_it(nodes):
    for path in (DAY, f"/api/daily_papers?date={LATEST}"):
        response = anonymous(nodes[0]).get(path, headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip" and "Accept-Encoding" in response.headers["vary"]
        assert int(response.headers["content-length"]) < len(response.content)  # decoded by the client
        assert response.headers["x-frame-options"] == "DENY"
    plain = anonymous(nodes[0]).get(DAY, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_a_vote_shows_on_the_next_request_on_both_nodes(nodes):
    before = anonymous(nodes[0]).get(DAY)
    count = int(vote_count(before.text, TOP_ID))
    ada = signed_in_client(nodes[0], "ada@example.org")
    voted = ada.post(f"/papers/{TOP_ID}/upvote", data={"csrf_token": ada.csrf}, follow_redirects=False)
    assert voted.status_code in (200, 303)
    for node in nodes:
        after = revalidate(node, DAY, before.headers["etag"])
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        assert vote_count(after.text, TOP_ID) == str(count + 1)


def test_a_new_paper_shows_on_the_next_request(nodes):
    before = anonymous(nodes[1]).get(DAY)
    assert NEW_ID not in before.text
    paper = Paper(NEW_ID, "A paper imported while readers revalidate", "Abstract.", [Author("New Author")],
                  version=1, published=NOW - dt.timedelta(days=1), categories=["cs.LG"])
    nodes[0].state.store.write([Record(paper, DailyEntry(NEW_ID, LATEST, upvotes=1))])
    for node in nodes:
        after = revalidate(node, DAY, before.headers["etag"])
        assert after.status_code == 200 and NEW_ID in after.text


def test_a_hidden_comment_goes_on_the_next_request(nodes):
    ada = signed_in_client(nodes[0], "ada@example.org")
    ada.post(f"/papers/{TOP_ID}/comments", data={"body": "Cached remark", "csrf_token": ada.csrf},
             follow_redirects=False)
    shown = anonymous(nodes[1]).get(f"/papers/{TOP_ID}")
    assert "Cached remark" in shown.text
    comment_id = max(c.id for c in nodes[0].state.store.comments.for_paper(TOP_ID))
    mia = signed_in_client(nodes[1], "mia@example.org")
    hidden = mia.post(f"/comments/{comment_id}/hide", data={"csrf_token": mia.csrf}, follow_redirects=False)
    assert hidden.status_code == 303
    gone = revalidate(nodes[0], f"/papers/{TOP_ID}", shown.headers["etag"])
    assert gone.status_code == 200 and "Cached remark" not in gone.text
    mia.post(f"/comments/{comment_id}/unhide", data={"csrf_token": mia.csrf}, follow_redirects=False)
    back = revalidate(nodes[0], f"/papers/{TOP_ID}", gone.headers["etag"])
    assert back.status_code == 200 and "Cached remark" in back.text


def test_signed_in_pages_are_never_publicly_cached(nodes):
    etag = anonymous(nodes[0]).get(DAY).headers["etag"]
    ada = signed_in_client(nodes[0], "ada@example.org")
    for path in CACHED:
        response = ada.get(path, headers={"If-None-Match": etag})
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "private, no-store" and "etag" not in response.headers
    token_reader = TestClient(nodes[0]).get(DAY, headers={"Authorization": "Bearer not-a-token",
                                                          "If-None-Match": etag})
    assert "public" not in token_reader.headers.get("cache-control", "")
    signin = anonymous(nodes[0]).get("/signin")  # sets the session cookie: not a cached path, not public
    assert "set-cookie" in signin.headers and "public" not in signin.headers.get("cache-control", "")
