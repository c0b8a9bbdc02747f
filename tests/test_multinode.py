"""Two nodes sharing one PostgreSQL database, each with its own data directory (keyword index,
vector index, model cache) and its own `dailypapers serve`, as real processes.

A paper imported on node A (`dailypapers import` into the shared database) becomes searchable
on node B's web server within seconds, by keyword and — once `dailypapers embed` on node A has
stored its vector — by meaning; a node rebuilt from scratch (`dailypapers index rebuild` /
`index vectors`) answers exactly as before; and concurrent writers on PostgreSQL cannot make a
follower skip a change (a sequence number taken before another writer's, committed after it).
"""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import event, text
from support.databases import postgres_database
from support.paths import HF
from support.processes import Server, cli, link_models, model_cache, node_env, running, search_ids, wait_until

from dailypapers.search.encoder.embeddings import MODEL_ID
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.query import parse_query
from dailypapers.search.sync import sync_keyword_index
from dailypapers.search.vector_index import read_state
from dailypapers.store import Store
from dailypapers.store.vectors import vector_count

pytestmark = [pytest.mark.slow,
              pytest.mark.only_backend("postgresql", reason="several nodes and processes share one PostgreSQL")]
FIRST_DAYS = 4        # days of the HF archive imported before the nodes start
WAIT_S = 120  # the same bound for the threads of the concurrent-writers test
FOLLOW_DEADLINE = 120  # a bound against a hang, not the measure: a change takes well under 2 s


def write_days(lines: list[bytes], path: Path) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def ids_of(lines: list[bytes]) -> dict[str, str]:
    """arXiv id -> title of every paper listed on these HF days."""
    out = {}
    for line in lines:
        for item in json.loads(line)["daily_papers"]:
            out[item["paper"]["id"]] = item["paper"]["title"]
    return out


@pytest.fixture(scope="module")
def models() -> Path:
    return model_cache()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, models):
    """Node A and node B on one PostgreSQL database, both serving the first days (imported on A);
    then A embeds them, and B's follower builds B's vector index from the stored vectors."""
    root = tmp_path_factory.mktemp("cluster")
    with gzip.open(HF, "rb") as fh:
        days = fh.read().splitlines()
    first, later = days[-2 - FIRST_DAYS:-2], days[-1:]
    with postgres_database() as url:
        nodes = {}
        for name in ("a", "b"):
            data_dir = root / name
            link_models(models, data_dir)
            nodes[name] = node_env(data_dir, url)
        cli(["import", "hf", str(write_days(first, root / "first.jsonl"))], nodes["a"])  # updates A's index
        cli(["index", "rebuild"], nodes["b"])  # node B joins: its own keyword index, from the database
        store = Store.open(url)
        servers = {name: Server(env, root / f"serve-{name}.log") for name, env in nodes.items()}
        with running(*servers.values()):
            for s in servers.values():
                s.wait_ready()
            # vectors stored after B started (the real encoder, on A): B's follower builds its index
            vectors_b = root / "b" / "index" / "vectors"
            assert read_state(vectors_b) is None
            cli(["embed"], nodes["a"])
            stored = vector_count(store, MODEL_ID)
            assert stored >= 50
            wait_until(lambda: (read_state(vectors_b) or {}).get("count") == stored, FOLLOW_DEADLINE,
                       "node B's follower to build its vector index")
            yield {"url": url, "store": store, "env": nodes, "servers": servers, "root": root,
                   "first": ids_of(first), "later_file": write_days(later, root / "later.jsonl"),
                   "later": ids_of(later)}
        store.close()


def test_a_paper_imported_on_node_a_is_searchable_on_node_b_within_seconds(cluster):
    a, b = cluster["servers"]["a"], cluster["servers"]["b"]
    new = {pid: title for pid, title in cluster["later"].items() if pid not in cluster["first"]}
    assert len(new) >= 3
    pid, title = next(iter(new.items()))
    assert pid not in search_ids(b.url, title)  # not there yet: the check below can fail
    assert pid not in search_ids(a.url, title)
    first_id, first_title = next(iter(cluster["first"].items()))  # embedded after B started
    assert first_id in search_ids(b.url, first_title, mode="semantic", limit=5)

    vectors_b = Path(cluster["env"]["b"]["DAILYPAPERS_DATA_DIR"]) / "index" / "vectors"
    generation = read_state(vectors_b)["generation"]
    cli(["import", "hf", str(cluster["later_file"])], cluster["env"]["a"])  # import also syncs A's index
    assert pid in search_ids(a.url, title)
    for other_id, other_title in new.items():  # every new paper reaches node B by following the sequence
        wait_until(lambda i=other_id, t=other_title: i in search_ids(b.url, t), FOLLOW_DEADLINE,
                   f"{other_id} searchable on node B")
    # B's vector index moved past those changes (the new papers have no vector yet) without
    # writing a new generation of its files
    store = cluster["store"]
    wait_until(lambda: read_state(vectors_b)["last_seq"] == store.max_seq(), FOLLOW_DEADLINE,
               "node B's vector index at the latest change")
    assert read_state(vectors_b)["generation"] == generation

    # vectors follow too: embed the new papers on node A; node B finds them by meaning
    assert pid not in search_ids(b.url, title, mode="semantic", limit=5)
    cli(["embed"], cluster["env"]["a"])
    for other_id, other_title in list(new.items())[:3]:
        wait_until(lambda i=other_id, t=other_title: i in search_ids(b.url, t, mode="semantic", limit=5),
                   FOLLOW_DEADLINE,
                   f"{other_id} found by meaning on node B")
    hits = _search(b.url, title, "semantic")
    assert hits[0]["notice"] is None and hits[0]["explanation"]["similarity"] is not None
    vectors_a = Path(cluster["env"]["a"]["DAILYPAPERS_DATA_DIR"]) / "index" / "vectors"
    stored = vector_count(store, MODEL_ID)
    wait_until(lambda: read_state(vectors_b)["count"] == read_state(vectors_a)["count"] == stored, FOLLOW_DEADLINE,
               "every paper's vector in both nodes' indexes")


