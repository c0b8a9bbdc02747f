"""Typed errors raised by the library layer; the CLI and web layer turn them into messages."""

from __future__ import annotations


class DailyPapersError(Exception):
    """Base class for every error the library raises on purpose."""


class InvalidArxivId(DailyPapersError, ValueError):
    def __init__(self, raw: str) -> None:
        super().__init__(f"not an arXiv identifier: {raw[:80]!r}")
        self.raw = raw


class ParseError(DailyPapersError):
    """A record (or a whole document) that could not be parsed."""

    def __init__(self, message: str, source: str = "<input>", line: int | None = None) -> None:
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {message}")
        self.message = message
        self.source = source
        self.line = line


class NotFound(DailyPapersError, LookupError):
    pass


class InvalidQuery(DailyPapersError, ValueError):
    pass


class InvalidDate(DailyPapersError, ValueError):
    pass


class FetchError(DailyPapersError):
    """A remote source answered with an error or could not be reached."""


class IndexUnavailable(DailyPapersError):
    """A search index is missing or unreadable on this node (deleted, not built yet, being
    rebuilt): searches that need it answer 503 until the index follower has rebuilt it."""


class StorageError(DailyPapersError):
    """The database or the data directory refused a read or a write (read-only, disk full,
    permission denied)."""


class ConfigError(DailyPapersError):
    pass


# -- community: accounts, votes, comments, collections (issue 4) -------------------------


class InvalidInput(DailyPapersError, ValueError):
    """A value a member typed breaks a rule; the message is meant to be shown to them."""


class AuthenticationFailed(DailyPapersError):
    """Wrong credentials, or no credentials where they are needed (never says which address exists)."""


class PermissionDenied(DailyPapersError):
    """Signed in, but not allowed to do this (another member's comment, a moderator's page...)."""


class Conflict(DailyPapersError):
    """The thing already exists: an address or user name taken, a paper already submitted."""


class RateLimited(DailyPapersError):
    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InvalidToken(DailyPapersError):
    """A password-reset link or API token that is unknown, used or expired."""


class MailError(DailyPapersError):
    """A message could not be handed to the SMTP server."""


class SignInRequired(AuthenticationFailed):
    """The action needs a signed-in member (pages redirect to the sign-in form, the API answers 401)."""


# -- delivery: subscriptions, outbox, worker (issue 5) -----------------------------------


class TemporaryMailError(MailError):
    """The SMTP server could not be reached or answered 4xx: the message is retried later."""


class PermanentMailError(MailError):
    """The SMTP server refused the message for good (5xx, e.g. an unknown recipient): no retry."""


class JobError(DailyPapersError):
    """A scheduled job failed; the worker records it and runs the job again later."""


# -- full text and thumbnails (issue 15) -----------------------------------------------------


class PdfUnavailable(DailyPapersError):
    """A paper's PDF could not be had or read. `status` is what is recorded for the paper:
    missing (404/410), not_pdf, too_large, corrupt (permanent), or unreachable (a transport
    failure or a 5xx/429: retried a few times)."""

    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
