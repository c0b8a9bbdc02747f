"""The demo loader behind `dailypapers demo` (and so `make run`): the small real data set in
data/demo, loaded once (a checkpoint holds the files' fingerprint, so later runs skip them), its
precomputed vectors, so semantic search works from the first page, and the demo member."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from dailypapers.community.accounts import ensure_demo_member
from dailypapers.errors import NotFound
from dailypapers.ingest.importer import ImportReport, Progress, import_paths
from dailypapers.ingest.vectors import VectorImportReport, import_vectors
from dailypapers.store import Store

DEMO_DIR = Path(__file__).resolve().parents[3] / "data" / "demo"  # src/dailypapers/ingest -> the repository
FILES = (("hf", "hf_daily_papers.jsonl.gz"), ("listings", "listings_subset.jsonl.gz"))  # (format, name)
CHECKPOINT = "demo"


@dataclass
class DemoReport:
    already_loaded: bool = False
    imports: list[tuple[Path, ImportReport]] = field(default_factory=list)  # each file imported now
    vectors: VectorImportReport | None = None  # None: no vectors file, or vectors already stored
    member: tuple[str, str] = ("", "")  # the demo member's address and password


def load(store: Store, path: Path = DEMO_DIR, *, progress: Progress | None = None) -> DemoReport:
    """Load the demo data set in `path` once, then its vectors and the demo member.
    Raises NotFound when `path` holds none of the demo files."""
    files = demo_files(path)
    fingerprint = _fingerprint([file for _, file in files])
    report = DemoReport(already_loaded=(store.load_checkpoint(CHECKPOINT) or {}).get("fingerprint") == fingerprint)
    if not report.already_loaded:
        report.imports = [(file, _import(store, fmt, file, progress)) for fmt, file in files]
        store.save_checkpoint(CHECKPOINT, {"fingerprint": fingerprint})
    report.vectors = load_vectors(store, path)
    report.member = ensure_demo_member(store)
    return report


def demo_files(path: Path) -> list[tuple[str, Path]]:
    """(format, file) of the demo files present in `path`."""
    files = [(fmt, path / name) for fmt, name in FILES if (path / name).exists()]
    if not files:
        raise NotFound(f"no demo data in {path}")
    return files


def vectors_path(path: Path) -> Path:
    """The demo's vectors file for the current model: `<path>/vectors-<model id>.npz`."""
    from dailypapers.search.encoder.embeddings import MODEL_ID

    return Path(path) / f"vectors-{MODEL_ID}.npz"


def load_vectors(store: Store, path: Path) -> VectorImportReport | None:
    """Load the demo's precomputed vectors (and their key phrases) while the store has none of the
    model's, or vectors without key phrases (a database loaded before the file shipped them).
    Needs no model: rows are matched to the papers by content hash. None when there was nothing
    to do."""
    from dailypapers.search.encoder.embeddings import MODEL_ID
    from dailypapers.store.vectors import count_without_phrases, vector_count

    file = vectors_path(path)
    if not file.exists() or (vector_count(store, MODEL_ID) > 0 and count_without_phrases(store, MODEL_ID) == 0):
        return None
    return import_vectors(store, file, model_id=MODEL_ID)


def _import(store: Store, fmt: str, file: Path, progress: Progress | None) -> ImportReport:
    if progress is None:
        return import_paths(store, fmt, [file])
    with progress(f"demo {file.name}", file.stat().st_size) as bar:
        return import_paths(store, fmt, [file], on_read=bar.bytes_read, on_records=bar.records_written)


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
