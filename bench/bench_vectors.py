"""Vector-index benchmarks: library choice, and VectorIndex at 75k and 2.7M vectors.

    python bench/bench_vectors.py libs  [--n 100000]             faiss vs hnswlib vs usearch
    python bench/bench_vectors.py scale [--n 2700000] [--base real.npy] [--write]
    python bench/bench_vectors.py quality [--workdir DIR]             the dev sets, every mode
    python bench/bench_vectors.py modes --data-dir DIR [--base real.npy]   latency per mode

The vectors: random Gaussian vectors are a poor stand-in for sentence embeddings (no clusters,
so HNSW either looks hopeless or trivially easy), so `scale` uses *structured* synthetic ones:
`clustered()` draws hierarchical topics (64 topics, then n/256 sub-topics) in a 96-dimensional
latent space, projects them to 384 dimensions and adds isotropic noise and a shared offset.
Their neighbourhoods resemble those of MiniLM vectors of arXiv abstracts: mean cosine to the nearest
neighbour 0.78, to the 10th 0.68, median cosine of a random pair 0.04. With `--base real.npy`
(real all-MiniLM-L6-v2 vectors; we used the 3,918 of the dev corpus) the synthetic vectors are
drawn around real ones instead: a real vector plus Gaussian noise shaped by the real vectors'
covariance (noise 1.0), which keeps their anisotropy and topic structure; at 75k such vectors
the nearest neighbour is at cosine 0.68, the 10th at 0.60 and a random pair at 0.17 (the real
3,918: 0.68, 0.60, 0.29). `modes` times SearchService per mode on a real keyword index.

Queries are held out from the same distribution (not members of the index); ground truth is
exact inner-product search in float32. Latency is one query at a time on one thread, through
VectorIndex.search (Python overhead included), against the read-only memory-mapped index.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

DIM = 384


# ---------------------------------------------------------------------------------------------
# vectors


def clustered(n: int, seed: int = 0, dim: int = DIM, *, struct_seed: int = 0, n_sub: int | None = None,
              chunk: int = 200_000):
    """Yield `n` structured synthetic unit vectors in chunks (deterministic per seed)."""
    latent, n_topics = 96, 64
    n_sub = n_sub or max(4096, n // 256)
    rng = np.random.default_rng(struct_seed)
    proj = rng.standard_normal((latent, dim)).astype(np.float32) / np.sqrt(latent)
    top = rng.standard_normal((n_topics, latent)).astype(np.float32)
    sub = top[rng.integers(0, n_topics, n_sub)] + 0.9 * rng.standard_normal((n_sub, latent)).astype(np.float32)
    common = rng.standard_normal(dim).astype(np.float32)
    for s in range(0, n, chunk):
        r = np.random.default_rng([struct_seed, seed, s])
        m = min(chunk, n - s)
        z = sub[r.integers(0, n_sub, m)] + 0.8 * r.standard_normal((m, latent)).astype(np.float32)
        x = z @ proj + 0.25 * r.standard_normal((m, dim)).astype(np.float32) + 0.3 * common
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield x


def around_real(base: np.ndarray, n: int, seed: int = 0, *, noise: float = 1.0, chunk: int = 200_000):
    """Yield `n` unit vectors near real ones: base[i] + noise shaped like the base's covariance."""
    base = base / np.linalg.norm(base, axis=1, keepdims=True)
    centred = base - base.mean(0)
    _, s, vt = np.linalg.svd(centred[:: max(1, len(base) // 50_000)], full_matrices=False)
    shape = (vt.T * (s / np.sqrt(len(centred[:: max(1, len(base) // 50_000)])))).astype(np.float32)
    for start in range(0, n, chunk):
        r = np.random.default_rng([seed, start])
        m = min(chunk, n - start)
        x = base[r.integers(0, len(base), m)] + noise * (r.standard_normal((m, DIM)).astype(np.float32) @ shape.T)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        yield x.astype(np.float32)


def exact_topk(chunks, queries: np.ndarray, k: int = 10) -> np.ndarray:
    """Row numbers of each query's exact top-k over the chunked vectors."""
    best_s = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_i = np.zeros((len(queries), k), dtype=np.int64)
    offset = 0
    for x in chunks:
        sims = queries @ x.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        s = np.take_along_axis(sims, top, 1)
        all_s = np.concatenate([best_s, s], 1)
        all_i = np.concatenate([best_i, top + offset], 1)
        keep = np.argsort(-all_s, axis=1)[:, :k]
        best_s, best_i = np.take_along_axis(all_s, keep, 1), np.take_along_axis(all_i, keep, 1)
        offset += len(x)
    return best_i


def recall(found: list[list[int]], truth: np.ndarray, k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k].tolist())) / k for f, t in zip(found, truth, strict=True)]))


def pct(values, p) -> float:
    return float(np.percentile(np.asarray(values), p))


def rss_mib() -> dict:
    out = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if parts[0] in ("Rss:", "Pss:", "Anonymous:"):
                out[parts[0][:-1].lower()] = int(parts[1]) // 1024
    return out


# ---------------------------------------------------------------------------------------------
# libs: the same vectors through faiss, hnswlib and usearch


def bench_libs(n: int, threads: int = 2) -> list[dict]:
    x = np.concatenate(list(clustered(n, seed=1)))
    q = np.concatenate(list(clustered(500, seed=9, n_sub=max(4096, n // 256))))
    truth = exact_topk([x], q)
    rows = []

    def timed(search):
        found, ts = [], []
        for v in q:
            t0 = time.perf_counter()
            found.append(list(search(v)))
            ts.append((time.perf_counter() - t0) * 1000)
        return recall(found, truth), pct(ts, 50), pct(ts, 99)

    import faiss
    for name, make in [("faiss HNSWFlat", lambda: faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)),
                       ("faiss HNSWSQ8", lambda: faiss.IndexHNSWSQ(DIM, faiss.ScalarQuantizer.QT_8bit, 16,
                                                                   faiss.METRIC_INNER_PRODUCT))]:
        faiss.omp_set_num_threads(threads)
        idx = make()
        idx.hnsw.efConstruction = 100
        t = time.time()
        idx.train(x[:50_000])
        idx.add(x)
        build = time.time() - t
        faiss.omp_set_num_threads(1)
        for ef in (32, 64, 96, 128):
            params = faiss.SearchParametersHNSW(efSearch=ef)
            r, p50, p99 = timed(lambda v, idx=idx, params=params: idx.search(v[None], 10, params=params)[1][0])
            rows.append({"lib": name, "params": f"M=16 efC=100 ef={ef}", "build_s": build,
                         "recall": r, "p50": p50, "p99": p99})
            print(rows[-1], flush=True)
        del idx
    try:
        import hnswlib
        idx = hnswlib.Index(space="ip", dim=DIM)
        idx.init_index(n, M=16, ef_construction=100)
        idx.set_num_threads(threads)
        t = time.time()
        idx.add_items(x, np.arange(n))
        build = time.time() - t
        idx.set_num_threads(1)
        for ef in (32, 64, 96, 128):
            idx.set_ef(ef)
            r, p50, p99 = timed(lambda v, idx=idx: idx.knn_query(v, 10)[0][0])
            rows.append({"lib": "hnswlib", "params": f"M=16 efC=100 ef={ef}", "build_s": build,
                         "recall": r, "p50": p50, "p99": p99})
            print(rows[-1], flush=True)
        del idx
    except ImportError:
        print("hnswlib not installed: skipped")
    try:
        from usearch.index import Index
        for dtype in ("f32", "f16", "i8"):
            idx = Index(ndim=DIM, metric="ip", dtype=dtype, connectivity=16, expansion_add=100)
            t = time.time()
            idx.add(np.arange(n), x, threads=threads)
            build = time.time() - t
            for ef in (32, 64, 96, 128):
                idx.expansion_search = ef
                r, p50, p99 = timed(lambda v, idx=idx: idx.search(v, 10, threads=1).keys)
                rows.append({"lib": f"usearch {dtype}", "params": f"M=16 efC=100 ef={ef}", "build_s": build,
                                 "recall": r, "p50": p50, "p99": p99})
                print(rows[-1], flush=True)
            del idx
    except ImportError:
        print("usearch not installed: skipped")
    return rows


# ---------------------------------------------------------------------------------------------
# scale: VectorIndex end to end


def _ids(n: int) -> list[str]:
    # arXiv-shaped ids, unique: 2,700,000 of them fit in yymm.nnnnn
    return [f"{7 + i // 99_999 // 12:02d}{1 + i // 99_999 % 12:02d}.{i % 99_999 + 1:05d}" for i in range(n)]


def build_index(path: Path, n: int, chunks_fn, model_id: str, threads: int, M: int | None = None,
                ef_construction: int | None = None) -> dict:
    from dailypapers.search.vector_index import VectorIndex

    ids = _ids(n)
    t0 = time.time()
    cpu0 = time.process_time()
    from dailypapers.search.vector_index import DEFAULT_EF_CONSTRUCTION, DEFAULT_M

    with VectorIndex(path, DIM, model_id, reset=True, threads=threads, M=M or DEFAULT_M,
                     ef_construction=ef_construction or DEFAULT_EF_CONSTRUCTION) as index:
        pos = 0
        for chunk in chunks_fn():
            index.add(ids[pos:pos + len(chunk)], chunk)
            pos += len(chunk)
            print(f"  added {pos:,} in {time.time() - t0:.0f}s", flush=True)
        built = time.time() - t0
        cpu = time.process_time() - cpu0
        index.set_last_seq(1)
        index.save()
        meta = index.metadata()
    saved = time.time() - t0 - built
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    return {"n": n, "M": meta["M"], "ef_construction": meta["ef_construction"], "storage": meta["storage"],
                "build_s": built, "build_cpu_s": cpu, "save_s": saved, "size_mib": size / 2**20,
                "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}


def serve_measure(path: Path, queries: np.ndarray, truth: np.ndarray, efs, n: int) -> dict:
    """In a fresh process: open read-only (mmap), measure recall/latency per ef and memory."""
    qfile = path.parent / "queries.npy"
    tfile = path.parent / "truth.npy"
    np.save(qfile, queries)
    np.save(tfile, truth)
    code = f"""
import json, sys, time, numpy as np
sys.path.insert(0, {str(ROOT / 'src')!r}); sys.path.insert(0, {str(ROOT / 'bench')!r})
import faiss; faiss.omp_set_num_threads(1)
from bench_vectors import recall, pct, rss_mib, _ids
from dailypapers.search.vector_index import VectorIndex
before = rss_mib()
t = time.time(); index = VectorIndex.open({str(path)!r}); open_s = time.time() - t
after_open = rss_mib()
q = np.load({str(qfile)!r}); truth = np.load({str(tfile)!r})
pos = {{i: n for n, i in enumerate(_ids({n}))}}
out = dict(open_s=open_s, rss_before=before, rss_open=after_open, ef={{}})
for v in q[:50]: index.search(v, 10)  # warm the pages
for ef in {list(efs)!r}:
    found, ts = [], []
    for v in q:
        t0 = time.perf_counter(); hits = index.search(v, 10, ef=ef); ts.append((time.perf_counter() - t0) * 1000)
        found.append([pos[h] for h, _ in hits])
    out["ef"][ef] = dict(recall=recall(found, truth), p50=pct(ts, 50), p99=pct(ts, 99))
    print(ef, out["ef"][ef], flush=True)
rng = np.random.default_rng(3)
ids = _ids({n})
for share in ((0.001, 0.01, 0.05, 0.2, 0.5) if {n} <= 1_000_000 else (0.001, 0.01, 0.05, 0.2)):
    allowed = index.allowed([ids[i] for i in rng.choice({n}, max(1, int({n} * share)), replace=False)])
    ts, rec = [], []
    for v in q[:100 if {n} <= 1_000_000 else 40]:
        t0 = time.perf_counter(); got = index.search(v, 100, allowed=allowed)
        ts.append((time.perf_counter() - t0) * 1000)
        exact = index.search(v, 100, allowed=allowed, exact=True)
        rec.append(len(set(h for h, _ in got) & set(h for h, _ in exact)) / max(1, len(exact)))
    out[f"filtered_{{share}}"] = dict(p50=pct(ts, 50), p99=pct(ts, 99), allowed=len(allowed),
                                      recall=float(np.mean(rec)))
    del allowed
    print(share, out[f"filtered_{{share}}"], flush=True)
out["rss_serving"] = rss_mib()
print("RESULT " + json.dumps(out))
"""
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    sys.stderr.write(res.stderr[-3000:])
    line = [ln for ln in res.stdout.splitlines() if ln.startswith("RESULT ")]
    if not line:
        raise RuntimeError(res.stdout[-2000:] + res.stderr[-2000:])
    return json.loads(line[0][7:])


def bench_scale(n: int, base: Path | None, workdir: Path, threads: int, efs, add_n: int = 10_000,
                M: int | None = None, ef_construction: int | None = None) -> dict:
    from dailypapers.search.vector_index import VectorIndex

    if base is not None:
        real = np.load(base).astype(np.float32)

        def chunks():
            return around_real(real, n, seed=1)
        queries = np.concatenate(list(around_real(real, 1000, seed=99)))
        kind = f"around {len(real):,} real vectors ({base.name})"
    else:
        def chunks():
            return clustered(n, seed=1)
        queries = np.concatenate(list(clustered(1000, seed=99, n_sub=max(4096, n // 256))))
        kind = "structured synthetic (clustered)"
    path = workdir / f"vi-{n}"
    print(f"building {n:,} ({kind}) in {path}", flush=True)
    result = dict(kind=kind, **build_index(path, n, chunks, "bench-model", threads, M, ef_construction))
    print(result, flush=True)
    t = time.time()
    truth = exact_topk(chunks(), queries)
    result["truth_s"] = time.time() - t
    result["serve"] = serve_measure(path, queries, truth, efs, n)
    # additions without a rebuild: open for writing, add, save
    t = time.time()
    with VectorIndex(path, DIM, "bench-model", threads=threads) as index:
        load_s = time.time() - t
        extra = np.concatenate(list(clustered(add_n, seed=7)))
        t = time.time()
        index.add([f"new.{i}" for i in range(add_n)], extra)
        add_s = time.time() - t
        t = time.time()
        index.save()
        result["additions"] = {"n": add_n, "load_s": load_s, "add_s": add_s, "save_s": time.time() - t}
    print(result["additions"], flush=True)
    return result


def scale_markdown(r: dict) -> str:
    from dailypapers.search.vector_index import EXACT_MAX, POST_FILTER_SHARE

    s = r["serve"]
    lines = [(f"**{r['n']:,} vectors × 384** ({r['kind']}); faiss HNSW ({r['storage']} storage), "
             f"M={r['M']}, efConstruction={r['ef_construction']}, inner product on L2-normalised vectors."), "",
             (f"- build: {r['build_s'] / 60:.1f} min wall on {r.get('threads', 2)} threads, "
             f"{r.get('build_cpu_s', float('nan')) / 60:.1f} CPU-min (+ {r['save_s']:.0f} s to save); "
             f"files {r['size_mib']:.0f} MiB; builder peak RSS {r['peak_rss_mib']:,} MiB"),
             (f"- serving process (read-only, memory-mapped): opens in {s['open_s']:.2f} s; RSS "
             f"{s['rss_serving']['rss']:,} MiB of which anonymous (private, per process) "
             f"{s['rss_serving']['anonymous']:,} MiB, the rest is the shared page cache of the index file"),
             (f"- additions without a rebuild: {r['additions']['n']:,} vectors added in "
             f"{r['additions']['add_s']:.1f} s (load for writing {r['additions']['load_s']:.1f} s, save "
             f"{r['additions']['save_s']:.1f} s)"), "",
             "| efSearch | recall@10 | p50 ms | p99 ms |", "|---:|---:|---:|---:|"]
    for ef, v in s["ef"].items():
        lines.append(f"| {ef} | {v['recall']:.3f} | {v['p50']:.2f} | {v['p99']:.2f} |")
    lines += ["",
              "| filtered search (k=100), allowed share | allowed ids | path | recall@100 vs exact | p50 ms | p99 ms |",
              "|---|---:|---|---:|---:|---:|"]
    for key, v in s.items():
        if key.startswith("filtered_"):
            share = float(key.split("_")[1])
            path = ("exact scan" if v["allowed"] <= EXACT_MAX else
                    "deeper HNSW, then filter" if share >= POST_FILTER_SHARE else "HNSW + bitmap")
            lines.append(f"| {float(key.split('_')[1]):.1%} | {v['allowed']:,} | {path} | {v['recall']:.3f} | "
                         f"{v['p50']:.1f} | {v['p99']:.1f} |")
    return "\n".join(lines)


def libs_markdown(rows: list[dict], n: int) -> str:
    lines = [(f"Library choice, {n:,} structured synthetic vectors × 384, build on 2 threads, one query at a "
             "time on one thread (500 held-out queries):"), "",
             "| library | parameters | build s | recall@10 | p50 ms | p99 ms |", "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['lib']} | {r['params']} | {r['build_s']:.0f} | {r['recall']:.3f} | "
                     f"{r['p50']:.2f} | {r['p99']:.2f} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# quality: the dev sets through evaluate.run; modes: per-mode latency through SearchService

DEVSETS = ROOT / "bench" / "devsets"


def _loader(spec: str | None, cache: Path):
    if spec:
        module, _, fn = spec.partition(":")
        import importlib
        return getattr(importlib.import_module(module), fn)
    from dailypapers.search.encoder.embeddings import load_encoder
    return lambda: load_encoder(cache)


def bench_quality(workdir: Path, loader, sets=("sentence", "paraphrase", "mixed", "topics", "categories")) -> dict:
    from dailypapers.search import evaluate

    out = {}
    for name in sets:
        t = time.time()
        out[name] = evaluate.run(DEVSETS / "corpus.jsonl.gz", DEVSETS / name / "queries.jsonl",
                                 DEVSETS / name / "qrels.tsv", ["keyword", "semantic", "hybrid"], workdir,
                                 encoder_loader=loader)
        print(name, f"{time.time() - t:.0f}s", json.dumps(out[name]), flush=True)
    return out


def quality_markdown(table: dict) -> str:
    lines = [("Dev sets in bench/devsets (3,918 papers of the 75k listings; how they were made: "
             "bench/devsets/make_devsets.py). nDCG@10 / MRR@10 / Recall@100; **bold** = best."), "",
             "| set (queries) | keyword | semantic | hybrid |", "|---|---|---|---|"]
    for name, modes in table.items():
        best = max(m["ndcg@10"] for m in modes.values())
        cells = []
        for mode in ("keyword", "semantic", "hybrid"):
            m = modes[mode]
            cell = f"{m['ndcg@10']:.3f} / {m['mrr@10']:.3f} / {m['recall@100']:.3f}"
            cells.append(f"**{cell}**" if m["ndcg@10"] == best else cell)
        lines.append(f"| {name} ({modes['keyword']['queries']}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def bench_modes(data_dir: Path, base: Path | None, loader, workdir: Path, threads: int) -> dict:
    """Per-mode latency on a real keyword index (e.g. the 75k listings) and a vector index of the
    same ids (real-ish vectors drawn around `base`, since embedding 75k abstracts takes an hour
    on 2 cores): one query at a time, the query embedding uncached (first pass) and cached."""
    import gzip

    from dailypapers.search.keyword import KeywordIndex
    from dailypapers.search.service import SearchService
    from dailypapers.search.vector_index import VectorIndex

    keyword = KeywordIndex(data_dir / "index" / "keyword")
    ids = []
    with gzip.open(ROOT.parent / "shared" / "data" / "arxiv_cs_listings.jsonl.gz", "rt") as fh:
        for line in fh:
            ids.append(json.loads(line)["id"])
    encoder = loader()
    real = np.load(base).astype(np.float32) if base else None
    path = workdir / "vectors-modes"
    t0, cpu0 = time.time(), time.process_time()
    with VectorIndex(path, DIM, encoder.model_id, reset=True, threads=threads) as w:
        chunks = around_real(real, len(ids), seed=5) if real is not None else clustered(len(ids), seed=5)
        pos = 0
        for chunk in chunks:
            w.add(ids[pos:pos + len(chunk)], chunk)
            pos += len(chunk)
        build_s, build_cpu = time.time() - t0, time.process_time() - cpu0
        w.save()
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    import faiss
    faiss.omp_set_num_threads(1)
    service = SearchService(keyword, VectorIndex.open(path, encoder.model_id), lambda: encoder)
    queries = []
    for name in ("paraphrase", "topics", "categories", "sentence"):
        with open(DEVSETS / name / "queries.jsonl") as fh:
            queries += [json.loads(line)["text"] for line in fh][:60]
    filtered = [f"{q} cat:cs.CL" for q in queries[:60]] + [f"{q} from:2026-01-01" for q in queries[60:120]]
    out = {"n": len(ids), "build_s": build_s, "build_cpu_s": build_cpu, "size_mib": size / 2**20, "modes": {}}
    for label, qs in (("plain", queries), ("filtered", filtered)):
        for mode in ("keyword", "semantic", "hybrid"):
            for cached in (False, True):
                if not cached:
                    service.query_cache.data.clear()
                ts = []
                for q in qs:
                    t = time.perf_counter()
                    service.search(q, mode=mode, limit=30)
                    ts.append((time.perf_counter() - t) * 1000)
                key = f"{label} {mode}" + (" (query vector cached)" if cached and mode != "keyword" else "")
                if cached and mode == "keyword":
                    continue
                out["modes"][key] = {"p50": pct(ts, 50), "p99": pct(ts, 99), "n": len(qs)}
                print(key, out["modes"][key], flush=True)
    out["rss_mib"] = rss_mib()
    return out


def modes_markdown(r: dict, kind: str) -> str:
    lines = [(f"**{r['n']:,} papers**: the real keyword index of the 75k listings; vectors: {kind}. "
             f"Vector index built in {r['build_s']:.0f} s ({r['build_cpu_s']:.0f} CPU-s), {r['size_mib']:.0f} MiB. "
             f"SearchService, limit 30, one query at a time; the semantic and hybrid rows include "
             f"encoding the query on the CPU (int8) unless marked cached. Filtered: `cat:cs.CL` or "
             f"`from:2026-01-01` added."), "",
             "| queries, mode | p50 ms | p99 ms |", "|---|---:|---:|"]
    for key, v in r["modes"].items():
        lines.append(f"| {key} | {v['p50']:.1f} | {v['p99']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["libs", "scale", "quality", "modes"])
    ap.add_argument("--data-dir", type=Path, default=None, help="modes: a data dir with index/keyword")
    ap.add_argument("--encoder", default=None, help="module:function returning an encoder (default: "
                    "dailypapers.search.encoder.embeddings.load_encoder)")
    ap.add_argument("--model-cache", type=Path, default=ROOT / "var" / "models")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--base", type=Path, default=None, help="real vectors (.npy) to draw synthetic ones around")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--M", type=int, default=None, help="HNSW M (default: the index's)")
    ap.add_argument("--efc", type=int, default=None, help="efConstruction (default: the index's)")
    ap.add_argument("--ef", default="64,96,128,192,256")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    ap.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    args = ap.parse_args()
    command = "python bench/bench_vectors.py " + " ".join(sys.argv[1:])
    if args.what == "libs":
        n = args.n or 100_000
        rows = bench_libs(n, args.threads)
        body = libs_markdown(rows, n)
        raw = rows
    elif args.what == "quality":
        n = 0
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dp-quality-"))
        raw = bench_quality(workdir, _loader(args.encoder, args.model_cache))
        body = quality_markdown(raw)
    elif args.what == "modes":
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dp-modes-"))
        workdir.mkdir(parents=True, exist_ok=True)
        raw = bench_modes(args.data_dir, args.base, _loader(args.encoder, args.model_cache), workdir, args.threads)
        n = raw["n"]
        kind = (f"drawn around {args.base.name} (real MiniLM vectors)" if args.base
                else "structured synthetic")
        body = modes_markdown(raw, kind)
    else:
        n = args.n or 2_700_000
        workdir = args.workdir or Path(tempfile.mkdtemp(prefix="dp-vec-"))
        workdir.mkdir(parents=True, exist_ok=True)
        raw = bench_scale(n, args.base, workdir, args.threads, [int(e) for e in args.ef.split(",")],
                          M=args.M, ef_construction=args.efc)
        raw["threads"] = args.threads
        body = scale_markdown(raw)
    print(body)
    if args.json:
        args.json.write_text(json.dumps(raw, indent=1, default=str))
    if args.write:
        from report import write_section
        titles = {"libs": "Vector index: library choice", "scale": f"Vector index at {n:,} vectors",
                  "quality": "Search quality (dev sets)", "modes": f"Search latency per mode, {n:,} papers"}
        key = f"vectors-{args.what}" + (f"-{n}" if args.what in ("scale", "libs") else "")
        write_section(key, f"### {titles[args.what]}\n\n{body}", command)


if __name__ == "__main__":
    main()
