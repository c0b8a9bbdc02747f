"""One walk through the site in real Chromium (Debian's package, driven by Playwright; never a
downloaded browser): home, a day back, a search, a paper. Saves the README's screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots"
TOP_ID = "2608.19880"


@pytest.fixture
def tab(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 860},
                                  color_scheme="light")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    yield page
    context.close()
    assert not errors, errors  # no script errors, no CSP violations


def test_home_back_a_day_search_and_open_a_paper(tab):
    tab.goto("/")
    label = tab.locator(".period-label")
    assert label.get_attribute("data-period") == "2026-08-21"
    assert tab.locator("article.card").count() == 17
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / "home.png"))

    tab.locator(".period-nav a[rel=prev]").click()
    tab.wait_for_url("**/papers/date/2026-08-20")
    assert label.get_attribute("data-period") == "2026-08-20"
    assert "August 20, 2026" in label.inner_text()

    box = tab.locator("header input[name=q]")
    box.fill("energy")
    box.press("Enter")
    tab.wait_for_url("**/search?q=energy")
    results = tab.locator("article.card")
    assert results.count() > 0
    assert tab.locator("article.card mark").count() > 0
    assert "result" in tab.locator(".result-count").inner_text()

    first = results.first.locator(".card-title a")
    title = first.inner_text()
    first.click()
    tab.wait_for_url("**/papers/*")
    assert tab.locator("h1.paper-title").inner_text() == title


def test_paper_page_and_theme_toggle(tab):
    tab.goto(f"/papers/{TOP_ID}")
    assert tab.locator("h1.paper-title").inner_text() == "EnvHarness: Awakening Static Worlds for Agent Learning"
    assert tab.locator("pre.code-block").inner_text().startswith("@misc{")
    assert tab.locator(".copy-button").is_visible()  # shown by app.js, allowed by the CSP
    tab.screenshot(path=str(SCREENSHOTS / "paper.png"))

    def background() -> str:
        return tab.evaluate("getComputedStyle(document.body).backgroundColor")

    light = background()
    tab.locator("label.theme-toggle").click()
    assert background() != light
    tab.reload()  # the choice is remembered
    assert background() != light


def test_phone_layout_has_no_horizontal_scroll(browser, live_server):
    context = browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844},
                                  color_scheme="dark")
    page = context.new_page()
    try:
        for url in ("/", f"/papers/{TOP_ID}", "/search?q=energy"):
            page.goto(url)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, url
    finally:
        context.close()
