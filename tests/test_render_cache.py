"""The render cache (web/render_cache.py, issue 16 item 1) on a private copy of the test site, two
nodes (two apps) over one database: a repeat is served from memory with one statement (the content
version), and a vote, a new paper and a hidden comment each show on the next anonymous request on
both nodes; signed-in readers never get a kept page, representations are never mixed, the cache
keeps within its bound."""

from __future__ import annotations

import contextlib
import datetime as dt
import gzip
import re

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy import event
from support.community import copy_data_dir, make_app, signed_in_client, two_nodes

from dailypapers.models import Author, DailyEntry, Paper, Record
from dailypapers.web.render_cache import ENTRY_OVERHEAD, Entry, RenderCache

LATEST = dt.date(2026, 8, 21)
TOP_ID = "2608.19880"
NEW_ID = "2608.20077"
NOW = dt.datetime(2026, 8, 22, 9, tzinfo=dt.timezone.utc)
DAY = f"/papers/date/{LATEST}"
PAPER = f"/papers/{TOP_ID}"
API = f"/api/daily_papers?date={LATEST}"
KEPT = ["/", DAY, "/papers/week/2026-W34", "/papers/month/2026-08", PAPER, API]


@pytest.fixture(scope="module")
def nodes(web_data_dir, tmp_path_factory):
    """Two apps (two nodes) over one copy of the site's database, each with its render cache."""
    with two_nodes(copy_data_dir(web_data_dir, tmp_path_factory.mktemp("render-cache") / "data"), NOW) as apps:
        yield apps


def get(app, path: str, **headers):
    return TestClient(app, raise_server_exceptions=False).get(path, headers=headers)


def kept(app, path: str):
    """The page twice: the second answer comes from the cache (it counts a hit)."""
    get(app, path)
    hits = app.state.render_cache.hits
    response = get(app, path)
    assert app.state.render_cache.hits == hits + 1, path
    return response


@contextlib.contextmanager
def statements(app):
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    engine = app.state.store.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def vote_count(html: str, paper_id: str) -> str:
    card = BeautifulSoup(html, "html.parser").select_one(f'article.card[data-id="{paper_id}"]')
    return card.select_one(".vote-count").get_text(strip=True)


@pytest.mark.parametrize("path", KEPT)
def test_a_kept_page_costs_one_statement_and_is_the_page(nodes, path):
    rendered = get(nodes[0], path)
    hits = nodes[0].state.render_cache.hits
    with statements(nodes[0]) as seen:
        again = get(nodes[0], path)
    assert nodes[0].state.render_cache.hits == hits + 1
    # store.changes.content_version and nothing else, but on /api the rate-limit counter's own
    # statements (one hit, as for every API request; PostgreSQL adds its SET LOCAL)
    counter = [sql for sql in seen if "rate_limits" in sql or "synchronous_commit" in sql]
    rest = [sql for sql in seen if sql not in counter]
    assert len(rest) == 1 and "paper_changes" in rest[0], seen
    assert bool(counter) == path.startswith("/api/"), seen
    assert again.status_code == 200 and again.content == rendered.content
    assert again.headers["content-type"] == rendered.headers["content-type"]
    assert again.headers["etag"] == rendered.headers["etag"]
    assert again.headers["cache-control"].startswith("public, max-age=")
    assert "default-src 'self'" in again.headers["content-security-policy"]
    assert not re.search(r'csrf_token" value="[^"]', again.text)


def test_a_vote_shows_on_the_next_request_on_both_nodes(nodes):
    count = int(vote_count(kept(nodes[0], DAY).text, TOP_ID))
    assert vote_count(kept(nodes[1], DAY).text, TOP_ID) == str(count)
    ada = signed_in_client(nodes[0], "ada@example.org")
    voted = ada.post(f"/papers/{TOP_ID}/upvote", data={"csrf_token": ada.csrf}, follow_redirects=False)
    assert voted.status_code in (200, 303)
    for node in nodes:
        assert vote_count(get(node, DAY).text, TOP_ID) == str(count + 1)
        assert vote_count(kept(node, DAY).text, TOP_ID) == str(count + 1)


