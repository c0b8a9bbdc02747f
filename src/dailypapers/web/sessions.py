"""Who is asking: the signed session cookie, CSRF tokens, and personal API tokens (Bearer).

The cookie is signed with settings.secret_key (Starlette's SessionMiddleware, itsdangerous
underneath): HttpOnly, SameSite=Lax, Secure when the public URL is https. For a signed-in member
it holds the random id of a server-side session (a row in `sessions`, see community/sessions.py:
14 days from the last use, 30 at most) and every request looks that row up, so signing out —
here, everywhere, or by changing the password — ends the session on every node, and a copied
cookie stops working with it. It also holds a random CSRF token. Every POST must echo that token,
in the form field `csrf_token` or the `X-CSRF-Token` header; requests authenticated by a Bearer
token carry no ambient credentials and need none.
"""

from __future__ import annotations

import hmac
import secrets
from typing import cast
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from starlette.datastructures import UploadFile
from starlette.middleware.sessions import SessionMiddleware

from ..community import accounts
from ..community import sessions as lifetimes
from ..config import Settings
from ..errors import AuthenticationFailed, PermissionDenied, SignInRequired
from ..store.accounts import User
from . import deps

COOKIE = "dailypapers_session"
MAX_AGE = int(lifetimes.SESSION_IDLE.total_seconds())  # the cookie is sent again with each response
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_UNSET = object()


def install(app: FastAPI, settings: Settings) -> None:
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=COOKIE, max_age=MAX_AGE,
                       same_site="lax", https_only=settings.public_url.startswith("https://"))


def _session(request: Request) -> dict | None:
    return request.session if "session" in request.scope else None


def bearer(request: Request) -> str | None:
    """The Bearer token of an /api request (pages never accept one)."""
    if not request.url.path.startswith("/api/"):
        return None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def own_token(request: Request) -> str | None:
    """The Bearer token if it has the form of ours (`dp_…`). Another service's token — the
    Hugging Face token huggingface_hub sends with every call — is ignored by read routes and
    refused by write routes (never logged either way)."""
    token = bearer(request)
    return token if token is not None and accounts.is_ours(token) else None


def _foreign_token(request: Request) -> bool:
    return bearer(request) is not None and own_token(request) is None


def viewer(request: Request) -> User | None:
    """The signed-in member (from our Bearer token on /api, else the session), or None.
    AuthenticationFailed (401) for an unknown or revoked token of ours, and for a token that is
    not ours on a write."""
    cached = getattr(request.state, "viewer", _UNSET)
    if cached is not _UNSET:
        return cast("User | None", cached)
    if request.method not in SAFE_METHODS and _foreign_token(request):
        raise AuthenticationFailed(accounts.FOREIGN_TOKEN)
    token = own_token(request)
    user: User | None
    if token is not None:
        user = accounts.user_for_token(deps.store(request), token)
    else:
        user = _session_member(request)
    request.state.viewer = user
    return user


def _session_member(request: Request) -> User | None:
    session = _session(request)
    if not session or not isinstance(session.get("sid"), str):
        return None
    user = lifetimes.member(deps.store(request), session["sid"], deps.now(request))
    if user is None:  # signed out (here or everywhere), expired, or the member was removed
        for key in ("sid", "uid"):
            session.pop(key, None)
    return user


def require_user(request: Request) -> User:
    user = viewer(request)
    if user is None and _foreign_token(request):
        raise AuthenticationFailed(accounts.FOREIGN_TOKEN)
    if user is None:
        raise SignInRequired("sign in to do that")
    return user


def require_moderator(request: Request) -> User:
    user = require_user(request)
    if not user.is_moderator:
        raise PermissionDenied("this page is for moderators")
    return user


def require_admin(request: Request) -> User:
    user = require_user(request)
    if not user.is_admin:
        raise PermissionDenied("this page is for administrators")
    return user


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use)."""
    session = _session(request)
    if session is None:
        return ""
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


async def csrf_protect(request: Request) -> None:
    """A dependency on every router with state-changing routes: refuse a POST without the token."""
    if request.method in SAFE_METHODS or own_token(request) is not None:
        return
    if bearer(request) is not None:
        raise AuthenticationFailed(accounts.FOREIGN_TOKEN)
    session = _session(request)
    if request.url.path.startswith("/api/") and not (session and session.get("sid")):
        raise SignInRequired("send a personal API token: Authorization: Bearer <token>")
    sent: str | UploadFile | None = request.headers.get(CSRF_HEADER)
    if not sent and request.headers.get("content-type", "").startswith(_FORMS):
        sent = (await request.form()).get(CSRF_FIELD)
    expected = session.get("csrf") if session else None
    if not (isinstance(sent, str) and isinstance(expected, str) and hmac.compare_digest(sent, expected)):
        raise PermissionDenied("the form has expired or did not come from this site (missing CSRF token); "
                               "reload the page and try again")


def sign_in(request: Request, user: User) -> None:
    """A new server-side session for the member, and a fresh cookie (new id, new CSRF token)."""
    session = request.session
    session.clear()
    session_id = lifetimes.start(deps.store(request), user, deps.now(request))
    session.update({"sid": session_id, "uid": user.id, "csrf": secrets.token_urlsafe(32)})
    request.state.viewer = user


def sign_out(request: Request) -> None:
    """End this session on the server and forget the cookie."""
    session_id = request.session.get("sid")
    if isinstance(session_id, str):
        lifetimes.end(deps.store(request), session_id)
    request.session.clear()
    request.state.viewer = None


def sign_out_everywhere(request: Request, user: User) -> None:
    """End every session of the member, this one included."""
    lifetimes.end_everywhere(deps.store(request), user)
    request.session.clear()
    request.state.viewer = None


def safe_next(raw: str | None, default: str = "/") -> str:
    """A local path to go back to (never another site: no scheme, no host, no //)."""
    raw = (raw or "").strip()
    parts = urlsplit(raw)
    if not raw.startswith("/") or raw.startswith("//") or "\\" in raw or parts.scheme or parts.netloc:
        return default
    return raw


def signin_url(next_path: str) -> str:
    return "/signin?next=" + quote(safe_next(next_path), safe="/")
