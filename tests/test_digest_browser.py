"""The digest's HTML part in real Chromium (Debian's package through Playwright; never a downloaded
browser), light and dark, wide and phone-sized. Screenshots go to test-artifacts/ (git-ignored)
and are checked by what they show: colours read back from the rendered pixels, contrast of every
title, text and "why" box against what is behind it, nothing wider than the screen, no
resource fetched from anywhere."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path

import pytest
from support.community import copy_data_dir
from support.delivery import settings_for
from test_digest_mail import T, a_reader

from dailypapers.delivery import build
from dailypapers.store import Store

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

CONTRAST_JS = """
() => {
  const parse = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0)) return c;
    }
    return [255, 255, 255];
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const check = (selector) => Array.from(document.querySelectorAll(selector)).map((el) => {
    const r = el.getBoundingClientRect();
    return {selector, text: el.textContent.trim().slice(0, 60),
            ratio: ratio(parse(getComputedStyle(el).color), background(el)),
            width: r.width, height: r.height, left: r.left, right: r.right};
  });
  return {
    items: [].concat(check('.dp-paper-title'), check('.dp-text'), check('.dp-muted'), check('.dp-why'),
                     check('.dp-pill')),
    card: parse(getComputedStyle(document.querySelector('.dp-card')).backgroundColor),
    cardBox: document.querySelector('.dp-card').getBoundingClientRect().toJSON(),
    scrollWidth: document.scrollingElement.scrollWidth,
    papers: document.querySelectorAll('.dp-paper').length,
  };
}
"""

PIXELS_JS = """
async (png) => {
  const img = new Image();
  img.src = 'data:image/png;base64,' + png;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext('2d');
  ctx.drawImage(img, 0, 0);
  const mean = (x, y, w, h) => {
    const d = ctx.getImageData(x, y, w, h).data; let s = 0;
    for (let i = 0; i < d.length; i += 4) s += 0.2126 * d[i] + 0.7152 * d[i + 1] + 0.0722 * d[i + 2];
    return s / (d.length / 4) / 255;
  };
  return {outer: mean(0, 0, 8, img.height), whole: mean(0, 0, img.width, img.height), width: img.width,
          height: img.height};
}
"""


@pytest.fixture(scope="module")
def digest_html(web_data_dir, tmp_path_factory):
    data = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("digest-html") / "data")
    settings = settings_for(data, None, public_url="https://papers.example.org")
    store = Store.open(settings.resolved_database_url)
    _, sub = a_reader(store)
    (d,) = build.due(store, T)
    digest = build.assemble(store, settings, sub, d.instant, now=T)
    _, html = build.render_digest(settings, digest)
    store.close()
    assert {s.key for s in digest.sections} == {"trending", "alerts", "recommended"}
    return html, digest.count


@pytest.mark.parametrize("scheme,width", [("light", 800), ("dark", 800), ("light", 375)])
def test_the_digest_renders_readably(browser, digest_html, scheme, width):
    html, count = digest_html
    context = browser.new_context(viewport={"width": width, "height": 900}, color_scheme=scheme,
                                  java_script_enabled=True)
    page = context.new_page()
    fetched: list[str] = []
    page.route("**/*", lambda route: (fetched.append(route.request.url), route.abort()))
    page.set_content(html, wait_until="load")
    report = page.evaluate(CONTRAST_JS)
    ARTIFACTS.mkdir(exist_ok=True)
    name = "digest.png" if (scheme, width) == ("light", 800) else f"digest-{scheme}-{width}.png"
    png = page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    pixels = page.evaluate(PIXELS_JS, base64.b64encode(png).decode())
    context.close()

    assert fetched == []  # a mail client fetches nothing: no scripts, no images, no fonts
    assert report["papers"] == count
    assert report["scrollWidth"] <= width  # nothing sticks out, even on a phone
    card = report["cardBox"]
    assert card["width"] <= 600 and card["left"] >= 0 and card["right"] <= width
    for item in report["items"]:
        assert item["width"] > 0 and item["height"] > 0, item
        assert card["left"] - 1 <= item["left"] and item["right"] <= card["right"] + 1, item
        assert item["ratio"] >= 4.5, item  # WCAG AA for text
    titles = [i for i in report["items"] if i["selector"] == ".dp-paper-title"]
    assert len(titles) == count
    # what the pixels show: a light page, or a dark one, behind a card of the same scheme
    card_luminance = sum(report["card"][:3]) / 3 / 255
    if scheme == "dark":
        assert pixels["outer"] < 0.15 and pixels["whole"] < 0.3 and card_luminance < 0.2
    else:
        assert pixels["outer"] > 0.85 and pixels["whole"] > 0.75 and card_luminance > 0.95
    assert pixels["width"] == width and pixels["height"] > 900  # the whole digest, scrolled


def test_the_screenshot_is_kept(browser, digest_html):
    shot = ARTIFACTS / "digest.png"
    assert shot.exists() and shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert dt.date.today()  # (written by the test above; kept for people to look at)
