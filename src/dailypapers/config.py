"""All settings in one typed object, read from DAILYPAPERS_* environment variables.

Each setting is declared once, with its default and help text; the table in docs/configuration.md and
`dailypapers settings` are generated from these declarations.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

from .errors import ConfigError, StorageError

DEFAULT_SECRET = "dev-insecure-secret-change-me"
MIN_SECRET_BITS = 256  # 32 random bytes
# words that mark a value copied from an example rather than generated
PLACEHOLDERS = ("change", "example", "secret", "placeholder", "replace", "default", "insecure", "dummy", "sample",
                "your-", "your_", "fixme", "password")
GENERATE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


def _setting(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    data_dir: Path = _setting(Path("var"), "Directory for the SQLite file, search indexes and checkpoints.")
    database_url: str = _setting("", "SQLAlchemy URL; empty means sqlite:///<data_dir>/dailypapers.db. "
                                 "postgresql://… selects PostgreSQL.")
    host: str = _setting("127.0.0.1", "Address `dailypapers serve` listens on.")
    port: int = _setting(8000, "Port `dailypapers serve` listens on.")
    secret_key: str = _setting(DEFAULT_SECRET, "Secret for signing cookies and links. Must be set in production "
                               "to at least 32 random bytes (placeholders and short values are refused).")
    env: str = _setting("development", "`development` or `production`; production refuses a missing, example or "
                        "weak secret.")
    harvest_categories: tuple[str, ...] = _setting(("cs",), "Comma-separated OAI-PMH sets for `harvest`, e.g. cs,stat.")
    oai_url: str = _setting("https://oaipmh.arxiv.org/oai", "OAI-PMH endpoint used by `harvest`.")
    arxiv_api_url: str = _setting("https://export.arxiv.org/api/query", "arXiv API endpoint (Atom).")
    harvest_delay: float = _setting(3.0, "Seconds between OAI-PMH requests (arXiv asks for at least 3).")
    page_size: int = _setting(30, "Papers per page in lists and search results.")
    rrf_k: int = _setting(60, "Unused since hybrid search fuses normalised scores, not ranks "
                              "(search/hybrid.py); still accepted.")
    index_follow_interval: float = _setting(2.0, "Seconds between a web node's checks of the change feed "
                                            "for papers to index; 0 turns following off.")
    public_url: str = _setting("", "Public base URL for links in emails and feeds (e.g. https://papers.example.org); "
                               "required in production. When set, requests for any other host name get 400 (see "
                               "DAILYPAPERS_TRUSTED_HOSTS); empty (development) means mail links use "
                               "http://127.0.0.1:<port>, never the request's Host. An https URL marks cookies Secure.")
    trusted_hosts: tuple[str, ...] = _setting((), "Comma-separated host names the web app also answers when "
                                              "DAILYPAPERS_PUBLIC_URL is set, besides its host and 127.0.0.1 and "
                                              "localhost (e.g. a load balancer's health-check name; *.example.org "
                                              "allows subdomains).")
    smtp_host: str = _setting("", "SMTP server for outgoing mail; empty means mail is only logged (development).")
    smtp_port: int = _setting(587, "SMTP server port.")
    smtp_user: str = _setting("", "SMTP user name; empty means no login.")
    smtp_password: str = _setting("", "SMTP password.")
    smtp_starttls: bool = _setting(True, "Upgrade the SMTP connection with STARTTLS before logging in.")
    mail_from: str = _setting("dailypapers <noreply@localhost>", "The From address of outgoing mail.")
    submit_max_age_days: int = _setting(14, "Members may submit papers first published at most this many days ago.")
    # -- delivery (issue 5): digests, outbox, worker ------------------------------------
    smtp_ssl: bool = _setting(False, "Connect to the SMTP server over TLS from the start (SMTPS, usually port 465) "
                              "instead of STARTTLS.")
    mail_unsubscribe_mailto: str = _setting("", "Optional address for mailto: unsubscribe requests, added to "
                                            "List-Unsubscribe beside the one-click https link.")
    confirm_link_hours: int = _setting(48, "Hours a subscription confirmation link stays valid.")
    outbox_max_attempts: int = _setting(8, "Delivery attempts per message before it is marked failed.")
    outbox_retry_seconds: int = _setting(60, "Wait before the first retry of a message; doubles after each "
                                         "failed attempt (capped at 6 hours).")
    worker_lease_seconds: int = _setting(300, "How long a worker holds a claimed job or message; a killed "
                                         "worker's claims are taken over after this.")
    worker_poll_seconds: float = _setting(5.0, "Seconds an idle `dailypapers worker` waits before looking for work.")
    worker_jobs: tuple[str, ...] = _setting(("harvest", "embed", "index", "digests"),
                                            "Recurring jobs `dailypapers worker` schedules and runs.")

    # -- limits (issue 7): request sizes and rate limits ---------------------------------
    max_body_bytes: int = _setting(1_048_576, "Largest request body accepted (bytes); larger ones get 413.")
    max_url_bytes: int = _setting(8192, "Longest request path plus query string accepted (bytes); longer ones "
                                  "get 414.")
    max_query_params: int = _setting(64, "Most query parameters one request may carry; more get 400.")
    rate_limit_search: int = _setting(300, "Searches (the search page and the API's search) per minute per client "
                                      "address or API token; 0 turns the limit off.")
    rate_limit_api: int = _setting(3000, "Other /api requests per minute per client address or API token; 0 turns "
                                   "the limit off.")
    rate_limit_forms: int = _setting(300, "Form submissions (POST outside /api) per minute per client address; 0 "
                                     "turns the limit off.")
    rate_limit_store: str = _setting("database", "Where rate-limit counters live: `database` (shared by every "
                                     "web process on the database) or `memory` (this process only).")
    render_cache_mb: int = _setting(64, "Megabytes of rendered pages each web process keeps for anonymous readers "
                                    "(home, daily/week/month lists, paper pages, /api/daily_papers), found again "
                                    "by URL and the database's content version, so a vote or a new paper shows on "
                                    "the next request on every node; 0 turns the render cache off.")

    # -- full text and thumbnails (issue 15) ------------------------------------------------
    pdf_url: str = _setting("https://arxiv.org/pdf", "Where the `fulltext` worker job fetches papers' PDFs: "
                            "<url>/<arXiv id> (a mirror, or a local server in tests).")
    pdf_delay: float = _setting(3.0, "Seconds between PDF requests of the `fulltext` job (arXiv asks for at "
                                "least 3).")
    pdf_max_bytes: int = _setting(50_000_000, "Largest PDF the `fulltext` job downloads (bytes); a larger one is "
                                  "recorded as too_large and not fetched again.")
    remote_images: bool = _setting(False, "Show the thumbnails recorded from Hugging Face (their `thumbnail` "
                                   "URLs) where no local one has been rendered yet; the pages' CSP then allows "
                                   "images from that one host. Off: a placeholder instead. `make run` turns it on.")

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "dailypapers.db"

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def check_data_dir(self) -> None:
        """StorageError (one line) unless this node can write its data directory and the index
        directory in it (made when missing): the server keeps its indexes and model cache there."""
        for path in (self.data_dir, self.index_dir):
            try:
                path.mkdir(parents=True, exist_ok=True)
                with tempfile.TemporaryFile(dir=path):
                    pass
            except OSError as exc:
                raise StorageError(f"cannot write to {path} ({exc.strerror or exc}): it holds this node's "
                                   "indexes; give the server's user write access to it, or set "
                                   "DAILYPAPERS_DATA_DIR to a writable directory") from None

    def check_production(self) -> None:
        """ConfigError when DAILYPAPERS_ENV=production and a setting is unsafe for it."""
        if self.env != "production":
            return
        problem = secret_problem(self.secret_key)
        if problem:
            raise ConfigError(f"DAILYPAPERS_SECRET_KEY {problem} (DAILYPAPERS_ENV=production needs at least "
                              f"{MIN_SECRET_BITS // 8} random bytes); generate one with {GENERATE_SECRET}")
        if not self.public_host:
            raise ConfigError("DAILYPAPERS_PUBLIC_URL must be the site's address, e.g. https://papers.example.org, "
                              "when DAILYPAPERS_ENV=production: links in mail are built from it, never from a "
                              "request's Host header")

    @property
    def public_host(self) -> str:
        """The host name of the public URL ("" when it is unset or not an http(s) URL)."""
        parts = urlsplit(self.public_url.strip())
        return (parts.hostname or "") if parts.scheme in ("http", "https") else ""


def secret_bits(secret: str) -> float:
    """An estimate of the entropy of a secret, in bits: its length times what one character of its
    alphabet carries (hex 4 bits, base64 6, otherwise judged by the kinds of characters in it),
    and never more than 8 bits per byte it compresses to (repetition adds nothing)."""
    if not secret:
        return 0.0
    if re.fullmatch(r"[0-9a-fA-F]+", secret):
        per_char = 4.0
    elif re.fullmatch(r"[A-Za-z0-9+/_-]+=*", secret):
        per_char = 6.0
    else:
        kinds = [(r"[a-z]", 26), (r"[A-Z]", 26), (r"[0-9]", 10), (r"[^A-Za-z0-9]", 33)]
        per_char = math.log2(sum(size for pattern, size in kinds if re.search(pattern, secret)))
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = len(packer.compress(secret.encode()) + packer.flush())
    return min(len(secret.rstrip("=")) * per_char, 8.0 * packed)


def secret_problem(secret: str) -> str | None:
    """Why a value will not do as the production secret key (None when it will)."""
    if not secret:
        return "is not set"
    if secret == DEFAULT_SECRET:
        return "is the built-in development default"
    lowered = secret.lower()
    for word in PLACEHOLDERS:
        if word in lowered:
            return f"looks like a placeholder (it contains {word!r})"
    bits = secret_bits(secret)
    if bits < MIN_SECRET_BITS:
        return f"is too weak (about {bits:.0f} bits of entropy)"
    return None


def _convert(raw: str, default):
    if isinstance(default, bool):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    if isinstance(default, tuple):
        return tuple(part.strip() for part in raw.split(",") if part.strip())
    return raw


def env_name(name: str) -> str:
    return f"DAILYPAPERS_{name.upper()}"


def load(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(Settings):
        raw = environ.get(env_name(f.name))
        if raw is not None:
            try:
                values[f.name] = _convert(raw, f.default)
            except ValueError as exc:
                raise ConfigError(f"{env_name(f.name)}: {exc}") from exc
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)


def describe() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting."""
    out = []
    for f in fields(Settings):
        default = ",".join(f.default) if isinstance(f.default, tuple) else str(f.default)
        out.append((env_name(f.name), default, f.metadata["help"]))
    return out
