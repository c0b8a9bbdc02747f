"""Navigation for list pages: previous/next period, day/week/month tabs, sort links, pagination."""

from __future__ import annotations

import datetime as dt
import functools
import math
from collections.abc import Callable
from typing import Any

from fastapi import Request

from dailypapers.store import Store
from dailypapers.web.render import periods
from dailypapers.web.render.templating import with_params

SORT_LABELS = {"upvotes": "Most upvoted", "trending": "Trending", "date": "Newest"}
DEFAULT_SORT = "upvotes"


def _suffix(sort: str) -> str:
    return "" if sort == DEFAULT_SORT else f"?sort={sort}"


def _anchor(neighbours: Callable[[dt.date], tuple[dt.date | None, dt.date | None]],
            period: periods.Period) -> dt.date:
    """The last day with papers inside the period (or its first day when it has none)."""
    before, _ = neighbours(period.end + dt.timedelta(days=1))
    return before if before and before >= period.start else period.start


def period_nav(store: Store, period: periods.Period, sort: str) -> dict:
    """Previous/next links (skipping empty stretches) and the day/week/month tabs."""
    neighbours = functools.cache(store.neighbour_dates)  # a day's period starts and ends on one date
    before, _ = neighbours(period.start)
    _, after = neighbours(period.end)
    prev = period.containing(period.kind, before) if before else None
    nxt = period.containing(period.kind, after) if after else None
    anchor = _anchor(neighbours, period)
    tabs = []
    for kind, label in (("date", "Day"), ("week", "Week"), ("month", "Month")):
        target = period if kind == period.kind else period.containing(kind, anchor)
        tabs.append({"label": label, "url": target.path + _suffix(sort), "active": kind == period.kind})
    return {
        "prev": {"url": prev.path + _suffix(sort), "label": prev.label} if prev else None,
        "next": {"url": nxt.path + _suffix(sort), "label": nxt.label} if nxt else None,
        "tabs": tabs,
    }


def sort_links(request: Request, current: str, labels: dict[str, str] = SORT_LABELS,
               default: str = DEFAULT_SORT, param: str = "sort") -> list[dict]:
    return [{"label": label, "active": key == current,
             "url": with_params(request, **{param: None if key == default else key, "page": None})}
            for key, label in labels.items()]


def pagination(request: Request, page: int, total: int, size: int) -> dict | None:
    """Page links around the current one: 1 … 4 5 [6] 7 8 … 20 (None when one page is enough)."""
    pages = max(1, math.ceil(total / size))
    if pages == 1 and page == 1:
        return None
    wanted = sorted({1, pages, *range(max(1, page - 2), min(pages, page + 2) + 1)})
    items: list[dict[str, Any] | None] = []  # None: a gap
    last = 0
    for n in wanted:
        if n > last + 1:
            items.append(None)  # a gap
        items.append({"n": n, "url": _page_url(request, n), "current": n == page})
        last = n
    return {
        "items": items,
        "prev": _page_url(request, page - 1) if page > 1 else None,
        "next": _page_url(request, page + 1) if page < pages else None,
        "pages": pages,
    }


def _page_url(request: Request, n: int) -> str:
    return with_params(request, page=None if n == 1 else n)
