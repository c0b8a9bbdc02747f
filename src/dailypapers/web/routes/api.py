"""The JSON API, compatible with the Hugging Face papers API (same paths, parameters, field names)."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from dailypapers import ids
from dailypapers.community import lists
from dailypapers.errors import IndexUnavailable, InvalidDate, InvalidQuery
from dailypapers.models import Paper
from dailypapers.search import suggest
from dailypapers.search.keyword import MISSING, RANK_DEPTH, KeywordIndex
from dailypapers.search.query import parse_query
from dailypapers.search.service import Results
from dailypapers.store.repo import Listed, Store
from dailypapers.web import deps
from dailypapers.web.render import overlay, periods, views
from dailypapers.web.schemas import (
    ERRORS,
    DailyPaperOut,
    ErrorOut,
    LinkedReposOut,
    PaperInfoOut,
    PaperOut,
    SearchResultOut,
    SimilarOut,
)

router = APIRouter(prefix="/api", tags=["papers"], responses=ERRORS)

Limit = Annotated[int, Query(ge=1, le=100, description="Items per page (at most 100).")]
SearchLimit = Annotated[int, Query(ge=1, le=120, description="Items per page (at most 120, as on Hugging Face).")]
# No sort: HF's order (upvotes, then the entry's publishedAt, newest first). `sort=trending` is the
# documented, time-decayed score of ranking.py (see /about/ranking).
SORTS = {None: "upvotes", "publishedAt": "date", "trending": "trending"}
PAGE_HEADERS = {
    "X-Total-Count": {"description": "Items in the whole list, all pages.",
                      "schema": {"type": "integer", "minimum": 0}},
    "Link": {"description": '`<URL>; rel="next"` while there are more pages.',
             "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'}},
}
SUGGESTIONS_HEADER = "X-Search-Suggestions"
UNAVAILABLE: dict[int | str, dict] = {503: {"model": ErrorOut, "description": "The keyword index is not on this "
                                         "server at the moment (a new node, or an index being rebuilt); see "
                                         "Retry-After."}}


@router.get("/daily_papers", response_model=list[DailyPaperOut], summary="Papers on the daily list",
            response_description="A page of a period's list, or without a period of every day's list, newest day "
                                 "first.",
            responses={200: {"headers": PAGE_HEADERS}})
def daily_papers(
    request: Request,
    date: Annotated[str | None, Query(description="A day, YYYY-MM-DD (a full ISO datetime names its day in UTC); "
                                                  "not in the future.")] = None,
    week: Annotated[str | None, Query(description="An ISO week, YYYY-Www (e.g. 2025-W09).")] = None,
    month: Annotated[str | None, Query(description="A month, YYYY-MM.")] = None,
    submitter: Annotated[str | None, Query(description="Only papers submitted by this user name; without a period, "
                                                       "the member's whole history.")] = None,
    sort: Annotated[Literal["publishedAt", "trending"] | None,
                    Query(description="Default (as on Hugging Face): upvotes, highest first, ties by the entry's "
                                      "publishedAt, newest first; without a period each day in turn, newest day "
                                      "first. publishedAt: newest arXiv publication first. trending: the trending "
                                      "score, (imported + local upvotes) / (age in hours + 2) ^ 1.8, explained at "
                                      "/about/ranking (without a period: over the last "
                                      f"{lists.FEED_TRENDING_DAYS} days).")] = None,
    p: Annotated[int, Query(ge=0, le=100_000, description="Page index, from 0; without a period it pages back "
                                                          "through earlier days.")] = 0,
    limit: Limit = 50,
) -> Response:
    store = deps.store(request)
    period = _period(date, week, month, deps.now(request).date())
    options: dict[str, Any] = {"sort": SORTS[sort], "submitter": submitter, "offset": p * limit, "limit": limit,
                               "now": deps.now(request)}
    page = (lists.feed(store, **options) if period is None
            else lists.daily(store, period.start, period.end, **options))
    return _json(_daily_objects(request, page.items), _page_headers(request, page.total, p, limit))


def _period(date: str | None, week: str | None, month: str | None, today: dt.date) -> periods.Period | None:
    given = [(kind, value) for kind, value in (("date", date), ("week", week), ("month", month)) if value]
    if len(given) > 1:
        raise InvalidDate("give only one of date, week and month")
    if not given:
        return None
    kind, raw = given[0]
    period = periods.parse(kind, day_of(raw) if kind == "date" else raw)
    if period.start > today:
        raise InvalidDate(f"{raw[:40]!r} is in the future: the newest list is today's ({today.isoformat()})")
    return period


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ].")


def day_of(raw: str) -> str:
    """The day a full ISO datetime names, in UTC (`2025-03-14T00:00:00.000Z`, as HF writes its
    timestamps, is 2025-03-14); anything else unchanged, for periods.parse to judge."""
    raw = raw.strip()
    if not _DATETIME.match(raw):
        return raw
    try:
        when = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidDate(f"{raw[:40]!r} is not a date (YYYY-MM-DD) or an ISO datetime") from None
    return (when.astimezone(dt.UTC) if when.tzinfo else when).date().isoformat()


@router.get("/papers/search", response_model=list[SearchResultOut], summary="Search papers (hybrid by default)",
            response_description="A page of the query's ranked list (at most 1,000 papers, the same on every "
                                 "page and node).",
            responses={**UNAVAILABLE, 200: {"headers": {
                "X-Total-Count": {"description": "Papers in the ranked list, all pages (at most 1,000).",
                                  "schema": {"type": "integer", "minimum": 0}},
                "Link": {"description": '`<URL>; rel="next"` while there are more pages.',
                         "schema": {"type": "string", "pattern": '^<[^>]+>; rel="next"$'}},
                SUGGESTIONS_HEADER: {"description": "Only when there is something to suggest: a JSON object "
                                     "with `didYouMean` (the query with its unknown words spelled as the index "
                                     "knows them) and/or `missingIds` (arXiv ids the query named that this "
                                     "site does not hold).",
                                     "schema": {"type": "string"}}}}})
def search_papers(
    request: Request,
    q: Annotated[str | None, Query(description="Words, \"phrases\", author:, cat:, from:, to: (2,000 chars max).")]
    = None,
    mode: Annotated[Literal["hybrid", "keyword", "semantic"],
                    Query(description="hybrid fuses the keyword (BM25) and semantic (embedding) rankings.")]
    = "hybrid",
    p: Annotated[int, Query(ge=0, le=999, description="Page index, from 0.")] = 0,
    limit: SearchLimit = 50,
) -> Response:
    store = deps.store(request)
    if not q or not q.strip():
        papers, _ = store.paper_cursor(None, limit)
        return _json(_daily_objects(request, _listed(store, papers)))
    parse_query(q)  # a malformed query is a 400 before anything else
    service = deps.search_service(request)
    if service is None:
        raise IndexUnavailable(MISSING)
    if p * limit >= RANK_DEPTH:
        raise InvalidQuery(f"search pages only through the first {RANK_DEPTH} results")
    found = service.search(q, mode, offset=p * limit, limit=limit)
    by_id = store.papers_by_ids(found.ids)
    objects = {o["paper"]["id"]: o for o in _daily_objects(request, _listed(store, [by_id[i] for i in found.ids
                                                                                    if i in by_id]))}
    headers = _page_headers(request, found.total, p, limit)
    suggestions = _search_suggestions(service.keyword, q, found)
    if suggestions:
        headers[SUGGESTIONS_HEADER] = json.dumps(suggestions, ensure_ascii=True, separators=(",", ":"))
    return _json([{**objects[r.arxiv_id], "score": r.score, "explanation": r.explanation.as_dict(),
                   "notice": found.notice} for r in found.results if r.arxiv_id in objects], headers)


def _search_suggestions(index: KeywordIndex, q: str, found: Results) -> dict[str, Any]:
    """What the search page offers beside its results, for the X-Search-Suggestions header:
    `didYouMean` (the query with the words the index does not know spelled as it knows them) and
    `missingIds` (arXiv ids the query named that this site does not hold); empty when neither."""
    out: dict[str, Any] = {}
    if found.used_mode != "id":
        fix = suggest.did_you_mean(index, q, found.parsed or parse_query(q))
        if fix:
            out["didYouMean"] = fix
    if found.missing_ids:
        out["missingIds"] = list(found.missing_ids)
    return out


@router.get("/papers/{arxiv_id:path}/similar", response_model=list[SimilarOut], summary="Papers similar to one",
            responses=UNAVAILABLE)
def similar_papers(request: Request, arxiv_id: str, limit: Limit = 10) -> Response:
    store = deps.store(request)
    paper = store.get_paper(ids.normalize(arxiv_id))
    service = deps.search_service(request)
    if service is None:
        raise IndexUnavailable(MISSING)
    similar, _notice = service.similar(paper.arxiv_id, k=limit)
    found = store.papers_by_ids([s.arxiv_id for s in similar])
    listed = {item.paper.arxiv_id: item for item in _listed(store, list(found.values()))}
    extra = overlay.load(request, list(listed))
    return _json([{"paper": views.paper_object(listed[s.arxiv_id].paper, listed[s.arxiv_id].entry, extra),
                   "similarity": s.similarity, "source": s.source} for s in similar if s.arxiv_id in listed])


def _page_headers(request: Request, total: int, p: int, limit: int) -> dict[str, str]:
    """X-Total-Count, and the Hub's `Link: <…>; rel="next"` while more pages follow."""
    headers = {"X-Total-Count": str(total)}
    if (p + 1) * limit < total:
        headers["Link"] = f'<{request.url.include_query_params(p=p + 1, limit=limit)}>; rel="next"'
    return headers


