"""Keeps a node's search index current by following the store's change sequence."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..store import Store

log = logging.getLogger("dailypapers.search")

if TYPE_CHECKING:
    import numpy as np

    from .keyword import KeywordIndex
    from .vector_index import VectorIndex


def sync_keyword_index(store: Store, index: KeywordIndex, *, batch: int = 5000,
                       progress: Callable[[int], None] | None = None) -> int:
    """Index every paper changed since the index's last sequence number; return how many."""
    done = 0
    while True:
        changes = store.changes_since(index.last_seq, limit=batch)
        if not changes:
            return done
        ids = list(dict.fromkeys(pid for _, pid in changes))
        papers = list(store.iter_papers(ids))
        index.add(papers, texts=store.fulltext.texts)
        index.set_last_seq(changes[-1][0])
        done += len(ids)
        if progress:
            progress(len(ids))


def rebuild_keyword_index(store: Store, index: KeywordIndex, progress: Callable[[int], None] | None = None) -> int:
    """Rebuild from scratch; the sequence is read first so nothing written meanwhile is missed."""
    seq = store.max_seq()

    def papers():
        for n, paper in enumerate(store.iter_papers(), 1):
            if progress and n % 1000 == 0:
                progress(1000)
            yield paper

    # last_seq is recorded with the switch: no window where the new generation claims the old
    # index's (possibly later) sequence number
    return index.rebuild(papers(), last_seq=seq, texts=store.fulltext.texts)


def follow_keyword_index(store: Store, path: Path, index: KeywordIndex | None = None) -> int:
    """One follower step for this node's keyword index at `path` (`index`: an open one, if any):
    apply what changed since its sequence number, or build it when it is missing (a new node's
    empty data directory, or an index deleted while the node serves). Returns how many papers
    were indexed."""
    from .generations import read_state
    from .keyword import KeywordIndex

    if read_state(path) is None:
        log.warning("no keyword index in %s: building it from the database", path)
        count = build_keyword_index(store, path)
        log.warning("keyword index in %s built: %d papers", path, count)
        return count
    return sync_keyword_index(store, index if index is not None else KeywordIndex(path))


def build_keyword_index(store: Store, path: Path) -> int:
    """Build the keyword index from every stored paper beside `path`, then move it into place:
    until it is complete, readers find no index there (503), never an empty or half-built one."""
    import shutil
    import uuid

    from .keyword import KeywordIndex

    path = Path(path)
    building = path.with_name(f".{path.name}.building-{uuid.uuid4().hex[:8]}")
    try:
        count = rebuild_keyword_index(store, KeywordIndex(building))
        shutil.rmtree(path, ignore_errors=True)  # whatever is left of the old one (no state.json)
        building.rename(path)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return count


# ---------------------------------------------------------------------------------------------
# The vector index (search/vector_index.py). It follows the same change sequence: a changed
# paper gets its stored vector (re)added, or removed from the index when it has none. For newly
# embedded papers to reach the index this way, storing a vector must also record a change (see
# the note in vector_index_status); `reconcile_vector_index` repairs any drift by comparing ids.


def sync_vector_index(store: Store, index: VectorIndex, model_id: str, *, batch: int = 5000,
                      progress: Callable[[int], None] | None = None) -> int:
    """Apply the papers changed since the index's last sequence number; save once at the end.

    `index` is a writable VectorIndex. Returns how many papers were looked at.
    """
    from ..store.vectors import load_vectors

    done = 0
    while True:
        changes = store.changes_since(index.last_seq, limit=batch)
        if not changes:
            break
        ids = list(dict.fromkeys(pid for _, pid in changes))
        found, vecs = load_vectors(store, model_id, ids)
        _apply_vectors(index, ids, found, vecs)
        index.set_last_seq(changes[-1][0])
        done += len(ids)
        if progress:
            progress(len(ids))
    index.save()
    return done


