"""Helpers for the community tests: a private copy of the web test data (so votes and submissions
never leak into the shared fixtures), members made quickly, and a browser-like TestClient session."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from pathlib import Path

from dailypapers.community import accounts
from dailypapers.store import Store
from dailypapers.store.accounts import User
from support.databases import copy_data_dir, data_dir_settings

__all__ = ["copy_data_dir", "make_app", "member", "csrf_of", "signed_in_client", "PASSWORD"]

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"


def make_app(data_dir: Path, **overrides):
    from dailypapers.web import create_app

    settings = data_dir_settings(data_dir, **overrides)
    store = Store.open(settings.resolved_database_url)
    return create_app(settings, store=store), store


def member(store: Store, name: str, role: str = "member", password: str = PASSWORD) -> User:
    return accounts.create_user(store, f"{name}@example.org", password, username=name, display_name=name.title(),
                                role=role)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def signed_in_client(app, email: str, password: str = PASSWORD):
    """A TestClient with a signed-in session; `.csrf` holds its token."""
    from fastapi.testclient import TestClient

    client = TestClient(app, raise_server_exceptions=False)
    token = csrf_of(client.get("/signin").text)
    response = client.post("/signin", data={"email": email, "password": password, "csrf_token": token},
                           follow_redirects=False)
    assert response.status_code == 303, response.text[:500]
    client.csrf = csrf_of(client.get("/account").text)
    return client


@contextlib.contextmanager
def two_nodes(data_dir: Path, now: dt.datetime):
    """Two apps (two nodes) over one database, their clocks at `now`, with members ada and mia
    (a moderator); yields the two apps."""
    (one, store), (two, other) = make_app(data_dir), make_app(data_dir)
    for app in (one, two):
        app.state.clock = lambda: now
    member(store, "ada"), member(store, "mia", "moderator")
    try:
        yield one, two
    finally:
        store.close()
        other.close()
