"""Pages where a Hugging Face Papers reader expects them (issue 15): the subscribe call on the
daily lists, trending across days and within a day, HF's URL forms, and counts that agree."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qsl, urlsplit

import pytest
from bs4 import BeautifulSoup
from sources_helpers import FIXTURES, ReplayServer, Reply
from support.community import make_app
from support.databases import copy_data_dir

from dailypapers import ranking
from dailypapers.errors import NotFound
from dailypapers.store.lists import period_rows

LATEST = "2026-08-21"
KNOWN = "1707.08567"  # in the recorded arXiv API answers
UNKNOWN = "2401.99999"  # well formed; answered with arXiv's recorded answer for an id it does not know
NOBODY_KNOWS = "0808.05394"


def page(client, url: str, status: int = 200) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:300])
    return BeautifulSoup(response.text, "html.parser")


def card_ids(soup: BeautifulSoup) -> list[str]:
    return [c["data-id"] for c in soup.select("article.card")]


# -- item 13: subscribe where HF puts it -------------------------------------------------


@pytest.mark.parametrize("url", ["/", f"/papers/date/{LATEST}", "/papers/week/2026-W34", "/papers/month/2026-08"])
def test_daily_lists_link_to_the_subscribe_form(web_client, url):
    soup = page(web_client, url)
    cta = soup.select_one("main a[href='/subscribe']") or soup.select_one("a[data-testid=subscribe-cta]")
    assert cta is not None and cta.get_text(strip=True) == "Get trending papers in your email inbox"
    assert cta["href"] == "/subscribe"
    assert page(web_client, cta["href"]).select_one("form#subscribe-form") is not None


# -- item 9: trending that moves, and HF's URL forms ------------------------------------


def _scores(store, start: dt.date, end: dt.date) -> dict[str, ranking.Explanation]:
    """Each listed paper's trending score, recomputed here from the stored rows (ranking.py)."""
    reference = ranking.reference_time(end, dt.datetime.now(dt.timezone.utc))
    return {r.entry.arxiv_id: ranking.explain(r.entry.upvotes, r.local_votes,
                                              ranking.listed_at(r.entry.date, r.entry.submitted_at, r.published),
                                              reference)
            for r in period_rows(store, start, end)}


def test_trending_page_ranks_papers_across_days(web_client, web_store):
    latest = web_store.latest_date()
    soup = page(web_client, "/papers/trending")
    assert soup.h1.get_text(strip=True) == "Trending papers"
    ids = card_ids(soup)
    scores = _scores(web_store, latest - dt.timedelta(days=29), latest)
    assert ids and set(ids) <= set(scores)
    shown = [scores[i].score for i in ids]
    assert shown == sorted(shown, reverse=True)
    assert ids[0] == max(scores, key=lambda i: (scores[i].score, scores[i].votes))
    days = {e.date for e in web_store.latest_entries(ids).values()}
    assert len(days) > 1, days  # not one day's list
    assert page(web_client, "/").select_one("a[href='/papers/trending']") is not None


def test_trending_on_one_day_is_not_the_vote_order(web_client, web_store):
    day = web_store.latest_date()
    scores = _scores(web_store, day, day)
    assert len({s.listed_at for s in scores.values()}) > 1  # the papers of the day differ in age
    trending = card_ids(page(web_client, f"/papers/date/{day}?sort=trending"))
    by_votes = card_ids(page(web_client, f"/papers/date/{day}?sort=upvotes"))
    assert sorted(trending) == sorted(by_votes) and trending != by_votes
    shown = [scores[i].score for i in trending]
    assert shown == sorted(shown, reverse=True)
    expected_first = max(scores, key=lambda i: (scores[i].score, scores[i].votes))
    assert trending[0] == expected_first


def test_hf_url_forms_work(web_client, web_store):
    day = web_store.latest_date().isoformat()
    direct = card_ids(page(web_client, f"/papers/date/{day}"))
    redirect = web_client.get(f"/papers?date={day}", follow_redirects=False)
    assert redirect.status_code == 307 and redirect.headers["location"] == f"/papers/date/{day}"
    assert card_ids(page(web_client, f"/papers?date={day}")) == direct
    assert card_ids(page(web_client, f"/papers?date={day}T12:00:00.000Z")) == direct
    sorted_ = web_client.get(f"/papers?date={day}&sort=trending", follow_redirects=False)
    assert sorted_.headers["location"] == f"/papers/date/{day}?sort=trending"
    week = web_client.get("/papers?week=2026-W34", follow_redirects=False)
    assert week.headers["location"] == "/papers/week/2026-W34"
    page(web_client, "/papers?date=2026-02-30", status=400)
    assert web_client.get("/papers", follow_redirects=False).headers["location"] == "/"
    page(web_client, "/papers/trending")


