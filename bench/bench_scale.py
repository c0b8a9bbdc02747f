"""All of arXiv (issue 6, part 5): bulk import, index builds, search and daily pages at 2.7M papers.

    python bench/make_snapshot.py --lines 2700000 --out /work/scale/snapshot_2700000.jsonl
    python bench/bench_scale.py run --backend sqlite --snapshot /work/scale/snapshot_2700000.jsonl \\
        --work /work/scale/sqlite
    python bench/bench_scale.py run --backend postgresql --snapshot … --work /work/scale/postgresql \\
        [--vectors-from /work/scale/sqlite]
    python bench/bench_scale.py report /work/scale/sqlite /work/scale/postgresql   # BENCHMARKS.md

`run` does the steps in order (`--steps import,hf,index,vectors,search,load` to pick some); each
step adds its figures to WORK/results.json, so steps can be run, and re-run, one at a time.

- import: `dailypapers import snapshot FILE --no-index` in a pseudo-terminal (so the progress bar
  is drawn as a user sees it; its last frame is kept), timed, every process of the command sampled
  for memory (RSS, private and shared, from /proc/PID/smaps_rollup) twice a second.
- hf: the Hugging Face daily papers on top, so the daily pages have entries.
- index: `dailypapers index rebuild` (tantivy over every paper).
- vectors: a faiss HNSW index of *synthetic* vectors (bench_vectors.clustered) for every stored
  paper id — embedding 2.7M abstracts on 2 CPU cores would take days; `--vectors-from DIR` reuses
  one built for the same ids.
- search: the real server (`dailypapers serve`), /api/papers/search one query at a time per mode.
- load: `dailypapers serve --workers 2`, 50 concurrent clients (asyncio + httpx, loopback) asking
  for daily pages of random listed days, bounded in time and in requests.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import pty
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
PG_ADMIN = os.environ.get("DAILYPAPERS_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

QUERIES = [
    "language models", "energy", "diffusion", "reinforcement learning", "\"large language models\"",
    "transformer attention", "graph neural network", "author:Wang", "cat:cs.CV segmentation",
    "benchmark evaluation", "quantization", "robot manipulation", "multimodal reasoning",
    "speech recognition", "protein", "retrieval augmented generation", "video generation",
    "federated learning privacy", "zero-shot", "mixture of experts", "agents", "3D gaussian splatting",
    "code generation", "hallucination", "rendering scenes from many small blurry ellipsoids",
    "teaching a robot arm to pick things up from videos", "making chatbots refuse harmful requests",
    "diffusion from:2025-01-01", "cat:hep-ph cross sections", "quark gluon plasma",
]
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


# ---------------------------------------------------------------------------------------------
# processes and memory


def _children(pid: int) -> list[int]:
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def process_tree(pid: int) -> list[int]:
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo += _children(p)
    return seen


def memory(pid: int) -> dict | None:
    """RSS, private and shared MiB of one process (smaps_rollup), and what it is."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in f if ":" in line[:40])
                  if v.strip().endswith("kB")}
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except (OSError, ValueError):
        return None
    return {"rss": kb.get("Rss", 0) / 1024, "pss": kb.get("Pss", 0) / 1024,
            "private": (kb.get("Private_Clean", 0) + kb.get("Private_Dirty", 0)) / 1024,
            "shared": (kb.get("Shared_Clean", 0) + kb.get("Shared_Dirty", 0)) / 1024,
            "anonymous": kb.get("Anonymous", 0) / 1024, "cmd": cmd}


def _role(cmd: str) -> str:
    if "multiprocessing" in cmd or "spawn_main" in cmd:
        return "parser process" if "import" not in cmd else "child process"
    if "dailypapers import" in cmd or " import " in cmd:
        return "importer (reads, writes)"
    return cmd.split(" -m ")[-1][:60] if " -m " in cmd else cmd[:60]


