"""Approximate nearest-neighbour index of paper vectors: faiss HNSW, persisted, memory-mapped.

Why faiss: measured on this project's 2-core machine against hnswlib and usearch (bench/
bench_vectors.py, BENCHMARKS.md) it built fastest at the same recall (usearch took 3-6x longer
to insert, hnswlib 2x), it answers single queries in ~0.1-0.3 ms, it can restrict a search to
a set of ids inside the graph walk (IDSelector), and since 1.10 it can memory-map an index file
read-only (`IO_FLAG_MMAP_IFC`), so every web worker shares one copy through the page cache.

Storage is 8-bit scalar quantisation (`IndexHNSWSQ`, QT_8bit, per-dimension ranges trained on
the first batch): 384 bytes a vector instead of 1,536; an exhaustive search over the 8-bit codes
finds 0.975-0.99 of the exact float32 top 10. Indexes created from fewer than `SQ_MIN_TRAIN`
vectors use exact float32 storage instead. Vectors are L2-normalised and compared by inner
product, so a similarity is a cosine.

Graph parameters: M=32, efConstruction=128, efSearch=128. With M=16/efConstruction=64 the
graph of 2.7M dense synthetic vectors reached only recall@10 0.85 at efSearch 128 (0.91 at
2048: the graph, not the beam, was the limit); at 300k vectors M=32/efConstruction=128 lifted
recall@10 at efSearch 64 from 0.935 to 0.984 for twice the build CPU (BENCHMARKS.md).

On-disk layout under `path`:

    state.json      {"format", "generation", "model_id", "dim", "storage", "M", "ef_construction",
                     "last_seq", "count", "labels"}, replaced atomically
    .write.lock     flock held by a writable VectorIndex for its whole life (one writer at a time)
    gen-…/index.faiss   the faiss index (absent while empty); label = row number
    gen-…/ids.npy       fixed-width bytes: the arXiv id of every label, removed ones included
    gen-…/order.npy     int64: live labels sorted by their id, for id -> label lookups
    gen-…/sorted_ids.npy  the live ids in that order (binary-searched, memory-mapped)
    gen-…/removed.npy   int64: tombstoned labels (removed, or replaced by a newer vector)

The state file, the lock and the generation directories follow search/generations.py, the
protocol the keyword index shares. HNSW graphs cannot drop nodes cheaply, so `remove` and re-`add`
tombstone the old label and searches skip tombstones; `rebuild` (or a save once a quarter of the
labels are dead) compacts.
A writable index loads everything into memory; a read-only one maps the files and re-checks
`state.json` before each search, so a save by the worker shows up in every web process.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Self

import numpy as np

from dailypapers.errors import DailyPapersError
from dailypapers.search import generations
from dailypapers.search.generations import read_state

if TYPE_CHECKING:
    import faiss

FORMAT_VERSION = 1
DEFAULT_DIM = 384
DEFAULT_M = 32
DEFAULT_EF_CONSTRUCTION = 128
DEFAULT_EF_SEARCH = 128
SQ_MIN_TRAIN = 1000          # fewer vectors at creation: exact float32 storage instead of 8-bit
SQ_TRAIN_SAMPLE = 100_000    # at most this many vectors train the 8-bit ranges
SQ_RANGE_MARGIN = 0.1        # widen each trained range by 10% on both sides for later additions
EXACT_MAX = 5_000            # allowed sets up to this size are searched exhaustively
MAX_EF_SEARCH = 4096
COMPACT_FRACTION = 0.25      # save() compacts when this share of labels are tombstones
POST_FILTER_SHARE = 0.1      # allowed sets this large a share: plain HNSW, then drop the others
SEARCH_THREADS = 1           # OpenMP threads of one query's search (see _search_threads)



class VectorIndexError(DailyPapersError):
    """The vector index cannot be used as asked."""


class IndexMissing(VectorIndexError):
    """No vector index has been built at this path."""


class ModelMismatch(VectorIndexError):
    """The index holds vectors of another model (or dimension) than the one asked for."""


class IndexBusy(VectorIndexError):
    """Another process holds the index open for writing."""


def _faiss():
    import faiss  # imported lazily: keyword-only deployments never load it

    return faiss


@dataclass(frozen=True)
class IndexStatus:
    """What `check_index` found: `state` is ok, missing, stale, other_model or unreadable."""

    state: str
    detail: str = ""
    last_seq: int = 0
    count: int = 0

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def check_index(path: Path, model_id: str, dim: int = DEFAULT_DIM, store_seq: int | None = None) -> IndexStatus:
    """Classify the index at `path` for `model_id`, without loading it.

    `store_seq` is the database's change sequence (`Store.max_seq()`); an index behind it is
    "stale" (it still serves, and a sync brings it up to date).
    """
    state = read_state(path)
    if state is None:
        return IndexStatus("missing", f"no vector index in {path}")
    if state.get("format") != FORMAT_VERSION:
        return IndexStatus("unreadable", f"index format {state.get('format')!r}, expected {FORMAT_VERSION}")
    if state.get("model_id") != model_id or int(state.get("dim", -1)) != dim:
        return IndexStatus("other_model", f"index holds {state.get('model_id')!r} ({state.get('dim')} dims), "
                           f"expected {model_id!r} ({dim} dims)", int(state.get("last_seq", 0)))
    gen = Path(path) / str(state.get("generation"))
    if not (gen / "ids.npy").is_file() or (state.get("labels", 0) and not (gen / "index.faiss").is_file()):
        return IndexStatus("unreadable", f"index files missing in {gen}")
    seq, count = int(state.get("last_seq", 0)), int(state.get("count", 0))
    if store_seq is not None and seq < store_seq:
        return IndexStatus("stale", f"index at change {seq}, database at {store_seq}", seq, count)
    return IndexStatus("ok", "", seq, count)


def normalise(vectors: np.ndarray) -> np.ndarray:
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return np.ascontiguousarray(v / norms, dtype=np.float32)


def _encode_ids(ids: Sequence[str]) -> np.ndarray:
    raw = [i.encode("utf-8") for i in ids]
    width = max((len(r) for r in raw), default=1) or 1
    return np.array(raw, dtype=f"S{width}")


class _Generation:
    """One saved generation's files, opened either memory-mapped (read-only) or in memory."""

    def __init__(self, gen_dir: Path | None, state: dict, writable: bool) -> None:
        faiss = _faiss()
        self.dir = gen_dir
        self.index = None
        if gen_dir is None:  # a brand-new index with nothing saved
            self.ids = np.zeros(0, dtype="S1")
            self.order = np.zeros(0, dtype=np.int64)
            self.sorted_ids = np.zeros(0, dtype="S1")
            self.removed = np.zeros(0, dtype=np.int64)
            self.dead: set[int] = set()
            self.selector: tuple[Any, Any, np.ndarray] | None = None
            return
        self.selector = None  # cached IDSelector skipping tombstones
        mmap: Literal["r"] | None = None if writable else "r"
        self.ids = np.load(gen_dir / "ids.npy", mmap_mode=mmap)
        self.order = np.load(gen_dir / "order.npy", mmap_mode=mmap)
        self.sorted_ids = np.load(gen_dir / "sorted_ids.npy", mmap_mode=mmap)
        self.removed = np.load(gen_dir / "removed.npy")
        self.dead = {int(x) for x in self.removed}
        if (gen_dir / "index.faiss").is_file():
            flags = 0 if writable else faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY
            self.index = faiss.read_index(str(gen_dir / "index.faiss"), flags)
        if self.index is not None and self.index.ntotal != len(self.ids):
            raise VectorIndexError(f"{gen_dir}: {self.index.ntotal} vectors but {len(self.ids)} ids")

    def lookup(self, ids: Sequence[str]) -> np.ndarray:
        """Live labels of `ids` (-1 where absent), by binary search over the sorted live ids."""
        out = np.full(len(ids), -1, dtype=np.int64)
        if not len(self.order) or not len(ids):
            return out
        width = self.ids.dtype.itemsize
        try:  # arXiv ids are ASCII: numpy converts them in C
            as_str = np.asarray(ids, dtype=str)
            fits = np.char.str_len(as_str) <= width
            wanted = np.where(fits, as_str, "").astype(self.ids.dtype)
        except UnicodeEncodeError:
            raw = [i.encode("utf-8") for i in ids]
            fits = np.array([len(r) <= width for r in raw], dtype=bool)
            wanted = np.array([r if f else b"" for r, f in zip(raw, fits, strict=True)], dtype=self.ids.dtype)
        sorted_ids = self.sorted_ids
        pos = np.searchsorted(sorted_ids, wanted)
        pos_c = np.minimum(pos, len(sorted_ids) - 1)
        hit = fits & (pos < len(sorted_ids)) & (sorted_ids[pos_c] == wanted)
        out[hit] = self.order[pos_c[hit]]
        return out


