"""Vectors shipped as a file, so a database gets them without running the model (the demo ships
its vectors precomputed): a compressed .npz with the ids, sha1 content hashes, float16 vectors and
the model id and dimension, and (optional, since issue 16) each vector's key phrases as a JSON list
("" for none), so that a database loaded from the file shows them without running the model either.
`import_vectors` checks the model and dimension, and skips rows whose paper is unknown or whose
text changed since the vector was made (`dailypapers embed` makes those).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dailypapers.errors import DailyPapersError
from dailypapers.store import Store
from dailypapers.store import vectors as V

FORMAT = "dailypapers-vectors/1"


class VectorFileError(DailyPapersError):
    """A vectors file that is unreadable, of another model or dimension, or malformed."""


@dataclass
class VectorExportReport:
    path: Path
    model_id: str
    dim: int
    count: int
    bytes: int


@dataclass
class VectorImportReport:
    model_id: str
    dim: int
    in_file: int = 0
    imported: int = 0
    already_current: int = 0   # the store already had this vector's model and text
    stale: int = 0             # the paper's text changed since the vector was made
    unknown: int = 0           # no such paper in the store
    skipped_ids: list[str] = field(default_factory=list)  # stale and unknown ids (first 100)
    phrases_filled: int = 0    # vectors already current that were given the file's key phrases


def export_vectors(store: Store, model_id: str, path: Path, *, batch: int = V.VECTOR_PAGE) -> VectorExportReport:
    """Write every stored vector of `model_id` to `path` (.npz: ids, sha1 hashes, float16 vectors)."""
    ids: list[str] = []
    hashes: list[bytes] = []
    parts: list[np.ndarray] = []
    phrases: list[str] = []
    dim = None
    for b in V.iter_vectors(store, model_id, batch=batch):
        if dim is None:
            dim = b.vectors.shape[1]
        elif b.vectors.shape[1] != dim:
            raise VectorFileError(f"vectors of {model_id} have mixed dimensions ({dim}, {b.vectors.shape[1]})")
        ids.extend(b.ids)
        hashes.extend(bytes.fromhex(h) for h in b.hashes)
        phrases.extend(V.phrases_json(p) or "" for p in b.phrases)
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
            vectors=vectors, phrases=np.array(phrases, dtype=str))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a shipped file is not
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return VectorExportReport(path=path, model_id=model_id, dim=dim, count=len(ids), bytes=path.stat().st_size)


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
            phrases = _file_phrases(data["phrases"].tolist()) if "phrases" in data.files else [None] * len(ids)
    except (OSError, KeyError, ValueError) as exc:
        raise VectorFileError(f"{path}: not a vectors file: {exc}") from exc
    if fmt != FORMAT:
        raise VectorFileError(f"{path}: unknown format {fmt!r} (expected {FORMAT})")
    n = len(ids)
    if vecs.ndim != 2 or vecs.shape != (n, dim) or sha1.shape != (n, 20) or len(phrases) != n:
        raise VectorFileError(f"{path}: inconsistent shapes: {n} ids, hashes {sha1.shape}, "
                              f"vectors {vecs.shape}, dim {dim}")
    return {"model": model, "dim": dim, "ids": ids, "hashes": [bytes(h).hex() for h in sha1], "vectors": vecs,
            "phrases": phrases}


def _file_phrases(cells: list[str]) -> list[list[str] | None]:
    out = []
    for n, cell in enumerate(cells):
        phrases = V.phrases_from_json(cell) if cell else None
        if cell and phrases is None:
            raise ValueError(f"row {n}: key phrases are not a JSON list of strings: {cell[:80]!r}")
        out.append(phrases)
    return out


def import_vectors(store: Store, path: Path, *, model_id: str | None = None, dim: int | None = None,
                   batch: int = 2000, overwrite: bool = False) -> VectorImportReport:
    """Load a vectors file into the store.

    `model_id` / `dim`: what the running encoder makes; a file of another model or dimension is
    refused (VectorFileError). A row is imported only when its paper exists and the sha1 of the
    paper's current text equals the row's hash; rows whose vector is already in the store (same
    model and hash) are left alone unless `overwrite` (but given the file's key phrases when
    they have none).
    """
    data = read_vectors_file(Path(path))
    if model_id is not None and data["model"] != model_id:
        raise VectorFileError(f"{path}: vectors of {data['model']!r}, but the encoder is {model_id!r}")
    if dim is not None and data["dim"] != dim:
        raise VectorFileError(f"{path}: {data['dim']}-dimensional vectors, but the encoder makes {dim}")
    model, fdim = data["model"], data["dim"]
    report = VectorImportReport(model_id=model, dim=fdim, in_file=len(data["ids"]))
    ids, hashes, vecs, phrases = data["ids"], data["hashes"], data["vectors"], data["phrases"]
    now = dt.datetime.now(dt.UTC)
    for start in range(0, len(ids), batch):
        part = range(start, min(start + batch, len(ids)))
        chunk_ids = [ids[i] for i in part]
        current = V.current_hashes(store, chunk_ids)
        present: dict[str, str] = {}
        bare: set[str] = set()  # stored without key phrases
        if not overwrite:
            for b in V.iter_vectors(store, model, ids=chunk_ids):
                present.update(zip(b.ids, b.hashes, strict=True))
                bare.update(pid for pid, ph in zip(b.ids, b.phrases, strict=True) if ph is None)
        rows = []
        fill = []
        for i in part:
            pid, h = ids[i], hashes[i]
            if pid not in current:
                report.unknown += 1
            elif current[pid] != h:
                report.stale += 1
            elif present.get(pid) == h:
                report.already_current += 1
                if pid in bare and phrases[i] is not None:
                    fill.append((pid, h, phrases[i]))
                continue
            else:
                vec = vecs[i].astype(np.float32)
                norm = float(np.linalg.norm(vec))
                rows.append((pid, h, vec / norm if norm > 0 else vec))
                continue
            if len(report.skipped_ids) < 100:
                report.skipped_ids.append(pid)
        found = {ids[i]: phrases[i] for i in part if phrases[i] is not None}
        report.imported += V.save_vectors(store, model, rows, embedded_at=now, phrases=found)
        report.phrases_filled += V.save_phrases(store, fill)
    return report
