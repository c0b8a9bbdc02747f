"""The HNSW vector index: recall against exact search, persistence, memory-mapped reading,
additions after a save, removal, tombstones, filters, model checks and the write lock.

Vectors are structured synthetic ones (topic clusters in a low-rank space, like sentence
embeddings), on real files in tmp_path.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from dailypapers.search.vector_index import (
    EXACT_MAX,
    IndexBusy,
    IndexMissing,
    ModelMismatch,
    VectorIndex,
    VectorIndexError,
    check_index,
    read_state,
)

DIM = 384
MODEL = "test-model"


def clustered(n: int, seed: int, struct_seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(struct_seed)
    proj = rng.standard_normal((64, DIM)).astype(np.float32) / 8
    centres = rng.standard_normal((200, 64)).astype(np.float32)
    r = np.random.default_rng([struct_seed, seed])
    z = centres[r.integers(0, len(centres), n)] + 0.7 * r.standard_normal((n, 64)).astype(np.float32)
    x = z @ proj + 0.2 * r.standard_normal((n, DIM)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def ids_for(n: int, prefix: str = "2501") -> list[str]:
    return [f"{prefix}.{i:05d}" for i in range(n)]


@pytest.fixture(scope="module")
def data():
    x = clustered(4000, seed=1)
    q = clustered(200, seed=2)
    return ids_for(len(x)), x, q


def exact(x: np.ndarray, ids: list[str], q: np.ndarray, k: int, allowed=None) -> list[list[str]]:
    sims = q @ x.T
    if allowed is not None:
        mask = np.array([i in allowed for i in ids])
        sims[:, ~mask] = -np.inf
    return [[ids[j] for j in np.argsort(-row, kind="stable")[:k]] for row in sims]


def recall(found: list[list[str]], truth: list[list[str]], k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(t[:k])) / k for f, t in zip(found, truth, strict=True)]))


@pytest.fixture(scope="module")
def built_once(tmp_path_factory, data):
    ids, x, _ = data
    path = tmp_path_factory.mktemp("built") / "vi"
    with VectorIndex(path, DIM, MODEL) as w:
        w.add(ids, x)
        w.set_last_seq(42)
        w.save()
    return path


@pytest.fixture()
def built(tmp_path, built_once):
    """A private copy of the saved index (tests write to it)."""
    import shutil

    shutil.copytree(built_once, tmp_path / "vi")
    return tmp_path / "vi"


def test_recall_against_exact_search(built, data):
    ids, x, q = data
    index = VectorIndex.open(built, MODEL)
    assert index.storage == "sq8" and len(index) == len(ids)
    found = [[h for h, _ in index.search(v, 10)] for v in q]
    assert recall(found, exact(x, ids, q, 10)) >= 0.95
    # similarities are cosines (8-bit rounded): close to the exact ones
    hits = index.search(q[0], 5)
    for arxiv_id, sim in hits:
        assert abs(sim - float(x[ids.index(arxiv_id)] @ q[0])) < 0.02
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)


def test_small_index_uses_exact_float_storage(tmp_path, data):
    ids, x, q = data
    with VectorIndex(tmp_path / "small", DIM, MODEL) as w:
        w.add(ids[:300], x[:300])
        w.save()
    index = VectorIndex.open(tmp_path / "small")
    assert index.storage == "flat"
    found = [[h for h, _ in index.search(v, 10)] for v in q[:50]]
    assert recall(found, exact(x[:300], ids[:300], q[:50], 10)) >= 0.95


def test_reopen_read_only_is_memory_mapped_and_keeps_metadata(built, data):
    ids, x, q = data
    index = VectorIndex.open(built, MODEL)
    meta = index.metadata()
    assert meta["model_id"] == MODEL and meta["dim"] == DIM and meta["last_seq"] == 42
    assert meta["count"] == len(ids) and index.readonly
    index.search(q[0], 10)
    gen = read_state(built)["generation"]
    maps = Path("/proc/self/maps").read_text()
    assert str(built / gen / "index.faiss") in maps, "the index file should be mapped, not read"
    with pytest.raises(VectorIndexError):
        index.add(["x"], x[:1])


def test_string_ids_round_trip_including_old_style(tmp_path, data):
    _, x, _ = data
    ids = ["hep-th/9901001", "math.AG/0601001", "2501.00001", "cond-mat/0001001", "1706.03762"]
    with VectorIndex(tmp_path / "vi", DIM, MODEL) as w:
        w.add(ids, x[:5])
        w.save()
    index = VectorIndex.open(tmp_path / "vi", MODEL)
    for i, arxiv_id in enumerate(ids):
        assert index.search(x[i], 1)[0][0] == arxiv_id
        assert arxiv_id in index
    assert "9999.99999" not in index and "hep-th/9901001-longer-than-any-stored-id" not in index
    assert sorted(index.ids()) == sorted(ids)


def test_additions_after_save_without_rebuild_reach_readers(built, data):
    ids, x, _q = data
    reader = VectorIndex.open(built, MODEL)
    before = read_state(built)["generation"]
    extra = clustered(50, seed=9)
    new_ids = ids_for(50, prefix="2601")
    with VectorIndex(built, DIM, MODEL) as w:
        assert len(w) == len(ids)  # loaded, not rebuilt
        w.add(new_ids, extra)
        w.set_last_seq(43)
        w.save()
    assert read_state(built)["generation"] != before
    # the open reader switches to the new generation on its next search
    assert reader.search(extra[7], 1)[0][0] == new_ids[7]
    assert len(reader) == len(ids) + 50 and reader.last_seq == 43
    # and old papers are still found
    assert reader.search(x[3], 1)[0][0] == ids[3]


def test_remove_and_replace(built, data):
    ids, x, _q = data
    with VectorIndex(built, DIM, MODEL) as w:
        assert w.remove([ids[3], ids[4], "not-there"]) == 2
        w.add([ids[5]], -x[5])  # a new vector for an existing paper replaces the old one
        w.save()
    index = VectorIndex.open(built, MODEL)
    assert len(index) == len(ids) - 2
    assert ids[3] not in index and ids[4] not in index
    top = [h for h, _ in index.search(x[3], 50)]
    assert ids[3] not in top and ids[4] not in top
    assert index.search(-x[5], 1)[0][0] == ids[5]
    assert ids[5] not in [h for h, _ in index.search(x[5], 20)]
    # tombstones persist and re-adding brings a paper back
    with VectorIndex(built, DIM, MODEL) as w:
        w.add([ids[3]], x[3])
        w.save()
    assert VectorIndex.open(built).search(x[3], 1)[0][0] == ids[3]


def test_compaction_drops_tombstones(tmp_path, data):
    ids, x, q = data
    with VectorIndex(tmp_path / "vi", DIM, MODEL) as w:
        w.add(ids[:2000], x[:2000])
        w.save()
        w.remove(ids[:600])  # more than a quarter: save() compacts
        w.save()
        assert w.ntotal == 1400 and len(w) == 1400
    index = VectorIndex.open(tmp_path / "vi")
    assert index.metadata()["labels"] == 1400
    found = [[h for h, _ in index.search(v, 10)] for v in q[:50]]
    assert recall(found, exact(x[600:2000], ids[600:2000], q[:50], 10)) >= 0.9


def test_allowed_sets_exact_and_in_graph(built, data):
    ids, x, q = data
    index = VectorIndex.open(built, MODEL)
    small = set(ids[::50])  # 80 papers: exhaustive
    for v in q[:20]:
        got = [h for h, _ in index.search(v, 10, allowed=small)]
        assert set(got) <= small and len(got) == 10
    found = [[h for h, _ in index.search(v, 10, allowed=small)] for v in q[:20]]
    assert recall(found, exact(x, ids, q[:20], 10, small)) >= 0.9
    assert index.search(q[0], 10, allowed=set()) == []
    assert index.search(q[0], 10, allowed={"unknown"}) == []
    big = set(ids[: EXACT_MAX + 10]) if len(ids) > EXACT_MAX else set(ids[::2])
    got = [h for h, _ in index.search(q[0], 10, allowed=big)]
    assert set(got) <= big and len(got) == 10
    assert [h for h, _ in index.search(q[0], 10, allowed=big, exact=True)] == \
        [h for h, _ in index.search(q[0], 10, allowed=big, exact=True)]


@pytest.mark.parametrize("share", [0.05, 0.5])
def test_large_allowed_sets_in_graph_and_post_filtered(built, data, monkeypatch, share):
    """Above EXACT_MAX (lowered here so a small index takes those paths): a bitmap-filtered
    graph walk for a mid-sized share, a deeper plain search then filtering for a large one."""
    import dailypapers.search.vector_index as vi

    monkeypatch.setattr(vi, "EXACT_MAX", 50)
    ids, x, q = data
    index = VectorIndex.open(built, MODEL)
    rng = np.random.default_rng(7)
    allowed = {ids[i] for i in rng.choice(len(ids), int(len(ids) * share), replace=False)}
    resolved = index.allowed(allowed)
    assert len(resolved) == len(allowed)
    found = []
    for v in q[:30]:
        got = index.search(v, 10, allowed=allowed)
        assert {h for h, _ in got} <= allowed and len(got) == 10
        assert index.search(v, 10, allowed=resolved) == got
        found.append([h for h, _ in got])
    assert recall(found, exact(x, ids, q[:30], 10, allowed)) >= 0.9
    # a resolved set from an older generation is resolved again, not misused
    with VectorIndex(built, DIM, MODEL) as w:
        w.remove([ids[0]])
        w.add(["2701.00001"], x[:1])
        w.save()
    got = index.search(q[0], 10, allowed=resolved)
    assert {h for h, _ in got} <= allowed - {ids[0]}


def test_model_mismatch_and_status(built, data):
    ids, x, _ = data
    with pytest.raises(ModelMismatch):
        VectorIndex.open(built, "other-model")
    with pytest.raises(ModelMismatch):
        VectorIndex(built, DIM, "other-model", lock_timeout=1)
    with pytest.raises(ModelMismatch):
        VectorIndex.open(built, MODEL, dim=768)
    assert check_index(built, MODEL, DIM, store_seq=42).state == "ok"
    assert check_index(built, MODEL, DIM, store_seq=50).state == "stale"
    assert check_index(built, "other-model", DIM).state == "other_model"
    assert check_index(built.parent / "nowhere", MODEL).state == "missing"
    with pytest.raises(IndexMissing):
        VectorIndex.open(built.parent / "nowhere")
    # reset=True starts over for the new model
    with VectorIndex(built, DIM, "other-model", reset=True) as w:
        assert len(w) == 0 and w.last_seq == 0
        w.add(ids[:10], x[:10])
        w.save()
    assert check_index(built, "other-model", DIM).state == "ok"


def test_unreadable_state_is_reported(built):
    (built / "state.json").write_text(json.dumps({"format": 99}))
    assert check_index(built, MODEL).state == "unreadable"


def test_one_writer_at_a_time(built):
    with VectorIndex(built, DIM, MODEL):
        code = textwrap.dedent(f"""
            from dailypapers.search.vector_index import VectorIndex, IndexBusy
            try:
                VectorIndex({str(built)!r}, 384, {MODEL!r}, lock_timeout=0.5)
            except IndexBusy:
                print("busy")
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
        assert out.stdout.strip() == "busy", out.stderr
        with pytest.raises(IndexBusy):
            VectorIndex(built, DIM, MODEL, lock_timeout=0.2)
    VectorIndex(built, DIM, MODEL, lock_timeout=1).close()  # released


