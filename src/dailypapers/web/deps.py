"""What route handlers need from the application: the store, the settings, the keyword index."""

from __future__ import annotations

from fastapi import Request

from ..config import Settings
from ..search.keyword import KeywordIndex
from ..store import Store


def store(request: Request) -> Store:
    return request.app.state.store


def settings(request: Request) -> Settings:
    return request.app.state.settings


def keyword_index(request: Request) -> KeywordIndex | None:
    """The keyword index, opened on first use; None while it is not on disk (not built yet, or
    deleted: the index follower builds it, web/background.py), and searches answer 503."""
    return _keyword_index(request.app.state)


def _keyword_index(state) -> KeywordIndex | None:
    if not (state.index_path / "state.json").exists():
        return None
    if state.index is None:
        state.index = KeywordIndex(state.index_path)
    return state.index


def search_service(request: Request):
    """Hybrid/semantic/keyword search over this node's indexes (None until the keyword index exists).

    The encoder and the vector index open lazily inside the service; when either is missing the
    service answers in keyword mode with a notice instead of failing."""
    return search_service_for_app(request.app)


def search_service_for_app(app):
    state = app.state
    index = _keyword_index(state)
    if index is None:
        return None
    if getattr(state, "search", None) is None:
        from ..search.service import open_search_service

        settings = state.settings
        state.search = open_search_service(settings.index_dir, state.store, settings.data_dir / "models",
                                           keyword_index=index, rrf_k=settings.rrf_k)
    return state.search


def now(request: Request):
    """The current time (UTC); tests may set app.state.clock to a function returning another."""
    clock = getattr(request.app.state, "clock", None)
    if clock is not None:
        return clock()
    from ..store.sqlutil import utcnow

    return utcnow()


def limits(request: Request):
    """This application's rate limiters (in-process; see community/ratelimit.py)."""
    return request.app.state.limits


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
