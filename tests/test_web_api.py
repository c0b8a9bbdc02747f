"""The JSON API: HF-compatible fields and nesting, pagination, errors, and the OpenAPI document."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from conftest import HF_DAYS, HOSTILE_ID, HOSTILE_TITLE
from support.recorded import key_universe, recorded_days

from dailypapers.models import DailyEntry, Paper
from dailypapers.search.query import MAX_QUERY_LENGTH
from dailypapers.store.repo import Listed
from dailypapers.web.render import views
from dailypapers.web.render.overlay import Overlay

LATEST = dt.date(2026, 8, 21)
TOP_ID, TOP_TITLE, TOP_UPVOTES = "2608.19880", "EnvHarness: Awakening Static Worlds for Agent Learning", 163
# the fields every HF answer has (the others are absent where HF has no value)
HF_PAPER_KEYS = {"id", "authors", "publishedAt", "title", "summary", "upvotes"}
HF_ENTRY_KEYS = {"paper", "publishedAt", "title", "numComments"}


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


def test_daily_papers_for_a_day_have_hf_fields(web_client, web_store):
    entries = get_json(web_client, f"/api/daily_papers?date={LATEST}")
    expected = web_store.daily(LATEST, LATEST, limit=100)
    assert len(entries) == expected.total == 17
    by_id = {e["paper"]["id"]: e for e in entries}
    top = by_id[TOP_ID]
    assert HF_ENTRY_KEYS <= set(top) and HF_PAPER_KEYS <= set(top["paper"])
    paper = top["paper"]
    assert top["title"] == paper["title"] == TOP_TITLE
    assert paper["upvotes"] == TOP_UPVOTES and top["numComments"] == 1
    assert paper["githubRepo"] == "https://github.com/google-research/envharness" and paper["githubStars"] == 8
    assert paper["projectPage"] == "https://envharness.com/"  # as HF gave it
    assert paper["authors"][0] == {"_id": "6a87afc589e517cbfd75dbcf", "name": "Chengsong Huang", "hidden": False}
    assert len(paper["authors"]) == 17
    assert paper["summary"].startswith("LLM agents learn") and top["summary"] == paper["summary"]
    assert hf_time(paper["submittedOnDailyAt"]).date() == LATEST
    hf_time(paper["publishedAt"])
    # HF names the submitter `name` on the entry and `user` on the paper
    assert top["submittedBy"]["name"] == paper["submittedOnDailyBy"]["user"] == "taesiri"
    assert {"fullname", "avatarUrl"} <= set(top["submittedBy"])
    assert paper["discussionId"] == "6a87afc589e517cbfd75dbe0" and paper["githubRepoAddedBy"] == "user"
    assert paper["organization"]["name"] == "google" and top["thumbnail"].startswith("https://")


def test_daily_papers_sorts(web_client):
    default = get_json(web_client, f"/api/daily_papers?date={LATEST}")
    keys = [(e["paper"]["upvotes"], e["publishedAt"]) for e in default]
    assert keys == sorted(keys, reverse=True) and default[0]["paper"]["id"] == TOP_ID  # HF's order
    newest = get_json(web_client, f"/api/daily_papers?date={LATEST}&sort=publishedAt")
    published = [e["paper"]["publishedAt"] for e in newest]
    assert published == sorted(published, reverse=True)
    trending = get_json(web_client, f"/api/daily_papers?date={LATEST}&sort=trending")
    # the papers of one day differ in age (their first arXiv versions), so trending is not the vote
    # order; test_web_community checks it is the documented score
    assert [e["paper"]["id"] for e in trending] != [e["paper"]["id"] for e in default]
    assert trending[0]["paper"]["id"] == TOP_ID
    assert {e["paper"]["id"] for e in newest} == {e["paper"]["id"] for e in trending} == {
        e["paper"]["id"] for e in default}


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
    assert entries and all(e["submittedBy"]["name"] == "taesiri" for e in entries)
    assert get_json(web_client, "/api/daily_papers?month=2026-08&submitter=nobody-xyz") == []


@pytest.mark.parametrize("query", [
    "date=2025-02-30", "date=2025-13-01", "date=yesterday", "date=2025-1-1", "week=2025-W54", "week=2025-52",
    "month=2025-13", "month=2025", "date=2025-01-01&week=2025-W01",
])
def test_daily_papers_bad_dates_are_400(web_client, query):
    assert_error(web_client, f"/api/daily_papers?{query}", 400)


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "p=-1", "p=x", "sort=bogus"])
def test_daily_papers_bad_parameters_are_400(web_client, query):
    message = assert_error(web_client, f"/api/daily_papers?{query}", 400)  # as on HF, not 422
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
    assert paper["upvotes"] == 0 and "submittedOnDailyBy" not in paper and "githubRepo" not in paper
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
    assert "too long" in assert_error(web_client, "/api/papers/search?q=" + "x" * (MAX_QUERY_LENGTH + 1), 400)
    assert_error(web_client, "/api/papers/search?q=energy&limit=500", 400)
    assert len(get_json(web_client, "/api/papers/search?q=model&limit=120&mode=keyword")) == 120  # HF's maximum
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
    assert_error(web_client, "/api/papers?limit=0", 400)
    assert_error(web_client, "/api/papers?cursor=" + "x" * 100, 400)
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


# -- HF's order, the feed, paging (issue 15, items 2-4) -------------------------------------------


def _ids(entries: list[dict]) -> list[str]:
    return [e["paper"]["id"] for e in entries]


def test_a_days_default_order_is_hfs_on_every_recorded_day(web_client):
    """Upvotes, highest first, ties by the entry's publishedAt, newest first: HF's order (ties on
    both are in an order HF does not expose, so the check is on the keys)."""
    for day, theirs in recorded_days(HF_DAYS):
        ours = [e for e in get_json(web_client, f"/api/daily_papers?date={day}&limit=100")
                if e["paper"]["id"] != HOSTILE_ID]
        assert sorted(_ids(ours)) == sorted(_ids(theirs)), day
        assert ([(e["paper"]["upvotes"], e["publishedAt"]) for e in ours]
                == [(e["paper"]["upvotes"], e["publishedAt"]) for e in theirs]), day


def test_without_a_period_pages_go_back_through_earlier_days(web_client, web_store):
    day_of = {e["paper"]["id"]: day for day, entries in recorded_days(HF_DAYS) for e in entries}
    first = web_client.get("/api/daily_papers?limit=20")
    assert int(first.headers["X-Total-Count"]) == web_store.counts()["daily_entries"]
    pages, url = [first.json()], first.headers["Link"]
    while len(pages) < 4:
        assert url.startswith("<http") and url.endswith('>; rel="next"'), url
        response = web_client.get(url[1:url.index(">")])
        pages.append(response.json())
        url = response.headers["Link"]
    ids = [i for page in pages for i in _ids(page)]
    assert len(ids) == len(set(ids)) == 80
    assert set(ids[:17]) == set(_ids(get_json(web_client, f"/api/daily_papers?date={LATEST}")))  # the newest day
    days = [day_of[i] for i in ids]
    assert days == sorted(days, reverse=True) and len(set(days)) >= 4
    assert get_json(web_client, "/api/daily_papers?limit=20&p=1") == pages[1]


def test_submitter_alone_lists_the_members_whole_history(web_client):
    theirs = {e["paper"]["id"] for _, entries in recorded_days(HF_DAYS) for e in entries
              if (e.get("submittedBy") or {}).get("name") == "taesiri"}
    response = web_client.get("/api/daily_papers?submitter=taesiri&limit=100")
    ours = response.json()
    assert set(_ids(ours)) == theirs and response.headers["X-Total-Count"] == str(len(theirs))
    assert {e["paper"]["submittedOnDailyAt"][:7] for e in ours} == {"2026-07", "2026-08"}  # not only the latest
    assert get_json(web_client, "/api/daily_papers?submitter=nobody-xyz") == []


def test_paged_lists_say_the_total_and_link_the_next_page(web_client):
    first = web_client.get("/api/daily_papers?month=2026-08&limit=20")
    total = int(first.headers["X-Total-Count"])
    assert first.headers["Link"].startswith("<http") and "p=1" in first.headers["Link"]
    last = web_client.get(f"/api/daily_papers?month=2026-08&limit=20&p={(total - 1) // 20}")
    assert "Link" not in last.headers and last.headers["X-Total-Count"] == str(total)
    papers = web_client.get("/api/papers?limit=10")
    assert "Link" in papers.headers and int(papers.headers["X-Total-Count"]) > 10
    found = web_client.get("/api/papers/search?q=model&limit=5&mode=keyword")
    assert "Link" in found.headers and int(found.headers["X-Total-Count"]) > 5
    assert "Link" in first.headers["Access-Control-Expose-Headers"]


def test_dates_as_hf_takes_them(web_client):
    day = get_json(web_client, f"/api/daily_papers?date={LATEST}")
    assert get_json(web_client, f"/api/daily_papers?date={LATEST}T00:00:00.000Z") == day  # a full ISO datetime
    assert get_json(web_client, f"/api/daily_papers?date={LATEST}T23:30:00-05:00") == []  # the 22nd in UTC
    assert "future" in assert_error(web_client, "/api/daily_papers?date=2199-12-01", 400)
    assert "future" in assert_error(web_client, "/api/daily_papers?month=2199-11", 400)
    assert_error(web_client, f"/api/daily_papers?date={LATEST}T25:00:00Z", 400)


def _get_routes(web_client) -> list[str]:
    doc = get_json(web_client, "/openapi.json")
    return [path.replace("{arxiv_id}", TOP_ID) for path, ops in doc["paths"].items() if "get" in ops]


def test_head_works_on_every_get_route(web_client):
    for url in [*_get_routes(web_client), "/", f"/papers/{TOP_ID}", "/api/nothing-here"]:
        get, head = web_client.get(url), web_client.head(url)
        assert head.status_code == get.status_code, (url, head.status_code, get.status_code)
        assert head.content == b"" and head.headers["content-type"] == get.headers["content-type"], url
        if "x-total-count" in get.headers:
            assert head.headers["x-total-count"] == get.headers["x-total-count"], url


def test_cors_preflight_on_every_api_get_route(web_client):
    preflight = {"Origin": "https://example.org", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "authorization"}
    for url in _get_routes(web_client):
        response = web_client.options(url, headers=preflight)
        assert response.status_code == 200, (url, response.status_code, response.text[:200])
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "GET" in response.headers["Access-Control-Allow-Methods"]
        assert "Access-Control-Allow-Credentials" not in response.headers
    refused = web_client.options(f"/api/papers/{TOP_ID}/vote", headers={**preflight,
                                                                        "Access-Control-Request-Method": "POST"})
    assert refused.status_code == 400  # writes are not offered to other sites
    simple = web_client.get("/api/daily_papers", headers={"Origin": "https://example.org"})
    assert simple.headers["Access-Control-Allow-Origin"] == "*"


# -- the data kept whole, linked repositories (issue 15, items 5 and 6) ---------------------------


def _assert_same_fields(ours: dict, theirs: dict, absent: set[str], where: str) -> None:
    """Every value HF gave is ours too; a key HF uses elsewhere but left out here is absent."""
    for key, value in theirs.items():
        assert key in ours and ours[key] == value, (where, key, ours.get(key), value)
    leaked = (absent - set(theirs)) & set(ours)
    assert not leaked, (where, leaked)


def test_ten_recorded_days_come_back_field_by_field(web_client):
    entry_keys, paper_keys = key_universe(HF_DAYS)
    days = recorded_days(HF_DAYS)[1::3]  # ten days (the first also holds the test's hostile paper)
    assert len(days) == 10
    for day, theirs in days:
        ours = {e["paper"]["id"]: e for e in get_json(web_client, f"/api/daily_papers?date={day}&limit=100")}
        assert len(ours) == len(theirs), day
        for entry in theirs:
            mine = ours[entry["paper"]["id"]]
            where = f"{day} {entry['paper']['id']}"
            _assert_same_fields(mine["paper"], entry["paper"], paper_keys, where)
            _assert_same_fields({k: v for k, v in mine.items() if k != "paper"},
                                {k: v for k, v in entry.items() if k != "paper"}, entry_keys - {"paper"}, where)


def test_a_paper_keeps_what_hf_gave(web_client):
    day, entries = recorded_days(HF_DAYS)[-1]
    theirs = next(e for e in entries if e["paper"]["id"] == TOP_ID)["paper"]
    paper = get_json(web_client, f"/api/papers/{TOP_ID}")
    _assert_same_fields(paper, theirs, key_universe(HF_DAYS)[1], TOP_ID)
    claimed = next(e["paper"] for _, entries in recorded_days(HF_DAYS) for e in entries
                   if any("user" in a for a in e["paper"]["authors"]))
    assert get_json(web_client, f"/api/papers/{claimed['id']}")["authors"] == claimed["authors"]


def test_linked_repositories(web_client):
    model = get_json(web_client, "/api/arxiv/2607.13639/repos")
    assert model["models"] == [{"id": "ATH-MaaS/OvisOCR2", "author": "ATH-MaaS",
                                "url": "https://huggingface.co/ATH-MaaS/OvisOCR2", "source": "abstract"}]
    assert model["datasets"] == model["spaces"] == []
    dataset = get_json(web_client, "/api/arxiv/2607.23242/repos")
    assert [d["id"] for d in dataset["datasets"]] == ["LingoIITGN/IndicTalk"] and dataset["models"] == []
    assert get_json(web_client, f"/api/arxiv/{TOP_ID}/repos") == {"models": [], "datasets": [], "spaces": []}
    assert get_json(web_client, "/api/arxiv/2401.99999/repos") == {"models": [], "datasets": [], "spaces": []}
    assert_error(web_client, "/api/arxiv/not-a-paper/repos", 400)
    paper = get_json(web_client, "/api/papers/2607.13639")
    assert [m["id"] for m in paper["linkedModels"]] == ["ATH-MaaS/OvisOCR2"] and paper["numTotalModels"] == 1
    assert paper["linkedDatasets"] == paper["linkedSpaces"] == [] and paper["numTotalDatasets"] == 0


def test_hf_json_is_served_with_local_counts_and_without_urls_that_run_script():
    entry = {"paper": {"id": "2401.00001", "title": "A  title", "summary": "An\nabstract.", "upvotes": 3,
                       "authors": [{"name": "Ann", "user": {"user": "ann", "avatarUrl": "javascript:alert(1)"}}],
                       "projectPage": " JaVaScRiPt:alert(2)", "githubRepo": "https://github.com/a/b"},
             "title": "A  title", "publishedAt": "2024-01-01T00:00:00.000Z", "numComments": 2,
             "thumbnail": "java\tscript:alert(3)",
             "mediaUrls": ["https://cdn.example/x.mp4", "data:text/html,<b>x</b>", "\x01javascript:alert(4)"],
             "submittedBy": {"name": "ann", "avatarUrl": "/avatars/ann.svg"}}
    daily = DailyEntry("2401.00001", dt.date(2024, 1, 1), upvotes=3, num_comments=2, source_json=json.dumps(entry))
    paper = Paper("2401.00001", "A title", "An abstract.")
    out = views.daily_object(Listed(paper, daily), Overlay(votes={"2401.00001": 4}, comments={"2401.00001": 1}))
    assert out["paper"]["title"] == out["title"] == "A  title" and out["paper"]["summary"] == "An\nabstract."
    assert out["paper"]["upvotes"] == 7 and out["paper"]["importedUpvotes"] == 3 and out["numComments"] == 3
    assert out["mediaUrls"] == ["https://cdn.example/x.mp4"] and "thumbnail" not in out
    assert out["submittedBy"]["avatarUrl"] == "/avatars/ann.svg"  # a path on HF's site, as HF gave it
    assert "projectPage" not in out["paper"] and out["paper"]["githubRepo"] == "https://github.com/a/b"
    assert out["paper"]["authors"] == [{"name": "Ann", "user": {"user": "ann"}}]
    assert "script" not in json.dumps(out).lower() and "data:" not in json.dumps(out)
