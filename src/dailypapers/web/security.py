"""Security headers on every response (pages, API, static files, feeds, errors): no sniffing, no
framing, a CSP without inline scripts or inline styles (templates use classes and /static files
only; tests/test_headers.py checks every page), and HSTS when the public URL is https."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
STATIC_CACHE = "public, max-age=3600"
HSTS = "max-age=31536000; includeSubDomains"


def apply(headers: MutableHeaders, path: str) -> None:
    for key, value in HEADERS.items():
        headers.setdefault(key, value)
    if path.startswith("/api/"):
        headers.setdefault("Access-Control-Allow-Origin", "*")  # read-only, no credentials
        headers.setdefault("Access-Control-Expose-Headers", "Link, X-Total-Count")
    elif path.startswith("/static/"):
        headers.setdefault("Cache-Control", STATIC_CACHE)


class SecurityHeaders:
    """A plain ASGI middleware (no request buffering) that adds HEADERS to every response."""

    def __init__(self, app: ASGIApp, hsts: bool = False) -> None:
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                apply(headers, scope.get("path", ""))
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
