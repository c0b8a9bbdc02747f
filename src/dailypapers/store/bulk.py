"""Many-row INSERTs for imports: COPY on PostgreSQL, one driver-level executemany on SQLite.

Values go through the same type processing SQLAlchemy would apply (on SQLite, datetimes become
its stored string form), so rows written here read back exactly like rows written by insert().
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import String, Table
from sqlalchemy.engine import Connection


def insert_rows(conn: Connection, table: Table, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert `rows` (tuples in `columns` order) in the connection's current transaction."""
    if not rows:
        return
    names = ", ".join(f'"{c}"' for c in columns)
    if conn.dialect.name == "postgresql":
        # insert() sends `%s::VARCHAR(n)`, and PostgreSQL truncates what it casts; COPY would refuse
        # an over-long value instead, so cut it here to keep the same outcome.
        limits = [(i, t.length) for i, t in enumerate(table.c[c].type for c in columns)
                  if isinstance(t, String) and t.length]
        driver = conn.connection.driver_connection
        assert driver is not None  # a connection in use always holds its DBAPI connection
        too_long = _too_long(rows, limits)
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for k, row in enumerate(rows):
                if k in too_long:
                    row = list(row)
                    for i, n in limits:
                        if isinstance(row[i], str):
                            row[i] = row[i][:n]
                copy.write_row(row)
        return
    processors = [(i, p) for i, p in enumerate(table.c[c].type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
                                               for c in columns) if p is not None]
    if processors:
        rows = [_processed(row, processors) for row in rows]
    marks = ", ".join("?" for _ in columns)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({names}) VALUES ({marks})', list(rows))


def _too_long(rows: Sequence[Sequence], limits: Sequence[tuple[int, int]]) -> set[int]:
    """Positions of the rows holding a string longer than its column's limit (one comprehension
    a limited column: a generator a row cost 3% of a PostgreSQL import)."""
    return {k for i, n in limits for k, row in enumerate(rows) if isinstance(v := row[i], str) and len(v) > n}


def _processed(row: Sequence, processors: Sequence[tuple[int, Callable[[Any], Any]]]) -> tuple:
    out = list(row)
    for i, p in processors:
        if out[i] is not None:
            out[i] = p(out[i])
    return tuple(out)


def insert_dicts(conn: Connection, table: Table, rows: Sequence[dict]) -> None:
    """insert_rows for dict rows that all have the same keys."""
    if rows:
        columns = list(rows[0])
        if len(columns) == 1:
            insert_rows(conn, table, columns, [(r[columns[0]],) for r in rows])
        else:
            values = operator.itemgetter(*columns)  # one C call a row instead of a generator
            insert_rows(conn, table, columns, [values(r) for r in rows])