# -- item 12: counts that agree ---------------------------------------------------------


def test_paper_page_shows_the_hf_discussion_count_the_card_shows(web_client, web_store):
    day = web_store.latest_date()
    entries = web_store.daily(day, day, limit=100).items
    listed = next(i for i in entries if i.entry.num_comments > 0)  # a paper discussed on HF
    paper_id, hf_count = listed.paper.arxiv_id, listed.entry.num_comments
    card = page(web_client, f"/papers/date/{day}").select_one(f'article.card[data-id="{paper_id}"]')
    card_count = int(card.select_one("a[title=Comments]").get_text(strip=True))
    soup = page(web_client, f"/papers/{paper_id}")
    note = soup.select_one("#comments .hf-comments")
    local = len(soup.select("#comments article.comment"))
    assert int(note["data-hf-comments"]) == hf_count
    link = note.select_one("a")
    assert link["href"] == f"https://huggingface.co/papers/{paper_id}#community"
    assert link.get_text(strip=True).startswith(f"{hf_count} comment")
    assert card_count == hf_count + local
    assert f"{card_count} in all" in note.get_text()


# -- item 14: any arXiv paper on demand ---------------------------------------------------


def _arxiv_replay() -> ReplayServer:
    """The recorded arXiv API answers on loopback, chosen by id_list (never the network)."""
    answers = {}
    for meta in (FIXTURES / "arxiv-api-atom").glob("*.request.json"):
        request = json.loads(meta.read_text())
        query = dict(parse_qsl(urlsplit(request["url"]).query, keep_blank_values=True))
        body = meta.with_name(meta.name.replace(".request.json", ".xml")).read_bytes()
        answers[query.get("id_list", "")] = (request["status_code"], body)

    def route(path: str) -> Reply:
        query = dict(parse_qsl(urlsplit(path).query, keep_blank_values=True))
        wanted = NOBODY_KNOWS if query.get("id_list") == UNKNOWN else query.get("id_list", "")
        status, body = answers.get(wanted, (404, b"not recorded"))
        return Reply(status, body, content_type="application/atom+xml")

    return ReplayServer(route=route)


@pytest.fixture
def on_demand_site(web_data_dir, tmp_path):
    """The app on its own copy of the data with the recorded arXiv API; no spacing between requests."""
    from fastapi.testclient import TestClient

    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    with _arxiv_replay() as arxiv:
        app, store = make_app(data_dir, arxiv_api_url=arxiv.url + "/api/query", harvest_delay=0.0)
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client, store, arxiv
        store.close()


def test_a_paper_not_stored_is_fetched_from_arxiv_stored_and_shown(on_demand_site):
    client, store, arxiv = on_demand_site
    with pytest.raises(NotFound):
        store.get_paper(KNOWN)
    soup = page(client, f"/papers/{KNOWN}")
    assert soup.select_one("h1.paper-title").get_text(strip=True).startswith("Proceedings of Workshop AEW10")
    assert store.get_paper(KNOWN).title.startswith("Proceedings of Workshop AEW10")
    asked = len(arxiv.requests)
    page(client, f"/papers/{KNOWN}")  # stored now: arXiv is not asked again
    assert len(arxiv.requests) == asked


def test_an_id_arxiv_does_not_know_gets_a_clear_404_and_is_not_asked_twice(on_demand_site):
    client, store, arxiv = on_demand_site
    soup = page(client, f"/papers/{UNKNOWN}", status=404)
    assert "arXiv does not know it" in soup.select_one(".error-message").get_text()
    asked = len(arxiv.requests)
    page(client, f"/papers/{UNKNOWN}", status=404)
    assert len(arxiv.requests) == asked
    with pytest.raises(NotFound):
        store.get_paper(UNKNOWN)


def test_arxiv_unreachable_or_just_asked_gets_a_clear_page(web_data_dir, tmp_path):
    from fastapi.testclient import TestClient

    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    with ReplayServer() as gone:
        dead = gone.url + "/api/query"  # a port that nothing listens on once the server is closed
    app, store = make_app(data_dir, arxiv_api_url=dead, harvest_delay=3600.0)
    with TestClient(app, raise_server_exceptions=False) as client:
        soup = page(client, f"/papers/{KNOWN}", status=404)
        assert "arXiv could not be reached" in soup.select_one(".error-message").get_text()
        soup = page(client, "/papers/1605.08386", status=404)  # within the hour: not sent at all
        assert "try again in" in soup.select_one(".error-message").get_text()
    store.close()
