"""Search latency per mode on the demo data (issue 13 "Speed"), in-process through SearchService,
with where the time goes.

    python bench/bench_search_latency.py [--data-dir DIR] [--before REV] [--write]

--data-dir: a data directory the demo was loaded into (default: `dailypapers demo` into
var/bench/latency-demo). Each query's ranking is computed afresh (the service's ranking cache is
cleared before every query); "uncached" also clears the query-vector cache, so the encoder runs.
--before REV: also time every mode with the search files of this change (SEARCH_FILES) as they
were at git revision REV and the rest of the tree as it is now, in subprocesses that alternate
with ones running the tree as it is (before, now, before, now), on the same index; and time
KeywordIndex.candidates (the BM25 re-scoring of the keyword list) with search/keyword.py at REV.
Wall-clock and CPU time are both reported: on a shared machine the wall clock includes waiting
for a core, the CPU time does not.
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import json
import os
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("BENCH_LATENCY_SRC") or str(ROOT / "src"))  # a subprocess may run another tree

from report import write_section  # noqa: E402

from dailypapers.search.query import parse_query  # noqa: E402
from dailypapers.search.service import open_search_service  # noqa: E402

SEARCH_FILES = ["src/dailypapers/search/keyword.py", "src/dailypapers/search/hybrid.py",
                "src/dailypapers/search/service.py", "src/dailypapers/search/bm25.py",
                "src/dailypapers/search/vector_index.py"]
ROUNDS = 2  # subprocess rounds per version with --before
IDLE_MS = 20  # idle time after an encoding, in which a spinning ONNX Runtime thread shows up as CPU
SHORT = ["energy", "video generation", "benchmark", "diffusion", "large language models", "reinforcement learning",
         "quantization", "speech recognition", "mixture of experts", "code generation", "hallucination",
         "protein", "agents", "3D gaussian splatting", "retrieval augmented generation", "zero-shot"]
STAGES = {  # profile rows: (label, function name as cProfile reports it, @ a part of its file's path)
    "keyword lists: KeywordIndex.candidates (pool, doc reads, BM25 re-scoring)": "candidates",
    "  of which term counting (bytes.find/count)": "_frequencies",
    "every-word set: KeywordIndex.match_ids": "match_ids",
    "match counts: KeywordIndex.count": "count@search/keyword",
    "tantivy doc store reads (Searcher.doc, all callers)": "<method 'doc' of 'tantivy.tantivy.Searcher' objects>",
    "tantivy searches (all callers)": "<method 'search' of 'tantivy.tantivy.Searcher' objects>",
    "query encoding": "embed_query",
    "vector search (HNSW)": "search@vector_index",
    "exact cosines of keyword candidates (VectorIndex.similarities)": "similarities@vector_index",
    "fusion (hybrid.fused_list)": "fused_list",
    "highlighting the page (KeywordIndex.highlight)": "highlight",
}


def queries() -> list[str]:
    out = list(SHORT)
    for name in ("paraphrase", "topics", "sentence"):
        with open(ROOT / "bench" / "devsets" / name / "queries.jsonl") as fh:
            out += [json.loads(line)["text"] for line in fh][:20]
    return out


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def demo_dir() -> Path:
    data = ROOT / "var" / "bench" / "latency-demo"
    if not (data / "index" / "vectors").exists():
        env = dict(os.environ, DAILYPAPERS_DATA_DIR=str(data))
        subprocess.run([sys.executable, "-m", "dailypapers", "demo"], env=env, cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL)
    return data


def time_modes(service, qs: list[str]) -> dict[str, dict]:
    return {key: summary(v["wall"], v["cpu"]) for key, v in sample_modes(service, qs).items()}


def summary(walls: list[float], cpus: list[float]) -> dict[str, float]:
    return {"p50": pct(walls, 50), "p99": pct(walls, 99), "cpu_p50": pct(cpus, 50), "cpu_p99": pct(cpus, 99)}


def sample_modes(service, qs: list[str]) -> dict[str, dict[str, list[float]]]:
    """Wall and CPU ms of each query in each mode (and query-vector state)."""
    out = {}
    for mode in ("keyword", "semantic", "hybrid"):
        for cached in (False, True):
            if mode == "keyword" and cached:
                continue
            walls, cpus = [], []
            for q in qs:
                service.rankings.data.clear()
                if not cached:
                    service.query_cache.data.clear()
                w, c = time.perf_counter(), time.process_time()
                service.search(q, mode=mode, limit=30)
                walls.append(1e3 * (time.perf_counter() - w))
                cpus.append(1e3 * (time.process_time() - c))
            suffix = " (query vector cached)" if cached else " (encoding the query)"
            key = mode + ("" if mode == "keyword" else suffix)
            out[key] = {"wall": walls, "cpu": cpus}
            print(key, summary(walls, cpus), flush=True, file=sys.stderr)
    return out


def before_tree(rev: str) -> Path:
    """A copy of src/ as it is, with SEARCH_FILES as they were at `rev`."""
    tree = Path(tempfile.mkdtemp(prefix="latency-before-"))
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for path in SEARCH_FILES:
        old = subprocess.run(["git", "show", f"{rev}:{path}"], cwd=ROOT, check=True, capture_output=True,
                             text=True).stdout
        (tree / path).write_text(old)
    return tree / "src"


def compare_modes(data: Path, rev: str) -> dict[str, dict[str, dict]]:
    """Every mode timed with SEARCH_FILES at `rev` and as they are, alternating subprocess rounds."""
    trees = {rev: str(before_tree(rev)), "now": str(ROOT / "src")}
    samples: dict[str, dict[str, dict[str, list[float]]]] = {label: {} for label in trees}
    for _ in range(ROUNDS):
        for label, src in trees.items():
            env = dict(os.environ, BENCH_LATENCY_SRC=src)
            out = subprocess.run([sys.executable, __file__, "--data-dir", str(data), "--samples"], env=env,
                                 check=True, capture_output=True, text=True).stdout
            for key, v in json.loads(out).items():
                got = samples[label].setdefault(key, {"wall": [], "cpu": []})
                got["wall"] += v["wall"]
                got["cpu"] += v["cpu"]
    return {label: {key: summary(v["wall"], v["cpu"]) for key, v in modes.items()} for label, modes in samples.items()}


def profile_hybrid(service, qs: list[str]) -> tuple[float, dict[str, float]]:
    """Cumulative seconds per stage over one pass of hybrid searches (query vectors cached)."""
    for q in qs:
        service.search(q, mode="hybrid", limit=30)  # fill the query-vector cache
    prof = cProfile.Profile()
    prof.enable()
    for q in qs:
        service.rankings.data.clear()
        service.search(q, mode="hybrid", limit=30)
    prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    total = max(ct for (_, _, fn), (_, _, _, ct, _) in stats.items() if fn == "search" or fn.endswith("search"))
    stages = {}
    for label, name in STAGES.items():
        fn, _, where = name.partition("@")
        stages[label] = sum(ct for (path, _, f), (_, _, _, ct, _) in stats.items()
                            if f == fn and (not where or where in path))
    return total, stages


def time_candidates(index_path: Path, before: str | None, qs: list[str]) -> dict[str, float]:
    """CPU ms per KeywordIndex.candidates(q, 1000), now and at `before`, alternating."""
    import dailypapers.search.keyword as now

    versions = {"now": now}
    if before:
        source = subprocess.run(["git", "show", f"{before}:src/dailypapers/search/keyword.py"], cwd=ROOT,
                                check=True, capture_output=True, text=True).stdout
        path = Path(tempfile.mkdtemp()) / "keyword_before.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location("keyword_before", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["keyword_before"] = module
        spec.loader.exec_module(module)
        versions[before] = module
    times: dict[str, list[float]] = {label: [] for label in versions}
    for _ in range(2):
        for label, module in versions.items():
            index = module.KeywordIndex(index_path)
            for q in qs:
                c = time.process_time()
                index.candidates(parse_query(q), 1000)
                times[label].append(1e3 * (time.process_time() - c))
    return {f"{label} {p}": pct(ts, p) for label, ts in times.items() for p in (50, 99)}


def time_encoder_threads(qs: list[str], model_dir: Path) -> dict[str, dict[str, float]]:
    """Encoding one query with ONNX Runtime on the default intra-op threads (the cores) and on one,
    in alternating passes over the queries (not query by query: a thread still spinning from the
    other encoder would count against this one): wall and CPU of the call, and CPU of the call
    plus IDLE_MS of sleep after it (a pool thread that spin-waits for work burns CPU while the
    caller does something else); whether the vectors are identical."""
    from dailypapers.search.encoder import onnx_export
    from dailypapers.search.encoder.embeddings import OnnxEncoder, default_threads, load_encoder

    default = load_encoder(model_dir)
    encoders = {f"{default_threads()} (load_encoder's default)": default,
                "1 (search service)": OnnxEncoder(default.model_path, onnx_export.model_dir(), default.variant,
                                                  threads=1)}
    times: dict[str, dict[str, list[float]]] = {label: {"wall": [], "cpu": [], "idle": []} for label in encoders}
    vectors: dict[str, list] = {label: [] for label in encoders}
    for _ in range(2):
        for label, encoder in encoders.items():
            time.sleep(1.0)  # the other encoder's threads settle
            for q in qs:
                w, c = time.perf_counter(), time.process_time()
                vectors[label].append(encoder.encode([q]))
                times[label]["wall"].append(1e3 * (time.perf_counter() - w))
                times[label]["cpu"].append(1e3 * (time.process_time() - c))
                time.sleep(IDLE_MS / 1e3)
                times[label]["idle"].append(1e3 * (time.process_time() - c))
    first, second = vectors.values()
    same = all(bool((a == b).all()) for a, b in zip(first, second, strict=True))
    out = {label: {**summary(v["wall"], v["cpu"]), "idle_p50": pct(v["idle"], 50)} for label, v in times.items()}
    out["identical vectors"] = {"value": float(same)}
    return out


def render_encoder(threads: dict[str, dict[str, float]]) -> list[str]:
    same = "identical" if threads.pop("identical vectors")["value"] else "NOT identical"
    lines = ["", f"Query encoding alone (76 queries, two passes per encoder, alternating), ms; vectors {same}:",
             "",
             "| ONNX Runtime intra-op threads | p50 | p99 | CPU p50 | CPU p99 | "
             f"CPU p50 of the call + {IDLE_MS} ms idle |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {label} | {v['p50']:.1f} | {v['p99']:.1f} | {v['cpu_p50']:.1f} | {v['cpu_p99']:.1f} | "
              f"{v['idle_p50']:.1f} |" for label, v in threads.items()]
    return lines


def render_comparison(compared: dict[str, dict[str, dict]], before: str) -> list[str]:
    lines = ["", f"Before and after in one run: the search files ({', '.join(Path(p).name for p in SEARCH_FILES)}) "
             f"at {before} and as they are, the rest of the tree as it is; {ROUNDS} subprocess rounds each, "
             "alternating, every query's ranking computed afresh; ms:", "",
             "| mode | version | p50 | p99 | CPU p50 | CPU p99 |", "|---|---|---:|---:|---:|---:|"]
    for key in compared["now"]:
        for label, modes in compared.items():
            v = modes[key]
            lines.append(f"| {key} | {label} | {v['p50']:.1f} | {v['p99']:.1f} | {v['cpu_p50']:.1f} | "
                         f"{v['cpu_p99']:.1f} |")
    return lines


def render(modes: dict, total: float, stages: dict, candidates: dict, n_queries: int, before: str | None,
           load: tuple[float, float]) -> str:
    lines = ["### Search latency per mode, demo data (issue 13 targets)", "",
             f"{n_queries} queries (16 short topical ones, 20 each from the paraphrase, topics and sentence dev "
             "sets), one at a time, SearchService in-process on the demo data (9,877 papers, MiniLM int8 on "
             "the CPU), limit 30; every query's ranking computed afresh (ranking cache cleared). Wall clock "
             "and CPU time of the process; the machine's 2 cores were shared with other work during the run "
             f"(load average {load[0]:.1f} at the start, {load[1]:.1f} at the end), so the wall clock includes "
             "waiting for a core.", "",
             "| mode | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms |", "|---|---:|---:|---:|---:|"]
    for key, v in modes.items():
        lines.append(f"| {key} | {v['p50']:.1f} | {v['p99']:.1f} | {v['cpu_p50']:.1f} | {v['cpu_p99']:.1f} |")
    lines += ["", f"Where hybrid's time goes (cProfile, query vectors cached, {total:.2f} s over the pass; "
              "stages overlap where one calls another):", "", "| stage | share |", "|---|---:|"]
    lines += [f"| {label} | {100 * s / total:.0f}% |" for label, s in stages.items()]
    lines += ["", "What a hybrid search does now: the keyword list fusion reads is the best 100 any-word matches "
              "(BM25 re-scored over a pool of 120 tantivy hits, as before for several words); of the papers "
              "with every word it needs only which they are (the literal tier), so their ids are read as a set "
              "(`match_ids`), and ranked to 1,000 (1,200 doc reads and re-scoring) only when more than 1,000 "
              "papers have every word (7 of the 76 queries: they set the p99). Keyword candidates' cosines come "
              "from the vector storage's distance computer per id (`VectorIndex.similarities`); faiss searches "
              "run on one OpenMP thread; the fused list is numpy arrays with a Fused built when a page reads "
              "it; the page's 30 results are highlighted from their stored tokens."]
    if candidates:
        lines += ["", "KeywordIndex.candidates(q, 1000) alone (the BM25 re-scoring of the keyword list), CPU ms, "
                  f"now and with search/keyword.py at {before}, alternating in one run:", "",
                  "| version | p50 | p99 |", "|---|---:|---:|"]
        for label in dict.fromkeys(k.rsplit(" ", 1)[0] for k in candidates):
            lines.append(f"| {label} | {candidates[label + ' 50']:.1f} | {candidates[label + ' 99']:.1f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--before", default=None, help="git revision whose keyword.py to time candidates() with")
    ap.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    ap.add_argument("--samples", action="store_true", help="only print every query's timings per mode (JSON)")
    ap.add_argument("--encoder", action="store_true", help="only time the query encoder's thread counts")
    args = ap.parse_args()
    data = args.data_dir or demo_dir()
    if args.encoder:
        print("\n".join(render_encoder(time_encoder_threads(queries(), data / "models"))))
        return
    service = open_search_service(data / "index", None, data / "models")
    if not service.warm():
        raise SystemExit("semantic search is unavailable: " + str(service.semantic_status()))
    qs = queries()
    for q in qs[:3]:
        service.search(q)
    if args.samples:
        print(json.dumps(sample_modes(service, qs)))
        return
    load_start = os.getloadavg()[0]
    compared = compare_modes(data, args.before) if args.before else None
    modes = time_modes(service, qs)
    total, stages = profile_hybrid(service, qs)
    candidates = time_candidates(data / "index" / "keyword", args.before, qs)
    body = render(modes, total, stages, candidates, len(qs), args.before, (load_start, os.getloadavg()[0]))
    if compared:
        body += "\n" + "\n".join(render_comparison(compared, args.before))
    body += "\n" + "\n".join(render_encoder(time_encoder_threads(qs, data / "models")))
    print(body)
    if args.write:
        write_section("search-latency-issue13", body, "python bench/bench_search_latency.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
