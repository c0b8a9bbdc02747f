"""Security headers on every kind of response (pages, API, static files, feeds, OpenAPI, and every
error: 400, 404, 413, 414, 429, 500), from the test client and from a real uvicorn server; and no
template or rendered page carries an inline script, an on*= handler or an inline style, which the
CSP (script-src 'self'; style-src 'self', no 'unsafe-inline') would block."""

from __future__ import annotations

import dataclasses
import re
import secrets
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from support.failing import add_failing_routes

from dailypapers.web import create_app

TEMPLATES = Path(__file__).resolve().parents[1] / "src" / "dailypapers" / "web" / "templates"
PAPER = "2501.00001"


def check(headers, what: str) -> None:
    csp = headers.get("Content-Security-Policy", "")
    directives = dict((d.strip().split(" ", 1) + [""])[:2] for d in csp.split(";") if d.strip())
    assert directives.get("script-src") == "'self'", (what, csp)
    assert directives.get("style-src") == "'self'", (what, csp)
    assert directives.get("frame-ancestors") == "'none'", (what, csp)
    assert directives.get("object-src") == "'none'" and directives.get("base-uri") == "'none'", (what, csp)
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (what, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", what
    assert headers.get("X-Frame-Options") == "DENY", what


@pytest.fixture(scope="module")
def strict(web_settings, web_store):
    """An app with tiny limits, so every error status can be provoked, and a failing route."""
    settings = dataclasses.replace(web_settings, secret_key="headers-" + secrets.token_hex(16), rate_limit_search=1,
                                   max_body_bytes=100, max_url_bytes=200)
    app = create_app(settings, store=web_store)
    add_failing_routes(app, "boom")
    return app


RESPONSES = [
    ("GET", "/", None, 200), ("GET", f"/papers/{PAPER}", None, 200), ("GET", "/about", None, 200),
    ("GET", "/signin", None, 200), ("GET", "/subscribe", None, 200),
    ("GET", "/static/app.js", None, 200), ("GET", "/static/style.css", None, 200),
    ("GET", "/static/favicon.svg", None, 200), ("GET", "/static/missing.js", None, 404),
    ("GET", "/feeds/daily.rss", None, 200), ("GET", "/feeds/trending.atom", None, 200),
    ("GET", "/api/daily_papers", None, 200), ("GET", f"/api/papers/{PAPER}", None, 200),
    ("GET", "/openapi.json", None, 200),
    ("GET", "/no/such/page", None, 404), ("GET", "/api/papers/not-an-id", None, 400),
    ("GET", "/api/nothing-here", None, 404), ("DELETE", "/api/daily_papers", None, 405),
    ("POST", "/signin", None, 403),  # no CSRF token
    ("POST", "/signin", b"x" * 500, 413), ("GET", "/search?q=" + "a" * 300, None, 414),
    ("GET", "/search?q=one", None, 200), ("GET", "/search?q=two", None, 429),
    ("GET", "/test-boom", None, 500), ("GET", "/api/test-boom", None, 500),
]


def test_every_kind_of_response_carries_the_headers(strict):
    client = TestClient(strict, raise_server_exceptions=False, client=("127.0.0.7", 40000))
    for method, url, body, status in RESPONSES:
        response = client.request(method, url, content=body)
        assert response.status_code == status, (method, url, response.status_code, response.text[:200])
        check(response.headers, f"{method} {url}")
    api = client.get("/api/daily_papers").headers
    assert api["Access-Control-Allow-Origin"] == "*" and "Strict-Transport-Security" not in api


def test_a_real_server_sends_them_too(live_server):
    with httpx.Client(base_url=live_server, timeout=30) as http:
        for url in ("/", "/static/app.js", "/feeds/daily.rss", "/api/daily_papers", "/no/such/page"):
            check(http.get(url).headers, url)


def test_https_deployments_get_hsts(web_settings, web_store):
    app = create_app(dataclasses.replace(web_settings, public_url="https://papers.example.org",
                                         trusted_hosts=("testserver",)), store=web_store)
    headers = TestClient(app).get("/about").headers
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    check(headers, "https /about")


INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)


def test_templates_have_no_inline_script_handler_or_style():
    files = sorted(TEMPLATES.rglob("*.html"))
    assert len(files) > 20
    for path in files:
        text = path.read_text()
        for tag in re.findall(r"<script\b[^>]*>", text, re.I):
            assert "src=" in tag, (path.name, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", text, re.I), path.name  # no inline body
        assert not INLINE_HANDLER.search(text), path.name
        assert not re.search(r"\sstyle\s*=", text, re.I) and "<style" not in text.lower(), path.name
        assert "javascript:" not in text.lower(), path.name


PAGES = ["/", f"/papers/{PAPER}", "/papers/2409.09007", "/search?q=energy", "/search?q=alert+onerror", "/about",
         "/signin", "/signup", "/password/forgot", "/subscribe", "/trending", "/papers/month/2024-09",
         "/categories/cs.LG", "/no/such/page"]


def test_rendered_pages_have_no_inline_script_handler_or_style(web_client):
    checked = 0
    for url in PAGES:
        response = web_client.get(url)
        if response.status_code == 404 and url != "/no/such/page":
            continue  # a page type this data set has no instance of
        soup = BeautifulSoup(response.text, "html.parser")
        for script in soup.find_all("script"):
            assert script.get("src", "").startswith("/static/") and not script.string, (url, str(script)[:200])
        assert not soup.find_all("style") and not soup.find_all(style=True), url
        for tag in soup.find_all(True):
            handlers = [a for a in tag.attrs if a.lower().startswith("on")]
            assert not handlers, (url, tag.name, handlers)
            for attr in ("href", "src", "action", "formaction"):
                assert not str(tag.get(attr, "")).strip().lower().startswith("javascript:"), (url, tag.name)
        checked += 1
    assert checked >= 10
