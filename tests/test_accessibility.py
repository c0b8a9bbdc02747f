"""Every page type in real Chromium (Debian's package through Playwright): axe-core finds no
serious or critical violation; Tab reaches every control and each shows a visible focus style;
pages work with JavaScript off, and upvoting falls back to a plain form POST.

axe-core comes from the npm registry into node_modules/ (`make test` runs `npm ci` from the
committed package.json and package-lock.json) and is injected with page.add_script_tag."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import httpx
import pytest
from support.community import PASSWORD, copy_data_dir, make_app, member

from dailypapers.community import collections, comments

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from bench_votes import serve  # noqa: E402

pytestmark = [pytest.mark.browser,
              pytest.mark.only_backend("sqlite", reason="the pages are the same HTML on either database")]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
LATEST = "2026-08-21"
ADMIN = "ada"
BLOCKING = ("serious", "critical")

# (name, path template, signed in?, expected status); {paper}, {author}, {collection} are filled in
PAGES = [
    ("home", "/", False, 200),
    ("day", f"/papers/date/{LATEST}", False, 200),
    ("week", "/papers/week/2026-W34", False, 200),
    ("month", "/papers/month/2026-08", False, 200),
    ("paper", "/papers/{paper}", False, 200),
    ("paper-old-style", "/papers/hep-th/9901001", False, 200),
    ("search", "/search?q=diffusion+models", False, 200),
    ("author", "{author}", False, 200),
    ("category", "/categories/cs.CL", False, 200),
    ("sign-in", "/signin", False, 200),
    ("sign-up", "/signup", False, 200),
    ("forgot-password", "/password/forgot", False, 200),
    ("member", f"/users/{ADMIN}", False, 200),
    ("public-collection", "/collections/{collection}", False, 200),
    ("subscribe", "/subscribe", False, 200),
    ("stats", "/stats", False, 200),
    ("about", "/about", False, 200),
    ("ranking", "/about/ranking", False, 200),
    ("not-found", "/papers/2401.99999", False, 404),
    ("home-signed-in", "/", True, 200),
    ("paper-signed-in", "/papers/{paper}", True, 200),
    ("collections", "/collections", True, 200),
    ("collection", "/collections/{collection}", True, 200),
    ("for-you", "/for-you", True, 200),
    ("saved-searches", "/searches", True, 200),
    ("account", "/account", True, 200),
    ("submit", "/submit", True, 200),
    ("moderation", "/moderation", True, 200),
    ("admin", "/admin", True, 200),
    ("outbox", "/admin/outbox", True, 200),
]
IDS = [p[0] for p in PAGES]


@pytest.fixture(scope="module")
def site(web_data_dir, tmp_path_factory):
    """A private copy of the web data with an admin who has a comment, a public collection and a
    saved search, served by uvicorn; yields (base URL, {placeholder: value})."""
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path_factory.mktemp("a11y") / "data"))
    admin = member(store, ADMIN, "admin")
    with serve(app) as base:
        home = httpx.get(base + f"/papers/date/{LATEST}", timeout=120).text
        paper = re.search(r'href="/papers/(\d{4}\.\d{4,5})"', home).group(1)
        author = re.search(r'href="(/authors/[^"]+)"', httpx.get(f"{base}/papers/{paper}", timeout=120).text).group(1)
        now = dt.datetime.now(dt.UTC)
        comments.add(store, admin, paper, "A *useful* paper, see [the code](https://example.org).", now=now)
        cid = collections.create(store, admin, "Reading list", "Papers to read", is_public=True, now=now)
        collections.add_paper(store, admin, cid, paper, now=now)
        store.saved_searches.create(user_id=admin.id, name="Diffusion", query="diffusion", mode="keyword",
                                    author="", category="", alert=True, feed_token="a11y-feed-token", now=now)
        yield base, {"paper": paper, "author": author, "collection": str(cid)}
    store.close()


def sign_in(page, email: str = f"{ADMIN}@example.org") -> None:
    page.goto("/signin")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url("**/")


def _context(browser, site, signed_in: bool, **options):
    context = browser.new_context(base_url=site[0], viewport={"width": 1280, "height": 900}, **options)
    if signed_in:
        page = context.new_page()
        sign_in(page)
        page.close()
    return context


@pytest.fixture(scope="module")
def contexts(browser, site):
    """One anonymous and one signed-in (admin) context; CSP bypassed only so axe can be injected."""
    made = {flag: _context(browser, site, flag, bypass_csp=True) for flag in (False, True)}
    yield made
    for context in made.values():
        context.close()


def open_page(contexts, site, name: str):
    _, path, signed_in, status = next(p for p in PAGES if p[0] == name)
    page = contexts[signed_in].new_page()
    response = page.goto(path.format(**site[1]))
    assert response.status == status, f"{name}: HTTP {response.status}"
    return page


@pytest.fixture(scope="module")
def dark_contexts(browser, site):
    """The same with the system asking for the dark theme."""
    made = {flag: _context(browser, site, flag, bypass_csp=True, color_scheme="dark") for flag in (False, True)}
    yield made
    for context in made.values():
        context.close()


@pytest.mark.parametrize("name", IDS)
def test_axe_finds_no_serious_violation(contexts, site, name):
    check_axe(open_page(contexts, site, name))


@pytest.mark.parametrize("name", ["home", "paper-signed-in", "search", "sign-in", "stats", "not-found", "admin"])
def test_axe_finds_no_serious_violation_in_the_dark_theme(dark_contexts, site, name):
    page = open_page(dark_contexts, site, name)
    assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches")
    check_axe(page)


@pytest.fixture(scope="module")
def phone_contexts(browser, site):
    """A phone-sized viewport (390 x 844, touch)."""
    made = {}
    for flag in (False, True):
        context = browser.new_context(base_url=site[0], viewport={"width": 390, "height": 844}, has_touch=True,
                                      is_mobile=True, bypass_csp=True)
        if flag:
            page = context.new_page()
            sign_in(page)
            page.close()
        made[flag] = context
    yield made
    for context in made.values():
        context.close()


@pytest.mark.parametrize("name", ["home", "paper-signed-in", "search", "sign-up", "stats", "collection", "admin"])
def test_phone_sized_pages_pass_axe_and_do_not_scroll_sideways(phone_contexts, site, name):
    page = open_page(phone_contexts, site, name)
    overflow = page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth")
    check_axe(page)
    assert overflow <= 1, f"{name}: the page is {overflow}px wider than a 390px screen"


def check_axe(page) -> None:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make test does)")
    try:
        page.add_script_tag(path=str(AXE))
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    finally:
        page.close()
    assert result["passes"] is not None and result["testEngine"]["name"] == "axe-core"
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
    report = [f"{v['id']} ({v['impact']}): {v['help']} -> " + "; ".join(
        f"{n['target']} {n['failureSummary'][:160]!r}" for n in v["nodes"][:4]) for v in blocking]
    assert not blocking, "\n".join(report)


REACHED = "(n) => new Set(window.__kbd.map((v) => v[0])).size >= n"
KEYBOARD_SETUP = """() => {
  const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
  const look = (el) => {
    const parts = [];
    const boxes = [el, ...(el.labels || [])];
    for (let up = el.parentElement, n = 0; up && up !== document.body && n < 3; up = up.parentElement, n++) {
      boxes.push(up);
    }
    for (const box of boxes) {
      const s = getComputedStyle(box);
      parts.push([s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor,
                  s.backgroundColor, s.color, s.textDecorationLine].join('|'));
    }
    return parts.join('/');
  };
  if (document.activeElement) document.activeElement.blur();
  const controls = [...document.querySelectorAll(selector)].filter((el) =>
    !el.disabled && el.tabIndex >= 0 && el.checkVisibility({visibilityProperty: true})
    && el.getClientRects().length > 0);
  controls.forEach((el, i) => { el.dataset.kbd = String(i); el.__unfocused = look(el); });
  window.__kbd = [];
  document.addEventListener('focusin', (event) => {
    const el = event.target;
    if (el.dataset && el.dataset.kbd !== undefined) {
      window.__kbd.push([Number(el.dataset.kbd), look(el) !== el.__unfocused]);
    }
  });
  return controls.map((el) => el.tagName.toLowerCase() + ' '
    + (el.getAttribute('href') || el.getAttribute('name') || '')
    + ' "' + (el.textContent || el.getAttribute('aria-label') || '').trim().slice(0, 40) + '"');
}"""


@pytest.mark.parametrize("name", IDS)
def test_tab_reaches_every_control_with_a_visible_focus(contexts, site, name):
    page = open_page(contexts, site, name)
    try:
        controls = page.evaluate(KEYBOARD_SETUP)
        assert controls, f"{name}: no controls found"
        # Chromium also stops on scrollable regions, so allow more presses than controls
        for presses in range(3 * len(controls) + 20):
            page.keyboard.press("Tab")
            if presses % 25 == 24 and page.evaluate(REACHED, len(controls)):
                break
        visits = page.evaluate("() => window.__kbd")
    finally:
        page.close()
    reached = {index for index, _ in visits}
    unreached = [controls[i] for i in range(len(controls)) if i not in reached]
    invisible = sorted({controls[i] for i, visible in visits if not visible})
    assert not unreached, f"{name}: Tab never reaches {unreached[:10]}"
    assert not invisible, f"{name}: no visible focus style on {invisible[:10]}"


@pytest.fixture(scope="module")
def no_script(browser, site):
    """Contexts with JavaScript disabled (and the real CSP in force), anonymous and signed in."""
    made = {flag: _context(browser, site, flag, java_script_enabled=False) for flag in (False, True)}
    yield made
    for context in made.values():
        context.close()


JS_ONLY_CONTROLS = """() => [...document.querySelectorAll('button, [role=button]')].filter((el) =>
  el.getClientRects().length > 0 && !el.form && el.tagName !== 'SUMMARY' && !el.closest('label'))
  .map((el) => el.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize("name", IDS)
def test_pages_work_without_javascript(no_script, site, name):
    """Content is there, and no visible control needs a script (buttons belong to forms)."""
    page = open_page(no_script, site, name)
    try:
        assert page.locator("main h1").count() >= 1, f"{name}: no heading without JavaScript"
        assert page.locator("main").inner_text().strip()
        assert page.evaluate(JS_ONLY_CONTROLS) == []
    finally:
        page.close()


def test_upvote_without_javascript_is_a_form_post(no_script, site):
    page = no_script[True].new_page()
    try:
        page.goto(f"/papers/date/{LATEST}")
        card = page.locator("article.card").nth(1)
        paper_id = card.get_attribute("data-id")
        count = card.locator(".vote-count")
        before = int(count.inner_text().replace(",", ""))
        with page.expect_navigation():
            card.locator(".vote-button").click()
        assert page.url.split("?")[0].split("#")[0].endswith(f"/papers/date/{LATEST}")
        card = page.locator(f"article.card[data-id='{paper_id}']").first
        assert int(card.locator(".vote-count").inner_text().replace(",", "")) == before + 1
        assert card.locator(".vote-button").get_attribute("aria-pressed") == "true"
        with page.expect_navigation():
            card.locator(".vote-button").click()
        card = page.locator(f"article.card[data-id='{paper_id}']").first
        assert int(card.locator(".vote-count").inner_text().replace(",", "")) == before
    finally:
        page.close()


def test_anonymous_upvote_without_javascript_leads_to_sign_in(no_script, site):
    page = no_script[False].new_page()
    try:
        page.goto(f"/papers/date/{LATEST}")
        with page.expect_navigation():
            page.locator("article.card .vote-button").first.click()
        assert "/signin" in page.url
        assert page.locator("input[name=email]").count() == 1
    finally:
        page.close()


def test_search_without_javascript(no_script, site):
    page = no_script[False].new_page()
    try:
        page.goto("/")
        page.fill("header input[name=q]", "diffusion")
        with page.expect_navigation():
            page.press("header input[name=q]", "Enter")
        assert "/search?q=diffusion" in page.url
        assert page.locator("main article").count() > 0
    finally:
        page.close()
