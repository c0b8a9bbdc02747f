"""The demo loader (ingest/demo.py): the files load once, a changed file loads again, the demo
member exists afterwards, and the default directory is the repository's data/demo."""

from __future__ import annotations

import gzip
import itertools
import json

import pytest
from support.paths import HF, LISTINGS, ROOT

from dailypapers.community.accounts import DEMO_EMAIL
from dailypapers.errors import NotFound
from dailypapers.ingest import demo
from dailypapers.store import Store


def _head(path, n: int) -> bytes:
    with gzip.open(path, "rb") as fh:
        return b"".join(itertools.islice(fh, n))


@pytest.fixture
def demo_dir(tmp_path):
    path = tmp_path / "demo"
    path.mkdir()
    (path / "hf_daily_papers.jsonl.gz").write_bytes(gzip.compress(_head(HF, 2)))
    (path / "listings_subset.jsonl.gz").write_bytes(gzip.compress(_head(LISTINGS, 5)))
    return path


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.close()


def test_the_demo_loads_once_and_again_when_a_file_changes(store, demo_dir):
    first = demo.load(store, demo_dir)
    assert not first.already_loaded and [f.name for f, _ in first.imports] == [n for _, n in demo.FILES]
    assert all(r.ok for _, r in first.imports) and first.imports[1][1].written.inserted == 5
    assert first.member[0] == DEMO_EMAIL and first.vectors is None  # no vectors file here
    assert demo.load(store, demo_dir).already_loaded

    lines = _head(LISTINGS, 6)
    (demo_dir / "listings_subset.jsonl.gz").write_bytes(gzip.compress(lines))
    again = demo.load(store, demo_dir)
    assert not again.already_loaded and again.imports[1][1].written.inserted == 1
    assert store.get_paper(json.loads(lines.splitlines()[-1])["id"]) is not None


def test_a_directory_without_demo_files_is_not_found(store, tmp_path):
    with pytest.raises(NotFound, match="no demo data"):
        demo.load(store, tmp_path)


def test_the_default_directory_is_the_repositorys_data_demo():
    assert demo.DEMO_DIR == ROOT / "data" / "demo"
    assert [fmt for fmt, _ in demo.demo_files(demo.DEMO_DIR)] == ["hf", "listings"]
    assert demo.vectors_path(demo.DEMO_DIR).exists()
