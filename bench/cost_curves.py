"""Issue 16 goal 4: one table of what each cost is at three corpus sizes, and how it grows.

Rendered by `python bench/bench_scale.py report-costs WORK_75K WORK_300K WORK_2.7M` from the
results.json that `bench_scale.py run` writes in each work directory (steps import, hf, index,
vectors, search, pages). The growth columns compare each size with the one before it: the
exponent k in cost ~ papers^k (k = 1 is linear growth, 0 flat, ~0.1-0.3 what a log or a tree
walk looks like over these ratios).
"""

from __future__ import annotations

import math
from collections.abc import Callable

Row = tuple[str, Callable[[dict], float | None], str, bool]  # label, value, format, a reader waits for it


def _get(r: dict, *path: str) -> float | None:
    cur = r
    for key in path:
        if not isinstance(cur, dict) or key not in cur:
            return None
        cur = cur[key]
    return cur if isinstance(cur, int | float) else None


def _wall(r: dict, step: str) -> float | None:
    """A step's wall seconds less the time it was paused (SIGSTOP) while another size's latencies
    were measured: `paused_seconds`, added to results.json from the pause log."""
    seconds = _get(r, step, "seconds")
    return None if seconds is None else seconds - (_get(r, step, "paused_seconds") or 0.0)


def _worker(r: dict, field: str) -> float | None:
    """The largest web worker's peak (cache on: what a node serving readers holds)."""
    mode = (r.get("pages") or {}).get("modes", {}).get("cache on") or {}
    workers = [p[field] for p in mode.get("processes", []) if p["process"] == "web worker"]
    return max(workers) if workers else None


def _disk(r: dict) -> float | None:
    parts = [_get(r, "hf", "db_mib"), _get(r, "index", "index_mib"), _get(r, "vectors", "index_mib")]
    return sum(parts) if all(p is not None for p in parts) else None  # type: ignore[misc]


def _page(mode: str, kind: str, stat: str) -> Callable[[dict], float | None]:
    def value(r: dict) -> float | None:
        kinds = (r.get("pages") or {}).get("modes", {}).get(mode, {}).get("kinds", {})
        found = next((v for k, v in kinds.items() if k.startswith(kind)), None)
        return found.get(stat) if found else None
    return value


def _share(mode: str, kind: str) -> Callable[[dict], float | None]:
    page, hello = _page(mode, kind, "rps"), _page(mode, "hello-world", "rps")

    def value(r: dict) -> float | None:
        a, b = page(r), hello(r)
        return 100 * a / b if a is not None and b else None
    return value


PAGE_KINDS = ("hello-world", "daily", "week", "month", "paper", "home", "API", "search")


def rows() -> list[Row]:
    out: list[Row] = [
        ("papers stored (snapshot + HF daily papers)", lambda r: _get(r, "hf", "counts", "papers"), ",.0f", False),
        ("import wall s (`import snapshot --no-index`)", lambda r: _wall(r, "import"), ",.0f", False),
        ("import CPU s (importer + parser processes)", lambda r: _get(r, "import", "cpu_seconds"), ",.0f", False),
        ("keyword index build wall s (`index rebuild`)", lambda r: _wall(r, "index"), ",.0f", False),
        ("keyword index build CPU s", lambda r: _get(r, "index", "cpu_seconds"), ",.0f", False),
        ("vector index build wall s (synthetic vectors, HNSW)", lambda r: _wall(r, "vectors"), ",.0f", False),
        ("vector index build CPU s", lambda r: _get(r, "vectors", "cpu_seconds"), ",.0f", False),
        ("disk: database MiB", lambda r: _get(r, "hf", "db_mib"), ",.0f", False),
        ("disk: keyword index MiB (live generation)", lambda r: _get(r, "index", "index_mib"), ",.0f", False),
        ("disk: vector index MiB", lambda r: _get(r, "vectors", "index_mib"), ",.0f", False),
        ("disk: all three MiB", _disk, ",.0f", False),
        ("web worker peak RSS MiB (under load, cache on)", lambda r: _worker(r, "rss"), ",.0f", False),
        ("web worker peak anonymous MiB (its heap; the rest of RSS is mapped index files)",
         lambda r: _worker(r, "anonymous"), ",.0f", False),
    ]
    for mode in ("keyword", "semantic", "hybrid"):
        for stat in ("p50", "p99"):
            out.append((f"search {mode} {stat} ms (`/api/papers/search`, one at a time)",
                        (lambda m, s: lambda r: _get(r, "search", "modes", m, s))(mode, stat), ",.0f", True))
    for key, label in (("p50_ms", "wall p50"), ("p99_ms", "wall p99"), ("cpu_p50_ms", "CPU p50"),
                       ("cpu_p99_ms", "CPU p99")):
        out.append((f"keyword search in process, ranking not cached: {label} ms (profile_keyword_scale.py)",
                    (lambda k: lambda r: _get(r, "profile_keyword", k))(key), ",.0f", True))
    return out


