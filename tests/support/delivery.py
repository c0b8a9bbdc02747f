"""Helpers for the delivery tests: a real SMTP server (aiosmtpd) on loopback that can be stopped
and started again on the same port, settings that point at it, members with subscriptions, and
`dailypapers` delivery commands run as real processes."""

from __future__ import annotations

import asyncio
import email
import os
import socket
import subprocess
import sys
import threading
import time
from email import policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller

from dailypapers import config
from dailypapers.community import accounts
from dailypapers.delivery import subscriptions as rules
from dailypapers.store import Store
from support.databases import data_dir_settings

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_URL = "https://papers.example.org"
MEMBER_PREFS = {"frequency": "daily", "hour": "8", "weekday": "0", "timezone": "Europe/Paris",
                "include_trending": "1", "include_alerts": "1", "include_recommendations": "1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """The aiosmtpd handler: keeps every accepted message. `reject` maps addresses to 5xx answers.

    `hold()` stops SMTP clients at RCPT TO until the test lets them go, so a test can act while a
    worker is known to be in the middle of a message (kill it, signal it, start another)."""

    def __init__(self, reject: dict[str, str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes = []
        self.reject = reject or {}
        self.lock = threading.Lock()
        self._changed = threading.Condition(self.lock)
        self._open, self._after, self._parties, self.held = True, 0, 0, 0

    def hold(self, after: int = 0, parties: int = 0) -> None:
        """Hold each RCPT TO that comes once `after` messages are in, until release(); with
        `parties`, until that many are held at the same time (a barrier between SMTP clients)."""
        with self._changed:
            self._open, self._after, self._parties = False, after, parties

    def release(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()

    def wait_held(self, count: int, timeout: float = 120.0) -> None:
        """Until `count` RCPT TOs are being held (the bound only guards against a hang)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self.held >= count, timeout):
                raise AssertionError(f"{self.held} of {count} SMTP clients held; {len(self.messages)} messages in")

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        await self._gate()
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def _gate(self) -> None:
        with self._changed:
            if self._open or len(self.messages) < self._after:
                return
            self.held += 1
            if self._parties and self.held >= self._parties:
                self._open = True
            self._changed.notify_all()
        try:
            while not self._open:  # the event loop's thread: a threading wait would stop the server
                await asyncio.sleep(0.01)
        finally:
            with self._changed:
                self.held -= 1
                self._changed.notify_all()

    async def handle_DATA(self, server, session, envelope):
        with self._changed:
            self.envelopes.append(envelope)
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
            self._changed.notify_all()
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]

    def wait_for(self, count: int, timeout: float = 120.0) -> None:
        """Until `count` messages are in (the bound only guards against a hang)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} of {count} messages arrived")


class SMTPServer:
    """A real SMTP server on 127.0.0.1 that keeps its port across stop() and start()."""

    def __init__(self, inbox: Inbox | None = None, port: int | None = None) -> None:
        self.inbox = inbox or Inbox()
        self.port = port or free_port()
        self.controller: Controller | None = None

    def start(self) -> "SMTPServer":
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def env(self) -> dict[str, str]:
        return {"DAILYPAPERS_SMTP_HOST": "127.0.0.1", "DAILYPAPERS_SMTP_PORT": str(self.port),
                "DAILYPAPERS_SMTP_STARTTLS": "0", "DAILYPAPERS_MAIL_FROM": "dailypapers <digest@papers.example.org>",
                "DAILYPAPERS_PUBLIC_URL": PUBLIC_URL}


def settings_for(data_dir: Path | None, server: SMTPServer | None, **overrides) -> config.Settings:
    environ = server.env() if server else {}
    if data_dir is not None:
        return data_dir_settings(data_dir, environ, **overrides)
    return config.load(environ=environ, **overrides)


def member_with_subscription(store: Store, name: str, now, prefs: dict | None = None):
    user = accounts.create_user(store, f"{name}@example.org", "correct horse battery", username=name,
                                display_name=name.title())
    sub = rules.subscribe_member(store, user, prefs or MEMBER_PREFS, now=now)
    return user, sub


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m dailypapers.cli.delivery ARGS` as a real process."""
    full = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    return subprocess.run([sys.executable, "-m", "dailypapers.cli.delivery", *args], env=full, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def start_worker(env: dict[str, str], *args: str, log: Path | None = None) -> subprocess.Popen:
    """`dailypapers worker ARGS` in the background; its stderr (events) goes to `log`."""
    full = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    err = open(log, "w") if log else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "dailypapers.cli.delivery", "worker", *args], env=full, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=err)


def wait_for_line(path: Path, needle: str, timeout: float = 120, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}):\n{path.read_text()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} did not appear in {path}:\n{path.read_text()[-3000:] if path.exists() else ''}")
