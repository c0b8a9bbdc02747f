"""The pages at every width, signed in, in real Chromium (Debian's package through Playwright;
never a downloaded browser): TeX typeset by the vendored KaTeX and hostile TeX inert; the header on
one line from a phone to 1920 px, nothing wider than the screen, tap targets of 44 px, the first
paper high on a phone; "Why it ranks here" folded below the abstract, "Save to collection" near
the top; an upvote updates every count of the paper on the page, with and without JavaScript.
Saves screenshots of the daily page and a paper page at 390, 1024, 1366 and 1920 px, light and
dark, to docs/screenshots/layout/. Sizes come from bounding boxes, never from timing."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect
from support.community import PASSWORD, copy_data_dir, make_app, member

from dailypapers.community import comments
from dailypapers.models import Author, DailyEntry, Paper, Record

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from bench_votes import serve  # noqa: E402

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "docs" / "screenshots" / "layout"
LATEST = dt.date(2026, 8, 21)
TEX_ID = "2608.29001"
TEX_TITLE = r"Sorting in $\mathcal{O}(n)$ time -- 97.3\% of the time"
TEX_ABSTRACT = (r"We sort in $\mathcal{O}(n \log n)$ worst case and \(\mathcal{O}(n)\) on average: "
                r"97.3\% of inputs, 2--3 passes.")
EVIL_ID = "2608.29002"
EVIL_TITLE = r'<script>alert("title")</script> $\href{javascript:alert(1)}{click me}$ and $\url{javascript:alert(2)}$'
EVIL_ABSTRACT = r'$\htmlClass{x}{y}$ $\htmlData{onload=alert(3)}{z}$ <img src=x onerror=alert(4)> $\unknownmacro{$'
HF_COMMENTS = 9
WIDTHS = (390, 1024, 1366, 1920)
PHONE = {"width": 390, "height": 844}
FIRST_PAPER_MAX_TOP = 330  # px from the top of a 390 x 844 phone screen (it was 444)
HEADER_MAX_HEIGHT = 64  # one row of 44 px controls
TAP_TARGETS = (".site-header a, .site-header button, .site-header summary, .site-header label[for], "
               ".site-header input[type=search], "
               ".vote-button, .list-controls a, .pagination a, .card-meta a, .paper-actions a, "
               ".paper-actions summary, .paper-header .tag")  # not links inside running text (WCAG 2.5.8 excepts them)


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path_factory.mktemp("layout") / "data"))
    published = dt.datetime(2026, 8, 20, 9, tzinfo=dt.UTC)
    papers = [Paper(TEX_ID, TEX_TITLE, TEX_ABSTRACT, [Author("K. Tex")], version=1, published=published,
                    primary_category="cs.DS", categories=["cs.DS"]),
              Paper(EVIL_ID, EVIL_TITLE, EVIL_ABSTRACT, [Author("M. Allory")], version=1, published=published,
                    primary_category="cs.CR", categories=["cs.CR"])]
    store.write([Record(papers[0], DailyEntry(TEX_ID, LATEST, upvotes=5000, num_comments=HF_COMMENTS)),
                 Record(papers[1], DailyEntry(EVIL_ID, LATEST, upvotes=1))])
    ada = member(store, "ada")
    comments.add(store, ada, TEX_ID, r"Nice bound: $x_1 + \sqrt{x_2}$, and *fast*.")
    with serve(app) as base:
        yield app, store, base
    store.close()


@pytest.fixture(scope="module")
def signed_in(browser, site, tmp_path_factory) -> str:
    """The storage state (session cookie) of ada, signed in through the form."""
    context = browser.new_context(base_url=site[2])
    page = context.new_page()
    page.goto("/signin")
    page.fill("input[name=email]", "ada@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/")
    path = tmp_path_factory.mktemp("state") / "ada.json"
    context.storage_state(path=str(path))
    context.close()
    return str(path)


@pytest.fixture
def open_tab(browser, site, signed_in):
    """open_tab(width, height, scheme, js=True) -> a signed-in page that records script errors,
    CSP violations and dialogs; each is checked to be none when the test ends."""
    contexts, problems = [], []

    def make(width: int = 1366, height: int = 900, scheme: str = "light", js: bool = True):
        context = browser.new_context(base_url=site[2], viewport={"width": width, "height": height},
                                      color_scheme=scheme, storage_state=signed_in, java_script_enabled=js)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type in ("error", "warning") else None)
        page.on("dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems


def visit(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-maths=done]", state="attached")  # maths.js has finished


# -- maths -------------------------------------------------------------------------------


def test_tex_is_typeset_by_the_vendored_katex(open_tab):
    page = open_tab()
    visit(page, f"/papers/{TEX_ID}")
    title = page.locator("h1.paper-title")
    assert title.locator(".katex").count() == 1
    assert title.locator("annotation[encoding='application/x-tex']").text_content() == r"\mathcal{O}(n)"
    assert title.locator(".katex-html .mathcal").count() >= 1  # drawn in KaTeX's caligraphic font
    text = title.inner_text()
    assert "97.3%" in text and "\u2013" in text and "\\%" not in text and "--" not in text
    abstract = page.locator(".abstract p").first
    assert abstract.locator(".katex").count() == 2  # $…$ and \(…\)
    assert "2\u20133 passes" in abstract.inner_text()
    comment = page.locator(".comment-body .math")
    assert comment.locator(".katex").count() == 1
    assert comment.locator("annotation").text_content() == r"x_1 + \sqrt{x_2}"
    assert page.evaluate("document.fonts.check('16px KaTeX_Caligraphic')")
    scripts = page.evaluate("[...document.scripts].map(s => new URL(s.src).pathname)")
    assert sorted(scripts) == ["/static/app.js", "/static/katex/auto-render.min.js", "/static/katex/katex.min.js",
                               "/static/maths.js"]
    # the TeX is in the HTML as written, for readers without JavaScript and for search engines
    raw = page.request.get(f"/papers/{TEX_ID}").text()
    assert r"Sorting in $\mathcal{O}(n)$ time -- 97.3\% of the time" in raw

    visit(page, "/")
    card = page.locator(f"article.card[data-id='{TEX_ID}']")
    assert card.locator(".card-title .katex").count() == 1
    assert card.locator(".card-summary .katex").count() == 2


def test_page_without_tex_does_not_load_katex(open_tab):
    page = open_tab()
    visit(page, "/about")
    assert page.evaluate("[...document.scripts].map(s => new URL(s.src).pathname)") == \
        ["/static/app.js", "/static/maths.js"]


def test_hostile_tex_stays_inert(open_tab, site):
    page = open_tab()
    visit(page, f"/papers/{EVIL_ID}")
    title = page.locator("h1.paper-title")
    assert title.inner_text().startswith('<script>alert("title")</script>')
    assert title.locator("a, script").count() == 0
    assert title.locator(".katex").count() == 2  # \href and \url typeset as text, not links
    found = page.evaluate("""() => ({
      links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))
             .filter(h => /^\\s*javascript:/i.test(h)),
      handlers: [...document.querySelectorAll('*')].flatMap(el => [...el.attributes])
                .filter(a => a.name.startsWith('on')).map(a => a.name),
      injected: document.querySelectorAll('.abstract img, .abstract script, .x, [data-onload]').length,
      scripts: [...document.scripts].map(s => new URL(s.src, location.href).pathname)})""")
    assert found["links"] == [] and found["handlers"] == [] and found["injected"] == 0, found
    assert set(found["scripts"]) <= {"/static/app.js", "/static/maths.js", "/static/katex/katex.min.js",
                                     "/static/katex/auto-render.min.js"}
    abstract = page.locator(".abstract p").first.inner_text()
    assert "<img src=x onerror=alert(4)>" in abstract
    assert r"$\unknownmacro{$" in abstract  # KaTeX cannot parse it: left as written


# -- layout --------------------------------------------------------------------------------

LAYOUT = """() => {
  const width = document.documentElement.clientWidth;
  const header = document.querySelector('.site-header').getBoundingClientRect();
  const controls = '.site-header a, .site-header button, .site-header summary, .site-header label, .site-header input';
  const outside = [...document.querySelectorAll(controls)]
    .filter(el => el.checkVisibility({visibilityProperty: true}))
    .map(el => [el.textContent.trim() || el.className, el.getBoundingClientRect()])
    .filter(([, r]) => r.left < 0 || r.right > width + 0.5 || r.bottom > header.bottom + 0.5)
    .map(([name]) => name);
  return {overflow: document.documentElement.scrollWidth - width, header: header.height, outside,
          firstCard: document.querySelector('article.card')?.getBoundingClientRect().top ?? null};
}"""

SMALL_TARGETS = """(selector) => [...document.querySelectorAll(selector)]
  .filter(el => el.checkVisibility({visibilityProperty: true}))
  .map(el => [el.outerHTML.slice(0, 80), el.getBoundingClientRect()])
  .filter(([, r]) => r.width < 44 - 0.01 || r.height < 44 - 0.01)
  .map(([html, r]) => `${Math.round(r.width)}x${Math.round(r.height)} ${html}`)"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("width", WIDTHS)
