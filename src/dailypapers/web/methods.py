"""HEAD on every GET route, and CORS preflight for the JSON API's GETs.

FastAPI routes answer only the methods they name. HEAD is GET without the body (RFC 9110): here a
HEAD request runs as a GET and its body is dropped; the headers, Content-Length included, stay.

Scripts on other sites may read `/api` with GET and HEAD, without credentials (clients of the
Hugging Face API do): Starlette's CORSMiddleware answers their preflight `OPTIONS` on /api paths,
and security.apply puts `Access-Control-Allow-Origin: *` on every /api response. Writes are not
offered across origins (their preflight is refused).
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PREFLIGHT_MAX_AGE_S = 86_400


class HeadAsGet:
    """A plain ASGI middleware: HEAD runs the GET route, and only the response's start is sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


class ApiCors:
    """CORS for /api paths only (GET and HEAD from any origin, no credentials); pages pass by."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(app, allow_origins=["*"], allow_methods=["GET", "HEAD"], allow_headers=["*"],
                                   expose_headers=["Link", "X-Total-Count", "X-Search-Suggestions"],
                                   max_age=PREFLIGHT_MAX_AGE_S)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