class Sampler(threading.Thread):
    """Peak memory of every process in a tree, sampled every `interval` seconds."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peaks, self._halt = pid, interval, {}, threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            for p in process_tree(self.pid):
                m = memory(p)
                if m and m["rss"] > self.peaks.get(p, {}).get("rss", -1):
                    self.peaks[p] = m
            self._halt.wait(self.interval)

    def stop(self) -> list[dict]:
        self._halt.set()
        self.join(5)
        return [dict(m, pid=p) for p, m in sorted(self.peaks.items())]


def label_processes(peaks: list[dict], names: dict[str, str]) -> list[dict]:
    out = []
    for m in peaks:
        role = next((label for needle, label in names.items() if needle in m["cmd"]), m["cmd"][:60])
        out.append({"process": role, "rss": m["rss"], "private": m["private"], "shared": m["shared"],
                    "anonymous": m["anonymous"]})
    return out


# ---------------------------------------------------------------------------------------------
# the data directory


class Setup:
    def __init__(self, backend: str, work: Path) -> None:
        self.backend, self.work = backend, work
        self.data = work / "data"
        self.results_path = work / "results.json"
        self.url = (f"sqlite:///{self.data / 'dailypapers.db'}" if backend == "sqlite"
                    else PG_ADMIN.rsplit("/", 1)[0] + "/dailypapers_scale")

    def env(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ, DAILYPAPERS_DATA_DIR=str(self.data), DAILYPAPERS_DATABASE_URL=self.url,
                   DAILYPAPERS_RATE_LIMIT_SEARCH="0", DAILYPAPERS_RATE_LIMIT_API="0", COLUMNS="110",
                   PYTHONPATH=str(ROOT / "src"))
        env.update(extra)
        return env

    def results(self) -> dict:
        return json.loads(self.results_path.read_text()) if self.results_path.exists() else {}

    def save(self, key: str, value) -> None:
        data = self.results()
        if isinstance(value, dict):  # other sessions commit to src/ while a long run goes on
            value = {**value, **code_version()}
        data[key] = value
        data["backend"] = self.backend
        self.results_path.write_text(json.dumps(data, indent=1, default=str))
        print(f"[{self.backend}] {key}: {json.dumps(value, default=str)[:600]}", flush=True)

    def fresh(self) -> None:
        shutil.rmtree(self.data, ignore_errors=True)
        self.data.mkdir(parents=True)
        for models in (ROOT / "var" / "models", Path(os.environ.get("DAILYPAPERS_BENCH_MODELS", "/nonexistent"))):
            if models.is_dir():  # the int8 encoder `make run` built: not rebuilt per run
                shutil.copytree(models, self.data / "models")
                break
        if self.backend == "postgresql":
            import psycopg
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute("DROP DATABASE IF EXISTS dailypapers_scale WITH (FORCE)")
                conn.execute("CREATE DATABASE dailypapers_scale")

    def database_size(self) -> float:
        if self.backend == "sqlite":
            return sum(p.stat().st_size for p in self.data.glob("dailypapers.db*")) / 2**20
        import psycopg
        with psycopg.connect(self.url) as conn:
            return conn.execute("select pg_database_size(current_database())").fetchone()[0] / 2**20

    def counts(self) -> dict:
        from dailypapers.store import Store
        store = Store.open(self.url, migrate_schema=False)
        try:
            return {k: v for k, v in store.counts().items() if isinstance(v, int)}
        finally:
            store.close()


def code_version() -> dict:
    """The commit a step ran with, and whether src/ had uncommitted changes then."""
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True).stdout
    return {"commit": head, "src_dirty": sorted(line[3:] for line in dirty.splitlines())}


def run_in_pty(cmd: list[str], env: dict, log: Path) -> dict:
    """Run a command with a pseudo-terminal as stdout/stderr; time it and sample its memory."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    started, cpu0 = time.perf_counter(), os.times()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    sampler = Sampler(proc.pid)
    sampler.start()
    tail = b""
    with open(log, "wb") as out:
        while True:
            ready, _, _ = select.select([master], [], [], 1.0)
            chunk = b""
            if ready:
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    chunk = b""
            if chunk:
                out.write(chunk)
                tail = (tail + chunk)[-20000:]
                continue
            if proc.poll() is not None:
                break
            if ready:
                time.sleep(0.2)
    proc.wait()
    seconds = time.perf_counter() - started
    cpu1 = os.times()
    os.close(master)
    frames = [_ANSI.sub("", f).strip() for f in re.split(r"[\r\n]", tail.decode(errors="replace"))]
    frames = [f for f in frames if f]
    return {"seconds": seconds, "returncode": proc.returncode, "last_lines": frames[-4:],
            "cpu_seconds": (cpu1.children_user - cpu0.children_user) + (cpu1.children_system - cpu0.children_system),
            "processes": sampler.stop()}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "dailypapers", *args]


# ---------------------------------------------------------------------------------------------
# steps


def step_import(s: Setup, snapshot: Path) -> None:
    s.fresh()
    lines = sum(1 for _ in open(snapshot, "rb"))
    r = run_in_pty(cli("import", "snapshot", str(snapshot), "--no-index"), s.env(), s.work / "import.log")
    counts = s.counts()
    r["processes"] = label_processes(r["processes"], {"dailypapers.ingest.parallel": "parser process",
                                                      "dailypapers import": "importer (reads, writes)"})
    s.save("import", {**r, "lines": lines, "file_mib": snapshot.stat().st_size / 2**20, "papers": counts["papers"],
                      "rate": lines / r["seconds"], "db_mib": s.database_size(), "counts": counts})


def step_hf(s: Setup) -> None:
    r = run_in_pty(cli("import", "hf", str(SHARED / "hf_daily_papers.jsonl.gz"), "--no-index"), s.env(),
                   s.work / "hf.log")
    r["processes"] = label_processes(r["processes"], {"dailypapers import": "importer"})
    s.save("hf", {**r, "db_mib": s.database_size(), "counts": s.counts()})


def step_index(s: Setup, source: Path | None = None) -> None:
    if source is not None:  # the same papers: reuse the other backend's build, caught up to this database
        target = s.data / "index" / "keyword"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source / "data" / "index" / "keyword", target)
        code = ("import sys; from dailypapers.search.keyword import KeywordIndex; from dailypapers.store import Store;"
                "KeywordIndex(sys.argv[2]).set_last_seq(Store.open(sys.argv[1], migrate_schema=False).max_seq())")
        subprocess.run([sys.executable, "-c", code, s.url, str(target)], env=s.env(), check=True)
        s.save("index", {**json.loads((source / "results.json").read_text())["index"], "copied_from": str(source)})
        return
    r = run_in_pty(cli("index", "rebuild"), s.env(), s.work / "index.log")
    r["processes"] = label_processes(r["processes"], {"index rebuild": "index rebuild"})
    s.save("index", {**r, "index_mib": live_keyword_mib(s.data / "index" / "keyword")})


