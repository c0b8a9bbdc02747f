"""For you: recommendations with and without stored vectors, side by side with arxiv-sanity-lite.

    python bench/bench_recommend.py [--write] [--no-vectors] [--before] [--previous COMMIT] [--seeds 1]

The task (issue 13, item 7), on the real 75k cs listings (../shared/data/arxiv_cs_listings.jsonl.gz):
the ten most common primary categories; for each, a member whose library is 20 random papers of
that category (upvoted); 5,000 random other papers are the candidates, and a candidate is
relevant when its primary category is the library's. Reported: precision@25 and average
precision (over every relevant candidate) per path, averaged over the ten members, the time of
one `recommend.rank` call for 5,000 candidates (store reads included, SQLite) and its peak
traced memory (tracemalloc, numpy included; a separate run, as tracing slows Python). Each member
is ranked twice: "cold", with the per-paper word cache (delivery/wordcounts.py) emptied first, as
for the first member of a digest run, and "warm", as for every later member of it or a second
view of /for-you; the two rankings must be identical.

Paths: `rank` with stored MiniLM vectors (the int8 ONNX encoder embeds the 5,200 papers once;
cached under var/bench/), `rank` without vectors (sparse tf-idf + linear SVM), and the
reference: arxiv-sanity-lite's recipe (its compute.py tf-idf: words and word pairs of title,
abstract and authors, min_df 5, max_df 0.5, sublinear tf, 20,000 features; its serve.py
LinearSVC(class_weight="balanced", C=0.1) on every paper, the library positive). sklearn is not a
dependency here, so the SVM is the same objective (L2-regularised squared hinge, balanced) solved
by `tfidf.train_linear`; with sklearn importable it is used instead and the table says so.
`--before` also runs the tf-idf path of commit bc86824 (nearest library paper over a dense
matrix), slow and about 1.6 GiB per call; `--previous COMMIT` runs recommend.py and tfidf.py of
an earlier commit on both paths, for a before/after in one run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
import types
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from report import write_section  # noqa: E402

from dailypapers.delivery import recommend, tfidf  # noqa: E402
from dailypapers.models import Author, Paper, Record  # noqa: E402
from dailypapers.store import Store  # noqa: E402
from dailypapers.store.vectors import content_hash, delete_vectors, embed_text, save_vectors  # noqa: E402

LISTINGS = ROOT.parent / "shared" / "data" / "arxiv_cs_listings.jsonl.gz"
CACHE = ROOT / "var" / "bench"
N_CANDIDATES, LIB_SIZE, N_CATEGORIES, K = 5000, 20, 10, 25
BEFORE_COMMIT = "bc86824"


def load_listings() -> list[dict]:
    with gzip.open(LISTINGS, "rt") as f:
        return [json.loads(line) for line in f]


def task(rows: list[dict], seed: int) -> tuple[list[str], list[dict], dict[str, list[str]]]:
    """(top categories, candidate rows, category -> library ids)."""
    rng = np.random.default_rng(seed)
    primary = Counter(r["categories"][0] for r in rows if r["categories"])
    cats = [c for c, _ in primary.most_common(N_CATEGORIES)]
    order = rng.permutation(len(rows))
    cands = [rows[i] for i in order[:N_CANDIDATES]]
    rest = [rows[i] for i in order[N_CANDIDATES:]]
    libraries = {}
    for cat in cats:
        pool = [r["id"] for r in rest if r["categories"] and r["categories"][0] == cat]
        libraries[cat] = [pool[i] for i in rng.choice(len(pool), LIB_SIZE, replace=False)]
    return cats, cands, libraries


def paper(r: dict) -> Paper:
    return Paper(arxiv_id=r["id"], title=" ".join(r["title"].split()), abstract=" ".join(r["summary"].split()),
                 authors=[Author(a) for a in r["authors"]], primary_category=r["categories"][0],
                 categories=list(r["categories"]))


def build_store(path: Path, papers: list[Paper], libraries: dict[str, list[str]]) -> tuple[Store, dict[str, int]]:
    import datetime as dt

    from dailypapers.community import accounts

    store = Store.open(f"sqlite:///{path}")
    for start in range(0, len(papers), 1000):
        store.write([Record(paper=p) for p in papers[start:start + 1000]])
    now = dt.datetime(2026, 7, 2, tzinfo=dt.timezone.utc)
    users = {}
    for n, (cat, ids) in enumerate(libraries.items()):
        user = accounts.create_user(store, f"m{n}@example.org", "correct horse battery", username=f"m{n}")
        for pid in ids:
            store.votes.set(pid, user.id, True, now)
        users[cat] = user.id
    return store, users


def vectors(papers: list[Paper]) -> np.ndarray:
    """MiniLM document vectors of the papers (cached by their ids and texts)."""
    from dailypapers.search.encoder.embeddings import document_vectors, load_encoder

    texts = [embed_text(p.title, p.abstract) for p in papers]
    key = content_hash("\n".join(f"{p.arxiv_id} {t}" for p, t in zip(papers, texts, strict=True)))[:16]
    cached = CACHE / f"recommend_vectors_{key}.npy"
    if cached.exists():
        return np.load(cached)
    CACHE.mkdir(parents=True, exist_ok=True)
    encoder = load_encoder(CACHE / "models")
    started = time.perf_counter()
    out = document_vectors(encoder, texts, [p.title for p in papers])
    print(f"embedded {len(papers)} papers in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    np.save(cached, out)
    return out


def metrics(ranked: list[str], relevant: set[str]) -> tuple[float, float]:
    """(precision@K, average precision); relevant papers not ranked count as missed."""
    hits, total = 0, 0.0
    for i, pid in enumerate(ranked, 1):
        if pid in relevant:
            hits += 1
            total += hits / i
    top = sum(1 for pid in ranked[:K] if pid in relevant)
    return top / K, total / max(len(relevant), 1)


# -- the reference: arxiv-sanity-lite ---------------------------------------------------------

_PEER_TOKEN = re.compile(r"\b[a-zA-Z_][a-zA-Z0-9_]+\b")


def _peer_tokens(p: Paper) -> list[str]:
    from dailypapers.search.phrases import STOPWORDS

    words = [w for w in _PEER_TOKEN.findall(f"{p.title} {p.abstract} {' '.join(a.name for a in p.authors)}".lower())
             if w not in STOPWORDS]
    return words + [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]


def peer_features(docs: list[Paper]) -> tfidf.Sparse:
    toks = [_peer_tokens(p) for p in docs]
    df: Counter = Counter()
    for t in toks:
        df.update(set(t))
    n = len(toks)
    kept = sorted(((c, w) for w, c in df.items() if 5 <= c <= 0.5 * n), key=lambda cw: (-cw[0], cw[1]))[:20000]
    index = {w: i for i, w in enumerate(sorted(w for _, w in kept))}
    idf = np.array([math.log((1 + n) / (1 + df[w])) + 1 for w in index], dtype=np.float32)
    indptr, indices, data = [0], [], []
    for t in toks:
        counts = Counter(w for w in t if w in index)
        indices.extend(index[w] for w in counts)
        data.extend((1.0 + math.log(c)) * idf[index[w]] for w, c in counts.items())
        indptr.append(len(indices))
    m = tfidf.Sparse(np.asarray(indptr, np.int64), np.asarray(indices, np.int32), np.asarray(data, np.float32),
                     len(index))
    norms = np.sqrt(np.bincount(m.rows, weights=m.data.astype(np.float64) ** 2, minlength=n))
    m.data /= np.where(norms == 0, 1, norms)[m.rows].astype(np.float32)
    return m


def peer_rank(X: tfidf.Sparse, positive: np.ndarray, cand_rows: np.ndarray, *,
              c: float = 0.1) -> tuple[np.ndarray, str]:
    """Decision values of LinearSVC(class_weight='balanced', C=c) trained on all rows."""
    y = positive.astype(float)
    try:
        from scipy.sparse import csr_matrix  # type: ignore[import-not-found]
        from sklearn.svm import LinearSVC  # type: ignore[import-not-found]

        m = csr_matrix((X.data, X.indices, X.indptr), shape=X.shape)
        clf = LinearSVC(class_weight="balanced", C=c, max_iter=10000, tol=1e-6).fit(m, y)
        return clf.decision_function(m[cand_rows]), "sklearn LinearSVC"
    except ImportError:
        pass
    n, n_pos = len(y), int(y.sum())
    w = np.where(y == 1, n / (2 * n_pos), n / (2 * (n - n_pos)))  # sklearn's "balanced"
    theta, bias = tfidf.train_linear(X.matvec, X.rmatvec, X.n_cols, y, w / w.sum(), l2=1.0 / (c * w.sum()),
                                     loss="squared_hinge", iters=600)
    return (X.matvec(theta) + bias)[cand_rows], "LinearSVC objective, tfidf.train_linear"


# -- runs -------------------------------------------------------------------------------------


def old_module(commit: str, name: str, replace: dict[str, str] | None = None) -> types.ModuleType:
    """src/dailypapers/delivery/<name>.py as of `commit`, loaded as its own module."""
    source = subprocess.run(["git", "show", f"{commit}:src/dailypapers/delivery/{name}.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    for old, new in (replace or {}).items():
        source = source.replace(old, new)
    module = types.ModuleType(f"{name}_{commit}")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{module.__name__}.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module


def before_module(commit: str = BEFORE_COMMIT) -> types.ModuleType:
    """recommend.py of `commit` with the tfidf.py of that commit (where it had one)."""
    listed = subprocess.run(["git", "ls-tree", "--name-only", commit, "src/dailypapers/delivery/"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout.split()
    if "src/dailypapers/delivery/tfidf.py" not in listed:
        return old_module(commit, "recommend")
    old_tfidf = old_module(commit, "tfidf")
    return old_module(commit, "recommend", {"from dailypapers.delivery import tfidf\n": "",
                                            "import numpy as np\n": f"import numpy as np\n"
                                            f"import {old_tfidf.__name__} as tfidf\n"})


def timed(rank, *args, **kwargs) -> tuple[object, float, float]:
    """(result, wall seconds, CPU seconds of the process)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    result = rank(*args, **kwargs)
    return result, time.perf_counter() - started, time.process_time() - cpu_started


