"""The pages' content version (store/changes.content_version, the ETag and render-cache validator)
moves on every write that changes what a public page shows, on both backends: papers through the
change sequence; votes, comments (add, edit, hide, unhide, delete) and submissions through the
content_marks counter that migration 0011's triggers move, so no write path can forget it; and it
is read with two indexed lookups, not counts of the community's tables."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import event
from support.community import member

from dailypapers.models import Author, DailyEntry, Paper, Record
from dailypapers.store import Store
from dailypapers.store.changes import content_version
from dailypapers.store.transfer import copy_database

NOW = dt.datetime(2026, 8, 21, 12, tzinfo=dt.UTC)
PAPER = "2608.31001"


@pytest.fixture
def store(database_url):
    store = Store.open(database_url)
    store.write([Record(Paper(PAPER, "A paper", "An abstract.", [Author("A. Author")], version=1, published=NOW),
                        DailyEntry(PAPER, NOW.date(), upvotes=1))])
    yield store
    store.close()


def version(store: Store) -> tuple:
    with store.engine.connect() as conn:
        return content_version(conn)


def test_every_community_write_moves_the_version(store):
    ada = member(store, "ada")
    seen = [version(store)]

    def moved(what: str) -> None:
        now = version(store)
        assert now not in seen, f"{what} left the content version at {now}"
        seen.append(now)

    store.votes.set(PAPER, ada.id, True, NOW)
    moved("an upvote")
    store.votes.set(PAPER, ada.id, False, NOW)
    moved("taking the upvote back")
    comment = store.comments.add(PAPER, ada.id, "First!", None, NOW)
    moved("a comment")
    store.comments.edit(comment, ada.id, "First, edited", NOW)
    moved("an edit")
    store.comments.set_hidden(comment, None, True, NOW)
    moved("hiding")
    store.comments.set_hidden(comment, None, False, NOW)
    moved("unhiding")
    store.comments.delete(comment, ada.id, NOW)
    moved("deleting")
    store.submissions.claim(PAPER, ada.id, NOW.date(), NOW)
    moved("a submission")
    store.write([Record(Paper(PAPER, "A paper, retitled", "An abstract.", [Author("A. Author")], version=2,
                              published=NOW))])
    moved("a new version of the paper")


def test_the_version_is_two_indexed_reads(store):
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    version(store)
    assert len(statements) == 1
    sql = statements[0].lower()
    assert "paper_changes" in sql and "content_marks" in sql
    assert "count(" not in sql and "votes" not in sql and "comments" not in sql


def test_a_copied_database_starts_its_own_counter(store, tmp_path):
    ada = member(store, "ada")
    store.votes.set(PAPER, ada.id, True, NOW)
    target = f"sqlite:///{tmp_path / 'copy.db'}"
    counts = {c.table: c for c in copy_database(store.engine.url.render_as_string(hide_password=False), target)}
    assert "content_marks" not in counts and counts["votes"].ok and counts["votes"].target == 1
    copied = Store.open(target)
    try:
        before = version(copied)
        assert before[1] is not None  # the copied vote moved the target's own counter
        copied.votes.set(PAPER, ada.id, False, NOW)
        assert version(copied) != before
    finally:
        copied.close()
