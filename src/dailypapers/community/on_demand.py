"""Any arXiv paper on demand (issue 15, item 14): `/papers/{id}` for a well-formed id that is not
stored asks the arXiv API for it (as submitting does), stores it and shows it, as Hugging Face does.

A GET that writes is acceptable here only as a cache fill of public metadata, what the harvester
would store anyway. It is rate-limited per process: at most one arXiv request per `harvest_delay`
seconds (arXiv asks for 3 between requests); a request that would come sooner is not queued.
Every failure is a 404 page that says which it was (arXiv does not know the id; arXiv could not be
reached; arXiv was asked a moment ago): the paper is not here, and a 5xx would blame this site
for another's answer. An id arXiv does not know is remembered for MISS_SECONDS (up to MAX_MISSES
ids), so asking for it again does not reach arXiv.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

from ..config import Settings
from ..errors import FetchError, NotFound
from ..models import Paper, Record
from ..store import Store
from .submit import fetch_paper

MISS_SECONDS = 3600.0
MAX_MISSES = 10_000
_CREATE = threading.Lock()


class OnDemand:
    """Fetches unknown papers from the arXiv API, one request per `interval` seconds at most."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval, self.clock = interval, clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._misses: dict[str, float] = {}

    def fetch(self, store: Store, settings: Settings, arxiv_id: str) -> Paper:
        """Fetch, store and return the paper; NotFound saying why when it cannot."""
        self._take_turn(arxiv_id)
        try:
            paper = fetch_paper(settings.arxiv_api_url, arxiv_id)
        except NotFound:
            self._remember_miss(arxiv_id)
            raise NotFound(f"{arxiv_id} is not stored here, and arXiv does not know it either") from None
        except FetchError:
            raise NotFound(f"{arxiv_id} is not stored here, and arXiv could not be reached to fetch it; "
                           "try again later") from None
        store.write([Record(paper)])
        return store.get_paper(arxiv_id)

    def _take_turn(self, arxiv_id: str) -> None:
        with self._lock:
            now = self.clock()
            seen = self._misses.get(arxiv_id)
            if seen is not None and now - seen < MISS_SECONDS:
                raise NotFound(f"{arxiv_id} is not stored here, and arXiv does not know it either")
            wait = self.interval - (now - self._last) if self._last is not None else 0.0
            if wait > 0:
                raise NotFound(f"{arxiv_id} is not stored here yet; arXiv was asked for another paper a moment "
                               f"ago, so try again in {math.ceil(wait)} seconds")
            self._last = now

    def _remember_miss(self, arxiv_id: str) -> None:
        with self._lock:
            if len(self._misses) >= MAX_MISSES:
                self._misses.clear()
            self._misses[arxiv_id] = self.clock()


def for_app(state: Any, settings: Settings) -> OnDemand:
    """The app's one fetcher (its rate limit is per process), made on first use."""
    with _CREATE:
        found = getattr(state, "arxiv_on_demand", None)
        if found is None:
            found = OnDemand(settings.harvest_delay)
            state.arxiv_on_demand = found
        return found
