"""Digests end to end with a real SMTP server (aiosmtpd) on loopback: the message (multipart,
headers, links, why), double opt-in, one-click unsubscribe, retries while the server is down,
permanent failures, and exactly one message per (subscription, period) however often digests
are built."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import threading
from email.utils import parseaddr
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from support.community import copy_data_dir, csrf_of
from support.delivery import PUBLIC_URL, Inbox, SMTPServer, member_with_subscription, settings_for

from dailypapers.community import collections as collection_rules
from dailypapers.delivery import build, sender
from dailypapers.delivery import subscriptions as rules
from dailypapers.store import Store
from dailypapers.worker.loop import Worker

UTC = dt.timezone.utc
CREATED = dt.datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
T = dt.datetime(2026, 11, 3, 7, 30, tzinfo=UTC)  # 08:30 in Paris: the 08:00 digest is due
HREF = re.compile(r'href="([^"]+)"')


@pytest.fixture
def data_dir(web_data_dir, tmp_path):
    return copy_data_dir(web_data_dir, tmp_path / "data")


@pytest.fixture
def smtp():
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture
def site(data_dir, smtp):
    settings = settings_for(data_dir, smtp, worker_jobs=("digests",), outbox_retry_seconds=60)
    store = Store.open(settings.resolved_database_url)
    yield settings, store
    store.close()


def run_worker(store, settings, now: dt.datetime) -> Worker:
    worker = Worker(store, settings, clock=lambda: now, on_event=lambda line: None)
    worker.run(once=True)
    return worker


def latest_ids(store, days: int = 3) -> list[str]:
    latest = store.latest_date()
    return [item.paper.arxiv_id for item in store.daily_all(latest - dt.timedelta(days=days), latest)]


def a_reader(store, name: str = "ada"):
    """A member with upvotes, a collection, an alert and a daily 08:00 Paris digest."""
    user, sub = member_with_subscription(store, name, CREATED)
    ids = latest_ids(store)
    for pid in ids[:3]:
        store.votes.set(pid, user.id, True, CREATED)
    cid = collection_rules.create(store, user, "Agents reading list", now=CREATED)
    collection_rules.add_paper(store, user, cid, ids[3], now=CREATED)
    store.saved_searches.create(user_id=user.id, name="agents", query="agent", mode="keyword", author="",
                                category="", alert=True, feed_token=f"token-{name}", now=CREATED)
    return user, sub


def test_a_member_digest_arrives_with_everything_and_one_click_unsubscribe_works(site, smtp):
    settings, store = site
    _, sub = a_reader(store)
    run_worker(store, settings, T)

    (message,) = smtp.inbox.messages
    (row,) = store.outbox.recent()
    assert row.status == "sent" and row.dedupe_key == f"digest:{sub.id}:2026-11-03"
    assert message["Message-ID"] == row.message_id  # recorded before sending, sent as recorded
    assert message["To"] == "ada@example.org" and parseaddr(message["From"])[1] == "digest@papers.example.org"
    assert message["Subject"].startswith("dailypapers Tue Nov 3:") and "trending" in message["Subject"]
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()

    # one-click unsubscribe headers (RFC 2369 / RFC 8058)
    unsubscribe = re.fullmatch(r"<([^>]+)>", message["List-Unsubscribe"]).group(1)
    assert unsubscribe.startswith(f"{PUBLIC_URL}/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # sections, why for every paper, and the papers it was built from
    items = store.outbox.items(row.id)
    sections = [s for _, s in items]
    assert sections[0] == "trending" and "alerts" in sections and "recommended" in sections
    assert html.count("<strong>Why:</strong>") == len(items) == text.count("   Why: ")
    assert "matches your alert “agents”" in text
    assert re.search(r"similar to “[^”]+”(, which you upvoted| in your collection “Agents reading list”)", text)
    assert re.search(r"#1 trending on the list of Aug 21: [\d,]+ upvotes in \d+ h; score \(\d+ \+ \d+\)", text)
    for pid, _ in items:
        assert f"{PUBLIC_URL}/papers/{pid}" in text and f'href="{PUBLIC_URL}/papers/{pid}"' in html
    # every link is absolute; those to the site use the public URL
    for href in HREF.findall(html):
        parts = urlsplit(href)
        assert parts.scheme == "https" and parts.netloc, href
        assert parts.netloc in ("papers.example.org", "arxiv.org", "github.com", "huggingface.co") or \
            "github" in parts.netloc, href
    # the upvoted papers are not recommended back; upvote counts include local votes
    assert not set(latest_ids(store)[:4]) & {pid for pid, s in items if s == "recommended"}

    # one click, as a mail provider does it: no cookies, no CSRF token, no sign-in
    client = TestClient(_app(settings, store))
    response = client.post(urlsplit(unsubscribe).path, content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200 and "Unsubscribed" in response.text
    assert store.subscriptions.get(sub.id).status == "unsubscribed"
    assert build.plan(store, T + dt.timedelta(days=1)) == []
    run_worker(store, settings, T + dt.timedelta(days=1))
    assert len(smtp.inbox.messages) == 1


def _app(settings, store):
    from dailypapers.web import create_app

    # the TestClient's host, `testserver`, is trusted beside the public URL's
    return create_app(dataclasses.replace(settings, trusted_hosts=("testserver",)), store=store)


def test_building_a_period_twice_or_concurrently_queues_one_message(site, smtp):
    settings, store = site
    _, sub = a_reader(store)
    build.plan(store, T)
    job = store.jobs.get(f"digest:{sub.id}:2026-11-03")
    instant = dt.datetime.fromisoformat(job.payload["instant"])
    results = []

    def go():
        results.append(build.build(store, settings, sub.id, dt.date(2026, 11, 3), instant, now=T).status)

    threads = [threading.Thread(target=go) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("queued") == 1 and set(results) <= {"queued", "exists"}
    assert store.outbox.counts()["queued"] == 1
    run_worker(store, settings, T)  # the planned job finds it built
    run_worker(store, settings, T + dt.timedelta(minutes=5))
    assert len(smtp.inbox.messages) == 1
    assert store.jobs.get(f"digest:{sub.id}:2026-11-03").status == "done"


def test_smtp_down_then_up_delivers_each_digest_exactly_once(site, smtp):
    settings, store = site
    subs = [a_reader(store, name)[1] for name in ("ada", "bob", "cy")]
    smtp.stop()
    run_worker(store, settings, T)
    counts = store.outbox.counts()
    assert counts == {"queued": 3, "sent": 0, "failed": 0, "cancelled": 0}
    attempts = store.outbox.attempts()
    assert [a.outcome for a in attempts] == ["retry"] * 3  # each tried once as soon as it was built
    assert all("cannot connect" in a.error for a in attempts)
    assert all(m.next_attempt_at == T + dt.timedelta(seconds=60) for m in store.outbox.recent())

    smtp.start()  # the same port again
    run_worker(store, settings, T + dt.timedelta(seconds=30))  # still backing off
    assert smtp.inbox.messages == []
    run_worker(store, settings, T + dt.timedelta(seconds=61))
    run_worker(store, settings, T + dt.timedelta(minutes=10))  # nothing is sent twice
    assert sorted(m["To"] for m in smtp.inbox.messages) == sorted(s.address for s in subs)
    assert sorted(smtp.inbox.message_ids()) == sorted(m.message_id for m in store.outbox.recent())
    assert store.outbox.counts()["sent"] == 3
    first = store.outbox.attempts(store.outbox.by_key(f"digest:{subs[0].id}:2026-11-03").id)
    assert [a.outcome for a in first] == ["retry", "sent"]


def test_backoff_doubles_and_gives_up_after_the_last_attempt(site, smtp):
    settings, store = site
    settings = settings.__class__(**{**settings.__dict__, "outbox_max_attempts": 3})
    a_reader(store)
    smtp.stop()
    now = T
    run_worker(store, settings, now)
    waits = []
    for _ in range(2):
        (row,) = store.outbox.recent()
        waits.append((row.next_attempt_at - now).total_seconds())
        now = row.next_attempt_at
        run_worker(store, settings, now)
    (row,) = store.outbox.recent()
    assert waits == [60, 120] and row.status == "failed" and row.attempts == 3
    assert "gave up after 3 attempts" in row.last_error
    assert sender.backoff(settings, 20) == sender.MAX_BACKOFF
    smtp.start()
    assert store.outbox.requeue(now) == 1
    run_worker(store, settings, now)
    assert len(smtp.inbox.messages) == 1


def test_a_refused_recipient_fails_without_retries(data_dir):
    server = SMTPServer(Inbox(reject={"ada@example.org": "550 5.1.1 no such mailbox"})).start()
    try:
        settings = settings_for(data_dir, server, worker_jobs=("digests",))
        store = Store.open(settings.resolved_database_url)
        a_reader(store)
        a_reader(store, "bob")
        run_worker(store, settings, T)
        by_to = {m.to_addr: m for m in store.outbox.recent()}
        assert by_to["ada@example.org"].status == "failed" and "550" in by_to["ada@example.org"].last_error
        assert by_to["bob@example.org"].status == "sent"  # the same connection goes on
        assert [m["To"] for m in server.inbox.messages] == ["bob@example.org"]
        store.close()
    finally:
        server.stop()


def confirm_token(row) -> str:
    """The token of the confirmation link in a queued confirmation message."""
    import email
    from email import policy
    from urllib.parse import unquote

    body = email.message_from_bytes(row.message, policy=policy.default).get_body(("plain",)).get_content()
    return unquote(re.search(r"/subscribe/confirm\?token=(\S+)", body).group(1))


def test_unsubscribing_after_queueing_cancels_and_an_address_change_redirects(site, smtp):
    settings, store = site
    _, member_sub = a_reader(store)
    rules.subscribe_address(store, settings, "carol@example.org", {"include_trending": "1"}, base=PUBLIC_URL,
                            now=CREATED)
    carol = store.subscriptions.by_email("carol@example.org")
    (confirm_row,) = [m for m in store.outbox.recent() if m.kind == "confirm"]
    assert all(d.subscription.id != carol.id for d in build.due(store, T, force=True))  # not confirmed yet
    rules.confirm(store, settings, confirm_token(confirm_row), now=CREATED)
    build.plan(store, T)
    while (job := store.jobs.claim("w", ["digest"], T, 60)) is not None:  # build without sending
        p = job.payload
        build.build(store, settings, p["subscription"], dt.date.fromisoformat(p["period"]),
                    dt.datetime.fromisoformat(p["instant"]), now=T)
        store.jobs.finish(job, "w", T, ok=True)
    queued = [m for m in store.outbox.recent(status="queued") if m.kind == "digest"]
    assert sorted(m.to_addr for m in queued) == ["ada@example.org", "carol@example.org"]
    # after queueing: the member unsubscribes, carol moves to a new address (confirmed)
    rules.cancel(store, member_sub, T)
    rules.change_address(store, settings, carol, "carol@new.example.org", base=PUBLIC_URL, now=T)
    (change,) = [m for m in store.outbox.recent(status="queued") if m.to_addr == "carol@new.example.org"]
    assert change.kind == "confirm"
    rules.confirm(store, settings, confirm_token(change), now=T)
    sender.send_all(store, settings, "w", now=lambda: T)
    sent = [m for m in smtp.inbox.messages if m["Subject"].startswith("dailypapers ")]
    assert [m["To"] for m in sent] == ["carol@new.example.org"]  # ada unsubscribed; carol's old address: nothing
    carol_digest = store.outbox.get(next(m.id for m in queued if m.subscription_id == carol.id))
    assert carol_digest.to_addr == "carol@new.example.org" and sent[0]["Message-ID"] == carol_digest.message_id
    cancelled = store.outbox.by_key(f"digest:{member_sub.id}:2026-11-03")
    assert cancelled.status == "cancelled" and "unsubscribed" in cancelled.last_error
    assert [a.outcome for a in store.outbox.attempts(cancelled.id)] == ["cancelled"]
    stale = store.outbox.get(confirm_row.id)  # the first confirmation was never sent: it was used already
    assert stale.status == "cancelled" and "confirmed already" in stale.last_error


def test_double_opt_in_through_the_web(site, smtp):
    settings, store = site
    app = _app(settings, store)
    app.state.clock = lambda: T
    client = TestClient(app, base_url="https://testserver")  # the session cookie is Secure (https public URL)
    page = client.get("/subscribe")
    assert 'name="email"' in page.text and "include_recommendations" not in page.text
    # without the CSRF token the form is refused
    assert client.post("/subscribe", data={"email": "dora@example.org"}).status_code == 403
    answer = client.post("/subscribe", data={"csrf_token": csrf_of(page.text), "email": "Dora@Example.org",
                                             "frequency": "weekly", "weekday": "1", "hour": "6",
                                             "timezone": "America/Sao_Paulo"})
    assert answer.status_code == 200 and "Check your inbox" in answer.text
    (confirmation,) = smtp.inbox.messages  # sent at once, through the outbox
    assert confirmation["To"] == "dora@example.org" and confirmation["List-Unsubscribe"] is None
    sub = store.subscriptions.by_email("dora@example.org")
    assert sub.status == "pending" and sub.frequency == "weekly" and sub.timezone == "America/Sao_Paulo"
    # nothing but the confirmation until the link is opened, even with --now
    assert build.plan(store, T, force=True) == []
    link = re.search(rf"{re.escape(PUBLIC_URL)}(/subscribe/confirm\?token=\S+)",
                     confirmation.get_body(("plain",)).get_content()).group(1)
    # the same answer for an address that is already waiting: a fresh link, nothing else
    form = client.get(link)
    assert form.status_code == 200 and "dora@example.org" in form.text
    assert store.subscriptions.get(sub.id).status == "pending"  # opening the page confirms nothing
    done = client.post("/subscribe/confirm", data={"token": re.search(r'name="token" value="([^"]+)"',
                                                                         form.text).group(1),
                                                   "csrf_token": csrf_of(form.text)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert store.subscriptions.get(sub.id).status == "active"
    assert client.get("/subscribe/confirm?token=forged").status_code == 400
    # subscribing again: a note with the management link, no second subscription
    page = client.get("/subscribe")
    client.post("/subscribe", data={"csrf_token": csrf_of(page.text), "email": "dora@example.org"})
    assert smtp.inbox.messages[-1]["Subject"] == "You are already subscribed to dailypapers"
    assert store.subscriptions.counts()["active"] == 1
    build.plan(store, T, force=True)
    run_worker(store, settings, T)
    digest = smtp.inbox.messages[-1]
    assert digest["To"] == "dora@example.org" and "Trending" in digest.get_body(("plain",)).get_content()
    assert "For you" not in digest.get_body(("plain",)).get_content()  # an address alone gets trending only