def render_pages(results: list[dict], sizes: list[float], papers: list[float]) -> tuple[list[str], list[str]]:
    """Pages under 50 clients: p50 / p99 ms and req/s (share of the same run's hello-world) per size."""
    measured = [i for i, r in enumerate(results) if (r.get("pages") or {}).get("modes", {}).get("cache off")]
    if not measured:
        return [], []
    head = [f"{mode}, {_short(sizes[i])}" for mode in ("cache off", "cache on") for i in measured]
    growth = [f"{mode}: p50 / p99 k, {_short(sizes[a])}→{_short(sizes[b])}" for mode in ("cache off", "cache on")
              for a, b in zip(measured, measured[1:], strict=False)]
    lines = ["", "Pages under 50 clients (p50 / p99 ms; req/s, % of hello-world in the same server run):", "",
             "| page | " + " | ".join(head + growth) + " |", "|---|" + "---:|" * (len(head) + len(growth))]
    flags = []
    for kind in PAGE_KINDS:
        cells, ks = [], []
        for mode in ("cache off", "cache on"):
            for i in measured:
                p50, p99, rps = (_page(mode, kind, s)(results[i]) for s in ("p50", "p99", "rps"))
                share = _share(mode, kind)(results[i])
                cells.append("–" if p50 is None else f"{p50:,.0f} / {p99:,.0f}; {rps:,.0f}"
                             + (f", {share:.0f}%" if share is not None else ""))
            for a, b in zip(measured, measured[1:], strict=False):
                pair = [exponent(_page(mode, kind, s)(results[a]), _page(mode, kind, s)(results[b]), papers[a],
                                 papers[b]) for s in ("p50", "p99")]
                ks.append(" / ".join("–" if k is None else f"{k:+.2f}" for k in pair))
                for s, k in zip(("p50", "p99"), pair, strict=True):
                    big = _page(mode, kind, s)(results[b]) or 0
                    if kind != "hello-world" and k is not None and k >= 0.5 and big >= 20:
                        flags.append(f"page {kind}, {mode}: {s} {_page(mode, kind, s)(results[a]):,.0f} → "
                                     f"{big:,.0f} ms ({_short(sizes[a])}→{_short(sizes[b])}, k = {k:.2f})")
        lines.append(f"| {kind} | " + " | ".join(cells + ks) + " |")
    return lines, flags


