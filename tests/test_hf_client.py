"""huggingface_hub's own paper methods, unchanged, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

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
    assert top.submitted_by.username == "taesiri"
    assert isinstance(top.published_at, dt.datetime) and isinstance(top.submitted_at, dt.datetime)


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
    assert mine and all(p.submitted_by.username == "taesiri" for p in mine)


def test_paper_info(api):
    info = api.paper_info(TOP_ID)
    assert info.id == TOP_ID and info.title == TOP_TITLE and info.upvotes == TOP_UPVOTES
    assert info.github_repo == "https://github.com/google-research/envharness" and info.github_stars == 8
    assert info.project_page.startswith("https://envharness.com")
    assert [a.name for a in info.authors][:2] == ["Chengsong Huang", "Zifeng Wang"]
    assert info.submitted_by.username == "taesiri"
    assert info.comments == 1
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
