"""Key phrases are computed when a paper is embedded and stored with its vector (issue 16 item 2):
on real SQLite and PostgreSQL, the embed job stores them, a re-embed replaces them, the backfill
fills what has none and resumes, vector files carry them, and a paper page reads them without
calling the model (its encoder raises if called)."""

from __future__ import annotations

import gzip
import itertools

import numpy as np
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from bs4 import BeautifulSoup
from support.databases import data_dir_settings
from support.paths import LISTINGS

from dailypapers.ingest import vectors as shipped
from dailypapers.models import Paper, Record
from dailypapers.search.encoder.embeddings import MODEL_ID, paper_text
from dailypapers.search.phrases import candidate_phrases, key_phrases
from dailypapers.store import Store
from dailypapers.store import vectors as V
from dailypapers.store.schema import metadata
from dailypapers.worker import embedding as J


class HashEncoder:
    """A deterministic encoder (a hash of the text), counting what it encodes."""

    dim = 384

    def __init__(self, model_id: str = MODEL_ID) -> None:
        self.model_id = self.name = model_id
        self.seen: list[str] = []

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:
        self.seen.extend(texts)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = np.stack([np.random.default_rng(abs(hash((self.model_id, t))) % 2**32).standard_normal(self.dim)
                        for t in texts])
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)


