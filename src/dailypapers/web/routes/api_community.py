"""The JSON API's community routes. Scripts authenticate with a personal API token
(`Authorization: Bearer dp_…`, made on the account page); a browser session works too, with
its CSRF token in the `X-CSRF-Token` header."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from dailypapers import ids
from dailypapers.community import comments as comment_rules
from dailypapers.community import submit as submitting
from dailypapers.store.comments import Comment
from dailypapers.web import deps, sessions
from dailypapers.web.render import overlay, views
from dailypapers.web.routes.community import vote_state
from dailypapers.web.schemas import (
    ERRORS,
    CommentIn,
    CommentOut,
    ErrorOut,
    PaperOut,
    SubmitIn,
    VoteIn,
    VoteOut,
    WhoAmIOut,
)

AUTH: dict[int | str, dict[str, Any]] = {401: {"model": ErrorOut, "description": "No valid API token or session."},
        403: {"model": ErrorOut, "description": "Not allowed, or a session request without its CSRF token."},
        429: {"model": ErrorOut, "description": "Rate limited; see Retry-After."}}
router = APIRouter(prefix="/api", tags=["community"], responses={**ERRORS, **AUTH},
                   dependencies=[Depends(sessions.csrf_protect)])


@router.get("/whoami", response_model=WhoAmIOut, summary="The member the token belongs to")
def whoami(request: Request) -> dict:
    user = sessions.require_user(request)
    return {"user": user.username, "fullname": user.name, "role": user.role}


@router.post("/papers/submit", response_model=PaperOut, summary="Submit a paper to today's daily list",
             responses={409: {"model": ErrorOut, "description": "The paper is already on a daily list."},
                        502: {"model": ErrorOut, "description": "The paper is not stored here and the arXiv API "
                                                                "could not be reached to fetch it."}})
def submit(request: Request, body: SubmitIn) -> Response:
    user = sessions.require_user(request)
    deps.limits(request).submissions.hit(str(user.id))
    store = deps.store(request)
    paper = submitting.submit(store, deps.settings(request), user, body.id, now=deps.now(request))
    entries = store.entries_for(paper.arxiv_id)
    # as built: a field the paper lacks stays absent (the model would write it as null)
    return JSONResponse(views.paper_object(paper, entries[-1] if entries else None,
                                           overlay.load(request, [paper.arxiv_id])))


@router.post("/papers/{arxiv_id:path}/vote", response_model=VoteOut, summary="Upvote a paper, or take the vote back")
def vote(request: Request, arxiv_id: str, body: VoteIn) -> dict:
    paper_id = ids.normalize(arxiv_id)
    user = sessions.require_user(request)
    deps.store(request).votes.set(paper_id, user.id, body.upvoted, deps.now(request))
    return vote_state(request, paper_id, body.upvoted)


def _comment(c: Comment) -> dict:
    return {"id": c.id, "paperId": c.paper_id, "parentId": c.parent_id, "author": c.username, "body": c.body,
            "createdAt": views.hf_time(c.created_at), "editedAt": views.hf_time(c.edited_at)}


@router.get("/papers/{arxiv_id:path}/comments", response_model=list[CommentOut], summary="A paper's comments")
def list_comments(request: Request, arxiv_id: str) -> list[dict]:
    store = deps.store(request)
    paper = store.get_paper(ids.normalize(arxiv_id))
    threads = comment_rules.thread(store.comments.for_paper(paper.arxiv_id), None)
    return [_comment(c) for top, replies in threads for c in (top, *replies) if c.visible]


@router.post("/papers/{arxiv_id:path}/comments", response_model=CommentOut, summary="Comment on a paper")
def add_comment(request: Request, arxiv_id: str, body: CommentIn) -> dict:
    user = sessions.require_user(request)
    deps.limits(request).comments.hit(str(user.id))
    store = deps.store(request)
    new_id = comment_rules.add(store, user, ids.normalize(arxiv_id), body.body, body.parentId,
                               now=deps.now(request))
    return _comment(store.comments.get(new_id))
