"""The worker's scheduled jobs in-process: harvest (from a local OAI-PMH server replaying arXiv's
recorded answers) → index (the keyword index follows) → embed (with a small stand-in encoder);
recurring jobs move to their next run; a failing job is recorded and retried, the worker goes on."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from sources_helpers import ReplayServer, Reply, needs_data
from support.community import copy_data_dir
from support.databases import data_dir_settings
from test_sources_harvest import page_one, page_two

from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import parse_query
from dailypapers.store import Store
from dailypapers.store.vectors import vector_count
from dailypapers.worker import jobs
from dailypapers.worker.loop import Worker

pytestmark = needs_data
T = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)


class TinyEncoder:
    model_id = "tiny-test-encoder"
    dim = 8
    name = "tiny"

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:
        out = np.array([[len(t) % 7 + 1, t.count("a") + 1, t.count("e"), 1, 2, 3, 4, 5] for t in texts], np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


@pytest.fixture
def data_dir(web_data_dir, tmp_path):
    return copy_data_dir(web_data_dir, tmp_path / "data")


def test_harvest_then_index_then_embed(data_dir, monkeypatch):
    def route(path):
        return Reply(200, page_two() if "resumptionToken" in path else page_one())

    with ReplayServer(route=route) as oai:
        settings = data_dir_settings(data_dir, oai_url=oai.url + "/oai2", harvest_delay=0.0,
                                    harvest_categories=("cs",), worker_jobs=("harvest", "index", "embed"))
        store = Store.open(settings.resolved_database_url)
        index = KeywordIndex(settings.index_dir / "keyword")
        before = store.counts()["papers"]
        monkeypatch.setattr(jobs.Context, "encoder", lambda self: TinyEncoder())
        events: list[str] = []
        worker = Worker(store, settings, clock=lambda: T, on_event=events.append)
        assert worker.run(once=True) >= 3
        assert store.counts()["papers"] > before
        assert store.get_paper("1501.00001").title  # the harvested record (page two)
        assert any(line.startswith("job harvest:cs: ok: harvested cs:") for line in events), events
        assert any(line.startswith("job index: ok: indexed") for line in events), events
        # the index followed the harvest; the embed job that ran after it recorded one change per new
        # vector (for the vector indexes to follow), which the next index run will consume
        harvested = [seq for seq, pid in store.changes_since(0, limit=100_000)
                     if pid == "1501.00001"]
        assert index.last_seq >= harvested[0]
        assert "1501.00001" in [h.arxiv_id for h in index.search(parse_query("author:" + store.get_paper(
            "1501.00001").authors[0].name.split()[-1]), 0, 50).hits]
        assert vector_count(store, TinyEncoder.model_id) == store.counts()["papers"]
        harvest = store.jobs.get("harvest:cs")
        assert harvest.run_at == T + dt.timedelta(hours=6) and harvest.claimed_by is None
        assert store.jobs.get("index").run_at == T + dt.timedelta(minutes=1)
        assert (store.load_checkpoint("oai:cs") or {}).get("done") is True
        # nothing is due any more: a second pass runs nothing
        assert Worker(store, settings, clock=lambda: T, on_event=events.append).run(once=True) == 0
        store.close()


def test_a_failing_job_is_recorded_and_retried_while_the_worker_goes_on(data_dir):
    settings = data_dir_settings(data_dir, oai_url="http://127.0.0.1:9/oai2", harvest_delay=0.0,
                                 harvest_categories=("cs",), worker_jobs=("harvest", "index"))
    store = Store.open(settings.resolved_database_url)
    worker = Worker(store, settings, clock=lambda: T, on_event=lambda _: None)
    worker.run(once=True)
    failed = store.jobs.get("harvest:cs")
    assert failed.last_error and "FetchError" in failed.last_error
    assert failed.run_at == T + jobs.RETRY_BASE and failed.status == "queued"
    assert [r.outcome for r in store.jobs.runs(key="harvest:cs")] == ["error"]
    assert [r.outcome for r in store.jobs.runs(key="index")] == ["ok"]  # the other job still ran
    store.close()


def test_the_embed_job_waits_for_a_model(data_dir, monkeypatch):
    settings = data_dir_settings(data_dir, worker_jobs=("embed",))
    store = Store.open(settings.resolved_database_url)
    monkeypatch.setattr(jobs.Context, "encoder", lambda self: None)
    events: list[str] = []
    Worker(store, settings, clock=lambda: T, on_event=events.append).run(once=True)
    assert events == ["job embed: ok: skipped: the embedding model is unavailable"]
    store.close()
