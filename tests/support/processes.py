"""Real `dailypapers` processes for the multi-node and multi-process tests: a node's settings as
environment variables, CLI commands run to completion, `dailypapers serve` / `dailypapers worker`
in the background (each in its own process group, killed with its children when the test ends,
pass or fail), bounded polling, and what /proc says about a process's children and mapped files."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_env(data_dir: Path, database_url: str, **extra: str) -> dict[str, str]:
    """The environment of one node: its own data directory (indexes, model cache), the shared database."""
    env = {"DAILYPAPERS_DATA_DIR": str(data_dir), "DAILYPAPERS_DATABASE_URL": database_url,
           "DAILYPAPERS_INDEX_FOLLOW_INTERVAL": "0.2", "DAILYPAPERS_SECRET_KEY": "multi-node-test-secret"}
    env.update(extra)
    return env


def _full_env(env: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    return {**base, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", **env}


def cli(args: list[str], env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    """`dailypapers ARGS` run to completion; fails the test with its output when it exits non-zero."""
    result = subprocess.run([sys.executable, "-m", "dailypapers", *args], env=_full_env(env), cwd=ROOT,
                            capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"dailypapers {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    return result


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.1) -> T:
    """Call `check` until it returns something truthy (returned) or `timeout` seconds pass (fails)."""
    deadline = time.monotonic() + timeout
    last: T = check()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f} s (last: {last!r})")
        time.sleep(interval)
        last = check()
    return last


class Background:
    """A `dailypapers` command in the background, in its own session so that stop() reaches its
    children too (uvicorn's worker processes). Its output goes to `log`."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.args, self.log = args, log
        self._log_file = open(log, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([sys.executable, "-m", "dailypapers", *args], env=_full_env(env),
                                        cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise AssertionError(f"dailypapers {' '.join(self.args)} exited ({self.process.returncode}):\n"
                                 f"{self.output()[-4000:]}")

    def terminate(self, timeout: float = 20) -> int | None:
        """SIGTERM to the whole group, SIGKILL after `timeout`; returns the exit status."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        return self.process.returncode

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # the group: orphaned children too
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        self._log_file.close()


class Server(Background):
    """`dailypapers serve` on a free loopback port; `url` once it answers."""

    def __init__(self, env: dict[str, str], log: Path, workers: int = 1) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
                         env, log)

    def wait_ready(self, timeout: float = 90) -> Server:
        def answers() -> bool:
            self.check_alive()
            try:
                return httpx.get(f"{self.url}/api/daily_papers", params={"limit": 1}, timeout=5).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(answers, timeout, f"the server on {self.url} to answer", interval=0.2)
        return self


@contextlib.contextmanager
def running(*processes: Background) -> Iterator[tuple[Background, ...]]:
    """Stop every process at the end, whatever happened."""
    try:
        yield processes
    finally:
        for p in processes:
            p.terminate(timeout=15)


def search_ids(base_url: str, q: str, mode: str = "keyword", limit: int = 20) -> list[str]:
    response = httpx.get(f"{base_url}/api/papers/search", params={"q": q, "mode": mode, "limit": limit}, timeout=30)
    response.raise_for_status()
    return [hit["paper"]["id"] for hit in response.json()]


def add_members_with_tokens(store, names: list[str]) -> list[str]:
    """Members (no password: they only use the API) and one API token each; returns the tokens."""
    import datetime as dt

    from dailypapers.community.accounts import digest

    now = dt.datetime.now(dt.timezone.utc)
    tokens, rows = [], []
    for name in names:
        user = store.accounts.create_user(email=f"{name}@example.org", username=name, display_name=name,
                                          password_hash="!", role="member", now=now)
        token = "dp_" + secrets.token_urlsafe(24)
        tokens.append(token)
        rows.append({"user_id": user.id, "name": "test", "token_hash": digest(token), "prefix": token[:10],
                     "created_at": now})
    store.accounts.add_tokens(rows)
    return tokens


def model_cache() -> Path:
    """The ONNX encoder's cache shared by the tests (tests/test_embeddings.py uses it too): built
    once, on first use, then reused by later runs."""
    from dailypapers.search.encoder import onnx_export

    cache = Path(os.environ.get("DAILYPAPERS_TEST_MODEL_CACHE", ROOT / "var" / "test-models"))
    onnx_export.ensure_model(cache, "int8")  # built when missing, atomically (parallel tests are fine)
    return cache


def link_models(cache: Path, data_dir: Path) -> None:
    """Give a node's model cache a link to the built encoder, so it loads in a second."""
    (data_dir / "models").mkdir(parents=True, exist_ok=True)
    for f in cache.glob("*.onnx"):
        (data_dir / "models" / f.name).symlink_to(f.resolve())


# -- /proc ----------------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    """The direct children of `pid`, from /proc/*/stat."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry.name))
    return sorted(found)


def mappings(pid: int) -> dict[str, dict[str, int]]:
    """File-backed mappings of `pid`: path -> summed smaps fields in kB (Rss, Shared_Clean, Private_Clean, …)."""
    out: dict[str, dict[str, int]] = {}
    current: dict[str, int] | None = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = line.split()
        if not head:
            continue
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):  # a mapping's header line
            path = head[5] if len(head) >= 6 else ""
            current = out.setdefault(path, {"mappings": 0}) if path.startswith("/") else None
            if current is not None:
                current["mappings"] += 1
        elif current is not None and head[0].endswith(":") and len(head) >= 2 and head[1].isdigit():
            current[head[0][:-1]] = current.get(head[0][:-1], 0) + int(head[1])
    return out
