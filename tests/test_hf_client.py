"""huggingface_hub's own paper methods, unchanged, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from conftest import HF_DAYS
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import PaperInfo
from support.recorded import recorded_days

TOP_ID, TOP_TITLE, TOP_UPVOTES = "2608.19880", "EnvHarness: Awakening Static Worlds for Agent Learning", 163


HF_TOKEN = "hf_" + "Zq7XbR2mVt9LwK4pN8cY3dF6gH1jS5aU0e"  # the form of a real Hugging Face token


@pytest.fixture(scope="module")
def api(live_server) -> Iterator[HfApi]:
    """As a user logged in to Hugging Face runs it: the client sends HF_TOKEN with every call
    (implicitly, as it does with the token `hf auth login` saves), and the server ignores it."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_TOKEN", HF_TOKEN)
        env.setenv("HF_ENDPOINT", live_server)
        yield HfApi(endpoint=live_server)


def test_list_daily_papers_for_a_date(api, web_store):
    papers = list(api.list_daily_papers(date="2026-08-21"))
    day = dt.date(2026, 8, 21)
    assert len(papers) == web_store.daily(day, day, limit=1).total == 17
    top = next(p for p in papers if p.id == TOP_ID)
    assert top.title == TOP_TITLE and top.upvotes == TOP_UPVOTES
    assert top.authors[0].name == "Chengsong Huang" and len(top.authors) == 17
    assert top.summary.startswith("LLM agents learn")
    assert top.comments == 1
    assert top.submitted_by.name == "taesiri"  # HF's entry names the submitter `name` (username stays "")
    assert isinstance(top.published_at, dt.datetime) and isinstance(top.submitted_at, dt.datetime)
    assert top.organization.name == "google" and top.thumbnail.startswith("https://")


def test_list_daily_papers_trending_week_and_month(api):
    trending = list(api.list_daily_papers(date="2026-08-21", sort="trending", limit=3))
    assert trending[0].id == TOP_ID
    assert [p.upvotes for p in trending] == sorted((p.upvotes for p in trending), reverse=True)
    week = list(api.list_daily_papers(week="2026-W34", limit=100))
    assert len(week) == 100 and TOP_ID in {p.id for p in week}
    month = list(api.list_daily_papers(month="2026-08", sort="trending", limit=5))
    assert month[0].id == TOP_ID and month[0].upvotes == TOP_UPVOTES


def test_list_daily_papers_pages_and_submitter(api):
    first = [p.id for p in api.list_daily_papers(month="2026-08", limit=10, p=0)]
    second = [p.id for p in api.list_daily_papers(month="2026-08", limit=10, p=1)]
    assert len(first) == len(second) == 10 and not set(first) & set(second)
    mine = list(api.list_daily_papers(month="2026-08", submitter="taesiri", limit=100))
    assert mine and all(p.submitted_by.name == "taesiri" for p in mine)


def test_paper_info(api):
    info = api.paper_info(TOP_ID)
    assert info.id == TOP_ID and info.title == TOP_TITLE and info.upvotes == TOP_UPVOTES
    assert info.github_repo == "https://github.com/google-research/envharness" and info.github_stars == 8
    assert info.project_page.startswith("https://envharness.com")
    assert [a.name for a in info.authors][:2] == ["Chengsong Huang", "Zifeng Wang"]
    assert info.submitted_by.username == "taesiri"
    assert info.comments == 1 and info.discussion_id == "6a87afc589e517cbfd75dbe0"
    assert info.organization.name == "google"
    assert info.linked_models == info.linked_datasets == info.linked_spaces == [] and info.num_total_models == 0
    linked = api.paper_info("2607.13639")
    assert [m.id for m in linked.linked_models] == ["ATH-MaaS/OvisOCR2"] and linked.num_total_models == 1
    old = api.paper_info("hep-th/9901001")
    assert old.title == "String Junctions and Their Duals in Heterotic String Theory"
    assert old.published_at == dt.datetime(1999, 1, 1, 1, 1, 10, tzinfo=dt.UTC)