def _json(content: Any, headers: dict[str, str] | None = None) -> JSONResponse:
    """The answer as built, not passed through the response model: the model documents the
    fields, and an HF entry keeps every field it came with (and leaves out those it lacks)."""
    return JSONResponse(content, headers=headers)


def _daily_objects(request: Request, items: list[Listed]) -> list[dict]:
    extra = overlay.load(request, [item.paper.arxiv_id for item in items])
    return [views.daily_object(item, extra) for item in items]


@router.get("/papers", response_model=list[PaperOut], summary="Every paper, newest id first",
            response_description='A page of papers; the `Link: <...>; rel="next"` header gives the next page.',
            responses={200: {"headers": PAGE_HEADERS}})
def list_papers(
    request: Request,
    cursor: Annotated[str | None, Query(max_length=64, description="From a previous page's Link header.")] = None,
    limit: Limit = 50,
) -> Response:
    store = deps.store(request)
    papers, next_cursor = store.paper_cursor(cursor, limit)
    headers = {"X-Total-Count": str(store.paper_total())}
    if next_cursor:
        headers["Link"] = f'<{request.url.include_query_params(cursor=next_cursor, limit=limit)}>; rel="next"'
    extra = overlay.load(request, [p.arxiv_id for p in papers])
    return _json([views.paper_object(item.paper, item.entry, extra) for item in _listed(store, papers)], headers)


