"""Rate limits: how many attempts a key (an address, a token, a member, an email) may make per window.

Two counters behind one interface (`hit(key, limit, window_s)` -> None, or the seconds to wait):

- `DatabaseCounter` (what the web app uses): counters in the database (store/ratelimits.py), so
  every web process on one database shares them and N processes do not mean N times the limit.
  It estimates a sliding window from two fixed windows (the previous window's count, weighted by
  how much of it still overlaps the last `window_s` seconds, plus the current window's), which
  costs one row per key and window. Keys are stored as an HMAC under the secret key, so the table
  holds no email address, token or client address.
- `MemoryCounter`: an exact sliding log in this process's memory (tests, library use).

A limit of 0 or less means no limit.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from ..errors import RateLimited, StorageError

log = logging.getLogger("dailypapers.community")

if TYPE_CHECKING:
    from ..config import Settings
    from ..store import Store


class Counter(Protocol):
    def hit(self, key: str, limit: int, window_s: float) -> float | None: ...

    def reset(self, key: str) -> None: ...


class MemoryCounter:
    """An exact sliding log per key, in this process only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._hits: dict[str, tuple[float, deque[float]]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        now = self.clock()
        with self._lock:
            _, hits = self._hits.setdefault(key, (window_s, deque()))
            while hits and hits[0] <= now - window_s:
                hits.popleft()
            if len(hits) >= limit:
                return hits[0] + window_s - now
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys so memory stays bounded
                self._prune(now)
        return None

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, (w, v) in self._hits.items() if not v or v[-1] <= now - w]:
            del self._hits[key]


def sliding_wait(limit: int, window_s: int, elapsed: float, previous: int, current: int) -> float:
    """Seconds until one more hit fits the sliding estimate previous·(1 − elapsed/window) + current."""
    room = limit - 1 - current
    if previous > 0 and room >= 0:
        in_window = window_s * (1 - room / previous) - elapsed
        if in_window < window_s - elapsed:
            return max(0.0, in_window)
    # in the next window the current count becomes the previous one
    later = window_s * (1 - (limit - 1) / current) if current > limit - 1 else 0.0
    return (window_s - elapsed) + max(0.0, later)


class DatabaseCounter:
    """Counters shared through the database by every process that opens it.

    When the database refuses the write (a full disk, a read-only database), the hit is counted
    in this process's memory instead and a warning is logged (at most once a minute): the limits
    still hold per process, and a search or a page never fails because a counter could not be
    written (fail open, not closed)."""

    PRUNE_EVERY_S = 60.0
    WARN_EVERY_S = 60.0

    def __init__(self, store: "Store", secret: str, clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self._secret = secret.encode()
        self._pruned = 0.0
        self._memory = MemoryCounter(clock)
        self._warned = -math.inf

    def _key(self, key: str) -> str:
        name, _, value = key.partition(":")
        digest = hmac.new(self._secret, value.encode(), hashlib.sha256).hexdigest()[:40]
        return f"{name[:32]}:{digest}"

    def hit(self, key: str, limit: int, window_s: float) -> float | None:
        window = max(1, int(window_s))
        now = self.clock()
        start = int(now // window) * window
        elapsed = now - start
        weight = 1 - elapsed / window

        def cap_for(previous: int) -> int:  # this window's hits must stay below it
            return math.floor(limit - previous * weight + 1e-9)

        try:
            counted, previous, current = self.store.rate_limits.hit_sliding(self._key(key), start, window, cap_for)
        except StorageError as exc:
            self._warn(exc)
            return self._memory.hit(key, limit, window_s)
        if counted:
            self._maybe_prune(now)
            return None
        return sliding_wait(limit, window, elapsed, previous, current)

    def reset(self, key: str) -> None:
        self._memory.reset(key)
        try:
            self.store.rate_limits.forget(self._key(key))
        except StorageError as exc:
            self._warn(exc)

    def _maybe_prune(self, now: float) -> None:
        if now - self._pruned >= self.PRUNE_EVERY_S:
            self._pruned = now
            try:
                self.store.rate_limits.prune(int(now))
            except StorageError as exc:
                self._warn(exc)

    def _warn(self, exc: StorageError) -> None:
        now = self.clock()
        if now - self._warned >= self.WARN_EVERY_S:
            self._warned = now
            log.warning("%s; counting rate limits in this process's memory until the database takes "
                        "writes again", exc)


class RateLimiter:
    """One named limit: `limit` attempts per `window_s` seconds for each key."""

    def __init__(self, limit: int, window_s: float, what: str = "requests",
                 clock: Callable[[], float] = time.monotonic, counter: Counter | None = None,
                 name: str = "limit") -> None:
        self.limit, self.window, self.what, self.name = limit, window_s, what, name
        self.counter = counter if counter is not None else MemoryCounter(clock)

    def hit(self, key: str) -> None:
        """Count one attempt for `key`; RateLimited (with seconds to wait) once over the limit."""
        if self.limit <= 0:
            return
        wait = self.counter.hit(f"{self.name}:{key}", self.limit, self.window)
        if wait is not None:
            seconds = max(1, math.ceil(wait))
            raise RateLimited(f"too many {self.what}; try again in {seconds} seconds", seconds)

    def reset(self, key: str) -> None:
        self.counter.reset(f"{self.name}:{key}")


class Limits:
    """The limits one web application applies (one instance per app).

    Without a counter they are kept in this process's memory; the app passes a DatabaseCounter.
    The per-minute limits on search, the API and forms come from settings (0 turns one off)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, settings: "Settings | None" = None,
                 counter: Counter | None = None) -> None:
        from ..config import Settings

        s = settings or Settings()
        c = counter if counter is not None else MemoryCounter(clock)

        def limiter(name: str, limit: int, window_s: float, what: str) -> RateLimiter:
            return RateLimiter(limit, window_s, what, counter=c, name=name)

        self.sign_in_address = limiter("signin-email", 10, 15 * 60, "sign-in attempts for this address")
        self.sign_in_client = limiter("signin-client", 30, 15 * 60, "sign-in attempts from your address")
        self.sign_up = limiter("signup", 10, 60 * 60, "new accounts from your address")
        # sign-in links: per client it refuses (429); per address it only stops mailing (silently,
        # so the answer tells nothing), and the links already sent keep working
        self.sign_in_link_client = limiter("signin-link-client", 20, 60 * 60, "sign-in link requests from your address")
        self.sign_in_link_address = limiter("signin-link-email", 5, 60 * 60, "sign-in links for this address")
        self.sign_up_address = limiter("signup-email", 5, 60 * 60, "sign-ups with this email address")
        self.password_reset = limiter("reset", 5, 60 * 60, "password-reset requests")
        self.comments = limiter("comments", 10, 10 * 60, "comments")
        self.submissions = limiter("submissions", 20, 24 * 60 * 60, "submissions")
        self.subscribe_client = limiter("subscribe-client", 20, 60 * 60, "subscription requests from your address")
        self.subscribe_address = limiter("subscribe-email", 5, 60 * 60, "subscription requests for this address")
        self.search = limiter("search", s.rate_limit_search, 60, "searches")
        self.api = limiter("api", s.rate_limit_api, 60, "API requests")
        self.forms = limiter("forms", s.rate_limit_forms, 60, "form submissions")
