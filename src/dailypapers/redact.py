"""Keeping email addresses, secrets and stack traces out of log lines.

`redact` masks email addresses and the configured secrets in a text; `describe` turns an
exception into one line (its type, its redacted message and where it was raised, as
file:line in function — no stack trace, no local variables); `LogFilter` applies both to every
record that passes a handler, so third-party loggers (uvicorn's "Exception in ASGI application",
SQLAlchemy errors quoting parameters) are covered too. `dailypapers serve` and `worker` install it.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable

EMAIL = re.compile(r"[A-Za-z0-9.!#$%&*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")
_secrets: set[str] = set()


def add_secrets(values: Iterable[str]) -> None:
    """Register values (the secret key, the SMTP password, a database password) to mask in logs."""
    for value in values:
        if value and len(value) >= 6:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in sorted(_secrets, key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return EMAIL.sub(_mask_email, text)


def _mask_email(match: re.Match) -> str:
    return "[redacted]@" + match.group(0).rsplit("@", 1)[1]


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


def quiet(settings) -> None:
    """Register this configuration's secrets and filter the process's log handlers (web and worker)."""
    from urllib.parse import urlsplit

    try:
        db_password = urlsplit(settings.database_url).password or ""
    except ValueError:
        db_password = ""
    add_secrets([settings.secret_key, settings.smtp_password, db_password])
    install()
