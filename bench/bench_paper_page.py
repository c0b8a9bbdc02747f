"""First view of a paper page: server time in-process (the ASGI app, no network), uncached.

    .venv/bin/python bench/bench_paper_page.py --data-dir DIR [--papers 200] [--label after] [--json OUT]

DIR is a data directory with the demo loaded (`DAILYPAPERS_DATA_DIR=DIR dailypapers demo`). The
app is the real one (`create_app`, the demo's SQLite database, keyword and vector indexes, the
search service that `serve` opens). A few other papers are viewed first, so what is timed is not
the process's start-up (the encoder and vector index that `serve` loads in a thread at start-up,
templates), then
each of `--papers` different papers (every n-th of the demo, by id) is requested once: the first
view of that paper in this process, with nothing cached for it. Prints p50/p99/max in ms of the
clock and p50/p99 of the process's CPU time per request (steadier on a shared machine), and how
many of the pages showed key phrases.

`BENCH_SRC` (environment) runs another checkout's `src` (e.g. the code before issue 16 item 2,
extracted with `git archive`), against a data directory loaded by that code.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("BENCH_SRC", str(ROOT / "src")))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WARM = 5


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def paper_ids(store, n: int) -> list[str]:
    from sqlalchemy import select

    from dailypapers.store.schema import papers

    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.execute(select(papers.c.id).order_by(papers.c.id))]
    step = max(1, len(ids) // (n + WARM))
    return ids[::step][:n + WARM]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--label", default="")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from dailypapers import config
    from dailypapers.store import Store
    from dailypapers.web import create_app

    settings = config.load(environ={}, data_dir=args.data_dir)
    store = Store.open(settings.resolved_database_url)
    ids = paper_ids(store, args.papers)
    app = create_app(settings, store=store)
    times: list[float] = []
    cpu: list[float] = []  # the process's CPU time per request: steadier than the clock on a shared machine
    with_phrases = 0
    with TestClient(app) as client:
        started = time.perf_counter()
        for pid in ids[:WARM]:
            assert client.get(f"/papers/{pid}").status_code == 200
        # what `serve` does at start-up in a thread (web/background.py): the encoder (for search
        # queries) and the vector index, loaded before the timing so that it is not counted
        from dailypapers.web.deps import search_service_for_app

        search_service_for_app(app).warm()
        warm_s = time.perf_counter() - started
        for pid in ids[WARM:]:
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get(f"/papers/{pid}")
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            assert response.status_code == 200, (pid, response.status_code)
            with_phrases += 'class="keyword-chips"' in response.text
    store.close()
    result = {"label": args.label, "papers": len(times), "warm_up_s": round(warm_s, 2),
              "p50_ms": round(statistics.median(times), 1), "p99_ms": round(percentile(times, 99), 1),
              "max_ms": round(max(times), 1), "mean_ms": round(statistics.fmean(times), 1),
              "cpu_p50_ms": round(statistics.median(cpu), 1), "cpu_p99_ms": round(percentile(cpu, 99), 1),
              "pages_with_key_phrases": with_phrases}
    print(json.dumps(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