def test_header_fits_and_nothing_overflows_at_every_width(open_tab, width, scheme):
    page = open_tab(width, 844 if width == 390 else 900, scheme)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, url in (("daily", "/"), ("paper", f"/papers/{TEX_ID}")):
        visit(page, url)
        found = page.evaluate(LAYOUT)
        assert found["overflow"] <= 0, (url, width, found)
        assert found["outside"] == [], (url, width, found)  # sign out and the rest are on screen
        assert found["header"] <= HEADER_MAX_HEIGHT, (url, width, found)  # one line, not wrapped
        dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
        assert dark == (scheme == "dark")
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-{scheme}.png"))


def test_phone_first_paper_high_and_tap_targets_44px(open_tab):
    page = open_tab(**PHONE)
    visit(page, "/")
    found = page.evaluate(LAYOUT)
    assert found["firstCard"] is not None and found["firstCard"] <= FIRST_PAPER_MAX_TOP, found
    assert found["header"] / PHONE["height"] <= 0.08, found
    assert page.evaluate(SMALL_TARGETS, TAP_TARGETS) == []
    # the folded menu opens from its button; its links and sign-out are on screen, 44 px tall
    assert not page.locator("nav.site-nav").is_visible()
    page.click("label.nav-toggle")
    page.click("details.account-menu summary")
    expect(page.locator("nav.site-nav button:has-text('Sign out')")).to_be_visible()
    assert page.evaluate(SMALL_TARGETS, "nav.site-nav a, nav.site-nav summary, nav.site-nav button") == []
    assert page.evaluate(LAYOUT)["overflow"] <= 0
    page.screenshot(path=str(SCREENSHOTS / "daily-390-menu.png"))

    visit(page, f"/papers/{TEX_ID}")
    assert page.evaluate(SMALL_TARGETS, TAP_TARGETS) == []


