"""`dailypapers embed`: keep every paper's vector current, resumably; ship vectors as a file.

`embed_missing` embeds the papers that have no vector of the encoder's model (new papers, or all
of them after a model change) and those whose title or abstract changed since they were embedded
(their content hash differs). Each batch is committed on its own, so a run that is killed loses at
most one batch, and the next run carries on with what is still missing.

Finding changed papers needs the text's hash, which SQL cannot compute: the first run (per model)
checks every stored vector; at its end it records the store's change sequence in a checkpoint
(`embed:<model>`), and later runs check only the papers changed since then.

`export_vectors` / `import_vectors` move vectors between databases (the demo ships its vectors
precomputed): a compressed .npz with the ids, sha1 content hashes, float16 vectors and the model
id and dimension. Import checks the model and dimension, and skips rows whose paper is unknown or
whose text changed since the vector was made.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dailypapers.errors import DailyPapersError
from dailypapers.search.encoder.embeddings import document_vectors
from dailypapers.store import vectors as V

FORMAT = "dailypapers-vectors/1"
CHANGES_PAGE = 10_000


class VectorFileError(DailyPapersError):
    """A vectors file that is unreadable, of another model or dimension, or malformed."""


@dataclass
class EmbedReport:
    model_id: str
    encoder: str
    embedded: int = 0          # vectors written by this run
    stale: int = 0             # of which for papers whose text had changed
    batches: int = 0
    seconds: float = 0.0
    total: int = 0             # vectors of this model in the store afterwards
    complete: bool = False     # False when stopped early by `limit`

    @property
    def rate(self) -> float:
        return self.embedded / self.seconds if self.seconds > 0 else 0.0


def checkpoint_name(model_id: str) -> str:
    return f"embed:{model_id}"


def count_pending(store, model_id: str, dim: int | None = None) -> int:
    """Papers without a vector of this model: what a run will at least embed (changed ones add)."""
    return V.count_missing(store, model_id, dim=dim)


def embed_missing(store, encoder, batch_size: int = 256,
                  progress: Callable[[int, int], None] | None = None, *,
                  encode_batch_size: int | None = None, limit: int | None = None) -> EmbedReport:
    """Embed what is missing or stale for `encoder.model_id`; commit every `batch_size` papers.

    `progress(done, total)` is called after each committed batch (`total` grows when changed
    papers are found). `limit` stops after about that many papers (for a worker's time slice).
    `encode_batch_size`: texts per forward pass; None leaves it to the encoder (64 on the CPU,
    512 on a GPU). With `--device cuda`, pass a large `batch_size` (e.g. 50,000) so that each
    commit gives the GPU pipeline enough texts to keep its workers and the GPU busy.
    """
    model_id, dim = encoder.model_id, encoder.dim
    report = EmbedReport(model_id=model_id, encoder=getattr(encoder, "name", model_id))
    started = time.monotonic()
    seq_now = store.max_seq()
    state = store.load_checkpoint(checkpoint_name(model_id)) or {}
    total = V.count_missing(store, model_id, dim=dim)
    batch_size = max(1, int(batch_size))

    scheduled = 0  # papers handed to the writer (committed or about to be)
    writer = ThreadPoolExecutor(1, thread_name_prefix="embed-writer")
    in_flight: Future | None = None

    def budget() -> int:
        return batch_size if limit is None else max(0, min(batch_size, limit - scheduled))

    def committed(n: int, stale: bool) -> None:
        report.embedded += n
        report.stale += n if stale else 0
        report.batches += 1
        if progress:
            progress(report.embedded, max(total, report.embedded))

    def wait_for_writer() -> None:
        nonlocal in_flight
        if in_flight is not None:
            done, in_flight = in_flight, None
            done.result()  # re-raises a failed commit

    def save(rows, stale: bool) -> None:
        V.save_vectors(store, model_id, rows)
        committed(len(rows), stale)

    def run(items: Sequence[V.Pending], stale: bool) -> None:
        # The next batch is encoded while the writer thread commits the previous one; at most one
        # commit is in flight, so a killed run loses at most the batches not yet committed.
        nonlocal total, scheduled, in_flight
        if stale:
            total += len(items)
        for start in range(0, len(items), batch_size):
            part = items[start:start + batch_size]
            vecs = document_vectors(encoder, [p.text for p in part], [p.title for p in part],
                                    batch_size=encode_batch_size)
            rows = [(p.paper_id, V.content_hash(p.text), vec) for p, vec in zip(part, vecs, strict=True)]
            wait_for_writer()
            in_flight = writer.submit(save, rows, stale)
            scheduled += len(part)

    def phases() -> bool:
        """Run both phases; True when stopped early by `limit`."""
        # 1. Papers whose text changed since their vector was made.
        if state.get("seq") is not None and state.get("dim") == dim:
            seq = int(state["seq"])
            while seq < seq_now:
                changes = [(s, pid) for s, pid in store.changes_since(seq, limit=CHANGES_PAGE) if s <= seq_now]
                if not changes:
                    break
                items = V.pending_among(store, model_id, [pid for _, pid in changes], dim=dim, stale_only=True)
                if limit is not None:
                    items = items[:max(0, limit - scheduled)]
                run(items, stale=True)
                seq = changes[-1][0]
                if limit is not None and scheduled >= limit:
                    return True
        else:
            cursor = None
            while True:
                n = budget()
                if n == 0:
                    return True
                items = V.stale(store, model_id, n, dim=dim, after=cursor)
                if items:
                    run(items, stale=True)
                    cursor = items[-1][0]
                if len(items) < n:
                    break
        # 2. Papers with no vector of this model (the cursor skips rows still being committed).
        cursor = None
        while True:
            n = budget()
            if n == 0:
                return True
            items = V.missing(store, model_id, n, dim=dim, after=cursor)
            if not items:
                return False
            run(items, stale=False)
            cursor = items[-1][0]

    try:
        stopped = phases()
        wait_for_writer()
    finally:
        writer.shutdown(wait=True)
    report.complete = not stopped
    if report.complete:
        store.save_checkpoint(checkpoint_name(model_id), {
            "seq": seq_now, "dim": dim, "encoder": report.encoder,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})
    report.seconds = time.monotonic() - started
    report.total = V.vector_count(store, model_id)
    return report


# -- shipping vectors ------------------------------------------------------------------------


@dataclass
class ExportReport:
    path: Path
    model_id: str
    dim: int
    count: int
    bytes: int


@dataclass
class ImportReport:
    model_id: str
    dim: int
    in_file: int = 0
    imported: int = 0
    already_current: int = 0   # the store already had this vector's model and text
    stale: int = 0             # the paper's text changed since the vector was made
    unknown: int = 0           # no such paper in the store
    skipped_ids: list[str] = field(default_factory=list)  # stale and unknown ids (first 100)


def export_vectors(store, model_id: str, path: Path, *, batch: int = V.VECTOR_PAGE) -> ExportReport:
    """Write every stored vector of `model_id` to `path` (.npz: ids, sha1 hashes, float16 vectors)."""
    ids: list[str] = []
    hashes: list[bytes] = []
    parts: list[np.ndarray] = []
    dim = None
    for b in V.iter_vectors(store, model_id, batch=batch):
        if dim is None:
            dim = b.vectors.shape[1]
        elif b.vectors.shape[1] != dim:
            raise VectorFileError(f"vectors of {model_id} have mixed dimensions ({dim}, {b.vectors.shape[1]})")
        ids.extend(b.ids)
        hashes.extend(bytes.fromhex(h) for h in b.hashes)
        parts.append(b.vectors.astype(np.float16))
    dim = dim or 0
    vectors = np.concatenate(parts) if parts else np.zeros((0, dim), np.float16)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".npz")
    os.close(fd)
    try:
        np.savez_compressed(
            tmp, format=np.array(FORMAT), model=np.array(model_id), dim=np.array(dim, dtype=np.int64),
            ids=np.array(ids, dtype=str), content_sha1=np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, 20),
            vectors=vectors)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a shipped file is not
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return ExportReport(path=path, model_id=model_id, dim=dim, count=len(ids), bytes=path.stat().st_size)


def read_vectors_file(path: Path) -> dict:
    """The contents of a vectors file, checked: model, dim, ids, hashes (hex), vectors (float16)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            fmt = str(data["format"])
            model = str(data["model"])
            dim = int(data["dim"])
            ids = data["ids"].tolist()
            sha1 = data["content_sha1"]
            vecs = data["vectors"]
    except (OSError, KeyError, ValueError) as exc:
        raise VectorFileError(f"{path}: not a vectors file: {exc}") from exc
    if fmt != FORMAT:
        raise VectorFileError(f"{path}: unknown format {fmt!r} (expected {FORMAT})")
    n = len(ids)
    if vecs.ndim != 2 or vecs.shape != (n, dim) or sha1.shape != (n, 20):
        raise VectorFileError(f"{path}: inconsistent shapes: {n} ids, hashes {sha1.shape}, "
                              f"vectors {vecs.shape}, dim {dim}")
    return {"model": model, "dim": dim, "ids": ids, "hashes": [bytes(h).hex() for h in sha1], "vectors": vecs}


def import_vectors(store, path: Path, *, model_id: str | None = None, dim: int | None = None,
                   batch: int = 2000, overwrite: bool = False) -> ImportReport:
    """Load a vectors file into the store.

    `model_id` / `dim`: what the running encoder makes; a file of another model or dimension is
    refused (VectorFileError). A row is imported only when its paper exists and the sha1 of the
    paper's current text equals the row's hash; rows whose vector is already in the store (same
    model and hash) are left alone unless `overwrite`.
    """
    data = read_vectors_file(Path(path))
    if model_id is not None and data["model"] != model_id:
        raise VectorFileError(f"{path}: vectors of {data['model']!r}, but the encoder is {model_id!r}")
    if dim is not None and data["dim"] != dim:
        raise VectorFileError(f"{path}: {data['dim']}-dimensional vectors, but the encoder makes {dim}")
    model, fdim = data["model"], data["dim"]
    report = ImportReport(model_id=model, dim=fdim, in_file=len(data["ids"]))
    ids, hashes, vecs = data["ids"], data["hashes"], data["vectors"]
    now = dt.datetime.now(dt.UTC)
    for start in range(0, len(ids), batch):
        part = range(start, min(start + batch, len(ids)))
        chunk_ids = [ids[i] for i in part]
        current = V.current_hashes(store, chunk_ids)
        present = {}
        if not overwrite:
            for b in V.iter_vectors(store, model, ids=chunk_ids):
                present.update(zip(b.ids, b.hashes))
        rows = []
        for i in part:
            pid, h = ids[i], hashes[i]
            if pid not in current:
                report.unknown += 1
            elif current[pid] != h:
                report.stale += 1
            elif present.get(pid) == h:
                report.already_current += 1
                continue
            else:
                vec = vecs[i].astype(np.float32)
                norm = float(np.linalg.norm(vec))
                rows.append((pid, h, vec / norm if norm > 0 else vec))
                continue
            if len(report.skipped_ids) < 100:
                report.skipped_ids.append(pid)
        report.imported += V.save_vectors(store, model, rows, embedded_at=now)
    return report


def demo_vectors_path(demo_dir: Path) -> Path:
    from dailypapers.search.encoder.embeddings import MODEL_ID

    return Path(demo_dir) / f"vectors-{MODEL_ID}.npz"


def import_demo_vectors(store, demo_dir: Path) -> ImportReport | None:
    """Load the demo's precomputed vectors (`<demo_dir>/vectors-<model id>.npz`) if shipped.

    Needs no model: the file's model and dimension are checked against the CPU encoder's, and
    rows are matched to the papers by content hash. Returns None when there is no such file.
    Idempotent: a second call imports nothing (about 0.3 s for the 9,877 demo papers).
    """
    from dailypapers.search.encoder.embeddings import DIM, MODEL_ID

    path = demo_vectors_path(demo_dir)
    if not path.exists():
        return None
    return import_vectors(store, path, model_id=MODEL_ID, dim=DIM)