def test_a_new_paper_shows_on_the_next_request_on_both_nodes(nodes):
    for node in nodes:
        assert NEW_ID not in kept(node, DAY).text and NEW_ID not in kept(node, API).text
    paper = Paper(NEW_ID, "A paper imported while the pages are kept", "Abstract.", [Author("New Author")],
                  version=1, published=NOW - dt.timedelta(days=1), categories=["cs.LG"])
    nodes[1].state.store.write([Record(paper, DailyEntry(NEW_ID, LATEST, upvotes=1))])
    for node in nodes:
        assert NEW_ID in get(node, DAY).text
        assert NEW_ID in {item["paper"]["id"] for item in get(node, API).json()}


def ada_remarks_and_both_nodes_keep_it(nodes, body: str):
    """Ada comments on the top paper through the first node; both nodes then keep the paper's page."""
    ada = signed_in_client(nodes[0], "ada@example.org")
    ada.post(f"/papers/{TOP_ID}/comments", data={"body": body, "csrf_token": ada.csrf}, follow_redirects=False)
    for node in nodes:
        assert body in kept(node, PAPER).text
    return ada


def test_a_hidden_comment_goes_on_the_next_request_on_both_nodes(nodes):
    ada_remarks_and_both_nodes_keep_it(nodes, "Kept remark")
    comment_id = max(c.id for c in nodes[0].state.store.comments.for_paper(TOP_ID))
    mia = signed_in_client(nodes[1], "mia@example.org")
    assert mia.post(f"/comments/{comment_id}/hide", data={"csrf_token": mia.csrf},
                    follow_redirects=False).status_code == 303
    for node in nodes:
        assert "Kept remark" not in get(node, PAPER).text
    mia.post(f"/comments/{comment_id}/unhide", data={"csrf_token": mia.csrf}, follow_redirects=False)
    for node in nodes:
        assert "Kept remark" in get(node, PAPER).text


def test_a_new_display_name_shows_on_the_next_request_on_both_nodes(nodes):
    ada = ada_remarks_and_both_nodes_keep_it(nodes, "Named remark")
    assert ada.post("/account/profile", data={"display_name": "Ada Renamed", "csrf_token": ada.csrf},
                    follow_redirects=False).status_code == 303
    for node in nodes:
        names = [a.get_text(strip=True) for a in
                 BeautifulSoup(get(node, PAPER).text, "html.parser").select(".comment-author")]
        assert "Ada Renamed" in names


def test_signed_in_readers_are_never_served_a_kept_page(nodes):
    anonymous_page = kept(nodes[0], DAY)
    ada = signed_in_client(nodes[0], "ada@example.org")
    cache = nodes[0].state.render_cache
    for path in KEPT:
        hits = cache.hits
        response = ada.get(path)
        assert response.status_code == 200 and cache.hits == hits, path
        assert response.headers["cache-control"] == "private, no-store"
    page = ada.get(DAY).text
    assert page != anonymous_page.text and re.search(r'csrf_token" value="[^"]', page)
    assert 'action="/signin"' not in str(BeautifulSoup(page, "html.parser").select_one("form.vote"))
    after = get(nodes[0], DAY)  # and the member's page never reaches an anonymous reader
    assert after.content == anonymous_page.content and not re.search(r'csrf_token" value="[^"]', after.text)


