"""Offline fusion lab: every evaluation set's candidate lists computed once, fusions compared in seconds.

    python bench/fusion_lab.py cache [--work /tmp/dp-lab]     keyword lists, vectors, query vectors
    python bench/fusion_lab.py sweep [--work /tmp/dp-lab]     nDCG@10 per set for each fusion

`cache` indexes each corpus with the product's keyword index (tantivy, the same analysers and
field boosts) and embeds it with the product's int8 encoder (each text once: the vector cache is
keyed by the text), then stores per query the all-words and any-word BM25 lists (1,000 deep), and
per corpus the vectors of "title. abstract" and of the title alone. `sweep` scores fusions on
those with exact cosine search (the service uses HNSW; BENCHMARKS.md has both), so a variant
costs milliseconds, not a re-index. This is where search/hybrid.py's constants were measured.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dailypapers.search import evaluate  # noqa: E402

DEVSETS = ROOT / "bench" / "devsets"
COLLECTIONS = ROOT / "bench" / "collections"
LIST_DEPTH = 1000


@dataclass
class SetFiles:
    name: str
    corpus: Path
    queries: Path
    qrels: Path


def all_sets() -> list[SetFiles]:
    """Every evaluation set in bench/: the dev sets over one corpus, then the public collections."""
    out = []
    for sub in sorted(p for p in DEVSETS.iterdir() if (p / "queries.jsonl").exists()):
        out.append(SetFiles(sub.name, DEVSETS / "corpus.jsonl.gz", sub / "queries.jsonl", sub / "qrels.tsv"))
    for sub in sorted(p for p in COLLECTIONS.iterdir() if (p / "queries.jsonl").exists()):
        corpus = next(sub.glob("corpus.jsonl*"))
        out.append(SetFiles(sub.name, corpus, sub / "queries.jsonl", sub / "qrels" / "test.tsv"))
    return out


# ---------------------------------------------------------------------------------------------
# cache


def keyword_lists(index, text: str) -> dict:
    """The all-words and any-word BM25 lists of a query (ids and scores, best first) and counts."""
    from dailypapers.errors import InvalidQuery
    from dailypapers.search import keyword as kw
    from dailypapers.search.query import parse_query

    try:
        pq = parse_query(text, max_length=100_000)
    except InvalidQuery:
        return {"and": ([], []), "or": ([], []), "and_count": 0, "terms": 0}
    searcher = index._current().searcher()
    out = {"terms": len(pq.terms) + len(pq.phrases)}
    for name, relaxed in (("and", False), ("or", True)):
        query, _ = kw._build_query(pq, relaxed=relaxed)
        if query is None:
            out[name], out[f"{name}_count"] = ([], []), 0
            continue
        res = searcher.search(query, limit=LIST_DEPTH, count=True)
        ids = [searcher.doc(a).get_first("arxiv_id") for _, a in res.hits]
        out[name], out[f"{name}_count"] = (ids, [float(s) for s, _ in res.hits]), res.count
    return out


def semantic_text(text: str) -> str:
    from dailypapers.errors import InvalidQuery
    from dailypapers.search.query import parse_query
    from dailypapers.search.service import semantic_text as service_text

    try:
        return service_text(parse_query(text, max_length=100_000))
    except InvalidQuery:
        return ""


def build_cache(work: Path, sets: Sequence[SetFiles], encoder) -> None:
    from dailypapers.search.encoder.embeddings import paper_text
    from dailypapers.search.keyword import KeywordIndex

    corpora: dict[Path, str] = {}
    for s in sets:
        out = work / f"{s.name}.pkl"
        if out.exists():
            continue
        t0 = time.time()
        papers = evaluate.read_corpus(s.corpus)
        key = corpora.setdefault(s.corpus, f"corpus-{len(corpora)}-{s.corpus.parent.name}")
        index = KeywordIndex(work / key / "keyword")
        if index.doc_count() != len(papers):
            index.rebuild(papers)
        enc = evaluate._CachingEncoder(encoder, work / "cache", None)
        texts = [paper_text(p) for p in papers]
        titles = [" ".join((p.title or "").split()) for p in papers]
        doc_text = enc.encode(texts)
        doc_title = np.zeros_like(doc_text)
        with_title = [i for i, t in enumerate(titles) if t and t != texts[i]]
        if with_title:
            doc_title[with_title] = enc.encode([titles[i] for i in with_title])
        queries = evaluate.read_queries(s.queries)
        qids = sorted(queries)
        qtexts = [semantic_text(queries[q]) for q in qids]
        qvecs = enc.encode([t or "." for t in qtexts])
        enc.save()
        lists = {q: keyword_lists(index, queries[q]) for q in qids}
        data = {"ids": [p.arxiv_id for p in papers], "doc_text": doc_text.astype(np.float32),
                "doc_title": doc_title.astype(np.float32), "has_title": np.array([bool(t) for t in titles]),
                "qids": qids, "queries": [queries[q] for q in qids], "qvecs": qvecs.astype(np.float32),
                "lists": lists, "qrels": evaluate.read_qrels(s.qrels)}
        with open(out, "wb") as fh:
            pickle.dump(data, fh)
        print(f"{s.name}: {len(papers)} papers, {len(qids)} queries, {time.time() - t0:.0f} s", flush=True)


# ---------------------------------------------------------------------------------------------
# sweep


def load(work: Path, name: str) -> dict:
    with open(work / f"{name}.pkl", "rb") as fh:
        return pickle.load(fh)


def doc_matrix(data: dict, recipe: str) -> np.ndarray:
    """Document vectors for a recipe: 'plain' (title. abstract) or 'title-sum' (+ the title's)."""
    if recipe == "plain":
        return data["doc_text"]
    m = data["doc_text"] + data["doc_title"]
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


def score_set(data: dict, rank: Callable[[dict, int, np.ndarray], list[str]], recipe: str = "plain") -> dict:
    docs = doc_matrix(data, recipe)
    sims = data["qvecs"] @ docs.T
    rankings = {q: rank(data, i, sims[i]) for i, q in enumerate(data["qids"])}
    return evaluate.score_rankings(rankings, data["qrels"])


# ---------------------------------------------------------------------------------------------
# rankers: (data, query index, cosines of every document) -> ids, best first

DEPTH = 100
FEW_HITS, FEW_KEYWORD_WEIGHT, MANY_KEYWORD_WEIGHT = 5, 2.0, 0.2   # the hand-set weights being replaced


def top(sims: np.ndarray, k: int) -> np.ndarray:
    k = min(k, len(sims))
    part = np.argpartition(-sims, k - 1)[:k]
    return part[np.argsort(-sims[part], kind="stable")]


def sem_ids(data: dict, sims: np.ndarray, k: int = DEPTH) -> list[str]:
    return [data["ids"][j] for j in top(sims, k)]


def kw_list(data: dict, i: int, which: str) -> tuple[list[str], list[float]]:
    """'and' (every word), 'or' (any word), 'product' (every word; any word when none has all:
    what keyword mode does today) or 'tiered' (every word first, then any word)."""
    lists = data["lists"][data["qids"][i]]
    if which in ("and", "or"):
        return lists[which]
    if which == "product":
        return lists["and"] if lists["and_count"] or lists["terms"] <= 1 else lists["or"]
    ids, scores = list(lists["and"][0]), list(lists["and"][1])
    seen = set(ids)
    bump = max(scores, default=0.0)
    for pid, sc in zip(*lists["or"], strict=True):
        if pid not in seen:
            ids.append(pid)
            scores.append(sc - bump - 1.0)  # below every all-words hit
    return ids, scores


def rrf(ranked: Sequence[Sequence[str]], weights: Sequence[float], k: int = 60, depth: int = DEPTH) -> list[str]:
    score: dict[str, float] = {}
    for ids, w in zip(ranked, weights, strict=True):
        for r, pid in enumerate(ids[:depth], 1):
            score[pid] = score.get(pid, 0.0) + w / (k + r)
    return sorted(score, key=lambda p: -score[p])


def current(data: dict, i: int, sims: np.ndarray) -> list[str]:
    """search/hybrid.adaptive_weights as shipped (RRF k=60 over 100 + 100 candidates)."""
    lists = data["lists"][data["qids"][i]]
    ids, _ = kw_list(data, i, "product")
    relaxed = not lists["and_count"] and lists["terms"] > 1
    if not ids or relaxed:
        w = 0.0
    elif lists["and_count"] <= FEW_HITS:
        w = FEW_KEYWORD_WEIGHT
    else:
        w = MANY_KEYWORD_WEIGHT
    return rrf([ids, sem_ids(data, sims)], [w, 1.0])[:DEPTH]


def keyword_only(which: str) -> Callable:
    return lambda data, i, sims: kw_list(data, i, which)[0][:DEPTH]


def semantic_only(data: dict, i: int, sims: np.ndarray) -> list[str]:
    return sem_ids(data, sims)


def plain_rrf(which: str, k: int = 60, w_kw: float = 1.0, depth: int = DEPTH) -> Callable:
    return lambda data, i, sims: rrf([kw_list(data, i, which)[0], sem_ids(data, sims, depth)], [w_kw, 1.0],
                                     k, depth)[:DEPTH]


def convex(which: str, alpha: float, norm: str = "tm2c2", depth: int = DEPTH, norm_depth: int = DEPTH) -> Callable:
    """alpha * normalised BM25 + (1 - alpha) * normalised cosine over the union of both lists'
    candidates; every candidate's cosine is exact, a document outside the keyword list has BM25 0.
    norm: 'tm2c2' (BM25 / its max; cosine from -1 to its max: Bruch et al. 2023), 'minmax'
    (each list's observed range), 'z' (each list's mean and deviation)."""
    def rank(data: dict, i: int, sims: np.ndarray) -> list[str]:
        ids, scores = kw_list(data, i, which)
        ids, scores = ids[:depth], np.asarray(scores[:depth], dtype=np.float64)
        idx = data.setdefault("_idx", {p: j for j, p in enumerate(data["ids"])})
        sem = top(sims, depth)
        cand = list(dict.fromkeys([*(idx[p] for p in ids), *sem.tolist()]))
        bm = np.zeros(len(cand))
        pos = {j: n for n, j in enumerate(cand)}
        for p, sc in zip(ids, scores, strict=True):
            bm[pos[idx[p]]] = sc
        cs = sims[cand].astype(np.float64)
        kw_n = normalise(bm, scores[:norm_depth], norm, "bm25")
        cs_n = normalise(cs, sims[sem[:norm_depth]], norm, "cos")
        fused = alpha * kw_n + (1 - alpha) * cs_n
        order = np.argsort(-fused, kind="stable")
        return [data["ids"][cand[j]] for j in order[:DEPTH]]
    return rank


def normalise(x: np.ndarray, listed: np.ndarray, norm: str, kind: str) -> np.ndarray:
    if not len(listed):
        return np.zeros_like(x)
    hi = float(np.max(listed))
    if norm == "tm2c2":
        lo = 0.0 if kind == "bm25" else -1.0
    elif norm == "minmax":
        lo = float(np.min(listed))
    else:
        mu, sd = float(np.mean(listed)), float(np.std(listed)) or 1.0
        return (x - mu) / sd
    return np.clip((x - lo) / ((hi - lo) or 1.0), 0.0 if kind == "bm25" else -np.inf, None)


def tiered(inner: Callable, max_words: int = 3, page: int = 30) -> Callable:
    """Short queries literal first: when a query of <= max_words words has at least `page`
    papers with every word, those come first (in `inner`'s order), the rest after."""
    def rank(data: dict, i: int, sims: np.ndarray) -> list[str]:
        ranked = inner(data, i, sims)
        lists = data["lists"][data["qids"][i]]
        if lists["terms"] > max_words or lists["and_count"] < page:
            return ranked
        every = set(lists["and"][0])
        extra = [p for p in lists["and"][0] if p not in set(ranked)]
        return ([p for p in ranked if p in every] + extra + [p for p in ranked if p not in every])[:DEPTH]
    return rank


def sweep(work: Path, names: Sequence[str], rankers: dict[str, Callable], recipes=("plain",)) -> dict:
    table: dict = {}
    for name in names:
        data = load(work, name)
        for recipe in recipes:
            for label, rank in rankers.items():
                m = score_set(data, rank, recipe)
                table.setdefault(f"{label} [{recipe}]", {})[name] = m
    return table


def margins(table: dict, names: Sequence[str], label: str, metric: str = "ndcg@10") -> list[float]:
    """hybrid - max(keyword, semantic) per set (the keyword row is the better of the two keyword lists)."""
    recipe = label[label.rindex("["):]
    out = []
    for n in names:
        best = max(table[f"keyword tiered {recipe}"][n][metric], table[f"keyword (product) {recipe}"][n][metric],
                   table[f"semantic {recipe}"][n][metric])
        out.append(table[label][n][metric] - best)
    return out


def print_table(table: dict, names: Sequence[str], metric: str = "ndcg@10") -> None:
    print(f"{'ranker':40s}" + "".join(f"{n[:7]:>8s}" for n in names) + "   worst    mean")
    for label, row in table.items():
        m = margins(table, names, label, metric)
        print(f"{label[:40]:40s}" + "".join(f"{row[n][metric]:8.3f}" for n in names)
              + f"  {min(m):+.3f}  {np.mean([row[n][metric] for n in names]):.3f}", flush=True)


def every_word_first(inner: Callable, max_words: int = 1000, min_hits: int = 1) -> Callable:
    """The papers with every word first (in `inner`'s order, then the keyword list's), then the rest."""
    return tiered(inner, max_words=max_words, page=min_hits)


def literal_first(inner: Callable, within: str = "cos", max_words: int = 3, page: int = 30,
                  depth: int = LIST_DEPTH) -> Callable:
    """Invariant (a): a query of <= max_words words that >= page papers contain entirely lists those
    papers first, ordered by `within` ('cos': meaning alone; 'inner': the inner fusion's order
    over the whole all-words list), then `inner`'s ranking of the rest."""
    def rank(data: dict, i: int, sims: np.ndarray) -> list[str]:
        lists = data["lists"][data["qids"][i]]
        if lists["terms"] > max_words or lists["and_count"] < page:
            return inner(data, i, sims)
        idx = data.setdefault("_idx", {p: j for j, p in enumerate(data["ids"])})
        every = lists["and"][0][:depth]
        if within == "cos":
            head = sorted(every, key=lambda p: -sims[idx[p]])
        else:
            ranked = inner(data, i, sims)
            head = [p for p in ranked if p in set(every)] + [p for p in every if p not in set(ranked)]
        rest = [p for p in inner(data, i, sims) if p not in set(every)]
        return (head + rest)[:DEPTH]
    return rank


STOP = frozenset("a an and are as at be by for from how in into is it of on or that the this to was what when "
                 "which with".split())


def content_words(data: dict, i: int) -> int:
    return sum(w.lower() not in STOP for w in data["queries"][i].split())


def kinds(alpha: float, alpha_relaxed: float, norm: str = "minmax", long_words: int = 4, page: int = 30,
          depth: int = DEPTH) -> Callable:
    """Literal tiers by query kind, convex fusion inside: <= 3 words and >= page papers with all of
    them: those first; >= long_words content words and any paper with all of them: those first;
    alpha when some paper has every word, alpha_relaxed when none has."""
    def rank(data: dict, i: int, sims: np.ndarray) -> list[str]:
        lists = data["lists"][data["qids"][i]]
        a = alpha if lists["and_count"] else alpha_relaxed
        inner = convex("or", a, norm, depth)
        if lists["terms"] <= 3:
            return literal_first(inner, "inner", 3, page)(data, i, sims)
        if content_words(data, i) >= long_words and lists["and_count"]:
            return literal_first(inner, "inner", 10_000, 1)(data, i, sims)
        return inner(data, i, sims)
    return rank


def shipped(data: dict, i: int, sims: np.ndarray, sem_depth: int = LIST_DEPTH, agree_rule: bool = True) -> list[str]:
    """search/hybrid.fuse itself, fed as SearchService feeds it (exact cosines, no floor)."""
    from dailypapers.search.hybrid import NORM_DEPTH, KeywordCandidate, agreement, fuse, fusion_weights
    from dailypapers.search.query import parse_query

    lists = data["lists"][data["qids"][i]]
    pq = parse_query(data["queries"][i], max_length=100_000)
    keyword = [KeywordCandidate(p, sc) for p, sc in zip(*lists["or"], strict=True)][:NORM_DEPTH]
    semantic = [(data["ids"][j], float(sims[j])) for j in top(sims, sem_depth)]
    agree = agreement([c.arxiv_id for c in keyword], [pid for pid, _ in semantic]) if agree_rule else 0
    weights = fusion_weights([*pq.terms, *pq.phrases], lists["and_count"], agree)
    every = list(lists["and"][0]) if weights.literal_first else []
    idx = data.setdefault("_idx", {p: j for j, p in enumerate(data["ids"])})
    similarity = {p: float(sims[idx[p]]) for p in [*(c.arxiv_id for c in keyword), *every]}
    return [f.arxiv_id for f in fuse(keyword, semantic, weights, similarity=similarity, every_word=every)[:DEPTH]]


def rrf_w(w_kw: float, k: int = 60) -> Callable:
    return plain_rrf("or", k, w_kw)


def default_rankers() -> dict[str, Callable]:
    """The single lists and the fusions BENCHMARKS.md compares ("search quality")."""
    return {
        "keyword (product)": keyword_only("product"), "keyword tiered": keyword_only("tiered"),
        "semantic": semantic_only,
        "adaptive RRF (shipped before)": current,
        "RRF k=60, any-word list": plain_rrf("or"),
        "RRF k=60 keyword w=0.25, every word first": every_word_first(rrf_w(0.25)),
        "convex theoretical (tm2c2) a=0.2": convex("or", 0.2, "tm2c2"),
        "convex z-score a=0.3": convex("or", 0.3, "z"),
        "convex min-max a=0.3": convex("or", 0.3, "minmax"),
        "convex min-max a=0.3, every word first": every_word_first(convex("or", 0.3, "minmax")),
        "tiers + min-max a=0.3/0.15": kinds(0.3, 0.15),
        "tiers + min-max a=0.3/0.3": kinds(0.3, 0.3),
        "tiers + stand-out + min-max a=0.3/0.15": lambda data, i, sims: shipped(data, i, sims, agree_rule=False),
        "+ agreement keeps a=0.3 (shipped)": shipped,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["cache", "list", "sweep"])
    ap.add_argument("--recipes", default="plain,title-sum")
    ap.add_argument("--work", type=Path, default=Path("/tmp/dp-lab"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    sets = [s for s in all_sets() if not args.only or s.name in args.only.split(",")]
    if args.what == "sweep":
        names = [s.name for s in sets if (args.work / f"{s.name}.pkl").exists()]
        table = sweep(args.work, names, default_rankers(), args.recipes.split(","))
        print_table(table, names)
        (args.work / "sweep.json").write_text(json.dumps(table, indent=1))
        return
    if args.what == "list":
        print(json.dumps([s.name for s in sets]))
        return
    from dailypapers.search.encoder.embeddings import load_encoder
    build_cache(args.work, sets, load_encoder(ROOT / "var" / "test-models"))


if __name__ == "__main__":
    main()
