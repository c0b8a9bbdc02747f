"""The community in real Chromium (Debian's package through Playwright; never a downloaded
browser): sign up, sign in, upvote without a reload, submit, comment, make and export a
collection; and script or HTML in comments, titles, abstracts, names and collection titles stays
inert (no dialog fires, no element is injected)."""

from __future__ import annotations

import datetime as dt
import email
import json
import re
import sys
from email import policy
from pathlib import Path

import pytest
from conftest import HOSTILE_ID
from playwright.sync_api import expect
from support.community import PASSWORD, copy_data_dir, make_app, member

from dailypapers.community import accounts
from dailypapers.models import Author, Paper, Record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_votes import serve  # noqa: E402

pytestmark = pytest.mark.browser
NOW = dt.datetime.now(dt.timezone.utc)
FRESH_ID = "2608.20002"
LATEST = "2026-08-21"
SCRIPTS = ("app.js", "maths.js", "katex/katex.min.js", "katex/auto-render.min.js")  # the project's, nothing else
XSS = '<script>alert("x")</script><img src=x onerror=alert("img")><svg onload=alert("svg")></svg>'


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path_factory.mktemp("browser") / "data"))
    store.write([Record(Paper(FRESH_ID, "Fresh paper for the browser", "Something new.", [Author("B. Rowser")],
                              version=1, published=NOW - dt.timedelta(days=2), categories=["cs.LG"]))])
    with serve(app) as base:
        yield app, store, base
    store.close()


