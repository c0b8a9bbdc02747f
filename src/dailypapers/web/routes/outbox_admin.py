"""/admin/outbox: what the delivery machinery is doing (administrators): subscriptions, queued,
sent and failed messages with each attempt, and the jobs table."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from dailypapers.store.outbox import Attempt
from dailypapers.web import deps, sessions
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(sessions.csrf_protect)])


@router.get("/admin/outbox")
def outbox(request: Request, status: str = "") -> Response:
    sessions.require_admin(request)
    store = deps.store(request)
    messages = store.outbox.recent(status=status or None, limit=100)
    attempts: dict[int, list[Attempt]] = {}
    for a in store.outbox.attempts(ids=[m.id for m in messages]) if messages else []:
        attempts.setdefault(a.outbox_id, []).append(a)
    return render(request, "outbox.html", counts=store.outbox.counts(), subscriptions=store.subscriptions.counts(),
                  messages=messages, attempts=attempts, jobs=store.jobs.all(limit=100), job_counts=store.jobs.counts(),
                  filter_status=status, nav_section="admin")


@router.post("/admin/outbox/retry")
def retry(request: Request) -> Response:
    sessions.require_admin(request)
    deps.store(request).outbox.requeue(deps.now(request))
    return RedirectResponse("/admin/outbox", status_code=303)
