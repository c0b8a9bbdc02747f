"""Request limits: sizes (an ASGI middleware, before anything reads the request) and rates (a
dependency on every route, after the size check).

Sizes: a path plus query string longer than `max_url_bytes` gets 414, more than
`max_query_params` query parameters 400, a body larger than `max_body_bytes` 413 (from its
Content-Length at once; a body without one is read up to the limit and refused when it passes it).

Rates, per minute, per API token when a valid one is sent (on /api), else per client address:
searches (the search page, the API's search and search feeds), other /api requests, and form
submissions (POST outside /api). Community actions have their own, tighter limits
(community/ratelimit.py). Refusals are 429 with Retry-After, rendered by web/errors.py.

Behind a reverse proxy the client address is the proxy's unless uvicorn is told to trust its
X-Forwarded-For (`--proxy-headers --forwarded-allow-ips`, see the README's deployment notes).
"""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..errors import AuthenticationFailed, RateLimited
from . import deps

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class SizeLimits:
    """Refuses oversized URLs, query strings and bodies before the app sees them."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.max_body, self.max_url = settings.max_body_bytes, settings.max_url_bytes
        self.max_params = settings.max_query_params

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        path: bytes = scope.get("raw_path") or scope.get("path", "").encode()
        if len(path) + len(query) > self.max_url:
            await self._refuse(scope, receive, send, 414,
                               f"The address is longer than {self.max_url} bytes; shorten the query.")
            return
        if query and query.count(b"&") + 1 > self.max_params:
            params = sum(1 for part in query.split(b"&") if part)
            if params > self.max_params:
                await self._refuse(scope, receive, send, 400, f"The address has {params} query parameters; "
                                                              f"at most {self.max_params} are accepted.")
                return
        length = _content_length(scope)
        if length is not None and length > self.max_body:
            await self._refuse(scope, receive, send, 413, self._too_large())
            return
        if length is None and scope.get("method") not in SAFE_METHODS:
            body = await self._read_bounded(receive)
            if body is None:
                await self._refuse(scope, None, send, 413, self._too_large())
                return
            receive = _replay(body, receive)
        await self.app(scope, receive, send)

    def _too_large(self) -> str:
        return f"The request body is larger than {self.max_body} bytes."

    async def _read_bounded(self, receive: Receive) -> bytes | None:
        """The whole body, or None as soon as it passes the limit."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)  # the client went away; the app will see an empty body
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _refuse(self, scope: Scope, receive: Receive | None, send: Send, status: int, message: str) -> None:
        from .errors import error_response

        request = Request(scope)
        response = error_response(request, status, message)
        if status == 413:
            response.headers["Connection"] = "close"  # the rest of the body is not read
        await response(scope, receive or _nothing, send)


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # after the body: wait for the disconnect as usual

    return replay


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


def client_key(request: Request) -> str:
    """`token:<token>` for a valid Bearer token of ours on /api, else `addr:<client address>`.

    An unknown token, or another service's (an HF token), counts against the address, so made-up
    tokens buy no extra requests."""
    from .sessions import own_token, viewer

    token = own_token(request)
    if token is not None:
        try:
            if viewer(request) is not None:
                return f"token:{token}"
        except AuthenticationFailed:
            pass
    return f"addr:{deps.client_address(request)}"


def is_search(path: str) -> bool:
    return path in ("/search", "/api/papers/search") or path.startswith("/feeds/search")


def throttle(request: Request) -> None:
    """The app-wide dependency: one hit on the limit this request falls under (RateLimited: 429).

    A plain function, so FastAPI runs it in its thread pool: the database counter never blocks
    the event loop."""
    if getattr(request.state, "rate_counted", False):  # within_limit counted it before the route
        return
    path, limits = request.url.path, deps.limits(request)
    if is_search(path):
        limiter = limits.search
    elif path.startswith("/api/"):
        limiter = limits.api
    elif request.method not in SAFE_METHODS:
        limiter = limits.forms
    else:
        return
    if limiter.limit > 0:
        limiter.hit(client_key(request))


def api_limited(request: Request) -> bool:
    """Whether the API has a limit to count against (off: no hit, and no thread hop to make one)."""
    return deps.limits(request).api.limit > 0


def within_limit(request: Request) -> bool:
    """throttle() for an answer given without the route (a 304 or a page from the render cache):
    one hit, and False once the request is over its limit, so that the route then answers the 429
    through the one error renderer (its own throttle refuses again)."""
    try:
        throttle(request)
    except RateLimited:
        return False
    request.state.rate_counted = True  # the route, if the page is rendered, does not count it again
    return True
