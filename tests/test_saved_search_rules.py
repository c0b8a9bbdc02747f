"""Saving a search is a rule of delivery/alerts.py (the /searches page calls it): checked fields,
a feed address of its own, and at most MAX_SAVED per member."""

from __future__ import annotations

import datetime as dt

import pytest
from support.community import member

from dailypapers.delivery import alerts
from dailypapers.errors import InvalidInput, InvalidQuery
from dailypapers.store import Store

NOW = dt.datetime(2026, 8, 21, 12, tzinfo=dt.timezone.utc)


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.close()


def _save(store, user_id, query="agent", mode="keyword"):
    return alerts.save(store, user_id, name="", query=query, mode=mode, author="", category="", alert=True, now=NOW)


def test_saved_searches_are_checked_and_capped(store, monkeypatch):
    ada = member(store, "ada")
    first = _save(store, ada.id)
    assert first.name == "agent" and first.alert and first.feed_token
    assert _save(store, ada.id, "language models").feed_token != first.feed_token
    with pytest.raises(InvalidQuery):
        _save(store, ada.id, query="")
    with pytest.raises(InvalidInput, match="the mode is one of"):
        _save(store, ada.id, mode="telepathy")
    monkeypatch.setattr(alerts, "MAX_SAVED", 2)
    with pytest.raises(InvalidInput, match="at most 2 saved searches"):
        _save(store, ada.id, "diffusion")
    assert store.saved_searches.count(ada.id) == 2
