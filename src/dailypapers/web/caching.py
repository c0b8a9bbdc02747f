"""Conditional GET and compression for the pages most read (issue 16, item 1).

Anonymous readers of the daily, week and month lists, a paper's page (and its .md / .bib) and
`/api/daily_papers` get an ETag: a hash of the store's content version (store/changes.py:
`content_version`, read from the shared database in one statement, so every node and worker
agrees and a vote, a new paper or a hidden comment changes it at once; one read answers every
request that arrived before it started, web/fresh_version.py), the URL with its query,
and today's date (a list's links to the next day depend on it). A request whose `If-None-Match`
holds that tag gets 304 without the page being rendered. The answer is `public` for a short
`max-age` (a proxy may serve it briefly, then revalidates); a response that sets a cookie is
never public. A signed-in request (a member in the session) or one with an Authorization header
is rendered as before and marked `private, no-store`. The middleware sits inside Starlette's
SessionMiddleware, which it reads; an anonymous reader's page carries no CSRF token (its forms
then ask to sign in, sessions.csrf_protect), so one reader's page can be served to another.

With a RenderCache (web/render_cache.py, on unless DAILYPAPERS_RENDER_CACHE_MB is 0), a page that
misses the validator is served from this process's memory when it was rendered for the same key:
the ETag, host and scheme, JSON or not (Accept), and for a paper's page this node's index state.
A paper's page and trending views depend on the time of day (the trending standing, the upvote
chart), so their key also holds a FRESH_SECONDS slot of the clock; other pages hold only the day.

`compress` adds Starlette's GZipMiddleware (bodies of at least GZIP_MIN_BYTES; it sends
`Vary: Accept-Encoding`). Both sit inside SecurityHeaders, so a 304 carries the security headers.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Hashable

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..store.changes import content_version
from ..store.sqlutil import utcnow
from .fresh_version import FreshVersion
from .limits import api_limited, within_limit
from .render_cache import RenderCache

CACHED_PATHS = re.compile(r"^/(?:|papers/(?:date|week|month)/[^/]+|papers/(?!date/|week/|month/).+|api/daily_papers)$")
PAPER_PAGE = re.compile(r"^/papers/(?!date/|week/|month/|trending$)[^?]+(?<!\.md)(?<!\.bib)$")
FRESH_SECONDS = 300  # a paper's page and trending views: what they show of "now" is at most this old
INDEX_STATES = ("keyword", "vectors")  # this node's indexes (under index_dir): similar papers, key phrases
PUBLIC = "public, max-age=5"  # a proxy may answer for 5 s, then asks again (If-None-Match, cheap)
PRIVATE = "private, no-store"  # signed in: the page is the member's
REVALIDATE = "private, no-cache"  # anonymous with a session cookie: the browser keeps it, asks each time
PUBLIC_PAGE = "public_page"  # request.state flag: render for any anonymous reader (no CSRF token)
VARY = "Cookie, Authorization"  # a shared cache keeps signed-in readers apart from anonymous ones
GZIP_MIN_BYTES = 1024


def compress(app: FastAPI) -> None:
    """Gzip HTML, JSON and feeds of GZIP_MIN_BYTES or more when the client accepts it."""
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES)


def anonymous(scope: Scope) -> bool:
    """Not signed in (no member in the session) and no Authorization header: the page is the same
    for every such reader, and it is rendered without a CSRF token (templating.py), so it holds
    nothing of the visitor's."""
    session = scope.get("session") or {}
    return not (session.get("sid") or session.get("uid")) and "authorization" not in Headers(scope=scope)


def wants_markdown(accept: str) -> bool:
    """Whether an Accept header asks for text/markdown at least as much as for text/html: a paper's
    page then answers with its Markdown, as Hugging Face's does (browsers never name text/markdown)."""
    weights: dict[str, float] = {}
    for part in accept.lower().split(","):
        kind, *params = [p.strip() for p in part.split(";")]
        weight = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    weight = float(param[2:])
                except ValueError:
                    weight = 0.0
        weights[kind] = max(weights.get(kind, 0.0), weight)
    markdown = weights.get("text/markdown", 0.0)
    return markdown > 0 and markdown >= weights.get("text/html", 0.0)


def etag_for(version: tuple, scope: Scope, moment: str) -> str:
    """A weak tag (the bytes differ between gzip and identity; the page does not); a paper page's
    Markdown (asked for with Accept) has a tag of its own."""
    markdown = wants_markdown(Headers(scope=scope).get("accept", ""))
    key = repr((version, scope.get("path", ""), scope.get("query_string", b""), moment) + (("md",) if markdown else ()))
    return 'W/"' + hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + '"'


def moment_of(scope: Scope, now) -> str:
    """The day (a list's links to the next day depend on it), and for a page that shows something
    of the time of day (a paper's trending standing and upvote chart, a trending order) its slot."""
    day = now.date().isoformat()
    if PAPER_PAGE.match(scope.get("path", "")) or b"trending" in scope.get("query_string", b"") \
            or scope.get("path") == "/papers/trending":
        return f"{day}/{int(now.timestamp()) // FRESH_SECONDS}"
    return day


