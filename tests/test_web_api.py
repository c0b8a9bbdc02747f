"""The JSON API: HF-compatible fields and nesting, pagination, errors, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import HOSTILE_ID, HOSTILE_TITLE

LATEST = dt.date(2026, 8, 21)
TOP_ID, TOP_TITLE, TOP_UPVOTES = "2608.19880", "EnvHarness: Awakening Static Worlds for Agent Learning", 163
HF_PAPER_KEYS = {"id", "authors", "publishedAt", "title", "summary", "upvotes", "githubRepo", "githubStars",
                 "projectPage", "submittedOnDailyAt", "submittedOnDailyBy"}
HF_ENTRY_KEYS = {"paper", "publishedAt", "title", "summary", "mediaUrl", "numComments", "submittedBy"}


def get_json(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def assert_error(client, url: str, status: int) -> str:
    body = get_json(client, url, status)
    assert set(body) == {"error", "status"} and body["status"] == status
    assert isinstance(body["error"], str) and body["error"]
    return body["error"]


def hf_time(value: str) -> dt.datetime:
    assert value.endswith("Z") and len(value) == 24, value  # 2026-08-20T00:00:00.000Z
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ")


# -- /api/daily_papers -----------------------------------------------------------------


def test_daily_papers_default_is_the_latest_day_with_hf_fields(web_client, web_store):
    entries = get_json(web_client, "/api/daily_papers")
    expected = web_store.daily(LATEST, LATEST, limit=100)
    assert len(entries) == expected.total == 17
    by_id = {e["paper"]["id"]: e for e in entries}
    top = by_id[TOP_ID]
    assert HF_ENTRY_KEYS <= set(top) and HF_PAPER_KEYS <= set(top["paper"])
    paper = top["paper"]
    assert top["title"] == paper["title"] == TOP_TITLE
    assert paper["upvotes"] == TOP_UPVOTES and top["numComments"] == 1
    assert paper["githubRepo"] == "https://github.com/google-research/envharness" and paper["githubStars"] == 8
    assert paper["projectPage"].startswith("https://envharness.com")
    assert paper["authors"][0] == {"name": "Chengsong Huang", "hidden": False}
    assert len(paper["authors"]) == 17
    assert paper["summary"].startswith("LLM agents learn") and top["summary"] == paper["summary"]
    assert hf_time(paper["submittedOnDailyAt"]).date() == LATEST
    hf_time(paper["publishedAt"])
    assert top["submittedBy"]["user"] == paper["submittedOnDailyBy"]["user"] == "taesiri"
    assert {"user", "fullname", "avatarUrl"} <= set(top["submittedBy"])


def test_daily_papers_sorts(web_client):
    newest = get_json(web_client, f"/api/daily_papers?date={LATEST}")
    published = [e["paper"]["publishedAt"] for e in newest]
    assert published == sorted(published, reverse=True)  # publishedAt is the default
    trending = get_json(web_client, f"/api/daily_papers?date={LATEST}&sort=trending")
    upvotes = [e["paper"]["upvotes"] for e in trending]
    assert upvotes == sorted(upvotes, reverse=True) and trending[0]["paper"]["id"] == TOP_ID
    assert {e["paper"]["id"] for e in newest} == {e["paper"]["id"] for e in trending}


def test_daily_papers_by_week_and_month(web_client, web_store):
    week = get_json(web_client, "/api/daily_papers?week=2026-W34&limit=100")
    monday = dt.date.fromisocalendar(2026, 34, 1)
    total = web_store.daily(monday, monday + dt.timedelta(days=6), limit=1).total
    assert total > 100 and len(week) == 100
    days = {hf_time(e["paper"]["submittedOnDailyAt"]).date() for e in week}
    assert min(days) >= monday and max(days) <= monday + dt.timedelta(days=6)
    month = get_json(web_client, "/api/daily_papers?month=2026-07&limit=100")
    assert len(month) == 100
    assert all(hf_time(e["paper"]["submittedOnDailyAt"]).month == 7 for e in month)
    assert get_json(web_client, "/api/daily_papers?date=2026-07-18") == []  # a Saturday


def test_daily_papers_pagination(web_client, web_store):
    total = web_store.daily(dt.date(2026, 8, 1), dt.date(2026, 8, 31), limit=1).total
    first = web_client.get("/api/daily_papers?month=2026-08&limit=20&p=0")
    second = get_json(web_client, "/api/daily_papers?month=2026-08&limit=20&p=1")
    assert first.headers["X-Total-Count"] == str(total)
    ids1, ids2 = [e["paper"]["id"] for e in first.json()], [e["paper"]["id"] for e in second]
    assert len(ids1) == len(ids2) == 20 and not set(ids1) & set(ids2)
    last_page = total // 20
    assert len(get_json(web_client, f"/api/daily_papers?month=2026-08&limit=20&p={last_page}")) == total % 20
    assert get_json(web_client, "/api/daily_papers?month=2026-08&limit=20&p=999") == []
    assert len(get_json(web_client, "/api/daily_papers?month=2026-08")) == 50  # the default limit


def test_daily_papers_by_submitter(web_client):
    entries = get_json(web_client, "/api/daily_papers?month=2026-08&submitter=taesiri&limit=100")
    assert entries and all(e["submittedBy"]["user"] == "taesiri" for e in entries)
    assert get_json(web_client, "/api/daily_papers?month=2026-08&submitter=nobody-xyz") == []


@pytest.mark.parametrize("query", [
    "date=2025-02-30", "date=2025-13-01", "date=yesterday", "date=2025-1-1", "week=2025-W54", "week=2025-52",
    "month=2025-13", "month=2025", "date=2025-01-01&week=2025-W01",
])
def test_daily_papers_bad_dates_are_400(web_client, query):
    assert_error(web_client, f"/api/daily_papers?{query}", 400)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "p=-1", "p=x", "sort=bogus"])
def test_daily_papers_bad_parameters_are_422(web_client, query):
    message = assert_error(web_client, f"/api/daily_papers?{query}", 422)
    assert query.split("=")[0] in message


# -- /api/papers/{id} ------------------------------------------------------------------


def test_paper_by_id(web_client):
    paper = get_json(web_client, f"/api/papers/{TOP_ID}")
    assert HF_PAPER_KEYS <= set(paper)
    assert paper["id"] == TOP_ID and paper["title"] == TOP_TITLE and paper["upvotes"] == TOP_UPVOTES
    assert paper["numComments"] == 1 and paper["submittedOnDailyBy"]["user"] == "taesiri"
    kinds = {link["kind"] for link in paper["links"]}
    assert {"github", "project"} <= kinds
    assert all({"kind", "url", "source", "stars"} == set(link) for link in paper["links"])
    assert get_json(web_client, f"/api/papers/{TOP_ID}v1")["id"] == TOP_ID  # a version is accepted


def test_old_style_paper_with_extras(web_client):
    paper = get_json(web_client, "/api/papers/hep-th/9901001")
    assert paper["title"] == "String Junctions and Their Duals in Heterotic String Theory"
    assert paper["categories"] == ["hep-th"] and paper["primaryCategory"] == "hep-th"
    assert [v["version"] for v in paper["versions"]] == [1, 2, 3]
    assert paper["versions"][0]["submittedAt"] == "1999-01-01T01:01:10.000Z"
    assert paper["doi"] == "10.1143/PTP.101.1155" and "PTPTeX" in paper["arxivComments"]
    assert paper["upvotes"] == 0 and paper["submittedOnDailyBy"] is None
    assert paper["publishedAt"] == "1999-01-01T01:01:10.000Z"


def test_paper_errors(web_client):
    assert "2401.99999" in assert_error(web_client, "/api/papers/2401.99999", 404)
    assert_error(web_client, "/api/papers/hep-th/0000001", 404)
    assert "not an arXiv identifier" in assert_error(web_client, "/api/papers/not-a-paper", 400)


def test_hostile_text_comes_back_verbatim_in_json(web_client):
    paper = get_json(web_client, f"/api/papers/{HOSTILE_ID}")
    assert paper["title"] == HOSTILE_TITLE


# -- /api/papers/search ----------------------------------------------------------------


def test_search_returns_hf_entries(web_client):
    entries = get_json(web_client, "/api/papers/search?q=energy&limit=5")
    assert 1 <= len(entries) <= 5
    for entry in entries:
        assert HF_ENTRY_KEYS <= set(entry) and entry["title"] == entry["paper"]["title"]
        text = (entry["title"] + " " + entry["summary"]).lower()
        assert "energ" in text
    phrase = get_json(web_client, '/api/papers/search?q="string junctions"')
    assert phrase[0]["paper"]["id"] == "hep-th/9901001"


def test_search_errors_and_defaults(web_client):
    assert "too long" in assert_error(web_client, "/api/papers/search?q=" + "x" * 501, 400)
    assert_error(web_client, "/api/papers/search?q=energy&limit=500", 422)
    assert get_json(web_client, "/api/papers/search?q=qwxzvbnm") == []
    latest = get_json(web_client, "/api/papers/search?limit=3")  # no query: the newest papers
    assert len(latest) == 3


# -- /api/papers (cursor) --------------------------------------------------------------


def test_papers_cursor_pagination_follows_link_headers(web_client, web_store):
    seen: list[str] = []
    url = "/api/papers?limit=100"
    pages = 0
    while url:
        response = web_client.get(url)
        assert response.status_code == 200
        batch = response.json()
        assert batch and all(HF_PAPER_KEYS <= set(p) for p in batch)
        seen += [p["id"] for p in batch]
        link = response.headers.get("Link")
        if link:
            assert link.endswith('>; rel="next"') and link.startswith("<http")
            url = link[1:link.index(">")]
        else:
            url = None
        pages += 1
    assert len(seen) == len(set(seen)) == web_store.counts()["papers"]
    assert pages == -(-len(seen) // 100)
    assert seen == sorted(seen, reverse=True)


def test_papers_cursor_errors(web_client):
    assert_error(web_client, "/api/papers?limit=0", 422)
    assert_error(web_client, "/api/papers?cursor=" + "x" * 100, 422)
    assert get_json(web_client, "/api/papers?cursor=0") == []


# -- errors, headers, OpenAPI ----------------------------------------------------------


def test_unknown_api_route_is_json_404(web_client):
    assert_error(web_client, "/api/nothing-here", 404)


def test_api_headers(web_client):
    headers = web_client.get("/api/daily_papers").headers
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_openapi_document_describes_the_api(web_client):
    doc = get_json(web_client, "/openapi.json")
    paths = doc["paths"]
    assert {"/api/daily_papers", "/api/papers/search", "/api/papers", "/api/papers/{arxiv_id}"} <= set(paths)
    assert not any(p.startswith("/search") or p == "/" for p in paths)  # HTML pages are not API
    daily = paths["/api/daily_papers"]["get"]
    params = {p["name"]: p for p in daily["parameters"]}
    assert set(params) == {"date", "week", "month", "submitter", "sort", "p", "limit"}
    assert all(p.get("description") for p in params.values())
    assert params["limit"]["schema"]["maximum"] == 100
    assert set(daily["responses"]) >= {"200", "400", "404", "422"}
    assert daily["responses"]["400"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorOut")
    item = daily["responses"]["200"]["content"]["application/json"]["schema"]["items"]
    assert item["$ref"].endswith("/DailyPaperOut")
    schemas = doc["components"]["schemas"]
    assert HF_PAPER_KEYS <= set(schemas["PaperOut"]["properties"])
    assert HF_ENTRY_KEYS <= set(schemas["DailyPaperOut"]["properties"])


# -- tokens that are not ours (issue 15, item 1) --------------------------------------------------

HF_TOKEN = "hf_" + "Zq7XbR2mVt9LwK4pN8cY3dF6gH1jS5aU0e"  # the form of a Hugging Face token


def test_read_routes_ignore_a_token_that_is_not_ours(web_client, caplog):
    """huggingface_hub sends the user's HF token with every call: reads answer as without it."""
    auth = {"Authorization": f"Bearer {HF_TOKEN}"}
    for url in ("/api/daily_papers", f"/api/papers/{TOP_ID}", "/api/papers?limit=5",
                "/api/papers/search?q=energy&limit=5", f"/api/papers/{TOP_ID}/comments"):
        anonymous, with_token = web_client.get(url), web_client.get(url, headers=auth)
        assert with_token.status_code == 200, (url, with_token.status_code, with_token.text[:300])
        assert with_token.json() == anonymous.json(), url
    assert HF_TOKEN not in caplog.text


def test_write_routes_refuse_a_token_that_is_not_ours_saying_which_is_expected(web_client, caplog):
    auth = {"Authorization": f"Bearer {HF_TOKEN}"}
    for response in (web_client.post(f"/api/papers/{TOP_ID}/vote", json={"upvoted": True}, headers=auth),
                     web_client.post("/api/papers/submit", json={"id": TOP_ID}, headers=auth),
                     web_client.get("/api/whoami", headers=auth)):
        assert response.status_code == 401, (response.request.url, response.text[:300])
        body = response.json()
        assert "dp_" in body["error"] and "/account" in body["error"]
        assert HF_TOKEN not in response.text
    assert get_json(web_client, f"/api/papers/{TOP_ID}")["upvotes"] == TOP_UPVOTES  # no vote was cast
    made_up = {"Authorization": "Bearer dp_" + "x" * 43}  # one of ours, unknown: still refused on reads
    assert web_client.get("/api/daily_papers", headers=made_up).status_code == 401
    assert HF_TOKEN not in caplog.text
