"""The thin fetching layer: one User-Agent, timeouts, polite spacing, and the arXiv API query."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping

import httpx

from ..errors import FetchError, InvalidQuery, ParseError
from ..models import Record
from . import atom

USER_AGENT = "dailypapers/0.1 (+self-hosted)"
TIMEOUT = httpx.Timeout(60.0, connect=10.0)
ARXIV_API_URL = "https://export.arxiv.org/api/query"

Params = Mapping[str, str | int]


def make_client(**kwargs) -> httpx.Client:
    """An httpx client with the dailypapers User-Agent and timeouts."""
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("follow_redirects", True)
    return httpx.Client(headers={"User-Agent": USER_AGENT}, **kwargs)


def fetch(url: str, params: Params | None = None, client: httpx.Client | None = None) -> httpx.Response:
    """GET `url`; the status is the caller's to judge, a transport failure is a FetchError."""
    owned = client is None
    client = client or make_client()
    try:
        return client.get(url, params=params, headers={"User-Agent": USER_AGENT})
    except httpx.HTTPError as exc:
        raise FetchError(f"GET {url} failed: {exc.__class__.__name__}: {exc}") from exc
    finally:
        if owned:
            client.close()


class RateLimiter:
    """At most one call of `wait()` per `delay` seconds, measured with `clock`, waiting with `sleep`."""

    def __init__(self, delay: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep) -> None:
        self.delay, self.clock, self.sleep = delay, clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            remaining = self.delay - (self.clock() - self._last)
            if remaining > 0:
                self.sleep(remaining)
        self._last = self.clock()


def arxiv_api_query(base_url: str = ARXIV_API_URL, *, id_list: Iterable[str] | None = None,
                    search_query: str | None = None, start: int = 0, max_results: int = 100,
                    sort_by: str | None = None, sort_order: str | None = None,
                    client: httpx.Client | None = None) -> list[Record | ParseError]:
    """Query the arXiv API and parse the Atom answer (records, and per-entry ParseErrors).

    An error answer (HTTP 400 with an Atom error entry, or any other non-200) is a FetchError."""
    ids = ",".join(id_list or [])
    if not ids and not search_query:
        raise InvalidQuery("arxiv_api_query needs id_list or search_query")
    params: dict[str, str | int] = {"search_query": search_query or "", "id_list": ids}
    params |= {"sortBy": sort_by} if sort_by else {}
    params |= {"sortOrder": sort_order} if sort_order else {}
    params |= {"start": start, "max_results": max_results}
    response = fetch(base_url, params, client)
    if response.status_code != 200:
        reason = atom.api_error(response.content) or response.reason_phrase
        raise FetchError(f"arXiv API answered HTTP {response.status_code} for {response.url}: {reason}")
    return list(atom.parse(response.content, source=str(response.url)))
