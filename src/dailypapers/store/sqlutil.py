"""Small SQL helpers shared by the community store modules (the same SQL on SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def insert_ignore(conn: Connection, table: Table, values: dict) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when a row was inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = list(table.primary_key.columns)[0]
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(statement).first() is not None  # (psycopg reports no rowcount here)


def insert_many_ignore(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """Many-row INSERT … ON CONFLICT DO NOTHING: rows whose key is already there are left out."""
    if rows:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(table).on_conflict_do_nothing(), list(rows))