def render_profiles(results: list[dict]) -> list[str]:
    """Where keyword search's CPU goes at each size (profile_keyword_scale.py's timers, CPU ms summed
    over the 30 queries, each with its ranking computed afresh)."""
    found = [(r, r["profile_keyword"]) for r in results if r.get("profile_keyword")]
    if not found:
        return []
    stages = sorted({s for _, p in found for s in p["stages"]}, key=lambda s: -found[-1][1]["stages"].get(s, [0, 0])[1])
    head = [f"{_short(p['papers'])} papers: CPU ms (share)" for _, p in found]
    lines = ["", "### Where keyword search's CPU goes, by size", "",
             "`python bench/profile_keyword_scale.py WORK`: in process, the 30 queries one at a time, what "
             "`/api/papers/search?mode=keyword&limit=30` runs (the ranking computed afresh, the page's papers from "
             "the store, the did-you-mean suggestion), CPU ms summed over the queries (wall is not comparable "
             "on the shared cores). The 1M index was built from the snapshot file and profiled without the "
             "database (no store read). Per-function profiles are in the `scale` section.", "",
             "| stage | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    for stage in stages:
        cells = []
        for _, p in found:
            cpu = p["stages"].get(stage, [0.0, 0.0])[1]
            cells.append(f"{cpu:,.0f} ({cpu / p['total_cpu_ms']:.0%})" if stage in p["stages"] else "–")
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    rest = [p["total_cpu_ms"] - sum(c for _, c in p["stages"].values()) for _, p in found]
    lines.append("| the rest (parsing, paging, Python glue) | "
                 + " | ".join(f"{x:,.0f} ({x / p['total_cpu_ms']:.0%})" for x, (_, p) in zip(rest, found, strict=True))
                 + " |")
    lines.append("| **all 30 queries** | " + " | ".join(f"{p['total_cpu_ms']:,.0f}" for _, p in found) + " |")
    for _, p in found:
        buckets = sorted(p["profile"]["buckets"].items(), key=lambda kv: -kv[1])[:6]
        total = p["profile"]["total_s"]
        dirty = ", ".join(f.rsplit("/", 1)[-1] for f in p.get("src_dirty") or [])
        lines.append(f"\n{_short(p['papers'])} (commit {p.get('commit', '?')[:7]}"
                     + (f" + uncommitted {dirty}" if dirty else "")
                     + f"), cProfile CPU self time ({total:.1f} s profiled): "
                     + "; ".join(f"{k} {v / total:.0%}" for k, v in buckets) + ".")
    return lines


def exponent(small: float | None, big: float | None, n_small: float, n_big: float) -> float | None:
    if not small or not big or small <= 0 or big <= 0 or n_big == n_small:
        return None
    return math.log(big / small) / math.log(n_big / n_small)


def render(results: list[dict], notes: str = "") -> str:
    results = sorted(results, key=lambda r: _get(r, "import", "lines") or 0)
    sizes = [_get(r, "import", "lines") or 0 for r in results]
    papers = [_get(r, "hf", "counts", "papers") or s for r, s in zip(results, sizes, strict=True)]
    head = ["what", *(f"{s:,.0f} lines" + (f" ({r['column']})" if r.get("column") else "")
                      for r, s in zip(results, sizes, strict=True))]
    pairs = list(zip(range(len(results) - 1), range(1, len(results)), strict=False))
    head += [f"{_short(sizes[a])}→{_short(sizes[b])} ({papers[b] / papers[a]:.1f}x papers): ratio (k)"
             for a, b in pairs]
    lines = ["## Cost curves: 75k, 300k and 2.7M papers (issue 16, goal 4)", "",
             "One SQLite install per size, built and measured by `bench/bench_scale.py run --backend sqlite "
             "--steps import,hf,index,vectors,search,pages`; the snapshots are the first 75,000 and 300,000 "
             "lines of the 2.7M file from `bench/make_snapshot.py` (ids in order, 18,750 a month from 1501: "
             "the smaller corpora are the first 4 and 16 months of the big one, so a day holds as many papers "
             "at every size and the corpus grows by history, as arXiv does), plus the 9,877 Hugging Face daily "
             "papers. Pages: `bench_pages_load.py`'s server (the app as `serve --workers 2` runs it, plus "
             "`/__hello`) and `wrk -t2 -c50`, 8 s per URL kind after a warm-up, render cache off then on. "
             "Search: the real server, one worker, one query at a time, 30 queries × 2 rounds (the second "
             "round hits the ranking cache). k is the growth exponent (cost ∝ papers^k between two sizes): "
             "1 linear, 0 flat. Columns marked *earlier run* or *keyword index only* are explained below the "
             "tables.", "",
             "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    flagged = []
    for label, value, fmt, waits in rows():
        vals = [value(r) for r in results]
        if all(v is None for v in vals):
            continue
        cells = [format(v, fmt) if v is not None else "–" for v in vals]
        for a, b in pairs:
            if vals[a] is None and vals[b] is not None:  # compare with the last size that has the figure
                a = next((j for j in range(a - 1, -1, -1) if vals[j] is not None), a)
            if results[b].get("other_code") and label.startswith(("search", "page", "keyword search")):
                # the search and the pages changed since the earlier run: no ratio across code versions
                cells.append("other code" if vals[a] is not None and vals[b] is not None else "–")
                continue
            k = exponent(vals[a], vals[b], papers[a], papers[b])
            since = "" if (a, b) in pairs else f" from {_short(sizes[a])}"
            cells.append(f"{vals[b] / vals[a]:.2f} ({k:+.2f}){since}" if k is not None and vals[a] and vals[b]
                         else "–")
            if waits and k is not None and k >= 0.5 and (vals[b] or 0) >= 20:
                flagged.append(f"{label}: {format(vals[a], fmt)} → {format(vals[b], fmt)} "
                               f"({_short(sizes[a])}→{_short(sizes[b])}, k = {k:.2f})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    page_lines, page_flags = render_pages(results, sizes, papers)
    lines += page_lines
    flagged += page_flags
    lines += ["", "Commits each step ran with (other sessions committed to src/ during the runs):", ""]
    for r, s in zip(results, sizes, strict=True):
        if r.get("reference"):
            lines.append(f"- {s:,} lines: {r['reference']}")
            continue
        steps = [f"{step} {r[step]['commit'][:7]}" + (" + uncommitted src" if r[step].get("src_dirty") else "")
                 for step in ("import", "hf", "index", "vectors", "search", "pages")
                 if isinstance(r.get(step), dict) and r[step].get("commit")]
        lines.append(f"- {s:,} lines: " + ", ".join(steps))
    lines += ["", "**What a reader waits for that grows with the corpus at k ≥ 0.5** (page and search latencies "
              "of 20 ms or more):", ""]
    lines += [f"- {f}" for f in flagged] or ["- nothing"]
    lines += render_profiles(results)
    if notes:
        lines += ["", notes.strip()]
    return "\n".join(lines) + "\n"


def _short(n: float) -> str:
    return f"{n / 1e6:.1f}M" if n >= 1e6 else f"{n / 1e3:.0f}k"
