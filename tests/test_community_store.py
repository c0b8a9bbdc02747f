"""The community's store modules and rules on real SQLite and PostgreSQL: members, reset links,
API tokens, exact votes under concurrency, comments, submissions, collections, follows."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from support.community import PASSWORD, member

from dailypapers.community import accounts, collections, comments
from dailypapers.community.ratelimit import RateLimiter
from dailypapers.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidInput,
    InvalidToken,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from dailypapers.models import Author, DailyEntry, Paper, Record
from dailypapers.store import Store

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 8, 21, 12, tzinfo=UTC)
IDS = [f"2608.{n:05d}" for n in range(10001, 10006)]


@pytest.fixture
def store(database_url) -> Store:
    s = Store.open(database_url)
    s.write([Record(Paper(pid, f"Paper {pid}", "abstract", [Author("Ada Lovelace")], version=1,
                          published=NOW - dt.timedelta(days=1), categories=["cs.CL"]),
                    DailyEntry(pid, NOW.date(), upvotes=10 * i)) for i, pid in enumerate(IDS)])
    yield s
    s.close()


# -- members ---------------------------------------------------------------------------


def test_create_and_authenticate(store):
    user = accounts.create_user(store, " Ada@Example.ORG ", PASSWORD, username="ada", display_name="Ada")
    assert (user.email, user.username, user.role) == ("ada@example.org", "ada", "member")
    assert accounts.authenticate(store, "ADA@example.org", PASSWORD).id == user.id
    stored = store.accounts.credentials("ada@example.org")[1]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_wrong_password_and_unknown_address_fail_alike(store):
    member(store, "ada")
    with pytest.raises(AuthenticationFailed) as wrong:
        accounts.authenticate(store, "ada@example.org", "not the password")
    with pytest.raises(AuthenticationFailed) as unknown:
        accounts.authenticate(store, "nobody@example.org", PASSWORD)
    assert str(wrong.value) == str(unknown.value)


def test_taken_addresses_and_names_conflict(store):
    member(store, "ada")
    with pytest.raises(Conflict):
        accounts.create_user(store, "ada@example.org", PASSWORD, username="other")
    with pytest.raises(Conflict):
        accounts.create_user(store, "other@example.org", PASSWORD, username="ada")
    with pytest.raises(InvalidInput):
        accounts.create_user(store, "x@example.org", "short", username="x1")
    with pytest.raises(InvalidInput):
        accounts.create_user(store, "not an address", PASSWORD)
    with pytest.raises(InvalidInput):
        accounts.create_user(store, "y@example.org", PASSWORD, username="<script>")
    assert accounts.create_user(store, "ada.l@example.org", PASSWORD).username == "adal"


def test_imported_submitter_names_cannot_be_claimed(store):
    from dailypapers.models import Submitter

    store.write([Record(store.get_paper(IDS[0]), DailyEntry(IDS[0], NOW.date() - dt.timedelta(days=1),
                                                            submitted_by=Submitter("akhaliq", "AK")))])
    with pytest.raises(Conflict):
        accounts.create_user(store, "ak@example.org", PASSWORD, username="akhaliq")


def test_reset_link_is_single_use_and_expires(store):
    user = member(store, "ada")
    assert accounts.start_reset(store, "nobody@example.org", now=NOW) is None
    _, token = accounts.start_reset(store, "ada@example.org", now=NOW)
    accounts.check_reset(store, token, now=NOW)
    accounts.finish_reset(store, token, "a brand new password", now=NOW + dt.timedelta(minutes=5))
    assert accounts.authenticate(store, "ada@example.org", "a brand new password").id == user.id
    assert store.accounts.get(user.id).session_version == user.session_version + 1  # other sessions end
    with pytest.raises(InvalidToken):
        accounts.finish_reset(store, token, "yet another password", now=NOW + dt.timedelta(minutes=6))
    _, late = accounts.start_reset(store, "ada@example.org", now=NOW)
    with pytest.raises(InvalidToken):
        accounts.finish_reset(store, late, "yet another password", now=NOW + accounts.RESET_TTL + dt.timedelta(1))
    with pytest.raises(InvalidToken):
        accounts.check_reset(store, "made-up", now=NOW)


def test_reset_link_races_have_one_winner(store):
    member(store, "ada")
    _, token = accounts.start_reset(store, "ada@example.org", now=NOW)
    results = []

    def use(i):
        try:
            accounts.finish_reset(store, token, f"password number {i}", now=NOW)
            results.append("ok")
        except InvalidToken:
            results.append("refused")

    threads = [threading.Thread(target=use, args=(i,)) for i in range(6)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert sorted(results) == ["ok"] + ["refused"] * 5


def test_api_tokens(store):
    user = member(store, "ada")
    token = accounts.create_token(store, user, "script", now=NOW)
    assert token.startswith("dp_") and accounts.user_for_token(store, token).id == user.id
    (listed,) = store.accounts.tokens(user.id)
    assert listed.name == "script" and token.startswith(listed.prefix) and listed.last_used_at is not None
    other = member(store, "bob")
    assert not store.accounts.revoke_token(other.id, listed.id)  # not theirs
    assert store.accounts.revoke_token(user.id, listed.id)
    with pytest.raises(AuthenticationFailed):
        accounts.user_for_token(store, token)


def test_demo_member_is_created_once(store):
    first = accounts.ensure_demo_member(store)
    assert accounts.ensure_demo_member(store) == first == (accounts.DEMO_EMAIL, accounts.DEMO_PASSWORD)
    assert accounts.authenticate(store, *first).username == "demo"
    assert store.accounts.count() == 1


# -- votes -----------------------------------------------------------------------------


def test_a_second_vote_toggles(store):
    user = member(store, "ada")
    assert store.votes.toggle(IDS[1], user.id, NOW) is True
    assert store.votes.count(IDS[1]) == 1
    assert store.votes.toggle(IDS[1], user.id, NOW) is False
    assert store.votes.count(IDS[1]) == 0
    assert store.votes.set(IDS[1], user.id, True, NOW) and not store.votes.set(IDS[1], user.id, True, NOW)
    assert store.votes.counts(IDS) == {IDS[1]: 1} and store.votes.voted(user.id, IDS) == {IDS[1]}
    with pytest.raises(NotFound):
        store.votes.toggle("2608.99999", user.id, NOW)


def test_concurrent_votes_are_counted_exactly(store):
    users = [store.accounts.create_user(email=f"u{i}@example.org", username=f"u{i}", display_name="",
                                        password_hash="x", role="member", now=NOW) for i in range(24)]
    barrier = threading.Barrier(len(users))
    errors = []

    def vote(user):
        try:
            barrier.wait()
            for pid in IDS[:3]:
                store.votes.toggle(pid, user.id, NOW)
            store.votes.toggle(IDS[0], user.id, NOW)  # …and back
            store.votes.toggle(IDS[0], user.id, NOW)  # …and again: one vote each in the end
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=vote, args=(u,)) for u in users]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert store.votes.counts(IDS) == {pid: len(users) for pid in IDS[:3]}


def test_same_member_racing_toggles_leave_one_row_at_most(store):
    user = member(store, "ada")
    threads = [threading.Thread(target=store.votes.toggle, args=(IDS[2], user.id, NOW)) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert store.votes.count(IDS[2]) == 0  # eight toggles: off again, and never two rows


# -- comments --------------------------------------------------------------------------


def test_comments_thread_one_level_and_belong_to_their_authors(store):
    ada, bob = member(store, "ada"), member(store, "bob")
    mod = member(store, "mia", role="moderator")
    top = comments.add(store, ada, IDS[0], "First!", now=NOW)
    reply = comments.add(store, bob, IDS[0], "A reply", parent_id=top, now=NOW)
    deeper = comments.add(store, ada, IDS[0], "A reply to the reply", parent_id=reply, now=NOW)
    assert store.comments.get(deeper).parent_id == top  # joins the thread, one level deep
    with pytest.raises(PermissionDenied):
        comments.edit(store, bob, top, "rewritten by bob")
    with pytest.raises(PermissionDenied):
        comments.delete(store, bob, top)
    assert not store.comments.edit(top, bob.id, "bypassing the rules", NOW)  # the SQL checks the author too
    assert store.comments.get(top).body == "First!"
    comments.edit(store, ada, top, "First, edited", now=NOW)
    assert store.comments.get(top).edited_at is not None
    with pytest.raises(PermissionDenied):
        comments.set_hidden(store, bob, reply, True)
    comments.set_hidden(store, mod, reply, True)
    assert store.comments.counts([IDS[0]]) == {IDS[0]: 2}
    comments.delete(store, ada, top)
    threads = comments.thread(store.comments.for_paper(IDS[0]), None)
    assert [(t.id, [r.id for r in rs]) for t, rs in threads] == [(top, [deeper])]  # placeholder keeps replies
    assert threads[0][0].deleted and threads[0][0].body == ""
    with pytest.raises(InvalidInput):
        comments.add(store, ada, IDS[0], "   ")
    with pytest.raises(NotFound):
        comments.add(store, ada, "2608.99999", "hello")


# -- submissions, collections, follows -------------------------------------------------


def test_a_paper_is_submitted_once(store):
    ada, bob = member(store, "ada"), member(store, "bob")
    store.submissions.claim(IDS[0], ada.id, NOW.date(), NOW)
    with pytest.raises(Conflict):
        store.submissions.claim(IDS[0], bob.id, NOW.date(), NOW)
    assert store.submissions.by_user(ada.id) == ([IDS[0]], 1)


def test_collections_are_their_owners(store):
    ada, bob = member(store, "ada"), member(store, "bob")
    private = collections.create(store, ada, "Reading list", now=NOW)
    public = collections.create(store, ada, "Best of August", "my picks", is_public=True, now=NOW)
    assert collections.add_paper(store, ada, private, IDS[0], now=NOW)
    assert not collections.add_paper(store, ada, private, IDS[0], now=NOW)  # once
    collections.add_paper(store, ada, private, IDS[1], now=NOW + dt.timedelta(seconds=1))
    assert store.collections.paper_ids(private) == IDS[:2]
    with pytest.raises(NotFound):
        collections.visible(store, bob, private)
    with pytest.raises(NotFound):
        collections.visible(store, None, private)
    assert collections.visible(store, None, public).description == "my picks"
    with pytest.raises(PermissionDenied):
        collections.add_paper(store, bob, public, IDS[0])
    with pytest.raises(PermissionDenied):
        collections.delete(store, bob, public)
    assert [c.name for c in store.collections.for_user(ada.id, public_only=True)] == ["Best of August"]
    assert store.collections.containing(ada.id, IDS[0]) == {private}
    collections.update(store, ada, private, "Renamed", "", True, now=NOW)
    assert store.collections.get(private).is_public and store.collections.get(private).size == 2
    collections.delete(store, ada, private)
    with pytest.raises(NotFound):
        store.collections.get(private)


def test_follows_toggle(store):
    ada = member(store, "ada")
    assert collections.toggle_follow(store, ada, "author", "Ada Lovelace", now=NOW)
    assert collections.toggle_follow(store, ada, "category", "cs.CL", now=NOW)
    assert store.follows.for_user(ada.id) == [("author", "ada-lovelace"), ("category", "cs.CL")]
    assert not collections.toggle_follow(store, ada, "category", "cs.CL", now=NOW)
    with pytest.raises(InvalidInput):
        collections.toggle_follow(store, ada, "category", "<b>")
    with pytest.raises(InvalidInput):
        collections.toggle_follow(store, ada, "planet", "mars")


def test_rate_limiter_counts_a_sliding_window():
    clock = [0.0]
    limiter = RateLimiter(3, 60, "attempts", clock=lambda: clock[0])
    for _ in range(3):
        limiter.hit("k")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("k")
    assert refused.value.retry_after == 60
    limiter.hit("other")
    clock[0] = 61
    limiter.hit("k")
