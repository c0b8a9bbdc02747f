"""Where keyword search's time goes at scale (issue 13, "Speed"): bench_scale's queries, in process.

    python bench/profile_keyword_scale.py /work/scale/sqlite-2.7m [--rounds 1]

Opens the work directory's data the way the server does (open_search_service over
DATA/index, the store) and runs what `/api/papers/search?mode=keyword&limit=30` runs for each
query: SearchService.search (the ranking afresh: its caches cleared before every query), the
page's papers from the store, and the did-you-mean suggestion. Two passes:

1. timers (no profiler): wall and CPU per query and per stage — the keyword lists
   (KeywordIndex.candidates: every-word, then any-word for multi-word queries), highlighting the
   page (KeywordIndex.highlight), the store read and the suggestion;
2. cProfile over the same queries: inside those stages, tantivy's own calls (searches and
   counts, doc-store reads, fast fields) against the Python/numpy BM25 re-scoring and the rest.

Writes WORK/profile_keyword.json (bench_scale.py `report` renders it). A work directory with an
index and no database (bench/keyword_from_snapshot.py) is profiled without the store read.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scale import QUERIES, code_version, pct  # noqa: E402


class Timers:
    """Wall and CPU seconds spent in wrapped callables, per stage, for the current query."""

    def __init__(self) -> None:
        self.now: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        self.wrapped: list[tuple[object, str, object]] = []

    def unwrap(self) -> None:
        for owner, name, inner in reversed(self.wrapped):
            setattr(owner, name, inner)
        self.wrapped.clear()

    def wrap(self, owner, name: str, stage: str) -> None:
        inner = getattr(owner, name)
        self.wrapped.append((owner, name, vars(owner).get(name, inner)))

        def timed(*args, **kwargs):
            w, c = time.perf_counter(), time.process_time()
            try:
                return inner(*args, **kwargs)
            finally:
                slot = self.now[stage]
                slot[0] += time.perf_counter() - w
                slot[1] += time.process_time() - c
        setattr(owner, name, timed)

    def take(self) -> dict[str, list[float]]:
        out, self.now = dict(self.now), defaultdict(lambda: [0.0, 0.0])
        return out


def open_service(data: Path):
    from dailypapers.search.service import open_search_service
    from dailypapers.store import Store

    db = data / "dailypapers.db"
    store = Store.open(f"sqlite:///{db}", migrate_schema=False) if db.exists() else None
    return store, open_search_service(data / "index", store, data / "models")


def one_request(service, store, q: str) -> None:
    from dailypapers.search import suggest
    from dailypapers.search.query import parse_query

    found = service.search(q, "keyword", limit=30)
    if store is not None:  # an index built from the snapshot (keyword_from_snapshot.py) has no database
        store.papers_by_ids(found.ids)
        store.latest_entries(found.ids)
    suggest.did_you_mean(service.keyword, q, found.parsed or parse_query(q))


def cold(service) -> None:
    from dailypapers.search import service as svc

    service.rankings = svc._LRU(svc.RANKINGS_CACHED)
    service.keyword_cache = svc._LRU(4096)


def timed_pass(service, store, rounds: int) -> list[dict]:
    from dailypapers.search import suggest

    timers = Timers()
    kw = service.keyword
    wrapped_candidates = kw.candidates

    def candidates(q, depth=1000, *, any_word=None):
        stage = "any-word list (candidates)" if any_word else "every-word list (candidates)"
        w, c = time.perf_counter(), time.process_time()
        try:
            return wrapped_candidates(q, depth, any_word=any_word)
        finally:
            slot = timers.now[stage]
            slot[0] += time.perf_counter() - w
            slot[1] += time.process_time() - c
    kw.candidates = candidates
    timers.wrap(kw, "highlight", "highlighting the page")
    timers.wrap(kw, "search", "filter-only / tantivy page search")
    if store is not None:
        timers.wrap(store, "papers_by_ids", "the page's papers from the store")
        timers.wrap(store, "latest_entries", "the page's papers from the store")
    timers.wrap(suggest, "did_you_mean", "did-you-mean suggestion")
    rows = []
    for _ in range(rounds):
        for q in QUERIES:
            cold(service)
            w, c = time.perf_counter(), time.process_time()
            one_request(service, store, q)
            rows.append({"query": q, "wall_ms": (time.perf_counter() - w) * 1000,
                         "cpu_ms": (time.process_time() - c) * 1000,
                         "stages": {k: [v[0] * 1000, v[1] * 1000] for k, v in timers.take().items()}})
    timers.unwrap()
    for name in ("candidates", "highlight", "search"):  # back to the class's methods
        vars(kw).pop(name, None)
    return rows


_TANTIVY = {"search": "tantivy searches and counts", "doc": "tantivy doc-store reads",
            "get_first": "tantivy doc-store reads", "fast_field_values": "tantivy fast fields",
            "aggregate": "tantivy searches and counts", "term_query": "building tantivy queries",
            "term_set_query": "building tantivy queries", "boolean_query": "building tantivy queries",
            "phrase_query": "building tantivy queries", "range_query": "building tantivy queries",
            "searcher": "tantivy searcher / reload", "reload": "tantivy searcher / reload"}


def profiled_pass(service, store) -> dict:
    """CPU self time of every function over all queries (cold), bucketed by what it is: CPU, not
    wall, because the 2 cores are shared and a wall-clock profile charges waiting to whatever ran."""
    prof = cProfile.Profile(time.process_time)
    for q in QUERIES:
        cold(service)
        prof.enable()
        one_request(service, store, q)
        prof.disable()
    stats = pstats.Stats(prof).stats  # type: ignore[attr-defined]
    buckets: dict[str, float] = defaultdict(float)
    total = 0.0
    top = []
    for (path, line, name), (_cc, _nc, tt, _ct, _callers) in stats.items():
        total += tt
        buckets[_bucket(path, name, line)] += tt
        where = ".".join(_enclosing(path, line)) if name == "<listcomp>" else ""
        top.append((tt, f"{Path(path).name}:{where or name}{' listcomp' if where else ''}" if path != "~" else name))
    top.sort(reverse=True)
    return {"total_s": total, "buckets": dict(sorted(buckets.items(), key=lambda kv: -kv[1])),
            "top": [[name, tt] for tt, name in top[:25]]}


_HIGHLIGHT = {"highlight", "_load", "_Highlighter", "_window", "_mark", "_contains_run", "token_spans", "analyse",
              "_tokens"}
_RESCORE = {"_Scorer", "_FieldLines", "_Corpus", "_overlaps"}
_LIST = {"candidates", "_pool", "_place", "_stored_id", "_count", "_build_query", "_text_clause", "_field_query",
         "_filter_clause", "version", "_corpus", "_current", "_state", "_read_state"}


def _enclosing(path: str, line: int) -> list[str]:
    """The names of the functions and classes around `line` of `path`, outermost first (a list
    comprehension is its own frame in Python 3.11, named `<listcomp>`: this says whose it is)."""
    import ast
    import functools

    @functools.cache
    def spans(p: str) -> list[tuple[int, int, str]]:
        tree = ast.parse(Path(p).read_text())
        return [(n.lineno, n.end_lineno or n.lineno, n.name) for n in ast.walk(tree)
                if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    try:
        found = [s for s in spans(path) if s[0] <= line <= s[1]]
    except (OSError, SyntaxError):
        return []
    return [name for *_, name in sorted(found, key=lambda s: s[0])]


def _bucket(path: str, name: str, line: int = 0) -> str:
    if path == "~":  # a builtin or an extension's method: "<method 'doc' of 'builtins.Searcher' objects>"
        for key, label in _TANTIVY.items():
            if any(f"'{key}' of '{m}" in name for m in ("builtins.", "tantivy")) or f"method {key}>" in name:
                return label
        if "of 'bytes' objects" in name:
            return "BM25 re-scoring: term counting (bytes ops)"
        if "numpy" in name or "of 'numpy" in name:
            return "BM25 re-scoring: numpy"
        if "sqlite3" in name or "Cursor" in name or "Connection" in name:
            return "SQLite"
        return "other builtins (sorting, dicts, strings)"
    p = path.replace("\\", "/")
    if "/dailypapers/search/bm25.py" in p:
        return "BM25 re-scoring: Python (keyword.py _Scorer/_FieldLines, bm25.py)"
    if "/dailypapers/search/keyword.py" in p:
        around = set(_enclosing(path, line)) | {name}
        if around & _RESCORE:
            return "BM25 re-scoring: Python (keyword.py _Scorer/_FieldLines, bm25.py)"
        if around & _HIGHLIGHT:
            return "highlighting: Python (keyword.py)"
        if around & _LIST:
            return "keyword list: pool, ids, ordering (keyword.py Python)"
    if "/numpy/" in p:
        return "BM25 re-scoring: numpy"
    if "/dailypapers/search/suggest.py" in p:
        return "did-you-mean (Python)"
    if "/dailypapers/search/keyword.py" in p:
        return "keyword.py other Python"
    if "/dailypapers/search/" in p:
        return "search service Python (query parsing, ranking, paging)"
    if "/sqlalchemy/" in p or "/dailypapers/store/" in p:
        return "store: SQLAlchemy + row building"
    return "other Python"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    store, service = open_service(args.work / "data")
    load_before = os.getloadavg()
    for q in QUERIES[:3]:  # maps the index files, fills the corpus statistics
        one_request(service, store, q)
    rows = timed_pass(service, store, args.rounds)
    profile = profiled_pass(service, store)
    walls = [r["wall_ms"] for r in rows]
    cpus = [r["cpu_ms"] for r in rows]
    stages: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for r in rows:
        for k, (w, c) in r["stages"].items():
            stages[k][0] += w
            stages[k][1] += c
    out = {"queries": len(QUERIES), "rounds": args.rounds, "p50_ms": pct(walls, 50), "p99_ms": pct(walls, 99),
           "cpu_p50_ms": pct(cpus, 50), "cpu_p99_ms": pct(cpus, 99), "total_wall_ms": sum(walls),
           "total_cpu_ms": sum(cpus), "stages": dict(stages), "slowest": sorted(rows, key=lambda r: -r["wall_ms"])[:6],
           "profile": profile, "load_before": load_before, "load_after": os.getloadavg(),
           "papers": service.keyword.doc_count(), **code_version()}
    (args.work / "profile_keyword.json").write_text(json.dumps(out, indent=1))
    print(json.dumps({k: v for k, v in out.items() if k not in ("slowest",)}, indent=1)[:6000])


if __name__ == "__main__":
    main()
