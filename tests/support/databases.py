"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database dropped afterwards.

One switch picks the backend the suite runs on: `DAILYPAPERS_TEST_BACKEND=sqlite` (the default) or
`postgresql`; `all` runs every backend-dependent test once per backend (handy by hand; `make test`
runs one pytest pass per backend instead). tests/conftest.py turns this into fixtures:

- `backend`: "sqlite" or "postgresql" (a session fixture parametrised over the selected backends,
  so test ids end in `[sqlite]` / `[postgresql]`);
- `database_url`: a fresh, empty database of that backend for one test, dropped afterwards;
- `make_database_url`: a factory for tests that need several (`make_database_url("a")`);
- `fresh_data_dir`: an empty data directory bound to a fresh database (see below).

A test *data directory* is a directory plus a database. On SQLite the database is the
directory's `dailypapers.db`, as `dailypapers` lays it out; on PostgreSQL the directory holds a
file `test-database-url` naming its database. `data_dir_settings(path)`, `data_dir_env(path)` and
`data_dir_url(path)` give the settings, the environment for a `dailypapers` process, and the URL;
`copy_data_dir(source, target)` copies both parts (SQLite's backup API, or PostgreSQL's
`CREATE DATABASE … TEMPLATE`). A database a test copies is dropped when that test ends; one that a
module or session fixture copies, when the pytest process ends.

PostgreSQL databases are named `dailypapers_test_p<pid>_<random>`, so pytest-xdist workers never
collide; every process drops what it made when it ends, and at start drops leftovers of test
processes that no longer exist (a run killed mid-way).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = os.environ.get("DAILYPAPERS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BACKENDS = ("sqlite", "postgresql")
BACKEND_ENV = "DAILYPAPERS_TEST_BACKEND"
URL_FILE = "test-database-url"
_NAME = re.compile(r"^dailypapers_test_p(\d+)_[0-9a-f]+$")


def database_tests_only() -> bool:
    """DAILYPAPERS_TEST_DATABASE_ONLY=1: run only the tests that use a database (a second pass)."""
    return os.environ.get("DAILYPAPERS_TEST_DATABASE_ONLY", "").strip() in ("1", "true", "yes")


def selected_backends() -> list[str]:
    raw = os.environ.get(BACKEND_ENV, "sqlite").strip().lower()
    aliases = {"": ["sqlite"], "sqlite": ["sqlite"], "postgresql": ["postgresql"], "postgres": ["postgresql"],
               "all": list(BACKENDS), "both": list(BACKENDS)}
    if raw not in aliases:
        raise ValueError(f"{BACKEND_ENV}={raw!r}: expected sqlite, postgresql or all")
    return aliases[raw]


# -- PostgreSQL databases ---------------------------------------------------------------------

_made: set[str] = set()  # databases this process created and has not dropped yet
_test_owned: list[str] | None = None  # while a test runs: databases to drop when it ends


def _url_of(name: str) -> str:
    return f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"


def _name_of(url: str) -> str:
    return url.rsplit("/", 1)[-1].split("?", 1)[0]


def _admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)


def create_postgres_database(template: str | None = None) -> str:
    """A new, uniquely named database (a copy of `template`'s URL when given); returns its URL."""
    name = f"dailypapers_test_p{os.getpid()}_{uuid.uuid4().hex[:12]}"
    sql = f'CREATE DATABASE "{name}"'
    if template:
        sql += f' TEMPLATE "{_name_of(template)}" STRATEGY FILE_COPY'
    try:
        _admin(sql)
    except psycopg.errors.ObjectInUse as exc:
        raise AssertionError(f"cannot copy {template}: something is still connected to it (copy a data "
                             "directory before opening its store)") from exc
    _made.add(name)
    return _url_of(name)


def drop_postgres_database(url: str) -> None:
    name = _name_of(url)
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _made.discard(name)


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it at the end."""
    url = create_postgres_database()
    try:
        yield url
    finally:
        drop_postgres_database(url)


@contextmanager
def open_database(backend: str, tmp_path: Path, name: str = "db") -> Iterator[str]:
    """A fresh database of `backend`: `tmp_path/<name>.sqlite`, or a new PostgreSQL database."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.sqlite'}"
    elif backend == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(f"unknown backend {backend!r}")


database_url = open_database  # the older name, still imported by some tests and bench/


