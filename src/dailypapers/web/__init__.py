"""The web layer: server-rendered pages, the Hugging Face-compatible JSON API, Markdown and BibTeX.

`create_app()` builds the FastAPI application; nothing below `web` imports from it.
"""

from .app import create_app

__all__ = ["create_app"]