@pytest.fixture
def tab(browser, site):
    context = browser.new_context(base_url=site[2], viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    page.problems = problems
    yield page
    context.close()
    assert not problems, problems  # no script errors, no CSP violations, no dialogs


def confirmation_path(store, address: str) -> str:
    """The path of the sign-up link in the newest message queued for `address` (the outbox keeps
    every message as sent; without an SMTP server the development site logs them)."""
    (latest,) = [m for m in store.outbox.recent(limit=20) if m.to_addr == address][:1]
    body = email.message_from_bytes(latest.message, policy=policy.default).get_body(("plain",)).get_content()
    return re.search(r"https?://[^/\s]+(/signup/confirm\?token=\S+)", body).group(1)


def sign_in(tab, email: str, password: str = PASSWORD) -> None:
    tab.goto("/signin")
    tab.fill("input[name=email]", email)
    tab.fill("input[name=password]", password)
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url("**/")


def test_sign_up_upvote_submit_comment_and_collect(tab, site):
    _, store, _ = site
    tab.goto("/signup")
    tab.fill("input[name=email]", "carol@example.org")
    tab.fill("input[name=username]", "carol")
    tab.fill("input[name=display_name]", "Carol")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form.stack button[type=submit]")
    expect(tab.locator(".notice")).to_contain_text("finish creating your account")
    tab.goto(confirmation_path(store, "carol@example.org"))  # the link the outbox mailed
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url("**/account?done=welcome")
    assert tab.locator(".nav-user").inner_text() == "carol"
    tab.click("details.account-menu summary")  # the member's pages and sign-out fold under their name
    tab.click("nav.site-nav button:has-text('Sign out')")
    tab.wait_for_url("**/")
    assert tab.locator(".nav-user").count() == 0
    sign_in(tab, "carol@example.org")
    assert "dailypapers_session" not in tab.evaluate("document.cookie")  # HttpOnly: scripts cannot read it
    (cookie,) = [c for c in tab.context.cookies() if c["name"] == "dailypapers_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # upvote on a list: the count changes in place, without a reload
    tab.goto(f"/papers/date/{LATEST}")
    card = tab.locator("article.card").first
    count = card.locator(".vote-count")
    before = int(count.inner_text().replace(",", ""))
    tab.evaluate("window.__stillHere = true")
    card.locator(".vote-button").click()
    expect(count).to_have_text(f"{before + 1:,}")  # polls from Python: no eval under the CSP
    assert card.locator(".vote-button").get_attribute("aria-pressed") == "true"
    assert tab.evaluate("window.__stillHere") is True  # no reload happened
    card.locator(".vote-button").click()
    expect(count).to_have_text(f"{before:,}")
    assert tab.evaluate("window.__stillHere") is True
    paper_id = card.get_attribute("data-id")
    assert store.votes.count(paper_id) == 0

    # submit a paper
    tab.click("details.account-menu summary")
    tab.click("nav.site-nav a:has-text('Submit')")
    tab.fill("input[name=paper]", f"https://arxiv.org/abs/{FRESH_ID}")
    tab.click("form.stack button[type=submit]")
    tab.wait_for_url(f"**/papers/{FRESH_ID}?submitted=1")
    assert "Submitted" in tab.locator(".notice").inner_text()
    assert "carol" in tab.locator(".paper-header .submitter").inner_text()

    # comment on it
    tab.fill("#comment-body", "A *fine* paper: $x_1 + x_2$")
    tab.click(".comment-form button[type=submit]")
    tab.wait_for_url(f"**/papers/{FRESH_ID}#comment-*")
    comment = tab.locator(".comment").last
    assert comment.locator("em").inner_text() == "fine"
    tab.wait_for_selector("html[data-maths=done]", state="attached")
    assert comment.locator(".math annotation").text_content() == "x_1 + x_2"  # typeset by KaTeX

    # make a collection from the paper page, then export it
    tab.click("#collections > summary")  # "Save to collection", near the top
    tab.fill("#collections input[name=name]", "Browser picks")
    tab.click("#collections button:has-text('Create and add')")
    tab.wait_for_url(f"**/papers/{FRESH_ID}#collections")
    tab.click("#collections a:has-text('Browser picks')")
    tab.wait_for_url("**/collections/*")
    assert tab.locator("h1.collection-name").inner_text() == "Browser picks"
    assert tab.locator("article.card").get_attribute("data-id") == FRESH_ID
    with tab.expect_download() as info:
        tab.click("a:has-text('Export BibTeX')")
    bib = Path(info.value.path()).read_text()
    assert bib.count("@misc{") == 1 and f"eprint={{{FRESH_ID}}}" in bib
    with tab.expect_download() as info:
        tab.click("a:has-text('Export JSON')")
    data = json.loads(Path(info.value.path()).read_text())
    assert data["name"] == "Browser picks" and [p["id"] for p in data["papers"]] == [FRESH_ID]


INERT_CHECK = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      if (attr.name.startsWith('on')) bad.push(el.tagName + ' ' + attr.name);
      const url = ['href', 'src', 'action', 'formaction'].includes(attr.name);
      if (url && /^\\s*javascript:/i.test(attr.value)) bad.push(el.tagName + ' ' + attr.name);
    }
  }
  const scripts = [...document.scripts].map(s => s.src || 'inline');
  return {bad, scripts, images: document.querySelectorAll('img').length,
          svgs: document.querySelectorAll('svg[onload], svg script').length};
}"""


def test_hostile_content_stays_inert(tab, browser, site):
    _, store, base = site
    mallory = accounts.create_user(store, "mallory@example.org", PASSWORD, username="mallory",
                                   display_name='<img src=x onerror=alert("name")>')
    member(store, "moderator1", "moderator")
    from dailypapers.community import collections, comments

    links = '\n\n[click](javascript:alert("link")) <a href="javascript:alert(1)">a</a>'
    comments.add(store, mallory, HOSTILE_ID, XSS + links)
    cid = collections.create(store, mallory, '<svg onload=alert("title")></svg><script>alert(1)</script>',
                             XSS, is_public=True)
    collections.add_paper(store, mallory, cid, HOSTILE_ID)
    sign_in(tab, "moderator1@example.org")
    pages = [f"/papers/{HOSTILE_ID}", f"/collections/{cid}", "/users/mallory", "/moderation", "/",
             f"/papers/date/{LATEST}", "/search?q=alert", "/stats", "/about/ranking"]
    for url in pages:
        tab.goto(url)
        found = tab.evaluate(INERT_CHECK)
        assert found["bad"] == [], (url, found["bad"])
        assert set(found["scripts"]) <= {f"{base}/static/{name}" for name in SCRIPTS}, (url, found["scripts"])
        assert found["images"] == 0 and found["svgs"] == 0, (url, found)
    tab.goto(f"/papers/{HOSTILE_ID}")
    assert '<script>alert("x")</script>' in tab.locator(".comment-body").first.inner_text()
    assert tab.locator(".comment-author").first.inner_text() == '<img src=x onerror=alert("name")>'
    assert tab.locator("h1.paper-title").inner_text() == "<script>alert(1)</script>"
    tab.goto(f"/collections/{cid}")
    assert tab.locator("h1.collection-name").inner_text().startswith("<svg onload=")
    assert tab.problems == []
