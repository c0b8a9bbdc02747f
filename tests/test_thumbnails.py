"""Thumbnails and the full text on the site (issue 15 items 7 and 8): the worker job renders the
first page of a PDF made here (fetched from a local HTTP server), the card and the paper page show
it from /thumbnails/{id} (cached, ETag, never a path from the request), a placeholder where there
is none, the recorded Hugging Face thumbnail only when DAILYPAPERS_REMOTE_IMAGES is on (the CSP
then allows that one host, and not otherwise); and /papers/{id}.md carries the full text."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import pytest
from fastapi.testclient import TestClient
from sources_helpers import FakeClock, ReplayServer, Reply
from test_fulltext import PDF

from dailypapers import config
from dailypapers.ingest.fulltext import job
from dailypapers.ingest.fulltext.fetch import PdfFetcher
from dailypapers.models import Author, DailyEntry, Paper, Record
from dailypapers.sources.http import RateLimiter
from dailypapers.store import Store
from dailypapers.web import create_app
from dailypapers.web.security import REMOTE_IMAGE_HOST

DAY = dt.date(2026, 11, 2)
T = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.timezone.utc)
RENDERED, RECORDED, BARE = "2611.00001", "2611.00002", "2611.00003"
HF_THUMB = f"https://{REMOTE_IMAGE_HOST}/social-thumbnails/papers/{RECORDED}.png"


def record(arxiv_id: str, thumbnail: str | None = None) -> Record:
    source = {"paper": {"id": arxiv_id}, "title": f"Paper {arxiv_id}", "numComments": 0}
    if thumbnail:
        source["thumbnail"] = thumbnail
    return Record(Paper(arxiv_id, f"Paper {arxiv_id}", "An abstract about sparse attention.",
                        [Author("Ada Lovelace")], version=1, primary_category="cs.CL", categories=["cs.CL"],
                        published=T - dt.timedelta(days=1)),
                  DailyEntry(arxiv_id, DAY, upvotes=3, source_json=json.dumps(source)))


@pytest.fixture(scope="module")
def site(tmp_path_factory, make_database_url_module):
    data_dir = tmp_path_factory.mktemp("thumbs")
    url = make_database_url_module
    store = Store.open(url)
    store.write([record(RENDERED, f"https://{REMOTE_IMAGE_HOST}/x/{RENDERED}.png"), record(RECORDED, HF_THUMB),
                 record(BARE, "https://evil.example.org/tracker.png")])
    clock = FakeClock()
    with ReplayServer(route=lambda path: Reply(200, PDF, content_type="application/pdf")
                      if path == f"/pdf/{RENDERED}" else Reply(404, b"no")) as server:
        fetcher = PdfFetcher(server.url + "/pdf", data_dir / "pdf", max_bytes=10**6, delay=0,
                             limiter=RateLimiter(0, clock=clock, sleep=clock.sleep))
        report = job.run(store, fetcher, lambda: T)
        fetcher.close()
    assert report.outcomes == {"ok": 1, "missing": 2}
    yield data_dir, url, store
    store.close()


@pytest.fixture(scope="module")
def make_database_url_module(backend, tmp_path_factory):
    from support import databases

    with databases.open_database(backend, tmp_path_factory.mktemp("thumbdb")) as url:  # dropped at the end
        yield url


def client_for(site, remote_images: bool) -> TestClient:
    data_dir, url, store = site
    settings = config.load(environ={}, data_dir=data_dir, database_url=url, remote_images=remote_images)
    return TestClient(create_app(settings, store=store), raise_server_exceptions=False)


def thumbs(html: str) -> dict[str, str]:
    """data-id of each card -> what it shows: an <img> src, or "placeholder"."""
    out = {}
    for card in re.findall(r'<article class="card" data-id="([^"]+)">(.*?)</article>', html, re.S):
        pid, body = card
        img = re.search(r'<img class="thumb" src="([^"]+)"', body)
        out[pid] = img.group(1) if img else ("placeholder" if 'class="thumb thumb-placeholder"' in body else "none")
    return out


def test_the_thumbnail_route_serves_the_rendered_first_page_with_caching_headers(site):
    from PIL import Image

    with client_for(site, remote_images=False) as client:
        got = client.get(f"/thumbnails/{RENDERED}")
        assert got.status_code == 200 and got.headers["content-type"] == "image/webp"
        assert Image.open(io.BytesIO(got.content)).format == "WEBP"
        assert got.headers["cache-control"] == "public, max-age=86400"
        etag = got.headers["etag"]
        again = client.get(f"/thumbnails/{RENDERED}", headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(f"/thumbnails/{RENDERED}v1").content == got.content  # a versioned id is the paper
        assert client.get(f"/thumbnails/{RECORDED}").status_code == 404  # no PDF: none rendered
        for hostile in ("../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e/dailypapers.db", "2611.00001/../x"):
            answer = client.get(f"/thumbnails/{hostile}")
            assert answer.status_code in (400, 404), hostile
            assert not answer.headers.get("content-type", "").startswith("image/")


def test_cards_and_the_paper_page_show_the_local_thumbnail_and_placeholders(site):
    with client_for(site, remote_images=False) as client:
        page = client.get(f"/papers/date/{DAY.isoformat()}")
        assert page.status_code == 200
        assert thumbs(page.text) == {RENDERED: f"/thumbnails/{RENDERED}", RECORDED: "placeholder",
                                     BARE: "placeholder"}
        assert REMOTE_IMAGE_HOST not in page.text and "evil.example.org" not in page.text
        csp = page.headers["content-security-policy"]
        assert "img-src 'self' data:;" in csp and REMOTE_IMAGE_HOST not in csp
        paper = client.get(f"/papers/{RENDERED}")
        assert f'<img class="thumb thumb-large" src="/thumbnails/{RENDERED}"' in paper.text
        assert 'alt="First page of the paper"' in paper.text
        bare = client.get(f"/papers/{RECORDED}")
        assert 'class="thumb thumb-placeholder thumb-large"' in bare.text and HF_THUMB not in bare.text


def test_remote_images_show_the_recorded_thumbnail_and_widen_the_csp_to_that_host_only(site):
    with client_for(site, remote_images=True) as client:
        page = client.get(f"/papers/date/{DAY.isoformat()}")
        # the local rendering wins; the recorded one fills in; a URL on another host is never used
        assert thumbs(page.text) == {RENDERED: f"/thumbnails/{RENDERED}", RECORDED: HF_THUMB, BARE: "placeholder"}
        assert "evil.example.org" not in page.text
        assert 'referrerpolicy="no-referrer"' in page.text
        csp = page.headers["content-security-policy"]
        img_src = next(part.strip() for part in csp.split(";") if part.strip().startswith("img-src"))
        assert img_src == f"img-src 'self' data: https://{REMOTE_IMAGE_HOST}"
        assert "script-src 'self';" in csp and "default-src 'self';" in csp  # nothing else widened
        paper = client.get(f"/papers/{RECORDED}")
        assert f'<img class="thumb thumb-large" src="{HF_THUMB}"' in paper.text


def test_the_markdown_page_carries_the_full_text_or_says_why_not(site):
    with client_for(site, remote_images=False) as client:
        md = client.get(f"/papers/{RENDERED}.md")
        assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
        text = md.text
        assert text.startswith(f"# Paper {RENDERED}\n")
        assert text.index("Ada Lovelace") < text.index("## Abstract") < text.index("## Full text")
        assert "Extracted from the arXiv PDF (2 pages)" in text
        assert ("\n\nA second paragraph starts on a new line and carries the word quokka in a sentence that is "
                "hyphenated across two lines.\n\nPage two says wombat.\n") in text
        missing = client.get(f"/papers/{RECORDED}.md").text
        assert "## Full text" in missing and "arXiv has no PDF for this paper" in missing


def test_full_text_that_looks_like_markdown_stays_text():
    from dailypapers.store.fulltext import FullText
    from dailypapers.web.render.markdown import to_markdown

    body = "# not a heading\n\n- not a list\n\n1. not numbered\n\n<script>x</script>\n\nplain words"
    fulltext = FullText("2611.00001", "ok", 1, None, body, 1, True, T)
    text = to_markdown(record(RENDERED).paper, [], fulltext=fulltext)
    tail = text.split("## Full text", 1)[1]
    assert "\n\\# not a heading\n" in tail and "\n\\- not a list\n" in tail and "\n\\1. not numbered\n" in tail
    assert "\n\\<script>x</script>\n" in tail and "\nplain words\n" in tail
    pending = to_markdown(record(RENDERED).paper, [], fulltext=None)
    assert "_The full text has not been fetched yet" in pending


def test_accept_text_markdown_on_the_paper_page_answers_markdown_and_is_cached_apart(site):
    with client_for(site, remote_images=False) as client:
        html = client.get(f"/papers/{RENDERED}", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
        md = client.get(f"/papers/{RENDERED}", headers={"Accept": "text/markdown"})
        again = client.get(f"/papers/{RENDERED}", headers={"Accept": "text/html"})
        assert html.headers["content-type"].startswith("text/html") and "<article" in html.text
        assert md.headers["content-type"].startswith("text/markdown") and md.text.startswith(f"# Paper {RENDERED}")
        assert "## Full text" in md.text and "Page two says wombat." in md.text
        assert again.headers["content-type"].startswith("text/html")  # not the Markdown a cache kept
        assert "Accept" in md.headers["vary"] and "Accept" in html.headers["vary"]
        assert md.headers["etag"] != html.headers["etag"]
        # a validator of one representation does not answer 304 for the other
        cross = client.get(f"/papers/{RENDERED}", headers={"Accept": "text/markdown",
                                                           "If-None-Match": html.headers["etag"]})
        assert cross.status_code == 200 and cross.headers["content-type"].startswith("text/markdown")
        prefers_html = client.get(f"/papers/{RENDERED}", headers={"Accept": "text/html, text/markdown;q=0.5"})
        assert prefers_html.headers["content-type"].startswith("text/html")


def test_wants_markdown_reads_the_accept_weights():
    from dailypapers.web.caching import wants_markdown

    assert wants_markdown("text/markdown") and wants_markdown("text/markdown, text/html")
    assert wants_markdown("text/html;q=0.5, text/markdown")
    assert not wants_markdown("") and not wants_markdown("*/*") and not wants_markdown("text/html")
    assert not wants_markdown("text/markdown;q=0, text/html") and not wants_markdown("text/markdown;q=x")
