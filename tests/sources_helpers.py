"""Shared helpers for the source tests: where the recorded data lives, a real local HTTP server
that replays scripted responses, and a fake clock whose sleep advances time instead of waiting."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Self

import pytest

from dailypapers.errors import ParseError
from dailypapers.models import Record

ROOT = Path(__file__).resolve().parents[1]
from support.paths import DATA  # noqa: E402

FIXTURES = DATA / "fixtures"

assert FIXTURES.is_dir(), f"recorded data not found at {DATA}"


# A label only: the data ships in tests/data, so nothing is ever skipped for it.
needs_data = pytest.mark.needs_data


def split(results) -> tuple[list[Record], list[ParseError]]:
    """Separate a parser's output into records and errors (and check nothing else came out)."""
    records, errors = [], []
    for item in results:
        if isinstance(item, Record):
            records.append(item)
        elif isinstance(item, ParseError):
            errors.append(item)
        else:
            raise TypeError(f"parser yielded {type(item).__name__}")
    return records, errors


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/xml; charset=utf-8"


class ReplayServer:
    """A real HTTP server on 127.0.0.1 (port chosen by the OS). Each GET gets the next scripted
    Reply (or `route(path)` when given); `requests` records every request path with its query."""

    def __init__(self, replies: list[Reply] | None = None, route=None) -> None:
        self.replies = list(replies or [])
        self.route = route
        self.requests: list[str] = []
        self.user_agents: list[str] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def _next(self, path: str) -> Reply:
        self.requests.append(path)
        if self.route:
            return self.route(path)
        if not self.replies:
            return Reply(500, b"no more scripted replies")
        return self.replies.pop(0)

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.user_agents.append(self.headers.get("User-Agent", ""))
                reply = server._next(self.path)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, *args) -> None:
                pass

        return Handler


class FakeClock:
    """`clock()` returns virtual seconds; `sleep(s)` records s and advances the clock."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


def take(iterator: Iterator, n: int) -> list:
    return [next(iterator) for _ in range(n)]


def mutations(data: bytes, count: int = 200, seed: int = 7) -> Iterator[bytes]:
    """Deterministic damaged copies of `data`: truncations, flipped bytes, inserted junk."""
    import random

    rng = random.Random(seed)
    junk = [b"\xff", b"\x00", b"{", b"]", b'"', b"<", b"&", b"\n", b"\xc3", b"null", b"[[[[", b"-1e999"]
    for i in range(count):
        pos = rng.randrange(len(data) + 1)
        kind = i % 3
        if kind == 0:
            yield data[:pos]
        elif kind == 1 and data:
            pos = min(pos, len(data) - 1)
            yield data[:pos] + bytes([rng.randrange(256)]) + data[pos + 1:]
        else:
            yield data[:pos] + rng.choice(junk) + data[pos:]


def assert_total(parse, inputs) -> None:
    """The parser contract: any bytes give Records and ParseErrors, never an exception."""
    for data in inputs:
        split(parse(data))
