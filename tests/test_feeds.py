"""RSS 2.0 and Atom feeds for every list, saved search, public collection and member's
recommendations, parsed with feedparser; list pages link them with <link rel="alternate">."""

from __future__ import annotations

import datetime as dt
import re

import feedparser
import pytest
from fastapi.testclient import TestClient
from support.community import copy_data_dir, make_app, member

from dailypapers.community import collections as collection_rules

PUBLIC = "https://papers.example.org"
LATEST = "2026-08-21"
TOP_ID = "2608.19880"


def parse(response):
    assert response.status_code == 200, response.text[:300]
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    return feed


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory):
    data = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("feeds") / "data")
    app, store = make_app(data, public_url=PUBLIC, trusted_hosts=("testserver",))  # the TestClient's host
    yield app, store, TestClient(app, base_url="https://testserver")
    store.close()


@pytest.mark.parametrize("fmt,version", [("rss", "rss20"), ("atom", "atom10")])
@pytest.mark.parametrize("path", ["/feeds/daily", f"/feeds/date/{LATEST}", "/feeds/weekly", "/feeds/week/2026-W34",
                                  "/feeds/monthly", "/feeds/month/2026-08", "/feeds/trending"])
def test_list_feeds(site, path, fmt, version):
    _, _, client = site
    response = client.get(f"{path}.{fmt}")
    feed = parse(response)
    assert feed.version == version
    assert response.headers["content-type"].startswith(f"application/{fmt}+xml")
    assert feed.entries and len(feed.entries) <= 30
    for entry in feed.entries:
        assert entry.link.startswith(f"{PUBLIC}/papers/") and entry.id == entry.link
        assert entry.title and entry.summary and entry.get("published_parsed")
    assert any(e.link == f"{PUBLIC}/papers/{TOP_ID}" for e in feed.entries) or "month" in path


def test_the_day_feed_matches_the_day_page_and_trending_says_why(site):
    _, _, client = site
    day = parse(client.get(f"/feeds/date/{LATEST}.rss"))
    page = client.get(f"/papers/date/{LATEST}").text
    page_ids = re.findall(r'<article class="card" data-id="([^"]+)"', page)
    assert [e.link.rsplit("/papers/", 1)[1] for e in day.entries] == page_ids
    assert day.feed.link == f"{PUBLIC}/papers/date/{LATEST}"
    trending = parse(client.get("/feeds/trending.atom"))
    assert all(e.summary.startswith("Why: trending score (") for e in trending.entries)
    top = next(e for e in day.entries if e.link.endswith(TOP_ID))
    assert "upvotes" in top.summary and top.get("author")


@pytest.mark.slow
def test_list_pages_link_their_feeds(site):
    _, _, client = site
    for path, feed in (("/", f"/feeds/date/{LATEST}.rss"), ("/papers/week/2026-W34", "/feeds/week/2026-W34.atom"),
                       ("/papers/month/2026-08", "/feeds/month/2026-08.rss"),
                       ("/search?q=agent", "/feeds/search.rss?q=agent&amp;mode=hybrid")):
        html = client.get(path).text
        links = re.findall(r'<link rel="alternate" type="application/(?:rss|atom)\+xml" title="[^"]*" href="([^"]+)"',
                           html)
        assert feed in links, (path, links)
    assert "/feeds/trending.rss" in client.get("/").text
    category = client.get("/categories/cs.CL").text
    href = re.search(r'<link rel="alternate" type="application/rss\+xml" title="[^"]*" href="([^"]+)"', category)
    assert href.group(1) == "/feeds/search.rss?category=cs.CL"
    feed = parse(client.get(href.group(1).replace("&amp;", "&")))
    assert feed.entries and all("cs.CL" in [t.term for t in e.tags] for e in feed.entries)


def test_search_feeds_and_bad_feed_requests(site):
    _, _, client = site
    feed = parse(client.get("/feeds/search.atom?q=agent"))
    assert feed.entries and all("agent" in (e.title + e.summary).lower() for e in feed.entries)
    dates = [e.published_parsed for e in feed.entries]
    assert dates == sorted(dates, reverse=True)  # newest first
    assert client.get("/feeds/search.rss").status_code == 400  # nothing to search for
    assert client.get("/feeds/daily.json").status_code == 422
    assert client.get("/feeds/date/2026-13-45.rss").status_code == 400
    assert client.get("/feeds/searches/nope.rss").status_code == 404
    assert client.get("/feeds/for-you/nope.atom").status_code == 404


def test_saved_search_collection_and_recommendation_feeds(site):
    app, store, _ = site
    user = member(store, "feeder")
    client = signed_in_client_https(app, "feeder@example.org")  # the session cookie is Secure here
    saved = client.post("/searches", data={"csrf_token": client.csrf, "name": "Agents", "q": "agent",
                                           "mode": "keyword", "alert": "1"}, follow_redirects=False)
    assert saved.status_code == 303
    (search,) = store.saved_searches.for_user(user.id)
    listing = client.get("/searches").text
    assert f"/feeds/searches/{search.feed_token}.rss" in listing
    anonymous = TestClient(app, base_url="https://testserver")
    response = anonymous.get(f"/feeds/searches/{search.feed_token}.rss")  # the token is the key
    feed = parse(response)
    assert feed.feed.title == "dailypapers alert: Agents" and feed.entries
    assert response.headers["cache-control"].startswith("private") and response.headers["x-robots-tag"] == "noindex"

    cid = collection_rules.create(store, user, "Public picks", is_public=True)
    secret = collection_rules.create(store, user, "Private picks", is_public=False)
    for c in (cid, secret):
        collection_rules.add_paper(store, user, c, TOP_ID)
    public_feed = parse(anonymous.get(f"/feeds/collections/{cid}.atom"))
    assert public_feed.feed.title == "Public picks – a collection by @feeder"
    assert [e.link for e in public_feed.entries] == [f"{PUBLIC}/papers/{TOP_ID}"]
    assert anonymous.get(f"/feeds/collections/{secret}.rss").status_code == 404
    page = client.get(f"/collections/{cid}").text
    assert f'href="/feeds/collections/{cid}.rss"' in page
    assert "/feeds/collections/" not in client.get(f"/collections/{secret}").text

    store.votes.set(TOP_ID, user.id, True, dt.datetime.now(dt.timezone.utc))
    for_you = client.get("/for-you").text
    token = re.search(r'href="/feeds/for-you/([^".]+)\.rss"', for_you).group(1)
    feed = parse(anonymous.get(f"/feeds/for-you/{token}.rss"))
    assert feed.feed.title == "dailypapers: recommended for @feeder"
    assert all(e.summary.startswith("Why: ") for e in feed.entries)
    client.post("/for-you/feed-token", data={"csrf_token": client.csrf})  # a new address; the old one stops
    assert anonymous.get(f"/feeds/for-you/{token}.rss").status_code == 404


def signed_in_client_https(app, email: str):
    from support.community import PASSWORD, csrf_of

    client = TestClient(app, raise_server_exceptions=False, base_url="https://testserver")
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"email": email, "password": PASSWORD, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303
    client.csrf = csrf_of(client.get("/account").text)
    return client
