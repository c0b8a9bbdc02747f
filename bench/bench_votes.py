"""Load test of upvoting: N concurrent clients vote on the same papers against a real uvicorn
server on loopback, through the JSON API with personal API tokens. Checks that the final counts
equal the votes cast (every client also repeats its first vote at the same moment, which must
not count twice) and that no request failed. Writes the "votes" section of BENCHMARKS.md.

    python bench/bench_votes.py [--clients 200] [--papers 5] [--backend sqlite|postgresql]

tests/test_votes_load.py runs the same code, smaller, as a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import secrets
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "tests"))

from dailypapers import config  # noqa: E402
from dailypapers.community.accounts import digest  # noqa: E402
from dailypapers.models import Author, DailyEntry, Paper, Record  # noqa: E402
from dailypapers.store import Store  # noqa: E402

UTC = dt.timezone.utc
# uvicorn closes a keep-alive connection idle for 5 s by default; on a loaded machine a client
# (same process, same GIL) can take longer than that to send its next vote, and the server's
# close then races the request: an httpx ReadError that is no fault of the code under test.
KEEP_ALIVE_S = 600


@dataclass
class LoadResult:
    clients: int
    papers: int
    requests: int = 0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    expected: dict[str, int] = field(default_factory=dict)
    counted: dict[str, int] = field(default_factory=dict)

    @property
    def exact(self) -> bool:
        return self.expected == self.counted

    def percentile(self, pct: float) -> float:
        values = sorted(self.latencies_ms)
        return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))] if values else 0.0


def seed(store: Store, clients: int, papers: int, baseline: int = 7) -> tuple[list[str], list[str]]:
    """Papers on today's list (with an imported baseline) and one member + API token per client."""
    now = dt.datetime.now(UTC)
    ids = [f"2608.{90000 + i:05d}" for i in range(papers)]
    store.write([Record(Paper(pid, f"Load test paper {i}", "abstract", [Author("Load Tester")], version=1,
                              published=now - dt.timedelta(days=1)), DailyEntry(pid, now.date(), upvotes=baseline))
                 for i, pid in enumerate(ids)])
    tokens, rows = [], []
    for i in range(clients):
        user = store.accounts.create_user(email=f"load{i}@example.org", username=f"load{i}", display_name="",
                                          password_hash="!", role="member", now=now)
        token = "dp_" + secrets.token_urlsafe(24)
        tokens.append(token)
        rows.append({"user_id": user.id, "name": "load", "token_hash": digest(token), "prefix": token[:10],
                     "created_at": now})
    store.accounts.add_tokens(rows)
    return ids, tokens


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(app):
    """The app under a real uvicorn server on 127.0.0.1, in a background thread."""
    import uvicorn

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                           backlog=4096, timeout_keep_alive=KEEP_ALIVE_S))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


async def _client(base: str, token: str, ids: list[str], result: LoadResult, start: asyncio.Event) -> None:
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
        async def vote(pid: str) -> None:
            began = time.perf_counter()
            try:
                response = await http.post(f"/api/papers/{pid}/vote", json={"upvoted": True})
                if response.status_code != 200:
                    result.errors.append(f"{pid}: HTTP {response.status_code} {response.text[:120]}")
            except httpx.HTTPError as exc:
                result.errors.append(f"{pid}: {exc.__class__.__name__}: {exc}")
            result.latencies_ms.append((time.perf_counter() - began) * 1000)
            result.requests += 1

        await start.wait()
        await asyncio.gather(vote(ids[0]), vote(ids[0]))  # the same vote twice at once: counts once
        for pid in ids[1:]:
            await vote(pid)


async def _run(base: str, tokens: list[str], ids: list[str], result: LoadResult) -> None:
    start = asyncio.Event()
    tasks = [asyncio.create_task(_client(base, t, ids, result, start)) for t in tokens]
    await asyncio.sleep(0.2)  # every client is waiting: release them together
    began = time.perf_counter()
    start.set()
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - began


def run_load(app, store: Store, ids: list[str], tokens: list[str], timeout_s: float = 120) -> LoadResult:
    """All clients vote on every paper; returns timings and the counts before/after."""
    before = store.votes.counts(ids)
    result = LoadResult(clients=len(tokens), papers=len(ids))
    with serve(app) as base:
        asyncio.run(asyncio.wait_for(_run(base, tokens, ids, result), timeout_s))
    after = store.votes.counts(ids)
    result.expected = {pid: before.get(pid, 0) + len(tokens) for pid in ids}
    result.counted = {pid: after.get(pid, 0) for pid in ids}
    return result


def report(results: list[tuple[str, LoadResult]]) -> str:
    lines = ["## Votes under load", "",
             "Concurrent clients, each with its own API token and connection, upvote the same papers through "
             "`POST /api/papers/{id}/vote` on a real uvicorn server (one process) on loopback; each client "
             "also sends its first vote twice at the same moment. Checked: final local counts equal the "
             "votes cast, no request failed. The clients (asyncio + httpx) run in the same Python process as "
             "the server's thread, on the same cores, so throughput and latency are a lower bound.", "",
             "| backend | clients | papers | requests | seconds | requests/s | p50 ms | p95 ms | p99 ms | errors "
             "| counts exact |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for backend, r in results:
        lines.append(f"| {backend} | {r.clients} | {r.papers} | {r.requests:,} | {r.seconds:.2f} | "
                     f"{r.requests / r.seconds:,.0f} | {r.percentile(50):.0f} | {r.percentile(95):.0f} | "
                     f"{r.percentile(99):.0f} | {len(r.errors)} | {'yes' if r.exact else 'NO'} |")
    return "\n".join(lines)


@contextlib.contextmanager
def fresh_app(backend: str):
    """A new, empty site on SQLite (a temporary file) or PostgreSQL (a temporary database)."""
    from support.databases import postgres_database

    from dailypapers.web import create_app

    with tempfile.TemporaryDirectory() as tmp:
        with (postgres_database() if backend == "postgresql" else contextlib.nullcontext(None)) as pg_url:
            settings = config.load(environ={}, data_dir=Path(tmp), database_url=pg_url or "")
            store = Store.open(settings.resolved_database_url)
            try:
                yield create_app(settings, store=store), store
            finally:
                store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--papers", type=int, default=5)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for backend in backends:
        with fresh_app(backend) as (app, store):
            ids, tokens = seed(store, args.clients, args.papers)
            result = run_load(app, store, ids, tokens)
        print(f"{backend}: {result.requests} requests in {result.seconds:.2f}s, {len(result.errors)} errors, "
              f"exact={result.exact}")
        for err in result.errors[:5]:
            print("  ", err)
        results.append((backend, result))
    from report import write_section

    command = "python bench/bench_votes.py " + " ".join(sys.argv[1:])
    write_section("votes", report(results), command.strip())
    if not all(r.exact and not r.errors for _, r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
