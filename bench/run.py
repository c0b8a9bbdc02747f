"""Reproducible benchmarks; writes BENCHMARKS.md. Run with `make bench`.

Uses the real data in ../shared/data (the 75k arXiv listings, the snapshot fixtures scaled up
with new ids, the Hugging Face daily papers) and real servers on loopback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
WORK = ROOT / "var" / "bench"
sys.path.insert(0, str(ROOT / "src"))

from report import write_section  # noqa: E402

from dailypapers.ingest import importer  # noqa: E402
from dailypapers.search.keyword import KeywordIndex  # noqa: E402
from dailypapers.search.query import parse_query  # noqa: E402
from dailypapers.search.sync import rebuild_keyword_index  # noqa: E402
from dailypapers.store import Store  # noqa: E402

QUERIES = [
    "language models", "energy", "diffusion", "reinforcement learning", "\"large language models\"",
    "transformer attention", "graph neural network", "author:Wang", "cat:cs.CV segmentation",
    "benchmark evaluation", "quantization", "robot manipulation", "multimodal reasoning",
    "speech recognition", "the", "protein", "retrieval augmented generation", "video generation",
    "federated learning privacy", "zero-shot", "mixture of experts", "agents", "3D gaussian splatting",
    "code generation", "hallucination",
]


def fresh_store(name: str) -> Store:
    path = WORK / f"{name}.db"
    for p in WORK.glob(f"{name}.db*"):
        p.unlink()
    return Store.open(f"sqlite:///{path}")


def percentile(values: list[float], pct: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def bench_import(fmt: str, path: Path, label: str) -> tuple[dict, Store]:
    store = fresh_store(label)
    start = time.perf_counter()
    report = importer.import_paths(store, fmt, [path])
    seconds = time.perf_counter() - start
    row = {"what": f"import {fmt}: {label}", "records": report.records, "seconds": seconds,
           "rate": report.records / seconds, "errors": report.error_count}
    again = time.perf_counter()
    second = importer.import_paths(store, fmt, [path])
    row["reimport_seconds"] = time.perf_counter() - again
    row["reimport_changed"] = second.written.inserted + second.written.updated
    return row, store


def scaled_snapshot(lines: int) -> Path:
    """The real snapshot records, repeated with fresh new-style ids, to `lines` lines."""
    out = WORK / f"snapshot_{lines}.jsonl"
    if out.exists():
        return out
    seeds = []
    for name in ("kaggle_snapshot_first200.jsonl", "unarxive_2212_metadata49.jsonl"):
        seeds += [json.loads(x) for x in open(SHARED / "fixtures" / "kaggle-snapshot" / name) if x.strip()]
    with open(out, "w") as f:
        for n in range(lines):
            rec = dict(seeds[n % len(seeds)])
            rec["id"] = f"{30 + n // 90000:02d}{1 + (n // 9000) % 10:02d}.{n % 9000 + 10000:05d}"
            f.write(json.dumps(rec) + "\n")
    return out


def bench_search(store: Store) -> tuple[dict, list[dict]]:
    index_dir = WORK / "index-listings"
    shutil.rmtree(index_dir, ignore_errors=True)
    index = KeywordIndex(index_dir)
    start = time.perf_counter()
    count = rebuild_keyword_index(store, index)
    build = {"what": "keyword index build (75k listings)", "records": count,
             "seconds": time.perf_counter() - start}
    rows = []
    for mode in ("relevance", "date"):
        times = []
        for _ in range(5):
            for q in QUERIES:
                parsed = parse_query(q)
                t = time.perf_counter()
                index.search(parsed, limit=30, sort=mode)
                times.append((time.perf_counter() - t) * 1000)
        rows.append({"sort": mode, "queries": len(times), "p50": percentile(times, 50), "p99": percentile(times, 99)})
    return build, rows


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_pages(data_dir: Path) -> list[dict]:
    port = free_port()
    env = dict(os.environ, DAILYPAPERS_DATA_DIR=str(data_dir), DAILYPAPERS_PORT=str(port))
    server = subprocess.Popen([sys.executable, "-m", "dailypapers", "serve"], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(base)
        with httpx.Client(base_url=base) as client:
            latest = client.get("/api/daily_papers", params={"limit": 1}).json()[0]["publishedAt"][:10]
            day = dt.date.fromisoformat(latest)
            pages = {"home /": "/", "day page": f"/papers/date/{day}",
                     "week page": f"/papers/week/{day.isocalendar()[0]}-W{day.isocalendar()[1]:02d}",
                     "month page": f"/papers/month/{day:%Y-%m}", "search page": "/search?q=diffusion",
                     "API daily_papers": "/api/daily_papers"}
            rows = []
            for label, path in pages.items():
                times, size = [], 0
                for _ in range(60):
                    t = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - t) * 1000)
                    r.raise_for_status()
                    size = len(r.content)
                rows.append({"page": label, "path": path, "p50": percentile(times, 50),
                             "p99": percentile(times, 99), "bytes": size})
            return rows
    finally:
        server.terminate()
        server.wait(10)


def _wait_for(base: str) -> None:
    for _ in range(300):
        try:
            httpx.get(base + "/api/daily_papers?limit=1", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("server did not start")


def demo_dir() -> Path:
    data_dir = WORK / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)
    env = dict(os.environ, DAILYPAPERS_DATA_DIR=str(data_dir))
    subprocess.run([sys.executable, "-m", "dailypapers", "demo"], env=env, cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return data_dir


def render(imports: list[dict], build: dict, search: list[dict], pages: list[dict]) -> str:
    lines = ["## Foundation: import, keyword search, pages", "",
             "Everything ran on this machine's CPUs, one process, SQLite in WAL mode on local disk.", "",
             "### Import throughput", "",
             "| what | records | seconds | records/s | errors | re-import seconds | re-import changes |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in imports:
        lines.append(f"| {r['what']} | {r['records']:,} | {r['seconds']:.1f} | {r['rate']:,.0f} | {r['errors']} "
                     f"| {r['reimport_seconds']:.1f} | {r['reimport_changed']} |")
    lines += ["", f"Keyword index build: {build['records']:,} papers in {build['seconds']:.1f} s.", "",
              "### Keyword search (tantivy, 75k listings, in-process, 30 results)", "",
              f"{len(QUERIES)} queries × 5 rounds: common words, phrases, author and category filters.", "",
              "| sort | queries | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for r in search:
        lines.append(f"| {r['sort']} | {r['queries']} | {r['p50']:.2f} | {r['p99']:.2f} |")
    lines += ["", "### Pages (demo data, uvicorn on loopback, one client, 60 requests each)", "",
              "| page | path | p50 ms | p99 ms | bytes |", "|---|---|---:|---:|---:|"]
    for r in pages:
        lines.append(f"| {r['page']} | `{r['path']}` | {r['p50']:.1f} | {r['p99']:.1f} | {r['bytes']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--snapshot-lines", type=int, default=100_000)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    listings, store = bench_import("listings", SHARED / "arxiv_cs_listings.jsonl.gz", "75k listings")
    snapshot, _ = bench_import("snapshot", scaled_snapshot(args.snapshot_lines),
                               f"{args.snapshot_lines:,} snapshot lines")
    build, search = bench_search(store)
    pages = bench_pages(demo_dir())
    command = "make bench" + (f" (snapshot lines {args.snapshot_lines})" if args.snapshot_lines != 100_000 else "")
    text = render([listings, snapshot], build, search, pages)
    write_section("foundation", text, command)
    print(text)


if __name__ == "__main__":
    main()
