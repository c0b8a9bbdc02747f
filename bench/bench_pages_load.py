"""Pages under load, render cache off and on, against hello-world in the same run (issue 16, item 1).

    python bench/bench_pages_load.py --data-dir DIR [--database-url URL] [--seconds 10 --clients 50]
        [--modes off,on] [--http auto|h11|httptools]

For each mode (DAILYPAPERS_RENDER_CACHE_MB=0, then the default) it serves the data directory the
way `dailypapers serve --workers 2` does (uvicorn, the app factory, two workers, info logging) with
one extra route, `/__hello` (same middleware and dependencies), rate limits off, and runs Debian's
`wrk` (`apt-get install wrk`) with 50 connections against hello-world and the real pages: each
kind cycles through a list of URLs (a Lua script), with `Accept-Encoding: gzip` as browsers send.
Each URL kind gets an unmeasured warm-up run first (--warmup seconds, plus one per ten URLs).
Prints Markdown rows: req/s, p50, p99, the share of hello-world in the same server run. `--queries`
also counts the SQL statements a request of each kind runs (SQLAlchemy's before_cursor_execute),
in process, rendered (cache off) and kept (cache on).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_page_cache import free_port, wrk_latency_ms  # bench/ is sys.path[0] when run

HERE = Path(__file__).resolve().parent
HELLO = "/__hello"


def hello_app():
    """The app factory the workers import (`bench_pages_load:hello_app`)."""
    from dailypapers.web import create_app

    app = create_app()
    app.get(HELLO)(lambda: {"hello": "world"})
    return app


def urls(env: dict[str, str]) -> dict[str, list[str]]:
    """The URLs of each kind, from the data directory: the last 14 days, their weeks and months,
    the top 50 papers of the last week's lists, searches."""
    code = ("import json, datetime as dt\nfrom dailypapers import config\nfrom dailypapers.store import Store\n"
            "from dailypapers.community import lists\n"
            "s = Store.open(config.load().resolved_database_url)\nlatest = s.latest_date()\n"
            "days = [latest - dt.timedelta(days=n) for n in range(14)]\n"
            "page = lists.daily(s, latest - dt.timedelta(days=6), latest, limit=50)\n"
            "print(json.dumps({'days': [d.isoformat() for d in days],"
            " 'papers': [i.paper.arxiv_id for i in page.items]}))\n")
    import json

    found = json.loads(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                      check=True).stdout)
    days = [dt.date.fromisoformat(d) for d in found["days"]]
    weeks = sorted({f"{d.isocalendar()[0]}-W{d.isocalendar()[1]:02d}" for d in days})
    months = sorted({d.strftime("%Y-%m") for d in days})
    words = ["language models", "diffusion", "reinforcement learning", "benchmark", "agents", "video generation",
             "quantization", "retrieval", "robot", "speech"]
    return {
        "hello-world": [HELLO],
        "home `/`": ["/"],
        "daily `/papers/date/…` (14 days)": [f"/papers/date/{d}" for d in days],
        "week `/papers/week/…`": [f"/papers/week/{w}" for w in weeks],
        "month `/papers/month/…`": [f"/papers/month/{m}" for m in months],
        "paper `/papers/{id}` (50 papers)": [f"/papers/{p}" for p in found["papers"]],
        "API `/api/daily_papers?date=` (14 days)": [f"/api/daily_papers?date={d}" for d in days],
        "search `/search?q=` (10 queries)": ["/search?q=" + urllib.request.quote(w) for w in words],
    }


