"""Real databases for tests: a SQLite file, or a fresh PostgreSQL database dropped afterwards."""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

PG_ADMIN_URL = os.environ.get("DAILYPAPERS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def postgres_database():
    """Create a uniquely named database, yield its URL, drop it at the end."""
    name = f"dailypapers_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def database_url(backend: str, tmp_path: Path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db.sqlite'}"
    else:
        with postgres_database() as url:
            yield url
