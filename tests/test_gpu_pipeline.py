"""The GPU embedding pipeline (`dailypapers embed --device cuda`).

Most of it runs on the CPU and is tested here everywhere: tokenising in worker processes into
length-sorted padded batches, feeding them to a forward function while later chunks are being
tokenised, and assembling the vectors in input order. The torch model is checked in float32 on the
CPU against the sentence-transformers reference when torch is installed. The float16 CUDA run
needs a GPU and is skipped, with the reason, where there is none.
"""

from __future__ import annotations

import gzip
import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from support.paths import LISTINGS

from dailypapers.search.encoder import gpu
from dailypapers.search.encoder.embeddings import ModelUnavailable, load_encoder, load_tokenizer, paper_text
from dailypapers.search.encoder.onnx_export import model_dir


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Nothing here may reach a model hub; scoped to each test so it cannot leak into others."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "minilm_reference.npz"
NO_TORCH = gpu.torch_status()
NO_CUDA = gpu.cuda_status()
OVERLAP_WAIT_S = 120  # only a bound against a hang: the wait ends as soon as the chunks are ready


def _cache_dir() -> Path:
    return Path(os.environ.get("DAILYPAPERS_TEST_MODEL_CACHE", ROOT / "var" / "test-models"))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    from dailypapers.models import Record
    from dailypapers.sources import listings

    with gzip.open(LISTINGS, "rb") as fh:
        lines = b"".join(itertools.islice(fh, 2000, 2150))
    out = [paper_text(r.paper) for r in listings.parse(lines, "listings") if isinstance(r, Record)]
    return out + ["", "short", "量子计算", "x" * 30_000]


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


@pytest.fixture(scope="module")
def batcher():
    with gpu.ParallelBatcher(model_dir(), workers=2, batch_size=16, chunk_size=40, prefetch=3) as b:
        yield b


def test_tokenize_chunk_sorts_pads_and_keeps_positions(texts):
    tok = load_tokenizer(model_dir())
    batches = gpu.tokenize_chunk(100, texts, batch_size=16, tokenizer=tok)
    index = np.concatenate([b.index for b in batches])
    assert sorted(index.tolist()) == list(range(100, 100 + len(texts)))
    lengths = np.concatenate([b.lengths for b in batches])
    assert (np.diff(lengths) <= 0).all()                       # longest first
    assert lengths.max() == 256 and lengths.min() == 2         # truncated; [CLS] [SEP] for ""
    for b in batches:
        assert b.ids.dtype == np.int32 and b.ids.shape[1] % gpu.PAD_MULTIPLE == 0
        assert b.ids.shape[1] - b.lengths.max() < gpu.PAD_MULTIPLE
        for row, i in enumerate(b.index):
            want = tok.encode(texts[i - 100]).ids
            assert b.ids[row, :b.lengths[row]].tolist() == want and not b.ids[row, b.lengths[row]:].any()
        assert (b.mask().sum(1) == b.lengths).all()


def test_worker_processes_give_the_same_batches(texts, batcher):
    tok = load_tokenizer(model_dir())
    seen = {}
    for b in batcher.batches(texts):
        for row, i in enumerate(b.index):
            assert i not in seen
            seen[i] = b.ids[row, :b.lengths[row]].tolist()
    assert sorted(seen) == list(range(len(texts)))
    assert all(seen[i] == e.ids for i, e in enumerate(tok.encode_batch(texts)))


@pytest.mark.slow
def test_pipeline_with_the_onnx_forward_equals_the_cpu_encoder(texts, batcher):
    fp32 = load_encoder(_cache_dir(), "fp32")

    def forward(batch):
        return fp32.forward(batch.ids.astype(np.int64), batch.mask())

    some = texts[:50] + texts[-4:]  # two chunks, with the odd inputs
    got = gpu.run_pipeline(some, forward, batcher)
    want = fp32.encode(some)
    assert got.shape == (len(some), 384)
    assert ((got * want).sum(1) > 0.9999).all()


def test_tokenising_overlaps_with_the_forward_pass(texts):
    """While the forward pass works on the first chunk, the workers tokenise the next ones: the
    forward function holds the first chunk's batch until chunks 1-3 are tokenised (prefetch=3;
    chunk 3 is submitted once chunk 0 came back). A pipeline that tokenised a chunk only after the
    forward pass of the one before would leave them waiting, and the test fails."""
    chunk = 40
    ready = {start: threading.Event() for start in range(0, len(texts), chunk)}
    later = sorted(ready)[1:4]
    assert len(later) == 3
    held = []

    def forward(batch):
        if not held:  # the first batch, one of chunk 0's
            deadline = time.monotonic() + OVERLAP_WAIT_S
            held.append([s for s in later if ready[s].wait(max(0.0, deadline - time.monotonic()))])
        return np.ones((len(batch.index), 384), np.float32)

    with gpu.ParallelBatcher(model_dir(), workers=2, batch_size=16, chunk_size=chunk, prefetch=3,
                             on_tokenised=lambda start: ready[start].set()) as batcher:
        out = gpu.run_pipeline(texts, forward, batcher)
    assert out.shape == (len(texts), 384)
    assert held == [later], "the next chunks were not tokenised while chunk 0 was in the forward pass"


def test_importing_without_torch_works_and_cuda_says_why(tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "from pathlib import Path\n"
            "from dailypapers.search.encoder import embeddings, gpu\n"
            "print(gpu.torch_status())\n"
            "try:\n"
            "    embeddings.load_encoder(Path(sys.argv[1]), device='cuda')\n"
            "except embeddings.ModelUnavailable as exc:\n"
            "    print('unavailable:', exc)\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "torch is not installed" in out.stdout and "unavailable: --device cuda is not available" in out.stdout


@pytest.mark.skipif(NO_TORCH is not None, reason=f"the torch model cannot be checked: {NO_TORCH}")
def test_torch_model_matches_sentence_transformers_on_the_cpu(reference, batcher):
    enc = gpu.TorchEncoder("cpu", half=False, workers=1, batch_size=8)
    try:
        texts = reference["texts"].tolist()[-12:]  # the energy paper, the query, odd inputs, abstracts
        vecs = enc.encode(texts)
    finally:
        enc.close()
    cos = (vecs * reference["vectors"][-12:]).sum(1)
    assert cos.min() >= 0.9999, cos


@pytest.mark.skipif(NO_CUDA is not None, reason=f"no GPU here: {NO_CUDA}")
def test_cuda_float16_pipeline(reference, texts):  # pragma: no cover - runs on a GPU machine
    enc = load_encoder(_cache_dir(), device="cuda")
    try:
        assert enc.name == "all-MiniLM-L6-v2/torch-fp16" and enc.model_id == "all-MiniLM-L6-v2"
        vecs = enc.encode(reference["texts"].tolist())
        cos = (vecs * reference["vectors"]).sum(1)
        assert cos.min() >= 0.999, cos.min()
        many = texts * 200
        start = time.perf_counter()
        out = enc.encode(many)
        rate = len(many) / (time.perf_counter() - start)
        assert out.shape == (len(many), 384)
        print(f"cuda pipeline: {rate:,.0f} texts/s")
    finally:
        enc.close()


def test_load_cuda_encoder_without_a_gpu_is_model_unavailable():
    if NO_CUDA is None:
        pytest.skip("this machine has a GPU: test_cuda_float16_pipeline runs instead")
    with pytest.raises(ModelUnavailable, match="not available here"):
        gpu.load_cuda_encoder()
