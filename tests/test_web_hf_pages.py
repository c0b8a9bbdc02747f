"""Pages where a Hugging Face Papers reader expects them (issue 15): the subscribe call on the
daily lists, trending across days and within a day, HF's URL forms, and counts that agree."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from dailypapers import ranking
from dailypapers.store.lists import period_rows

LATEST = "2026-08-21"


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
    assert web_client.get("/papers?week=2026-W34", follow_redirects=False).headers["location"] == "/papers/week/2026-W34"
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
