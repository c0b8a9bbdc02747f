"""Stored vectors on real databases: missing and stale detection, model changes, the resumable
embed job (killed with SIGKILL midway, then resumed), and the export/import round trip."""

from __future__ import annotations

import gzip
import itertools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from support.paths import LISTINGS

from dailypapers.ingest import vectors as shipped
from dailypapers.models import Paper, Record
from dailypapers.search.encoder.embeddings import MODEL_ID, load_encoder, paper_text
from dailypapers.store import Store
from dailypapers.store import vectors as V
from dailypapers.worker import embedding as J


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Nothing here may reach a model hub; scoped to each test so it cannot leak into others."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
MODEL = MODEL_ID  # the tag embed_missing writes (model + recipe)


def _cache_dir() -> Path:
    return Path(os.environ.get("DAILYPAPERS_TEST_MODEL_CACHE", ROOT / "var" / "test-models"))


def real_records(n: int, skip: int = 0) -> list[Record]:
    from dailypapers.sources import listings

    with gzip.open(LISTINGS, "rb") as fh:
        lines = b"".join(itertools.islice(fh, skip, skip + n))
    return [r for r in listings.parse(lines, "listings") if isinstance(r, Record)]


class FakeEncoder:
    """A deterministic stand-in (a hash of the text) that records what it was asked to encode."""

    dim = 384

    def __init__(self, model_id: str = MODEL) -> None:
        self.model_id = self.name = model_id
        self.seen: list[str] = []

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:
        self.seen.extend(texts)
        out = np.stack([np.random.default_rng(abs(hash((self.model_id, t))) % 2**32).standard_normal(self.dim)
                        for t in texts]) if texts else np.zeros((0, self.dim))
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


def _paper_texts(seen: list[str]) -> list[str]:
    """What an encoder was given, less the key phrases (1-3 words) the embedding job encodes too."""
    return [t for t in seen if len(t.split()) > 3]


def corrected(paper: Paper, abstract: str) -> Record:
    """A newer version of `paper` with another abstract (a newer version overrides the text)."""
    return Record(Paper(arxiv_id=paper.arxiv_id, title=paper.title, abstract=abstract,
                        version=(paper.version or 1) + 1))


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(_cache_dir(), "int8")


def test_save_load_round_trip_is_exact_float32(store):
    store.write(real_records(30))
    ids = [pid for pid, *_ in V.missing(store, MODEL, 100)]
    assert len(ids) == 30
    vecs = np.random.default_rng(0).standard_normal((30, 384)).astype(np.float32)
    assert V.save_vectors(store, MODEL, [(pid, "h" * 40, v) for pid, v in zip(ids, vecs, strict=True)]) == 30
    got_ids, got = V.load_vectors(store, MODEL)
    assert got_ids == sorted(ids) and got.dtype == np.float32
    assert np.array_equal(got, vecs[np.argsort(ids)])
    some = [ids[5], "9999.99999", ids[2]]
    sub_ids, sub = V.load_vectors(store, MODEL, some)
    assert sub_ids == [ids[5], ids[2]] and np.array_equal(sub, vecs[[5, 2]])
    assert V.vector_count(store, MODEL) == 30 and V.vector_count(store, "other") == 0
    # streaming in small batches gives the same
    batches = list(V.iter_vectors(store, MODEL, batch=7))
    assert [len(b.ids) for b in batches] == [7, 7, 7, 7, 2]
    assert np.array_equal(np.concatenate([b.vectors for b in batches]), got)
    # an upsert replaces
    V.save_vectors(store, MODEL, [(ids[0], "x" * 40, np.ones(384, np.float32))])
    assert V.vector_count(store, MODEL) == 30
    assert np.array_equal(V.load_vectors(store, MODEL, [ids[0]])[1][0], np.ones(384, np.float32))


def test_missing_and_stale_detection(store):
    records = real_records(40)
    store.write(records)
    pending = V.missing_or_stale(store, MODEL, 1000, dim=384)
    assert [pid for pid, *_ in pending] == sorted(r.paper.arxiv_id for r in records)
    by_id = {r.paper.arxiv_id: r.paper for r in records}
    assert all(text == paper_text(by_id[pid]) for pid, text, _ in pending)
    V.save_vectors(store, MODEL, [(pid, V.content_hash(t), np.ones(384)) for pid, t, _ in pending[:25]])
    assert [p for p, *_ in V.missing_or_stale(store, MODEL, 1000)] == [p for p, *_ in pending[25:]]
    assert V.count_missing(store, MODEL) == 15
    # the limit and the cursor walk the table once
    first = V.missing_or_stale(store, MODEL, 10)
    rest = V.missing_or_stale(store, MODEL, 1000, after=first[-1][0])
    assert [p for p, *_ in first + rest] == [p for p, *_ in pending[25:]]
    # a corrected abstract makes its vector stale
    changed = by_id[pending[3][0]]
    store.write([corrected(changed, "A corrected abstract.")])
    stale = V.stale(store, MODEL, 100)
    assert stale == [(changed.arxiv_id, f"{changed.title}. A corrected abstract.", changed.title)]
    assert changed.arxiv_id in [p for p, *_ in V.missing_or_stale(store, MODEL, 1000)]
    # vectors of another model or dimension do not count
    assert len(V.missing_or_stale(store, "another-model", 1000)) == 40
    assert len(V.missing(store, MODEL, 1000, dim=768)) == 40