def serve(env: dict[str, str], port: int, log) -> subprocess.Popen:
    code = ("import sys, uvicorn\nsys.path.insert(0, sys.argv[1])\n"
            f"uvicorn.run('bench_pages_load:hello_app', factory=True, host='127.0.0.1', port={port}, workers=2,"
            f" log_level='info', timeout_worker_healthcheck=30, http={env.get('BENCH_HTTP', 'auto')!r})\n")
    server = subprocess.Popen([sys.executable, "-c", code, str(HERE)], env=env, stdout=log, stderr=log)
    for _ in range(1200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{HELLO}", timeout=2)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


LUA = """local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format(nil, paths[(i %% #paths) + 1])
end
"""


def wrk(base: str, paths: list[str], seconds: int, clients: int, workdir: Path) -> dict[str, float]:
    script = workdir / "paths.lua"
    script.write_text(LUA % ", ".join('"' + p.replace('"', '\\"') + '"' for p in paths))
    args = ["wrk", "--latency", "-t2", f"-c{clients}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
            "-H", "Accept-Encoding: gzip", base + paths[0]]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    bad = (int(errors.group(1)) if errors else 0) + (int(timeouts.group(1)) if timeouts else 0)
    return {"rps": rate, "p50": wrk_latency_ms(out, "50%"), "p99": wrk_latency_ms(out, "99%"), "bad": bad}


def settle(base: str, limit_s: float = 120.0) -> None:
    """Wait until the workers have loaded what they load at start (the encoder, the indexes):
    ten hello-world answers in a row, each within 100 ms."""
    deadline, fast = time.monotonic() + limit_s, 0
    while fast < 10 and time.monotonic() < deadline:
        started = time.monotonic()
        urllib.request.urlopen(base + HELLO, timeout=30).read()
        fast = fast + 1 if time.monotonic() - started < 0.1 else 0
        time.sleep(0.05)


def run_mode(env: dict[str, str], kinds: dict[str, list[str]], args, workdir: Path) -> dict[str, dict]:
    port = free_port()
    with open(workdir / "server.log", "ab") as log:
        server = serve(env, port, log)
        try:
            base, results = f"http://127.0.0.1:{port}", {}
            settle(base)
            for kind, paths in kinds.items():
                wrk(base, paths, args.warmup + len(paths) // 10, args.clients, workdir)
                results[kind] = wrk(base, paths, args.seconds, args.clients, workdir)
                print(f"  {kind}: {results[kind]}", file=sys.stderr, flush=True)
            return results
        finally:
            server.terminate()
            server.wait()


def count_queries(env: dict[str, str], kinds: dict[str, list[str]]) -> dict[str, tuple[int, int]]:
    """Statements per request of each kind's first URL, in process: rendered (cache off), kept (on)."""
    code = """import json, sys
from fastapi.testclient import TestClient
from sqlalchemy import event
from dailypapers import config
from dailypapers.web import create_app
paths = json.loads(sys.argv[1])
out = {}
for mb in (0, 64):
    app = create_app(config.load(render_cache_mb=mb))
    seen = []
    event.listen(app.state.store.engine, "before_cursor_execute", lambda *a: seen.append(1))
    client = TestClient(app)
    for kind, path in paths.items():
        client.get(path)
        seen.clear()
        client.get(path)
        out.setdefault(kind, []).append(len(seen))
print(json.dumps(out))
"""
    import json

    paths = {kind: urls[0] for kind, urls in kinds.items() if urls[0] != HELLO}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(paths)], env=env, capture_output=True, text=True,
                          check=True)
    return {kind: tuple(pair) for kind, pair in json.loads(done.stdout.splitlines()[-1]).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=5, help="seconds of unmeasured load before each URL kind")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--queries", action="store_true", help="also count SQL statements per page")
    parser.add_argument("--modes", default="off,on", help="render cache modes to run: off, on or both")
    parser.add_argument("--http", default="auto", choices=("auto", "h11", "httptools"),
                        help="uvicorn's HTTP parser (auto: httptools when installed, as `dailypapers serve`)")
    args = parser.parse_args()
    env = dict(os.environ, BENCH_HTTP=args.http, DAILYPAPERS_DATA_DIR=args.data_dir,
               DAILYPAPERS_DATABASE_URL=args.database_url, DAILYPAPERS_RATE_LIMIT_SEARCH="0",
               DAILYPAPERS_RATE_LIMIT_API="0", DAILYPAPERS_RATE_LIMIT_FORMS="0")
    kinds = urls(env)
    print(f"load average before: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    modes = [m for m in ("off", "on") if m in args.modes.split(",")]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            runs.append(run_mode(dict(env, DAILYPAPERS_RENDER_CACHE_MB="0" if mode == "off" else "64"), kinds, args,
                                 Path(tmp)))
    print(f"load average after: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    print("| URL | " + " | ".join(f"cache {m}: req/s | p50 / p99 ms | of hello" for m in modes) + " |")
    print("|---|" + "---:|---:|---:|" * len(modes))
    for kind in kinds:
        row = [kind]
        for results in runs:
            r, hello = results[kind], results["hello-world"]["rps"]
            bad = f" ({r['bad']} errors)" if r["bad"] else ""
            row += [f"{r['rps']:,.0f}{bad}", f"{r['p50']:,.1f} / {r['p99']:,.1f}", f"{r['rps'] / max(hello, 1e-9):.0%}"]
        print("| " + " | ".join(row) + " |")
    if args.queries:
        print("\n| URL | SQL statements, rendered | served from the render cache |\n|---|---:|---:|")
        for kind, (rendered, kept) in count_queries(env, kinds).items():
            print(f"| {kind} | {rendered} | {kept} |")


if __name__ == "__main__":
    main()
