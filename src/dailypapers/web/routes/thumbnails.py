"""`/thumbnails/{id}`: the first page of a paper's PDF as the worker rendered it (store/fulltext.py).

The path names a paper, never a file: the id is validated (ids.normalize) and the image read from
the database, so no request can reach the file system. Answers carry a strong ETag (the image's
hash) and may be cached for a day; a paper without a thumbnail is 404 (pages show a placeholder)."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request, Response

from dailypapers import ids
from dailypapers.errors import NotFound
from dailypapers.web import deps

router = APIRouter(include_in_schema=False)
CACHE = "public, max-age=86400"
ALLOWED_TYPES = ("image/webp", "image/png")


@router.get("/thumbnails/{arxiv_id:path}")
def thumbnail(request: Request, arxiv_id: str) -> Response:
    paper_id = ids.normalize(arxiv_id)
    found = deps.store(request).fulltext.thumbnail(paper_id)
    if found is None or found.media_type not in ALLOWED_TYPES:
        raise NotFound(f"no thumbnail for {paper_id} yet")
    etag = '"' + hashlib.blake2b(found.data, digest_size=16).hexdigest() + '"'
    headers = {"ETag": etag, "Cache-Control": CACHE}
    wanted = request.headers.get("if-none-match", "")
    if etag in [tag.strip().removeprefix("W/") for tag in wanted.split(",")] or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(found.data, media_type=found.media_type, headers=headers)
