"""Embedding throughput and quality on the CPU: abstracts/s per variant, cosine to full precision.

    .venv/bin/python bench/bench_embeddings.py [--n 600] [--variants int8,fp32] [--batch-sizes 16,32,64]

Texts: title + ". " + abstract of real papers of the arXiv cs listings (../shared/data, else
tests/data), max 256 tokens. For each variant: the first-load time in an empty cache (graph build
and quantisation included), the load time from the cache, abstracts/s over the wall clock and per
CPU-second (the machine may be shared: CPU time is the steadier figure), the process's peak RSS,
and the int8 vectors' cosine to the fp32 ones. Prints a JSON object.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from dailypapers.search.embeddings import load_encoder
from dailypapers.store.vectors import embed_text


def real_texts(n: int, seed: int = 0) -> list[str]:
    shared = ROOT.parent / "shared" / "data" / "arxiv_cs_listings.jsonl.gz"
    path = shared if shared.exists() else ROOT / "tests" / "data" / "arxiv_cs_listings.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        rows = [json.loads(line) for line in itertools.islice(fh, 20_000)]
    random.Random(seed).shuffle(rows)
    return [embed_text(r.get("title"), r.get("summary")) for r in rows[:n]]


def timed(fn, *args, **kw):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--variants", default="int8,fp32")
    ap.add_argument("--batch-sizes", default="32,64")
    ap.add_argument("--rounds", type=int, default=2, help="best of this many runs")
    args = ap.parse_args()
    texts = real_texts(args.n)
    cores = len(os.sched_getaffinity(0))
    result = {"texts": len(texts), "cores": cores, "loadavg_start": os.getloadavg()[0], "variants": {}}
    vectors = {}
    with tempfile.TemporaryDirectory() as cold:
        for variant in args.variants.split(","):
            _, first_load, _ = timed(load_encoder, Path(cold), variant)
            enc, warm_load, _ = timed(load_encoder, Path(cold), variant)
            enc.encode(texts[:32])  # warm-up
            row = {"name": enc.name, "first_load_s": round(first_load, 2), "cached_load_s": round(warm_load, 2)}
            for bs in [int(b) for b in args.batch_sizes.split(",")]:
                best_wall = best_cpu = float("inf")
                for _ in range(args.rounds):
                    vecs, wall, cpu = timed(enc.encode, texts, batch_size=bs)
                    best_wall, best_cpu = min(best_wall, wall), min(best_cpu, cpu)
                row[f"batch_{bs}"] = {"per_s_wall": round(len(texts) / best_wall, 1),
                                      "per_s_per_cpu_s_x_cores": round(cores * len(texts) / best_cpu, 1)}
                vectors[variant] = vecs
            result["variants"][variant] = row
    if "int8" in vectors and "fp32" in vectors:
        cos = (vectors["int8"] * vectors["fp32"]).sum(1)
        result["int8_vs_fp32_cosine"] = {"mean": round(float(cos.mean()), 5), "min": round(float(cos.min()), 5),
                                         "p1": round(float(np.percentile(cos, 1)), 5)}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["loadavg_end"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
