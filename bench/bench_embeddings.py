"""Embedding throughput and quality on the CPU: abstracts/s per variant, cosine to full precision.

    .venv/bin/python bench/bench_embeddings.py [--n 600] [--variants int8,fp32] [--batch-sizes 16,32,64] [--write]

Texts: title + ". " + abstract of real papers of the arXiv cs listings (../shared/data, else
tests/data), max 256 tokens. For each variant: the first-load time in an empty cache (graph build
and quantisation included), the load time from the cache, abstracts/s over the wall clock and per
CPU-second (the machine may be shared: CPU time is the steadier figure), the process's peak RSS,
and the int8 vectors' cosine to the fp32 ones; then the cost of a paper's document vector
(`document_vectors`: its text plus its title on its own). Prints a JSON object; `--write` also
writes the `embeddings-cpu` section of BENCHMARKS.md.
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

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before anything imports huggingface_hub

from report import write_section  # noqa: E402

from dailypapers.search.encoder.embeddings import document_vectors, load_encoder  # noqa: E402  (after sys.path, env)
from dailypapers.store.vectors import embed_text  # noqa: E402


def real_papers(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """(text, title) of `n` real papers of the cs listings."""
    shared = ROOT.parent / "shared" / "data" / "arxiv_cs_listings.jsonl.gz"
    path = shared if shared.exists() else ROOT / "tests" / "data" / "arxiv_cs_listings.jsonl.gz"
    with gzip.open(path, "rt") as fh:
        rows = [json.loads(line) for line in itertools.islice(fh, 20_000)]
    random.Random(seed).shuffle(rows)
    return [(embed_text(r.get("title"), r.get("summary")), " ".join((r.get("title") or "").split()))
            for r in rows[:n]]


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
    ap.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    args = ap.parse_args()
    papers = real_papers(args.n)
    texts, titles = [t for t, _ in papers], [t for _, t in papers]
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
            if variant == "int8":
                _, wall, cpu = timed(document_vectors, enc, texts, titles, batch_size=64)
                row["document_vectors_batch_64"] = {
                    "per_s_wall": round(len(texts) / wall, 1),
                    "per_s_per_cpu_s_x_cores": round(cores * len(texts) / cpu, 1)}
            result["variants"][variant] = row
    if "int8" in vectors and "fp32" in vectors:
        cos = (vectors["int8"] * vectors["fp32"]).sum(1)
        result["int8_vs_fp32_cosine"] = {"mean": round(float(cos.mean()), 5), "min": round(float(cos.min()), 5),
                                         "p1": round(float(np.percentile(cos, 1)), 5)}
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    result["loadavg_end"] = os.getloadavg()[0]
    print(json.dumps(result, indent=2))
    if args.write:
        write_section("embeddings-cpu", markdown(result),
                      "python bench/bench_embeddings.py " + " ".join(sys.argv[1:]))


def markdown(r: dict) -> str:
    sizes = sorted({k for v in r["variants"].values() for k in v if k.startswith("batch_")},
                   key=lambda k: int(k.split("_")[1]))
    lines = ["### Embedding throughput on the CPU", "",
             f"{r['texts']} real abstracts (title + abstract, up to 256 tokens) of the cs listings, "
             f"{r['cores']} cores, ONNX Runtime, batches sorted by length; best of the rounds. "
             "*wall* is abstracts per second of elapsed time; *CPU* is abstracts per CPU-second "
             f"times {r['cores']} (what {r['cores']} dedicated cores would give; the machine was shared: "
             f"load average {r['loadavg_start']:.1f} at the start, {r['loadavg_end']:.1f} at the end).", "",
             "| variant | first load s | cached load s | " + " | ".join(
                 f"batch {k.split('_')[1]} wall / CPU" for k in sizes) + " |",
             "|---|---:|---:|" + "---:|" * len(sizes)]
    for v in r["variants"].values():
        cells = [f"{v[k]['per_s_wall']} / {v[k]['per_s_per_cpu_s_x_cores']}" if k in v else "" for k in sizes]
        lines.append(f"| {v['name']} | {v['first_load_s']} | {v['cached_load_s']} | " + " | ".join(cells) + " |")
    if "int8" in r["variants"] and "document_vectors_batch_64" in r["variants"]["int8"]:
        d = r["variants"]["int8"]["document_vectors_batch_64"]
        lines += ["", f"A paper's stored vector (`document_vectors`: the text, plus the title on its own) with "
                      f"int8, batch 64: {d['per_s_wall']} papers/s wall, {d['per_s_per_cpu_s_x_cores']} per "
                      "CPU-second × cores (the title pass is short: ~15 tokens against ~250)."]
    if "int8_vs_fp32_cosine" in r:
        c = r["int8_vs_fp32_cosine"]
        lines += ["", f"Quality of int8 (MatMul weights per channel) against full precision on these texts: "
                      f"cosine mean {c['mean']}, 1st percentile {c['p1']}, min {c['min']}. fp32 equals "
                      "sentence-transformers (cosine 1.0000, tests/test_embeddings.py)."]
    lines += ["", f"Peak RSS of the benchmark process: {r['peak_rss_mb']} MiB. GPU (`--device cuda`): not "
                  "measured — no GPU was lent to the sessions so far (`python -m dailypapers.search.encoder.gpu "
                  "--texts 200000` on a GPU machine)."]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
