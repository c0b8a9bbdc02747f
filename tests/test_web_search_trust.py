"""Search that says when nothing matches, finds papers by id or link, and keeps a saved search's
mode in its feed: through the web layer, on the test site plus the whole Hugging Face archive
with the demo's real stored vectors (the corpus the similarity floor was calibrated on) and the
real encoder for queries."""

from __future__ import annotations

import datetime as dt
import json
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from support.community import member, signed_in_client
from support.databases import copy_data_dir, data_dir_settings
from support.paths import HF, ROOT

from dailypapers.ingest import demo, importer
from dailypapers.ingest.vectors import import_vectors
from dailypapers.search.encoder.embeddings import DIM, MODEL_ID
from dailypapers.search.floor import floors
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.sync import rebuild_keyword_index, rebuild_vector_index
from dailypapers.store import Store
from dailypapers.web.app import create_app

ENERGY_ID = "2410.00907"  # "Addition is All You Need for Energy-efficient Language Models"
OLD_ID = "hep-th/9901001"  # an old-style id of the .abs fixtures
NONSENSE = "zxqvbnm flurbogastic"
OFF_TOPIC = "banana bread recipe"  # real words, nearly nothing about them on a paper hub
MODES = ("hybrid", "keyword", "semantic")
FLOOR = floors(MODEL_ID).hit  # the demo's vectors are of the current model and recipe


@pytest.fixture(scope="module")
def trust_site(web_data_dir, tmp_path_factory):
    """(app, store): a copy of the web site with the whole HF archive and the demo's vectors."""
    data_dir = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("trust") / "data")
    settings = data_dir_settings(data_dir, index_follow_interval=0.0)
    store = Store.open(settings.resolved_database_url)
    importer.import_paths(store, "hf", [HF])
    report = import_vectors(store, demo.vectors_path(ROOT / "data" / "demo"), model_id=MODEL_ID, dim=DIM)
    assert report.imported > 9000, report
    rebuild_keyword_index(store, KeywordIndex(settings.index_dir / "keyword"))
    assert rebuild_vector_index(store, settings.index_dir / "vectors", MODEL_ID, DIM) > 9000
    yield create_app(settings, store), store
    store.close()


@pytest.fixture(scope="module")
def client(trust_site):
    with TestClient(trust_site[0], raise_server_exceptions=False) as c:
        yield c


def soup_of(response) -> BeautifulSoup:
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return BeautifulSoup(response.text, "html.parser")


def search_page(client, **params) -> BeautifulSoup:
    return soup_of(client.get("/search", params=params))


def api(client, **params) -> list[dict]:
    response = client.get("/api/papers/search", params=params)
    assert response.status_code == 200, response.text[:300]
    return response.json()


# -- knowing when nothing matches ----------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_nonsense_query_gets_the_empty_state_in_every_mode(client, mode):
    soup = search_page(client, q=NONSENSE, mode=mode)
    empty = soup.select_one(".no-results")
    assert empty is not None and "No results" in empty.h2.get_text()
    assert not soup.select("article.card") and soup.select_one(".result-count") is None
    assert api(client, q=NONSENSE, mode=mode) == []


def test_semantic_hits_below_the_floor_are_not_results(client):
    hits = api(client, q=OFF_TOPIC, mode="semantic", limit=100)
    assert all(h["explanation"]["similarity"] >= FLOOR for h in hits)
    assert len(hits) < 10  # the list ends where meaning runs out, not at the page size
    topical = api(client, q="energy efficient language models", mode="semantic", limit=100)
    assert len(topical) == 100 and topical[-1]["explanation"]["similarity"] >= FLOOR


@pytest.mark.parametrize("query", [OFF_TOPIC, "energy efficient language models"])
def test_the_hybrid_tail_keeps_only_word_matches_and_close_meanings(client, query):
    hits = api(client, q=query, limit=100)
    assert hits and any(h["explanation"]["semantic_rank"] for h in hits)
    for h in hits:
        e = h["explanation"]
        assert e["keyword_rank"] is not None or e["matched_terms"] or e["similarity"] >= FLOOR, e


def test_a_misspelt_query_gets_a_suggestion_apart_from_the_results(client):
    soup = search_page(client, q="difusion modles", mode="keyword")
    assert soup.select_one(".no-results") is not None
    suggestion = soup.select_one(".did-you-mean a")
    assert suggestion.get_text() == "diffusion models"
    assert parse_qs(urlsplit(suggestion["href"]).query) == {"q": ["diffusion models"], "mode": ["keyword"]}
    assert suggestion.find_parent(class_="cards") is None and suggestion.find_parent(class_="no-results") is None
    hybrid = search_page(client, q="transfromer")  # results by meaning, and the spelling apart from them
    assert hybrid.select_one(".did-you-mean a").get_text() == "transformer"
    assert hybrid.select_one(".did-you-mean").find_parent(class_="cards") is None


def test_known_words_and_nonsense_get_no_suggestion(client):
    assert search_page(client, q="diffusion models").select_one(".did-you-mean") is None
    assert search_page(client, q=NONSENSE).select_one(".did-you-mean") is None


def test_keyword_mode_marks_where_the_papers_with_some_of_the_words_begin(client):
    soup = search_page(client, q="making language models use less energy", mode="keyword")
    note = soup.select_one(".cards .some-words")
    assert note is not None and "some of the words" in note.get_text()
    before = note.find_all_previous("article", class_="card")
    assert 0 < len(before) < 5 and note.find_next("article", class_="card") is not None
    assert search_page(client, q="energy", mode="keyword").select_one(".some-words") is None  # one word


