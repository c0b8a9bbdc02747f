"""Moving an installation: copy SQLite into PostgreSQL, and back up / restore either backend."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.engine import make_url

from ..errors import DailyPapersError
from .db import make_engine, migrate
from .schema import metadata

BATCH = 5000


class TransferError(DailyPapersError):
    pass


@dataclass
class TableCount:
    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target


def _user_tables() -> list:
    return [t for t in metadata.sorted_tables]


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _user_tables()}


def copy_database(source_url: str, target_url: str,
                  progress: Callable[[str, int], None] | None = None) -> list[TableCount]:
    """Copy every table from source to an empty, migrated target; then compare row counts."""
    source, target = make_engine(source_url), make_engine(target_url)
    migrate(source)
    migrate(target)
    if any(count_rows(target).values()):
        raise TransferError("the target database already holds data; copy into an empty database")
    with source.connect() as src, target.begin() as dst:
        for table in _user_tables():
            rows = src.execute(select(table)).mappings()
            while batch := rows.fetchmany(BATCH):
                dst.execute(insert(table), [dict(r) for r in batch])
                if progress:
                    progress(table.name, len(batch))
        if dst.dialect.name == "postgresql":
            _reset_sequences(dst)
    before, after = count_rows(source), count_rows(target)
    source.dispose()
    target.dispose()
    return [TableCount(name, before[name], after[name]) for name in before]


def _reset_sequences(conn) -> None:
    """Rows were copied with their ids, so move each serial sequence past the largest id."""
    for table in _user_tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                conn.execute(text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', '{column.name}'), "
                    f"COALESCE((SELECT MAX({column.name}) FROM {table.name}), 0) + 1, false)"))


def _sqlite_path(url: str) -> Path:
    return Path(make_url(url).database or "")


def _pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def backup(url: str, destination: Path) -> Path:
    """SQLite: the online backup API (consistent while the site runs). PostgreSQL: pg_dump -Fc."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        with sqlite3.connect(_sqlite_path(url)) as live, sqlite3.connect(destination) as copy:
            live.backup(copy)
        return destination
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={destination}", _pg_dsn(url)])
    return destination


def restore(url: str, source: Path) -> None:
    """Replace the database's contents with a backup made by `backup`."""
    if not source.is_file():
        raise TransferError(f"no backup file at {source}")
    if url.startswith("sqlite"):
        with sqlite3.connect(source) as saved:
            if saved.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise TransferError(f"{source} is not a sound SQLite database")
            target = _sqlite_path(url)
            target.parent.mkdir(parents=True, exist_ok=True)
            with sqlite3.connect(target) as live:
                saved.backup(live)
        return
    _run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
          f"--dbname={_pg_dsn(url)}", str(source)])


def _run(command: list[str]) -> None:
    if shutil.which(command[0]) is None:
        raise TransferError(f"{command[0]} is not installed (it comes with the PostgreSQL client)")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise TransferError(f"{command[0]} failed: {done.stderr.strip()[-500:]}")
