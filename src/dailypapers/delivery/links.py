"""Absolute URLs for messages and feeds.

Links in mail (`mail_base`) never come from a request: a request's Host header is whatever the
client sent, and a reset link built from `Host: evil.example` would carry a real token to
evil.example. They use settings.public_url (which production requires), else, in development,
http://127.0.0.1:<port> from the settings. Feeds, read over HTTP by whoever asked, may use the
address the request came to when no public URL is set (`base_url`)."""

from __future__ import annotations

from urllib.parse import quote

from dailypapers.config import Settings
from dailypapers.delivery import tokens
from dailypapers.store.subscriptions import Subscription


def mail_base(settings: Settings) -> str:
    """The base of every link in a message: the public URL, else (development) this server's
    configured address — never a request's Host."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


def base_url(settings: Settings, request_base: str | None = None) -> str:
    """The base for links in a feed: the public URL, else the address the request came to."""
    if not settings.public_url and request_base:
        return request_base.rstrip("/")
    return mail_base(settings)


def absolute(base: str, path: str) -> str:
    return base.rstrip("/") + "/" + path.lstrip("/")


def confirm_url(settings: Settings, base: str, sub: Subscription, email: str | None = None) -> str:
    token = tokens.make(settings, "confirm", sub.id, sub.key, email)
    return absolute(base, f"/subscribe/confirm?token={quote(token)}")


def unsubscribe_url(settings: Settings, base: str, sub: Subscription) -> str:
    """The one-click (RFC 8058) URL: a GET shows a confirmation form, a POST unsubscribes."""
    return absolute(base, f"/unsubscribe/{quote(tokens.make(settings, 'unsubscribe', sub.id, sub.key))}")


def manage_url(settings: Settings, base: str, sub: Subscription) -> str:
    return absolute(base, f"/subscription/{quote(tokens.make(settings, 'manage', sub.id, sub.key))}")


def unsubscribe_mailto(settings: Settings, sub: Subscription) -> str | None:
    """mailto: for List-Unsubscribe when settings.mail_unsubscribe_mailto is set (requests sent
    there are for the operator's mail system; the https link is what unsubscribes at once)."""
    if not settings.mail_unsubscribe_mailto:
        return None
    token = tokens.make(settings, "unsubscribe", sub.id, sub.key)
    return f"mailto:{settings.mail_unsubscribe_mailto}?subject={quote('unsubscribe ' + token)}"
