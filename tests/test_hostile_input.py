"""Hostile input through the web layer (issue 14, items 7, 8, 9 and 14), on the backend under test
(`make test` runs this file in both passes): dates and ids out of range, control characters in
any text, characters XML 1.0 forbids in imported text, `javascript:` URLs in imported links.

Every answer must be a clear 4xx (or the page), never a 500, and nothing hostile may be stored
or echoed where it does harm."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree as ET

import httpx
import pytest
from fastapi.testclient import TestClient
from support.community import PASSWORD, copy_data_dir, csrf_of, make_app, member, signed_in_client
from support.databases import data_dir_env
from support.processes import Server, running

from dailypapers.models import Author, DailyEntry, Link, Paper, Record, Submitter
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.sync import sync_keyword_index
from dailypapers.web.params import MAX_ID, up_to
from dailypapers.web.render.feedxml import Entry, Feed, render, xml_text

ROOT = Path(__file__).resolve().parents[1]
LATEST = dt.date(2026, 8, 21)  # the last day of the test data's daily lists
TOO_BIG = [str(2**31), str(2**63), str(2**64), "9" * 40]  # ids are 32-bit on PostgreSQL
NOT_XML = "\x00\x01\x08\x0b\x0c\x1f\ufffe\uffff"  # every kind of character XML 1.0 forbids (a lone
# surrogate is added where a str may hold one)
IMPORTED = NOT_XML.replace("\x00", "")  # what an import can carry (neither database stores NUL or a surrogate)
XML_PAPER = "2608.99001"
JS_PAPER = "2608.99002"


def _imported(store) -> None:
    """Two imported papers listed on the latest day: one whose text holds every character XML 1.0
    forbids, one whose links, avatar and media point at `javascript:`."""
    xml_paper = Paper(XML_PAPER, f"Noncharacters{IMPORTED} in a title",
                      f"An abstract with {IMPORTED} inside, about transformers.",
                      [Author(f"Ann {IMPORTED}Author")], version=1, categories=["cs.LG"],
                      published=dt.datetime(2026, 8, 20, tzinfo=dt.UTC))
    js_paper = Paper(JS_PAPER, "A paper with hostile links", "Links that run script.", [Author("Mal Lory")],
                     version=1, categories=["cs.CR"], published=dt.datetime(2026, 8, 20, tzinfo=dt.UTC),
                     links=[Link("project", "javascript:alert(1)", "hf"), Link("github", " JaVaScRiPt:alert(2)", "hf"),
                            Link("hf_model", "data:text/html,<script>alert(3)</script>", "hf"),
                            Link("github", "https://github.com/good/repo", "hf")])
    submitter = Submitter("mallory", "Mal Lory", avatar_url="javascript:alert(4)")
    store.write([Record(xml_paper, DailyEntry(XML_PAPER, LATEST, upvotes=5000)),
                 Record(js_paper, DailyEntry(JS_PAPER, LATEST, upvotes=4000, submitted_by=submitter,
                                             media_url="javascript:alert(5)"))])


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory):
    data_dir = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("hostile") / "data")
    app, store = make_app(data_dir, rate_limit_search=0, rate_limit_api=0, rate_limit_forms=0,
                          rate_limit_store="memory")
    _imported(store)
    sync_keyword_index(store, KeywordIndex(app.state.index_path))
    for name, role in (("ada", "member"), ("bob", "member"), ("root0", "admin")):
        member(store, name, role)
    yield app
    store.close()


@pytest.fixture(scope="module")
def ada(site):
    return signed_in_client(site, "ada@example.org")


def _anonymous(app) -> TestClient:
    return TestClient(app, raise_server_exceptions=False)


def _post(client, url: str, data: dict, **kwargs):
    return client.post(url, data={**data, "csrf_token": client.csrf}, follow_redirects=False, **kwargs)


# -- item 7: dates out of range ------------------------------------------------------------------


EDGE_PERIODS = [("date", "9999-12-31"), ("date", "0001-01-01"), ("date", "9999-01-01"), ("week", "9999-W52"),
                ("week", "0001-W01"), ("week", "9998-W52"), ("month", "9999-12"), ("month", "0001-01")]


@pytest.mark.parametrize(("kind", "slug"), EDGE_PERIODS)
def test_periods_at_the_edges_of_the_calendar_are_400(site, kind, slug):
    client = _anonymous(site)
    api = {"date": "date", "week": "week", "month": "month"}[kind]
    for url in (f"/papers/{kind}/{slug}", f"/feeds/{kind}/{slug}.rss", f"/feeds/{kind}/{slug}.atom",
                f"/api/daily_papers?{api}={slug}"):
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code, response.text[:300])
        assert "out of range" in response.text or "not a real" in response.text, (url, response.text[:300])


def test_search_dates_out_of_range_are_400_and_a_saved_one_keeps_its_feed(site, ada):
    client = _anonymous(site)
    for q in ("from:9999-12-31", "to:0001-01-01", "agents from:9999", "agents to:0001-01"):
        for url in ("/search", "/api/papers/search", "/feeds/search.rss"):
            response = client.get(url, params={"q": q})
            assert response.status_code == 400, (url, q, response.status_code, response.text[:300])
    refused = _post(ada, "/searches", {"name": "far future", "q": "agents from:9999-12-31"})
    assert refused.status_code == 400 and "out of range" in refused.text


def test_periods_inside_the_range_still_answer(site):
    client = _anonymous(site)
    for url in (f"/papers/date/{LATEST}", "/papers/week/2026-W34", "/papers/month/2026-08",
                "/papers/date/1900-01-01", "/feeds/week/2026-W34.rss", "/api/daily_papers?month=2026-08"):
        assert client.get(url).status_code == 200, url


# -- item 7: ids out of range ---------------------------------------------------------------------


def test_ids_past_the_backends_limit_in_paths_are_404(site, ada):
    admin = signed_in_client(site, "root0@example.org")
    client = _anonymous(site)
    for big in TOO_BIG:
        for url in (f"/collections/{big}", f"/collections/{big}.bib", f"/collections/{big}.json",
                    f"/comments/{big}/edit"):
            assert ada.get(url).status_code == 404, url
        assert client.get(f"/feeds/collections/{big}.rss").status_code in (404, 422)
        for url, data in ((f"/collections/{big}/edit", {"name": "x"}), (f"/collections/{big}/delete", {}),
                          (f"/collections/{big}/items", {"paper_id": "2608.19880"}),
                          (f"/collections/{big}/items/remove", {"paper_id": "2608.19880"}),
                          (f"/searches/{big}/alert", {"alert": "1"}), (f"/searches/{big}/delete", {}),
                          (f"/account/tokens/{big}/revoke", {}), (f"/comments/{big}/edit", {"body": "x"}),
                          (f"/comments/{big}/delete", {}), (f"/comments/{big}/hide", {})):
            assert _post(ada, url, data).status_code == 404, url
        assert _post(admin, f"/admin/users/{big}/role", {"role": "member"}).status_code == 404


def test_the_largest_id_is_a_plain_not_found(site, ada):
    largest = str(MAX_ID)
    assert ada.get(f"/collections/{largest}").status_code == 404
    assert _post(ada, f"/searches/{largest}/delete", {}).status_code == 404


def test_ids_past_the_backends_limit_in_forms_and_json_are_refused(site, ada):
    for big in (*TOO_BIG, "0", "-1"):
        response = _post(ada, "/papers/2608.19880/comments", {"body": "a reply", "parent_id": big})
        assert response.status_code == 422, (big, response.status_code, response.text[:300])
        api = ada.post("/api/papers/2608.19880/comments", json={"body": "a reply", "parentId": int(big)},
                       headers={"X-CSRF-Token": ada.csrf})
        assert api.status_code == 422, (big, api.status_code, api.text[:300])
    assert MAX_ID == 2**31 - 1


@pytest.mark.parametrize("limit", [0, 9, 10, 99, 105, 1000, MAX_ID, 2**63 - 1])
def test_the_id_pattern_takes_exactly_the_numbers_up_to_its_limit(limit):
    pattern = re.compile(up_to(limit))
    edges = {*range(0, 130), limit - 1, limit, limit + 1, limit * 10, limit * 10 + 9, *(limit // d for d in (2, 3, 7))}
    for value in sorted(v for v in edges if v >= 0):
        assert bool(pattern.fullmatch(str(value))) == (value <= limit), (limit, value)


def test_a_saved_notice_without_a_subscription_is_no_error(site, ada):
    """Found by fuzzing the pages (tests/test_pages_schema.py): `?done=saved` on /subscribe without a
    subscription rendered `None.address` (500)."""
    for client in (_anonymous(site), ada):
        response = client.get("/subscribe", params={"done": "saved"})
        assert response.status_code == 200, response.text[:300]


# -- item 8: control characters in any text -------------------------------------------------------


CONTROL = ["\x00", "a\x00b", "\x01", "\x1b[31m", "\x7f", "\x85", "\x9f"]


def _form_cases(value: str) -> list[tuple[str, dict]]:
    return [("/collections", {"name": value}), ("/collections", {"name": "ok", "description": value}),
            ("/searches", {"name": value, "q": "agents"}), ("/searches", {"name": "ok", "q": value}),
            ("/papers/2608.19880/comments", {"body": value}), ("/account/profile", {"display_name": value}),
            ("/account/tokens", {"name": value})]


@pytest.mark.parametrize("value", CONTROL, ids=[repr(v) for v in CONTROL])
def test_control_characters_in_member_forms_are_400(site, ada, value):
    for url, data in _form_cases(value):
        response = _post(ada, url, data)
        assert response.status_code == 400, (url, data, response.status_code, response.text[:300])
        assert "control character" in response.text
    api = ada.post("/api/papers/2608.19880/comments", json={"body": f"text {value}"},
                   headers={"X-CSRF-Token": ada.csrf})
    assert api.status_code == 400 and "control character" in api.json()["error"]


@pytest.mark.parametrize("value", ["\x00", "x\x00@example.org", "ada@example.org\x00"])
def test_control_characters_in_sign_in_and_sign_up_are_400(site, value):
    client = _anonymous(site)
    for page, data in (("/signin", {"email": value, "password": PASSWORD}),
                       ("/signup", {"email": value, "username": "newbie", "password": PASSWORD}),
                       ("/signup", {"email": "newbie@example.org", "username": "newbie", "display_name": value,
                                    "password": PASSWORD}),
                       ("/password/forgot", {"email": value})):
        token = csrf_of(client.get(page).text)
        response = client.post(page, data={**data, "csrf_token": token}, follow_redirects=False)
        assert response.status_code == 400, (page, data, response.status_code, response.text[:300])


def test_control_characters_in_addresses_queries_and_json_are_400(site):
    client = _anonymous(site)
    for url in ("/authors/a%00b", "/categories/cs%00", "/search?q=a%00b", "/api/papers/search?q=%00",
                "/api/daily_papers?submitter=a%00", "/papers/2608.19880%00", "/feeds/search.rss?q=x&author=%01"):
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code, response.text[:300])
    surrogate = b'{"body": "a lone \\ud800 surrogate"}'
    response = client.post("/api/papers/2608.19880/comments", content=surrogate,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400, response.text[:300]


def test_tabs_and_line_breaks_stay_in_comments_and_fold_in_names(site, ada):
    response = _post(ada, "/papers/2608.19880/comments", {"body": "line one\r\n\tline two"})
    assert response.status_code == 303
    assert _post(ada, "/collections", {"name": "tabs\tand\nlines"}).status_code == 303
    store = site.state.store
    user = store.accounts.by_email("ada@example.org")
    assert "tabs and lines" in [c.name for c in store.collections.for_user(user.id)]
    comments = [c.body for c in store.comments.for_paper("2608.19880")]
    assert "line one\n\tline two" in comments


# -- item 9: feeds stay well-formed XML -----------------------------------------------------------


def test_feed_text_drops_every_character_xml_forbids():
    entry = Entry(id="https://x.test/p", title=f"T{NOT_XML}\ud800itle", link="https://x.test/p?a=\x00",
                  published=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), summary=f"S{NOT_XML}",
                  authors=[f"A{NOT_XML}"], categories=[f"cs.{NOT_XML}LG"])
    feed = Feed(title=f"F{NOT_XML}", link="https://x.test/", self_url="https://x.test/f", description=NOT_XML,
                entries=[entry])
    for fmt in ("rss", "atom"):
        root = ET.fromstring(render(feed, fmt))
        assert "Title" in ET.tostring(root, encoding="unicode")
    assert xml_text(f"a{NOT_XML}\ud800b\U0001f600\t\n") == "ab\U0001f600\t\n"


def test_feeds_with_an_imported_noncharacter_stay_well_formed(site):
    client = _anonymous(site)
    for url in ("/feeds/daily.rss", "/feeds/daily.atom", f"/feeds/date/{LATEST}.rss", "/feeds/trending.atom",
                "/feeds/search.rss?q=noncharacters", "/feeds/search.atom?q=transformers+noncharacters"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.text[:300])
        root = ET.fromstring(response.content)  # ill-formed XML raises ParseError
        assert "Noncharacters" in ET.tostring(root, encoding="unicode"), url


# -- item 14: only http(s) links leave the site ---------------------------------------------------


def _no_script_urls(text: str) -> None:
    lowered = text.lower()
    assert "javascript:" not in lowered and "data:text/html" not in lowered, text[:500]


def test_api_filters_imported_script_urls_like_the_pages(site):
    client = _anonymous(site)
    paper = client.get(f"/api/papers/{JS_PAPER}").json()
    assert [link["url"] for link in paper["links"]] == ["https://github.com/good/repo"]
    assert paper["githubRepo"] == "https://github.com/good/repo" and paper.get("projectPage") is None
    daily = client.get("/api/daily_papers", params={"date": LATEST.isoformat(), "limit": 100})
    mine = next(item for item in daily.json() if item["paper"]["id"] == JS_PAPER)
    assert mine["submittedBy"]["avatarUrl"] == "" and mine.get("mediaUrl") is None
    for url in (f"/api/papers/{JS_PAPER}", f"/api/daily_papers?date={LATEST}&limit=100", f"/papers/{JS_PAPER}",
                f"/papers/{JS_PAPER}.md", f"/papers/date/{LATEST}", "/api/papers/search?q=hostile+links"):
        response = client.get(url)
        assert response.status_code == 200, url
        _no_script_urls(response.text)


def test_env_example_reads_the_same_in_sh_as_documented():
    """docs/deployment.md's `init` line sources the env file with `sh`; systemd reads it too. Every
    value must arrive whole: no inline comment glued to a value, spaces kept inside quotes."""
    example = ROOT / "deploy" / "env.example"
    lines = [line for line in example.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert all(" #" not in line.partition("=")[2] or line.partition("=")[2].startswith('"') for line in lines)
    docs = (ROOT / "docs" / "deployment.md").read_text()
    assert "sh -c 'set -a; . /etc/dailypapers/env; exec .venv/bin/dailypapers init'" in docs
    assert "xargs" not in docs
    script = f"set -a; . '{example}'; exec env"
    shown = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True, env={}).stdout
    got = dict(line.split("=", 1) for line in shown.splitlines() if line.startswith("DAILYPAPERS_"))
    expected = {line.split("=", 1)[0]: line.split("=", 1)[1].strip('"') for line in lines}
    assert got == expected
    assert got["DAILYPAPERS_MAIL_FROM"] == "dailypapers <papers@example.org>"


@pytest.mark.slow
@pytest.mark.parametrize(("trusted", "second"), [("127.0.0.1,::1", 200), ("192.0.2.7", 429)],
                         ids=["proxy-trusted", "proxy-elsewhere"])
def test_x_forwarded_for_counts_per_client_only_from_a_trusted_proxy(web_data_dir, tmp_path, trusted, second):
    """What docs/deployment.md says, on a real `dailypapers serve`: uvicorn takes the client address
    from X-Forwarded-For only when the request comes from an address in FORWARDED_ALLOW_IPS. Two
    clients behind the proxy (127.0.0.1 here) get a search each at a limit of one a minute when
    it is trusted; when it is not (the proxy is named as another machine), they share one limit."""
    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    env = {**data_dir_env(data_dir), "FORWARDED_ALLOW_IPS": trusted, "DAILYPAPERS_RATE_LIMIT_SEARCH": "1",
           "DAILYPAPERS_RATE_LIMIT_API": "0", "DAILYPAPERS_RATE_LIMIT_STORE": "memory",
           "DAILYPAPERS_INDEX_FOLLOW_INTERVAL": "0"}
    server = Server(env, tmp_path / "serve.log")
    with running(server):
        server.wait_ready()
        statuses = [httpx.get(f"{server.url}/search", params={"q": "agents"}, headers={"X-Forwarded-For": client},
                              timeout=60).status_code for client in ("198.51.100.1", "198.51.100.2")]
    assert statuses == [200, second], server.output()[-2000:]


def test_deployment_docs_name_the_setting_that_trusts_a_remote_proxy():
    import uvicorn

    docs = (ROOT / "docs" / "deployment.md").read_text()
    assert "FORWARDED_ALLOW_IPS" in docs and "127.0.0.1,::1" in docs
    default = uvicorn.Config("dailypapers.web.app:create_app", factory=True)
    assert default.forwarded_allow_ips in ("127.0.0.1,::1", ["127.0.0.1", "::1"])