def test_paper_info_unknown_id_raises_404(api):
    with pytest.raises(HfHubHTTPError) as err:
        api.paper_info("2401.99999")
    assert err.value.response.status_code == 404


def test_list_papers_searches(api):
    found = list(api.list_papers(query="energy", limit=5))
    assert 1 <= len(found) <= 5
    for paper in found:
        assert paper.id and paper.title
        assert "energ" in (paper.title + " " + (paper.summary or "")).lower()
    exact = list(api.list_papers(query='"string junctions"', limit=3))
    assert exact[0].id == "hep-th/9901001"


def test_read_paper_returns_markdown(api):
    text = api.read_paper(TOP_ID)
    assert text.startswith(f"# {TOP_TITLE}")
    assert "Chengsong Huang" in text and "## Abstract" in text
    assert "String Junctions" in api.read_paper("hep-th/9901001")
    with pytest.raises(HfHubHTTPError):
        api.read_paper("2401.99999")


# -- issue 15: the feed, HF's fields, only HF_ENDPOINT changed ------------------------------------


def test_list_daily_papers_without_a_period_pages_back_through_the_days(api):
    day_of = {e["paper"]["id"]: day for day, entries in recorded_days(HF_DAYS) for e in entries}
    first = [p.id for p in api.list_daily_papers(limit=20)]
    second = [p.id for p in api.list_daily_papers(limit=20, p=1)]
    assert len(first) == len(second) == 20 and not set(first) & set(second)
    assert first[0] == TOP_ID and max(day_of[i] for i in second) <= min(day_of[i] for i in first)
    theirs = {e["paper"]["id"] for _, entries in recorded_days(HF_DAYS) for e in entries
              if (e.get("submittedBy") or {}).get("name") == "taesiri"}
    mine = list(api.list_daily_papers(submitter="taesiri", limit=100))  # no period: the whole history
    assert {p.id for p in mine} == theirs and len({day_of[p.id][:7] for p in mine}) == 2


def _plain(value: object) -> object:
    """What a PaperInfo holds, as plain data (its forward-compatible extras included)."""
    return json.loads(json.dumps(value, default=lambda o: vars(o) if hasattr(o, "__dict__") else str(o)))


def test_ten_recorded_days_read_the_same_through_the_client(api):
    for day, theirs in recorded_days(HF_DAYS)[1::3]:
        ours = {p.id: _plain(p) for p in api.list_daily_papers(date=day, limit=100)}
        recorded = {p.id: _plain(p) for p in (PaperInfo(**entry) for entry in theirs)}
        assert ours == recorded, day


def test_only_hf_endpoint_changes(live_server, tmp_path):
    """A script written against huggingface.co, run with HF_ENDPOINT pointed here and an HF token
    in the environment (as `hf auth login` leaves one), unchanged."""
    script = """
import json
from huggingface_hub import HfApi
api = HfApi()
print(json.dumps({
    "date": [p.id for p in api.list_daily_papers(date="2026-08-21")],
    "week": len(list(api.list_daily_papers(week="2026-W34", limit=100))),
    "month": len(list(api.list_daily_papers(month="2026-08", limit=100))),
    "submitter": len(list(api.list_daily_papers(submitter="taesiri"))),
    "pages": [p.id for p in api.list_daily_papers(limit=5, p=1)],
    "paper": api.paper_info("2608.19880").title,
    "search": [p.id for p in api.list_papers(query="energy", limit=3)],
}))
"""
    env = {**os.environ, "HF_ENDPOINT": live_server, "HF_TOKEN": HF_TOKEN, "HF_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["date"][0] == TOP_ID and len(found["date"]) == 17
    assert found["week"] == found["month"] == 100 and found["submitter"] == 50
    assert len(found["pages"]) == 5 and found["paper"] == TOP_TITLE and len(found["search"]) == 3
