"""HTML pages, parsed with BeautifulSoup: lists, navigation, paper pages, authors, categories,
search, errors, escaping and security headers. Real SQLite store and keyword index (conftest)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from bs4 import BeautifulSoup
from conftest import HOSTILE_ABSTRACT, HOSTILE_ID, HOSTILE_TITLE

from dailypapers.store import Store
from dailypapers.web import create_app

LATEST = "2026-08-21"
TOP_ID, TOP_TITLE, TOP_UPVOTES = "2608.19880", "EnvHarness: Awakening Static Worlds for Agent Learning", 163


def page(client, url: str, status: int = 200) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    return BeautifulSoup(response.text, "html.parser")


def card_ids(soup: BeautifulSoup) -> list[str]:
    return [c["data-id"] for c in soup.select("article.card")]


def link(soup: BeautifulSoup, rel: str) -> str | None:
    found = soup.select_one(f".period-nav a[rel={rel}]")
    return found["href"] if found else None


# -- home and daily lists --------------------------------------------------------------


def test_home_shows_the_latest_day_ranked_by_upvotes(web_client, web_store):
    soup = page(web_client, "/")
    assert soup.h1.get_text(strip=True) == "Daily Papers"
    assert soup.select_one(".period-label")["data-period"] == LATEST
    assert "August 21, 2026" in soup.select_one(".period-label").get_text()
    ids = card_ids(soup)
    expected = web_store.daily(dt.date(2026, 8, 21), dt.date(2026, 8, 21), limit=100)
    assert len(ids) == expected.total == 17
    assert ids[0] == TOP_ID
    first = soup.select_one("article.card")
    assert first.select_one(".card-title a").get_text(strip=True) == TOP_TITLE
    assert first.select_one(".card-title a")["href"] == f"/papers/{TOP_ID}"
    assert first.select_one(".vote-count").get_text(strip=True) == str(TOP_UPVOTES)
    upvotes = [int(v.get_text(strip=True).replace(",", "")) for v in soup.select(".vote-count")]
    assert upvotes == sorted(upvotes, reverse=True)


def test_card_shows_authors_code_project_submitter_and_snippet(web_client):
    card = page(web_client, "/").select_one(f'article.card[data-id="{TOP_ID}"]')
    authors = card.select(".card-authors a")
    assert [a.get_text() for a in authors][:2] == ["Chengsong Huang", "Zifeng Wang"]
    assert authors[0]["href"] == "/authors/chengsong-huang"
    assert card.select_one(".more").get_text(strip=True) == f"+{17 - len(authors)}"
    code = card.find("a", href="https://github.com/google-research/envharness")
    assert code is not None and "8" in code.select_one(".stars").get_text()
    assert card.find("a", href=re.compile(r"^https://envharness\.com/?$")) is not None
    assert "Submitted by" in card.select_one(".submitter").get_text() and "taesiri" in card.get_text()
    summary = card.select_one(".card-summary").get_text()
    assert summary.startswith("LLM agents learn by interacting") and summary.endswith("…")
    assert len(summary) <= 301
    assert card.select_one("time")["datetime"] == "2026-08-20"


def test_every_page_has_a_search_box_in_the_header(web_client):
    for url in ("/", f"/papers/{TOP_ID}", "/search?q=energy", "/about", "/no/such/page"):
        response = web_client.get(url)
        form = BeautifulSoup(response.text, "html.parser").select_one("header form[role=search]")
        assert form is not None and form["action"] == "/search", url
        assert form.select_one("input[name=q]") is not None


def test_day_navigation_steps_to_days_with_papers(web_client):
    soup = page(web_client, f"/papers/date/{LATEST}")
    assert link(soup, "prev") == "/papers/date/2026-08-20"
    assert link(soup, "next") is None  # the latest day
    older = page(web_client, link(soup, "prev"))
    assert older.select_one(".period-label")["data-period"] == "2026-08-20"
    assert link(older, "next") == f"/papers/date/{LATEST}"
    assert set(card_ids(older)).isdisjoint(card_ids(soup))


def test_a_day_without_papers_says_so_and_links_to_its_neighbours(web_client):
    soup = page(web_client, "/papers/date/2026-07-18")  # a Saturday
    assert not card_ids(soup)
    assert "No papers on this day" in soup.select_one(".empty").get_text()
    assert link(soup, "prev") == "/papers/date/2026-07-17"
    assert link(soup, "next") == "/papers/date/2026-07-20"


def test_tabs_switch_between_day_week_and_month(web_client):
    soup = page(web_client, f"/papers/date/{LATEST}")
    tabs = {a.get_text(strip=True): a for a in soup.select('nav[aria-label="Period"] a')}
    assert tabs["Day"].get("aria-current") == "page"
    assert tabs["Week"]["href"] == "/papers/week/2026-W34"
    assert tabs["Month"]["href"] == "/papers/month/2026-08"


def test_week_page_lists_the_whole_iso_week(web_client, web_store):
    soup = page(web_client, "/papers/week/2026-W34")
    monday = dt.date.fromisocalendar(2026, 34, 1)
    expected = web_store.daily(monday, monday + dt.timedelta(days=6), limit=1000)
    assert soup.select_one(".period-label")["data-period"] == "2026-W34"
    assert "Week 34, 2026" in soup.select_one(".period-label").get_text()
    assert f"{expected.total} papers" in soup.select_one(".result-count").get_text()
    assert link(soup, "prev") == "/papers/week/2026-W33"
    assert link(soup, "next") is None
    tabs = {a.get_text(strip=True): a["href"] for a in soup.select('nav[aria-label="Period"] a')}
    assert tabs["Day"] == f"/papers/date/{LATEST}"  # the week's last day with papers


def test_month_page_paginates_and_links_adjacent_months(web_client, web_store):
    soup = page(web_client, "/papers/month/2026-08")
    total = web_store.daily(dt.date(2026, 8, 1), dt.date(2026, 8, 31), limit=1).total
    assert total > 30
    assert len(card_ids(soup)) == 30
    assert link(soup, "prev") == "/papers/month/2026-07"
    assert link(soup, "next") is None
    pager = soup.select_one("nav.pagination")
    assert pager.select_one('[aria-current="page"]').get_text(strip=True) == "1"
    second = page(web_client, pager.select_one("a[rel=next]")["href"])
    assert set(card_ids(second)).isdisjoint(card_ids(soup))
    assert second.select_one('nav.pagination [aria-current="page"]').get_text(strip=True) == "2"


def test_sort_by_date_orders_by_publication(web_client, web_store):
    soup = page(web_client, "/papers/month/2026-08?sort=date")
    dates = [t["datetime"] for t in soup.select("article.card time")]
    assert dates == sorted(dates, reverse=True)
    sorts = {a.get_text(strip=True): a for a in soup.select('nav[aria-label="Sort"] a')}
    assert sorts["Newest"].get("aria-current") == "page"
    tabs = {a.get_text(strip=True): a["href"] for a in soup.select('nav[aria-label="Period"] a')}
    assert tabs["Week"].endswith("?sort=date")  # the sort survives switching tabs


@pytest.mark.parametrize("url", [
    "/papers/date/2025-02-30", "/papers/date/2025-13-01", "/papers/date/yesterday", "/papers/date/2025-2-3",
    "/papers/week/2025-W54", "/papers/week/2025-52", "/papers/month/2025-13", "/papers/month/2025",
])
def test_impossible_or_malformed_dates_get_a_400_page(web_client, url):
    soup = page(web_client, url, status=400)
    assert soup.select_one(".error-code").get_text(strip=True) == "400"
    assert soup.select_one(".error-message").get_text(strip=True)


def test_bad_list_parameters_get_a_4xx_page_not_a_500(web_client):
    for url in ("/?sort=bogus", "/?page=0", "/?page=abc", "/papers/month/2026-08?page=999999"):
        response = web_client.get(url)
        assert response.status_code == 422, url
        assert "Invalid parameter" in response.text


def test_a_page_past_the_end_is_empty_not_an_error(web_client):
    soup = page(web_client, "/papers/month/2026-08?page=50")
    assert not card_ids(soup)


# -- paper pages -----------------------------------------------------------------------


def test_paper_page_shows_everything(web_client):
    soup = page(web_client, f"/papers/{TOP_ID}")
    assert soup.select_one("h1.paper-title").get_text(strip=True) == TOP_TITLE
    authors = soup.select(".paper-authors a")
    assert len(authors) == 17
    assert authors[-1].get_text() == "Chen-Yu Lee" and authors[-1]["href"] == "/authors/chen-yu-lee"
    assert soup.select_one(".vote-large .vote-count").get_text(strip=True) == str(TOP_UPVOTES)
    assert soup.find("a", href=f"https://arxiv.org/abs/{TOP_ID}") is not None
    assert soup.find("a", href=f"https://arxiv.org/pdf/{TOP_ID}") is not None
    assert soup.find("a", href="https://github.com/google-research/envharness") is not None
    abstract = soup.select_one(".abstract").get_text()
    assert "Environment Harness (EnvHarness)" in abstract and "co-evolution" in abstract
    daily = soup.find("a", href=f"/papers/date/{LATEST}")
    assert daily is not None and "163 upvotes" in daily.parent.get_text()
    bibtex = soup.select_one("pre.code-block").get_text()
    assert bibtex.startswith("@misc{huang2026envharness,")
    assert f"eprint={{{TOP_ID}}}" in bibtex and "Chengsong Huang and Zifeng Wang" in bibtex
    assert soup.select_one("link[rel=canonical]")["href"] == f"/papers/{TOP_ID}"


def test_old_style_id_with_a_slash(web_client):
    soup = page(web_client, "/papers/hep-th/9901001")
    assert soup.select_one("h1.paper-title").get_text(strip=True) == \
        "String Junctions and Their Duals in Heterotic String Theory"
    assert [a.get_text() for a in soup.select(".paper-authors a")] == ["Yosuke Imamura"]
    assert soup.find("a", href="/categories/hep-th") is not None
    versions = [li.a.get_text() for li in soup.find("h2", string="Versions").parent.select("li")]
    assert versions == ["v1", "v2", "v3"]
    assert "$T^2$" in soup.select_one(".abstract").get_text()  # LaTeX left readable as text
    details = soup.select_one("dl.details").get_text()
    assert "10.1143/PTP.101.1155" in details and "Prog.Theor.Phys" in details
    assert "hep-th/9901001" in soup.select_one("pre.code-block").get_text()


def test_versioned_ids_show_the_paper_with_a_canonical_link(web_client):
    soup = page(web_client, "/papers/hep-th/9901001v2")
    assert soup.select_one("link[rel=canonical]")["href"] == "/papers/hep-th/9901001"
    assert "you asked for v2" in soup.select_one(".paper-id").get_text()
    soup = page(web_client, f"/papers/{TOP_ID}v1")
    assert soup.select_one("h1.paper-title").get_text(strip=True) == TOP_TITLE


def test_unknown_and_malformed_paper_ids(web_client):
    soup = page(web_client, "/papers/2401.99999", status=404)
    assert soup.select_one(".error-code").get_text(strip=True) == "404"
    assert "2401.99999" in soup.select_one(".error-message").get_text()
    soup = page(web_client, "/papers/not-a-paper", status=400)
    assert "not an arXiv identifier" in soup.select_one(".error-message").get_text()


def test_paper_markdown_and_bibtex_exports(web_client):
    md = web_client.get(f"/papers/{TOP_ID}.md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith(f"# {TOP_TITLE}\n")
    assert "## Abstract" in md.text and "Chengsong Huang" in md.text
    old = web_client.get("/papers/hep-th/9901001v3.md")
    assert old.status_code == 200 and "String Junctions" in old.text
    bib = web_client.get("/papers/hep-th/9901001.bib")
    assert bib.status_code == 200 and bib.text.startswith("@misc{imamura1999string,")
    assert "doi={10.1143/PTP.101.1155}" in bib.text
    assert web_client.get("/papers/2401.99999.md").status_code == 404


# -- authors and categories ------------------------------------------------------------


def test_author_page_lists_their_papers(web_client):
    soup = page(web_client, "/authors/chengsong-huang")
    assert soup.h1.get_text(strip=True) == "Chengsong Huang"
    assert TOP_ID in card_ids(soup)
    assert soup.select_one(f'article.card[data-id="{TOP_ID}"] .vote-count').get_text(strip=True) == "163"
    page(web_client, "/authors/nobody-at-all-xyz", status=404)


def test_category_pages_paginate(web_client, web_store):
    total = web_store.by_category("cs.CV", limit=1).total
    soup = page(web_client, "/categories/cs.CV")
    assert soup.h1.get_text(strip=True) == "cs.CV"
    assert f"{total} papers" in soup.select_one(".result-count").get_text()
    assert len(card_ids(soup)) == 30
    second = page(web_client, "/categories/cs.CV?page=2")
    assert set(card_ids(second)).isdisjoint(card_ids(soup))
    assert "hep-th/9901001" in card_ids(page(web_client, "/categories/hep-th"))
    page(web_client, "/categories/no.SUCH", status=404)
    page(web_client, "/categories/%25", status=404)  # not a pattern: LIKE wildcards are refused


# -- search ----------------------------------------------------------------------------


def test_search_shows_highlighted_results(web_client):
    soup = page(web_client, "/search?q=energy")
    count = soup.select_one(".result-count").get_text()
    total = int(re.match(r"([\d,]+) result", count).group(1).replace(",", ""))
    assert total >= 1 and "energy" in count
    marks = soup.select("article.card mark")
    assert marks and all(m.get_text().lower().startswith("energ") for m in marks)
    for card in soup.select("article.card"):
        assert card.select_one(".card-title a")["href"].startswith("/papers/")
    assert soup.select_one("header input[name=q]")["value"] == "energy"


def test_search_filters_and_phrases(web_client):
    soup = page(web_client, "/search?q=cat:hep-th+author:imamura")
    assert "hep-th/9901001" in card_ids(soup)
    soup = page(web_client, '/search?q="string+junctions"')
    assert card_ids(soup)[0] == "hep-th/9901001"
    soup = page(web_client, "/search?q=energy&from=2026-08-01&to=2026-08-31&sort=date")
    dates = [t["datetime"] for t in soup.select("article.card time")]
    assert dates and dates == sorted(dates, reverse=True) and all(d.startswith("2026-08") for d in dates)


def test_search_paginates(web_client):
    soup = page(web_client, "/search?q=model")
    assert len(card_ids(soup)) == 30
    second = page(web_client, soup.select_one("nav.pagination a[rel=next]")["href"])
    assert set(card_ids(second)).isdisjoint(card_ids(soup))


def test_search_without_results_gives_hints(web_client):
    soup = page(web_client, "/search?q=qwxzvbnm")
    empty = soup.select_one(".no-results")
    assert "No results" in empty.h2.get_text()
    assert len(empty.select(".hints li")) >= 2
    assert soup.select_one("#syntax") is not None  # the query syntax stays in view


def test_empty_search_explains_the_syntax(web_client):
    soup = page(web_client, "/search")
    syntax = soup.select_one("#syntax").get_text()
    for item in ('"large language model"', "author:", "cat:", "from:", "to:"):
        assert item in syntax


def test_over_long_or_bad_queries_get_a_400_page(web_client):
    soup = page(web_client, "/search?q=" + "a" * 2001, status=400)
    assert "too long" in soup.select_one(".error-message").get_text()
    soup = page(web_client, "/search?q=x&from=2026-02-30", status=400)
    assert "not a real date" in soup.select_one(".error-message").get_text()


# -- errors, escaping, headers ---------------------------------------------------------


def test_unknown_route_gets_the_404_page(web_client):
    soup = page(web_client, "/no/such/page", status=404)
    assert soup.select_one(".error-code").get_text(strip=True) == "404"
    assert soup.title.get_text().startswith("404")


def test_a_server_error_is_a_plain_500_page_without_details(database_url, web_settings):
    broken = Store.open(database_url, migrate_schema=False)  # no tables
    from fastapi.testclient import TestClient

    with TestClient(create_app(web_settings, store=broken), raise_server_exceptions=False) as client:
        response = client.get("/")
        assert response.status_code == 500
        assert "Something went wrong" in response.text
        for leak in ("Traceback", "OperationalError", "ProgrammingError", "sqlite", "psycopg", "no such table",
                     "does not exist"):
            assert leak not in response.text
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        api = client.get("/api/daily_papers")
        assert api.status_code == 500 and api.json()["status"] == 500
        assert "sqlite" not in api.text.lower()


def _no_injected_markup(soup: BeautifulSoup) -> None:
    assert not [s for s in soup.find_all("script") if s.get("src") not in ("/static/app.js", "/static/maths.js")]
    assert soup.find("img") is None
    assert soup.find("b") is None and soup.find("i") is None
    assert not soup.find_all(attrs={"onerror": True})
    assert not soup.find_all("a", href=re.compile(r"^\s*javascript:", re.IGNORECASE))


def test_hostile_titles_and_abstracts_render_as_text(web_client):
    soup = page(web_client, f"/papers/{HOSTILE_ID}")
    _no_injected_markup(soup)
    assert soup.select_one("h1.paper-title").get_text() == HOSTILE_TITLE
    assert soup.select_one(".abstract p").get_text() == HOSTILE_ABSTRACT
    assert soup.title.get_text().startswith(HOSTILE_TITLE)
    raw = web_client.get(f"/papers/{HOSTILE_ID}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw and "<script>alert" not in raw
    assert "<img src=x" not in raw


def test_hostile_paper_is_escaped_in_lists_and_search(web_client):
    listed = page(web_client, "/papers/date/2026-07-13")
    assert HOSTILE_ID in card_ids(listed)
    _no_injected_markup(listed)
    card = listed.select_one(f'article.card[data-id="{HOSTILE_ID}"]')
    assert card.select_one(".card-title a").get_text() == HOSTILE_TITLE
    assert "<script>x</script>" in card.select_one(".submitter").get_text()
    found = page(web_client, "/search?q=alert+onerror")
    assert HOSTILE_ID in card_ids(found)
    _no_injected_markup(found)
    assert found.select("article.card mark")  # highlights kept, markup around them escaped


def test_security_headers(web_client):
    for url in ("/", f"/papers/{TOP_ID}", "/no/such/page", "/api/daily_papers", "/static/style.css"):
        headers = web_client.get(url).headers
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin", url
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert "frame-ancestors 'none'" in csp


def test_pages_have_no_inline_scripts_and_only_local_assets(web_client):
    for url in ("/", f"/papers/{TOP_ID}", "/search?q=energy"):
        soup = page(web_client, url)
        scripts = soup.find_all("script")
        assert [s.get("src") for s in scripts] == ["/static/app.js", "/static/maths.js"]
        assert all(not s.string for s in scripts)
        assert not soup.find_all(style=True)
        for tag in soup.find_all(["link", "script"]):
            target = tag.get("href") or tag.get("src")
            assert target.startswith("/"), target


def test_static_assets_and_the_theme_toggle(web_client):
    assert web_client.get("/static/style.css").status_code == 200
    assert "prefers-color-scheme: dark" in web_client.get("/static/style.css").text
    assert web_client.get("/static/app.js").status_code == 200
    soup = page(web_client, "/")
    toggle = soup.select_one("input#theme-switch[type=checkbox]")
    assert toggle is not None and soup.select_one("label[for=theme-switch]") is not None


def test_about_page(web_client, web_store):
    soup = page(web_client, "/about")
    text = soup.get_text()
    assert f"{web_store.counts()['papers']:,}" in text
    assert "/api/daily_papers" in text and soup.find("a", href="/openapi.json")