@router.get("/arxiv/{arxiv_id:path}/repos", response_model=LinkedReposOut,
            summary="Hugging Face models, datasets and Spaces linked to a paper")
def linked_repos(request: Request, arxiv_id: str) -> Response:
    """From the links the paper's sources carry (HF data, the abstract, the comments); empty lists
    for a paper without any, and for a well-formed id this site does not hold."""
    found = deps.store(request).papers_by_ids([ids.normalize(arxiv_id)])
    paper = next(iter(found.values()), None)
    return _json(views.linked_repos(paper) if paper else {"models": [], "datasets": [], "spaces": []})


@router.get("/papers/{arxiv_id:path}", response_model=PaperInfoOut, summary="One paper")
def paper(request: Request, arxiv_id: str) -> Response:
    store = deps.store(request)
    paper = store.get_paper(ids.normalize(arxiv_id))
    entries = store.entries_for(paper.arxiv_id)
    return _json(views.paper_object(paper, entries[-1] if entries else None, overlay.load(request, [paper.arxiv_id]),
                                    repos=True))


def _listed(store: Store, papers: Sequence[Paper]) -> list[Listed]:
    entries = store.latest_entries([p.arxiv_id for p in papers])
    return [Listed(p, entries.get(p.arxiv_id)) for p in papers]