def test_desktop_account_menu_opens_and_closes(open_tab):
    page = open_tab(1024, 900)
    visit(page, "/")
    assert not page.locator("a[href='/submit']").is_visible()
    page.click("details.account-menu summary")
    expect(page.locator("nav.site-nav a:has-text('Submit')")).to_be_visible()
    page.locator("h1").click()  # a click elsewhere closes it
    expect(page.locator("nav.site-nav a:has-text('Submit')")).to_be_hidden()


def test_why_it_ranks_is_folded_below_the_abstract_and_save_is_near_the_top(open_tab):
    page = open_tab(1366, 900)
    visit(page, f"/papers/{TEX_ID}")
    why = page.locator("details#why-it-ranks-here")
    assert why.get_attribute("open") is None
    assert not why.locator(".formula").is_visible()
    order = page.evaluate("""() => {
      const abstract = document.querySelector('.abstract'), why = document.getElementById('why-it-ranks-here');
      return abstract.compareDocumentPosition(why) & Node.DOCUMENT_POSITION_FOLLOWING; }""")
    assert order
    why.locator("summary").click()
    expect(why.locator(".formula")).to_be_visible()
    save = page.locator("details#collections > summary")
    assert save.inner_text().strip() == "Save to collection"
    save_top = save.bounding_box()["y"]
    assert save_top < page.locator(".abstract").bounding_box()["y"]
    assert save_top < 900  # on the first screen
    save.click()
    page.fill("#collections input[name=name]", "Fast sorts")
    page.click("#collections button:has-text('Create and add')")
    page.wait_for_url(f"**/papers/{TEX_ID}#collections")
    expect(page.locator("details#collections > summary")).to_have_text("Saved")
    expect(page.locator("#collections a:has-text('Fast sorts')")).to_be_visible()  # opened by the address