class NoModel(HashEncoder):
    """An encoder that fails the test if a page view asks it for anything."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:
        self.calls += 1
        raise AssertionError(f"a page view called the model with {list(texts)[:3]}")


def real_records(n: int, skip: int = 0) -> list[Record]:
    from dailypapers.sources import listings

    with gzip.open(LISTINGS, "rb") as fh:
        lines = b"".join(itertools.islice(fh, skip, skip + n))
    return [r for r in listings.parse(lines, "listings") if isinstance(r, Record)]


@pytest.fixture
def store(database_url):
    s = Store.open(database_url)
    yield s
    s.close()


def stored(store: Store, paper: Paper) -> list[str] | None:
    return V.stored_phrases(store, paper.arxiv_id, V.content_hash(paper_text(paper)))


def vector_of(store: Store, paper: Paper) -> np.ndarray:
    return V.load_vectors(store, MODEL_ID, [paper.arxiv_id])[1][0]


def test_migration_0009_matches_the_schema(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "paper_vectors" in repr(d)] == []


def test_the_embed_job_stores_each_papers_key_phrases_with_its_vector(store):
    records = real_records(30)
    store.write(records)
    enc = HashEncoder()
    report = J.embed_missing(store, enc, batch_size=64)
    assert report.embedded == 30 and V.count_without_phrases(store, MODEL_ID) == 0
    # one batch: each phrase found in its abstracts is encoded once, however many papers share it
    phrases_seen = [t for t in enc.seen if len(t.split()) <= 3]
    assert sorted(phrases_seen) == sorted({c for r in records for c in candidate_phrases(r.paper.abstract)})
    for r in records:
        got = stored(store, r.paper)
        # the same picks as key_phrases with the stored vector, one paper at a time
        assert got == key_phrases(r.paper, enc, 6, vector_of(store, r.paper))
        assert 1 <= len(got) <= 6 and set(got) <= set(candidate_phrases(r.paper.abstract))


def test_a_re_embed_replaces_the_phrases(store):
    records = real_records(6)
    store.write(records)
    J.embed_missing(store, HashEncoder())
    old = records[2].paper
    before = stored(store, old)
    new = Paper(arxiv_id=old.arxiv_id, title=old.title, version=(old.version or 1) + 1,
                abstract="Quantum annealing schedules for sparse spin glasses. We study annealing "
                         "schedules on sparse spin glasses and report residual energy scaling.")
    store.write([Record(new)])
    assert before and stored(store, new) is None  # made from the old abstract: not shown for the new one
    report = J.embed_missing(store, HashEncoder())
    assert report.stale == 1
    after = stored(store, new)
    assert after and after != before and set(after) <= set(candidate_phrases(new.abstract))
    # vectors saved without phrases (e.g. from a file that has none) take the old ones away
    V.save_vectors(store, MODEL_ID, [(new.arxiv_id, V.content_hash(paper_text(new)), vector_of(store, new))])
    assert stored(store, new) is None and V.count_without_phrases(store, MODEL_ID) == 1


def test_the_backfill_fills_vectors_without_phrases_and_resumes(store):
    records = real_records(25)
    store.write(records)
    pending = V.missing(store, MODEL_ID, 100)
    enc = HashEncoder()
    vecs = enc.encode([p.text for p in pending])
    # vectors stored the old way (no phrases), one of them stale
    V.save_vectors(store, MODEL_ID, [(p.paper_id, V.content_hash(p.text) if i != 4 else "0" * 40, v)
                                     for i, (p, v) in enumerate(zip(pending, vecs, strict=True))])
    assert V.count_without_phrases(store, MODEL_ID) == 25
    first = J.fill_phrases(store, HashEncoder(), batch_size=4, limit=10)
    assert first.stored == 10 and not first.complete and first.remaining == 15
    # a killed run is one that stopped after a committed batch: the next one takes what is left
    done = []
    second = J.fill_phrases(store, HashEncoder(), batch_size=4, progress=done.append)
    assert second.complete and second.stored == 14 and sum(done) == 14
    assert second.remaining == 1  # the stale vector: `dailypapers embed` gives it new phrases
    by_id = {r.paper.arxiv_id: r.paper for r in records}
    for i, p in enumerate(pending):
        got = stored(store, by_id[p.paper_id])
        assert (got is None) if i == 4 else got == key_phrases(by_id[p.paper_id], enc, 6, vecs[i])
    assert J.fill_phrases(store, HashEncoder()).stored == 0
    # phrases are never stored over a vector that changed since they were computed
    assert V.save_phrases(store, [(pending[0].paper_id, "1" * 40, ["stale phrase"])]) == 0


def test_vector_files_carry_the_phrases(store, make_database_url, tmp_path):
    records = real_records(12)
    store.write(records)
    J.embed_missing(store, HashEncoder())
    path = shipped.export_vectors(store, MODEL_ID, tmp_path / "v.npz").path
    dst = Store.open(make_database_url("other"))
    try:
        dst.write(records)
        report = shipped.import_vectors(dst, path, model_id=MODEL_ID)
        assert report.imported == 12
        assert all(stored(dst, r.paper) == stored(store, r.paper) for r in records)
        # vectors already there without phrases are given the file's
        dst_ids = [r.paper.arxiv_id for r in records]
        ids, vecs = V.load_vectors(dst, MODEL_ID, dst_ids)
        V.save_vectors(dst, MODEL_ID, [(i, V.content_hash(paper_text(r.paper)), v)
                                       for i, r, v in zip(ids, records, vecs, strict=True)])
        assert V.count_without_phrases(dst, MODEL_ID) == 12
        again = shipped.import_vectors(dst, path, model_id=MODEL_ID)
        assert again.imported == 0 and again.phrases_filled == 12
        assert V.count_without_phrases(dst, MODEL_ID) == 0
    finally:
        dst.close()


def test_a_file_with_malformed_phrases_is_refused(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez_compressed(path, format=np.array(shipped.FORMAT), model=np.array(MODEL_ID), dim=np.array(2),
                        ids=np.array(["2401.00001"]), content_sha1=np.zeros((1, 20), np.uint8),
                        vectors=np.ones((1, 2), np.float16), phrases=np.array(['{"not": "a list"}']))
    with pytest.raises(shipped.VectorFileError, match="key phrases"):
        shipped.read_vectors_file(path)


def test_a_paper_page_reads_stored_phrases_and_calls_no_model(fresh_data_dir):
    from fastapi.testclient import TestClient

    from dailypapers.search.keyword import KeywordIndex
    from dailypapers.search.service import SearchService
    from dailypapers.search.sync import sync_keyword_index
    from dailypapers.web import create_app

    settings = data_dir_settings(fresh_data_dir)
    store = Store.open(settings.resolved_database_url)
    try:
        records = real_records(8)
        store.write(records)
        J.embed_missing(store, HashEncoder(), batch_size=4)
        with_phrases, without = records[0].paper, records[1].paper
        V.save_vectors(store, MODEL_ID, [(without.arxiv_id, V.content_hash(paper_text(without)),
                                          vector_of(store, without))])  # stored before phrases were
        index = KeywordIndex(settings.index_dir / "keyword")
        sync_keyword_index(store, index)
        no_model = NoModel()
        app = create_app(settings, store=store)
        app.state.search = SearchService(index, None, lambda: no_model, store)
        with TestClient(app) as client:
            for paper, expected in ((with_phrases, stored(store, with_phrases)),
                                    (without, key_phrases(without, None, 6))):
                response = client.get(f"/papers/{paper.arxiv_id}")
                assert response.status_code == 200
                chips = [a.get_text() for a in BeautifulSoup(response.text, "html.parser")
                         .select(".keyword-chips .chip")]
                assert expected and chips == expected
        assert no_model.calls == 0
        assert stored(store, without) is None  # a page view stores nothing either
    finally:
        store.close()


def test_the_demo_ships_the_key_phrases_of_every_paper():
    from dailypapers.ingest.demo import DEMO_DIR, vectors_path

    data = shipped.read_vectors_file(vectors_path(DEMO_DIR))
    assert len(data["ids"]) > 9000
    assert all(p and len(p) <= 6 and all(1 <= len(w.split()) <= 3 for w in p) for p in data["phrases"])
