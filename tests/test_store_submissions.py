"""store.submissions.write_entry: a claimed paper's daily entry is written, or the claim is released
(Conflict when the database refuses the entry, as when an import listed it at the same moment)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.exc import IntegrityError
from support.community import member

from dailypapers.errors import Conflict
from dailypapers.models import Author, DailyEntry, Paper, Record
from dailypapers.store import Store

NOW = dt.datetime(2026, 8, 21, 12, tzinfo=dt.timezone.utc)
PID = "2608.10001"


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    yield store
    store.close()


def _record() -> Record:
    paper = Paper(PID, "A paper", "abstract", [Author("Ada Lovelace")], version=1, published=NOW)
    return Record(paper, DailyEntry(PID, NOW.date(), upvotes=0))


def test_the_entry_is_written_or_the_claim_released(store, monkeypatch):
    ada = member(store, "ada")
    store.write([Record(_record().paper)])  # a submission names a stored paper
    store.submissions.claim(PID, ada.id, NOW.date(), NOW)

    def refused(records):
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    monkeypatch.setattr(store, "write", refused)
    with pytest.raises(Conflict, match="already on a daily list"):
        store.submissions.write_entry(_record())
    assert store.submissions.by_user(ada.id) == ([], 0)

    monkeypatch.undo()
    store.submissions.claim(PID, ada.id, NOW.date(), NOW)
    store.submissions.write_entry(_record())
    assert store.entries_for(PID) and store.submissions.by_user(ada.id) == ([PID], 1)
