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
    """The aiosmtpd handler: keeps every accepted message. `rcpt_delay` makes each RCPT TO wait
    (a slow server, to stop a worker between messages); `reject` maps addresses to 5xx answers."""

    def __init__(self, rcpt_delay: float = 0.0, reject: dict[str, str] | None = None) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes = []
        self.rcpt_delay = rcpt_delay
        self.reject = reject or {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        if address in self.reject:
            return self.reject[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.envelopes.append(envelope)
            self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def message_ids(self) -> list[str]:
        with self.lock:
            return [m["Message-ID"] for m in self.messages]

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages)} of {count} messages arrived")
            time.sleep(0.05)


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


def wait_for_line(path: Path, needle: str, timeout: float = 60, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text():
            return
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}):\n{path.read_text()[-3000:]}")
        time.sleep(0.05)
    raise AssertionError(f"{needle!r} did not appear in {path}:\n{path.read_text()[-3000:] if path.exists() else ''}")
