"""The render cache (issue 16, item 1): a page rendered for anonymous readers, kept in this process.

web/caching.py decides what may be served from it (anonymous GETs of the most-read pages) and
builds the key: the page's ETag (the store's content version, read from the shared database on
every request, with the URL and the day), the host and scheme (a Markdown page holds absolute
links), the representation asked for (Accept: JSON or not) and, for a paper's page, this node's
index state. A vote, a new paper or a hidden comment moves the content version, so the next request
on every node and worker has a new key and renders afresh: nothing is ever invalidated by message.

An entry is the response as the route made it (status 200, no cookie set, the session untouched),
with its gzip twin made once. Entries of an older content version are dropped when one of a newer
is stored; the cache stays within `max_bytes` by dropping the least recently used. A page that
several requests miss at once is rendered once; the others wait for it (single flight).
"""

from __future__ import annotations

import asyncio
import gzip
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

GZIP_MIN_BYTES = 1024  # as web/caching.compress: smaller bodies go out as they are
GZIP_LEVEL = 6
ENTRY_OVERHEAD = 512  # bytes an entry costs beyond its bodies and headers (key, objects)
DROPPED = (b"content-length", b"content-encoding", b"set-cookie", b"cache-control", b"etag", b"vary")


@dataclass(frozen=True)
class Entry:
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    gzipped: bytes | None

    @property
    def size(self) -> int:
        return (len(self.body) + len(self.gzipped or b"") + sum(len(k) + len(v) for k, v in self.headers)
                + ENTRY_OVERHEAD)


class RenderCache:
    """A byte-bounded LRU of Entry by key, for one content version at a time."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self.hits = self.misses = 0
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._version: Hashable = None
        self._lock = threading.Lock()  # TestClient runs each request on its own event loop thread
        self._pending: dict[tuple[Hashable, int], asyncio.Future] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry

    def put(self, version: Hashable, key: Hashable, entry: Entry) -> bool:
        """Keep `entry` (False when it alone exceeds the bound); a new version drops the old one's."""
        if entry.size > self.max_bytes:
            return False
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self.bytes, self._version = 0, version
            old = self._entries.pop(key, None)
            self.bytes -= old.size if old else 0
            self._entries[key] = entry
            self.bytes += entry.size
            while self.bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self.bytes -= dropped.size
            return True

    async def respond(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                      version: Hashable, key: Hashable) -> None:
        """Serve the page from the cache, or render it (once for all who wait) and keep it."""
        entry = self.get(key)
        if entry is None:
            entry = await self._single_flight(key, lambda: self._render(app, scope, receive, send, version, key))
        if entry is not None:
            await send_entry(entry, scope, send)

    async def _single_flight(self, key: Hashable, render: Callable[[], Awaitable[Entry | None]]) -> Entry | None:
        """The first miss renders; a concurrent miss of the same key on this loop waits, then
        takes the entry (or renders for itself when the page could not be kept)."""
        flight = (key, id(asyncio.get_running_loop()))
        waiting = self._pending.get(flight)
        if waiting is not None:
            kept = await asyncio.shield(waiting)
            if kept is not None:
                return kept
            return await render()
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[flight] = future
        entry = None
        try:
            entry = await render()
            return entry
        finally:
            self._pending.pop(flight, None)
            future.set_result(entry)  # None when the render failed or was not kept: waiters render

    async def _render(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send,
                      version: Hashable, key: Hashable) -> Entry | None:
        """Run the route, holding its messages back. A keepable response becomes an entry (sent by
        the caller); any other goes out as it came and None is returned."""
        session_before = dict(scope.get("session") or {})
        messages: list[Message] = []

        async def hold(message: Message) -> None:
            messages.append(message)

        await app(scope, receive, hold)
        entry = _entry(messages) if dict(scope.get("session") or {}) == session_before else None
        if entry is None:
            for message in messages:
                await send(message)
            return None
        if len(entry.body) >= GZIP_MIN_BYTES:
            gzipped = await run_in_threadpool(gzip.compress, entry.body, GZIP_LEVEL, mtime=0)
            entry = Entry(entry.status, entry.headers, entry.body, gzipped)
        self.put(version, key, entry)
        return entry


def _entry(messages: list[Message]) -> Entry | None:
    """An Entry from a plain 200 response (a start and its body), else None."""
    if not messages or messages[0]["type"] != "http.response.start" or messages[0]["status"] != 200:
        return None
    raw = messages[0].get("headers", [])
    names = {bytes(k).lower() for k, _ in raw}
    if b"set-cookie" in names or b"content-encoding" in names or messages[0].get("trailers"):
        return None
    body = []
    for message in messages[1:]:
        if message["type"] != "http.response.body":
            return None
        body.append(message.get("body", b""))
    headers = tuple((bytes(k).lower(), bytes(v)) for k, v in raw if bytes(k).lower() not in DROPPED)
    return Entry(200, headers, b"".join(body), None)


async def send_entry(entry: Entry, scope: Scope, send: Send) -> None:
    """The entry as a fresh response: gzip when the client accepts it (GZipMiddleware lets an
    encoded body pass), Vary: Accept-Encoding when there is a gzip twin."""
    headers = list(entry.headers)
    body = entry.body
    if entry.gzipped is not None:
        headers.append((b"vary", b"Accept-Encoding"))
        if "gzip" in Headers(scope=scope).get("accept-encoding", ""):
            body = entry.gzipped
            headers.append((b"content-encoding", b"gzip"))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": entry.status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