def test_unsaved_changes_are_invisible_and_set_last_seq_needs_save(built, data):
    _ids, x, _ = data
    reader = VectorIndex.open(built, MODEL)
    w = VectorIndex(built, DIM, MODEL)
    w.add(["2609.00001"], x[:1] * -1)
    w.set_last_seq(99)
    assert reader.last_seq == 42 and "2609.00001" not in reader
    w.close()  # dropped
    assert read_state(built)["last_seq"] == 42


def test_rejects_bad_vectors(tmp_path, data):
    _, x, _ = data
    with VectorIndex(tmp_path / "vi", DIM, MODEL) as w:
        with pytest.raises(ValueError):
            w.add(["a", "b"], x[:1])
        with pytest.raises(ValueError):
            w.add(["a"], np.full((1, DIM), np.nan, dtype=np.float32))
        with pytest.raises(ValueError):
            w.add(["a"], np.ones((1, 10), dtype=np.float32))
        assert w.add([], np.zeros((0, DIM), np.float32)) == 0
        w.save()
    index = VectorIndex.open(tmp_path / "vi")
    assert index.search(x[0], 10) == [] and len(index) == 0


def test_duplicate_ids_in_one_batch_keep_the_last(tmp_path, data):
    _, x, _ = data
    with VectorIndex(tmp_path / "vi", DIM, MODEL) as w:
        w.add(["a", "b", "a"], x[:3])
        w.save()
    index = VectorIndex.open(tmp_path / "vi")
    assert len(index) == 2
    assert index.search(x[2], 1)[0][0] == "a"


