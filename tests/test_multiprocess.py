"""Several processes on one PostgreSQL database, all real: two `dailypapers serve` processes and
two `dailypapers worker` processes, a real SMTP server on loopback, members voting through both
web processes with API tokens at the same time. Checked: every job runs once, every digest is
queued and sent once, the vote counts equal the votes cast. And the web workers of one node
(`serve --workers 2`) share one copy of the vector index: each maps the same file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from pathlib import Path

import httpx
import numpy as np
import pytest
from support.databases import postgres_database
from support.delivery import Inbox, SMTPServer, member_with_subscription
from support.processes import (
    Background,
    Server,
    add_members_with_tokens,
    children,
    link_models,
    mappings,
    model_cache,
    node_env,
    running,
    wait_until,
)

from dailypapers.models import Author, Paper, Record
from dailypapers.search.encoder.embeddings import DIM, MODEL_ID
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.sync import rebuild_vector_index
from dailypapers.store import Store
from dailypapers.store.vectors import content_hash, embed_text, save_vectors

pytestmark = [pytest.mark.slow,
              pytest.mark.only_backend("postgresql", reason="several nodes and processes share one PostgreSQL")]
UTC = dt.timezone.utc
READERS, VOTERS = 16, 40


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def due_readers(store: Store, n: int) -> list:
    """n members whose daily digest (at the last full UTC hour) is due now."""
    hour = (now() - dt.timedelta(hours=1)).hour
    prefs = {"frequency": "daily", "hour": str(hour), "timezone": "UTC", "include_trending": "1"}
    created = now() - dt.timedelta(days=3)
    return [member_with_subscription(store, f"reader{i:02d}", created, prefs)[1] for i in range(n)]


async def cast_votes(urls: list[str], tokens: list[str], ids: list[str]) -> tuple[dict[str, int], list[str]]:
    """Every voter upvotes every paper, alternating between the web processes; each also sends its
    first vote to both processes at the same moment (it must count once), and every fifth voter
    takes its vote on the second paper back through the other process. Returns the expected
    local counts and any failed request."""
    errors: list[str] = []

    async def post(http: httpx.AsyncClient, url: str, pid: str, upvoted: bool) -> None:
        try:
            r = await http.post(f"{url}/api/papers/{pid}/vote", json={"upvoted": upvoted})
            if r.status_code != 200 or r.json()["upvoted"] is not upvoted:
                errors.append(f"{url} {pid}: HTTP {r.status_code} {r.text[:200]}")
        except httpx.HTTPError as exc:
            errors.append(f"{url} {pid}: {exc.__class__.__name__}: {exc}")

    async def voter(n: int, token: str, start: asyncio.Barrier) -> None:
        async with httpx.AsyncClient(headers={"authorization": f"Bearer {token}"}, timeout=60) as http:
            await start.wait()  # every voter ready: they all go at once
            await asyncio.gather(*(post(http, url, ids[0], True) for url in urls))
            for k, pid in enumerate(ids[1:], 1):
                await post(http, urls[(n + k) % 2], pid, True)
            if n % 5 == 0:
                await post(http, urls[(n + 2) % 2], ids[1], False)

    start = asyncio.Barrier(len(tokens))
    await asyncio.gather(*(voter(n, t, start) for n, t in enumerate(tokens)))
    taken_back = len(range(0, len(tokens), 5))
    expected = {pid: len(tokens) for pid in ids}
    expected[ids[1]] -= taken_back
    return expected, errors


def worker(name: str, env: dict[str, str], tmp_path: Path) -> Background:
    return Background(["worker", "--id", name], env, tmp_path / f"worker-{name}.log")


def test_two_web_and_two_worker_processes_on_one_postgresql(tmp_path):
    from conftest import hf_records

    inbox = Inbox()
    inbox.hold(parties=2)  # worker A's first message waits for one of worker B's: both take part
    smtp = SMTPServer(inbox).start()
    data_dir = tmp_path / "node"
    try:
        with postgres_database() as url:
            store = Store.open(url)
            try:
                store.write(hf_records(days=3))
                KeywordIndex(data_dir / "index" / "keyword").rebuild(store.iter_papers())
                ids = [p.arxiv_id for p in store.iter_papers()][:4]
                subs = due_readers(store, READERS)
                tokens = add_members_with_tokens(store, [f"voter{i:02d}" for i in range(VOTERS)])
                env = {**node_env(data_dir, url), **smtp.env(), "DAILYPAPERS_WORKER_JOBS": "digests,index",
                       "DAILYPAPERS_WORKER_POLL_SECONDS": "0.2", "DAILYPAPERS_WORKER_LEASE_SECONDS": "600"}
                web = [Server(env, tmp_path / f"web{n}.log") for n in (1, 2)]
                workers = [worker("A", env, tmp_path)]
                with running(*web, workers[0]):
                    for s in web:
                        s.wait_ready()
                    wait_until(lambda: (workers[0].check_alive(), "ready" in workers[0].output())[1], 90,
                               "worker A ready")
                    before = store.votes.counts(ids)
                    store.jobs.wake("digests", now())  # plan the due digests at the next poll
                    inbox.wait_held(1)  # A planned them, built one and is sending it
                    workers.append(worker("B", env, tmp_path))  # B can only send digests it built
                    with running(workers[1]):
                        expected, errors = asyncio.run(asyncio.wait_for(
                            cast_votes([s.url for s in web], tokens, ids), 300))
                        for s in web:  # both processes report the same, exact counts
                            shown = {pid: httpx.get(f"{s.url}/api/papers/{pid}", timeout=30).json()["localUpvotes"]
                                     for pid in ids}
                            assert shown == expected, s.url

                        # every digest sent; then nothing is queued or claimed, so nothing more can go out
                        inbox.wait_for(READERS, timeout=120)
                        wait_until(lambda: store.outbox.counts().get("sent") == READERS
                                   and not store.outbox.recent(status="queued", limit=READERS + 10)
                                   and not [j for j in store.jobs.all() if j.claimed_by], 120, "the workers idle")
                        assert [w.terminate() for w in workers] == [0, 0]

                assert errors == []
                counted = store.votes.counts(ids)
                assert before == {} and counted == expected  # votes exact
                assert Counter(m["To"] for m in inbox.messages) == Counter(s.address for s in subs)  # once each
                assert store.outbox.counts()["sent"] == READERS

                runs = store.jobs.runs()
                digest_runs = [r for r in runs if r.key.startswith("digest:")]
                assert Counter(r.job_id for r in digest_runs) == Counter({r.job_id: 1 for r in digest_runs})
                assert len(digest_runs) == READERS and all(r.outcome == "ok" for r in digest_runs)
                slots = Counter((r.job_id, r.scheduled_for) for r in runs)
                assert set(slots.values()) == {1}  # no job run twice for the same slot, recurring ones included
                assert {r.key for r in runs} >= {"digests", "index"}
                assert {r.worker for r in digest_runs} == {"A", "B"}  # the two workers shared them
            finally:
                store.close()
    finally:
        inbox.release()
        smtp.stop()


def test_web_workers_on_one_node_share_one_memory_mapped_copy_of_the_indexes(tmp_path):
    """`serve --workers 2`: both worker processes map the same index.faiss (the page cache holds
    one copy), and neither holds a private copy of its pages; both map the keyword index's files."""
    data_dir = tmp_path / "node"
    link_models(model_cache(), data_dir)
    with postgres_database() as url:
        store = Store.open(url)
        try:
            rng = np.random.default_rng(7)
            papers = [Paper(f"2611.{i:05d}", f"Shared index paper {i}", f"Abstract number {i}.",
                            [Author("Mapped Author")], version=1) for i in range(1200)]
            store.write([Record(p) for p in papers])
            vectors = rng.standard_normal((len(papers), DIM)).astype(np.float32)
            save_vectors(store, MODEL_ID, [(p.arxiv_id, content_hash(embed_text(p.title, p.abstract)), v)
                                           for p, v in zip(papers, vectors, strict=True)])
            KeywordIndex(data_dir / "index" / "keyword").rebuild(store.iter_papers())
            assert rebuild_vector_index(store, data_dir / "index" / "vectors", MODEL_ID, DIM) == len(papers)
            server = Server(node_env(data_dir, url), tmp_path / "web.log", workers=2)
            with running(server):
                server.wait_ready()

                keyword_dir = str(data_dir / "index" / "keyword") + "/"
                keyword_maps: dict[int, set[str]] = {}

                def mapping_workers() -> dict[int, dict]:
                    found = {}
                    for pid in children(server.pid):
                        maps = mappings(pid)
                        files = {path: m for path, m in maps.items() if path.endswith("/index.faiss")}
                        if files:
                            found[pid] = files
                            keyword_maps[pid] = {path for path in maps if path.startswith(keyword_dir)}
                    return found

                def both_mapped() -> dict[int, dict]:
                    server.check_alive()
                    for n in range(20):  # requests land on either worker; each search touches the indexes
                        r = httpx.get(f"{server.url}/api/papers/{papers[n * 7].arxiv_id}/similar",
                                      params={"limit": 5}, timeout=30)
                        assert r.status_code == 200 and r.json()[0]["source"] == "vector", r.text[:300]
                        r = httpx.get(f"{server.url}/api/papers/search",
                                      params={"q": f"abstract number {n}", "mode": "keyword"}, timeout=30)
                        assert r.status_code == 200 and r.json(), r.text[:300]
                    found = mapping_workers()
                    both = len(found) == 2 and all(keyword_maps.get(pid) for pid in found)
                    return found if both else {}

                found = wait_until(both_mapped, 60, "both web workers mapping the vector index", interval=0.5)
                paths = [set(files) for files in found.values()]
                assert paths[0] == paths[1] and len(paths[0]) == 1  # the same file, one generation
                (path,) = paths[0]
                assert Path(path).parent.parent == data_dir / "index" / "vectors"
                stats = [files[path] for files in found.values()]
                assert all(s.get("Private_Dirty", 0) == 0 for s in stats)  # nobody copied the pages
                assert sum(s.get("Shared_Clean", 0) for s in stats) > 0  # pages resident once, used by both
                # the keyword index (tantivy) is memory-mapped the same way: the same segment files
                first, second = (keyword_maps[pid] for pid in found)
                assert first & second
                assert "died" not in server.output()  # no worker was killed and restarted meanwhile
        finally:
            store.close()
