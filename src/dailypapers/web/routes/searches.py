"""Saved searches in the browser: save the search on /search, list them with their feeds, turn
their alert (a section of the member's digest) on and off, delete them."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dailypapers.delivery import alerts
from dailypapers.errors import InvalidInput, InvalidQuery, NotFound
from dailypapers.web import deps, sessions
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(sessions.csrf_protect)])
Text = Annotated[str, Form(max_length=600)]
MODE_LABELS = {"hybrid": "Words and meaning", "keyword": "Words only", "semantic": "Meaning only"}  # as on /search


def _page(request: Request, status: int = 200, error: str | None = None, values: dict | None = None) -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    saved = [{"s": s, "describe": alerts.describe(s), "url": _search_url(s)}
             for s in store.saved_searches.for_user(user.id)]
    sub = store.subscriptions.for_user(user.id)
    return render(request, "searches.html", status=status, error=error, saved=saved, values=values or {},
                  modes=alerts.MODES, mode_labels=MODE_LABELS, subscription=sub, done=request.query_params.get("done"),
                  nav_section="searches")


def _search_url(saved: alerts.Search) -> str:
    """/search with the saved search's query, filters and mode."""
    return "/search?" + urlencode({"q": alerts.search_box_query(saved), "mode": saved.mode})


@router.get("/searches")
def searches(request: Request) -> Response:
    return _page(request)


@router.post("/searches")
def save(request: Request, name: Text = "", q: Text = "", mode: Text = "keyword", author: Text = "",
         category: Text = "", alert: Text = "") -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    values = {"name": name, "q": q, "mode": mode, "author": author, "category": category}
    try:
        alerts.save(store, user.id, name=name, query=q, mode=mode, author=author, category=category,
                    alert=bool(alert), now=deps.now(request))
    except (InvalidInput, InvalidQuery) as exc:
        return _page(request, 400, str(exc), values)
    return RedirectResponse("/searches?done=saved", status_code=303)


@router.post("/searches/{search_id:id}/alert")
def set_alert(request: Request, search_id: int, alert: Text = "") -> Response:
    user = sessions.require_user(request)
    if not deps.store(request).saved_searches.set_alert(search_id, user.id, bool(alert)):
        raise NotFound(f"no saved search {search_id}")
    return RedirectResponse("/searches?done=alert", status_code=303)


@router.post("/searches/{search_id:id}/delete")
def delete(request: Request, search_id: int) -> Response:
    user = sessions.require_user(request)
    if not deps.store(request).saved_searches.delete(search_id, user.id):
        raise NotFound(f"no saved search {search_id}")
    return RedirectResponse("/searches?done=deleted", status_code=303)