def live_keyword_mib(path: Path) -> float:
    """The size of the generation the index serves (a rebuild keeps the previous one beside it)."""
    live = path / json.loads((path / "state.json").read_text())["generation"]
    return sum(p.stat().st_size for p in live.rglob("*") if p.is_file()) / 2**20


def step_vectors(s: Setup, source: Path | None, ids_file: Path | None = None) -> None:
    target = s.data / "index" / "vectors"
    shutil.rmtree(target, ignore_errors=True)
    if source is not None:
        shutil.copytree(source / "data" / "index" / "vectors", target)
        code = ("import sys; from dailypapers.search.vector_index import VectorIndex, read_state;"
                "from dailypapers.store import Store; s = Store.open(sys.argv[1], migrate_schema=False);"
                "st = read_state(sys.argv[2]); ix = VectorIndex(sys.argv[2], int(st['dim']), st['model_id']);"
                "ix.set_last_seq(s.max_seq()); ix.save(); ix.close()")
        subprocess.run([sys.executable, "-c", code, s.url, str(target)], env=s.env(), check=True)
        built = json.loads((source / "results.json").read_text()).get("vectors", {})
        s.save("vectors", {**built, "copied_from": str(source)})
        return
    extra = ["--ids", str(ids_file)] if ids_file else []
    r = run_in_pty([sys.executable, str(Path(__file__)), "build-vectors", s.url, str(target), *extra], s.env(),
                   s.work / "vectors.log")
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file()) / 2**20
    r["processes"] = label_processes(r["processes"], {"build-vectors": "vector index build"})
    s.save("vectors", {**r, "index_mib": size})


def build_vectors(url: str, path: Path, ids_file: Path | None = None) -> None:
    """(A subprocess of step_vectors.) Synthetic vectors for every stored id, in id order."""
    from bench_vectors import clustered
    from sqlalchemy import select

    from dailypapers.search.encoder.embeddings import DIM, MODEL_ID
    from dailypapers.search.vector_index import VectorIndex
    from dailypapers.store import Store
    from dailypapers.store.schema import papers

    if ids_file is not None:  # the ids a database will hold, built while it imports (copied in by --vectors-from)
        ids, seq = sorted(set(ids_file.read_text().split())), 0
    else:
        store = Store.open(url, migrate_schema=False)
        with store.engine.connect() as conn:
            ids = conn.execute(select(papers.c.id).order_by(papers.c.id)).scalars().all()
        seq = store.max_seq()
    started = time.time()
    with VectorIndex(path, DIM, MODEL_ID, reset=True, threads=2) as index:
        pos = 0
        for chunk in clustered(len(ids), seed=11):
            index.add(ids[pos:pos + len(chunk)], chunk)
            pos += len(chunk)
            print(f"added {pos:,} / {len(ids):,} in {time.time() - started:.0f} s", flush=True)
        index.set_last_seq(seq)
        index.save()
    print(f"vector index: {len(ids):,} vectors in {time.time() - started:.0f} s", flush=True)


class Server:
    def __init__(self, s: Setup, workers: int) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(s.work / f"serve-{workers}.log", "wb")
        self.proc = subprocess.Popen(cli("serve", "--host", "127.0.0.1", "--port", str(self.port),
                                         "--workers", str(workers)), env=s.env(), cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait(self, timeout: float = 600) -> None:
        import httpx
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited; see its log")
            try:
                if httpx.get(self.base + "/api/daily_papers?limit=1", timeout=30).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise RuntimeError("the server did not answer")

    def memory(self, names: dict[str, str]) -> list[dict]:
        found = [dict(m, pid=p) for p in process_tree(self.proc.pid) if (m := memory(p))]
        return label_processes(found, names)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))] if values else float("nan")


def step_search(s: Setup, rounds: int = 2) -> None:
    import httpx
    server = Server(s, 1)
    try:
        server.wait()
        out: dict = {"queries": len(QUERIES), "rounds": rounds, "modes": {}}
        with httpx.Client(base_url=server.base, timeout=120) as client:
            for q in QUERIES[:3]:  # loads the encoder and maps the indexes
                client.get("/api/papers/search", params={"q": q, "mode": "hybrid", "limit": 30})
            for mode in ("keyword", "semantic", "hybrid"):
                times, notices, empty = [], set(), 0
                for _ in range(rounds):
                    for q in QUERIES:
                        t = time.perf_counter()
                        r = client.get("/api/papers/search", params={"q": q, "mode": mode, "limit": 30})
                        times.append((time.perf_counter() - t) * 1000)
                        r.raise_for_status()
                        body = r.json()
                        empty += not body
                        notices |= {x.get("notice") for x in body if x.get("notice")}
                out["modes"][mode] = {"n": len(times), "p50": pct(times, 50), "p99": pct(times, 99),
                                      "empty": empty, "notices": sorted(notices)}
                print(mode, out["modes"][mode], flush=True)
        out["processes"] = server.memory({"serve": "web server (1 worker)"})
    finally:
        server.stop()
    s.save("search", out)


