"""Remote thumbnails in real Chromium (Debian's package through Playwright): with remote images
on, a card shows the recorded Hugging Face thumbnail; when that host cannot be reached (offline,
blocked) the card shows the placeholder page, never a broken image. The host is answered or
refused by the browser's own request routing, so no request leaves the machine."""

from __future__ import annotations

import datetime as dt
import io
import json
import sys
from pathlib import Path

import pytest
from PIL import Image
from support.community import copy_data_dir, make_app

from dailypapers.models import Author, DailyEntry, Paper, Record
from dailypapers.web.security import REMOTE_IMAGE_HOST

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_votes import serve  # noqa: E402

pytestmark = pytest.mark.browser
DAY = dt.date(2026, 8, 21)
PAPER = "2608.29101"
THUMB = f"https://{REMOTE_IMAGE_HOST}/social-thumbnails/papers/{PAPER}.png"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (160, 207), (200, 210, 230)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path_factory.mktemp("thumbs") / "data"),
                          remote_images=True)
    source = {"paper": {"id": PAPER}, "title": "A paper with a recorded thumbnail", "thumbnail": THUMB}
    paper = Paper(PAPER, "A paper with a recorded thumbnail", "An abstract.", [Author("T. Humb")], version=1,
                  published=dt.datetime(2026, 8, 20, 9, tzinfo=dt.UTC), primary_category="cs.CV",
                  categories=["cs.CV"])
    store.write([Record(paper, DailyEntry(PAPER, DAY, upvotes=4000, source_json=json.dumps(source)))])
    with serve(app) as base:
        yield base
    store.close()


def card_thumbnail(browser, base: str, answer) -> dict:
    context = browser.new_context(base_url=base)
    context.route(f"https://{REMOTE_IMAGE_HOST}/**", answer)
    page = context.new_page()
    try:
        page.goto(f"/papers/date/{DAY}")
        card = page.locator(f"article.card[data-id='{PAPER}']")
        card.locator(".thumb").first.scroll_into_view_if_needed()
        page.wait_for_function(
            "id => { const t = document.querySelector(`article.card[data-id='${id}'] .thumb`);"
            " return t && (t.tagName !== 'IMG' || (t.complete && t.naturalWidth > 0)); }", arg=PAPER)
        return card.locator(".thumb").first.evaluate(
            "t => ({tag: t.tagName, cls: t.className, width: t.naturalWidth || 0, src: t.getAttribute('src')})")
    finally:
        context.close()


def test_a_reachable_remote_thumbnail_is_shown(browser, site):
    image = png()
    shown = card_thumbnail(browser, site, lambda route: route.fulfill(status=200, body=image,
                                                                        content_type="image/png"))
    assert shown["tag"] == "IMG" and shown["src"] == THUMB and shown["width"] == 160


def test_an_unreachable_remote_thumbnail_becomes_the_placeholder(browser, site):
    shown = card_thumbnail(browser, site, lambda route: route.abort("internetdisconnected"))
    assert shown["tag"] == "SPAN" and "thumb-placeholder" in shown["cls"].split()
