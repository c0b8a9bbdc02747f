"""The `dailypapers` command, run as a real process against real files and the database under test."""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from support.databases import connect, data_dir_env, data_dir_url, missing_table_errors
from support.paths import LISTINGS
from support.processes import wait_until

IMPORT_WAIT_S = 300  # bounds against a hang only: each wait ends as soon as its condition holds
COMMANDS = ["init", "import", "harvest", "index", "index rebuild", "serve", "search", "stats", "demo", "settings"]


def run(data_dir: Path, *args: str, check: bool = False) -> subprocess.CompletedProcess:
    env = dict(os.environ, **data_dir_env(data_dir), COLUMNS="200")
    proc = subprocess.run([sys.executable, "-m", "dailypapers", *args], env=env, capture_output=True, text=True,
                          timeout=600)
    if check:
        assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc


def listing_lines(n: int) -> list[bytes]:
    with gzip.open(LISTINGS) as f:
        return [next(f) for _ in range(n)]


def db(data_dir: Path):
    """A raw connection to the data directory's database (sqlite3 or psycopg: both `.execute().fetchone()`)."""
    return connect(data_dir_url(data_dir))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(tmp_path, command):
    proc = run(tmp_path, *command.split(), "--help", check=True)
    assert "Usage" in proc.stdout


@pytest.mark.slow
def test_import_is_idempotent_and_searchable(tmp_path, fresh_data_dir):
    data = fresh_data_dir
    path = tmp_path / "part.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(listing_lines(300))))
    first = run(data, "import", "listings", str(path), check=True)
    assert "300 new" in first.stderr
    assert db(data).execute("select count(*) from papers").fetchone()[0] == 300
    second = run(data, "import", "listings", str(path), check=True)
    assert "0 new, 0 updated, 300 unchanged" in second.stderr
    title = json.loads(listing_lines(1)[0])["title"]
    found = run(data, "search", title, "--json", "--limit", "3", check=True)
    assert json.loads(found.stdout.splitlines()[0])["id"] == json.loads(listing_lines(1)[0])["id"]
    stats = run(data, "stats", check=True)
    assert "papers" in stats.stderr + stats.stdout


def test_malformed_lines_are_reported_and_the_rest_imports(tmp_path, fresh_data_dir):
    lines = listing_lines(5)
    path = tmp_path / "bad.jsonl"
    path.write_bytes(lines[0] + b"{not json\n" + lines[1] + b'{"id": "nonsense", "title": "x"}\n' + lines[2])
    proc = run(fresh_data_dir, "import", "listings", str(path))
    assert proc.returncode == 1
    assert f"{path}:2" in proc.stderr and f"{path}:4" in proc.stderr
    assert "2 error(s)" in proc.stderr
    assert db(fresh_data_dir).execute("select count(*) from papers").fetchone()[0] == 3


def test_unknown_format_and_missing_file_fail_clearly(tmp_path, fresh_data_dir):
    proc = run(fresh_data_dir, "import", "pdf", "x")
    assert proc.returncode == 2 and "unknown format" in proc.stderr
    proc = run(fresh_data_dir, "import", "listings", str(tmp_path / "missing.jsonl"))
    assert proc.returncode == 1 and "no such file" in proc.stderr


def test_search_rejects_an_oversized_query(fresh_data_dir):
    run(fresh_data_dir, "init", check=True)
    proc = run(fresh_data_dir, "search", "x" * 2001)
    assert proc.returncode == 2 and "2000" in proc.stderr


def feed(pipe_path: Path, data: bytes, until: threading.Event) -> None:
    """Write `data` into the named pipe, then hold it open (no end of file) until `until` is set."""
    with contextlib.suppress(BrokenPipeError), open(pipe_path, "wb") as pipe:
        pipe.write(data)
        pipe.flush()
        until.wait(IMPORT_WAIT_S)


def papers_in(data: Path) -> int:
    try:
        with db(data) as con:
            return con.execute("select count(*) from papers").fetchone()[0]
    except missing_table_errors():
        return 0


@pytest.mark.slow
def test_sigkill_during_import_then_rerun_leaves_a_consistent_database(tmp_path, fresh_data_dir, backend):
    """The import reads a named pipe that never gets its last 1,000 lines, so it cannot finish
    before the kill, which lands wherever it has got to after its first 1,000 papers."""
    data = fresh_data_dir
    lines = listing_lines(20000)
    path = tmp_path / "many.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))
    pipe_path = tmp_path / "incoming.jsonl"
    os.mkfifo(pipe_path)
    killed = threading.Event()
    feeder = threading.Thread(target=feed, args=(pipe_path, b"".join(lines[:-1000]), killed), daemon=True)
    feeder.start()
    env = dict(os.environ, **data_dir_env(data))
    command = [sys.executable, "-m", "dailypapers", "import", "listings", str(pipe_path), "--batch-size", "500"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: proc.poll() is not None or papers_in(data) >= 1000, IMPORT_WAIT_S, "1,000 papers imported")
        assert proc.poll() is None, "the import ended before it was killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        killed.set()
        os.close(os.open(pipe_path, os.O_RDONLY | os.O_NONBLOCK))  # a feeder still opening the pipe gets in
        feeder.join(60)
    partial = db(data).execute("select count(*) from papers").fetchone()[0]
    assert 0 < partial < 20000, "the kill must land mid-import"
    remembered = db(data).execute("select count(*) from seen_records").fetchone()[0]
    assert remembered == partial  # a line is remembered in the transaction that stores its paper
    rerun = run(data, "import", "listings", str(path), check=True)
    assert f"{partial:,} lines were applied by an earlier import" in " ".join((rerun.stdout + rerun.stderr).split())
    con = db(data)
    if backend == "sqlite":  # the file itself is sound (PostgreSQL has no such check; its WAL is its own)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    ids = {json.loads(line)["id"] for line in listing_lines(20000)}
    assert con.execute("select count(*) from papers").fetchone()[0] == len(ids)
    assert con.execute("select count(*) from (select paper_id, position from paper_authors "
                       "group by 1, 2 having count(*) > 1) as dup").fetchone()[0] == 0
    orphans = con.execute("select count(*) from papers p where not exists "
                          "(select 1 from paper_authors a where a.paper_id = p.id)").fetchone()[0]
    assert orphans == 0
    assert con.execute("select count(*) from seen_records").fetchone()[0] == len(ids)


def test_production_mode_refuses_the_default_secret(fresh_data_dir):
    env = dict(os.environ, **data_dir_env(fresh_data_dir), DAILYPAPERS_ENV="production")
    env.pop("DAILYPAPERS_SECRET_KEY", None)
    proc = subprocess.run([sys.executable, "-m", "dailypapers", "serve"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1 and "DAILYPAPERS_SECRET_KEY" in proc.stderr