@dataclass(frozen=True)
class AllowedSet:
    """An allowed-id set resolved to labels of one generation (see VectorIndex.allowed): reusing
    it skips turning thousands of id strings into labels on every search."""

    ids: tuple[str, ...]
    labels: np.ndarray
    generation: object

    def __len__(self) -> int:
        return len(self.labels)


class VectorIndex:
    """HNSW index of L2-normalised vectors keyed by arXiv id.

    `VectorIndex(path, dim, model_id)` opens (or creates) the index for writing, loading it into
    memory and holding the write lock until `close()`. `VectorIndex.open(path, model_id)` maps
    it read-only for serving. Changes are visible to readers after `save()`.
    """

    def __init__(self, path: Path, dim: int = DEFAULT_DIM, model_id: str = "", *, readonly: bool = False,
                 reset: bool = False, M: int = DEFAULT_M, ef_construction: int = DEFAULT_EF_CONSTRUCTION,
                 ef_search: int = DEFAULT_EF_SEARCH, threads: int | None = None,
                 lock_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.dim = int(dim)
        self.readonly = readonly
        self.ef_search = int(ef_search)
        self.threads = threads or os.cpu_count() or 1
        self._lock_fh: IO[str] | None = None
        self._tlock: threading.Lock | None = None
        self._mutex = threading.RLock()
        self._state_key: tuple | None = None
        if readonly:
            state = read_state(self.path)
            if state is None:
                raise IndexMissing(f"no vector index in {self.path}")
            self._check_model(state, model_id, dim)
            self.model_id = state["model_id"]
            self._load(state)
            return
        if not model_id:
            raise ValueError("a writable VectorIndex needs the model id of its vectors")
        self.path.mkdir(parents=True, exist_ok=True)
        self._acquire_lock(lock_timeout)
        try:
            state = None if reset else read_state(self.path)
            if state is not None and state.get("format") != FORMAT_VERSION:
                state = None
            if state is not None:
                self._check_model(state, model_id, dim)
            self.model_id = model_id
            if state is None:
                state = self._fresh_state(M, ef_construction)
            self._load(state)
        except BaseException:
            self.close()
            raise

    # -- opening ------------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, model_id: str | None = None, dim: int | None = None,
             ef_search: int = DEFAULT_EF_SEARCH) -> VectorIndex:
        """Map the saved index read-only for serving. Raises IndexMissing or ModelMismatch.

        Without `model_id` / `dim`, whatever the index holds is accepted.
        """
        state = read_state(Path(path))
        if state is None:
            raise IndexMissing(f"no vector index in {path}")
        return cls(path, int(state.get("dim", DEFAULT_DIM)) if dim is None else dim, model_id or "",
                   readonly=True, ef_search=ef_search)

    def _check_model(self, state: dict, model_id: str, dim: int) -> None:
        if model_id and state.get("model_id") != model_id:
            raise ModelMismatch(f"the vector index in {self.path} holds {state.get('model_id')!r}, "
                                f"not {model_id!r}: rebuild it")
        if int(state.get("dim", -1)) != dim:
            raise ModelMismatch(f"the vector index in {self.path} has {state.get('dim')} dimensions, not {dim}")

    def _fresh_state(self, M: int, ef_construction: int) -> dict:
        return {"format": FORMAT_VERSION, "generation": None, "model_id": self.model_id, "dim": self.dim,
                "storage": None, "M": M, "ef_construction": ef_construction, "last_seq": 0,
                "count": 0, "labels": 0}

    def _load(self, state: dict) -> None:
        gen = state.get("generation")
        gen_dir = self.path / gen if gen else None
        try:
            self._gen = _Generation(gen_dir, state, writable=not self.readonly)
        except (OSError, ValueError, RuntimeError) as exc:
            raise VectorIndexError(f"cannot read the vector index in {self.path}: {exc}") from exc
        self._state = dict(state)
        self._state_key = self._stat_key()
        # writer-side changes since the load
        self._new_ids: list[str] = []
        self._new_map: dict[str, int] = {}
        self._dropped: set[str] = set()        # saved ids removed (or replaced) since the load
        self._pending_seq: int | None = None
        self._dirty = False

    def _stat_key(self) -> tuple | None:
        return generations.state_stamp(self.path)

    def refresh(self) -> bool:
        """Read-only indexes: switch to the latest saved generation. Returns True if it changed."""
        if not self.readonly:
            return False
        key = self._stat_key()
        if key == self._state_key:
            return False
        with self._mutex:
            state = read_state(self.path)
            if state is None or key is None:
                return False
            if state.get("generation") == self._state.get("generation"):
                self._state, self._state_key = state, key
                return False
            self._check_model(state, self.model_id, self.dim)
            self._load(state)
            return True

    # -- locking ------------------------------------------------------------------------------

    def _acquire_lock(self, timeout: float = 30.0) -> None:
        tlock = generations.thread_lock(self.path)
        if not tlock.acquire(timeout=timeout):
            raise IndexBusy(f"the vector index in {self.path} is open for writing in this process")
        self._tlock = tlock
        try:
            self._lock_fh = generations.acquire_file_lock(self.path, timeout)
        except generations.LockTimeout:
            tlock.release()
            self._tlock = None
            raise IndexBusy(f"the vector index in {self.path} is open for writing elsewhere") from None

    def close(self) -> None:
        """Release the write lock (unsaved changes are dropped) and the mapped files."""
        if self._lock_fh is not None:
            generations.release_file_lock(self._lock_fh)
            self._lock_fh = None
        tlock = getattr(self, "_tlock", None)
        if tlock is not None:
            self._tlock = None
            tlock.release()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        with contextlib.suppress(Exception):
            self.close()

    # -- properties ---------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The database change sequence the saved (or pending) contents reflect."""
        self.refresh()
        if self._pending_seq is not None:
            return self._pending_seq
        return int(self._state.get("last_seq", 0))

    def set_last_seq(self, n: int) -> None:
        """Record the change sequence the contents reflect; persisted by the next save()."""
        if not isinstance(n, int) or n < 0:
            raise ValueError(f"last_seq must be a non-negative integer, got {n!r}")
        self._require_writable()
        self._pending_seq = n

    @property
    def generation(self) -> object:
        """The loaded generation (an opaque token: it changes when a new save is picked up)."""
        return self._gen

    @property
    def version(self) -> tuple:
        """Changes whenever searches could answer differently: a newly saved generation (read-only
        indexes pick it up in `refresh`), or additions and removals not saved yet."""
        return (self._state.get("generation"), self.ntotal, len(self._gen.dead))

    @property
    def storage(self) -> str | None:
        return self._state.get("storage")

    @property
    def ntotal(self) -> int:
        """Labels, tombstones included."""
        return len(self._gen.ids) + len(self._new_ids)

    def __len__(self) -> int:
        self.refresh()
        return self.ntotal - len(self._gen.dead)

    def metadata(self) -> dict:
        meta = dict(self._state)
        meta.update(count=len(self), labels=self.ntotal, last_seq=self.last_seq, ef_search=self.ef_search)
        return meta

    def _require_writable(self) -> None:
        if self.readonly:
            raise VectorIndexError("this vector index was opened read-only")

    # -- id <-> label -------------------------------------------------------------------------

    def _labels_of(self, ids: Sequence[str], gen: _Generation | None = None) -> np.ndarray:
        """Live label of each id, -1 where the id has no live vector."""
        ids = list(ids)
        out = (gen or self._gen).lookup(ids)
        if self._new_map or self._dropped:
            for n, i in enumerate(ids):
                if i in self._new_map:
                    out[n] = self._new_map[i]
                elif i in self._dropped:
                    out[n] = -1
        return out

    def _id_of(self, label: int, gen: _Generation | None = None) -> str:
        gen = gen or self._gen
        saved = len(gen.ids)
        if label < saved:
            return gen.ids[label].decode("utf-8")
        return self._new_ids[label - saved]

    def _ids_of(self, labels: np.ndarray, gen: _Generation) -> list[str]:
        """`_id_of` of each label; the saved ones in one indexing (a search's answer is up to
        thousands of labels)."""
        if len(labels) and int(labels.max()) < len(gen.ids):
            return [raw.decode("utf-8") for raw in gen.ids[labels].tolist()]
        return [self._id_of(int(lab), gen) for lab in labels]

    def __contains__(self, arxiv_id: str) -> bool:
        self.refresh()
        return bool(self._labels_of([arxiv_id])[0] >= 0)

    def ids(self) -> list[str]:
        """Every live id: the saved ones in id order, then those added since the last save."""
        self.refresh()
        saved = [b.decode("utf-8") for b in self._gen.sorted_ids.tolist()]
        if self._dropped:
            saved = [i for i in saved if i not in self._dropped]
        return saved + list(self._new_map)

    def get(self, arxiv_id: str) -> np.ndarray | None:
        """The stored (possibly 8-bit-rounded) vector of a paper, or None."""
        self.refresh()
        label = int(self._labels_of([arxiv_id])[0])
        if label < 0 or self._gen.index is None:
            return None
        return self._gen.index.reconstruct(label)

    # -- writing ------------------------------------------------------------------------------

    def _new_faiss_index(self, first: np.ndarray):
        faiss = _faiss()
        M = int(self._state.get("M", DEFAULT_M))
        if len(first) >= SQ_MIN_TRAIN:
            index = faiss.IndexHNSWSQ(self.dim, faiss.ScalarQuantizer.QT_8bit, M, faiss.METRIC_INNER_PRODUCT)
            sq = faiss.downcast_index(index.storage).sq
            sq.rangestat = faiss.ScalarQuantizer.RS_minmax
            sq.rangestat_arg = SQ_RANGE_MARGIN
            step = max(1, len(first) // SQ_TRAIN_SAMPLE)
            index.train(np.ascontiguousarray(first[::step]))
            storage = "sq8"
        else:
            index = faiss.IndexHNSWFlat(self.dim, M, faiss.METRIC_INNER_PRODUCT)
            storage = "flat"
        index.hnsw.efConstruction = int(self._state.get("ef_construction", DEFAULT_EF_CONSTRUCTION))
        self._state["storage"] = storage
        return index

    def add(self, ids: Sequence[str], vectors: np.ndarray) -> int:
        """Insert or replace vectors by id (the last one wins for an id given twice)."""
        self._require_writable()
        ids = [str(i) for i in ids]
        vecs = normalise(vectors) if len(ids) else np.zeros((0, self.dim), np.float32)
        if vecs.shape != (len(ids), self.dim):
            raise ValueError(f"expected {len(ids)} vectors of {self.dim} dimensions, got {vecs.shape}")
        if not np.isfinite(vecs).all():
            raise ValueError("vectors hold NaN or infinite values")
        if any(not i for i in ids):
            raise ValueError("empty id")
        last = {i: n for n, i in enumerate(ids)}  # last occurrence wins
        keep = sorted(last.values())
        ids = [ids[n] for n in keep]
        vecs = vecs[keep]
        if not ids:
            return 0
        with self._mutex:
            self._tombstone(ids)
            if self._gen.index is None:
                self._gen.index = self._new_faiss_index(vecs)
            start = self.ntotal
            faiss = _faiss()
            old_threads = faiss.omp_get_max_threads()
            faiss.omp_set_num_threads(self.threads)
            try:
                self._gen.index.add(vecs)
            finally:
                faiss.omp_set_num_threads(old_threads)
            for n, i in enumerate(ids):
                self._new_ids.append(i)
                self._new_map[i] = start + n
            self._gen.selector = None
            self._dirty = True
        return len(ids)

    def _tombstone(self, ids: Iterable[str]) -> int:
        ids = list(ids)
        labels = self._labels_of(ids)
        n = 0
        for i, label in zip(ids, labels, strict=True):
            if label >= 0:
                self._gen.dead.add(int(label))
                self._new_map.pop(i, None)
                if label < len(self._gen.ids):
                    self._dropped.add(i)
                n += 1
        return n

    def remove(self, ids: Iterable[str]) -> int:
        """Drop papers' vectors. Returns how many were present."""
        self._require_writable()
        with self._mutex:
            n = self._tombstone(ids)
            if n:
                self._gen.selector = None
                self._dirty = True
            return n

    def rebuild(self, ids: Sequence[str], vectors: np.ndarray, *, last_seq: int | None = None) -> int:
        """Replace the whole contents (a fresh graph, no tombstones); call save() afterwards."""
        self._require_writable()
        with self._mutex:
            seq = self.last_seq if last_seq is None else last_seq
            on_disk = self._state.get("generation")
            self._state = self._fresh_state(int(self._state.get("M", DEFAULT_M)),
                                            int(self._state.get("ef_construction", DEFAULT_EF_CONSTRUCTION)))
            self._state["generation"] = on_disk  # still the live one until save()
            self._gen = _Generation(None, self._state, writable=True)
            self._new_ids, self._new_map, self._dropped = [], {}, set()
            n = self.add(ids, vectors)
            self._pending_seq = seq
            self._dirty = True
            return n

    def compact(self) -> None:
        """Rebuild the graph from the live vectors (as stored), dropping tombstones."""
        self._require_writable()
        with self._mutex:
            if not self._gen.dead:
                return
            live = np.array([lab for lab in range(self.ntotal) if lab not in self._gen.dead], dtype=np.int64)
            ids = [self._id_of(int(lab)) for lab in live]
            if len(live):
                assert self._gen.index is not None  # live vectors are in the graph
                vecs = self._gen.index.reconstruct_batch(live)
            else:
                vecs = np.zeros((0, self.dim), np.float32)
            self.rebuild(ids, vecs, last_seq=self.last_seq)

    def save(self) -> None:
        """Write a new generation and switch `state.json` to it atomically. When only the change
        sequence moved (the changed papers had no vectors), only `state.json` is rewritten."""
        self._require_writable()
        with self._mutex:
            if not self._dirty and self._state.get("generation"):
                if self._pending_seq is not None and self._pending_seq != self._state.get("last_seq"):
                    self._state["last_seq"] = self._pending_seq
                    generations.write_state(self.path, self._state)
                    self._state_key = self._stat_key()
                self._pending_seq = None
                return
            if self._gen.dead and len(self._gen.dead) >= COMPACT_FRACTION * max(self.ntotal, 1):
                self.compact()
            gen = generations.new_generation(self.path)
            gen_dir = self.path / gen
            try:
                saved = self._gen.ids
                if self._new_ids:
                    new = _encode_ids(self._new_ids)
                    width = max(saved.dtype.itemsize if len(saved) else 1, new.dtype.itemsize)
                    ids_arr = np.concatenate([saved.astype(f"S{width}"), new.astype(f"S{width}")])
                else:
                    ids_arr = np.array(saved)
                removed = np.array(sorted(self._gen.dead), dtype=np.int64)
                live_mask = np.ones(len(ids_arr), dtype=bool)
                live_mask[removed] = False
                live = np.flatnonzero(live_mask)
                order = live[np.argsort(ids_arr[live], kind="stable")].astype(np.int64)
                np.save(gen_dir / "ids.npy", ids_arr)
                np.save(gen_dir / "order.npy", order)
                sorted_ids = ids_arr[order]
                np.save(gen_dir / "sorted_ids.npy", sorted_ids)
                np.save(gen_dir / "removed.npy", removed)
                if self._gen.index is not None:
                    _faiss().write_index(self._gen.index, str(gen_dir / "index.faiss"))
                _fsync_dir(gen_dir)
            except BaseException:
                shutil.rmtree(gen_dir, ignore_errors=True)
                raise
            old_gen = self._state.get("generation")
            self._state.update(generation=gen, model_id=self.model_id, dim=self.dim,
                               last_seq=self.last_seq, count=len(live), labels=len(ids_arr))
            generations.write_state(self.path, self._state)
            self._state_key = self._stat_key()
            self._gen.dir, self._gen.ids, self._gen.order, self._gen.removed = gen_dir, ids_arr, order, removed
            self._gen.sorted_ids = sorted_ids
            self._new_ids, self._new_map, self._dropped = [], {}, set()
            self._pending_seq = None
            self._dirty = False
            self._collect(keep={gen, old_gen})

    def _collect(self, keep: set) -> None:
        generations.collect(self.path, keep)

    # -- searching ----------------------------------------------------------------------------

    def allowed(self, ids: Iterable[str]) -> AllowedSet:
        """`ids` resolved to this index's labels, for repeated filtered searches (a service caches
        one per filter). Stays valid until the index switches generation; after that `search`
        resolves the ids again."""
        self.refresh()
        ids = tuple(dict.fromkeys(ids))
        gen = self._gen
        labels = self._labels_of(list(ids), gen)
        return AllowedSet(ids, labels[labels >= 0], gen)

    def search(self, vector: np.ndarray, k: int = 10, allowed: Iterable[str] | AllowedSet | None = None,
               *, ef: int | None = None, exact: bool = False) -> list[tuple[str, float]]:
        """The `k` nearest papers to `vector` as (arxiv_id, cosine), best first.

        `allowed` (ids, or an AllowedSet from `allowed()`) restricts the answer to those ids:
        small sets (up to EXACT_MAX) are searched exhaustively (any size with `exact=True`);
        sets of at least POST_FILTER_SHARE of the index by a wider plain HNSW search whose
        other hits are dropped; those in between inside the HNSW walk with a bitmap filter and
        a beam widened by 1/sqrt(allowed share). Similarities are cosines
        (8-bit rounded, clipped to [-1, 1]).
        Read-only indexes first switch to the latest saved generation (a stat() per call).
        """
        self.refresh()
        # Readers never mutate a generation, so one reference to it is a consistent snapshot
        # and searches from many threads run in parallel (faiss releases the GIL). Writers
        # serialise on the mutex.
        with self._mutex if not self.readonly else contextlib.nullcontext(), _search_threads():
            gen = self._gen
            if gen.index is None or k <= 0 or self.ntotal - len(gen.dead) <= 0:
                return []
            q = normalise(vector)
            if q.shape[1] != self.dim:
                raise ValueError(f"query has {q.shape[1]} dimensions, the index {self.dim}")
            ef = int(ef or self.ef_search)
            total = len(gen.ids) + (0 if self.readonly else len(self._new_ids))
            if allowed is None:
                labels, sims = _hnsw(gen.index, q, k, ef, _tombstone_selector(gen))
            else:
                if isinstance(allowed, AllowedSet) and allowed.generation is gen and self.readonly:
                    wanted = allowed.labels
                else:
                    ids = allowed.ids if isinstance(allowed, AllowedSet) else list(dict.fromkeys(allowed))
                    wanted = self._labels_of(list(ids), gen)
                    wanted = wanted[wanted >= 0]
                if len(wanted) == 0:
                    return []
                live = total - len(gen.dead)
                if len(wanted) <= max(EXACT_MAX, k) or exact:
                    labels, sims = _exact(gen.index, q, k, wanted, total)
                elif len(wanted) >= POST_FILTER_SHARE * live:
                    labels, sims = _post_filtered(gen, q, k, ef, wanted, total, live)
                else:
                    labels, sims = _filtered(gen.index, q, k, ef, wanted, total, live)
            return list(zip(self._ids_of(labels, gen), np.clip(sims, -1.0, 1.0).tolist(), strict=True))


    def similarities(self, vector: np.ndarray, ids: Sequence[str]) -> dict[str, float]:
        """The cosine of `vector` to each of `ids` that has a live vector, computed as a search
        computes it (the storage's distance computer), so a paper's similarity is the same
        whichever list found it; cost grows with `ids`, not with the index."""
        self.refresh()
        with self._mutex if not self.readonly else contextlib.nullcontext():
            gen = self._gen
            ids = list(dict.fromkeys(ids))
            if gen.index is None or not ids:
                return {}
            q = normalise(vector)
            if q.shape[1] != self.dim:
                raise ValueError(f"query has {q.shape[1]} dimensions, the index {self.dim}")
            faiss = _faiss()
            distance = faiss.downcast_index(gen.index.storage).get_distance_computer()
            distance.set_query(faiss.swig_ptr(q[0]))  # q outlives every call below
            labels = self._labels_of(ids, gen).tolist()
            return {pid: min(1.0, max(-1.0, distance(label)))
                    for pid, label in zip(ids, labels, strict=True) if label >= 0}


@contextlib.contextmanager
def _search_threads() -> Iterator[None]:
    """One query's search on SEARCH_THREADS OpenMP threads (this thread's setting, restored after):
    faiss's parallel scan of a single query vector let a second thread spin-wait, which on a
    2-core server running two web workers cost 5x the CPU of one thread and more wall time
    (BENCHMARKS.md, search latency)."""
    faiss = _faiss()
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(SEARCH_THREADS)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _tombstone_selector(gen: _Generation):
    """An IDSelector that skips the generation's tombstones (None when there are none); cached."""
    if not gen.dead:
        return None
    if gen.selector is None:
        faiss = _faiss()
        arr = np.array(sorted(gen.dead), dtype=np.int64)
        batch = faiss.IDSelectorBatch(arr)
        gen.selector = (faiss.IDSelectorNot(batch), batch, arr)  # keep the inner objects alive
    return gen.selector[0]


def _hnsw(index: faiss.IndexHNSW, q: np.ndarray, k: int, ef: int, selector) -> tuple[np.ndarray, np.ndarray]:
    faiss = _faiss()
    params = faiss.SearchParametersHNSW(efSearch=max(ef, k))
    if selector is not None:
        params.sel = selector
    sims, labels = index.search(q, k, params=params)
    keep = labels[0] >= 0
    return labels[0][keep], sims[0][keep]


def _bitmap(labels: np.ndarray, ntotal: int):
    """An IDSelectorBitmap admitting `labels`, and the bitmap it points into (keep both alive)."""
    faiss = _faiss()
    mask = np.zeros(ntotal, dtype=bool)
    mask[labels] = True
    bitmap = np.packbits(mask, bitorder="little")
    return faiss.IDSelectorBitmap(ntotal, faiss.swig_ptr(bitmap)), bitmap


def _exact(index: faiss.IndexHNSW, q: np.ndarray, k: int, labels: np.ndarray,
           ntotal: int) -> tuple[np.ndarray, np.ndarray]:
    """Exhaustive search over `labels`: decode just those vectors when they are a small share of
    the index (cost grows with the set), else scan every code and skip the others with a bitmap
    (cost grows with the index: ~20 ms at 2.7M)."""
    faiss = _faiss()
    k = min(k, len(labels))
    if len(labels) * 20 <= ntotal:
        labels = np.sort(labels)
        vecs = index.reconstruct_batch(labels)
        sims, pos = faiss.knn(q, vecs, k, metric=faiss.METRIC_INNER_PRODUCT)
        keep = pos[0] >= 0
        return labels[pos[0][keep]], sims[0][keep]
    selector, bitmap = _bitmap(labels, ntotal)
    storage = faiss.downcast_index(index.storage)
    sims, found = storage.search(q, k, params=faiss.SearchParameters(sel=selector))
    del selector, bitmap
    keep = found[0] >= 0
    return found[0][keep], sims[0][keep]


def _post_filtered(gen: _Generation, q, k: int, ef: int, labels: np.ndarray, ntotal: int, live: int):
    """A plain HNSW search deep enough that about k allowed papers are among its hits."""
    assert gen.index is not None  # only searched when it has a graph
    mask = np.zeros(ntotal, dtype=bool)
    mask[labels] = True
    deep = int(min(live, math.ceil(k * 1.5 * live / len(labels)) + 10))
    found, sims = _hnsw(gen.index, q, deep, max(ef, deep), _tombstone_selector(gen))
    keep = mask[found]
    found, sims = found[keep][:k], sims[keep][:k]
    if len(found) < min(k, len(labels)):
        return _filtered(gen.index, q, k, ef, labels, ntotal, live)
    return found, sims


def _filtered(index: faiss.IndexHNSW, q, k: int, ef: int, labels: np.ndarray, ntotal: int, live: int):
    """HNSW restricted to `labels` by a bitmap; the beam widens as the allowed share shrinks."""
    selector, bitmap = _bitmap(labels, ntotal)
    share = len(labels) / max(live, 1)
    wide = int(min(MAX_EF_SEARCH, max(ef, 2 * k) / max(share, 1e-9) ** 0.5))
    found, sims = _hnsw(index, q, k, max(wide, ef, k), selector)
    del selector, bitmap  # the bitmap must outlive the search
    if len(found) < min(k, len(labels)):
        return _exact(index, q, k, labels, ntotal)
    return found, sims


def _fsync_dir(path: Path) -> None:
    for child in path.iterdir():
        with open(child, "rb") as fh:
            os.fsync(fh.fileno())


def recall_at_k(found: Sequence[Sequence[str]], truth: Sequence[Sequence[str]], k: int = 10) -> float:
    """Mean share of the true top-k found in the approximate top-k."""
    if not truth:
        return math.nan
    shares = [len(set(f[:k]) & set(t[:k])) / max(1, min(k, len(t))) for f, t in zip(found, truth, strict=True)]
    return float(np.mean(shares))
