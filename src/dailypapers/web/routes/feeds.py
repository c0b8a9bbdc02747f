"""RSS 2.0 and Atom feeds of every list (`.rss` or `.atom` on each path):

    /feeds/daily  /feeds/weekly  /feeds/monthly        the latest day, week, month (by upvotes)
    /feeds/trending                                    the latest week, by the trending score
    /feeds/date/2026-08-21  /feeds/week/2026-W34  /feeds/month/2026-08    one period
    /feeds/search?q=…&author=…&category=…              any keyword search, newest first
    /feeds/searches/<token>                            a saved search (private token)
    /feeds/collections/<id>                            a public collection
    /feeds/for-you/<token>                             a member's recommendations (private token)

Links are absolute (settings.public_url, else the address the request came to). Private feeds
answer 404 for an unknown token and are marked `Cache-Control: private` and noindex.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from dailypapers.community import lists
from dailypapers.delivery import alerts, recommend
from dailypapers.delivery.links import absolute, base_url
from dailypapers.errors import IndexUnavailable, NotFound
from dailypapers.models import DailyEntry, Paper
from dailypapers.search.keyword import MISSING
from dailypapers.search.query import MAX_QUERY_LENGTH
from dailypapers.store import Store
from dailypapers.store.repo import Listed
from dailypapers.web import deps
from dailypapers.web.render import periods
from dailypapers.web.render.feedxml import FORMATS, Entry, Feed, render

router = APIRouter(include_in_schema=False)

Fmt = Literal["rss", "atom"]
SIZE = 30
LATEST = {"daily": "date", "weekly": "week", "monthly": "month"}


def _base(request: Request) -> str:
    return base_url(deps.settings(request), str(request.base_url))


def _when(paper: Paper, entry: DailyEntry | None) -> dt.datetime:
    if entry is not None:
        if entry.submitted_at is not None:
            return entry.submitted_at
        return dt.datetime.combine(entry.date, dt.time(), dt.timezone.utc)
    return paper.published or dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def _entry(base: str, paper: Paper, entry: DailyEntry | None, upvotes: int | None = None,
           why: list[str] | None = None) -> Entry:
    url = absolute(base, f"/papers/{paper.arxiv_id}")
    parts = []
    if why:
        parts.append("Why: " + "; ".join(why))
    if upvotes is not None:
        parts.append(f"{upvotes:,} upvotes")
    parts.append(" ".join((paper.abstract or "").split()))
    return Entry(id=url, title=" ".join(paper.title.split()), link=url, published=_when(paper, entry),
                 summary="\n\n".join(parts), authors=[a.name for a in paper.authors[:20]],
                 categories=list(paper.categories[:5]))


def _entries(request: Request, store: Store, items: list[Listed], why: dict[str, list[str]] | None = None,
             *, by_publication: bool = False) -> list[Entry]:
    """Feed entries, dated by when each paper joined its list (or, `by_publication`, by its arXiv
    publication date: search feeds, whose order is newest published first)."""
    base = _base(request)
    ids = [i.paper.arxiv_id for i in items]
    latest = store.latest_entries([i for i, item in zip(ids, items, strict=True) if item.entry is None])
    local = store.votes.counts(ids)
    out = []
    for item in items:
        pid = item.paper.arxiv_id
        entry = item.entry or latest.get(pid)
        upvotes = (entry.upvotes if entry else 0) + local.get(pid, 0)
        out.append(_entry(base, item.paper, None if by_publication else entry, upvotes, (why or {}).get(pid)))
    return out


def _respond(request: Request, feed: Feed, fmt: str, *, private: bool = False) -> Response:
    headers = {"Cache-Control": "private, max-age=300" if private else "public, max-age=600"}
    if private:
        headers["X-Robots-Tag"] = "noindex"
    return Response(render(feed, fmt), media_type=FORMATS[fmt], headers=headers)


def _self(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return absolute(_base(request), request.url.path) + query


def _period_feed(request: Request, period: periods.Period, fmt: str, sort: str = "upvotes",
                 title: str | None = None) -> Response:
    store = deps.store(request)
    page = lists.daily(store, period.start, period.end, sort=sort, limit=SIZE, now=deps.now(request))
    why = None
    if sort == "trending":
        why = {pid: [f"trending score {e.sentence()}"] for pid, e in page.extra.get("scores", {}).items()}
    feed = Feed(title=title or f"Daily Papers – {period.label}", link=absolute(_base(request), period.path),
                self_url=_self(request), description=f"The papers of {period.label} on dailypapers, "
                f"{'by the trending score' if sort == 'trending' else 'most upvoted first'}.",
                entries=_entries(request, store, page.items, why))
    return _respond(request, feed, fmt)


def _latest(request: Request, kind: str) -> periods.Period:
    latest = deps.store(request).latest_date() or deps.now(request).date()
    return {"date": periods.day, "week": periods.week_of, "month": periods.month_of}[kind](latest)


@router.get("/feeds/trending.{fmt}")
def trending(request: Request, fmt: Fmt) -> Response:
    return _period_feed(request, _latest(request, "week"), fmt, "trending", "Trending on dailypapers")


@router.get("/feeds/search.{fmt}")
def search(request: Request, fmt: Fmt, q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
           author: Annotated[str, Query(max_length=200)] = "", category: Annotated[str, Query(max_length=64)] = "",
           mode: Annotated[Literal["keyword", "hybrid", "semantic"], Query()] = "keyword") -> Response:
    saved = _AdHoc(q, author, category, mode)
    alerts.parsed(q, author, category)  # InvalidQuery (400) for an empty or bad search
    described = alerts.describe(saved)
    return _search_feed(request, saved, fmt, f"dailypapers search: {described}", described, private=False)


class _AdHoc:
    def __init__(self, query: str, author: str, category: str, mode: str = "keyword") -> None:
        self.query, self.author, self.category, self.mode = query, author, category, mode


def _search_feed(request: Request, saved: alerts.Search, fmt: str, title: str, described: str, *,
                 private: bool) -> Response:
    store = deps.store(request)
    index = deps.keyword_index(request)
    if index is None:  # not built yet or deleted: 503 (an empty feed would tell readers "nothing new")
        raise IndexUnavailable(MISSING)
    ids = alerts.feed_ids(index, saved, service=deps.search_service(request), store=store)
    papers = store.papers_by_ids(ids)
    items = [Listed(papers[i]) for i in ids if i in papers]
    link = absolute(_base(request), "/search?" + request.url.query) if not private else absolute(_base(request),
                                                                                                 "/searches")
    feed = Feed(title=title, link=link, self_url=_self(request),
                description=f"New papers matching {described}, newest first.",
                entries=_entries(request, store, items, by_publication=True))
    return _respond(request, feed, fmt, private=private)


@router.get("/feeds/searches/{token}.{fmt}")
def saved_search(request: Request, token: str, fmt: Fmt) -> Response:
    saved = deps.store(request).saved_searches.by_feed_token(token)
    if saved is None:
        raise NotFound("no saved search has this feed address")
    return _search_feed(request, saved, fmt, f"dailypapers alert: {saved.name}", alerts.describe(saved), private=True)


@router.get("/feeds/collections/{cid:id}.{fmt}")
def collection(request: Request, cid: int, fmt: Fmt) -> Response:
    store = deps.store(request)
    try:
        found = store.collections.get(cid)
    except NotFound:
        found = None
    if found is None or not found.is_public:
        raise NotFound(f"no public collection {cid}")
    ids = list(reversed(store.collections.paper_ids(cid)))  # the latest additions first
    papers = store.papers_by_ids(ids)
    items = [Listed(papers[i]) for i in ids if i in papers]
    feed = Feed(title=f"{found.name} – a collection by @{found.owner}", link=absolute(_base(request),
                f"/collections/{cid}"), self_url=_self(request),
                description=found.description or f"Papers collected by @{found.owner} on dailypapers.",
                entries=_entries(request, store, items), updated=found.updated_at)
    return _respond(request, feed, fmt)


@router.get("/feeds/for-you/{token}.{fmt}")
def for_you(request: Request, token: str, fmt: Fmt) -> Response:
    store = deps.store(request)
    user_id = store.feed_tokens.user_for(token)
    user = store.accounts.get(user_id) if user_id is not None else None
    if user is None:
        raise NotFound("no recommendations feed has this address")
    sub = store.subscriptions.for_user(user.id)
    ranking, _ = recommend.for_member(store, user.id, deps.now(request), sub.frequency if sub else "weekly",
                                      index=deps.keyword_index(request), limit=SIZE)
    papers = store.papers_by_ids(ranking.ids)
    items = [Listed(papers[r.paper_id]) for r in ranking.items if r.paper_id in papers]
    feed = Feed(title=f"dailypapers: recommended for @{user.username}", link=absolute(_base(request), "/for-you"),
                self_url=_self(request), description=ranking.note(),
                entries=_entries(request, store, items, {r.paper_id: r.reasons for r in ranking.items}))
    return _respond(request, feed, fmt, private=True)


@router.get("/feeds/{kind}/{slug}.{fmt}")
def period(request: Request, kind: Literal["date", "week", "month"], slug: str, fmt: Fmt) -> Response:
    return _period_feed(request, periods.parse(kind, slug), fmt)


@router.get("/feeds/{name}.{fmt}")
def latest(request: Request, name: Literal["daily", "weekly", "monthly"], fmt: Fmt) -> Response:
    kind = LATEST[name]
    return _period_feed(request, _latest(request, kind), fmt,
                        title=f"Daily Papers – the latest {'day' if kind == 'date' else kind}")
