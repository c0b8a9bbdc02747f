"""Pages under load against a hello-world route of the same app (issue 16, item 1), with `wrk`.

    python bench/bench_page_cache.py --data-dir var --day 2026-08-21 [--seconds 10 --clients 50]

Serves `create_app()` over the data directory with one uvicorn worker and an extra route
`/__hello` (same middleware stack, same dependencies), rate limits off, then runs `wrk` (Debian's,
`apt-get install wrk`) against: hello-world, the daily page rendered each time (no validator),
the daily page revalidated (`If-None-Match` with its ETag: 304), and the daily page gzipped.
Prints one Markdown table row per URL: requests/s, p50, p99 and the share of hello-world.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request


def serve(data_dir: str, port: int) -> subprocess.Popen:
    code = ("import uvicorn\nfrom dailypapers.web import create_app\napp = create_app()\n"
            "app.get('/__hello')(lambda: {'hello': 'world'})\n"
            f"uvicorn.run(app, host='127.0.0.1', port={port}, log_level='warning')\n")
    env = dict(os.environ, DAILYPAPERS_DATA_DIR=data_dir, DAILYPAPERS_RATE_LIMIT_SEARCH="0",
               DAILYPAPERS_RATE_LIMIT_API="0", DAILYPAPERS_RATE_LIMIT_FORMS="0")
    server = subprocess.Popen([sys.executable, "-c", code], env=env)
    for _ in range(600):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__hello", timeout=1)
            return server
        except OSError:
            time.sleep(0.1)
    server.kill()
    raise SystemExit("the server did not start")


def wrk(url: str, seconds: int, clients: int, headers: dict[str, str]) -> dict[str, float]:
    args = ["wrk", "--latency", "-t2", f"-c{clients}", f"-d{seconds}s", url]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return {"rps": rate, "p50": wrk_latency_ms(out, "50%"), "p99": wrk_latency_ms(out, "99%")}


def wrk_latency_ms(out: str, pct: str) -> float:
    """The `pct` latency of wrk --latency's output, in ms."""
    value, unit = re.search(rf"{pct}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--day", required=True, help="a day with papers, YYYY-MM-DD")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    port = free_port()
    server = serve(args.data_dir, port)
    try:
        base, day = f"http://127.0.0.1:{port}", f"/papers/date/{args.day}"
        etag = urllib.request.urlopen(base + day).headers["ETag"]
        cases = [("hello-world `/__hello`", "/__hello", {}), ("daily page, rendered", day, {}),
                 ("daily page, gzip", day, {"Accept-Encoding": "gzip"}),
                 ("daily page, If-None-Match (304)", day, {"If-None-Match": etag})]
        print("| URL | req/s | p50 ms | p99 ms | of hello-world |\n|---|---:|---:|---:|---:|")
        hello = None
        for label, path, headers in cases:
            r = wrk(base + path, args.seconds, args.clients, headers)
            hello = hello or r["rps"]
            print(f"| {label} | {r['rps']:,.0f} | {r['p50']:,.1f} | {r['p99']:,.1f} | {r['rps'] / hello:.0%} |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