def run_path(label: str, module: types.ModuleType, store: Store, users: dict[str, int], cand_ids: list[str],
             relevant: dict[str, set[str]]) -> dict:
    """Each member ranked cold (word cache emptied) and, where the module has the cache, warm."""
    cache = getattr(module, "WORDS", None)
    p25, ap, cold, warm, method = [], [], [], [], ""
    for cat, uid in users.items():
        if cache is not None:
            cache.clear()
        r, wall, cpu = timed(module.rank, store, uid, cand_ids, limit=len(cand_ids))
        cold.append((wall, cpu))
        if cache is not None:
            again, wall, cpu = timed(module.rank, store, uid, cand_ids, limit=len(cand_ids))
            warm.append((wall, cpu))
            assert [(i.paper_id, i.score) for i in again.items] == [(i.paper_id, i.score) for i in r.items]
        assert all(item.reasons for item in r.items)
        a, b = metrics(r.ids, relevant[cat])
        p25.append(a)
        ap.append(b)
        method = r.method
    if cache is not None:
        cache.clear()
    tracemalloc.start()
    module.rank(store, next(iter(users.values())), cand_ids, limit=len(cand_ids))
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out = {"path": label, "method": method, "p25": float(np.mean(p25)), "ap": float(np.mean(ap)),
           "p50_s": float(np.median([w for w, _ in cold])), "max_s": max(w for w, _ in cold),
           "cpu_p50_s": float(np.median([c for _, c in cold])), "peak_mib": peak / 2**20,
           "per_category_p25": dict(zip(users, p25, strict=True))}
    if warm:
        out |= {"warm_p50_s": float(np.median([w for w, _ in warm])),
                "warm_cpu_p50_s": float(np.median([c for _, c in warm])), "retained_mib": retained / 2**20}
    return out


