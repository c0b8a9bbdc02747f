"""Storage faults under a running node (issue 14, items 6 and 10), on the backend under test.

- The keyword index deleted while the node serves (a real index directory removed under a
  running app): every keyword or hybrid search and every search feed answers 503 with
  Retry-After, never 500; pages that only use the database keep working; the index follower
  (started with the app, stepped by the test) builds the index again and searches answer as
  before. A node that starts with no keyword index at all builds it the same way.
- The database refusing writes (a disk full, a read-only database): searches and pages, which
  only read, keep working although the rate-limit counter cannot count (it fails open, counting
  in memory, and says so in the log).
- A data directory the server cannot write: `dailypapers serve` stops at once with a one-line
  error instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from support.community import copy_data_dir, make_app
from support.databases import data_dir_env

from dailypapers.community.ratelimit import DatabaseCounter
from dailypapers.store import Store

SEARCHES = ["/search?q=agents&mode=keyword", "/search?q=agents&mode=hybrid", "/search?q=agents&sort=date",
            "/search?q=cat:cs.CL", "/api/papers/search?q=agents&mode=keyword", "/api/papers/search?q=agents",
            "/feeds/search.rss?q=agents", "/feeds/search.atom?q=language+models"]
READS = ["/", "/papers/2608.19880", "/papers/date/2026-08-21", "/api/daily_papers", "/api/papers/2608.19880",
         "/feeds/daily.rss", "/about"]


@pytest.fixture
def node(web_data_dir, tmp_path):
    """The app on its own copy of the site; its index follower runs (started with the app) but
    never ticks by itself in a test: the test steps it with run_once()."""
    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    app, store = make_app(data_dir, index_follow_interval=3600, rate_limit_store="memory", rate_limit_search=0,
                          rate_limit_api=0)
    yield app
    store.close()


def _found(client: TestClient) -> list[str]:
    response = client.get("/api/papers/search", params={"q": "agents", "mode": "keyword", "limit": 50})
    assert response.status_code == 200, response.text[:300]
    return [hit["paper"]["id"] for hit in response.json()]


def _all_unavailable(client: TestClient) -> None:
    for url in SEARCHES:
        response = client.get(url)
        assert response.status_code == 503, (url, response.status_code, response.text[:300])
        if not url.startswith("/search"):
            assert int(response.headers["retry-after"]) > 0, url
    for url in READS:
        assert client.get(url).status_code == 200, url


def test_keyword_index_deleted_while_serving_answers_503_then_rebuilds_itself(node):
    with TestClient(node, raise_server_exceptions=False) as client:  # the follower starts with the app
        before = _found(client)
        assert before
        shutil.rmtree(node.state.index_path)
        _all_unavailable(client)
        assert node.state.follower.run_once() > 0  # what the follower's next tick does
        assert _found(client) == before
        for url in SEARCHES:
            assert client.get(url).status_code == 200, url


def test_a_node_without_a_keyword_index_builds_it_itself(node):
    shutil.rmtree(node.state.index_path)  # a new node: the data directory has no index yet
    with TestClient(node, raise_server_exceptions=False) as client:
        _all_unavailable(client)
        node.state.follower.run_once()
        assert _found(client)
        assert node.state.follower.run_once() == 0  # built once; then it only follows changes


# -- item 10: the database refuses writes; the data directory is read-only ------------------------


def _refuse_writes(store) -> None:
    """From now on every connection of `store` is read-only inside the database itself (SQLite's
    `query_only`, PostgreSQL's read-only transactions): each write fails in the engine, as on a
    full disk, and the driver raises; reads go on."""
    sql = ("PRAGMA query_only = ON" if store.engine.dialect.name == "sqlite"
           else "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")

    def read_only(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(sql)
        cursor.close()
        if store.engine.dialect.name != "sqlite":
            dbapi_connection.commit()

    event.listen(store.engine, "connect", read_only)
    store.engine.dispose()  # the pooled connections go; new ones are read-only


def test_searches_and_pages_work_while_the_database_refuses_writes(web_data_dir, tmp_path, caplog):
    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    app, store = make_app(data_dir, index_follow_interval=3600, rate_limit_store="database",
                          rate_limit_search=1000, rate_limit_api=1000)
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            assert client.get("/search", params={"q": "agents"}).status_code == 200
            _refuse_writes(store)
            with caplog.at_level(logging.WARNING, logger="dailypapers.community"):
                for url in SEARCHES + READS:
                    response = client.get(url)
                    assert response.status_code == 200, (url, response.status_code, response.text[:300])
            warnings = [r.getMessage() for r in caplog.records if "rate-limit counter" in r.getMessage()]
            assert len(warnings) == 1, warnings  # said once, not once a request
            assert "memory" in warnings[0]
    finally:
        store.close()


@pytest.mark.only_backend("sqlite", reason="SQLite's max_page_count makes a real 'database or disk is full'")
def test_a_full_database_leaves_the_rate_limits_counting_in_memory(database_url, caplog):
    """SQLITE_FULL itself (the error a full disk gives): the database may not grow by one page, and
    hits on new keys need new rows. Every hit is still answered, and the limit still holds."""
    store = Store.open(database_url)
    try:
        with store.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        event.listen(store.engine, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA max_page_count = {pages}"))
        store.engine.dispose()
        counter = DatabaseCounter(store, "secret")
        with caplog.at_level(logging.WARNING, logger="dailypapers.community"):
            assert {counter.hit(f"search:addr:10.0.{n // 256}.{n % 256}", 5, 60) for n in range(400)} == {None}
            assert [counter.hit("search:addr:192.0.2.1", 2, 60) is None for _ in range(3)] == [True, True, False]
        full = [r.getMessage() for r in caplog.records if "database or disk is full" in r.getMessage()]
        assert len(full) == 1, full
    finally:
        store.close()


def _read_only_run(data_dir: Path, args: list[str]) -> subprocess.CompletedProcess:
    """`dailypapers ARGS` with `data_dir` read-only for it: a read-only bind mount in a mount
    namespace of its own when this runs as root (root ignores file modes), else the directory's
    write bits taken away."""
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")},
           **data_dir_env(data_dir), "COLUMNS": "200"}
    command = [sys.executable, "-m", "dailypapers", *args]
    if os.geteuid() != 0:
        for path in (data_dir, *data_dir.rglob("*")):
            path.chmod(path.stat().st_mode & ~0o222)
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("running as root without mount namespaces: no way to make a directory read-only for root")
    script = ('mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"')
    return subprocess.run(["unshare", "-m", "sh", "-c", script, str(data_dir), *command], env=env,
                          capture_output=True, text=True, timeout=120)


def test_serve_on_a_read_only_data_directory_stops_with_one_line(web_data_dir, tmp_path):
    data_dir = copy_data_dir(web_data_dir, tmp_path / "data")
    result = _read_only_run(data_dir, ["serve", "--port", "9"])  # never listens: it stops before
    output = (result.stdout + result.stderr).strip()
    assert result.returncode == 1, output[-2000:]
    assert "Traceback" not in output, output[-2000:]
    assert len(output.splitlines()) == 1, output[-2000:]
    assert output.startswith("error: cannot write to") and str(data_dir) in output, output
    assert ("Read-only file system" in output or "Permission denied" in output), output
