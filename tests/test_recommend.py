"""Personal recommendations: learned from upvotes, collections and "not interested" marks, over
stored vectors when there are any (logistic regression, or similarity with few examples) and
tf-idf when not; every item says why; /for-you shows the same ranking as the digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import numpy as np
import pytest
from support.community import copy_data_dir, make_app, signed_in_client
from support.databases import data_dir_url
from support.delivery import member_with_subscription

from dailypapers.community import accounts
from dailypapers.community import collections as collection_rules
from dailypapers.delivery import build, recommend
from dailypapers.store import Store
from dailypapers.store.vectors import content_hash, delete_vectors, embed_text, save_vectors

UTC = dt.timezone.utc
T = dt.datetime(2026, 8, 22, 12, 0, tzinfo=UTC)  # the day after the last list
MODEL = "test-model"
DIM = 32
AGENT = re.compile(r"\bagent", re.I)


def is_agentic(paper) -> bool:
    return bool(AGENT.search(paper.title))


@pytest.fixture
def store(web_data_dir, tmp_path):
    data = copy_data_dir(web_data_dir, tmp_path / "data")
    s = Store.open(data_dir_url(data))
    yield s
    s.close()


def add_vectors(store: Store) -> dict:
    """Vectors with a clear structure: papers about agents point one way, the rest another."""
    rng = np.random.default_rng(7)
    agent_dir, other_dir = rng.normal(size=DIM), rng.normal(size=DIM)
    rows, papers = [], {}
    for paper in store.iter_papers():
        papers[paper.arxiv_id] = paper
        seed = int(hashlib.sha1(paper.arxiv_id.encode()).hexdigest()[:8], 16)
        noise = np.random.default_rng(seed).normal(size=DIM) * 0.6
        vec = (agent_dir if is_agentic(paper) else other_dir) + noise
        rows.append((paper.arxiv_id, content_hash(embed_text(paper.title, paper.abstract)), vec / np.linalg.norm(vec)))
    save_vectors(store, MODEL, rows)
    return papers


def older_agent_papers(store: Store, n: int) -> list[str]:
    """Agent papers listed before the window of T (so they are not candidates themselves)."""
    found = []
    for item in store.daily_all(dt.date(2026, 7, 1), dt.date(2026, 8, 10)):
        if is_agentic(item.paper):
            found.append(item.paper.arxiv_id)
    assert len(found) >= n
    return found[:n]


def test_a_member_model_over_embeddings_learns_from_upvotes_collections_and_rejections(store):
    papers = add_vectors(store)
    user = accounts.create_user(store, "ada@example.org", "correct horse battery", username="ada")
    liked = older_agent_papers(store, 6)
    for pid in liked[:5]:
        store.votes.set(pid, user.id, True, T)
    cid = collection_rules.create(store, user, "Agents to read", now=T)
    collection_rules.add_paper(store, user, cid, liked[5], now=T)

    ranking, window = recommend.for_member(store, user.id, T, "weekly", limit=10)
    assert ranking.method == "embeddings (logistic regression)" and ranking.model_id == MODEL
    assert ranking.positives == 6 and window.start_day == dt.date(2026, 8, 15)
    top = ranking.items[:5]
    assert top and all(is_agentic(papers[r.paper_id]) for r in top)
    for r in ranking.items:
        assert r.paper_id not in liked
        assert re.fullmatch(r"similar to “.+”(, which you upvoted| in your collection “Agents to read”)", r.reasons[0])
        assert r.nearest in liked
    assert "logistic regression over test-model embeddings" in ranking.note()

    rejected = top[0].paper_id
    store.not_interested.mark(user.id, rejected, T)
    again, _ = recommend.for_member(store, user.id, T, "weekly", limit=10)
    assert rejected not in again.ids and again.negatives == 1
    assert "1 “not interested” mark" in again.note()


def test_few_examples_use_similarity_and_no_vectors_means_tfidf(store):
    papers = add_vectors(store)
    user = accounts.create_user(store, "bo@example.org", "correct horse battery", username="bo")
    for pid in older_agent_papers(store, 2):
        store.votes.set(pid, user.id, True, T)
    ranking, _ = recommend.for_member(store, user.id, T, "weekly")
    assert ranking.method == "embeddings (similarity)"
    assert is_agentic(papers[ranking.items[0].paper_id])

    delete_vectors(store, MODEL)
    ranking, _ = recommend.for_member(store, user.id, T, "weekly")
    assert ranking.method == "tf-idf (similarity)" and ranking.items
    first = papers[ranking.items[0].paper_id]
    nearest = papers[ranking.items[0].nearest]
    shared = set(re.findall(r"[a-z]{4,}", (first.title + first.abstract).lower())) & \
        set(re.findall(r"[a-z]{4,}", (nearest.title + nearest.abstract).lower()))
    assert len(shared) >= 5  # tf-idf neighbours share vocabulary
    assert "tf-idf similarity" in ranking.note()


def test_alerts_and_follows_are_reasons_too_and_a_new_member_gets_a_hint(store):
    user = accounts.create_user(store, "cy@example.org", "correct horse battery", username="cy")
    cold, _ = recommend.for_member(store, user.id, T, "weekly")
    assert cold.method == "none" and cold.items == [] and "Upvote papers" in cold.note()
    store.saved_searches.create(user_id=user.id, name="agents", query="agent", mode="keyword", author="",
                                category="", alert=True, feed_token="t", now=T)
    listed = store.daily_all(dt.date(2026, 8, 15), dt.date(2026, 8, 21))
    author = next(i.paper.authors[0].name for i in listed if not AGENT.search(i.paper.title + i.paper.abstract))
    collection_rules.toggle_follow(store, user, "author", author, now=T)
    ranking, _ = recommend.for_member(store, user.id, T, "weekly", limit=200)
    reasons = [reason for r in ranking.items for reason in r.reasons]
    assert "matches your alert “agents”" in reasons
    assert f"by {author}, whom you follow" in reasons
    assert ranking.method == "alerts and follows" and "Ranked by your alerts" in ranking.note()


def test_for_you_shows_the_same_ranking_as_the_digest(web_data_dir, tmp_path):
    data = copy_data_dir(web_data_dir, tmp_path / "data")
    app, store = make_app(data)
    app.state.clock = lambda: T
    add_vectors(store)
    user, sub = member_with_subscription(store, "dee", T - dt.timedelta(days=10), {
        "frequency": "weekly", "weekday": "5", "hour": "8", "timezone": "UTC", "include_recommendations": "1"})
    for pid in older_agent_papers(store, 5):
        store.votes.set(pid, user.id, True, T - dt.timedelta(days=9))
    assert build.plan(store, T) == [f"digest:{sub.id}:2026-08-22"]
    job = store.jobs.claim("w", ["digest"], T, 60)
    result = build.build(store, app.state.settings, sub.id, dt.date(2026, 8, 22),
                         dt.datetime.fromisoformat(job.payload["instant"]), now=T)
    emailed = [pid for pid, section in store.outbox.items(result.outbox_id) if section == "recommended"]
    assert len(emailed) == 10

    client = signed_in_client(app, "dee@example.org")
    page = client.get("/for-you")
    assert page.status_code == 200
    shown = re.findall(r'<div class="recommendation" data-id="([^"]+)">', page.text)
    assert shown[:10] == emailed  # the same papers in the same order
    message = store.outbox.get(result.outbox_id).message.decode("utf-8", "replace")
    assert "logistic regression" in page.text and "Not interested" in page.text
    assert 'rel="alternate" type="application/rss+xml"' in page.text and "/feeds/for-you/" in page.text
    assert message  # (the why of each paper is checked in test_digest_mail)

    # "not interested" from the page: gone from the page, and from the next digest's candidates
    hidden = client.post("/for-you/not-interested", data={"paper_id": shown[0], "csrf_token": client.csrf},
                         follow_redirects=False)
    assert hidden.status_code == 303
    again = re.findall(r'<div class="recommendation" data-id="([^"]+)">', client.get("/for-you").text)
    assert shown[0] not in again and again[0] == shown[1]
    undo = client.post("/for-you/not-interested", data={"paper_id": shown[0], "undo": "1",
                                                        "csrf_token": client.csrf})
    assert undo.status_code == 200 and shown[0] in client.get("/for-you").text
    assert client.post("/for-you/not-interested", data={"paper_id": shown[0]}).status_code == 403  # no CSRF
    store.close()
