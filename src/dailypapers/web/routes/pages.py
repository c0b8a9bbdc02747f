"""HTML pages: daily/weekly/monthly lists, paper pages (+ .md and .bib), authors, categories, search."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response

from dailypapers import ids, ranking
from dailypapers.community import lists, on_demand
from dailypapers.errors import IndexUnavailable, NotFound
from dailypapers.models import Paper
from dailypapers.search import lookup, suggest
from dailypapers.search.query import MAX_QUERY_LENGTH, parse_query
from dailypapers.store import Store
from dailypapers.store.repo import Listed, Page
from dailypapers.web import deps, sessions
from dailypapers.web.caching import wants_markdown
from dailypapers.web.render import listing, overlay, periods, views
from dailypapers.web.render.bibtex import to_bibtex
from dailypapers.web.render.markdown import to_markdown
from dailypapers.web.render.templating import render
from dailypapers.web.routes import community

router = APIRouter(include_in_schema=False)

PageNo = Annotated[int, Query(ge=1, le=10_000)]
ListSort = Annotated[Literal["upvotes", "trending", "date"], Query()]
CATEGORY = re.compile(r"[A-Za-z][A-Za-z-]*(?:\.[A-Za-z][A-Za-z-]*)?")
TRENDING_DAYS = 30  # /papers/trending ranks this many days' lists together
SEARCH_SORTS = {"relevance": "Best match", "date": "Newest"}


# -- daily lists -----------------------------------------------------------------------


@router.get("/")
def home(request: Request, sort: ListSort = "upvotes", page: PageNo = 1) -> Response:
    latest = deps.store(request).latest_date()
    if latest is None:
        return render(request, "daily.html", period=None, nav=None, cards=[], total=0, sorts=[],
                      pagination=None, home=True, nav_section="daily")
    return _period_page(request, periods.day(latest), sort, page, home=True)


@router.get("/papers")
def papers_root(request: Request, date: str | None = None, week: str | None = None,
                month: str | None = None) -> Response:
    """HF's `/papers?date=YYYY-MM-DD` (and week=, month=): the period's page; without one, the home page."""
    kind, slug = next(((k, v) for k, v in (("date", date), ("week", week), ("month", month)) if v), ("", ""))
    if not kind:
        return RedirectResponse("/", status_code=307)
    period = periods.parse(kind, slug[:10] if kind == "date" else slug)  # a full ISO datetime names its day
    rest = [(k, v) for k, v in request.query_params.multi_items() if k in ("sort", "page")]
    query = ("?" + urlencode(rest)) if rest else ""
    return RedirectResponse(period.path + query, status_code=307)


@router.get("/papers/trending")
def trending_page(request: Request, page: PageNo = 1) -> Response:
    """HF's trending page: the last TRENDING_DAYS days' lists ranked together by the trending score."""
    store, size = deps.store(request), deps.settings(request).page_size
    latest = store.latest_date()
    result = Page([], 0, 0, size) if latest is None else lists.daily(
        store, latest - dt.timedelta(days=TRENDING_DAYS - 1), latest, sort="trending",
        offset=(page - 1) * size, limit=size, now=deps.now(request))
    extra = overlay.load(request, [item.paper.arxiv_id for item in result.items])
    return render(
        request, "trending.html", cards=[views.card(item, overlay=extra) for item in result.items],
        total=result.total, days=TRENDING_DAYS, latest=latest, formula=ranking.FORMULA,
        pagination=listing.pagination(request, page, result.total, size), canonical="/papers/trending",
        nav_section="daily",
    )


@router.get("/papers/date/{slug}")
def day_page(request: Request, slug: str, sort: ListSort = "upvotes", page: PageNo = 1) -> Response:
    return _period_page(request, periods.parse("date", slug), sort, page)


@router.get("/papers/week/{slug}")
def week_page(request: Request, slug: str, sort: ListSort = "upvotes", page: PageNo = 1) -> Response:
    return _period_page(request, periods.parse("week", slug), sort, page)


@router.get("/papers/month/{slug}")
def month_page(request: Request, slug: str, sort: ListSort = "upvotes", page: PageNo = 1) -> Response:
    return _period_page(request, periods.parse("month", slug), sort, page)


def _period_page(request: Request, period: periods.Period, sort: str, page: int, home: bool = False) -> Response:
    store, size = deps.store(request), deps.settings(request).page_size
    result = lists.daily(store, period.start, period.end, sort=sort, offset=(page - 1) * size, limit=size,
                         now=deps.now(request))
    extra = overlay.load(request, [item.paper.arxiv_id for item in result.items])
    return render(
        request, "daily.html", period=period, nav=listing.period_nav(store, period, sort),
        cards=[views.card(item, overlay=extra) for item in result.items], total=result.total,
        sorts=listing.sort_links(request, sort), pagination=listing.pagination(request, page, result.total, size),
        home=home, canonical=period.path, nav_section="daily",
    )


# -- papers ----------------------------------------------------------------------------


@router.get("/papers/{arxiv_id:path}")
def paper_page(request: Request, arxiv_id: str) -> Response:
    """`/papers/2405.15738`, `/papers/2405.15738v2`, `/papers/hep-th/9901001`, and `.md` / `.bib`."""
    for suffix, export in ((".md", _markdown), (".bib", _bibtex)):
        if arxiv_id.endswith(suffix):
            return export(request, arxiv_id.removesuffix(suffix))
    if wants_markdown(request.headers.get("accept", "")):  # as HF answers `Accept: text/markdown`
        return _markdown(request, arxiv_id)  # its own ETag, Vary: Accept (web/caching.py)
    wanted = ids.parse(arxiv_id)
    store = deps.store(request)
    paper = _stored_or_fetched(request, store, wanted.id)
    entries = store.entries_for(wanted.id)
    extras = community.paper_context(request, paper, entries)
    return render(request, "paper.html", p=views.paper_page(paper, entries, extras["overlay"]),
                  bibtex=to_bibtex(paper), requested_version=wanted.version,
                  canonical=views.paper_url(paper.arxiv_id), community=extras, **_related(request, paper))


def _stored_or_fetched(request: Request, store: Store, arxiv_id: str) -> Paper:
    """The stored paper, else the arXiv API's (stored on the way: a rate-limited cache fill, on_demand.py)."""
    try:
        return store.get_paper(arxiv_id)
    except NotFound:
        return on_demand.for_app(request.app.state, deps.settings(request)).fetch(store, deps.settings(request),
                                                                                  arxiv_id)


