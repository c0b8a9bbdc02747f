"""Rendering messages from templates in delivery/templates: `<name>.txt` (plain text, no escaping)
and `<name>.html` (autoescaped; inline CSS only, since mail clients drop stylesheets)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES = Path(__file__).parent / "templates"

_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
_ENV.filters["thousands"] = lambda n: f"{n:,}" if isinstance(n, int) else n


def render(name: str, **context) -> tuple[str, str]:
    """(text, html) of the message `name`."""
    return _ENV.get_template(f"{name}.txt").render(**context), _ENV.get_template(f"{name}.html").render(**context)
