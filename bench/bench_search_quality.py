"""Search quality on every evaluation set in bench/, every mode; writes BENCHMARKS.md "search quality".

    python bench/bench_search_quality.py [--sets cran,paraphrase] [--workdir DIR] [--json OUT] [--write]

Each set runs through `dailypapers.search.evaluate.run` (a fresh store, keyword index and vector
index per set, SearchService answering every query: what users get), in keyword, semantic and
hybrid modes, and reports nDCG@10 / MRR@10 / Recall@100 and hybrid - max(keyword, semantic).
The sets: bench/devsets (the project's own, over 3,918 arXiv cs papers) and bench/collections
(public test collections with human judgements). Document vectors are cached in the work
directory by text, so a rerun encodes nothing (the first run embeds about 8,000 abstracts: some
ten minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from fusion_lab import SetFiles, all_sets  # noqa: E402

MODES = ("keyword", "semantic", "hybrid")


def run_set(s: SetFiles, workdir: Path, loader) -> dict:
    from dailypapers.search import evaluate

    t0 = time.time()
    table = evaluate.run(s.corpus, s.queries, s.qrels, MODES, workdir, encoder_loader=loader)
    table["seconds"] = round(time.time() - t0, 1)
    return table


def margin(row: dict) -> float:
    return row["hybrid"]["ndcg@10"] - max(row["keyword"]["ndcg@10"], row["semantic"]["ndcg@10"])


def cell(m: dict, best: bool) -> str:
    text = f"{m['ndcg@10']:.3f} / {m['mrr@10']:.3f} / {m['recall@100']:.3f}"
    return f"**{text}**" if best else text


def markdown(results: dict, sources: dict[str, str]) -> str:
    lines = ["| set (queries) | source | keyword | semantic | hybrid | hybrid - best |",
             "|---|---|---|---|---|---:|"]
    for name, row in results.items():
        best = max(row[m]["ndcg@10"] for m in MODES)
        cells = " | ".join(cell(row[m], row[m]["ndcg@10"] == best) for m in MODES)
        lines.append(f"| {name} ({row['keyword']['queries']}) | {sources[name]} | {cells} | {margin(row):+.3f} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="", help="comma-separated set names (default: all)")
    ap.add_argument("--workdir", type=Path, default=ROOT / "var" / "bench" / "quality")
    ap.add_argument("--model-cache", type=Path, default=ROOT / "var" / "models")
    ap.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    ap.add_argument("--write", action="store_true", help="write the section into BENCHMARKS.md")
    args = ap.parse_args()
    from dailypapers.search.encoder.embeddings import load_encoder

    encoder = load_encoder(args.model_cache)
    sets = [s for s in all_sets() if not args.sets or s.name in args.sets.split(",")]
    results, sources = {}, {}
    for s in sets:
        results[s.name] = run_set(s, args.workdir, lambda: encoder)
        sources[s.name] = "public" if "collections" in str(s.corpus) else "dev set"
        print(s.name, json.dumps(results[s.name]), flush=True)
    body = markdown(results, sources)
    print(body)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.write:
        from report import write_section

        command = "python bench/bench_search_quality.py --write" + (f" --sets {args.sets}" if args.sets else "")
        write_section("search-quality", "## Search quality\n\n" + body, command)


if __name__ == "__main__":
    main()
