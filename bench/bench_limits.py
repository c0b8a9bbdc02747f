"""What a rate-limit check costs: one `RateLimiter.hit` with the in-process counter and with the
database counter (store/ratelimits.py) on SQLite and PostgreSQL, alone and from 8 threads on two
engines (as two web processes would be). Writes the `rate-limits` section of BENCHMARKS.md.

    .venv/bin/python bench/bench_limits.py [--hits 2000]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from report import write_section  # noqa: E402

from dailypapers.community.ratelimit import DatabaseCounter, MemoryCounter, RateLimiter  # noqa: E402
from dailypapers.store import Store  # noqa: E402


def single(limiter: RateLimiter, hits: int, keys: int) -> list[float]:
    timings = []
    for i in range(hits):
        start = time.perf_counter()
        limiter.hit(f"client-{i % keys}")
        timings.append((time.perf_counter() - start) * 1000)
    return timings


def threaded(limiters: list[RateLimiter], hits: int, threads: int, keys: int) -> float:
    """Hits per second from `threads` threads spread over the limiters."""
    per_thread = hits // threads

    def work(n: int) -> None:
        limiter = limiters[n % len(limiters)]
        for i in range(per_thread):
            limiter.hit(f"client-{(n * per_thread + i) % keys}")

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    start = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=600)
    return per_thread * threads / (time.perf_counter() - start)


def row(name: str, timings: list[float], rate: float | None) -> str:
    q = statistics.quantiles(timings, n=100)
    throughput = f"{rate:,.0f}" if rate else "–"
    return f"| {name} | {statistics.median(timings):.3f} | {q[94]:.3f} | {throughput} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hits", type=int, default=2000)
    args = parser.parse_args()
    from support.databases import postgres_database

    limit, keys = 10**9, 200  # never refuses: measures the counting itself
    rows = [row("in-process (MemoryCounter)",
                single(RateLimiter(limit, 60, counter=MemoryCounter(), name="b"), args.hits, keys), None)]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in ("sqlite", "postgresql"):
            context = postgres_database() if backend == "postgresql" else contextlib.nullcontext(
                f"sqlite:///{Path(tmp) / 'limits.db'}")
            with context as url:
                stores = [Store.open(url) for _ in range(2)]
                try:
                    secret = secrets.token_hex(16)
                    limiters = [RateLimiter(limit, 60, counter=DatabaseCounter(s, secret), name="b") for s in stores]
                    timings = single(limiters[0], args.hits, keys)
                    rate = threaded(limiters, args.hits, 8, keys)
                    rows.append(row(f"database, {backend}", timings, rate))
                finally:
                    for s in stores:
                        s.close()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = ("### Rate-limit checks\n\nOne `RateLimiter.hit` (200 keys, never refused): latency from one thread, "
            "and hits per second from 8 threads on two engines (two web processes' worth of pools). The "
            "database counter costs one read of the previous window and one upsert.\n\n"
            "| counter | median ms | p95 ms | hits/s, 8 threads |\n|---|---:|---:|---:|\n" + "\n".join(rows)
            + f"\n\nLoad average while it ran: {load} (other work shared the machine and the PostgreSQL server).")
    print(body)
    write_section("rate-limits", body, "python bench/bench_limits.py --hits " + str(args.hits))


if __name__ == "__main__":
    main()