def step_load(s: Setup, clients: int = 50, seconds: float = 60, max_requests: int = 20000, workers: int = 2) -> None:
    import httpx
    from sqlalchemy import select

    from dailypapers.store import Store
    from dailypapers.store.schema import daily_entries

    store = Store.open(s.url, migrate_schema=False)
    with store.engine.connect() as conn:
        days = [str(d)[:10] for d in conn.execute(select(daily_entries.c.date).distinct()).scalars()]
    store.close()
    server = Server(s, workers)
    try:
        server.wait()
        rng = random.Random(6)
        times: list[float] = []
        errors: list[str] = []
        peaks: dict[int, dict] = {}
        stop_at = float("inf")

        async def client(n: int, http: httpx.AsyncClient) -> None:
            while time.monotonic() < stop_at and len(times) + len(errors) < max_requests:
                day = rng.choice(days)
                t = time.perf_counter()
                try:
                    r = await http.get(f"/papers/date/{day}")
                    if r.status_code == 200:
                        times.append((time.perf_counter() - t) * 1000)
                    else:
                        errors.append(str(r.status_code))
                except httpx.HTTPError as exc:
                    errors.append(type(exc).__name__)

        async def sample() -> None:
            while time.monotonic() < stop_at:
                for p in process_tree(server.proc.pid):
                    m = memory(p)
                    if m and m["rss"] > peaks.get(p, {}).get("rss", -1):
                        peaks[p] = m
                await asyncio.sleep(1)

        async def main() -> float:
            limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
            async with httpx.AsyncClient(base_url=server.base, timeout=120, limits=limits) as http:
                for day in days[:5]:
                    await http.get(f"/papers/date/{day}")
                nonlocal stop_at
                stop_at = time.monotonic() + seconds
                started = time.perf_counter()
                await asyncio.gather(sample(), *(client(n, http) for n in range(clients)))
                return time.perf_counter() - started

        wall = asyncio.run(main())
        procs = label_processes([dict(m, pid=p) for p, m in sorted(peaks.items())],
                                {"resource_tracker": "multiprocessing resource tracker",
                                 "spawn_main": "web worker", "serve": "web server (supervisor)"})
        out = {"clients": clients, "workers": workers, "seconds": wall, "requests": len(times), "errors": len(errors),
               "error_kinds": sorted(set(errors))[:5], "rps": len(times) / wall, "p50": pct(times, 50),
               "p99": pct(times, 99), "days": len(days), "processes": procs}
    finally:
        server.stop()
    s.save("load", out)


def step_pages(s: Setup, seconds: int = 10, warmup: int = 5, clients: int = 50) -> None:
    """Issue 16 goal 1 at this size: bench_pages_load's server (the app as `serve --workers 2` runs it, plus
    `/__hello`) and wrk, render cache off then on; every process of the server sampled for memory."""
    import tempfile

    import bench_pages_load as pl

    env = s.env(DAILYPAPERS_RATE_LIMIT_FORMS="0")
    kinds = pl.urls(env)
    args = argparse.Namespace(seconds=seconds, warmup=warmup, clients=clients)
    out: dict = {"clients": clients, "seconds": seconds, "warmup": warmup, "load_before": os.getloadavg(),
                 "modes": {}}
    for mode, mb in (("cache off", "0"), ("cache on", "64")):
        with tempfile.TemporaryDirectory() as tmp:
            sampler = _ServerSampler()
            sampler.start()
            try:
                started, cpu0 = time.perf_counter(), os.times()
                results = pl.run_mode(dict(env, DAILYPAPERS_RENDER_CACHE_MB=mb), kinds, args, Path(tmp))
                cpu1 = os.times()
            finally:
                peaks = sampler.stop()
        procs = label_processes(peaks, {"resource_tracker": "multiprocessing resource tracker",
                                        "spawn_main": "web worker", "uvicorn.run": "web server (supervisor)"})
        out["modes"][mode] = {"kinds": results, "processes": procs, "seconds": time.perf_counter() - started,
                              "server_cpu_seconds": (cpu1.children_user - cpu0.children_user)
                              + (cpu1.children_system - cpu0.children_system)}
        print(mode, json.dumps(results), flush=True)
    out["load_after"] = os.getloadavg()
    s.save("pages", out)


class _ServerSampler(Sampler):
    """Peak memory of the bench_pages_load server's processes (children of this process)."""

    def __init__(self) -> None:
        super().__init__(os.getpid(), 1.0)

    def stop(self) -> list[dict]:
        return [m for m in super().stop() if "bench_pages_load" in m["cmd"] or "spawn_main" in m["cmd"]
                or "resource_tracker" in m["cmd"]]


# ---------------------------------------------------------------------------------------------
# the report


def _mib(v: float) -> str:
    return f"{v:,.0f}"


def _procs(processes: list[dict]) -> str:
    names = {"dailypapers.ingest.parallel": "parser process", "resource": "multiprocessing resource tracker"}
    out = []
    for p in processes:
        name = next((label for needle, label in names.items() if needle in p["process"]), p["process"])
        out.append(f"{name}: {_mib(p['rss'])} ({_mib(p['private'])} / {_mib(p['shared'])}; "
                   f"anonymous {_mib(p.get('anonymous', 0))})")
    return "; ".join(out)