# -- counts that agree --------------------------------------------------------------------

def counts(page) -> dict:
    return page.evaluate("""(id) => ({
      button: document.querySelector('.vote-large .vote-count').textContent,
      note: document.querySelector(`.vote-note [data-count-of="${id}"][data-count=upvotes]`).textContent,
      local: document.querySelector(`.vote-note [data-count-of="${id}"][data-count=local]`).textContent,
      side: document.querySelector(`.paper-side [data-count-of="${id}"][data-count=upvotes]`).textContent,
      yours: !document.querySelector(`.vote-note [data-count-of="${id}"][data-count=yours]`).hidden})""", TEX_ID)


def test_comment_counts_agree_between_card_and_paper_page(open_tab):
    page = open_tab()
    visit(page, "/")
    card_count = page.locator(f"article.card[data-id='{TEX_ID}'] .card-meta a[href$='#comments']").inner_text()
    assert card_count.strip() == str(HF_COMMENTS + 1)
    visit(page, f"/papers/{TEX_ID}")
    note = page.locator(".hf-comments")
    assert note.inner_text() == (f"1 comment here · {HF_COMMENTS} comments on Hugging Face · "
                                 f"{HF_COMMENTS + 1} in all, as on the card")
    assert note.locator("a").get_attribute("href") == f"https://huggingface.co/papers/{TEX_ID}#community"
    assert page.locator(".paper-side").inner_text().count(f"{HF_COMMENTS + 1} comments") == 1


@pytest.mark.parametrize("js", [True, False], ids=["script", "plain-form"])
def test_upvote_updates_every_count_of_the_paper(open_tab, site, js):
    store = site[1]
    page = open_tab(1366, 900, js=js)
    page.goto(f"/papers/{TEX_ID}")
    before = counts(page)
    base = int(before["button"].replace(",", ""))
    assert before == {"button": f"{base:,}", "note": f"{base:,} upvotes", "local": "0",
                      "side": f"{base:,} upvotes", "yours": False}
    if js:
        page.evaluate("window.__stillHere = true")
    page.click(".vote-large .vote-button")
    expect(page.locator(".vote-large .vote-count")).to_have_text(f"{base + 1:,}")  # polls; no sleeping
    assert counts(page) == {"button": f"{base + 1:,}", "note": f"{base + 1:,} upvotes", "local": "1",
                            "side": f"{base + 1:,} upvotes", "yours": True}
    if js:
        assert page.evaluate("window.__stillHere") is True  # updated in place, no reload
    assert store.votes.count(TEX_ID) == 1
    page.click(".vote-large .vote-button")  # and back
    expect(page.locator(".vote-large .vote-count")).to_have_text(f"{base:,}")
    assert counts(page) == before
    assert store.votes.count(TEX_ID) == 0
