"""Collections in the browser: create, rename, share (public/private), add and remove papers, and
export as BibTeX or JSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response

from dailypapers import ids
from dailypapers.community import collections as rules
from dailypapers.errors import InvalidInput
from dailypapers.store.repo import Listed
from dailypapers.web import deps, sessions
from dailypapers.web.render import overlay, views
from dailypapers.web.render.bibtex import to_bibtex
from dailypapers.web.render.templating import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(sessions.csrf_protect)])

Text = Annotated[str, Form(max_length=5000)]
Flag = Annotated[str, Form(max_length=10)]


def _url(cid: int) -> str:
    return f"/collections/{cid}"


def _mine(request: Request, status: int = 200, error: str | None = None) -> Response:
    user = sessions.require_user(request)
    return render(request, "collections.html", status=status, error=error,
                  collections=deps.store(request).collections.for_user(user.id), nav_section="collections")


@router.get("/collections")
def my_collections(request: Request) -> Response:
    return _mine(request)


@router.post("/collections")
def create(request: Request, name: Text = "", description: Text = "", public: Flag = "", paper_id: Text = "",
           next: Text = "") -> Response:
    user = sessions.require_user(request)
    store = deps.store(request)
    try:
        cid = rules.create(store, user, name, description, bool(public), now=deps.now(request))
    except InvalidInput as exc:
        return _mine(request, 400, str(exc))
    if paper_id:
        rules.add_paper(store, user, cid, ids.normalize(paper_id), now=deps.now(request))
        return RedirectResponse(sessions.safe_next(next, _url(cid)), status_code=303)
    return RedirectResponse(_url(cid), status_code=303)


def _papers(request: Request, cid: int):
    store = deps.store(request)
    paper_ids = store.collections.paper_ids(cid)
    return paper_ids, store.papers_by_ids(paper_ids)


@router.get("/collections/{cid:id}.bib")
def export_bibtex(request: Request, cid: int) -> Response:
    found = rules.visible(deps.store(request), sessions.viewer(request), cid)
    paper_ids, papers = _papers(request, cid)
    header = f"% {' '.join(found.name.split())} (dailypapers collection {cid}, {len(papers)} papers)\n\n"
    body = header + "\n".join(to_bibtex(papers[i]) for i in paper_ids if i in papers)
    return PlainTextResponse(body, media_type="application/x-bibtex; charset=utf-8",
                             headers={"Content-Disposition": f'attachment; filename="collection-{cid}.bib"'})


@router.get("/collections/{cid:id}.json")
def export_json(request: Request, cid: int) -> Response:
    store = deps.store(request)
    found = rules.visible(store, sessions.viewer(request), cid)
    paper_ids, papers = _papers(request, cid)
    entries = store.latest_entries(paper_ids)
    extra = overlay.load(request, paper_ids)
    data = {"id": found.id, "name": found.name, "description": found.description, "public": found.is_public,
            "owner": found.owner, "createdAt": views.hf_time(found.created_at),
            "updatedAt": views.hf_time(found.updated_at),
            "papers": [views.paper_object(papers[i], entries.get(i), extra) for i in paper_ids if i in papers]}
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="collection-{cid}.json"'})


@router.get("/collections/{cid:id}")
def collection_page(request: Request, cid: int) -> Response:
    store = deps.store(request)
    user = sessions.viewer(request)
    found = rules.visible(store, user, cid)
    paper_ids, papers = _papers(request, cid)
    entries = store.latest_entries(paper_ids)
    extra = overlay.load(request, paper_ids)
    cards = [views.card(Listed(papers[i], entries.get(i)), overlay=extra) for i in paper_ids if i in papers]
    return render(request, "collection.html", collection=found, cards=cards,
                  owner=user is not None and user.id == found.user_id, error=None, nav_section="collections")


@router.post("/collections/{cid:id}/edit")
def edit(request: Request, cid: int, name: Text = "", description: Text = "", public: Flag = "") -> Response:
    rules.update(deps.store(request), sessions.require_user(request), cid, name, description, bool(public),
                 now=deps.now(request))
    return RedirectResponse(_url(cid), status_code=303)


@router.post("/collections/{cid:id}/delete")
def delete(request: Request, cid: int) -> Response:
    rules.delete(deps.store(request), sessions.require_user(request), cid)
    return RedirectResponse("/collections", status_code=303)


@router.post("/collections/{cid:id}/items")
def add_item(request: Request, cid: int, paper_id: Text = "", next: Text = "") -> Response:
    rules.add_paper(deps.store(request), sessions.require_user(request), cid, ids.normalize(paper_id),
                    now=deps.now(request))
    return RedirectResponse(sessions.safe_next(next, _url(cid)), status_code=303)


@router.post("/collections/{cid:id}/items/remove")
def remove_item(request: Request, cid: int, paper_id: Text = "", next: Text = "") -> Response:
    rules.remove_paper(deps.store(request), sessions.require_user(request), cid, ids.normalize(paper_id))
    return RedirectResponse(sessions.safe_next(next, _url(cid)), status_code=303)