def suggestions(client, **params) -> dict | None:
    response = client.get("/api/papers/search", params=params)
    assert response.status_code == 200, response.text[:300]
    assert isinstance(response.json(), list)  # the body stays Hugging Face's: a list of hits
    header = response.headers.get("X-Search-Suggestions")
    return None if header is None else json.loads(header)


def test_the_api_carries_the_suggestions_in_a_header(client):
    assert suggestions(client, q="difusion modles", mode="keyword") == {"didYouMean": "diffusion models"}
    assert suggestions(client, q="transfromer") == {"didYouMean": "transformer"}
    assert suggestions(client, q="difusion naïve", mode="semantic") == {"didYouMean": "diffusion naïve"}
    assert suggestions(client, q="2410.99999") == {"missingIds": ["2410.99999"]}
    response = client.get("/api/papers/search", params={"q": "difusion"}, headers={"Origin": "https://example.org"})
    assert "X-Search-Suggestions" in response.headers["Access-Control-Expose-Headers"]


@pytest.mark.parametrize("query", ["diffusion models", NONSENSE, ENERGY_ID])
def test_the_api_suggests_nothing_when_there_is_nothing_to_suggest(client, query):
    assert suggestions(client, q=query) is None


@pytest.mark.parametrize("query", ["x from:9999-12-31", "x to:0001-01-01", "x to:9999"])
def test_out_of_range_dates_are_a_clear_400(web_client, query):
    for url in ("/search", "/api/papers/search"):
        response = web_client.get(url, params={"q": query})
        assert response.status_code == 400 and "out of range" in response.text, (url, response.text[:300])
    response = web_client.get("/search", params={"q": "energy", "from": "9999-12-31"})
    assert response.status_code == 400 and "out of range" in response.text


# -- ids and links find their paper --------------------------------------------------

FORMS = [
    (ENERGY_ID, ENERGY_ID, "/papers/2410.00907"),
    ("arXiv:2410.00907v2", ENERGY_ID, "/papers/2410.00907v2"),
    ("https://arxiv.org/abs/2410.00907", ENERGY_ID, "/papers/2410.00907"),
    ("https://arxiv.org/pdf/2410.00907v1", ENERGY_ID, "/papers/2410.00907v1"),
    ("https://huggingface.co/papers/2410.00907", ENERGY_ID, "/papers/2410.00907"),
    (OLD_ID, OLD_ID, "/papers/hep-th/9901001"),
    ("https://arxiv.org/abs/hep-th/9901001v2", OLD_ID, "/papers/hep-th/9901001v2"),
]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("query, paper_id, _page", FORMS)
def test_ids_and_links_find_their_paper_first_in_the_api(client, query, paper_id, _page, mode):
    hits = api(client, q=query, mode=mode)
    assert hits and hits[0]["paper"]["id"] == paper_id
    assert hits[0]["explanation"]["mode"] == "id"


@pytest.mark.parametrize("query, _paper_id, page", FORMS)
def test_the_search_box_goes_to_the_page_of_a_named_paper(client, query, _paper_id, page):
    for mode in MODES:
        response = client.get("/search", params={"q": f"  {query} ", "mode": mode}, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == page
    assert client.get(page).status_code == 200


def test_several_ids_list_those_papers_in_order(client):
    soup = search_page(client, q=f"{OLD_ID} arXiv:{ENERGY_ID}")
    assert [c["data-id"] for c in soup.select("article.card")] == [OLD_ID, ENERGY_ID]
    assert "arXiv id" in soup.select_one(".why-ranked").get_text()


def test_an_unknown_well_formed_id_offers_to_fetch_it(trust_site, client):
    app, store = trust_site
    soup = search_page(client, q="https://arxiv.org/abs/2410.99999v1")
    assert not soup.select("article.card") and "not on this site" in soup.select_one(".not-here").get_text()
    offer = soup.select_one("a.fetch-offer")
    assert offer["href"] == "/submit?paper=2410.99999"
    assert api(client, q="2410.99999") == []
    member(store, "finder")
    form = soup_of(signed_in_client(app, "finder@example.org").get(offer["href"])).select_one("form[action='/submit']")
    assert form["method"] == "post" and form.select_one("input[name=csrf_token]")["value"]
    assert form.select_one("input[name=paper]")["value"] == "2410.99999"
    anonymous = client.get(offer["href"], follow_redirects=False)  # the offer changes nothing by itself
    assert anonymous.status_code == 303 and "/signin" in anonymous.headers["location"]


# -- a saved search's feed keeps its mode ---------------------------------------------


def test_a_saved_search_feed_follows_its_mode(trust_site):
    app, store = trust_site
    user = member(store, "feeder")
    words = "cheaper arithmetic for neural networks by adding instead of multiplying"  # the energy paper, by meaning
    for mode in MODES:
        store.saved_searches.create(user_id=user.id, name=mode, query=words, mode=mode, author="", category="",
                                    alert=False, feed_token=f"feed-{mode}", now=dt.datetime(2026, 8, 21, tzinfo=dt.UTC))
    with TestClient(app) as c:
        found = {mode: [e.id for e in feedparser.parse(c.get(f"/feeds/searches/feed-{mode}.rss").text).entries]
                 for mode in MODES}
    assert not any(ENERGY_ID in i for i in found["keyword"])
    assert any(ENERGY_ID in i for i in found["semantic"]) and any(ENERGY_ID in i for i in found["hybrid"])
