"""Saved searches keep the mode they were saved in: "Save this search" on /search stores the
search's mode (hybrid by default, as the search box), /searches shows it and links back to the
same search; feeds in that mode are tested with real vectors in test_web_search_trust.py."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup
from support.community import copy_data_dir, make_app, member, signed_in_client


@pytest.fixture
def site(web_data_dir, tmp_path):
    app, store = make_app(copy_data_dir(web_data_dir, tmp_path / "data"))
    yield app, store
    store.close()


def save_from_search_page(client, **params) -> int:
    """Press "Save this search" on /search?<params>, posting the form exactly as the page has it."""
    page = BeautifulSoup(client.get("/search", params=params).text, "html.parser")
    form = page.select_one("form.save-search")
    assert form is not None and form["method"] == "post"
    fields = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
    assert fields["csrf_token"]
    return client.post(form["action"], data=fields, follow_redirects=False).status_code


def test_save_this_search_keeps_the_mode_and_searches_shows_it(site):
    app, store = site
    user = member(store, "mo")
    client = signed_in_client(app, "mo@example.org")
    wanted = [({"q": "agent"}, "hybrid"), ({"q": "agent", "mode": "semantic"}, "semantic"),
              ({"q": "agent", "mode": "keyword"}, "keyword"), ({"q": "agent", "mode": "hybrid"}, "hybrid")]
    for params, _ in wanted:
        assert save_from_search_page(client, **params) == 303
    assert [s.mode for s in store.saved_searches.for_user(user.id)] == [mode for _, mode in wanted]
    page = BeautifulSoup(client.get("/searches").text, "html.parser")
    rows = page.select("table.saved-searches tbody tr")
    assert [r.select_one("td.saved-mode")["data-mode"] for r in rows] == [mode for _, mode in wanted]
    assert rows[1].select_one("td.saved-mode").get_text(strip=True) == "Meaning only"
    links = [parse_qs(urlsplit(r.select_one("td a")["href"]).query) for r in rows]
    assert links[1] == {"q": ["agent"], "mode": ["semantic"]}


def test_a_saved_search_links_back_with_its_filters(site):
    app, store = site
    user = member(store, "fi")
    client = signed_in_client(app, "fi@example.org")
    client.post("/searches", data={"csrf_token": client.csrf, "name": "strings", "q": "string",
                                   "author": "Yosuke Imamura", "category": "hep-th", "mode": "semantic"})
    (saved,) = store.saved_searches.for_user(user.id)
    link = BeautifulSoup(client.get("/searches").text, "html.parser").select_one("table.saved-searches td a")["href"]
    query = parse_qs(urlsplit(link).query)
    assert query == {"q": ['string author:"Yosuke Imamura" cat:hep-th'], "mode": ["semantic"]}
    found = BeautifulSoup(client.get(link).text, "html.parser")
    assert "hep-th/9901001" in [c["data-id"] for c in found.select("article.card")]
    assert saved.mode == "semantic"
