"""bench/finetune_encoder.py: the training pairs leave out every evaluation paper; the batches are seeded.

The pair builder and the batch orders need no torch and run in the main venv. The loss and the export
of trained weights need torch and transformers (the separate fine-tuning venv, see the script's doc):
those tests are skipped without them.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"


def _load():
    spec = importlib.util.spec_from_file_location("finetune_encoder", ROOT / "bench" / "finetune_encoder.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


ft = _load()


def record(pid: str, title: str, words: int = 30, cats=("cs.CL",)) -> dict:
    return {"id": pid, "title": title, "summary": " ".join(["word"] * words), "categories": list(cats)}


def test_pairs_leave_out_excluded_ids_titles_duplicates_and_short_abstracts():
    ex = ft.Exclusions(ids={"2501.00001"}, titles={ft.norm_title("A Held-Out Paper")})
    records = [
        record("2501.00001v2", "Some title"),          # excluded id, version suffix ignored
        record("2501.00002", "a  held-out PAPER!"),    # excluded title, case and punctuation ignored
        record("2501.00003", "Kept\n  paper", cats=("cs.CV", "cs.LG")),
        record("2501.00003", "Kept paper again"),      # the same id twice
        record("2501.00004", "Kept Paper"),            # the same title under another id
        record("2501.00005", "Too short", words=5),
        record("2501.00006", "Also kept"),
    ]
    pairs, stats = ft.build_pairs(records, ex)
    assert [(p.arxiv_id, p.title, p.category) for p in pairs] == [
        ("2501.00003", "Kept paper", "cs.CV"), ("2501.00006", "Also kept", "cs.CL")]
    assert stats == {"records": 7, "excluded": 2, "duplicate": 2, "too_short": 1, "pairs": 2}


def test_real_pairs_hold_no_devset_or_demo_paper():
    """On the repository's 20,000 listings: no pair is a dev-set corpus paper or a demo paper."""
    ex = ft.eval_exclusions()
    with gzip.open(ROOT / "bench" / "devsets" / "corpus.jsonl.gz", "rt") as fh:
        devset_ids = {json.loads(line)["_id"] for line in fh if line.strip()}
    with gzip.open(ROOT / "data" / "demo" / "hf_daily_papers.jsonl.gz", "rt") as fh:
        demo_ids = {e["paper"]["id"] for line in fh for e in json.loads(line)["daily_papers"]}
    assert devset_ids <= ex.ids and demo_ids <= ex.ids
    pairs, stats = ft.build_pairs(ft._jsonl(DATA / "arxiv_cs_listings.jsonl.gz"), ex)
    listed = {ft.base_id(r["id"]) for r in ft._jsonl(DATA / "arxiv_cs_listings.jsonl.gz")}
    assert stats["excluded"] >= len(listed & (devset_ids | demo_ids)) > 0
    trained = {p.arxiv_id for p in pairs}
    assert not trained & (devset_ids | demo_ids)
    assert not {ft.norm_title(p.title) for p in pairs} & ex.titles
    assert len(pairs) > 10_000


@pytest.mark.parametrize("make", ["random", "category"])
def test_batch_orders_are_seeded_and_never_repeat_a_pair_in_a_batch(make):
    cats = [f"cs.{'ABC'[i % 3]}" for i in range(100)]
    order = (lambda seed: ft.batch_order(100, 30, 16, seed)) if make == "random" else (
        lambda seed: ft.category_order(cats, 30, 16, seed))
    first, again, other = order(7), order(7), order(8)
    assert len(first) == 30 and all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert any(not np.array_equal(a, b) for a, b in zip(first, other, strict=True))
    assert all(len(set(b.tolist())) == len(b) for b in first)
    if make == "category":
        assert all(len({cats[i] for i in b}) == 1 and len(b) == 16 for b in first)


def test_forbidden_collections_are_never_read():
    assert "cacm" in ft.FORBIDDEN and "npl" in ft.FORBIDDEN


def _torch():
    pytest.importorskip("torch", reason="torch is not installed: the fine-tuning venv has it "
                                  "(bench/finetune_encoder.py)")
    pytest.importorskip("transformers", reason="transformers is not installed: the fine-tuning venv has it")
    import torch

    return torch


def test_in_batch_loss_is_low_for_matching_pairs_and_log_batch_for_identical_ones():
    torch = _torch()
    q = torch.nn.functional.normalize(torch.eye(4, 8), dim=-1)
    assert float(ft.contrastive_loss(q, q)) < 1e-6
    same = torch.nn.functional.normalize(torch.ones(4, 8), dim=-1)
    assert float(ft.contrastive_loss(same, same, symmetric=True)) == pytest.approx(np.log(4), abs=1e-5)


def test_saved_weights_build_the_products_onnx_graph(tmp_path):
    """save_model writes the wheel's layout: the product's ONNX builder reproduces the torch model."""
    torch = _torch()
    from transformers import BertModel

    from dailypapers.search.encoder.embeddings import OnnxEncoder, load_tokenizer
    from dailypapers.search.encoder.onnx_export import ensure_model, model_dir

    base = model_dir()
    model = BertModel.from_pretrained(str(base), add_pooling_layer=False).eval()
    with torch.no_grad():
        model.encoder.layer[5].output.dense.weight.mul_(0.5)   # weights unlike the wheel's
    saved = ft.save_model(model, base, tmp_path / "model")
    texts = ["Attention is all you need", "We study retrieval of scientific papers by their abstracts."]
    with torch.no_grad():
        ref = ft._embed(model, load_tokenizer(base), texts, torch.device("cpu")).numpy()
    enc = OnnxEncoder(ensure_model(tmp_path / "onnx", "fp32", saved), saved, "fp32", threads=1)
    assert np.sum(enc.encode(texts) * ref, axis=1).min() > 0.9999
    base_enc = OnnxEncoder(ensure_model(tmp_path / "onnx", "fp32", base), base, "fp32", threads=1)
    assert np.sum(base_enc.encode(texts) * ref, axis=1).min() < 0.9999   # the change is visible
