"""The community in the web layer, through a TestClient on a private copy of the test data:
accounts and sessions, CSRF on every POST, upvotes, submissions (with the arXiv API replayed on
loopback), comments and moderation, collections and exports, password reset over real SMTP,
API tokens, the trending order, the stats and ranking pages."""

from __future__ import annotations

import datetime as dt
import json
import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sources_helpers import FIXTURES, ReplayServer, Reply
from support.community import PASSWORD, copy_data_dir, csrf_of, make_app, member, signed_in_client
from test_mail import Inbox, free_port

from dailypapers import config, ranking
from dailypapers.community.ratelimit import Limits
from dailypapers.errors import ConfigError
from dailypapers.models import Author, Paper, Record

LATEST = dt.date(2026, 8, 21)
TOP_ID, TOP_UPVOTES = "2608.19880", 163
NOW = dt.datetime(2026, 8, 22, 9, tzinfo=dt.timezone.utc)  # the day after the last imported list
FRESH_ID = "2608.20001"


def arxiv_replay() -> ReplayServer:
    answers = {}
    for meta in (FIXTURES / "arxiv-api-atom").glob("*.request.json"):
        request = json.loads(meta.read_text())
        query = dict(parse_qsl(urlsplit(request["url"]).query, keep_blank_values=True))
        body = meta.with_name(meta.name.replace(".request.json", ".xml")).read_bytes()
        answers[query.get("id_list", "")] = (request["status_code"], body)

    def route(path: str) -> Reply:
        query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        status, body = answers.get(query.get("id_list", ""), (404, b"not recorded"))
        return Reply(status, body, content_type="application/atom+xml")

    return ReplayServer(route=route)


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory):
    """The app on its own copy of the data, the arXiv API replayed, mail to a real SMTP server."""
    from aiosmtpd.controller import Controller

    data_dir = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("community") / "data")
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with arxiv_replay() as arxiv:
        app, store = make_app(data_dir, arxiv_api_url=arxiv.url + "/api/query", smtp_host="127.0.0.1",
                              smtp_port=smtp.port, smtp_starttls=False, public_url="http://papers.test",
                              trusted_hosts=("testserver",))  # the TestClient's host
        app.state.clock = lambda: NOW
        store.write([Record(Paper(FRESH_ID, "A fresh paper about <i>things</i>", "Fresh abstract.",
                                  [Author("Fresh Author")], version=1, published=NOW - dt.timedelta(days=3),
                                  categories=["cs.LG"]))])
        ada, bob = member(store, "ada"), member(store, "bob")
        mia, root = member(store, "mia", "moderator"), member(store, "root0", "admin")
        app.state.people = {"ada": ada, "bob": bob, "mia": mia, "root0": root}
        app.state.inbox = inbox
        yield app
        store.close()
    smtp.stop()


@pytest.fixture(autouse=True)
def fresh_limits(request):
    if "site" in request.fixturenames:
        request.getfixturevalue("site").state.limits = Limits()


def client(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.text, "html.parser")


def as_(app, name: str) -> TestClient:
    return signed_in_client(app, f"{name}@example.org")


# -- sessions and CSRF -----------------------------------------------------------------


def test_session_cookie_is_signed_httponly_and_samesite(site):
    c = client(site)
    response = c.post("/signin", data={"email": "ada@example.org", "password": PASSWORD,
                                       "csrf_token": csrf_of(c.get("/signin").text)}, follow_redirects=False)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("dailypapers_session=")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    # a tampered cookie is ignored: the visitor is anonymous again
    value = c.cookies.get("dailypapers_session")
    c.cookies.clear()
    c.cookies.set("dailypapers_session", value[:-3] + ("abc" if not value.endswith("abc") else "xyz"))
    assert c.get("/account", follow_redirects=False).status_code == 303


def test_cookie_is_secure_behind_https_and_production_needs_a_secret(web_data_dir, tmp_path):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path / "d"), public_url="https://papers.example.org")
    with TestClient(app, base_url="https://papers.example.org") as c:
        assert "secure" in c.get("/signin").headers["set-cookie"].lower()
    store.close()
    from dailypapers.web import create_app

    with pytest.raises(ConfigError):
        create_app(config.load(environ={}, data_dir=tmp_path / "d", env="production"), store=store)