def test_deleting_a_paper_deletes_its_vector(store):
    from sqlalchemy import delete

    from dailypapers.store.schema import papers

    store.write(real_records(3))
    pending = V.missing(store, MODEL, 10)
    V.save_vectors(store, MODEL, [(p, V.content_hash(t), np.ones(384)) for p, t, _ in pending])
    with store.engine.begin() as conn:
        conn.execute(delete(papers).where(papers.c.id == pending[0][0]))
    assert V.vector_count(store, MODEL) == 2


def test_embed_missing_embeds_only_what_is_missing_or_stale(store):
    records = real_records(50)
    store.write(records)
    enc = FakeEncoder()
    calls = []
    report = J.embed_missing(store, enc, batch_size=16, progress=lambda done, total: calls.append((done, total)))
    assert (report.embedded, report.batches, report.total, report.complete) == (50, 4, 50, True)
    assert calls == [(16, 50), (32, 50), (48, 50), (50, 50)]
    assert J.embed_missing(store, FakeEncoder()).embedded == 0           # nothing to do
    # new papers and a changed abstract: only those are embedded again
    store.write(real_records(5, skip=50))
    p = records[7].paper
    store.write([corrected(p, p.abstract + " Revised.")])
    enc2 = FakeEncoder()
    report = J.embed_missing(store, enc2, batch_size=16)
    assert (report.embedded, report.stale) == (6, 1)
    assert len(_paper_texts(enc2.seen)) == 6  # each paper's text, once
    assert f"{p.title}. {p.abstract} Revised." in enc2.seen
    # the stored hash now matches the text
    assert V.missing_or_stale(store, MODEL, 100) == []


def test_stale_vectors_are_found_without_a_checkpoint(store):
    """Vectors that came from elsewhere (an import) are checked in full on the first run."""
    records = real_records(12)
    store.write(records)
    pending = V.missing(store, MODEL, 100)
    V.save_vectors(store, MODEL, [(pid, V.content_hash(t) if i % 4 else "0" * 40, np.ones(384))
                                  for i, (pid, t, _) in enumerate(pending)])
    enc = FakeEncoder()
    report = J.embed_missing(store, enc, batch_size=5)
    assert report.embedded == report.stale == 3


def test_a_model_change_re_embeds_everything(store):
    store.write(real_records(20))
    J.embed_missing(store, FakeEncoder("model-a"))
    assert V.vector_count(store, "model-a") == 20
    report = J.embed_missing(store, FakeEncoder("model-b"), batch_size=8)
    assert report.embedded == 20 and V.vector_count(store, "model-b") == 20
    assert V.vector_count(store, "model-a") == 0 and V.models(store) == {"model-b": 20}


def test_limit_stops_early_and_the_next_run_continues(store):
    store.write(real_records(30))
    first = J.embed_missing(store, FakeEncoder(), batch_size=8, limit=10)
    assert first.embedded == 10 and not first.complete
    assert store.load_checkpoint(J.checkpoint_name(MODEL)) is None
    enc = FakeEncoder()
    second = J.embed_missing(store, enc, batch_size=8)
    assert second.embedded == 20 and second.complete and len(_paper_texts(enc.seen)) == 20  # one text a paper


@pytest.mark.slow
def test_real_encoder_vectors_in_the_store_find_by_meaning(database_url, encoder):
    s = Store.open(database_url)
    records = real_records(60)
    s.write(records)
    report = J.embed_missing(s, encoder, batch_size=32)
    assert report.embedded == 60 and report.encoder == "all-MiniLM-L6-v2/onnx-int8"
    ids, vecs = V.load_vectors(s, encoder.model_id)
    assert vecs.shape == (60, 384) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-4)
    # each paper's own title is nearest to its own stored vector for most papers
    by_id = {r.paper.arxiv_id: r.paper for r in records}
    q = encoder.encode([by_id[i].title for i in ids])
    assert ((q @ vecs.T).argmax(1) == np.arange(60)).mean() >= 0.9
    s.close()


