"""Shared fixtures: the database backend under test, fresh databases, and for the web tests a real
data directory (store + keyword index) filled with real papers, the app, a TestClient, and a live
uvicorn server on 127.0.0.1.

Backends: `DAILYPAPERS_TEST_BACKEND=sqlite|postgresql|all` (default sqlite) picks the database every
test that asks for one runs on; `make test` runs the suite once per backend. A test that needs a
database asks for a fixture, never opens `sqlite:///…` itself:

- `backend` — "sqlite" or "postgresql";
- `database_url` — a fresh, empty database for this test (PostgreSQL: created, then dropped);
- `make_database_url` — a factory, `make_database_url("a")`, for tests that need several;
- `fresh_data_dir` — an empty data directory bound to a fresh database; hand it to
  `support.databases.data_dir_settings(path)` for settings or `data_dir_env(path)` for a
  `dailypapers` process;
- `web_data_dir` / `web_settings` / `web_store` — the shared, filled site (copy it with
  `support.databases.copy_data_dir` before changing anything).

A test inherently about one backend (SQLite's backup API, `PRAGMA integrity_check`) is marked
`@pytest.mark.only_backend("sqlite", reason="…")` and is deselected in the other pass.

A test that asks for no database fixture never touches a database; with
`DAILYPAPERS_TEST_DATABASE_ONLY=1` (how `make test` runs its PostgreSQL pass) it is deselected, so it
runs once, in the SQLite pass, not once per backend.

The data set: the last 30 days of the Hugging Face daily-papers archive (through the real HF
parser), the old-style hep-th `.abs` fixtures (versions, DOI, journal refs, LaTeX), the first
300 papers of the arXiv cs listings (categories), and one hostile paper whose title and abstract
carry HTML and script.
"""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import databases
from support.databases import bind_data_dir, copy_data_dir, data_dir_settings
from support.ports import closed_port

from dailypapers import config
from dailypapers.errors import ParseError
from dailypapers.models import Author, DailyEntry, Link, Paper, Record, Submitter
from dailypapers.search.keyword import KeywordIndex
from dailypapers.store import Store

ROOT = Path(__file__).resolve().parents[1]
from support.paths import DATA  # noqa: E402

pytest_plugins = ["support.browser"]  # the `browser` fixture of the browser tests

HF_DAYS = 30
LISTING_PAPERS = 300

HOSTILE_ID = "2501.00001"
HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_ABSTRACT = 'An abstract with <img src=x onerror=alert(1)> and <b>bold</b> & "quotes".'


def _records(results) -> list[Record]:
    records = [r for r in results if isinstance(r, Record)]
    errors = [r for r in results if isinstance(r, ParseError)]
    assert records and not errors, errors[:3]
    return records


def hf_records(days: int = HF_DAYS) -> list[Record]:
    """The last `days` days of the HF archive, parsed by the real parser."""
    from dailypapers.sources import hf

    with gzip.open(DATA / "hf_daily_papers.jsonl.gz", "rb") as fh:
        lines = fh.read().splitlines()[-days:]
    return _records(list(hf.parse(b"\n".join(lines) + b"\n", "hf_daily_papers.jsonl.gz")))


def abs_records() -> list[Record]:
    from dailypapers.sources import abs as abs_source

    paths = sorted((DATA / "fixtures" / "arxiv-abs" / "ftp" / "hep-th").rglob("*.abs"))
    return _records(list(abs_source.parse_paths(paths)))


def listing_records(n: int = LISTING_PAPERS) -> list[Record]:
    from dailypapers.sources import listings

    with gzip.open(DATA / "arxiv_cs_listings.jsonl.gz", "rb") as fh:
        head = b"".join(itertools.islice(fh, n))
    return _records(list(listings.parse(head, "arxiv_cs_listings.jsonl.gz")))


def hostile_record(day: dt.date) -> Record:
    paper = Paper(
        arxiv_id=HOSTILE_ID, title=HOSTILE_TITLE, abstract=HOSTILE_ABSTRACT,
        authors=[Author('Mallory "<b>" Tables'), Author("Eve O'Hacker")], version=1,
        primary_category="cs.CR", categories=["cs.CR"],
        published=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
        links=[Link("project", "javascript:alert(1)", "hf")],
    )
    entry = DailyEntry(HOSTILE_ID, day, upvotes=0, num_comments=0,
                       submitted_by=Submitter("<script>x</script>", "<i>Eve</i>"))
    return Record(paper, entry)


