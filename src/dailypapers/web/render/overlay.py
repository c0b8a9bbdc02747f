"""What the community adds to a list of papers: local votes and comments, and the viewer's votes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from fastapi import Request

from dailypapers.web import deps


@dataclass
class Overlay:
    votes: dict[str, int] = field(default_factory=dict)
    comments: dict[str, int] = field(default_factory=dict)
    voted: set[str] = field(default_factory=set)
    thumbnails: set[str] = field(default_factory=set)  # papers with a rendered thumbnail (issue 15)
    remote_images: bool = False  # DAILYPAPERS_REMOTE_IMAGES: recorded HF thumbnails may be shown


def load(request: Request, ids: Sequence[str]) -> Overlay:
    from dailypapers.web.sessions import viewer

    store = deps.store(request)
    ids = list(dict.fromkeys(ids))
    if not ids:
        return Overlay()
    user = viewer(request)
    return Overlay(store.votes.counts(ids), store.comments.counts(ids),
                   store.votes.voted(user.id, ids) if user else set(), store.fulltext.with_thumbnails(ids),
                   deps.settings(request).remote_images)
