"""Security headers on every response (pages, API, static files, feeds, errors): no sniffing, no
framing, a CSP without inline scripts or inline styles (templates use classes and /static files
only; tests/test_headers.py checks every page), and HSTS when the public URL is https. And the
host names the app answers when it has a public URL (`trusted_hosts`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from ..config import Settings

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
# The one host of the thumbnails Hugging Face recorded (web/render/thumbnails.py): images from it
# are allowed only when DAILYPAPERS_REMOTE_IMAGES is on.
REMOTE_IMAGE_HOST = "cdn-thumbnails.huggingface.co"
CSP_REMOTE_IMAGES = CSP.replace("img-src 'self' data:", f"img-src 'self' data: https://{REMOTE_IMAGE_HOST}")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")  # local health checks and `curl` on the node itself
STATIC_CACHE = "public, max-age=3600"
HSTS = "max-age=31536000; includeSubDomains"


def trusted_hosts(settings: Settings) -> list[str] | None:
    """The Host names requests may carry when a public URL is set: its host, loopback and
    DAILYPAPERS_TRUSTED_HOSTS (others get 400). None without a public URL: any Host is served
    then, since no link the app sends is ever built from it (delivery/links.py)."""
    if not settings.public_host:
        return None
    return list(dict.fromkeys([settings.public_host, *LOOPBACK_HOSTS, *settings.trusted_hosts]))


def apply(headers: MutableHeaders, path: str, csp: str = CSP) -> None:
    for key, value in HEADERS.items():
        headers.setdefault(key, csp if key == "Content-Security-Policy" else value)
    if path.startswith("/api/"):
        headers.setdefault("Access-Control-Allow-Origin", "*")  # read-only, no credentials
        headers.setdefault("Access-Control-Expose-Headers", "Link, X-Total-Count, X-Search-Suggestions")
    elif path.startswith("/static/"):
        headers.setdefault("Cache-Control", STATIC_CACHE)


class SecurityHeaders:
    """A plain ASGI middleware (no request buffering) that adds HEADERS to every response."""

    def __init__(self, app: ASGIApp, hsts: bool = False, remote_images: bool = False) -> None:
        self.app, self.hsts = app, hsts
        self.csp = CSP_REMOTE_IMAGES if remote_images else CSP

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                apply(headers, scope.get("path", ""), self.csp)
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