# -- export / import -------------------------------------------------------------------------


def test_export_import_round_trip_with_hash_checks(tmp_path, make_database_url):
    src = Store.open(make_database_url("a"))
    records = real_records(40)
    src.write(records)
    J.embed_missing(src, FakeEncoder())
    path = tmp_path / "vectors.npz"
    exported = shipped.export_vectors(src, MODEL, path)
    assert exported.count == 40 and exported.dim == 384 and path.exists()
    with np.load(path) as data:
        assert data["vectors"].dtype == np.float16 and str(data["model"]) == MODEL
    src_ids, src_vecs = V.load_vectors(src, MODEL)

    dst = Store.open(make_database_url("b"))
    dst.write(records[:30])                         # ten papers unknown here
    p = records[4].paper                            # and one corrected since
    dst.write([corrected(p, "Corrected.")])
    report = shipped.import_vectors(dst, path, model_id=MODEL, dim=384)
    assert (report.in_file, report.imported, report.unknown, report.stale) == (40, 29, 10, 1)
    assert p.arxiv_id in report.skipped_ids
    ids, vecs = V.load_vectors(dst, MODEL)
    want = {i: v for i, v in zip(src_ids, src_vecs, strict=True)}
    cos = np.array([float(v @ want[i]) for i, v in zip(ids, vecs, strict=True)])
    assert len(ids) == 29 and cos.min() > 0.9999    # float16 in the file, renormalised on import
    # importing again changes nothing; the stale paper is left for `embed`
    again = shipped.import_vectors(dst, path, model_id=MODEL)
    assert (again.imported, again.already_current) == (0, 29)
    assert [pid for pid, *_ in V.missing_or_stale(dst, MODEL, 100)] == [p.arxiv_id]
    src.close()
    dst.close()


def test_import_refuses_another_model_or_dimension(tmp_path, database_url):
    s = Store.open(database_url)
    s.write(real_records(5))
    J.embed_missing(s, FakeEncoder("other-model"))
    path = shipped.export_vectors(s, "other-model", tmp_path / "v.npz").path
    with pytest.raises(shipped.VectorFileError, match="other-model"):
        shipped.import_vectors(s, path, model_id=MODEL)
    with pytest.raises(shipped.VectorFileError, match="768"):
        shipped.import_vectors(s, path, dim=768)
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    with pytest.raises(shipped.VectorFileError):
        shipped.import_vectors(s, tmp_path / "bad.npz")
    s.close()


# -- a run killed midway ---------------------------------------------------------------------

KILLED_RUN = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    os.environ["HF_HUB_OFFLINE"] = "1"
    from dailypapers.store import Store
    from dailypapers.search.encoder.embeddings import load_encoder
    from dailypapers.worker.embedding import embed_missing
    store = Store.open(sys.argv[1])
    encoder = load_encoder(Path(sys.argv[2]), "int8")
    def progress(done, total):
        print(done, flush=True)
    embed_missing(store, encoder, batch_size=int(sys.argv[3]), progress=progress)
    print("finished", flush=True)
""")


class Recording:
    def __init__(self, inner) -> None:
        self.inner, self.seen = inner, []
        self.model_id, self.dim, self.name = inner.model_id, inner.dim, inner.name

    def encode(self, texts, batch_size=64):
        self.seen.extend(texts)
        return self.inner.encode(texts, batch_size)


@pytest.mark.slow
def test_a_killed_embed_run_resumes_without_redoing_finished_batches(tmp_path, encoder, database_url):
    url = database_url
    s = Store.open(url)
    records = real_records(120, skip=300)
    s.write(records)
    batch = 12
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN)
    proc = subprocess.Popen([sys.executable, str(script), url, str(_cache_dir()), str(batch)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    done = 0
    deadline = time.monotonic() + 300
    try:
        while done < 2 * batch:          # wait for two committed batches
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            assert time.monotonic() < deadline
            done = int(line) if line.strip().isdigit() else done
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    saved = V.vector_count(s, MODEL)
    assert saved >= 2 * batch and saved % batch == 0 and saved < len(records)
    finished_ids = set(V.load_vectors(s, MODEL)[0])

    rec = Recording(encoder)
    report = J.embed_missing(s, rec, batch_size=batch)
    assert report.embedded == len(records) - saved and report.complete
    by_text = {paper_text(r.paper): r.paper.arxiv_id for r in records}
    redone = {by_text[t] for t in rec.seen if t in by_text} & finished_ids
    assert not redone and len(_paper_texts(rec.seen)) == len(records) - saved  # one text a paper
    assert V.vector_count(s, MODEL) == len(records) and V.missing_or_stale(s, MODEL, 10) == []
    s.close()
