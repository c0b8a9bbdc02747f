"""redact: masking is linear and bounded in what it reads (issue 14, item 1).

The regular expression it replaced backtracked quadratically on a long run of address
characters without `@`, and the log filter runs it on uvicorn's access-log line of every
response, on the event loop: one 60,000-character URL froze a server for 11 s. The work is
measured in steps (characters looked at, counted by `redact.scan`), never in seconds; the
end-to-end test sends the long URL to a real server, then a second request once the first one's
log record has reached the filter, and checks what the server logged.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import httpx
import pytest
import uvicorn
from hypothesis import given
from hypothesis import strategies as st
from support import hypothesis_profile  # noqa: F401  (loads the profile)

from dailypapers import redact

LONG = 60_000
HOSTILE = {
    "run without @": "a" * LONG,
    "@ after a long run": "a" * LONG + "@",
    "every other @": "a@" * (LONG // 2),
    "@ first": "@a" * (LONG // 2),
    "long domain, no dot": "a@" + "b" * LONG,
    "dots and @": "a.b@" * (LONG // 4),
    "domains and @": "a@b." * (LONG // 4),
    "addresses back to back": "a@b.c" * (LONG // 5),
    "hyphens": "a-" * (LONG // 2) + "@x-.y",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_finding_addresses_takes_linear_steps(name):
    text = HOSTILE[name]
    assert redact.scan(text).steps <= 4 * len(text)


def test_redaction_reads_at_most_max_scan_characters():
    line = '127.0.0.1:5000 - "GET /' + "a" * LONG + ' HTTP/1.1" 414'
    out = redact.redact(line)
    assert len(out) < redact.MAX_SCAN + 100 and out.endswith("more characters not logged]")
    # an address cut in two at the limit is dropped whole, never logged half unmasked
    cut = "x " * (redact.MAX_SCAN // 2 - 3) + "ada.lovelace@example.org and more"
    assert "ada" not in redact.redact(cut) and "lovelace" not in redact.redact(cut)


def test_addresses_are_masked_as_before():
    assert redact.redact("to ada@example.org, bob.x+y@mail.example.co.uk.") == \
        "to [redacted]@example.org, [redacted]@mail.example.co.uk."
    assert redact.redact("a@b.com@c.org") == "[redacted]@b.com@c.org"
    assert redact.redact("user@localhost and @handle") == "user@localhost and @handle"  # no domain: kept


ADDRESS = st.tuples(st.from_regex(r"[ab.+_-]{1,8}", fullmatch=True),
                    st.from_regex(r"[ab]{1,5}(\.[ab]{1,3}){1,2}", fullmatch=True))
FILLER = st.text(alphabet="ab.-_+ x", max_size=12)


@given(st.lists(st.one_of(ADDRESS, FILLER), max_size=20))
def test_every_address_loses_its_local_part_and_nothing_else_changes(parts):
    words = [f"{p[0]}@{p[1]}" if isinstance(p, tuple) else p for p in parts]
    expected = [f"[redacted]@{p[1]}" if isinstance(p, tuple) else p for p in parts]
    assert redact.redact(" ; ".join(words)) == " ; ".join(expected)


@given(st.text(alphabet="ab.-_+@ x", max_size=400))
def test_steps_stay_linear_on_any_text(text):
    assert redact.scan(text).steps <= 4 * len(text)


# -- a real server ------------------------------------------------------------------------------


class Lines(logging.Handler):
    """Keeps the formatted lines that reach it (after the LogFilter, as a server's handler)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Seen(logging.Filter):
    """Sets an event when a record whose arguments hold `needle` reaches the handler (put before
    the LogFilter, so the event means the server is about to redact that line)."""

    def __init__(self, needle: str) -> None:
        super().__init__()
        self.needle, self.event = needle, threading.Event()

    def filter(self, record: logging.LogRecord) -> bool:
        if any(isinstance(a, str) and self.needle in a for a in (record.args or ())):
            self.event.set()
        return True


@pytest.fixture
def logging_server(web_app):
    """A real uvicorn server with its access log on (as `dailypapers serve` runs it) and a handler
    that keeps the filtered lines."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="info",
                                           lifespan="off", timeout_keep_alive=600))
    access = logging.getLogger("uvicorn.access")
    lines, seen = Lines(), Seen("/" + "a" * 100)
    lines.addFilter(seen)
    lines.addFilter(redact.LogFilter())
    thread = threading.Thread(target=server.run, name="uvicorn-redact", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    access.addHandler(lines)
    try:
        yield port, lines, seen
    finally:
        access.removeHandler(lines)
        server.should_exit = True
        thread.join(timeout=30)


def _raw_get(port: int, path: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=120) as conn:
        conn.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        return conn.recv(64)


def test_a_long_url_is_logged_bounded_while_another_request_is_served(logging_server):
    port, lines, seen = logging_server
    answers: dict[str, bytes] = {}
    long_path = "/" + "a" * LONG
    sender = threading.Thread(target=lambda: answers.setdefault("long", _raw_get(port, long_path)))
    sender.start()
    assert seen.event.wait(120), "the long request never reached the access log"
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as http:
        short = http.get("/about")
    sender.join(120)
    assert short.status_code == 200
    assert answers["long"].startswith(b"HTTP/1.1 414")
    long_lines = [line for line in lines.lines if "more characters not logged" in line]
    assert len(long_lines) == 1 and len(long_lines[0]) < redact.MAX_SCAN + 200
    assert [i for i, line in enumerate(lines.lines) if "/about" in line] > [lines.lines.index(long_lines[0])]