_SPEED = re.compile(r"(first|again|update): (\d+) records wall ([\d.]+)s \d+/s cpu ([\d.]+)s")


def speed_rows(specs: list[str]) -> list[dict]:
    """BACKEND:LINES:BEFORE_LOG:AFTER_LOG (bench_import_speed.py outputs) -> table rows."""
    rows = []
    for spec in specs:
        backend, lines, before, after = spec.split(":")
        found = {}
        for version, log in (("before", before), ("after", after)):
            text = Path(log).read_bytes().replace(b"\0", b"").decode(errors="replace")
            for m in _SPEED.finditer(text):
                found[(version, m.group(1))] = (float(m.group(3)), float(m.group(4)))
        for run in ("first", "again", "update"):
            if ("before", run) in found and ("after", run) in found:
                (bw, bc), (aw, ac) = found[("before", run)], found[("after", run)]
                rows.append({"backend": backend, "lines": int(lines), "run": run, "before_wall": bw,
                             "after_wall": aw, "before_cpu": bc, "after_cpu": ac})
    return rows


def render_speed(rows: list[dict]) -> list[str]:
    if not rows:
        return []
    lines = ["### The bulk import before and after", "",
             "`bench/bench_import_speed.py` on the first lines of the generated file: the code before "
             "re-imports skipped applied lines (commit 110e8e6, a checkout given with `SRC=`) against the code "
             "now (seen_lines.py), one after the other on the idle machine. *first* imports into an empty "
             "database, *again* re-imports the same file (nothing changes), *update* imports a copy with every "
             "100th line revised (a new version with a new title: what a weekly snapshot brings). CPU seconds "
             "are the importing process's (PostgreSQL's server not counted).", "",
             "| backend | lines | run | before wall s | after wall s | speed-up (wall) | before CPU s | after CPU s |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['backend']} | {r['lines']:,} | {r['run']} | {r['before_wall']:.0f} | "
                     f"{r['after_wall']:.0f} | {r['before_wall'] / r['after_wall']:.2f}x | {r['before_cpu']:.1f} | "
                     f"{r['after_cpu']:.1f} |")
    return lines + [""]


