"""How much a paper's title should weigh in its vector: nDCG@10 of exact semantic search on the
dev sets (bench/devsets) for each title weight, and for a title-match bonus that needs a second
vector per paper (score = cos(q, text) + b * max(0, cos(q, title) - tau)).

    .venv/bin/python bench/title_weight_sweep.py [--weights 0,0.5,0.75,1] [--cache DIR]

Encodings are cached in --cache (evaluate.embed_corpus's format), so a rerun encodes nothing.
Prints one JSON line per scheme. The figures are in BENCHMARKS.md ("Search quality").
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dailypapers.search import evaluate as E  # noqa: E402
from dailypapers.search.encoder.embeddings import load_encoder, paper_text  # noqa: E402

DEVSETS = ROOT / "bench" / "devsets"
SETS = ("sentence", "paraphrase", "topics", "categories")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", default="0,0.25,0.5,0.75,1")
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "dp-title-sweep")
    ap.add_argument("--model-cache", type=Path, default=ROOT / "var" / "models")
    args = ap.parse_args()
    papers = E.read_corpus(DEVSETS / "corpus.jsonl.gz")
    encoder = E._CachingEncoder(load_encoder(args.model_cache), args.cache, None)
    texts = encoder.encode([paper_text(p) for p in papers])
    titles = encoder.encode([" ".join((p.title or "").split()) for p in papers])
    encoder.save()
    ids = [p.arxiv_id for p in papers]
    sets = {}
    for name in SETS:
        queries = E.read_queries(DEVSETS / name / "queries.jsonl")
        vecs = encoder.encode(list(queries.values()))
        sets[name] = (dict(zip(queries, vecs, strict=True)), E.read_qrels(DEVSETS / name / "qrels.tsv"))
    encoder.save()

    def ndcg(score) -> dict[str, float]:
        out = {}
        for name, (qv, qrels) in sets.items():
            rankings = {qid: [ids[i] for i in np.argsort(-score(v))[:100]] for qid, v in qv.items()}
            out[name] = round(E.score_rankings(rankings, qrels)["ndcg@10"], 3)
        return out

    for w in (float(x) for x in args.weights.split(",")):
        m = texts + w * titles
        m /= np.linalg.norm(m, axis=1, keepdims=True)
        print(json.dumps({"title_weight": w, "ndcg@10": ndcg(lambda q, m=m: m @ q)}), flush=True)
    for tau, b in ((0.6, 1.0), (0.6, 2.0)):
        bonus = ndcg(lambda q, b=b, tau=tau: texts @ q + b * np.maximum(0, titles @ q - tau))
        print(json.dumps({"title_bonus": {"tau": tau, "b": b}, "ndcg@10": bonus}), flush=True)


if __name__ == "__main__":
    main()
