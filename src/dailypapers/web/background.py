"""Work a web process does beside serving: follow the change feed into this node's indexes, and
load the embedding model before the first query needs it."""

from __future__ import annotations

import logging
import threading

from fastapi import FastAPI

from ..search.follow import IndexFollower
from ..search.generations import read_state as read_keyword_state
from ..search.keyword import KeywordIndex
from ..search.sync import follow_keyword_index, follow_vector_index
from ..search.vector_index import read_state

log = logging.getLogger("dailypapers.web")


def start(app: FastAPI) -> None:
    settings = app.state.settings
    if settings.index_follow_interval > 0:
        follower = IndexFollower(settings.index_dir / ".follower.lock",
                                 [lambda: _sync_keyword(app), lambda: _sync_vectors(app)],
                                 settings.index_follow_interval)
        follower.start()
        app.state.follower = follower
    if read_state(settings.index_dir / "vectors") is not None:
        threading.Thread(target=_warm, args=(app,), name="warm-encoder", daemon=True).start()


def stop(app: FastAPI) -> None:
    follower = getattr(app.state, "follower", None)
    if follower is not None:
        follower.stop()


def _sync_keyword(app: FastAPI) -> int:
    """Follow the change sequence into the keyword index, or build it when it is missing (a new
    node, or deleted while serving: searches answer 503 meanwhile), as the vector index does."""
    path = app.state.index_path
    if app.state.index is None and read_keyword_state(path) is not None:
        app.state.index = KeywordIndex(path)
    return follow_keyword_index(app.state.store, path, app.state.index)


def _sync_vectors(app: FastAPI) -> int:
    from dailypapers.search.encoder.embeddings import DIM, MODEL_ID

    return follow_vector_index(app.state.store, app.state.settings.index_dir / "vectors", MODEL_ID, DIM)


def _warm(app: FastAPI) -> None:
    from .deps import search_service_for_app

    service = search_service_for_app(app)
    if service is not None and not service.warm():
        log.warning("semantic search unavailable: %s", service.semantic_status())
