"""Start-up checks of the vector index (`dailypapers serve` and `dailypapers demo` run them): an
index built from another model's vectors — an install upgraded from the title-less recipe — is
rebuilt from the stored vectors; one behind the database is synced."""

from __future__ import annotations

import gzip
import itertools

import numpy as np
from support.paths import DATA

from dailypapers import config
from dailypapers.cli import commands as cli
from dailypapers.search.encoder.embeddings import DIM, MODEL_ID
from dailypapers.search.sync import rebuild_vector_index
from dailypapers.search.vector_index import VectorIndex, check_index
from dailypapers.sources import listings
from dailypapers.store import Store
from dailypapers.store.vectors import content_hash, embed_text, save_vectors

OLD_MODEL = "all-MiniLM-L6-v2+title"  # the tag of vectors made while titles were also embedded on their own


def _records(n: int):
    with gzip.open(DATA / "arxiv_cs_listings.jsonl.gz", "rb") as fh:
        head = b"".join(itertools.islice(fh, n))
    return [r for r in listings.parse(head, "listings") if not isinstance(r, Exception)]


def _save(store: Store, model: str, records, seed: int) -> None:
    rng = np.random.default_rng(seed)
    save_vectors(store, model, [(r.paper.arxiv_id, content_hash(embed_text(r.paper.title, r.paper.abstract)),
                                 rng.standard_normal(DIM).astype(np.float32)) for r in records])


def test_an_index_of_the_old_recipe_is_rebuilt_at_start(tmp_path, database_url):
    settings = config.load(environ={}, data_dir=tmp_path, database_url=database_url)
    store = Store.open(database_url)
    try:
        records = _records(30)
        store.write(records)
        _save(store, OLD_MODEL, records, seed=1)
        path = settings.index_dir / "vectors"
        assert rebuild_vector_index(store, path, OLD_MODEL, DIM) == 30
        _save(store, MODEL_ID, records[:20], seed=2)  # `dailypapers embed` ran with the new recipe
        assert check_index(path, MODEL_ID, DIM).state == "other_model"

        cli._ensure_vectors(store, settings)
        assert check_index(path, MODEL_ID, DIM, store.max_seq()).state == "ok"
        assert len(VectorIndex.open(path, MODEL_ID)) == 20

        cli._ensure_vectors(store, settings)  # nothing to do the second time
        assert len(VectorIndex.open(path, MODEL_ID)) == 20
    finally:
        store.close()


def test_no_vectors_means_no_index(tmp_path, database_url):
    settings = config.load(environ={}, data_dir=tmp_path, database_url=database_url)
    store = Store.open(database_url)
    try:
        store.write(_records(5))
        cli._ensure_vectors(store, settings)
        assert check_index(settings.index_dir / "vectors", MODEL_ID, DIM).state == "missing"
    finally:
        store.close()