def _related(request: Request, paper) -> dict:
    """Key phrases (chips linking to a search) and similar papers, when the search service is up."""
    service = deps.search_service(request)
    if service is None:
        return {"keywords": [], "similar": [], "similar_notice": None}
    try:
        similar, notice = service.similar(paper.arxiv_id, k=6)
        keywords = service.keywords_for(paper)
    except IndexUnavailable:  # deleted since the check above: the page shows without them
        return {"keywords": [], "similar": [], "similar_notice": None}
    found = deps.store(request).papers_by_ids([s.arxiv_id for s in similar])
    items = [{"id": s.arxiv_id, "title": found[s.arxiv_id].title, "url": views.paper_url(s.arxiv_id),
              "similarity": s.similarity} for s in similar if s.arxiv_id in found]
    return {"keywords": keywords, "similar": items, "similar_notice": notice}


def _markdown(request: Request, raw: str) -> Response:
    store = deps.store(request)
    paper = store.get_paper(ids.normalize(raw))
    base = str(request.base_url).rstrip("/")
    text = to_markdown(paper, store.entries_for(paper.arxiv_id), base_url=base,
                       fulltext=store.fulltext.get(paper.arxiv_id))
    return PlainTextResponse(text, media_type="text/markdown; charset=utf-8")


def _bibtex(request: Request, raw: str) -> Response:
    paper = deps.store(request).get_paper(ids.normalize(raw))
    return PlainTextResponse(to_bibtex(paper), media_type="application/x-bibtex; charset=utf-8")


# -- authors and categories ------------------------------------------------------------


@router.get("/authors/{key}")
def author_page(request: Request, key: str, page: PageNo = 1) -> Response:
    store, size = deps.store(request), deps.settings(request).page_size
    name, result = store.by_author(key, offset=(page - 1) * size, limit=size)
    if name is None:
        raise NotFound(f"no author with key {key[:80]!r}")
    return _paper_list(request, store, result, page, size, title=name, kicker="Author",
                       follow=_follow(request, "author", key, name))


@router.get("/categories/{category}")
def category_page(request: Request, category: str, page: PageNo = 1) -> Response:
    if not CATEGORY.fullmatch(category):
        raise NotFound(f"not a category: {category[:80]!r} (categories look like cs.CL or hep-th)")
    store, size = deps.store(request), deps.settings(request).page_size
    result = store.by_category(category, offset=(page - 1) * size, limit=size)
    if result.total == 0:
        raise NotFound(f"no papers in category {category[:80]!r}")
    return _paper_list(request, store, result, page, size, title=category, kicker="Category",
                       follow=_follow(request, "category", category, category))


def _follow(request: Request, kind: str, target: str, label: str) -> dict:
    """The follow button of an author or category page."""
    user = sessions.viewer(request)
    following = user is not None and deps.store(request).follows.is_following(user.id, kind, target)
    return {"kind": kind, "target": target if kind == "category" else label, "following": following}