def _apply_vectors(index: VectorIndex, ids: Sequence[str], found: Sequence[str], vecs: np.ndarray) -> None:
    have = set(found)
    index.remove([i for i in ids if i not in have])
    if not found:
        return
    keep = []
    for n, pid in enumerate(found):  # re-adding an unchanged vector would only make a tombstone
        old = index.get(pid)
        if old is None or float(old @ vecs[n]) < 0.999:
            keep.append(n)
    if keep:
        index.add([found[n] for n in keep], vecs[keep])


def rebuild_vector_index(store: Store, path: Path, model_id: str, dim: int = 384, *,
                         progress: Callable[[int], None] | None = None, threads: int | None = None) -> int:
    """Build the vector index at `path` afresh from every stored vector of `model_id`.

    The change sequence is read first, so anything written meanwhile is replayed by the next
    sync. Vectors are read and inserted batch by batch (the HNSW graph grows incrementally).
    """
    from ..store.vectors import iter_vectors
    from .vector_index import VectorIndex

    seq = store.max_seq()
    count = 0
    with VectorIndex(path, dim, model_id, reset=True, threads=threads) as index:
        for b in iter_vectors(store, model_id):
            index.add(b.ids, b.vectors)
            count += len(b.ids)
            if progress:
                progress(len(b.ids))
        index.set_last_seq(seq)
        index.save()
    return count


def follow_vector_index(store: Store, path: Path, model_id: str, dim: int = 384) -> int:
    """One follower step for this node's vector index at `path`: apply what changed since its
    sequence number (nothing is loaded when nothing changed), or build it once the first vectors
    of `model_id` are stored (embedded on any node after this one started). Returns how many
    papers were looked at."""
    from ..store.vectors import vector_count
    from .vector_index import VectorIndex, read_state

    state = read_state(path)
    if state is None:
        return rebuild_vector_index(store, path, model_id, dim) if vector_count(store, model_id) else 0
    if int(state.get("last_seq", 0)) >= store.max_seq():
        return 0
    with VectorIndex(path, int(state["dim"]), state["model_id"]) as index:
        return sync_vector_index(store, index, state["model_id"])


def reconcile_vector_index(store: Store, index: VectorIndex, model_id: str) -> tuple[int, int]:
    """Make the index hold exactly the stored vectors' ids: add the missing, drop the extra.
    Returns (added, removed). Reads every stored id once (for start-up checks)."""
    from ..store.vectors import iter_vectors

    present = set(index.ids())
    stored: set[str] = set()
    added = 0
    for b in iter_vectors(store, model_id):
        stored.update(b.ids)
        missing = [n for n, pid in enumerate(b.ids) if pid not in present]
        if missing:
            index.add([b.ids[n] for n in missing], b.vectors[missing])
            added += len(missing)
    extra = present - stored
    removed = index.remove(sorted(extra)) if extra else 0
    if added or removed:
        index.save()
    return added, removed


def ensure_vector_index(store: Store, path: Path, model_id: str, dim: int = 384, *,
                        rebuild: bool = True, progress: Callable[[int], None] | None = None) -> str:
    """Bring the index at `path` up to date at start-up: rebuild it when it is missing, built
    with another model or unreadable (unless `rebuild=False`), sync it when it is behind.
    Returns what it found ("ok", "stale", "missing", "other_model", "unreadable"); with
    rebuild=False the caller reports anything but ok/stale."""
    from ..store.vectors import vector_count
    from .vector_index import VectorIndex, check_index

    status = check_index(path, model_id, dim, store.max_seq())
    if status.state in ("missing", "other_model", "unreadable"):
        if rebuild:
            rebuild_vector_index(store, path, model_id, dim, progress=progress)
        return status.state
    with VectorIndex(path, dim, model_id) as index:
        if status.state == "stale":
            sync_vector_index(store, index, model_id, progress=progress)
        if vector_count(store, model_id) != len(index):
            reconcile_vector_index(store, index, model_id)
    return status.state
