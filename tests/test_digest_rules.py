"""Digest rules without a server: when digests are due (hours and IANA time zones, DST), which
period a digest belongs to, signed links, preference checks, planning exactly once."""

from __future__ import annotations

import datetime as dt

import pytest
from support.delivery import member_with_subscription

from dailypapers import config
from dailypapers.delivery import build, schedule, tokens
from dailypapers.delivery import subscriptions as rules
from dailypapers.errors import InvalidInput, InvalidToken
from dailypapers.store import Store

UTC = dt.timezone.utc


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_daily_instants_follow_the_local_hour_across_dst():
    # Paris is UTC+1 in winter, UTC+2 in summer; 08:00 local moves from 07:00 to 06:00 UTC
    assert schedule.last_instant("daily", 8, 0, "Europe/Paris", at(2026, 3, 28, 12)) == at(2026, 3, 28, 7)
    assert schedule.next_instant("daily", 8, 0, "Europe/Paris", at(2026, 3, 28, 12)) == at(2026, 3, 29, 6)
    # 02:00 does not exist on 2026-03-29 in Paris: it is sent at 03:00 CEST (01:00 UTC)
    assert schedule.next_instant("daily", 2, 0, "Europe/Paris", at(2026, 3, 28, 12)) == at(2026, 3, 29, 1)
    # before today's hour the latest instant is yesterday's
    assert schedule.last_instant("daily", 8, 0, "Asia/Tokyo", at(2026, 11, 28, 22, 59)) == at(2026, 11, 28, 23) \
        - dt.timedelta(days=1)


def test_weekly_instants_and_periods_use_the_local_date():
    now = at(2026, 11, 28, 19)  # a Saturday
    last = schedule.last_instant("weekly", 8, 0, "America/New_York", now)
    assert last == at(2026, 11, 23, 13) and last.astimezone(schedule.zone("America/New_York")).weekday() == 0
    assert schedule.next_instant("weekly", 8, 0, "America/New_York", now) == at(2026, 11, 30, 13)
    # 07:00 on Sunday in Auckland is still Saturday in UTC: the period is the local date
    instant = schedule.last_instant("weekly", 7, 6, "Pacific/Auckland", now)
    assert schedule.period_of(instant, "Pacific/Auckland") == dt.date(2026, 11, 29)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "x" * 80])
def test_unknown_time_zones_are_refused(name):
    with pytest.raises(InvalidInput):
        schedule.zone(name)


def test_preferences_are_checked():
    prefs = rules.check_preferences({"frequency": "weekly", "hour": "23", "weekday": "6", "timezone": "Asia/Kolkata",
                                     "include_trending": "1"}, member=True)
    assert prefs["frequency"] == "weekly" and prefs["hour"] == 23 and not prefs["include_alerts"]
    anonymous = rules.check_preferences({"include_recommendations": "1"}, member=False)
    assert anonymous["include_trending"] and not anonymous["include_recommendations"]
    for bad in ({"hour": "24"}, {"hour": "eight"}, {"frequency": "hourly"}, {"timezone": "Nowhere/Land"},
                {"weekday": "7"}):
        with pytest.raises(InvalidInput):
            rules.check_preferences({"include_trending": "1", **bad}, member=True)
    with pytest.raises(InvalidInput):
        rules.check_preferences({"frequency": "daily", "include_trending": ""}, member=True)


def test_signed_links_name_one_subscription_and_one_purpose():
    settings = config.load(environ={}, secret_key="s3cret")
    token = tokens.make(settings, "unsubscribe", 7, "k" * 32)
    assert tokens.read(settings, "unsubscribe", token) == tokens.LinkToken(7, "k" * 32)
    with pytest.raises(InvalidToken):
        tokens.read(settings, "confirm", token)  # another purpose
    with pytest.raises(InvalidToken):
        tokens.read(config.load(environ={}, secret_key="other"), "unsubscribe", token)  # another secret
    with pytest.raises(InvalidToken):
        tokens.read(settings, "unsubscribe", token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_confirmation_links_expire():
    settings = config.load(environ={}, confirm_link_hours=2)
    made = 1_800_000_000.0
    token = tokens.make(settings, "confirm", 1, "k", "ada@example.org", clock=lambda: made)
    in_time = tokens.read(settings, "confirm", token, clock=lambda: made + 2 * 3600)
    assert in_time == tokens.LinkToken(1, "k", "ada@example.org")
    with pytest.raises(InvalidToken, match="expired"):
        tokens.read(settings, "confirm", token, clock=lambda: made + 2 * 3600 + 1)
    for purpose in ("unsubscribe", "manage"):  # these sit in every message sent: they never expire
        lasting = tokens.make(settings, purpose, 1, "k", clock=lambda: made)
        assert tokens.read(settings, purpose, lasting, clock=lambda: made + 10 * 365 * 86400).key == "k"


def test_planning_is_exactly_once_and_respects_hours_and_confirmation(database_url):
    store = Store.open(database_url)
    created = at(2026, 11, 2, 6, 30)  # a Monday, 07:30 in Paris
    _, sub = member_with_subscription(store, "ada", created)  # daily at 08:00 Europe/Paris
    assert build.due(store, at(2026, 11, 2, 6, 59)) == []  # the hour has not come
    keys = build.plan(store, at(2026, 11, 2, 7, 0))
    assert keys == [f"digest:{sub.id}:2026-11-02"]
    assert build.plan(store, at(2026, 11, 2, 7, 1)) == []  # already planned
    assert build.plan(store, at(2026, 11, 3, 7, 0)) == [f"digest:{sub.id}:2026-11-03"]
    # --now sends the next period early, once
    assert build.plan(store, at(2026, 11, 3, 9, 0), force=True) == [f"digest:{sub.id}:2026-11-04"]
    assert build.plan(store, at(2026, 11, 3, 9, 1), force=True) == []
    assert build.plan(store, at(2026, 11, 4, 7, 0)) == []  # that period went out already
    # an address that has not confirmed gets nothing, even with --now
    settings = config.load(environ={})
    rules.subscribe_address(store, settings, "bob@example.org", {"include_trending": "1"}, base="http://x",
                            now=created)
    assert [d.subscription.email for d in build.due(store, at(2026, 11, 10, 12), force=True)] == ["ada@example.org"]
    store.close()


def test_titles_and_abstracts_are_escaped_in_the_html_part(database_url):
    from conftest import HOSTILE_ABSTRACT, HOSTILE_TITLE, hostile_record

    from dailypapers.delivery import content
    from dailypapers.delivery.window import Window

    store = Store.open(database_url)
    record = hostile_record(dt.date(2026, 11, 2))
    store.write([record])
    _, sub = member_with_subscription(store, "ada", at(2026, 11, 1))
    item = content._item("https://papers.example.org", record.paper, record.daily, 0, ['why <b>"me"</b>'])
    digest = content.Digest(sub, dt.date(2026, 11, 3), at(2026, 11, 3, 7), Window(1, None, None, at(2026, 11, 2),
                            at(2026, 11, 3)), [content.Section("trending", "Trending", "note", [item])],
                            "https://papers.example.org")
    text, html = build.render_digest(config.load(environ={}), digest)
    assert HOSTILE_TITLE not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img" not in html and "<b>" not in html
    assert HOSTILE_TITLE in text and "javascript:" not in html + text  # plain text is plain; no unsafe links
    assert HOSTILE_ABSTRACT[:20] not in html
    store.close()