def render_key(scope: Scope, etag: str, index_state: Hashable) -> Hashable:
    """What else tells two renders of one URL apart: the host and scheme (absolute links in a
    Markdown page), JSON or not (an error's representation follows Accept), this node's indexes."""
    headers = Headers(scope=scope)
    accept = headers.get("accept", "")
    return (etag, headers.get("host", ""), scope.get("scheme", ""), "application/json" in accept,
            wants_markdown(accept), index_state)


def index_state(app, path: str) -> Hashable:
    """For a paper's page, the stamps of this node's index states (they change when the index
    follower applies changes): its similar papers come from them. None for any other page."""
    if not PAPER_PAGE.match(path):
        return None
    stamps: list[tuple[int, int, int] | None] = []
    for name in INDEX_STATES:
        try:
            found = os.stat(app.state.settings.index_dir / name / "state.json")
            stamps.append((found.st_mtime_ns, found.st_size, found.st_ino))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


def matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison: `*`, or any listed tag with the same opaque part."""
    wanted = etag.removeprefix("W/")
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or wanted in tags


class ConditionalGet:
    """A plain ASGI middleware: ETag, 304 and Cache-Control on CACHED_PATHS, and the render cache
    (None: every page rendered) for anonymous readers."""

    def __init__(self, app: ASGIApp, cache: RenderCache | None = None) -> None:
        self.app = app
        self.cache = cache
        self.fresh: FreshVersion | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not CACHED_PATHS.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        if not anonymous(scope):
            await self.app(scope, receive, _with_cache_control(send, scope, None))
            return
        if scope["path"].startswith("/api/") and api_limited(Request(scope)) \
                and not await run_in_threadpool(within_limit, Request(scope)):
            await self.app(scope, receive, send)  # over the API's rate limit: the route answers 429
            return
        version, etag, key = self._validator(scope, await self._fresh_version(scope).get())
        if matches(Headers(scope=scope).get("if-none-match", ""), etag):
            await _not_modified(send, etag, _anonymous_cache(scope), _vary(scope))
            return
        scope.setdefault("state", {})[PUBLIC_PAGE] = True
        marked = _with_cache_control(send, scope, etag)
        if self.cache is None:
            await self.app(scope, receive, marked)
        else:
            await self.cache.respond(self.app, scope, receive, marked, version, key)

    def _fresh_version(self, scope: Scope) -> FreshVersion:
        """The app's FreshVersion over its store (made on the first request: the store is the app's)."""
        if self.fresh is None:
            engine = scope["app"].state.store.engine

            def read() -> tuple:
                with engine.connect() as conn:
                    return content_version(conn)

            self.fresh = FreshVersion(read)
        return self.fresh

    def _validator(self, scope: Scope, version: tuple) -> tuple[tuple, str, Hashable]:
        """The content version, the ETag and the render key."""
        app = scope["app"]
        clock = getattr(app.state, "clock", None)
        etag = etag_for(version, scope, moment_of(scope, clock() if clock is not None else utcnow()))
        key = render_key(scope, etag, index_state(app, scope.get("path", ""))) if self.cache is not None else None
        return version, etag, key


def _with_cache_control(send: Send, scope: Scope, etag: str | None) -> Send:
    """Marks a 200: PRIVATE without an ETag (signed in) or when it sets a cookie, else the ETag and
    _anonymous_cache, decided when the response starts (a route may have written the session)."""
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 200:
            headers = MutableHeaders(scope=message)
            if etag is None or "set-cookie" in headers:
                headers["Cache-Control"] = PRIVATE
            else:
                headers.setdefault("Cache-Control", _anonymous_cache(scope))
                headers["ETag"] = etag
                headers.add_vary_header(_vary(scope))
        await send(message)

    return wrapped


def _anonymous_cache(scope: Scope) -> str:
    """PUBLIC, unless the reader has a session (a CSRF token from a form page): SessionMiddleware
    then sends its cookie again with the response, and a response that sets a cookie is never public."""
    return REVALIDATE if scope.get("session") else PUBLIC


def _vary(scope: Scope) -> str:
    """VARY, and Accept on a paper's page (it answers Markdown to `Accept: text/markdown`)."""
    return VARY + ", Accept" if PAPER_PAGE.match(scope.get("path", "")) else VARY


async def _not_modified(send: Send, etag: str, cache_control: str, vary: str = VARY) -> None:
    headers = [(b"etag", etag.encode()), (b"cache-control", cache_control.encode()),
               (b"vary", ("Accept-Encoding, " + vary).encode())]
    await send({"type": "http.response.start", "status": 304, "headers": headers})
    await send({"type": "http.response.body", "body": b"", "more_body": False})