def _routes(routes):
    for route in routes:
        if hasattr(route, "original_router"):  # FastAPI keeps included routers nested
            yield from _routes(route.original_router.routes)
        else:
            yield route


def _post_routes(app):
    values = {"arxiv_id": TOP_ID, "cid": "1", "comment_id": "1", "token_id": "1", "user_id": "1", "token": "x",
              "search_id": "1"}
    for route in _routes(app.routes):
        # the one exception: RFC 8058 one-click unsubscribe, which mail providers POST without cookies
        # (its signed token is the credential; see web/subscriptions.py and tests/test_web_delivery.py)
        if route.path == "/unsubscribe/{token}":
            continue
        if isinstance(route, APIRoute) and "POST" in route.methods:
            yield re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values[m.group(1)], route.path)


def test_every_post_route_refuses_a_missing_or_wrong_csrf_token(site):
    paths = list(_post_routes(site))
    assert len(paths) >= 20 and "/papers/2608.19880/upvote" in paths
    ada = as_(site, "ada")
    before = site.state.store.votes.count(TOP_ID)
    for path in paths:
        for headers, data in (({}, {}), ({"x-csrf-token": "forged"}, {"csrf_token": "forged"})):
            response = ada.post(path, data=data, headers=headers, follow_redirects=False)
            assert response.status_code == 403, (path, response.status_code)
    anonymous = client(site)
    anonymous.get("/")
    for path in paths:
        response = anonymous.post(path, data={}, follow_redirects=False)
        assert response.status_code in (401, 403), (path, response.status_code)
    assert site.state.store.votes.count(TOP_ID) == before


# -- accounts ---------------------------------------------------------------------------


