"""Comment rules: who may write, edit, delete and hide; replies one level deep."""

from __future__ import annotations

import datetime as dt

from ..errors import InvalidInput, NotFound, PermissionDenied
from ..store import Store
from ..store.accounts import User
from ..store.comments import Comment
from ..store.sqlutil import utcnow

MAX_BODY = 10_000


def check_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise InvalidInput("a comment cannot be empty")
    if len(body) > MAX_BODY:
        raise InvalidInput(f"comments have at most {MAX_BODY:,} characters")
    return body


def add(store: Store, user: User, paper_id: str, body: str, parent_id: int | None = None,
        now: dt.datetime | None = None) -> int:
    """A new comment; a reply to a reply joins its thread (threads are one level deep)."""
    body = check_body(body)
    store.get_paper(paper_id)  # NotFound for an unknown paper
    if parent_id is not None:
        parent = store.comments.get(parent_id)
        if parent.paper_id != paper_id:
            raise InvalidInput("that comment belongs to another paper")
        if parent.hidden or parent.deleted:
            raise InvalidInput("that comment can no longer be replied to")
        parent_id = parent.parent_id or parent.id
    return store.comments.add(paper_id, user.id, body, parent_id, now or utcnow())


def owned(store: Store, user: User, comment_id: int) -> Comment:
    comment = store.comments.get(comment_id)
    if comment.user_id != user.id:
        raise PermissionDenied("you can only change your own comments")
    if comment.deleted:
        raise NotFound("that comment was deleted")
    return comment


def edit(store: Store, user: User, comment_id: int, body: str, now: dt.datetime | None = None) -> Comment:
    owned(store, user, comment_id)
    if not store.comments.edit(comment_id, user.id, check_body(body), now or utcnow()):
        raise PermissionDenied("you can only change your own comments")
    return store.comments.get(comment_id)


def delete(store: Store, user: User, comment_id: int, now: dt.datetime | None = None) -> Comment:
    comment = owned(store, user, comment_id)
    if not store.comments.delete(comment_id, user.id, now or utcnow()):
        raise PermissionDenied("you can only delete your own comments")
    return comment


def set_hidden(store: Store, user: User, comment_id: int, hidden: bool, now: dt.datetime | None = None) -> Comment:
    if not user.is_moderator:
        raise PermissionDenied("only moderators can hide comments")
    comment = store.comments.get(comment_id)
    store.comments.set_hidden(comment_id, user.id, hidden, now or utcnow())
    return comment


def sees_hidden(comment: Comment, viewer: User | None) -> bool:
    """Whether `viewer` may read a hidden comment: moderators and its author may."""
    return viewer is not None and (viewer.is_moderator or viewer.id == comment.user_id)


def thread(comments: list[Comment], viewer: User | None) -> list[tuple[Comment, list[Comment]]]:
    """Top-level comments with their replies. Hidden comments are shown only to moderators (and
    their authors); a deleted or hidden top-level comment stays as a placeholder if it has replies."""
    def shown(c: Comment) -> bool:
        if c.hidden:
            return sees_hidden(c, viewer)
        return not c.deleted

    replies: dict[int, list[Comment]] = {}
    for c in comments:
        if c.parent_id is not None and shown(c):
            replies.setdefault(c.parent_id, []).append(c)
    out = []
    for c in comments:
        if c.parent_id is None and (shown(c) or replies.get(c.id)):
            out.append((c, replies.get(c.id, [])))
    return out
