"""The JSON API, compatible with the Hugging Face papers API (same paths, parameters, field names)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from dailypapers import ids
from dailypapers.community import lists
from dailypapers.errors import IndexUnavailable, InvalidDate, InvalidQuery
from dailypapers.models import Paper
from dailypapers.search.keyword import MISSING, RANK_DEPTH
from dailypapers.search.query import parse_query
from dailypapers.store.repo import Listed, Store
from dailypapers.web import deps
from dailypapers.web.render import overlay, periods, views
from dailypapers.web.schemas import ERRORS, DailyPaperOut, ErrorOut, PaperOut, SearchResultOut, SimilarOut

router = APIRouter(prefix="/api", tags=["papers"], responses=ERRORS)

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (at most 100).")]
# `sort=trending` is the documented, time-decayed score of ranking.py (see /about/ranking).
SORTS = {"publishedAt": "date", "trending": "trending"}
UNAVAILABLE: dict[int | str, dict] = {503: {"model": ErrorOut, "description": "The keyword index is not on this "
                                         "server at the moment (a new node, or an index being rebuilt); see "
                                         "Retry-After."}}


@router.get("/daily_papers", response_model=list[DailyPaperOut], summary="Papers on the daily list",
            responses={200: {"headers": {"X-Total-Count": {
                "description": "Entries in the whole period (all pages); absent when no day has papers.",
                "schema": {"type": "integer", "minimum": 0}}}}})
def daily_papers(
    request: Request,
    response: Response,
    date: Annotated[str | None, Query(description="A day, YYYY-MM-DD. Default: the latest day with papers.")] = None,
    week: Annotated[str | None, Query(description="An ISO week, YYYY-Www (e.g. 2025-W09).")] = None,
    month: Annotated[str | None, Query(description="A month, YYYY-MM.")] = None,
    submitter: Annotated[str | None, Query(description="Only papers submitted by this user name.")] = None,
    sort: Annotated[Literal["publishedAt", "trending"],
                    Query(description="publishedAt: newest first; trending: the trending score, "
                                      "(imported + local upvotes) / (age in hours + 2) ^ 1.8, "
                                      "explained at /about/ranking.")] = "publishedAt",
    p: Annotated[int, Query(ge=0, le=100_000, description="Page index, from 0.")] = 0,
    limit: Limit = 50,
) -> list[dict]:
    store = deps.store(request)
    period = _period(date, week, month) or _latest(store)
    if period is None:
        return []
    page = lists.daily(store, period.start, period.end, sort=SORTS[sort], submitter=submitter,
                       offset=p * limit, limit=limit, now=deps.now(request))
    response.headers["X-Total-Count"] = str(page.total)
    extra = overlay.load(request, [item.paper.arxiv_id for item in page.items])
    return [views.daily_object(item, extra) for item in page.items]


def _period(date: str | None, week: str | None, month: str | None) -> periods.Period | None:
    given = [(kind, value) for kind, value in (("date", date), ("week", week), ("month", month)) if value]
    if len(given) > 1:
        raise InvalidDate("give only one of date, week and month")
    return periods.parse(*given[0]) if given else None


def _latest(store: Store) -> periods.Period | None:
    latest: dt.date | None = store.latest_date()
    return periods.day(latest) if latest else None


@router.get("/papers/search", response_model=list[SearchResultOut], summary="Search papers (hybrid by default)",
            response_description="A page of the query's ranked list (at most 1,000 papers, the same on every "
                                 "page and node).",
            responses={**UNAVAILABLE, 200: {"headers": {
                "X-Total-Count": {"description": "Papers in the ranked list, all pages (at most 1,000).",
                                  "schema": {"type": "integer", "minimum": 0}},
                "Link": {"description": '`<URL>; rel="next"` while there are more pages.',
                         "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'}}}}})
def search_papers(
    request: Request,
    response: Response,
    q: Annotated[str | None, Query(description="Words, \"phrases\", author:, cat:, from:, to: (500 chars max).")]
    = None,
    mode: Annotated[Literal["hybrid", "keyword", "semantic"],
                    Query(description="hybrid fuses the keyword (BM25) and semantic (embedding) rankings.")]
    = "hybrid",
    p: Annotated[int, Query(ge=0, le=999, description="Page index, from 0.")] = 0,
    limit: Limit = 50,
) -> list[dict]:
    store = deps.store(request)
    if not q or not q.strip():
        papers, _ = store.paper_cursor(None, limit)
        return _daily_objects(request, _listed(store, papers))
    parse_query(q)  # a malformed query is a 400 before anything else
    service = deps.search_service(request)
    if service is None:
        raise IndexUnavailable(MISSING)
    if p * limit >= RANK_DEPTH:
        raise InvalidQuery(f"search pages only through the first {RANK_DEPTH} results")
    found = service.search(q, mode, offset=p * limit, limit=limit)
    _page_headers(request, response, found.total, p, limit)
    by_id = store.papers_by_ids(found.ids)
    objects = {o["paper"]["id"]: o for o in _daily_objects(request, _listed(store, [by_id[i] for i in found.ids
                                                                                    if i in by_id]))}
    return [{**objects[r.arxiv_id], "score": r.score, "explanation": r.explanation.as_dict(), "notice": found.notice}
            for r in found.results if r.arxiv_id in objects]


@router.get("/papers/{arxiv_id:path}/similar", response_model=list[SimilarOut], summary="Papers similar to one",
            responses=UNAVAILABLE)
def similar_papers(request: Request, arxiv_id: str, limit: Limit = 10) -> list[dict]:
    store = deps.store(request)
    paper = store.get_paper(ids.normalize(arxiv_id))
    service = deps.search_service(request)
    if service is None:
        raise IndexUnavailable(MISSING)
    similar, _notice = service.similar(paper.arxiv_id, k=limit)
    found = store.papers_by_ids([s.arxiv_id for s in similar])
    return [{"paper": views.paper_object(found[s.arxiv_id], None), "similarity": s.similarity, "source": s.source}
            for s in similar if s.arxiv_id in found]


def _page_headers(request: Request, response: Response, total: int, p: int, limit: int) -> None:
    response.headers["X-Total-Count"] = str(total)
    if (p + 1) * limit < total:
        response.headers["Link"] = f'<{request.url.include_query_params(p=p + 1, limit=limit)}>; rel="next"'


def _daily_objects(request: Request, items: list[Listed]) -> list[dict]:
    extra = overlay.load(request, [item.paper.arxiv_id for item in items])
    return [views.daily_object(item, extra) for item in items]


@router.get("/papers", response_model=list[PaperOut], summary="Every paper, newest id first",
            response_description='A page of papers; the `Link: <...>; rel="next"` header gives the next page.',
            responses={200: {"headers": {"Link": {"description": '`<URL>; rel="next"` while there are more pages.',
                                                  "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'}}}}})
def list_papers(
    request: Request,
    response: Response,
    cursor: Annotated[str | None, Query(max_length=64, description="From a previous page's Link header.")] = None,
    limit: Limit = 50,
) -> list[dict]:
    store = deps.store(request)
    papers, next_cursor = store.paper_cursor(cursor, limit)
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor, limit=limit)
        response.headers["Link"] = f'<{url}>; rel="next"'
    extra = overlay.load(request, [p.arxiv_id for p in papers])
    return [views.paper_object(item.paper, item.entry, extra) for item in _listed(store, papers)]


@router.get("/papers/{arxiv_id:path}", response_model=PaperOut, summary="One paper")
def paper(request: Request, arxiv_id: str) -> dict:
    store = deps.store(request)
    paper = store.get_paper(ids.normalize(arxiv_id))
    entries = store.entries_for(paper.arxiv_id)
    return views.paper_object(paper, entries[-1] if entries else None, overlay.load(request, [paper.arxiv_id]))


def _listed(store: Store, papers: Sequence[Paper]) -> list[Listed]:
    entries = store.latest_entries([p.arxiv_id for p in papers])
    return [Listed(p, entries.get(p.arxiv_id)) for p in papers]
