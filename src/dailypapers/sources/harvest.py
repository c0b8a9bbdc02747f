"""OAI-PMH harvesting: paging with resumption tokens, one request per `delay` seconds, honouring
`503 Retry-After`, and checkpoints so that an interrupted harvest resumes where it stopped."""

from __future__ import annotations

import datetime as dt
import email.utils
import logging
import math
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import httpx

from ..errors import FetchError, ParseError
from ..models import Record
from . import oai
from .http import RateLimiter, fetch, make_client

log = logging.getLogger("dailypapers.sources")

DEFAULT_RETRY_AFTER = 10.0  # arXiv's own 503 page says "Retry after 10 seconds"


class Checkpoint(Protocol):
    """Where a harvest keeps its state: `{"params": {...}, "token": str | None, "done": bool}`, plus
    `"last_until": "YYYY-MM-DD"` once a harvest completes (its `until`, or the server's date).
    Other keys found in a loaded state are kept in every state saved."""

    def load(self) -> dict | None: ...

    def save(self, state: dict) -> None: ...


class MemoryCheckpoint:
    """A Checkpoint kept in memory (tests, one-off runs); `saves` records every state saved."""

    def __init__(self, state: dict | None = None) -> None:
        self.state = state
        self.saves: list[dict] = []

    def load(self) -> dict | None:
        return dict(self.state) if self.state is not None else None

    def save(self, state: dict) -> None:
        self.state = dict(state)
        self.saves.append(dict(state))


class OAIHarvester:
    def __init__(self, base_url: str, *, metadata_prefix: str = "arXiv", set_: str | None = None,
                 from_: dt.date | None = None, until: dt.date | None = None, delay: float = 3.0,
                 client: httpx.Client | None = None, sleep: Callable[[float], object] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, checkpoint: Checkpoint | None = None,
                 max_retries: int = 5) -> None:
        self.base_url = base_url
        self.params = _list_params(metadata_prefix, set_, from_, until)
        self.client = client
        self.sleep = sleep
        self.limiter = RateLimiter(delay, clock=clock, sleep=sleep)
        self.checkpoint = checkpoint
        self.max_retries = max_retries
        self.requests: list[dict[str, str]] = []  # every request's parameters, in order
        self._carried: dict = {}

    def harvest(self) -> Iterator[Record | ParseError]:
        """Every record of the list, page by page. A page's records are all yielded before the
        checkpoint moves past it, so a crash repeats at most the page being consumed."""
        token = self._resume_token()
        owned = self.client is None
        client = self.client or make_client()
        try:
            while True:
                params = {"verb": "ListRecords", "resumptionToken": token} if token else self.params
                page = self._page(client, params)
                yield from page.records
                token = page.token
                self._save(token, page.response_date)
                if not token:
                    return
        finally:
            if owned:
                client.close()

    def _resume_token(self) -> str | None:
        state = self.checkpoint.load() if self.checkpoint else None
        self._carried = {k: v for k, v in (state or {}).items() if k not in ("params", "token", "done")}
        if state and state.get("params") == self.params and not state.get("done") and state.get("token"):
            log.info("resuming OAI-PMH harvest from token %s", state["token"])
            return state["token"]
        return None

    def _save(self, token: str | None, response_date: str | None) -> None:
        if not self.checkpoint:
            return
        state = {**self._carried, "params": self.params, "token": token, "done": not token}
        if not token:
            last = self.params.get("until") or (response_date or "")[:10]
            state["last_until"] = last or self._carried.get("last_until")
        self.checkpoint.save(state)

    def _page(self, client: httpx.Client, params: dict[str, str]) -> oai.Page:
        response = self._get(client, params)
        try:
            return oai.parse_page(response.content, source=str(response.url))
        except ParseError as exc:
            raise FetchError(f"OAI-PMH harvest stopped: {exc}") from exc

    def _get(self, client: httpx.Client, params: dict[str, str]) -> httpx.Response:
        for attempt in range(self.max_retries + 1):
            self.limiter.wait()
            self.requests.append(dict(params))
            response = fetch(self.base_url, params, client)
            if response.status_code == 200:
                return response
            if response.status_code != 503:
                raise FetchError(f"OAI-PMH request {response.url} answered HTTP {response.status_code}")
            if attempt == self.max_retries:
                break
            wait = retry_after(response.headers.get("Retry-After"))
            log.warning("OAI-PMH 503 from %s; retry %d of %d in %.0f s",
                        self.base_url, attempt + 1, self.max_retries, wait)
            self.sleep(wait)
        raise FetchError(f"OAI-PMH endpoint {self.base_url} still unavailable (HTTP 503) "
                         f"after {self.max_retries} retries")


def retry_after(value: str | None, default: float = DEFAULT_RETRY_AFTER) -> float:
    """Seconds to wait from a Retry-After header: a number of seconds or an HTTP date."""
    if not value:
        return default
    value = value.strip()
    try:
        seconds = float(value)
        return max(0.0, seconds) if math.isfinite(seconds) else default
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _list_params(prefix: str, set_: str | None, from_: dt.date | None, until: dt.date | None) -> dict[str, str]:
    params = {"verb": "ListRecords", "metadataPrefix": prefix}
    if from_:
        params["from"] = f"{from_:%Y-%m-%d}"
    if until:
        params["until"] = f"{until:%Y-%m-%d}"
    if set_:
        params["set"] = set_
    return params