def test_representations_and_encodings_are_never_mixed(nodes):
    html, markdown, bibtex = kept(nodes[0], PAPER), kept(nodes[0], PAPER + ".md"), kept(nodes[0], PAPER + ".bib")
    api = kept(nodes[0], API)
    assert html.headers["content-type"].startswith("text/html") and html.text.lstrip().startswith("<!")
    assert markdown.headers["content-type"].startswith("text/markdown") and markdown.text.startswith("#")
    assert bibtex.headers["content-type"].startswith("application/x-bibtex") and bibtex.text.startswith("@")
    assert api.headers["content-type"].startswith("application/json") and isinstance(api.json(), list)
    as_json = get(nodes[0], PAPER, Accept="application/json")  # a page route: still the HTML page
    assert as_json.headers["content-type"].startswith("text/html") and as_json.content == html.content
    zipped = get(nodes[0], DAY, **{"Accept-Encoding": "gzip"})
    plain = get(nodes[0], DAY, **{"Accept-Encoding": "identity"})
    assert zipped.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert "Accept-Encoding" in zipped.headers["vary"] and "Accept-Encoding" in plain.headers["vary"]
    assert int(zipped.headers["content-length"]) < len(plain.content) == int(plain.headers["content-length"])
    assert zipped.content == plain.content  # the client decoded the gzip twin of the same page


def test_an_error_is_never_kept(nodes):
    cache = nodes[0].state.render_cache
    for path, kind in (("/papers/date/2026-13-45", "text/html"), ("/api/daily_papers?date=2026-13-45",
                                                                   "application/json")):
        hits = cache.hits
        first, second = get(nodes[0], path), get(nodes[0], path)
        assert first.status_code == second.status_code == 400 and cache.hits == hits
        assert first.headers["content-type"].startswith(kind) and second.headers["content-type"].startswith(kind)


def test_a_paper_page_follows_the_clock_in_slots(web_data_dir, tmp_path):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path / "data"))
    try:
        app.state.clock = lambda: NOW
        kept(app, PAPER)
        app.state.clock = lambda: NOW + dt.timedelta(minutes=10)  # its standing and chart move with time
        misses = app.state.render_cache.misses
        get(app, PAPER)
        assert app.state.render_cache.misses == misses + 1
        kept(app, DAY)  # a past day's list does not
    finally:
        store.close()


def test_the_cache_keeps_within_its_bound(web_data_dir, tmp_path):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path / "data"), render_cache_mb=1)
    try:
        app.state.clock = lambda: NOW
        cache = app.state.render_cache
        days = [f"/papers/date/{LATEST - dt.timedelta(days=n)}" for n in range(30)]
        pages = {path: get(app, path, **{"Accept-Encoding": "gzip"}) for path in days}
        assert 0 < cache.bytes <= cache.max_bytes == 1_048_576
        assert 0 < len(cache) < len([p for p in pages.values() if p.status_code == 200])  # some were dropped
        oldest = next(path for path, page in pages.items() if page.status_code == 200)
        again = get(app, oldest, **{"Accept-Encoding": "gzip"})  # dropped: rendered again, the same page
        assert again.content == pages[oldest].content and cache.bytes <= cache.max_bytes
    finally:
        store.close()


def test_zero_megabytes_turns_the_cache_off(web_data_dir, tmp_path):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path / "data"), render_cache_mb=0)
    try:
        assert app.state.render_cache is None
        first, second = get(app, DAY), get(app, DAY)
        assert first.status_code == second.status_code == 200 and first.content == second.content
        assert first.headers["etag"] == second.headers["etag"]
    finally:
        store.close()


def entry(size: int) -> Entry:
    return Entry(200, ((b"content-type", b"text/html"),), b"x" * (size - ENTRY_OVERHEAD - 21), None)


def test_least_recently_used_entries_go_first_and_a_new_version_clears():
    cache = RenderCache(max_bytes=3000)
    for key in "abc":
        assert cache.put("v1", key, entry(1000))
    assert cache.bytes == 3000 and cache.get("a") is not None  # a is now the most recent
    cache.put("v1", "d", entry(1000))
    assert cache.get("b") is None and cache.get("a") is not None and cache.bytes == 3000
    assert not cache.put("v1", "huge", entry(3001)) and cache.bytes == 3000
    cache.put("v2", "a", entry(600))
    assert len(cache) == 1 and cache.bytes == 600 and cache.get("c") is None


def test_a_gzip_twin_counts_against_the_bound():
    small = Entry(200, (), b"a" * 2000, gzip.compress(b"a" * 2000))
    assert small.size == 2000 + len(small.gzipped or b"") + ENTRY_OVERHEAD