def run_peer(papers: list[Paper], n_cands: int, libraries: dict[str, list[str]], relevant: dict[str, set[str]],
             cand_ids: list[str]) -> dict:
    p25, ap, secs, impl = [], [], [], ""
    index = {p.arxiv_id: i for i, p in enumerate(papers)}
    started = time.perf_counter()
    X = peer_features(papers)
    features_s = time.perf_counter() - started
    cand_rows = np.arange(n_cands)
    for cat, lib in libraries.items():
        started = time.perf_counter()
        positive = np.zeros(len(papers), bool)
        positive[[index[i] for i in lib]] = True
        scores, impl = peer_rank(X, positive, cand_rows)
        secs.append(time.perf_counter() - started)
        ranked = [cand_ids[i] for i in np.argsort(-scores, kind="stable")]
        a, b = metrics(ranked, relevant[cat])
        p25.append(a)
        ap.append(b)
    return {"path": "arxiv-sanity-lite (reference)", "method": f"its recipe ({impl})",
            "p25": float(np.mean(p25)), "ap": float(np.mean(ap)),
            "p50_s": float(np.median(secs)), "max_s": float(max(secs)), "features_s": features_s,
            "per_category_p25": dict(zip(libraries, p25, strict=True))}


def run(seed: int, with_vectors: bool, before: bool, previous: str | None) -> dict:
    rows = load_listings()
    cats, cand_rows, libraries = task(rows, seed)
    by_id = {r["id"]: r for r in rows}
    cand_papers = [paper(r) for r in cand_rows]
    lib_papers = [paper(by_id[i]) for ids in libraries.values() for i in ids]
    cand_ids = [p.arxiv_id for p in cand_papers]
    relevant = {cat: {p.arxiv_id for p in cand_papers if p.primary_category == cat} for cat in cats}
    results: dict = {"seed": seed, "categories": cats, "load_before": os.getloadavg()[0],
                     "relevant": {c: len(v) for c, v in relevant.items()}, "paths": []}
    old = before_module(previous) if previous else None
    with tempfile.TemporaryDirectory() as tmp:
        store, users = build_store(Path(tmp) / "bench.db", [*cand_papers, *lib_papers], libraries)
        task_args = (store, users, cand_ids, relevant)
        if with_vectors:
            everything = [*cand_papers, *lib_papers]
            vecs = vectors(everything)
            from dailypapers.search.encoder.embeddings import MODEL_ID

            save_vectors(store, MODEL_ID, [(p.arxiv_id, content_hash(embed_text(p.title, p.abstract)), v)
                                           for p, v in zip(everything, vecs, strict=True)])
            if old:
                results["paths"].append(run_path(f"stored MiniLM vectors, before ({previous})", old, *task_args))
            results["paths"].append(run_path("dailypapers, stored MiniLM vectors", recommend, *task_args))
            delete_vectors(store, MODEL_ID)
        if old:
            results["paths"].append(run_path(f"no vectors, before ({previous})", old, *task_args))
        results["paths"].append(run_path("dailypapers, no vectors", recommend, *task_args))
        if before:
            results["paths"].append(run_path(f"no vectors, before ({BEFORE_COMMIT})", before_module(), *task_args))
        store.close()
    results["paths"].append(run_peer([*cand_papers, *lib_papers], len(cand_papers), libraries, relevant, cand_ids))
    results["load_after"] = os.getloadavg()[0]
    return results