def test_sign_up_in_and_out(site):
    c = client(site)
    page = c.get("/signup")
    response = c.post("/signup", data={"email": "new@example.org", "username": "newbie", "display_name": "New",
                                       "password": PASSWORD, "csrf_token": csrf_of(page.text), "next": "/stats"},
                      follow_redirects=False)
    assert response.status_code == 200 and "Check your inbox" in response.text  # confirmed by mail first
    assert soup(c.get("/")).select_one(".nav-user") is None
    message = site.state.inbox.messages[-1]
    assert message["To"] == "new@example.org"
    link = re.search(r"http://papers\.test(/signup/confirm\?token=\S+)", message.get_body(("plain",)).get_content())
    form = c.get(link.group(1))
    done = c.post("/signup/confirm", data={"token": csrf_token_field(form.text), "csrf_token": csrf_of(form.text)},
                  follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account?done=welcome"
    home = soup(c.get("/"))
    assert home.select_one(".nav-user").get_text(strip=True) == "newbie"
    again = c.post("/signup", data={"email": "new@example.org", "password": PASSWORD,
                                    "csrf_token": csrf_of(c.get("/signup").text)})
    assert again.status_code == 200 and "Check your inbox" in again.text  # the member gets a notice instead
    assert site.state.inbox.messages[-1]["Subject"] == "Someone tried to sign up with your address"
    c.post("/signout", data={"csrf_token": csrf_of(c.get("/").text)})
    assert soup(c.get("/")).select_one(".nav-user") is None
    assert c.get("/account", follow_redirects=False).headers["location"] == "/signin?next=/account"


def test_sign_in_never_says_whether_an_address_exists(site):
    c = client(site)
    token = csrf_of(c.get("/signin").text)
    wrong = c.post("/signin", data={"email": "ada@example.org", "password": "wrong password", "csrf_token": token})
    unknown = c.post("/signin", data={"email": "nobody@example.org", "password": "wrong password",
                                      "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    assert soup(wrong).select_one(".form-error").get_text() == soup(unknown).select_one(".form-error").get_text()


def test_sign_in_is_rate_limited(site):
    c = client(site)
    token = csrf_of(c.get("/signin").text)
    codes = [c.post("/signin", data={"email": "bob@example.org", "password": "guess", "csrf_token": token}
                    ).status_code for _ in range(11)]
    assert codes == [401] * 10 + [429]
    refused = c.post("/signin", data={"email": "bob@example.org", "password": PASSWORD, "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_next_never_leaves_the_site(site):
    c = client(site)
    for target in ("https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
        token = csrf_of(c.get("/signin").text)
        response = c.post("/signin", data={"email": "ada@example.org", "password": PASSWORD, "csrf_token": token,
                                           "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/"


def test_password_reset_by_email(site):
    inbox = site.state.inbox
    c = client(site)
    sent_before = len(inbox.messages)
    unknown = c.post("/password/forgot",
                     data={"email": "nobody@example.org", "csrf_token": csrf_of(c.get("/password/forgot").text)})
    known = c.post("/password/forgot",
                   data={"email": "bob@example.org", "csrf_token": csrf_of(c.get("/password/forgot").text)})
    assert soup(unknown).select_one(".notice").get_text() == soup(known).select_one(".notice").get_text()
    assert len(inbox.messages) == sent_before + 1
    message = inbox.messages[-1]
    assert message["To"] == "bob@example.org"
    link = re.search(r"http://papers\.test(/password/reset\?token=\S+)",
                     message.get_body(("plain",)).get_content()).group(1)
    form = c.get(link)
    assert form.status_code == 200
    done = c.post("/password/reset", data={"token": csrf_token_field(form.text), "password": "bob's new password",
                                           "csrf_token": csrf_of(form.text)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/account?done=reset"
    assert c.get("/account").status_code == 200  # signed in
    assert c.get(link).status_code == 400  # used
    signed_in_client(site, "bob@example.org", "bob's new password")
    site.state.store.accounts.set_password(site.state.people["bob"].id, __import__(
        "dailypapers.community.passwords", fromlist=["x"]).hash_password(PASSWORD))


def csrf_token_field(html: str) -> str:
    return re.search(r'name="token" value="([^"]+)"', html).group(1)


def test_api_tokens_authenticate_scripts(site):
    ada = as_(site, "ada")
    page = ada.post("/account/tokens", data={"name": "my script", "csrf_token": ada.csrf})
    token = soup(page).select_one(".new-token").get_text()
    assert page.headers["cache-control"] == "no-store"
    script = client(site)
    auth = {"authorization": f"Bearer {token}"}
    assert script.get("/api/whoami", headers=auth).json() == {"user": "ada", "fullname": "Ada", "role": "member"}
    voted = script.post(f"/api/papers/{TOP_ID}/vote", json={"upvoted": True}, headers=auth).json()
    assert voted["upvoted"] and voted["upvotes"] == voted["importedUpvotes"] + voted["localUpvotes"]
    again = script.post(f"/api/papers/{TOP_ID}/vote", json={"upvoted": True}, headers=auth).json()
    assert again["localUpvotes"] == voted["localUpvotes"]  # idempotent
    script.post(f"/api/papers/{TOP_ID}/vote", json={"upvoted": False}, headers=auth)
    bad = script.get("/api/whoami", headers={"authorization": "Bearer dp_made_up"})
    assert bad.status_code == 401 and bad.json()["status"] == 401
    assert script.post(f"/api/papers/{TOP_ID}/vote", json={"upvoted": True}).status_code == 401
    assert script.get("/account", headers=auth, follow_redirects=False).status_code == 303  # pages ignore tokens


# -- upvotes ---------------------------------------------------------------------------


def test_upvote_toggles_and_adds_to_the_imported_baseline(site):
    bob = as_(site, "bob")
    local_before = site.state.store.votes.count(TOP_ID)
    plain = bob.post(f"/papers/{TOP_ID}/upvote", data={"csrf_token": bob.csrf, "next": "/papers/date/2026-08-21"},
                     follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == "/papers/date/2026-08-21"
    page = soup(bob.get(f"/papers/{TOP_ID}"))
    assert page.select_one(".vote-large .vote-count").get_text(strip=True) == str(TOP_UPVOTES + local_before + 1)
    assert page.select_one(".vote-large button")["aria-pressed"] == "true"
    note = page.select_one(".vote-note").get_text(" ", strip=True)
    assert f"{TOP_UPVOTES} imported from Hugging Face" in note and f"{local_before + 1} from members here" in note
    toggled = bob.post(f"/papers/{TOP_ID}/upvote", data={"csrf_token": bob.csrf},
                       headers={"accept": "application/json"}).json()
    assert toggled == {"id": TOP_ID, "upvoted": False, "upvotes": TOP_UPVOTES + local_before,
                       "importedUpvotes": TOP_UPVOTES, "localUpvotes": local_before}
    api = client(site).get(f"/api/papers/{TOP_ID}").json()
    assert api["upvotes"] == TOP_UPVOTES + local_before and api["importedUpvotes"] == TOP_UPVOTES


def test_anonymous_upvote_asks_to_sign_in(site):
    c = client(site)
    token = csrf_of(c.get("/signin").text)  # cached anonymous pages carry no token; the sign-in form does
    form = c.post(f"/papers/{TOP_ID}/upvote", data={"csrf_token": token}, headers={"referer": "http://testserver/papers/date/2026-08-20"},
                  follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/signin?next=/papers/date/2026-08-20"
    fetch = c.post(f"/papers/{TOP_ID}/upvote", data={"csrf_token": token}, headers={"accept": "application/json"})
    assert fetch.status_code == 401


def test_trending_order_is_the_documented_score(site):
    got = client(site).get(f"/api/daily_papers?date={LATEST}&sort=trending&limit=100").json()
    store = site.state.store
    entries = store.latest_entries([e["paper"]["id"] for e in got])
    reference = ranking.reference_time(LATEST, NOW)
    papers = store.papers_by_ids([e["paper"]["id"] for e in got])
    scores = [ranking.score(entries[e["paper"]["id"]].upvotes, e["paper"]["localUpvotes"],
                            ranking.listed_at(LATEST, entries[e["paper"]["id"]].submitted_at,
                                              papers[e["paper"]["id"]].published), reference) for e in got]
    assert scores == sorted(scores, reverse=True) and len(got) == 17
    page = soup(client(site).get(f"/papers/date/{LATEST}?sort=trending"))
    assert [a["data-id"] for a in page.select("article.card")] == [e["paper"]["id"] for e in got]


# -- submissions -----------------------------------------------------------------------


def test_submit_a_known_recent_paper_once(site):
    ada = as_(site, "ada")
    done = ada.post("/submit", data={"paper": f"https://arxiv.org/abs/{FRESH_ID}v1", "csrf_token": ada.csrf},
                    follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/papers/{FRESH_ID}?submitted=1"
    day = soup(client(site).get(f"/papers/date/{NOW.date()}"))
    card = day.select_one(f'article.card[data-id="{FRESH_ID}"]')
    assert "Submitted by ada" in card.select_one(".submitter").get_text(" ", strip=True)
    assert card.select_one(".vote-count").get_text(strip=True) == "0"
    bob = as_(site, "bob")
    again = bob.post("/submit", data={"paper": FRESH_ID, "csrf_token": bob.csrf})
    assert again.status_code == 409 and "already on the daily list" in again.text
    old = ada.post("/submit", data={"paper": TOP_ID, "csrf_token": ada.csrf})
    assert old.status_code == 409
    older = ada.post("/submit", data={"paper": "hep-th/9901001", "csrf_token": ada.csrf})
    assert older.status_code == 400 and "last 14 days" in older.text
    nonsense = ada.post("/submit", data={"paper": "not an id", "csrf_token": ada.csrf})
    assert nonsense.status_code == 400
    member_page = soup(client(site).get("/users/ada"))
    assert FRESH_ID in [a["data-id"] for a in member_page.select("article.card")]
    api = client(site).get(f"/api/daily_papers?date={NOW.date()}&submitter=ada").json()
    assert [e["paper"]["id"] for e in api] == [FRESH_ID]


def test_submit_an_unknown_paper_fetched_from_the_arxiv_api(site):
    published = dt.datetime(2017, 7, 27, 8, 18, 33, tzinfo=dt.timezone.utc)
    site.state.clock = lambda: published + dt.timedelta(days=2)
    try:
        mia = as_(site, "mia")
        done = mia.post("/submit", data={"paper": "1707.08567", "csrf_token": mia.csrf}, follow_redirects=False)
        assert done.status_code == 303, soup(done).select_one(".form-error")
        paper = client(site).get("/api/papers/1707.08567").json()
        assert paper["title"].startswith("Proceedings of Workshop AEW10")
        assert paper["submittedOnDailyBy"]["user"] == "mia"
        broken = mia.post("/submit", data={"paper": "1707.09999", "csrf_token": mia.csrf})  # the API fails
        assert broken.status_code == 502 and "arXiv API answered HTTP 404" in broken.text
    finally:
        site.state.clock = lambda: NOW


# -- comments and moderation -----------------------------------------------------------


def test_comments_edit_delete_and_hide(site):
    ada, bob, mia = as_(site, "ada"), as_(site, "bob"), as_(site, "mia")
    posted = ada.post(f"/papers/{TOP_ID}/comments", data={"body": "Great **paper**: $O(n_1 * n_2)$",
                                                          "csrf_token": ada.csrf}, follow_redirects=False)
    comment_id = int(posted.headers["location"].rsplit("-", 1)[1])
    page = soup(client(site).get(f"/papers/{TOP_ID}"))
    body = page.select_one(f"#comment-{comment_id} .comment-body")
    assert body.select_one("strong").get_text() == "paper"
    assert body.select_one(".math").get_text() == "$O(n_1 * n_2)$"
    reply = bob.post(f"/papers/{TOP_ID}/comments", data={"body": "Agreed", "parent_id": comment_id,
                                                         "csrf_token": bob.csrf}, follow_redirects=False)
    reply_id = int(reply.headers["location"].rsplit("-", 1)[1])
    # nobody edits or deletes another member's comment
    assert bob.get(f"/comments/{comment_id}/edit").status_code == 403
    assert bob.post(f"/comments/{comment_id}/edit", data={"body": "hacked", "csrf_token": bob.csrf}).status_code == 403
    assert bob.post(f"/comments/{comment_id}/delete", data={"csrf_token": bob.csrf}).status_code == 403
    assert mia.post(f"/comments/{comment_id}/delete", data={"csrf_token": mia.csrf}).status_code == 403
    assert site.state.store.comments.get(comment_id).body.startswith("Great")
    # members cannot hide; moderators can
    assert bob.post(f"/comments/{comment_id}/hide", data={"csrf_token": bob.csrf}).status_code == 403
    hidden = mia.post(f"/comments/{reply_id}/hide", data={"csrf_token": mia.csrf}, follow_redirects=False)
    assert hidden.status_code == 303
    assert client(site).get(f"/papers/{TOP_ID}").text.count("Agreed") == 0
    assert "Agreed" in mia.get(f"/papers/{TOP_ID}").text  # moderators still see it, marked hidden
    mia.post(f"/comments/{reply_id}/unhide", data={"csrf_token": mia.csrf})
    # the author edits and deletes
    ada.post(f"/comments/{comment_id}/edit", data={"body": "Edited text", "csrf_token": ada.csrf})
    assert "Edited text" in client(site).get(f"/papers/{TOP_ID}").text
    ada.post(f"/comments/{comment_id}/delete", data={"csrf_token": ada.csrf})
    page = soup(client(site).get(f"/papers/{TOP_ID}"))
    assert page.select_one(f"#comment-{comment_id}").get_text().count("[deleted]") == 1  # replies keep their thread
    card = soup(client(site).get(f"/papers/date/{LATEST}")).select_one(f'article.card[data-id="{TOP_ID}"]')
    assert card.select_one('a[title="Comments"]') is not None


def test_comments_are_rate_limited(site):
    bob = as_(site, "bob")
    codes = [bob.post(f"/papers/{FRESH_ID}/comments", data={"body": f"comment {i}", "csrf_token": bob.csrf},
                      follow_redirects=False).status_code for i in range(11)]
    assert codes == [303] * 10 + [429]


def test_moderator_and_admin_pages_refuse_members(site):
    assert client(site).get("/moderation", follow_redirects=False).status_code == 303
    bob, mia, root = as_(site, "bob"), as_(site, "mia"), as_(site, "root0")
    assert bob.get("/moderation").status_code == 403 and bob.get("/admin").status_code == 403
    assert mia.get("/moderation").status_code == 200 and mia.get("/admin").status_code == 403
    assert root.get("/moderation").status_code == 200 and root.get("/admin").status_code == 200
    bob_id = site.state.people["bob"].id
    assert bob.post(f"/admin/users/{bob_id}/role", data={"role": "admin", "csrf_token": bob.csrf}).status_code == 403
    assert mia.post(f"/admin/users/{bob_id}/role", data={"role": "admin", "csrf_token": mia.csrf}).status_code == 403
    assert site.state.store.accounts.get(bob_id).role == "member"
    assert root.post(f"/admin/users/{bob_id}/role", data={"role": "moderator", "csrf_token": root.csrf},
                     follow_redirects=False).status_code == 303
    assert site.state.store.accounts.get(bob_id).role == "moderator"
    site.state.store.accounts.set_role(bob_id, "member")


# -- collections and follows -----------------------------------------------------------


def test_collections_share_and_export(site):
    ada = as_(site, "ada")
    made = ada.post("/collections", data={"name": "To read", "paper_id": TOP_ID, "next": f"/papers/{TOP_ID}",
                                          "csrf_token": ada.csrf}, follow_redirects=False)
    assert made.headers["location"] == f"/papers/{TOP_ID}"
    (mine,) = [c for c in site.state.store.collections.for_user(site.state.people["ada"].id) if c.name == "To read"]
    ada.post(f"/collections/{mine.id}/items", data={"paper_id": FRESH_ID, "csrf_token": ada.csrf})
    assert client(site).get(f"/collections/{mine.id}").status_code == 404  # private
    assert as_(site, "bob").get(f"/collections/{mine.id}.bib").status_code == 404
    page = soup(ada.get(f"/collections/{mine.id}"))
    assert [a["data-id"] for a in page.select("article.card")] == [TOP_ID, FRESH_ID]
    ada.post(f"/collections/{mine.id}/edit", data={"name": "To read", "description": "Shared", "public": "1",
                                                   "csrf_token": ada.csrf})
    bib = client(site).get(f"/collections/{mine.id}.bib")
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.text.count("@misc{") == 2 and f"eprint={{{TOP_ID}}}" in bib.text
    data = client(site).get(f"/collections/{mine.id}.json").json()
    assert data["name"] == "To read" and data["public"] and [p["id"] for p in data["papers"]] == [TOP_ID, FRESH_ID]
    assert "To read" in client(site).get("/users/ada").text
    bob = as_(site, "bob")
    assert bob.post(f"/collections/{mine.id}/delete", data={"csrf_token": bob.csrf}).status_code == 403
    ada.post(f"/collections/{mine.id}/items/remove", data={"paper_id": FRESH_ID, "csrf_token": ada.csrf})
    assert site.state.store.collections.paper_ids(mine.id) == [TOP_ID]


def test_follow_authors_and_categories(site):
    ada = as_(site, "ada")
    page = soup(ada.get("/categories/cs.CL"))
    assert page.select_one('form[action="/follow"] button').get_text(strip=True) == "Follow"
    ada.post("/follow", data={"kind": "category", "target": "cs.CL", "next": "/categories/cs.CL",
                              "csrf_token": ada.csrf})
    ada.post("/follow", data={"kind": "author", "target": "Fresh Author", "csrf_token": ada.csrf})
    assert soup(ada.get("/categories/cs.CL")).select_one('form[action="/follow"] button').get_text(strip=True) \
        == "Following"
    account = ada.get("/account").text
    assert "/categories/cs.CL" in account and "/authors/fresh-author" in account


# -- pages: paper extras, stats, about ranking -----------------------------------------


def test_paper_page_explains_its_rank_and_plots_votes(site):
    page = soup(client(site).get(f"/papers/{TOP_ID}"))
    why = page.select_one("#why-it-ranks-here")
    assert why is not None and "of 17 on the trending list" in why.get_text()
    assert "age in hours" in why.get_text()
    assert why.select_one(".formula code").get_text().startswith(f"({TOP_UPVOTES} + ")
    chart = page.select_one(".side-box svg.chart")
    assert chart is not None and chart.select_one("polyline.line") is not None


def test_stats_and_about_ranking(site):
    page = soup(client(site).get("/stats"))
    charts = page.select("svg.chart")
    assert len(charts) == 3 and all(c.select_one("title") for c in charts)
    assert len(charts[0].select("rect.bar")) == 60
    about = client(site).get("/about/ranking").text
    assert ranking.FORMULA in about and "imported baseline" in about


def test_fetch_paper_reports_an_empty_answer_as_not_found():
    from dailypapers.community.submit import fetch_paper
    from dailypapers.errors import NotFound

    with arxiv_replay() as arxiv:
        assert fetch_paper(arxiv.url + "/api/query", "1707.08567").title.startswith("Proceedings")
        with pytest.raises(NotFound):
            fetch_paper(arxiv.url + "/api/query", "0000.0000")
