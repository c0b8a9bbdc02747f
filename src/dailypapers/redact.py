"""Keeping email addresses, secrets and stack traces out of log lines.

`redact` masks email addresses and the configured secrets in a text; `describe` turns an
exception into one line (its type, its redacted message and where it was raised, as
file:line in function — no stack trace, no local variables); `LogFilter` applies both to every
record that passes a handler, so third-party loggers (uvicorn's "Exception in ASGI application",
SQLAlchemy errors quoting parameters) are covered too. `dailypapers serve` and `worker` install it.

Redaction runs on every access-log line, on the server's event loop, so its cost must not depend
on what a client sends: it reads at most MAX_SCAN characters of a text (the rest is dropped from
the log, never written unread), and finds addresses in one pass (`scan`): each `@` looks back
over the address characters before it and ahead over the domain characters after it, and those
runs never overlap, so the work is linear in the length (at most 4 steps a character; a
backtracking regular expression took 11 s on one 60,000-character URL).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dailypapers.config import Settings

MAX_SCAN = 32_768  # characters of one text (a message, a log argument) that are read and logged
_LOCAL_CHARS = "A-Za-z0-9.!#$%&'*+/=?^_`{|}~-"  # RFC 5322's atext and dots (o'brien@ too)
# letters and digits of any script count (`josé@example.org`, `用户@例子.广告`: the fuzz target found
# them logged whole); possessive runs never backtrack
_LOCAL_RUN = re.compile(f"[\\w{_LOCAL_CHARS}]*+")
_DOMAIN_RUN = re.compile(r"[\w.-]*+")
_ADDRESS_PUNCT = ".!#$%&'*+/=?^_`{|}~-@"
_secrets: set[str] = set()


@dataclass
class Scan:
    """The addresses found in a text: (start of the local part, the `@`, end of the domain) each,
    and `steps`, the characters looked at (at most 4 per character of the text)."""

    spans: list[tuple[int, int, int]] = field(default_factory=list)
    steps: int = 0


def scan(text: str) -> Scan:
    """Find email addresses in one linear pass (see the module docstring)."""
    found = Scan(steps=len(text))  # str.find walks the text once to find every "@"
    reverse: str | None = None
    floor = 0  # a local part starts after the end of the previous address
    at = text.find("@")
    while at != -1:
        run = _DOMAIN_RUN.match(text, at + 1)
        assert run is not None  # `*+` matches the empty string too
        end = run.end()
        found.steps += end - at
        end = _domain_end(text, at + 1, end)
        if end:
            reverse = reverse if reverse is not None else text[::-1]
            back = _LOCAL_RUN.match(reverse, len(text) - at, len(text) - floor)
            assert back is not None  # `*+` matches the empty string too
            begin = at - (back.end() - back.start())
            found.steps += at - begin
            if begin < at:
                found.spans.append((begin, at, end))
                floor = end
        at = text.find("@", at + 1)
    return found


def _domain_end(text: str, start: int, end: int) -> int:
    """The end of the domain in text[start:end] (a run of letters, digits, dots and hyphens), or
    0 when it is no domain: it starts with a letter or digit and has a dot followed by more."""
    domain = text[start:end].rstrip(".")
    if not domain or not domain[0].isalnum() or "." not in domain[1:]:
        return 0
    return start + len(domain)


def add_secrets(values: Iterable[str]) -> None:
    """Register values (the secret key, the SMTP password, a database password) to mask in logs."""
    for value in values:
        if value and len(value) >= 6:
            _secrets.add(value)


def redact(text: str) -> str:
    """The text with secrets and the local part of email addresses masked, cut to MAX_SCAN
    characters (an address cut in two at that point is dropped whole)."""
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    text = _bounded(text)
    pieces, last = [], 0
    for begin, at, _end in scan(text).spans:
        pieces += [text[last:begin], "[redacted]"]
        last = at
    pieces.append(text[last:])
    return "".join(pieces)


def _bounded(text: str) -> str:
    if len(text) <= MAX_SCAN:
        return text
    kept = text[:MAX_SCAN]
    end = len(kept)
    while end and (kept[end - 1].isalnum() or kept[end - 1] in _ADDRESS_PUNCT):
        end -= 1  # an address cut in two at MAX_SCAN is dropped whole
    kept = kept[:end]
    return f"{kept}... [{len(text) - len(kept)} more characters not logged]"


def mask_email(address: str) -> str:
    """How log lines name a recipient: the domain only."""
    return redact(address)


def describe(exc: BaseException) -> str:
    """One line: `KeyError: 'x' (at web/routes/pages.py:120 in paper)`, the message redacted."""
    where = ""
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ else []
    if frames:
        last = frames[-1]
        filename = last.filename.replace("\\", "/")
        if "/dailypapers/" in filename:
            filename = filename.rsplit("/dailypapers/", 1)[1]
        else:
            filename = filename.rsplit("/", 1)[-1]
        where = f" (at {filename}:{last.lineno} in {last.name})"
    message = " ".join(str(exc).split())[:500]
    return redact(f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}")


class LogFilter(logging.Filter):
    """Masks secrets and email addresses in a record's message and arguments (keeping their shape,
    which formatters such as uvicorn's access log rely on); a traceback becomes `describe(exc)`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        if record.exc_info and record.exc_info[1] is not None:
            summary = describe(record.exc_info[1])
            record.msg = f"{record.msg}: {summary.replace('%', '%%') if record.args else summary}"
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _clean(value):
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return redact(value if isinstance(value, str) else str(value))


LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access")


def install(handlers_of: Iterable[str] = LOGGERS) -> None:
    """Put a LogFilter on every handler of these loggers and on logging's last-resort handler
    (idempotent). A test runner's capturing handlers are left alone: tests check what the code logs."""
    handlers = [h for name in handlers_of for h in logging.getLogger(name).handlers]
    if logging.lastResort is not None:
        handlers.append(logging.lastResort)
    for handler in handlers:
        if type(handler).__module__.startswith("_pytest"):
            continue
        if not any(isinstance(f, LogFilter) for f in handler.filters):
            handler.addFilter(LogFilter())


def quiet(settings: Settings) -> None:
    """Register this configuration's secrets and filter the process's log handlers (web and worker)."""
    from urllib.parse import urlsplit

    try:
        db_password = urlsplit(settings.database_url).password or ""
    except ValueError:
        db_password = ""
    add_secrets([settings.secret_key, settings.smtp_password, db_password])
    install()