def _mean(rows: list[dict], key: str, fmt: str) -> str:
    return fmt.format(np.mean([r[key] for r in rows])) if key in rows[0] else "—"


def render(results: list[dict]) -> str:
    first = results[0]
    loads = [r[k] for r in results for k in ("load_before", "load_after")]
    lines = ["## For you: recommendations with and without vectors", "",
             "Machine: 2 CPU cores shared with other work while measured (1-minute load average "
             f"{min(loads):.1f} to {max(loads):.1f} during the run), so wall times are inflated; the process's CPU "
             "time is the steadier figure, and the rows of one run compare with each other. The task of issue 13 "
             "item 7 on the real 75k cs listings: for each of the ten most common primary categories "
             f"({', '.join(first['categories'])}), a member whose library is {LIB_SIZE} random papers of it "
             f"(upvoted); {N_CANDIDATES:,} random other papers are the candidates; relevant = same primary "
             "category. Precision@25 and average precision are means over the ten members"
             + (f" and {len(results)} seeds" if len(results) > 1 else "") + ". Time: one `recommend.rank` call "
             "over the 5,000 candidates (SQLite reads included), median over the members: *cold* with the "
             "per-paper word cache emptied first (the first member of a digest run), *warm* a second call (every "
             "later member, or /for-you again; the same ranking, checked). Peak: tracemalloc's peak during one "
             "cold call (numpy arrays included).", "",
             "| path | method | precision@25 | average precision | CPU time p50, cold (warm) "
             "| wall time p50, cold (warm) | peak traced memory |",
             "|---|---|---|---|---|---|---|"]
    for i, path in enumerate(first["paths"]):
        rows = [r["paths"][i] for r in results]
        cpu = _mean(rows, "cpu_p50_s", "{:.2f} s")
        wall = _mean(rows, "p50_s", "{:.2f} s")
        if "warm_cpu_p50_s" in path:
            cpu += _mean(rows, "warm_cpu_p50_s", " ({:.2f} s)")
            wall += _mean(rows, "warm_p50_s", " ({:.2f} s)")
        peak = _mean(rows, "peak_mib", "{:.0f} MiB")
        lines.append(f"| {path['path']} | {path['method']} | {np.mean([r['p25'] for r in rows]):.3f} | "
                     f"{np.mean([r['ap'] for r in rows]):.3f} | {cpu} | {wall} | {peak} |")
    peer = next((p for p in first["paths"] if "features_s" in p), None)
    if peer:
        lines += ["", "The reference's time (wall, in the wall column) is training and scoring only: its tf-idf "
                  "features are computed once for the whole corpus, as its compute.py does (here "
                  f"{peer['features_s']:.0f} s for the 5,200 papers, not counted). dailypapers builds its features per "
                  "call from titles and abstracts read from the store, which is included."]
    kept = next((p["retained_mib"] for p in first["paths"] if "retained_mib" in p and p["method"].startswith("tf")),
                None)
    lines += ["", "How: without vectors, a linear SVM (squared hinge, classes balanced, LinearSVC's objective, "
              f"{recommend.TEXT_ITERS} accelerated gradient steps) on sparse tf-idf rows (numpy CSR) of the library, "
              "the \u201cnot interested\u201d marks and at most 2,000 of the candidates, vocabulary capped at 20,000 "
              "words fitted on those; the candidates are sparse rows only, scored in chunks of 1,000, and their "
              "similarity to the library paper named in the reason is summed over their non-zeros. Words come from "
              "splitting the lower-cased text translated to bytes (the words of the regex the tf-idf used before, "
              "in less than half the time) and are cached per paper, checked against its text"
              + (f" (after one cold call the process holds {kept:.0f} MiB more, the cache of 5,020 papers)"
                 if kept is not None else "")
              + ". With vectors, the logistic regression trains on the library and at most 2,000 candidates "
              f"({recommend.VECTOR_ITERS} steps). Dense products run in numpy's own loops (tfidf.dot): OpenBLAS's "
              "threads spin on a loaded machine and took most of the CPU time before. Both paths read only what "
              "they need from the store: vectors, or titles and abstracts. The step counts were chosen on seed 0 "
              "of this task, so `--seeds 2` is the fairer check. The issue's figures (0.228 / 0.120 / 0.236) came "
              "from a task whose categories and relevance are not recorded; compare the rows of this table with "
              "each other."]
    lines += ["", "Precision@25 per category (first seed): " + "; ".join(
        cat + " " + " / ".join(f"{p['per_category_p25'][cat]:.2f}" for p in first["paths"])
        for cat in first["categories"]) + " (paths in the table's order).", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write the table into BENCHMARKS.md")
    ap.add_argument("--no-vectors", action="store_true", help="skip the stored-vector path (no embedding)")
    ap.add_argument("--before", action="store_true", help=f"also run the tf-idf path of {BEFORE_COMMIT}")
    ap.add_argument("--previous", metavar="COMMIT", help="also run both paths as of an earlier commit")
    ap.add_argument("--seeds", type=int, default=1)
    args = ap.parse_args()
    results = [run(seed, not args.no_vectors, args.before, args.previous) for seed in range(args.seeds)]
    print(json.dumps(results, indent=1))
    text = render(results)
    print(text)
    if args.write:
        write_section("recommend", text, ("python bench/bench_recommend.py " + " ".join(sys.argv[1:])).strip())


if __name__ == "__main__":
    main()
