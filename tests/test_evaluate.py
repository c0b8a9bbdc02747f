"""The quality harness: BEIR parsing, the metrics on a hand-computed example, and full runs
(keyword without a model; every mode with the real encoder), deterministic."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import pytest

from dailypapers.errors import ParseError
from dailypapers.search import evaluate
from dailypapers.search.evaluate import mrr_at, ndcg_at, recall_at, score_rankings

ROOT = Path(__file__).resolve().parents[1]


def test_metrics_hand_computed():
    rels = {"d1": 2.0, "d2": 1.0, "d5": 1.0, "d9": 0.0}
    ranking = ["d3", "d1", "d4", "d2", "d9"]
    # DCG = 2/log2(3) + 1/log2(5); ideal = 2/log2(2) + 1/log2(3) + 1/log2(4)
    dcg = 2 / math.log2(3) + 1 / math.log2(5)
    idcg = 2 / 1 + 1 / math.log2(3) + 1 / 2
    assert ndcg_at(ranking, rels, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(ranking, rels, 1) == 0.0
    assert mrr_at(ranking, rels, 10) == pytest.approx(1 / 2)
    assert mrr_at(["d9", "d3"], rels, 10) == 0.0  # a zero judgement is not relevant
    assert recall_at(ranking, rels, 100) == pytest.approx(2 / 3)
    assert recall_at(ranking, rels, 1) == 0.0
    assert ndcg_at(["d1", "d2", "d5"], rels) == pytest.approx(1.0)
    assert ndcg_at([], rels) == 0.0


def test_score_rankings_skips_unjudged_queries():
    qrels = {"q1": {"a": 1}, "q2": {"b": 1, "c": 1}, "q3": {"x": 0}}
    rankings = {"q1": ["a"], "q2": ["c", "z"], "q3": ["x"], "q4": ["a"]}
    m = score_rankings(rankings, qrels)
    assert m["queries"] == 2
    assert m["mrr@10"] == pytest.approx((1 + 1) / 2)
    assert m["recall@100"] == pytest.approx((1 + 0.5) / 2)
    idcg2 = 1 + 1 / math.log2(3)
    assert m["ndcg@10"] == pytest.approx((1 + 1 / idcg2) / 2)


def write_set(folder: Path, docs, queries, qrels, gz: bool = False) -> tuple[Path, Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    corpus = folder / ("corpus.jsonl.gz" if gz else "corpus.jsonl")
    opener = gzip.open if gz else open
    with opener(corpus, "wt") as fh:
        for d in docs:
            fh.write(json.dumps(d) + "\n")
    qpath = folder / "queries.jsonl"
    qpath.write_text("".join(json.dumps(q) + "\n" for q in queries))
    rpath = folder / "qrels.tsv"
    rpath.write_text("query-id\tcorpus-id\tscore\n" + "".join(f"{a}\t{b}\t{c}\n" for a, b, c in qrels))
    return corpus, qpath, rpath


DOCS = [
    {"_id": "doc-energy", "title": "Addition is all you need for energy-efficient language models",
     "text": "We replace floating point multiplications with integer additions, cutting the energy cost "
             "of large language model inference."},
    {"_id": "doc-segment", "title": "Segment anything in medical images",
     "text": "A promptable segmentation model adapted to CT and MRI scans."},
    {"_id": "doc-robot", "title": "Learning dexterous manipulation from human videos",
     "text": "Robots learn to grasp and manipulate objects by watching people."},
    {"_id": "doc-speech", "title": "Streaming speech recognition with transducers",
     "text": "Low-latency automatic speech recognition on device."},
    {"_id": "doc-graph", "title": "Graph neural networks for molecules",
     "text": "Message passing networks predict molecular properties."},
]
QUERIES = [
    {"_id": "q1", "text": "making language models use less energy"},
    {"_id": "q2", "text": "segmentation of CT scans"},
    {"_id": "q3", "text": "robots that learn by watching people"},
    {"_id": "q4", "text": "?!"},  # rejected by the parser: counted with an empty ranking
    {"_id": "q5", "text": "unjudged query"},
]
QRELS = [("q1", "doc-energy", 1), ("q2", "doc-segment", 2), ("q3", "doc-robot", 1), ("q4", "doc-graph", 1)]


def test_read_beir_files(tmp_path):
    corpus, queries, qrels = write_set(tmp_path, DOCS, QUERIES, QRELS, gz=True)
    papers = evaluate.read_corpus(corpus)
    assert [p.arxiv_id for p in papers] == [d["_id"] for d in DOCS]
    assert papers[0].abstract.startswith("We replace")
    assert evaluate.read_queries(queries)["q2"] == "segmentation of CT scans"
    assert evaluate.read_qrels(qrels)["q2"] == {"doc-segment": 2.0}
    bad = tmp_path / "bad.tsv"
    bad.write_text("query-id\tcorpus-id\tscore\nq1\tdoc\n")
    with pytest.raises(ParseError, match="BEIR"):
        evaluate.read_qrels(bad)
    bad.write_text("q1\tdoc\thigh\n")
    with pytest.raises(ParseError, match="not a number"):
        evaluate.read_qrels(bad)


def test_qrels_without_a_header_or_in_trec_form_read_the_same(tmp_path):
    beir = tmp_path / "beir.tsv"
    beir.write_text("q1\tdoc a\t1\nq1\tdoc-b\t0\nq2\tdoc-c\t2\n")
    trec = tmp_path / "qrels.trec"
    trec.write_text("q1 0 doc-a 1\nq1 0 doc-b 0\n\nq2 0 doc-c 2\n")
    assert evaluate.read_qrels(beir) == {"q1": {"doc a": 1.0, "doc-b": 0.0}, "q2": {"doc-c": 2.0}}
    assert evaluate.read_qrels(trec) == {"q1": {"doc-a": 1.0, "doc-b": 0.0}, "q2": {"doc-c": 2.0}}
    dup = tmp_path / "dup.jsonl"
    dup.write_text(json.dumps(DOCS[0]) + "\n" + json.dumps(DOCS[0]) + "\n")
    with pytest.raises(ParseError):
        evaluate.read_corpus(dup)


def test_keyword_run_needs_no_model_and_is_deterministic(tmp_path):
    files = write_set(tmp_path / "set", DOCS, QUERIES, QRELS)
    a = evaluate.run(*files, ["keyword"], tmp_path / "work")
    b = evaluate.run(*files, ["keyword"])  # in a temporary directory
    assert a == b
    m = a["keyword"]
    assert m["queries"] == 4
    # q2 finds its paper by words ("segmentation", "CT" match); q4 is rejected: empty ranking
    rows = evaluate.table_rows(a)
    assert rows[0] == ["mode", "nDCG@10", "MRR@10", "Recall@100", "queries"] and rows[1][0] == "keyword"
    with pytest.raises(ValueError):
        evaluate.run(*files, ["bogus"])


def test_semantic_modes_fall_back_with_a_notice_when_the_model_cannot_load(tmp_path):
    embeddings = pytest.importorskip("dailypapers.search.encoder.embeddings")
    files = write_set(tmp_path / "set", DOCS, QUERIES, QRELS)

    def loader():
        raise embeddings.ModelUnavailable("no model here")

    table = evaluate.run(*files, ["keyword", "hybrid"], tmp_path / "work", encoder_loader=loader)
    assert "no model here" in table["hybrid"]["notice"]
    assert {k: v for k, v in table["hybrid"].items() if k != "notice"} == table["keyword"]


def test_all_modes_with_the_real_encoder(tmp_path):
    embeddings = pytest.importorskip("dailypapers.search.encoder.embeddings")
    import os

    cache = Path(os.environ.get("DAILYPAPERS_TEST_MODEL_CACHE", ROOT / "var" / "test-models"))
    files = write_set(tmp_path / "set", DOCS, QUERIES, QRELS)

    def loader():
        return embeddings.load_encoder(cache)

    a = evaluate.run(*files, ["keyword", "semantic", "hybrid"], tmp_path / "work", encoder_loader=loader)
    b = evaluate.run(*files, ["keyword", "semantic", "hybrid"], tmp_path / "work", encoder_loader=loader)
    assert a == b
    assert all("notice" not in a[m] for m in a)
    # the paraphrased queries are found by meaning: semantic puts each judged paper first
    assert a["semantic"]["mrr@10"] == pytest.approx(3 / 4)  # q4 was rejected
    assert a["hybrid"]["recall@100"] >= a["keyword"]["recall@100"]


def test_mode_lines_are_one_parseable_line_per_mode():
    table = {"keyword": {"ndcg@10": 0.41, "mrr@10": 0.5, "recall@100": 1.0, "queries": 35},
             "hybrid": {"ndcg@10": 0.5, "mrr@10": 0.6, "recall@100": 1.0, "queries": 35, "notice": "no model"}}
    lines = evaluate.mode_lines(table)
    assert lines[0] == "keyword ndcg@10=0.4100 mrr@10=0.5000 recall@100=1.0000 queries=35"
    assert lines[1].startswith("hybrid ndcg@10=0.5000 ") and lines[1].endswith(" fallback=keyword")
    parsed = {line.split()[0]: dict(f.split("=") for f in line.split()[1:]) for line in lines}
    assert float(parsed["keyword"]["ndcg@10"]) == 0.41 and parsed["hybrid"]["queries"] == "35"


def test_eval_command_prints_lines_or_json(tmp_path):
    import os
    import subprocess
    import sys

    adi = ROOT / "bench" / "collections" / "adi"
    args = [sys.executable, "-m", "dailypapers", "eval", "--corpus", str(adi / "corpus.jsonl"),
            "--queries", str(adi / "queries.jsonl"), "--qrels", str(adi / "qrels" / "test.tsv"), "--mode", "keyword"]
    env = dict(os.environ, DAILYPAPERS_DATA_DIR=str(tmp_path / "data"))
    lines = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("keyword ndcg@10=") and "queries=35" in lines[0]
    out = subprocess.run([*args, "--json"], env=env, capture_output=True, text=True, timeout=300, check=True).stdout
    data = json.loads(out)
    assert data["modes"]["keyword"]["queries"] == 35
    assert f"ndcg@10={data['modes']['keyword']['ndcg@10']:.4f}" in lines[0]
