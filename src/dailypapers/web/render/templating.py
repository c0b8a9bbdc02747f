"""The Jinja2 environment (autoescape on for every template) and the one `render` helper."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).parents[1] / "templates"
STATIC = Path(__file__).parents[1] / "static"


def make_env() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["plural"] = lambda n, word: f"{n:,} {word}" + ("" if n == 1 else "s")
    return env


def with_params(request: Request, **changes) -> str:
    """The current path and query with some parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    env: Environment = request.app.state.jinja
    context.setdefault("query", request.query_params.get("q", "") if request.url.path == "/search" else "")
    context.setdefault("nav_section", "")
    context.setdefault("canonical", None)
    _add_viewer(request, context)
    html = env.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status)


def _add_viewer(request: Request, context: dict) -> None:
    """The signed-in member and this session's CSRF token, for the header and every form."""
    from dailypapers.web.sessions import csrf_token, viewer

    if "viewer" not in context:
        try:
            context["viewer"] = viewer(request)
        except Exception:  # an error page must render even when the session or database cannot
            context["viewer"] = None
    public = getattr(request.state, "public_page", False)  # web/caching.py: served to any anonymous reader
    context.setdefault("csrf_token", "" if public else csrf_token(request))
