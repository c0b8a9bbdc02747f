"""Member actions in the browser: upvote, submit, comment, follow; member pages; and what the
community adds to a paper page (votes, comments, collections, why it ranks where it does)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from dailypapers import ids
from dailypapers.community import collections as collection_rules
from dailypapers.community import comments as comment_rules
from dailypapers.community import lists
from dailypapers.community import submit as submitting
from dailypapers.errors import Conflict, InvalidArxivId, InvalidInput, NotFound
from dailypapers.models import DailyEntry, Paper
from dailypapers.store.repo import Listed
from dailypapers.web import deps, sessions
from dailypapers.web.params import FormId
from dailypapers.web.render import charts, overlay, views
from dailypapers.web.render.rich_text import render_comment
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(sessions.csrf_protect)])

Text = Annotated[str, Form(max_length=20_000)]


def wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


def _back(request: Request, next_path: str, default: str) -> RedirectResponse:
    return RedirectResponse(sessions.safe_next(next_path, default), status_code=303)


def vote_state(request: Request, paper_id: str, upvoted: bool) -> dict:
    store = deps.store(request)
    entries = store.entries_for(paper_id)
    imported = entries[-1].upvotes if entries else 0
    local = store.votes.count(paper_id)
    return {"id": paper_id, "upvoted": upvoted, "upvotes": imported + local, "importedUpvotes": imported,
            "localUpvotes": local}


# -- upvotes ---------------------------------------------------------------------------


@router.post("/papers/{arxiv_id:path}/upvote")
def upvote(request: Request, arxiv_id: str, next: Text = "") -> Response:
    """Toggle the member's upvote. Plain form POST: back to the page; fetch with JSON: the new state."""
    paper_id = ids.normalize(arxiv_id)
    user = sessions.require_user(request)
    upvoted = deps.store(request).votes.toggle(paper_id, user.id, deps.now(request))
    if wants_json(request):
        return JSONResponse(vote_state(request, paper_id, upvoted))
    return _back(request, next, views.paper_url(paper_id))


# -- submissions -----------------------------------------------------------------------


def _submit_page(request: Request, status: int = 200, error: str | None = None, value: str = "") -> Response:
    settings = deps.settings(request)
    return render(request, "submit.html", status=status, error=error, value=value,
                  max_age=settings.submit_max_age_days, nav_section="submit")