def _paper_list(request: Request, store: Store, result: Page, page: int, size: int, **heading) -> Response:
    return render(request, "papers.html", cards=cards_with_entries(store, result.items, request=request),
                  total=result.total,
                  pagination=listing.pagination(request, page, result.total, size), **heading)


def cards_with_entries(store: Store, items: list[Listed], highlights: dict | None = None,
                       request: Request | None = None) -> list[dict]:
    """Cards for papers listed without their daily entry: look the latest one up."""
    entries = store.latest_entries([i.paper.arxiv_id for i in items if i.entry is None])
    highlights = highlights or {}
    extra = overlay.load(request, [i.paper.arxiv_id for i in items]) if request else None
    return [views.card(Listed(i.paper, i.entry or entries.get(i.paper.arxiv_id)),
                       highlights.get(i.paper.arxiv_id), extra) for i in items]


# -- search and about ------------------------------------------------------------------


SEARCH_MODES = {"hybrid": "Hybrid", "keyword": "Keywords", "semantic": "Meaning"}


@router.get("/search")
def search_page(
    request: Request,
    q: str = "",
    sort: Annotated[Literal["relevance", "date"], Query()] = "relevance",
    mode: Annotated[Literal["hybrid", "keyword", "semantic"], Query()] = "hybrid",
    date_from: Annotated[str, Query(alias="from")] = "",
    date_to: Annotated[str, Query(alias="to")] = "",
    page: PageNo = 1,
) -> Response:
    context: dict[str, Any] = {"q": q, "date_from": date_from, "date_to": date_to, "sort": sort, "mode": mode,
               "max_length": MAX_QUERY_LENGTH, "nav_section": "search"}
    if not (q.strip() or date_from.strip() or date_to.strip()):
        return render(request, "search.html", result=None, **context)
    parsed = parse_query(q, date_from=date_from.strip() or None, date_to=date_to.strip() or None)
    index = deps.keyword_index(request)
    if index is None:
        return render(request, "search.html", status=503, result=None, unavailable=True, **context)
    named = _named_paper(request, q)
    if named is not None:
        return RedirectResponse(named, status_code=303)
    store, size = deps.store(request), deps.settings(request).page_size
    refs = lookup.paper_refs(q)
    if sort == "date" and not refs:  # newest first is a keyword-index ordering, whatever the mode
        found = index.search(parsed, offset=(page - 1) * size, limit=size, sort=sort)
        hits = [(h.arxiv_id, h.highlights, None) for h in found.hits]
        total, relaxed, notice, used_mode = found.total, found.relaxed, None, "keyword"
    else:
        found = deps.search_service(request).search(q, mode, date_from=date_from.strip() or None,
                                                    date_to=date_to.strip() or None,
                                                    offset=(page - 1) * size, limit=size)
        hits = [(r.arxiv_id, r.highlights, r.explanation.summary()) for r in found.results]
        total, relaxed, notice, used_mode = found.total, found.relaxed, found.notice, found.used_mode
        if found.every_word and not relaxed:  # keyword mode: where the papers with only some words begin
            context["some_words_from"] = next((r.arxiv_id for r in found.results if not r.explanation.every_word),
                                              None)
        context["missing_ids"] = found.missing_ids
    if not refs:
        context["did_you_mean"] = suggest.did_you_mean(index, q, parsed)
    papers = store.papers_by_ids([pid for pid, _, _ in hits])
    items = [Listed(papers[pid]) for pid, _, _ in hits if pid in papers]
    cards = cards_with_entries(store, items, {pid: marks for pid, marks, _ in hits}, request)
    why = {pid: reason for pid, _, reason in hits}
    for card in cards:
        card["why"] = why.get(card["id"])
    result = {"total": total, "relaxed": relaxed, "cards": cards, "notice": notice, "used_mode": used_mode,
              "pagination": listing.pagination(request, page, total, size)}
    context["modes"] = listing.sort_links(request, mode, SEARCH_MODES, "hybrid", param="mode")
    return render(request, "search.html", result=result, sorts=listing.sort_links(request, sort, SEARCH_SORTS,
                                                                                  "relevance"), **context)


def _named_paper(request: Request, q: str) -> str | None:
    """The page of the paper the whole query names (an arXiv id or link), if it is here."""
    ref = lookup.single_ref(q)
    if ref is None or ref.id not in deps.store(request).papers_by_ids([ref.id]):
        return None
    return views.paper_url(ref.id) + (f"v{ref.version}" if ref.version else "")


@router.get("/about")
def about_page(request: Request) -> Response:
    store = deps.store(request)
    return render(request, "about.html", counts=store.counts(), categories=store.top_categories(12),
                  nav_section="about")