def render(results: list[dict], speed: list[dict] | None = None, notes: str = "") -> str:
    sizes = sorted({r["import"]["lines"] for r in results if r.get("import")})
    size_text = " and ".join(f"{n:,}" for n in sizes) or "?"
    lines = ["## All of arXiv: bulk import, indexes, search and daily pages at scale", "",
             "The snapshot: `bench/make_snapshot.py` writes lines in the `arxiv-metadata-oai-snapshot.json` "
             "format from the real records in ../shared/data (the 75k cs listings and the 249 snapshot fixture "
             "lines): each line a copy of a random seed with a new valid id (YYMM.NNNNN from 1501, numbers from "
             "60001 so no real id is reused), a first version dated in that month (35% with a v2, 10% a v3), "
             "sentences reordered, ~1 word in 12 of the abstract, 1 of the title and ~30% of the authors "
             "swapped for others from the corpus. On top, the Hugging Face daily papers (9,877 papers, 580 "
             "days) so the daily pages have entries.", "",
             f"**Measured at {size_text} snapshot lines on both backends**, one step at a time on an "
             "otherwise idle machine (2 cores; what else ran, briefly, during some steps is listed under *Reading "
             "the figures*).", ""]
    lines += render_speed(speed or [])
    lines += ["### Import (`dailypapers import snapshot FILE --no-index`)", "",
              "| backend | lines | seconds | lines/s | CPU s | database MiB | papers | authors | links "
              "| peak RSS MiB (private / shared; anonymous), per process |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        i = r.get("import")
        if not i:
            continue
        procs = _procs(i["processes"])
        c = i["counts"]
        lines.append(f"| {r['backend']} | {i['lines']:,} | {i['seconds']:,.0f} | {i['rate']:,.0f} | "
                     f"{i['cpu_seconds']:,.0f} | {_mib(i['db_mib'])} | {c['papers']:,} | {c['authors']:,} | "
                     f"{c['links']:,} | {procs} |")
    for r in results:
        i = r.get("import")
        if i and i.get("cpu_seconds"):
            per_line = i["cpu_seconds"] / i["lines"]
            lines.append(f"\n{r['backend']}: {per_line * 1e6:,.0f} µs of importer CPU per line"
                         f"{'' if r['backend'] == 'sqlite' else ' (the PostgreSQL server not counted)'}, "
                         f"{i['seconds'] / 60:,.1f} min wall for the whole file.")
    bars = [(r["backend"], r["import"]["last_lines"]) for r in results if r.get("import")]
    if bars:
        lines += ["", "The progress bar's last frame (as drawn on the terminal):", ""]
        for backend, frame in bars:
            counted = [f for f in frame if re.search(r"[\d,]+ records", f)]
            shown = max(counted, key=lambda f: int(re.search(r"([\d,]+) records", f).group(1).replace(",", "")),
                        default=frame[-1] if frame else "")
            lines.append(f"- {backend}: `{shown}`")
    lines += ["", "### Indexes, search, daily pages", "",
              "| backend | + HF import s | database MiB after | keyword index build s (CPU s) | index MiB "
              "| build peak RSS MiB (private) |",
              "|---|---:|---:|---:|---:|---:|"]
    for r in results:
        h, k = r.get("hf"), r.get("index")
        if not (h and k):
            continue
        rss = max(k["processes"], key=lambda p: p["rss"]) if k["processes"] else {"rss": 0, "private": 0}
        built = f"{k['seconds']:,.0f} ({k['cpu_seconds']:,.0f})"
        if k.get("copied_from"):
            built = f"not built: a copy of {Path(k['copied_from']).name}'s"
        lines.append(f"| {r['backend']} | {h['seconds']:,.0f} | {_mib(h['db_mib'])} | {built} | "
                     f"{_mib(k['index_mib'])} | {_mib(rss['rss'])} ({_mib(rss['private'])}) |")
    for r in results:
        old = r.get("index_with_deletes")
        if old and old.get("seconds") and old != r.get("index"):
            peak = max(old["processes"], key=lambda p: p["rss"]) if old["processes"] else {"rss": 0, "anonymous": 0}
            lines.append(f"\n{r['backend']}, the same build before the rebuild stopped queuing a delete per paper "
                         f"(a fresh generation holds nothing to replace; tantivy kept every queued delete in memory "
                         f"until the commit): {old['seconds']:,.0f} s ({old['cpu_seconds']:,.0f} CPU s), peak RSS "
                         f"{_mib(peak['rss'])} MiB, {_mib(peak.get('anonymous', 0))} of it anonymous.")
    v = next((r["vectors"] for r in results if r.get("vectors", {}).get("seconds")), None)
    if v:
        lines += ["", f"Vector index: **synthetic** vectors (bench_vectors.clustered, 384 dimensions) for every "
                  f"stored id — not embeddings of these abstracts (embedding 2.7M abstracts on 2 CPU cores would "
                  f"take days); faiss HNSW, 8-bit, M=32, efConstruction=128, built on 2 threads in "
                  f"{v['seconds'] / 60:,.1f} min ({v['cpu_seconds'] / 60:,.1f} CPU-min), {_mib(v['index_mib'])} MiB; "
                  + ("the other backend's run used a copy (same ids)." if any(
                      r.get("vectors", {}).get("copied_from") for r in results) else "")]
    lines += ["", "Search through the real server (`dailypapers serve`, one worker), `/api/papers/search`, "
              f"limit 30, one query at a time, {len(QUERIES)} queries × 2 rounds (words, phrases, filters, "
              "paraphrases), after 3 warm-up queries; semantic and hybrid encode every query on the CPU (the "
              "second round hits the query-vector cache). Semantic results come from the synthetic vectors, so "
              "only their latency means anything.", "",
              "| backend | mode | queries | p50 ms | p99 ms | empty results |", "|---|---|---:|---:|---:|---:|"]
    for r in results:
        for mode, m in r.get("search", {}).get("modes", {}).items():
            note = f" ({'; '.join(m['notices'])})" if m["notices"] else ""
            lines.append(f"| {r['backend']} | {mode}{note} | {m['n']} | {m['p50']:.0f} | {m['p99']:.0f} "
                         f"| {m['empty']} |")
    lines += ["", "Daily pages under load: `dailypapers serve --workers 2`, 50 concurrent clients on loopback "
              "(asyncio + httpx in one process on the same 2 cores) asking for `/papers/date/{day}` of random "
              "listed days, bounded to 60 s and 20,000 requests.", "",
              "| backend | clients | seconds | requests | requests/s | p50 ms | p99 ms | errors "
              "| peak RSS MiB (private / shared; anonymous), per process |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in results:
        x = r.get("load")
        if not x:
            continue
        procs = _procs(x["processes"])
        lines.append(f"| {r['backend']} | {x['clients']} | {x['seconds']:.0f} | {x['requests']:,} | {x['rps']:.1f} | "
                     f"{x['p50']:.0f} | {x['p99']:.0f} | {x['errors']}"
                     f"{' (' + ', '.join(x['error_kinds']) + ')' if x['errors'] else ''} | {procs} |")
    for r in results:
        old = r.get("before_analyze")
        if old and old.get("search") and old.get("load"):
            modes = old["search"]["modes"]
            lines.append(f"\n{r['backend']}, the same runs before the tables were analysed (autovacuum is off on "
                         f"this server, so an import that does not run ANALYZE leaves the planner without "
                         f"statistics; imports now do, see Store.analyze): search p50 "
                         + " / ".join(f"{m} {modes[m]['p50']:.0f} ms" for m in modes)
                         + f"; daily pages under 50 clients {old['load']['rps']:.1f} requests/s, p50 "
                         f"{old['load']['p50']:,.0f} ms, p99 {old['load']['p99']:,.0f} ms.")
    search_mem = [(r["backend"], r["search"]["processes"]) for r in results if r.get("search", {}).get("processes")]
    for backend, procs in search_mem:
        text = "; ".join(f"{p['process']}: {_mib(p['rss'])} RSS, {_mib(p['private'])} private, "
                         f"{_mib(p['shared'])} shared, {_mib(p['anonymous'])} anonymous" for p in procs)
        lines.append(f"\nSearch server memory after the search run ({backend}): {text}.")
    lines += render_pages(results)
    lines += render_profile(results)
    if notes:
        lines += ["", "Reading the figures:", "", notes.strip()]
    return "\n".join(lines) + "\n"


def render_pages(results: list[dict]) -> list[str]:
    """Step pages: every URL kind against hello-world in the same server run (issue 16 goal 1)."""
    lines: list[str] = []
    for r in results:
        x = r.get("pages")
        if not x:
            continue
        papers = r.get("hf", {}).get("counts", {}).get("papers", 0)
        lines += ["", f"Pages under load, {r['backend']}, {papers:,} papers (issue 16 goal 1): bench_pages_load.py's "
                  f"server (uvicorn, the app factory, 2 workers, as `serve --workers 2`, plus `/__hello`) and "
                  f"`wrk -t2 -c{x['clients']}` on the same 2 cores, {x['seconds']} s per URL kind after a "
                  f"{x['warmup']} s warm-up, `Accept-Encoding: gzip`; load average {x['load_before'][0]:.1f} before, "
                  f"{x['load_after'][0]:.1f} after; commit {x.get('commit', '?')[:7]}.", "",
                  "| URL | cache off: req/s | p50 / p99 ms | of hello | cache on: req/s | p50 / p99 ms | of hello |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        modes = x["modes"]
        for kind in modes["cache off"]["kinds"]:
            row = [kind]
            for mode in ("cache off", "cache on"):
                k, hello = modes[mode]["kinds"][kind], modes[mode]["kinds"]["hello-world"]["rps"]
                bad = f" ({k['bad']} errors)" if k["bad"] else ""
                row += [f"{k['rps']:,.0f}{bad}", f"{k['p50']:,.1f} / {k['p99']:,.1f}",
                        f"{k['rps'] / max(hello, 1e-9):.0%}"]
            lines.append("| " + " | ".join(row) + " |")
        for mode in ("cache off", "cache on"):
            lines.append(f"\nPeak memory per process, {mode}: {_procs(modes[mode]['processes'])}.")
    return lines


def _dirty(step: dict) -> str:
    files = [Path(f).name for f in step.get("src_dirty") or []]
    return f" with uncommitted changes to {', '.join(files)} (another session's work in progress)" if files else ""


def render_profile(results: list[dict]) -> list[str]:
    """bench/profile_keyword_scale.py's output (WORK/profile_keyword.json)."""
    lines: list[str] = []
    for r in results:
        p = r.get("profile_keyword")
        if not p:
            continue
        lines += ["", f"### Where keyword search's time goes at {p['papers']:,} papers ({r['backend']})", "",
                  f"`python bench/profile_keyword_scale.py WORK`: in process, what `/api/papers/search?mode=keyword"
                  f"&limit=30` runs for each of the {p['queries']} queries above (SearchService.search with its "
                  f"ranking caches cleared before each query, the page's papers from the store, the did-you-mean "
                  f"suggestion); load average {p['load_before'][0]:.1f} before, {p['load_after'][0]:.1f} after; "
                  f"commit {p['commit'][:7]}{_dirty(p)}. Per query: wall p50 {p['p50_ms']:.0f} ms, "
                  f"p99 {p['p99_ms']:.0f} ms; "
                  f"CPU p50 {p['cpu_p50_ms']:.0f} ms, p99 {p['cpu_p99_ms']:.0f} ms.", "",
                  "Timers (no profiler), summed over the queries:", "",
                  "| stage | wall ms | share of wall | CPU ms |", "|---|---:|---:|---:|"]
        for stage, (wall, cpu) in sorted(p["stages"].items(), key=lambda kv: -kv[1][0]):
            lines.append(f"| {stage} | {wall:,.0f} | {wall / p['total_wall_ms']:.0%} | {cpu:,.0f} |")
        rest_w = p["total_wall_ms"] - sum(w for w, _ in p["stages"].values())
        rest_c = p["total_cpu_ms"] - sum(c for _, c in p["stages"].values())
        lines.append(f"| the rest (query parsing, fusion, paging, Python glue) | {rest_w:,.0f} | "
                     f"{rest_w / p['total_wall_ms']:.0%} | {rest_c:,.0f} |")
        lines.append(f"| **all queries** | {p['total_wall_ms']:,.0f} | 100% | {p['total_cpu_ms']:,.0f} |")
        prof = p["profile"]
        lines += ["", "cProfile over the same queries (CPU self time by what runs it; "
                  f"{prof['total_s']:.1f} CPU s profiled, "
                  "the profiler inflates Python calls more than tantivy's):", "",
                  "| where | s | share |", "|---|---:|---:|"]
        for name, sec in prof["buckets"].items():
            lines.append(f"| {name} | {sec:.2f} | {sec / prof['total_s']:.0%} |")
        top = "; ".join(f"`{name}` {sec:.2f}" for name, sec in prof["top"][:12])
        lines += ["", f"The functions with the most CPU self time (s): {top}."]
        lines += ["", "Slowest queries (wall ms; stage wall ms):", ""]
        for q in p["slowest"]:
            parts = ", ".join(f"{k} {w:.0f}" for k, (w, _) in sorted(q["stages"].items(), key=lambda kv: -kv[1][0]))
            lines.append(f"- `{q['query']}`: {q['wall_ms']:.0f} ms (CPU {q['cpu_ms']:.0f}); {parts}")
    return lines


_STAMP = re.compile(r"\n_Machine: .*? Command: `(?P<cmd>.*)`\. Date: (?P<date>[\d-]+)\._\s*$", re.S)


def add_profile(work: Path, backend: str, intro: str) -> None:
    """The scale section as it is, with the keyword profile of `work` in place of an earlier one;
    the section's stamp keeps the earlier command and date beside this one."""
    from report import PATH, write_section

    text = PATH.read_text()
    body = text.split("<!-- section:scale -->", 1)[1].split("<!-- /section:scale -->", 1)[0]
    stamp = _STAMP.search(body)
    earlier = f"{stamp['cmd']} ({stamp['date']})" if stamp else ""
    body = body[:stamp.start()] if stamp else body
    body = body.split("\n### Where keyword search's time goes", 1)[0].rstrip()
    earlier = earlier.split(" ; then the keyword profile: ")[0]
    p = json.loads((work / "profile_keyword.json").read_text())
    added = render_profile([{"backend": backend, "profile_keyword": p}])
    if intro:
        added[3:3] = [intro.strip(), ""]
    cmd = f"{earlier} ; then the keyword profile: python bench/profile_keyword_scale.py {work} " \
          f"({dt.date.today()})"
    write_section("scale", body.strip("\n") + "\n" + "\n".join(added), cmd)


def load_works(works: list[Path], **extras: str) -> list[dict]:
    """Each work dir's results.json (dirs without one are skipped), with every extra file that
    exists added under its key (`key="file.json"`)."""
    found = []
    for w in works:
        if not (w / "results.json").exists():
            continue
        data = json.loads((w / "results.json").read_text())
        for key, name in extras.items():
            if (w / name).exists():
                data[key] = json.loads((w / name).read_text())
        found.append(data)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("--backend", choices=("sqlite", "postgresql"), required=True)
    run.add_argument("--snapshot", type=Path)
    run.add_argument("--work", type=Path, required=True)
    run.add_argument("--steps", default="import,hf,index,vectors,search,load")
    run.add_argument("--vectors-from", type=Path)
    run.add_argument("--vectors-ids", type=Path, help="build for these ids (a file, one a line), not the database's")
    run.add_argument("--index-from", type=Path, help="copy this run's keyword index instead of building one")
    run.add_argument("--load-seconds", type=float, default=60)
    run.add_argument("--pages-seconds", type=int, default=10, help="wrk seconds per URL kind (step pages)")
    vec = sub.add_parser("build-vectors")
    vec.add_argument("url")
    vec.add_argument("path", type=Path)
    vec.add_argument("--ids", type=Path)
    rep = sub.add_parser("report")
    rep.add_argument("works", type=Path, nargs="+")
    rep.add_argument("--speed", action="append", default=[], help="BACKEND:LINES:BEFORE_LOG:AFTER_LOG")
    rep.add_argument("--notes", type=Path, help="Markdown appended under 'Reading the figures'")
    rep.add_argument("--cmd", default="python bench/bench_scale.py run … (see the section)")
    costs = sub.add_parser("report-costs", help="BENCHMARKS.md section cost-curves from three runs' work dirs")
    costs.add_argument("works", type=Path, nargs="+")
    costs.add_argument("--notes", type=Path, help="Markdown appended to the section")
    costs.add_argument("--cmd", default="python bench/bench_scale.py report-costs WORK_75K WORK_300K WORK_2.7M")
    prof = sub.add_parser("report-profile", help="add profile_keyword_scale.py's figures of WORK to the scale section")
    prof.add_argument("work", type=Path)
    prof.add_argument("--backend", default="sqlite")
    prof.add_argument("--intro", type=Path, help="Markdown put before the tables")
    args = parser.parse_args()
    if args.command == "report-profile":
        add_profile(args.work, args.backend, args.intro.read_text() if args.intro else "")
        return
    if args.command == "report-costs":
        import cost_curves
        from report import write_section
        found = load_works(args.works, profile_keyword="profile_keyword.json")
        text = cost_curves.render(found, args.notes.read_text() if args.notes else "")
        write_section("cost-curves", text, args.cmd)
        print(text)
        return
    if args.command == "build-vectors":
        build_vectors(args.url, args.path, args.ids)
        return
    if args.command == "report":
        from report import write_section
        results = load_works(args.works, profile_keyword="profile_keyword.json",
                             before_analyze="results_before_analyze.json")
        text = render(results, speed_rows(args.speed), args.notes.read_text() if args.notes else "")
        write_section("scale", text, args.cmd)
        print(text)
        return
    s = Setup(args.backend, args.work)
    args.work.mkdir(parents=True, exist_ok=True)
    for step in args.steps.split(","):
        print(f"{dt.datetime.now(dt.UTC):%H:%M:%S} step {step}", flush=True)
        if step == "import":
            step_import(s, args.snapshot)
        elif step == "hf":
            step_hf(s)
        elif step == "index":
            step_index(s, args.index_from)
        elif step == "vectors":
            step_vectors(s, args.vectors_from, args.vectors_ids)
        elif step == "search":
            step_search(s)
        elif step == "load":
            step_load(s, seconds=args.load_seconds)
        elif step == "pages":
            step_pages(s, seconds=args.pages_seconds)
        else:
            raise SystemExit(f"unknown step {step}")


if __name__ == "__main__":
    main()