@router.get("/submit")
def submit_form(request: Request, paper: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The submit form; `?paper=` fills it in (search offers this for an id it does not hold)."""
    sessions.require_user(request)
    return _submit_page(request, value=paper)


@router.post("/submit")
def submit(request: Request, paper: Text = "") -> Response:
    user = sessions.require_user(request)
    deps.limits(request).submissions.hit(str(user.id))
    try:
        found = submitting.submit(deps.store(request), deps.settings(request), user, paper, now=deps.now(request))
    except (InvalidInput, InvalidArxivId, Conflict, NotFound) as exc:
        status = {Conflict: 409, NotFound: 404}.get(type(exc), 400)
        return _submit_page(request, status, str(exc), paper)
    return RedirectResponse(views.paper_url(found.arxiv_id) + "?submitted=1", status_code=303)


# -- comments --------------------------------------------------------------------------


def _comment_anchor(paper_id: str, comment_id: int | None = None) -> str:
    return views.paper_url(paper_id) + (f"#comment-{comment_id}" if comment_id else "#comments")


@router.post("/papers/{arxiv_id:path}/comments")
def comment(request: Request, arxiv_id: str, body: Text = "", parent_id: FormId = None
            ) -> Response:
    paper_id = ids.normalize(arxiv_id)
    user = sessions.require_user(request)
    deps.limits(request).comments.hit(str(user.id))
    new_id = comment_rules.add(deps.store(request), user, paper_id, body, parent_id, now=deps.now(request))
    return RedirectResponse(_comment_anchor(paper_id, new_id), status_code=303)


@router.get("/comments/{comment_id:id}/edit")
def comment_edit_form(request: Request, comment_id: int) -> Response:
    user = sessions.require_user(request)
    found = comment_rules.owned(deps.store(request), user, comment_id)
    return render(request, "comment_edit.html", comment=found, error=None, body=found.body)


@router.post("/comments/{comment_id:id}/edit")
def comment_edit(request: Request, comment_id: int, body: Text = "") -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    try:
        found = comment_rules.edit(store, user, comment_id, body, now=deps.now(request))
    except InvalidInput as exc:
        return render(request, "comment_edit.html", status=400, comment=store.comments.get(comment_id),
                      error=str(exc), body=body)
    return RedirectResponse(_comment_anchor(found.paper_id, found.id), status_code=303)


@router.post("/comments/{comment_id:id}/delete")
def comment_delete(request: Request, comment_id: int) -> Response:
    found = comment_rules.delete(deps.store(request), sessions.require_user(request), comment_id,
                                 now=deps.now(request))
    return RedirectResponse(_comment_anchor(found.paper_id), status_code=303)


@router.post("/comments/{comment_id:id}/hide")
def comment_hide(request: Request, comment_id: int, next: Text = "") -> Response:
    found = comment_rules.set_hidden(deps.store(request), sessions.require_user(request), comment_id, True,
                                     now=deps.now(request))
    return _back(request, next, _comment_anchor(found.paper_id, found.id))


@router.post("/comments/{comment_id:id}/unhide")
def comment_unhide(request: Request, comment_id: int, next: Text = "") -> Response:
    found = comment_rules.set_hidden(deps.store(request), sessions.require_user(request), comment_id, False,
                                     now=deps.now(request))
    return _back(request, next, _comment_anchor(found.paper_id, found.id))


# -- follows ---------------------------------------------------------------------------


@router.post("/follow")
def follow(request: Request, kind: Text = "", target: Text = "", next: Text = "") -> Response:
    user = sessions.require_user(request)
    collection_rules.toggle_follow(deps.store(request), user, kind, target, now=deps.now(request))
    return _back(request, next, "/account")


# -- member pages ----------------------------------------------------------------------


@router.get("/users/{username}")
def member_page(request: Request, username: str) -> Response:
    store = deps.store(request)
    member = store.accounts.by_username(username)
    if member is None:
        raise NotFound(f"no member called {username[:64]!r}")
    submitted, n_submitted = store.submissions.by_user(member.id, limit=30)
    upvoted, n_upvoted = store.votes.by_user(member.id, limit=30)
    return render(request, "member.html", member=member, submitted=_cards(request, submitted),
                  n_submitted=n_submitted, upvoted=_cards(request, upvoted), n_upvoted=n_upvoted,
                  collections=store.collections.for_user(member.id, public_only=True),
                  follows=store.follows.for_user(member.id))


def _cards(request: Request, paper_ids: list[str]) -> list[dict]:
    store = deps.store(request)
    found = store.papers_by_ids(paper_ids)
    entries = store.latest_entries(paper_ids)
    extra = overlay.load(request, paper_ids)
    return [views.card(Listed(found[i], entries.get(i)), overlay=extra) for i in paper_ids if i in found]


# -- the paper page's community parts --------------------------------------------------


def paper_context(request: Request, paper: Paper, entries: list[DailyEntry]) -> dict:
    """What paper.html needs beyond the paper: overlay for the vote box, comments, the viewer's
    collections, the upvote chart and the trending standing."""
    store = deps.store(request)
    user = sessions.viewer(request)
    now = deps.now(request)
    pid = paper.arxiv_id
    extra = overlay.load(request, [pid])
    threads = comment_rules.thread(store.comments.for_paper(pid), user)
    rendered = [(_comment_view(c, user), [_comment_view(r, user) for r in replies]) for c, replies in threads]
    latest = entries[-1] if entries else None
    standing = lists.standing(store, pid, latest.date, now) if latest else None
    my_collections = store.collections.for_user(user.id) if user else []
    return {
        "overlay": extra,
        "threads": rendered,
        "comment_count": extra.comments.get(pid, 0),
        "my_collections": my_collections,
        "in_collections": store.collections.containing(user.id, pid) if user else set(),
        "standing": standing,
        "votes_chart": charts.upvotes_over_time(latest, store.votes.times(pid), now) if (latest or extra.votes)
        else None,
        "submitted": request.query_params.get("submitted") == "1",
    }


def _comment_view(c, viewer) -> dict:
    readable = not c.deleted and (not c.hidden or comment_rules.sees_hidden(c, viewer))
    return {
        "id": c.id, "author": c.username, "author_name": c.display_name or c.username,
        "author_url": f"/users/{c.username}",
        "html": render_comment(c.body) if readable else None,
        "deleted": c.deleted, "hidden": c.hidden, "created": views.human_date(c.created_at),
        "created_iso": c.created_at.isoformat(), "edited": c.edited_at is not None,
        "mine": viewer is not None and viewer.id == c.user_id and not c.deleted,
        "can_moderate": viewer is not None and viewer.is_moderator,
        "can_reply": c.parent_id is None and c.visible,
    }
