"""Pages for moderators (recent and hidden comments, hide/unhide) and administrators (roles)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from dailypapers.community import accounts
from dailypapers.store.accounts import ROLES
from dailypapers.web import deps, sessions
from dailypapers.web.render import views
from dailypapers.web.render.rich_text import render_comment
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(sessions.csrf_protect)])


@router.get("/moderation")
def moderation(request: Request, hidden: int = 0) -> Response:
    sessions.require_moderator(request)
    found, total = deps.store(request).comments.recent(hidden_only=bool(hidden), limit=100)
    rows = [{"id": c.id, "paper_url": views.paper_url(c.paper_id), "paper_id": c.paper_id, "author": c.username,
             "created": views.human_date(c.created_at), "hidden": c.hidden, "html": render_comment(c.body)}
            for c in found]
    return render(request, "moderation.html", rows=rows, total=total, hidden_only=bool(hidden),
                  nav_section="moderation")


@router.get("/admin")
def admin(request: Request) -> Response:
    sessions.require_admin(request)
    users, total = deps.store(request).accounts.list_users(limit=500)
    return render(request, "admin.html", users=users, total=total, roles=ROLES, nav_section="admin")


@router.post("/admin/users/{user_id:id}/role")
def set_role(request: Request, user_id: int, role: Annotated[str, Form(max_length=16)] = "") -> Response:
    accounts.change_role(deps.store(request), sessions.require_admin(request), user_id, role)
    return RedirectResponse("/admin", status_code=303)