QUERIES = ["language models", "diffusion video generation", "reinforcement learning reasoning", "benchmark agents",
           "efficient attention author:Wang"]
FILTERS = ["author:Wang", "author:Li"]  # no words: newest first; papers of one day tie, broken by id


def _search(url: str, q: str, mode: str, limit: int = 20) -> list[dict]:
    import httpx

    response = httpx.get(f"{url}/api/papers/search", params={"q": q, "mode": mode, "limit": limit}, timeout=30)
    response.raise_for_status()
    return response.json()


def _answers(url: str) -> dict:
    out = {(q, mode): [h["paper"]["id"] for h in _search(url, q, mode)]
           for q in QUERIES for mode in ("keyword", "semantic", "hybrid")}
    for q in FILTERS:  # the same order on every node, ties included (KeywordIndex's `newest` key)
        found = [h["paper"]["id"] for h in _search(url, q, "keyword", limit=100)]
        assert 0 < len(found) < 100
        out[(q, "all")] = found
    return out


def test_a_node_rebuilt_from_scratch_answers_like_before_and_like_the_other_node(cluster):
    a, b = cluster["servers"]["a"], cluster["servers"]["b"]
    store = cluster["store"]

    def caught_up() -> bool:
        seq = store.max_seq()
        for env in cluster["env"].values():
            index_dir = Path(env["DAILYPAPERS_DATA_DIR"]) / "index"
            keyword, vectors = KeywordIndex(index_dir / "keyword"), read_state(index_dir / "vectors")
            if keyword.last_seq != seq or vectors["last_seq"] != seq:
                return False
        return True

    wait_until(caught_up, FOLLOW_DEADLINE, "both nodes at the latest change")
    before = _answers(b.url)
    assert sum(len(v) for v in before.values()) > 50
    assert _answers(a.url) == before  # the two nodes hold the same indexes

    env_b = cluster["env"]["b"]
    cli(["index", "rebuild"], env_b)  # while node B serves: built beside the live index, then swapped in
    cli(["index", "vectors"], env_b)
    after = _answers(b.url)
    assert after == before


def test_a_change_numbered_before_a_later_commit_is_not_skipped_by_the_follower(tmp_path):
    """PostgreSQL hands out sequence numbers when rows are inserted, not when they commit: a
    writer that took number n and commits after the writer of n+1 must still be followed."""
    from dailypapers.models import Author, Paper, Record

    def record(pid: str, title: str) -> Record:
        return Record(Paper(pid, title, "An abstract.", [Author("Seq Tester")], version=1))

    with postgres_database() as url:
        slow, fast = Store.open(url), Store.open(url)
        index = KeywordIndex(tmp_path / "keyword")
        inserted, release = threading.Event(), threading.Event()

        @event.listens_for(slow.engine, "after_cursor_execute")
        def pause_after_change_rows(conn, cursor, statement, *args):
            if statement.lstrip().upper().startswith("INSERT INTO PAPER_CHANGES") and not release.is_set():
                inserted.set()
                release.wait(WAIT_S)  # still inside the transaction: its number is taken, not committed

        errors: list[BaseException] = []

        def write(store: Store, rec: Record) -> None:
            try:
                store.write([rec])
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)

        t_slow = threading.Thread(target=write, args=(slow, record("2612.00001", "Quokka slow writer")))
        t_slow.start()
        assert inserted.wait(WAIT_S)
        t_fast = threading.Thread(target=write, args=(fast, record("2612.00002", "Wombat fast writer")))
        t_fast.start()

        def fast_done_or_waiting() -> bool:
            if not t_fast.is_alive():
                return True
            with fast.engine.connect() as conn:
                return conn.execute(text(  # a wait in this test's database, not another test's
                    "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                    "WHERE NOT l.granted AND a.datname = current_database()")).scalar_one() > 0

        wait_until(fast_done_or_waiting, WAIT_S, "the second writer to commit or wait")
        sync_keyword_index(fast, index)  # the follower looks while the first writer is still open
        release.set()
        t_slow.join(WAIT_S)
        t_fast.join(WAIT_S)
        assert not errors and not t_slow.is_alive() and not t_fast.is_alive()
        sync_keyword_index(fast, index)
        found = {h.arxiv_id for q in ("quokka", "wombat") for h in index.search(parse_query(q)).hits}
        assert found == {"2612.00001", "2612.00002"}
        slow.close()
        fast.close()