def test_two_reader_processes_share_the_file(built, data):
    """Each serving process maps the same file: its private (anonymous) memory stays small."""
    code = textwrap.dedent(f"""
        import numpy as np
        from dailypapers.search.vector_index import VectorIndex
        index = VectorIndex.open({str(built)!r})
        q = np.ones(384, dtype=np.float32)
        assert index.search(q, 5)
        maps = open("/proc/self/maps").read()
        print("mapped" if "index.faiss" in maps else "copied")
    """)
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
            for _ in range(2)]
    assert [o.stdout.strip() for o in outs] == ["mapped", "mapped"], [o.stderr for o in outs]


def test_determinism_single_thread(tmp_path, data):
    ids, x, q = data
    results = []
    for n in range(2):
        with VectorIndex(tmp_path / f"vi{n}", DIM, MODEL, threads=1) as w:
            w.add(ids[:1500], x[:1500])
            w.save()
        index = VectorIndex.open(tmp_path / f"vi{n}")
        results.append([index.search(v, 10) for v in q[:20]])
    assert results[0] == results[1]


def test_write_and_read_in_the_same_directory_tree_leave_no_garbage(built, data):
    _ids, x, _ = data
    for n in range(3):
        with VectorIndex(built, DIM, MODEL) as w:
            w.add([f"2602.{n:05d}"], x[n:n + 1])
            w.save()
    gens = [p for p in os.listdir(built) if p.startswith("gen-")]
    assert len(gens) <= 2  # the live generation and the previous one


