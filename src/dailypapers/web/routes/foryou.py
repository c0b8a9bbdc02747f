"""/for-you: a member's recommendations, ranked exactly as their digest ranks them (the same
`recommend.for_member`), each with why; "not interested" marks; the private feed address."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dailypapers import ids
from dailypapers.delivery import recommend
from dailypapers.store.repo import Listed
from dailypapers.web import deps, sessions
from dailypapers.web.render import overlay, views
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(sessions.csrf_protect)])
Text = Annotated[str, Form(max_length=300)]
SHOWN = 30


def feed_token(request: Request, user_id: int) -> str:
    return deps.store(request).feed_tokens.ensure(user_id, secrets.token_urlsafe(24), deps.now(request))


@router.get("/for-you")
def for_you(request: Request) -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    sub = store.subscriptions.for_user(user.id)
    frequency = sub.frequency if sub and sub.active else "weekly"
    ranking, window = recommend.for_member(store, user.id, deps.now(request), frequency,
                                           index=deps.keyword_index(request), limit=SHOWN)
    papers = store.papers_by_ids(ranking.ids)
    entries = store.latest_entries(ranking.ids)
    extra = overlay.load(request, ranking.ids)
    cards = [{"card": views.card(Listed(papers[r.paper_id], entries.get(r.paper_id)), overlay=extra),
              "why": r.reasons, "score": r.score} for r in ranking.items if r.paper_id in papers]
    hidden_ids = store.not_interested.ids(user.id)[-20:]
    hidden = store.papers_by_ids(hidden_ids)
    token = feed_token(request, user.id)
    return render(request, "for_you.html", cards=cards, ranking=ranking, window=window, frequency=frequency,
                  subscription=sub, feed_rss=f"/feeds/for-you/{token}.rss", feed_atom=f"/feeds/for-you/{token}.atom",
                  hidden=[hidden[i] for i in reversed(hidden_ids) if i in hidden], nav_section="for-you")


@router.post("/for-you/not-interested")
def not_interested(request: Request, paper_id: Text = "", undo: Text = "", next: Text = "") -> Response:
    user = sessions.require_user(request)
    pid = ids.normalize(paper_id)
    store = deps.store(request)
    if undo:
        store.not_interested.unmark(user.id, pid)
    else:
        store.get_paper(pid)  # NotFound for an unknown paper
        store.not_interested.mark(user.id, pid, deps.now(request))
    return RedirectResponse(sessions.safe_next(next, "/for-you"), status_code=303)


@router.post("/for-you/feed-token")
def new_feed_token(request: Request) -> Response:
    """A new private feed address (the old one stops working)."""
    user = sessions.require_user(request)
    deps.store(request).feed_tokens.replace(user.id, secrets.token_urlsafe(24), deps.now(request))
    return RedirectResponse("/for-you#feed", status_code=303)
