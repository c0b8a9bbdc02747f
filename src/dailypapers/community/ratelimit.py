"""In-process rate limits (sliding window per key).

Kept in this process's memory: with several web processes each has its own counters, so the
effective limit is multiplied by the number of processes. A multi-process deployment needs a
shared store (the database or Redis); the scale issue replaces this class behind the same API.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from ..errors import RateLimited


class RateLimiter:
    def __init__(self, limit: int, window_s: float, what: str = "requests",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.window, self.what, self.clock = limit, window_s, what, clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one attempt for `key`; RateLimited (with seconds to wait) once over the limit."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                wait = max(1, math.ceil(hits[0] + self.window - now))
                raise RateLimited(f"too many {self.what}; try again in {wait} seconds", wait)
            hits.append(now)
            if len(self._hits) > 100_000:  # forget idle keys so memory stays bounded
                self._prune(now)

    def reset(self, key: str) -> None:
        with self._lock:
            self._hits.pop(key, None)

    def _prune(self, now: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
            del self._hits[key]


class Limits:
    """The limits one web application applies (one instance per app)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.sign_in_address = RateLimiter(10, 15 * 60, "sign-in attempts for this address", clock)
        self.sign_in_client = RateLimiter(30, 15 * 60, "sign-in attempts from your address", clock)
        self.sign_up = RateLimiter(10, 60 * 60, "new accounts from your address", clock)
        self.password_reset = RateLimiter(5, 60 * 60, "password-reset requests", clock)
        self.comments = RateLimiter(10, 10 * 60, "comments", clock)
        self.submissions = RateLimiter(20, 24 * 60 * 60, "submissions", clock)