# ---------------------------------------------------------------------------------------------
# keeping the index in step with the database (search/sync.py)


def test_sync_rebuild_and_reconcile_with_the_store(tmp_path, data, database_url):
    import gzip
    import itertools

    from support.paths import DATA

    from dailypapers.search.sync import (
        ensure_vector_index,
        rebuild_vector_index,
        reconcile_vector_index,
        sync_vector_index,
    )
    from dailypapers.sources import listings
    from dailypapers.store import Store
    from dailypapers.store.vectors import (
        content_hash,
        delete_vectors,
        embed_text,
        save_vectors,
    )

    _, x, _ = data
    with gzip.open(DATA / "arxiv_cs_listings.jsonl.gz", "rb") as fh:
        head = b"".join(itertools.islice(fh, 60))
    records = [r for r in listings.parse(head, "listings") if not isinstance(r, Exception)]
    store = Store.open(database_url)
    try:
        store.write(records[:40])

        def embed(recs, offset=0):
            save_vectors(store, MODEL, [(r.paper.arxiv_id, content_hash(embed_text(r.paper.title, r.paper.abstract)),
                                         x[offset + n]) for n, r in enumerate(recs)])

        embed(records[:40])
        path = tmp_path / "vi"
        assert ensure_vector_index(store, path, MODEL, DIM) == "missing"  # built from scratch
        index = VectorIndex.open(path, MODEL)
        assert len(index) == 40 and index.last_seq == store.max_seq()
        assert check_index(path, MODEL, DIM, store.max_seq()).state == "ok"

        # new papers arrive through the change feed; their vectors are added when they exist
        store.write(records[40:60])
        embed(records[40:50], offset=40)
        with VectorIndex(path, DIM, MODEL) as w:
            assert sync_vector_index(store, w, MODEL) == 20
        assert len(index) == 50 and index.last_seq == store.max_seq()
        assert index.search(x[45], 1)[0][0] == records[45].paper.arxiv_id

        # vectors stored without a change are picked up by reconciling ids
        embed(records[50:60], offset=50)
        delete_vectors(store, MODEL, [records[0].paper.arxiv_id])
        with VectorIndex(path, DIM, MODEL) as w:
            assert reconcile_vector_index(store, w, MODEL) == (10, 1)
        assert len(index) == 59 and records[0].paper.arxiv_id not in index

        # another model's index is rebuilt at start
        assert ensure_vector_index(store, path, "another", DIM) == "other_model"
        assert check_index(path, "another", DIM).state == "ok" and len(VectorIndex.open(path)) == 0
        assert rebuild_vector_index(store, path, MODEL, DIM) == 59
    finally:
        store.close()
