"""`make fuzz`: run each parser's fuzzer for a bounded time, keep what it learnt, report.

    python fuzz/run.py [FORMAT...]      # FUZZ_SECONDS (default 60) each; FUZZ_MAX_LEN (16384)

Each run starts from fuzz/corpus/FORMAT/ (seeded from tests/data by fuzz/seed.py), works in a
scratch directory, then merges back only the inputs that add coverage, so the committed corpus
stays small. A crash, timeout or out-of-memory input is written to fuzz/crashes/FORMAT/; the
regression test (tests/test_fuzz_regressions.py) replays every file there and in the corpus.
Exits non-zero when a fuzzer found something."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMATS = ("atom", "oai", "snapshot", "hf", "abs", "listings")
STAT = re.compile(r"^stat::(\w+):\s*(\d+)", re.MULTILINE)
COV = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)")


def run(fmt: str, seconds: int, max_len: int) -> dict:
    corpus, crashes = HERE / "corpus" / fmt, HERE / "crashes" / fmt
    corpus.mkdir(parents=True, exist_ok=True)
    crashes.mkdir(parents=True, exist_ok=True)
    before = set(os.listdir(crashes))
    script = str(HERE / "fuzz_parser.py")
    env = dict(os.environ, FUZZ_FORMAT=fmt, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    with tempfile.TemporaryDirectory(prefix=f"fuzz-{fmt}-") as work:
        began = time.monotonic()
        proc = subprocess.run(
            [script, f"-max_total_time={seconds}", "-timeout=10",
             "-rss_limit_mb=2048", f"-max_len={max_len}", f"-artifact_prefix={crashes}/", "-print_final_stats=1",
             work, str(corpus)],
            capture_output=True, text=True, errors="replace", timeout=seconds + 120, env=env)
        elapsed = time.monotonic() - began
        log = proc.stdout + proc.stderr
        merge = subprocess.run([script, "-merge=1", f"-max_len={max_len}", "-timeout=10", str(corpus), work],
                               capture_output=True, text=True, errors="replace", timeout=600, env=env)
    stats = {k: int(v) for k, v in STAT.findall(log)}
    cov = COV.findall(log)
    found = sorted(set(os.listdir(crashes)) - before)
    (HERE / "logs").mkdir(exist_ok=True)
    (HERE / "logs" / f"{fmt}.log").write_text(_trim(log) + "\n--- merge ---\n" + _trim(merge.stdout + merge.stderr))
    return {"format": fmt, "seconds": round(elapsed), "execs": stats.get("number_of_executed_units", 0),
            "cov": int(cov[-1][0]) if cov else 0, "features": int(cov[-1][1]) if cov else 0,
            "corpus": len(os.listdir(corpus)), "found": found, "rc": proc.returncode}


def _trim(log: str) -> str:
    lines = [line for line in log.splitlines() if not line.startswith("INFO: Instrumenting")]
    return "\n".join(lines[:40] + (["..."] if len(lines) > 80 else []) + lines[-40:] if len(lines) > 80 else lines)


def main(argv: list[str]) -> int:
    formats = argv or list(FORMATS)
    seconds = int(os.environ.get("FUZZ_SECONDS", "60"))
    max_len = int(os.environ.get("FUZZ_MAX_LEN", "16384"))
    results = []
    for fmt in formats:
        print(f"fuzzing {fmt} for {seconds}s ...", flush=True)
        result = run(fmt, seconds, max_len)
        results.append(result)
        print(f"  {result['execs']:,} execs in {result['seconds']}s, cov {result['cov']}, ft {result['features']}, "
              f"corpus {result['corpus']} files, found: {', '.join(result['found']) or 'nothing'}", flush=True)
    bad = [r for r in results if r["found"] or r["rc"] not in (0,)]
    for r in bad:
        print(f"{r['format']}: exit {r['rc']}, new inputs in fuzz/crashes/{r['format']}/: {r['found']} "
              f"(see fuzz/logs/{r['format']}.log)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
