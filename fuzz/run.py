"""`make fuzz`: run each target's fuzzer (the parsers, then redact) for a bounded time, keep what
it learnt, report.

    python fuzz/run.py [FORMAT...]      # FUZZ_SECONDS (default 60) each; FUZZ_MAX_LEN (16384)

Each run starts from fuzz/seeds/FORMAT/ (real fixtures from tests/data, made by fuzz/seed.py)
and fuzz/corpus/FORMAT/ (what earlier runs learnt), works in a scratch directory, then rewrites
the corpus as the inputs that add coverage beyond the seeds, smallest first, so it stays small
(FUZZ_MAX_LEN caps an input's size). A crash, timeout or out-of-memory input is written to
fuzz/crashes/FORMAT/; the regression test (tests/test_fuzz_regressions.py) replays every file in
the seeds, the corpus and the crashes.
Exits non-zero when a fuzzer found something."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FORMATS = ("atom", "oai", "snapshot", "hf", "abs", "listings", "redact")  # the parsers, then redact
DICTS = {"atom": "xml", "oai": "xml", "snapshot": "json", "hf": "json", "listings": "json", "abs": "abs",
         "redact": "redact"}
STAT = re.compile(r"^stat::(\w+):\s*(\d+)", re.MULTILINE)
COV = re.compile(r"cov: (\d+) ft: (\d+) corp: (\d+)")


def run(fmt: str, seconds: int, max_len: int) -> dict:
    seeds, corpus, crashes = HERE / "seeds" / fmt, HERE / "corpus" / fmt, HERE / "crashes" / fmt
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
             f"-dict={HERE / 'dicts' / (DICTS[fmt] + '.dict')}",
             work, str(corpus), str(seeds)],
            capture_output=True, text=True, errors="replace", timeout=seconds + 120, env=env)
        elapsed = time.monotonic() - began
        log = proc.stdout + proc.stderr
        # the seeds count as already there: only inputs that reach further than they do are kept
        minimal = Path(work) / "minimal"
        shutil.copytree(seeds, minimal)
        merge = subprocess.run([script, "-merge=1", f"-max_len={max_len}", "-timeout=10", str(minimal), str(corpus),
                                work], capture_output=True, text=True, errors="replace", timeout=600, env=env)
        if merge.returncode == 0:
            kept = {p.name for p in minimal.iterdir()} - {p.name for p in seeds.iterdir()}
            for old in corpus.iterdir():
                if old.name not in kept:
                    old.unlink()
            for name in kept:
                shutil.copyfile(minimal / name, corpus / name)
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


def record(results: list[dict], seconds: int) -> None:
    sys.path.insert(0, str(HERE.parent / "bench"))
    from report import write_section

    lines = ["| target | seconds | execs | execs/s | coverage (edges) | features | seeds + kept corpus | found |",
             "|---|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        seeds = len(os.listdir(HERE / "seeds" / r["format"]))
        found = ", ".join(f"`{name}`" for name in r["found"]) or "nothing"
        lines.append(f"| {r['format']} | {r['seconds']} | {r['execs']:,} | {r['execs'] // max(r['seconds'], 1):,} | "
                     f"{r['cov']} | {r['features']} | {seeds} + {r['corpus']} | {found} |")
    body = ("## Fuzzing the parsers (atheris)\n\n"
            "Coverage-guided fuzzing of each source parser (fuzz/fuzz_parser.py): any bytes in, a storable Record or "
            "a ParseError out (fuzz/harness.py); and of `redact` (any text in: bounded, linear, nothing left to "
            "mask, no secret). Seconds are wall-clock on a shared machine, so execs/s vary with its "
            "load. What earlier runs found is in fuzz/crashes/ and replayed by tests/test_fuzz_regressions.py.\n\n"
            + "\n".join(lines))
    write_section("fuzz", body, f"FUZZ_SECONDS={seconds} make fuzz")


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
    if not argv:  # a full run: its figures go into BENCHMARKS.md
        record(results, seconds)
    bad = [r for r in results if r["found"] or r["rc"] not in (0,)]
    for r in bad:
        print(f"{r['format']}: exit {r['rc']}, new inputs in fuzz/crashes/{r['format']}/: {r['found']} "
              f"(see fuzz/logs/{r['format']}.log)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
