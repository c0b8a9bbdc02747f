"""Engine creation and migrations, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_DEFAULT_CACHE_KIB = 2000  # SQLite's own default page cache (`PRAGMA cache_size=-2000`)
IMPORT_CACHE_KIB = 32768  # a bulk import's page cache (32 MiB): more of the indexes it inserts into stay in memory
SQLITE_DEFAULT_AUTOCHECKPOINT = 1000  # pages of WAL before a commit copies them into the database (SQLite's default)
IMPORT_AUTOCHECKPOINT = 16384  # an import's (64 MiB): pages rewritten by many batches are copied back once


def make_engine(url: str) -> Engine:
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("sqlite"):
        _ensure_parent(url)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def display_url(url: str) -> str:
    """`url` as it may be shown or logged: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable database URL)"


def _ensure_parent(url: str) -> None:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@contextmanager
def bulk_load(engine: Engine) -> Iterator[None]:
    """While a bulk import runs, SQLite connections taken from `engine` get a larger page cache
    (fewer pages of the growing indexes read back and written out again) and checkpoint the WAL
    less often (the tables' last pages and the indexes' inner pages, rewritten by every batch,
    are copied into the database once per checkpoint; commits stay as safe: synchronous is
    unchanged); afterwards the connection goes back to SQLite's defaults. PostgreSQL: nothing
    to change per connection."""
    if engine.dialect.name != "sqlite" or IMPORT_CACHE_KIB <= SQLITE_DEFAULT_CACHE_KIB:
        yield
        return

    def larger_cache(dbapi_connection, _record, _proxy) -> None:
        dbapi_connection.execute(f"PRAGMA cache_size=-{IMPORT_CACHE_KIB}")
        dbapi_connection.execute(f"PRAGMA wal_autocheckpoint={IMPORT_AUTOCHECKPOINT}")

    event.listen(engine, "checkout", larger_cache)
    try:
        yield
    finally:
        event.remove(engine, "checkout", larger_cache)
        with engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_DEFAULT_CACHE_KIB}")
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={SQLITE_DEFAULT_AUTOCHECKPOINT}")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision`; safe to run on every start. At head, also builds the
    indexes a killed bulk import left out (store/deferred.py)."""
    command.upgrade(alembic_config(engine), revision)
    if revision == "head":
        from .deferred import restore_abandoned

        restore_abandoned(engine)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
