"""Small SQL helpers shared by the community store modules (the same SQL on SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..errors import StorageError


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@contextlib.contextmanager
def storage_errors(what: str) -> Iterator[None]:
    """The database refusing `what` (read-only, disk full, unreachable) as a StorageError, with
    the driver's first line; constraint violations are not storage faults and pass through."""
    try:
        yield
    except IntegrityError:
        raise
    except DBAPIError as exc:
        lines = str(exc.orig or exc).strip().splitlines() or [type(exc).__name__]
        raise StorageError(f"{what}: {lines[0][:200]}") from exc


def insert_ignore(conn: Connection, table: Table, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = list(table.primary_key.columns)[0]
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(statement).first() is not None  # (psycopg reports no rowcount here)


def insert_many_ignore(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[tuple]) -> None:
    """Many-row INSERT … ON CONFLICT DO NOTHING in one statement: rows whose key is already there
    are left out. (SQLAlchemy's executemany of an on-conflict insert cost ~90 µs a row on
    PostgreSQL, a third of an import's CPU; unnest() of one array per column costs a few.)"""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql":
        arrays = ", ".join(f"%s::{table.c[c].type.compile(dialect=conn.dialect)}[]" for c in columns)
        conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays}) '
                             "ON CONFLICT DO NOTHING", tuple(list(col) for col in zip(*rows, strict=True)))
        return
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f'INSERT OR IGNORE INTO "{table.name}" ({names}) VALUES ({marks})', list(rows))
