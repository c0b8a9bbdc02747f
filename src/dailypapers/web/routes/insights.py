"""The stats page (papers and votes per day, top categories) and the About ranking page."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dailypapers import ranking
from dailypapers.community import lists
from dailypapers.store.lists import entries_per_day
from dailypapers.web import deps
from dailypapers.web.render import charts, views
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False)
DAYS = 60


def _series(counts: dict[dt.date, int], end: dt.date, days: int = DAYS) -> list[tuple[str, int]]:
    start = end - dt.timedelta(days=days - 1)
    return [((start + dt.timedelta(days=i)).strftime("%m-%d"), counts.get(start + dt.timedelta(days=i), 0))
            for i in range(days)]


@router.get("/stats")
def stats(request: Request) -> Response:
    store = deps.store(request)
    today = deps.now(request).date()
    last_list = store.latest_date() or today
    papers = _series(entries_per_day(store, last_list - dt.timedelta(days=DAYS - 1), last_list), last_list)
    votes = _series(store.votes.per_day(today - dt.timedelta(days=DAYS - 1), today), today)
    categories = store.top_categories(12)
    return render(
        request, "stats.html", nav_section="stats",
        papers_chart=charts.bars(f"Papers on the daily list per day, {DAYS} days to {last_list}", papers, 10),
        votes_chart=charts.bars(f"Local upvotes per day, {DAYS} days to {today}", votes, 10),
        categories_chart=charts.hbars("Top categories (papers)", categories) if categories else None,
        counts=store.counts(), members=store.accounts.count(), local_votes=store.votes.total(),
        last_list=last_list, today=today,
    )


@router.get("/about/ranking")
def about_ranking(request: Request) -> Response:
    store = deps.store(request)
    latest = store.latest_date()
    example = None
    if latest:
        top = lists.daily(store, latest, latest, sort="trending", limit=3, now=deps.now(request))
        example = [{"id": item.paper.arxiv_id, "title": item.paper.title, "url": views.paper_url(item.paper.arxiv_id),
                    "explanation": top.extra["scores"][item.paper.arxiv_id]} for item in top.items]
    return render(request, "ranking.html", formula=ranking.FORMULA, gravity=ranking.GRAVITY,
                  offset=ranking.OFFSET_HOURS, example=example, latest=latest, nav_section="about")
