"""The trending score (ranking.py) and the community-ordered daily lists built on it."""

from __future__ import annotations

import datetime as dt

import pytest
from support.community import member

from dailypapers import ranking
from dailypapers.community import lists
from dailypapers.models import DailyEntry, Paper, Record
from dailypapers.store import Store

UTC = dt.timezone.utc
DAY = dt.date(2026, 8, 20)
NOON = dt.datetime(2026, 8, 20, 12, tzinfo=UTC)


def test_score_is_the_documented_formula():
    since = NOON - dt.timedelta(hours=10)
    e = ranking.explain(40, 2, since, NOON)
    assert e.age_hours == 10 and e.votes == 42
    assert e.score == pytest.approx(42 / 12 ** 1.8)
    assert dict(e.terms())["score"] == f"{42 / 12 ** 1.8:.4f}"
    assert e.sentence() == f"(40 + 2) / (10.0 + 2) ^ 1.8 = {42 / 12 ** 1.8:.4f}"
    assert ranking.FORMULA == "score = (imported upvotes + local upvotes) / (age in hours + 2) ^ 1.8"


def test_older_papers_need_more_votes():
    fresh = ranking.score(10, 0, NOON - dt.timedelta(hours=1), NOON)
    old = ranking.score(30, 0, NOON - dt.timedelta(hours=24), NOON)
    assert fresh > old
    assert ranking.score(0, 0, NOON, NOON) == 0
    assert ranking.explain(1, 0, NOON + dt.timedelta(hours=1), NOON).age_hours == 0  # never negative


def test_reference_time_is_the_end_of_a_past_period():
    now = dt.datetime(2026, 11, 28, 9, tzinfo=UTC)
    assert ranking.reference_time(DAY, now) == dt.datetime(2026, 8, 21, tzinfo=UTC)
    assert ranking.reference_time(now.date(), now) == now
    assert ranking.listed_at(DAY, None) == dt.datetime(2026, 8, 20, tzinfo=UTC)


@pytest.fixture
def store(database_url) -> Store:
    s = Store.open(database_url)
    papers = {  # id: (imported upvotes, submitted at)
        "2608.00001": (50, NOON - dt.timedelta(hours=11)),
        "2608.00002": (30, NOON - dt.timedelta(hours=1)),
        "2608.00003": (40, NOON - dt.timedelta(hours=6)),
    }
    s.write([Record(Paper(pid, pid, version=1, published=NOON - dt.timedelta(days=1)),
                    DailyEntry(pid, DAY, upvotes=up, submitted_at=at)) for pid, (up, at) in papers.items()])
    yield s
    s.close()


@pytest.mark.slow
def test_lists_by_total_upvotes_and_by_trending(store):
    now = NOON
    by_votes = lists.daily(store, DAY, DAY, sort="upvotes", now=now)
    assert [i.paper.arxiv_id for i in by_votes.items] == ["2608.00001", "2608.00003", "2608.00002"]
    trending = lists.daily(store, DAY, DAY, sort="trending", now=now)
    assert [i.paper.arxiv_id for i in trending.items] == ["2608.00002", "2608.00003", "2608.00001"]
    scores = [trending.extra["scores"][i.paper.arxiv_id].score for i in trending.items]
    assert scores == sorted(scores, reverse=True)
    # local votes add to the imported baseline
    voters = [member(store, f"m{i}") for i in range(25)]
    for user in voters:
        store.votes.toggle("2608.00002", user.id, now)
    by_votes = lists.daily(store, DAY, DAY, sort="upvotes", now=now)
    assert by_votes.items[0].paper.arxiv_id == "2608.00002"  # 30 + 25 > 50
    assert lists.daily(store, DAY, DAY, sort="upvotes", limit=1, offset=2, now=now).items[0].paper.arxiv_id \
        == "2608.00003"
    newest = lists.daily(store, DAY, DAY, sort="date", now=now)
    assert newest.total == 3


def test_standing_explains_the_position(store):
    standing = lists.standing(store, "2608.00003", DAY, now=NOON)
    assert (standing.position, standing.of) == (2, 3)
    assert standing.above[0] == "2608.00002" and standing.below[0] == "2608.00001"
    assert standing.explanation.imported == 40 and standing.explanation.age_hours == 6
    assert lists.standing(store, "2608.99999", DAY, now=NOON) is None
