"""Calibrating the similarity floors of search/floor.py: the cosine below which a paper found only
by meaning is not a result (SIMILARITY_FLOOR), and the stricter one for a query none of whose
words the keyword index knows (UNKNOWN_WORDS_FLOOR).

    .venv/bin/python bench/calibrate_floor.py [--vectors data/demo/vectors-…npz] [--model-cache DIR]
                                              [--devsets CACHE_DIR]

Embeds three kinds of query with the run-time (int8 ONNX) encoder and scores them against the
demo's 9,877 stored paper vectors (the recipe the live index uses):

- nonsense: keyboard mash and made-up words (`zxqvbnm flurbogastic`), hand-written and
  generated from a fixed seed;
- off-topic: real words about things no paper of an AI/CS hub is about (`banana bread recipe`);
- topical: short topical queries (one to four words, hand-written), and the natural-language
  topic, paraphrase and category queries of bench/devsets.

Prints, per kind, the distribution of each query's best similarity (top-1) and of its 10th
best, then for a range of floors how many queries of each kind keep at least one (and ten)
hits. With --devsets it also embeds the dev sets' corpus (cached in CACHE_DIR; minutes on two
cores) and prints semantic nDCG@10 / Recall@100 under each rule of RULES (a minimum for the
best hit, a minimum for every hit), i.e. what a floor costs on judged queries. The chosen
values and the figures behind them are in search/floor.py's docstring.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dailypapers.search import evaluate as E  # noqa: E402
from dailypapers.search.encoder.embeddings import load_encoder  # noqa: E402

DEVSETS = ROOT / "bench" / "devsets"
VECTORS = ROOT / "data" / "demo" / "vectors-all-MiniLM-L6-v2+title.npz"

NONSENSE = [
    "zxqvbnm flurbogastic", "zxqvbnm", "flurbogastic", "asdfghjkl", "qwertyuiop zxcv", "blorptang wizzle",
    "snorfle grimbuttock", "xkcdqz", "glorp frandible mox", "vvvvvv", "jjjjjj kkkk", "qqq www eee",
    "plinketh vorundle", "mumblecrust yarb", "wugglepox", "fnord", "zzyzx quonk", "trellibash ompf",
    "krumblefitz dorvish", "aaaaaaa bbbbbbb",
]
OFF_TOPIC = [
    "banana bread recipe", "premier league transfer rumours", "cheap flights to lisbon", "how to knit a scarf",
    "growing tomatoes in pots", "taylor swift concert tickets", "best pizza in naples", "wedding dress shopping",
    "dog grooming tips", "medieval castle tours", "how to fix a leaking tap", "yoga for beginners",
]
TOPICAL = [
    "energy", "video generation", "benchmark", "diffusion", "mixture of experts", "speculative decoding",
    "protein folding", "quantum", "reinforcement learning", "retrieval augmented generation", "robotics",
    "image segmentation", "speech recognition", "code generation", "math reasoning", "hallucination",
    "agents", "long context", "tokenizer", "quantization", "knowledge distillation", "3d gaussian splatting",
    "text to image", "vision language model", "chain of thought", "reward model", "music generation",
    "medical imaging", "autonomous driving", "graph neural networks", "federated learning",
    "jailbreak attacks", "world models", "embodied ai", "weather forecasting", "time series",
    "recommendation", "machine translation", "scaling laws", "sparse attention",
]


def generated_nonsense(n: int, seed: int = 13) -> list[str]:
    """Pronounceable made-up words, one to three per query (a fixed seed: the same every run)."""
    rng = random.Random(seed)
    cons, vows = "bcdfghjklmnpqrstvwxz", "aeiouy"

    def word() -> str:
        return "".join(rng.choice(cons) + rng.choice(vows) for _ in range(rng.randint(2, 5)))

    return [" ".join(word() for _ in range(rng.randint(1, 3))) for _ in range(n)]


def devset_queries() -> list[str]:
    out = []
    for name in ("topics", "paraphrase", "categories"):
        with open(DEVSETS / name / "queries.jsonl", encoding="utf-8") as fh:
            out += [json.loads(line)["text"] for line in fh if line.strip()]
    return out


def profile(sims: np.ndarray) -> dict:
    top = -np.sort(-sims, axis=1)
    q = lambda a, p: round(float(np.percentile(a, p)), 3)  # noqa: E731
    return {"n": len(sims), "top1": {p: q(top[:, 0], p) for p in (0, 5, 50, 95, 100)},
            "top10": {p: q(top[:, 9], p) for p in (0, 5, 50, 95, 100)}}


RULES = [(0.0, 0.0), (0.0, 0.20), (0.0, 0.22), (0.0, 0.24), (0.0, 0.26), (0.0, 0.28), (0.0, 0.30), (0.0, 0.35),
         (0.40, 0.0), (0.44, 0.0)]  # (the best hit's minimum, every hit's minimum)


def devset_cut(encoder, cache: Path) -> None:
    """What each floor costs on bench/devsets (their own corpus, embedded here and cached in
    `cache`): semantic nDCG@10 and Recall@100 with the hits below the floor dropped."""
    papers = E.read_corpus(DEVSETS / "corpus.jsonl.gz")
    matrix = E.embed_corpus(papers, encoder, cache)
    ids = [p.arxiv_id for p in papers]
    for name in ("sentence", "paraphrase", "topics", "categories"):
        queries = E.read_queries(DEVSETS / name / "queries.jsonl")
        qrels = E.read_qrels(DEVSETS / name / "qrels.tsv")
        sims = np.asarray(encoder.encode(list(queries.values())), dtype=np.float32) @ matrix.T
        order = np.argsort(-sims, axis=1)[:, :100]
        row = {"set": name}
        for gate, floor in RULES:
            rankings = {qid: [ids[j] for j in order[i] if sims[i, j] >= floor] if sims[i, order[i, 0]] >= gate else []
                        for i, qid in enumerate(queries)}
            scores = E.score_rankings(rankings, qrels)
            gated = sum(1 for r in rankings.values() if not r) / len(rankings)
            row[f"gate {gate} floor {floor}"] = {"ndcg@10": round(scores["ndcg@10"], 3),
                                                 "recall@100": round(scores["recall@100"], 3),
                                                 "empty": round(gated, 3)}
        print(json.dumps(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--vectors", type=Path, default=VECTORS)
    ap.add_argument("--model-cache", type=Path, default=ROOT / "var" / "models")
    ap.add_argument("--devsets", type=Path, default=None,
                    help="also measure each floor's cost on bench/devsets, caching vectors in this folder")
    args = ap.parse_args()
    stored = np.load(args.vectors, allow_pickle=False)
    matrix = stored["vectors"].astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    encoder = load_encoder(args.model_cache)
    kinds = {"nonsense": NONSENSE + generated_nonsense(60), "off-topic": OFF_TOPIC,
             "topical-short": TOPICAL, "topical-devsets": devset_queries()}
    sims = {kind: np.asarray(encoder.encode(qs), dtype=np.float32) @ matrix.T for kind, qs in kinds.items()}
    for kind, s in sims.items():
        print(json.dumps({"kind": kind, **profile(s)}))
        worst = np.argsort(-s.max(axis=1))[:3]
        highest = [(kinds[kind][i], round(float(s[i].max()), 3)) for i in worst]
        print(json.dumps({"kind": kind, "highest top1": highest}))
    for floor in np.arange(0.20, 0.46, 0.02):
        row = {"floor": round(float(floor), 2)}
        for kind, s in sims.items():
            kept = (s >= floor).sum(axis=1)
            row[kind] = {"any": round(float((kept >= 1).mean()), 3), "10+": round(float((kept >= 10).mean()), 3)}
        print(json.dumps(row))
    if args.devsets:
        devset_cut(encoder, args.devsets)


if __name__ == "__main__":
    main()
