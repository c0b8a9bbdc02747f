"""The delivery pages: a member's subscription form, the management and unsubscribe pages of a
subscription's links (GET never changes anything; the one-click POST needs neither session nor
CSRF token, everything else needs both), saved searches, the admin's outbox page."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from fastapi.testclient import TestClient
from support.community import copy_data_dir, csrf_of, make_app, member, signed_in_client

from dailypapers import config
from dailypapers.delivery import links
from dailypapers.delivery import subscriptions as rules


@pytest.fixture
def site(web_data_dir, tmp_path):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path / "data"))
    yield app, store
    store.close()


def test_a_member_subscribes_changes_and_cancels(site):
    app, store = site
    user = member(store, "ada")
    client = signed_in_client(app, "ada@example.org")
    form = client.get("/subscribe").text
    assert 'name="email"' not in form and "include_recommendations" in form and "Europe/Paris" in form
    assert client.post("/subscribe", data={"frequency": "weekly"}).status_code == 403  # no CSRF token
    saved = client.post("/subscribe", data={"csrf_token": client.csrf, "frequency": "weekly", "weekday": "4",
                                            "hour": "18", "timezone": "Asia/Tokyo", "sections": "1",
                                            "include_trending": "1", "include_recommendations": "1"},
                        follow_redirects=False)
    assert saved.status_code == 303
    sub = store.subscriptions.for_user(user.id)
    assert (sub.status, sub.frequency, sub.weekday, sub.hour, sub.timezone) == ("active", "weekly", 4, 18, "Asia/Tokyo")
    assert not sub.include_alerts and sub.include_recommendations and sub.address == "ada@example.org"
    page = client.get("/subscribe?done=saved").text
    assert "every Friday at 18:00 (Asia/Tokyo)" in page
    bad = client.post("/subscribe", data={"csrf_token": client.csrf, "timezone": "Atlantis/Capital", "sections": "1",
                                          "include_trending": "1"})
    assert bad.status_code == 400 and "unknown time zone" in bad.text
    none = client.post("/subscribe", data={"csrf_token": client.csrf, "sections": "1"})
    assert none.status_code == 400 and "at least one" in none.text
    client.post("/subscribe/cancel", data={"csrf_token": client.csrf})
    assert store.subscriptions.for_user(user.id).status == "unsubscribed"
    again = client.post("/subscribe", data={"csrf_token": client.csrf, "sections": "1", "include_trending": "1"},
                        follow_redirects=False)
    assert again.status_code == 303 and store.subscriptions.for_user(user.id).status == "active"


def test_links_manage_and_unsubscribe(site):
    app, store = site
    settings = app.state.settings
    rules.subscribe_address(store, settings, "eve@example.org", {"include_trending": "1"}, base="http://testserver")
    sub = store.subscriptions.by_email("eve@example.org")
    store.subscriptions.confirm(sub.id, sub.key, dt.datetime.now(dt.timezone.utc))
    sub = store.subscriptions.get(sub.id)
    client = TestClient(app)
    manage = links.manage_url(settings, "http://testserver", sub).removeprefix("http://testserver")
    page = client.get(manage)
    assert page.status_code == 200 and "eve@example.org" in page.text
    saved = client.post(manage, data={"csrf_token": csrf_of(page.text), "frequency": "weekly", "hour": "5",
                                      "weekday": "2", "timezone": "Europe/Berlin", "sections": "1",
                                      "include_trending": "1", "include_recommendations": "1"},
                        follow_redirects=False)
    assert saved.status_code == 303
    sub = store.subscriptions.get(sub.id)
    assert sub.frequency == "weekly" and sub.timezone == "Europe/Berlin"
    assert not sub.include_recommendations  # an address alone cannot have member sections
    assert client.post(manage, data={"frequency": "daily"}).status_code == 403  # CSRF

    unsubscribe = links.unsubscribe_url(settings, "http://testserver", sub).removeprefix("http://testserver")
    shown = client.get(unsubscribe)
    assert shown.status_code == 200 and f'action="{unsubscribe}"' in shown.text
    assert store.subscriptions.get(sub.id).status == "active"  # a GET (a link scanner) changes nothing
    fresh = TestClient(app)  # no session, no CSRF token: the browser form of the same endpoint
    done = fresh.post(unsubscribe)
    assert done.status_code == 200 and "Unsubscribed" in done.text
    assert store.subscriptions.get(sub.id).status == "unsubscribed"
    assert fresh.post(unsubscribe).status_code == 200  # idempotent
    # tokens of another purpose, forged or of another secret are refused
    assert client.get(manage.replace("/subscription/", "/unsubscribe/")).status_code == 400
    assert client.post("/unsubscribe/x" + unsubscribe.rsplit("/", 1)[1][1:]).status_code == 400
    other = config.load(environ={}, secret_key="another-secret", data_dir=settings.data_dir)
    foreign = links.unsubscribe_url(other, "", sub)
    assert fresh.post(foreign).status_code == 400


def test_saved_searches(site):
    app, store = site
    user = member(store, "sam")
    client = signed_in_client(app, "sam@example.org")
    search = client.get("/search?q=agent").text
    assert 'action="/searches"' in search and "Save this search" in search
    created = client.post("/searches", data={"csrf_token": client.csrf, "q": "agent", "name": "agent",
                                             "mode": "keyword", "alert": "1"}, follow_redirects=False)
    assert created.status_code == 303
    client.post("/searches", data={"csrf_token": client.csrf, "name": "Hinton's work", "author": "Hinton",
                                   "category": "cs.LG", "mode": "hybrid"})
    (first, second) = store.saved_searches.for_user(user.id)
    assert first.alert and not second.alert and second.mode == "hybrid" and second.category == "cs.LG"
    page = client.get("/searches").text
    assert "author: Hinton · category: cs.LG (hybrid)" in page
    bad = client.post("/searches", data={"csrf_token": client.csrf, "q": "", "name": "nothing"})
    assert bad.status_code == 400 and "needs words or a filter" in bad.text
    assert client.post("/searches", data={"csrf_token": client.csrf, "q": "x", "mode": "telepathy"}).status_code == 400
    client.post(f"/searches/{first.id}/alert", data={"csrf_token": client.csrf})
    assert not store.saved_searches.get(first.id).alert
    client.post(f"/searches/{second.id}/delete", data={"csrf_token": client.csrf})
    assert [s.id for s in store.saved_searches.for_user(user.id)] == [first.id]
    # another member cannot touch them
    member(store, "mallory")
    other = signed_in_client(app, "mallory@example.org")
    assert other.post(f"/searches/{first.id}/delete", data={"csrf_token": other.csrf}).status_code == 404
    assert TestClient(app).get("/searches", follow_redirects=False).status_code == 303  # sign in first


def test_the_outbox_page_is_for_admins(site):
    app, store = site
    member(store, "root-admin", role="admin")
    member(store, "plain")
    rules.subscribe_address(store, app.state.settings, "fay@example.org", {"include_trending": "1"},
                            base="http://testserver")
    admin = signed_in_client(app, "root-admin@example.org")
    page = admin.get("/admin/outbox")
    assert page.status_code == 200
    assert re.search(r'data-status="queued">1<', page.text) and "fay@example.org" in page.text
    assert "Confirm your dailypapers digest" in page.text
    assert signed_in_client(app, "plain@example.org").get("/admin/outbox").status_code == 403