def build_data_dir(path: Path, database_url: str = "") -> Path:
    """A data directory as `dailypapers` lays it out: dailypapers.db (or `database_url`) and index/keyword."""
    bind_data_dir(path, database_url or f"sqlite:///{path / 'dailypapers.db'}")
    settings = data_dir_settings(path)
    store = Store.open(settings.resolved_database_url)
    try:
        hf = hf_records()
        first_day = min(r.daily.date for r in hf if r.daily)
        for batch in (hf, abs_records(), listing_records(), [hostile_record(first_day)]):
            store.write(batch)
        KeywordIndex(settings.index_dir / "keyword").rebuild(store.iter_papers())
    finally:
        store.close()
    return path


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "only_backend(name, reason): runs only in the pass for that backend")
    try:
        backends = databases.selected_backends()
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if "postgresql" in backends:
        try:
            databases.drop_stale()
        except Exception as exc:  # psycopg.OperationalError and friends: say what to do
            raise pytest.UsageError(f"PostgreSQL at {databases.PG_ADMIN_URL} does not answer ({exc}); start it "
                                    "or set DAILYPAPERS_TEST_PG") from exc


# Module fixtures that build a site with the demo's vectors or the real encoder: tests that use one
# are `slow` (left out of `make check`, run by `make test`).
VECTOR_SITES = {"world", "site", "trust_site", "semantic_client"}


@pytest.hookimpl(tryfirst=True)  # before `-m` reads the markers added here
def pytest_collection_modifyitems(config, items) -> None:
    selected = databases.selected_backends()
    database_only = databases.database_tests_only()
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("only_backend")
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        wanted = marker.args[0] if marker else None
        if (wanted and wanted not in selected) or (wanted and backend and backend != wanted):
            drop.append(item)
        elif database_only and "backend" not in getattr(item, "fixturenames", ()):
            drop.append(item)  # never touches a database: the other pass ran it
        else:
            keep.append(item)
            if VECTOR_SITES & set(getattr(item, "fixturenames", ())):
                item.add_marker(pytest.mark.slow)  # embeds or loads a site's vectors: minutes, not seconds
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session", params=databases.selected_backends())
def backend(request) -> str:
    """The database backend under test (DAILYPAPERS_TEST_BACKEND)."""
    return request.param


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """Databases a test copied (support.databases.copy_data_dir) are dropped when it ends."""
    with databases.owned_by_test():
        yield


@pytest.fixture
def make_database_url(backend, tmp_path):
    """make_database_url(name="db") -> the URL of a fresh, empty database, dropped after the test."""
    made = []

    def make(name: str = "db") -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'{name}.sqlite'}"
        made.append(databases.create_postgres_database())
        return made[-1]

    yield make
    for url in made:
        databases.drop_postgres_database(url)


@pytest.fixture
def database_url(make_database_url) -> str:
    """The URL of a fresh, empty database of the backend under test."""
    return make_database_url()


@pytest.fixture
def fresh_data_dir(backend, tmp_path) -> Path:
    """An empty data directory (tmp_path/data) on the backend under test."""
    return databases.new_data_dir(tmp_path / "data", backend)


@pytest.fixture(scope="session")
def web_data_dir(tmp_path_factory, backend) -> Path:
    """The filled site. On PostgreSQL nothing connects to its database after the build, so that
    copy_data_dir can clone it; web_settings and web_store use a copy of their own."""
    if not (DATA / "hf_daily_papers.jsonl.gz").is_file():
        pytest.fail(f"recorded data not found at {DATA} (set DAILYPAPERS_TEST_DATA)")
    url = databases.create_postgres_database() if backend == "postgresql" else ""
    return build_data_dir(tmp_path_factory.mktemp("web") / "data", url)


@pytest.fixture(scope="session")
def web_settings(web_data_dir, tmp_path_factory) -> config.Settings:
    """Settings for a copy of the filled site: apps on it write to its database and keyword index
    while other tests copy web_data_dir, which must not change under them (a keyword index's
    background merge once removed a file in the middle of such a copy)."""
    shared = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("web-shared") / "data", for_session=True)
    # arXiv cannot be reached from a test: a paper page for an unknown id gets a refused
    # connection at once (on-demand fetch, issue 15 item 14), never a wait on the real service
    return data_dir_settings(shared, arxiv_api_url=f"http://127.0.0.1:{closed_port()}/api/query")


@pytest.fixture(scope="session")
def web_store(web_settings) -> Iterator[Store]:
    store = Store.open(web_settings.resolved_database_url)
    yield store
    store.close()


@pytest.fixture(scope="session")
def web_app(web_settings, web_store):
    from dailypapers.web import create_app

    return create_app(web_settings, store=web_store)


@pytest.fixture(scope="session")
def web_client(web_app):
    from fastapi.testclient import TestClient

    with TestClient(web_app, raise_server_exceptions=False) as client:
        yield client


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def live_server(web_app) -> Iterator[str]:
    """A real uvicorn server on 127.0.0.1 in a background thread; yields its base URL."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(web_app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="off", timeout_keep_alive=600))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120  # only against a hang: it starts in well under a second
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