@contextmanager
def owned_by_test() -> Iterator[None]:
    """While a test runs (conftest's autouse fixture), databases copied for it are dropped after it."""
    global _test_owned
    _test_owned = []
    try:
        yield
    finally:
        owned, _test_owned = _test_owned, None
        for name in owned:
            if name in _made:
                drop_postgres_database(_url_of(name))


def drop_made() -> None:
    """Drop every database this process made and still holds (the end of a pytest process)."""
    for name in sorted(_made):
        try:
            drop_postgres_database(_url_of(name))
        except psycopg.Error:
            pass


atexit.register(drop_made)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_stale() -> int:
    """Drop test databases whose creating process is gone (runs killed before they could clean up)."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database")]
    stale = [n for n in names if (m := _NAME.match(n)) and not _alive(int(m.group(1)))]
    for name in stale:
        try:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass
    return len(stale)


# -- data directories -------------------------------------------------------------------------

def bind_data_dir(path: Path, url: str) -> Path:
    """Make `path` a data directory whose database is `url` (a PostgreSQL URL is written beside it)."""
    path.mkdir(parents=True, exist_ok=True)
    if url.startswith("postgresql"):
        (path / URL_FILE).write_text(url)
    return path


def new_database_url(backend: str, directory: Path, name: str = "db") -> str:
    """A fresh database for a module or session fixture (`directory/<name>.sqlite` on SQLite). Made
    while a test runs, it is dropped when the test ends; otherwise when the pytest process ends."""
    if backend == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{directory / f'{name}.sqlite'}"
    return _owned(create_postgres_database())


def new_data_dir(path: Path, backend: str) -> Path:
    """An empty data directory on `backend` (its database lives as new_database_url's does)."""
    if backend == "sqlite":
        path.mkdir(parents=True, exist_ok=True)
        return path
    return bind_data_dir(path, new_database_url(backend, path))


def data_dir_url(path: Path) -> str:
    marker = path / URL_FILE
    return marker.read_text().strip() if marker.is_file() else f"sqlite:///{path / 'dailypapers.db'}"


def data_dir_env(path: Path) -> dict[str, str]:
    """DAILYPAPERS_DATA_DIR and DAILYPAPERS_DATABASE_URL for a `dailypapers` process (the URL is empty
    on SQLite, so the process finds dailypapers.db in the directory as it would for a user)."""
    url = data_dir_url(path) if (path / URL_FILE).is_file() else ""
    return {"DAILYPAPERS_DATA_DIR": str(path), "DAILYPAPERS_DATABASE_URL": url}


def data_dir_settings(path: Path, environ: dict[str, str] | None = None, **overrides):
    """config.load for a data directory: its database, `environ` (default: none) and overrides."""
    from dailypapers import config

    overrides.setdefault("database_url", data_dir_url(path) if (path / URL_FILE).is_file() else "")
    return config.load(environ={} if environ is None else environ, data_dir=path, **overrides)


def _owned(url: str) -> str:
    if _test_owned is not None:
        _test_owned.append(_name_of(url))
    return url


def copy_data_dir(source: Path, target: Path, *, for_session: bool = False) -> Path:
    """A consistent copy of a data directory: its database and its index files. A test's copy of a
    PostgreSQL database is dropped when the test ends; a session fixture's (`for_session`) lives
    as long as the session."""
    target.mkdir(parents=True, exist_ok=True)
    url = data_dir_url(source)
    if url.startswith("postgresql"):
        copied = create_postgres_database(template=url)
        bind_data_dir(target, copied if for_session else _owned(copied))
    else:
        src = sqlite3.connect(source / "dailypapers.db")
        dst = sqlite3.connect(target / "dailypapers.db")
        with dst:
            src.backup(dst)
        src.close()
        dst.close()
    if (source / "index").exists():
        shutil.copytree(source / "index", target / "index")
    return target


def connect(url: str):
    """A DB-API connection for checks in raw SQL (`.execute(sql).fetchone()` on both backends);
    PostgreSQL's is in autocommit mode, so every query sees the latest committed rows."""
    if url.startswith("postgresql"):
        return psycopg.connect(url, autocommit=True)
    return sqlite3.connect(url.split("///", 1)[1])


def missing_table_errors() -> tuple[type[Exception], ...]:
    """What `connect(url).execute` raises while the schema is not there yet."""
    return (sqlite3.OperationalError, psycopg.errors.UndefinedTable)
