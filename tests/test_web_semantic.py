"""Hybrid search, similar papers and key phrases through the web layer, with the real encoder
and a real vector index built from vectors embedded here; and the fallback when they are absent."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from support.databases import copy_data_dir, data_dir_settings
from support.paths import HF

from dailypapers.ingest import importer
from dailypapers.search.encoder.embeddings import DIM, MODEL_ID, load_encoder
from dailypapers.search.keyword import KeywordIndex
from dailypapers.search.sync import rebuild_keyword_index, rebuild_vector_index
from dailypapers.store import Store
from dailypapers.store.vectors import content_hash, embed_text, save_vectors
from dailypapers.web.app import create_app
from dailypapers.worker.embedding import embed_missing

ENERGY_ID = "2410.00907"  # "Addition is All You Need for Energy-efficient Language Models"


@pytest.fixture(scope="module")
def semantic_client(web_data_dir, tmp_path_factory):
    """A copy of the web data directory with every paper embedded and a vector index built."""
    data_dir = copy_data_dir(web_data_dir, tmp_path_factory.mktemp("semantic") / "data")
    settings = data_dir_settings(data_dir, index_follow_interval=0.0)
    store = Store.open(settings.resolved_database_url)
    importer.import_paths(store, "hf", [HF])  # the whole archive, so the energy paper is there
    papers = store.counts()["papers"]
    wanted = [p for p in store.iter_papers() if p.arxiv_id == ENERGY_ID]
    assert wanted, "the energy paper must be in the HF archive"
    encoder = load_encoder(data_dir / "models")
    embed_missing(store, encoder, limit=400)  # a few hundred vectors are enough for these checks
    paper = wanted[0]
    text = embed_text(paper.title, paper.abstract)
    save_vectors(store, MODEL_ID, [(paper.arxiv_id, content_hash(text), encoder.encode([text])[0])])
    rebuild_keyword_index(store, KeywordIndex(settings.index_dir / "keyword"))
    assert rebuild_vector_index(store, settings.index_dir / "vectors", MODEL_ID, DIM) >= 100
    app = create_app(settings, store)
    with TestClient(app) as client:
        yield client
    store.close()
    assert papers > 0


def test_api_search_explains_each_hit_in_hybrid_mode(semantic_client):
    hits = semantic_client.get("/api/papers/search", params={"q": "energy efficient language models"}).json()
    assert hits and all(h["explanation"]["mode"] == "hybrid" for h in hits)
    assert any(h["explanation"]["semantic_rank"] for h in hits)
    assert any(h["explanation"]["keyword_rank"] for h in hits)
    assert hits[0]["notice"] is None


def test_semantic_mode_finds_the_idea_without_its_words(semantic_client):
    hits = semantic_client.get("/api/papers/search",
                               params={"q": "replace multiplication with addition to save power", "mode": "semantic",
                                       "limit": 10}).json()
    # "power" is not in the paper's text ("energy" is); only the meaning connects them
    assert [h["paper"]["id"] for h in hits][:3].count(ENERGY_ID) == 1
    assert all(h["explanation"]["similarity"] is not None for h in hits)


def test_similar_papers_api_and_paper_page(semantic_client):
    similar = semantic_client.get(f"/api/papers/{ENERGY_ID}/similar", params={"limit": 5}).json()
    assert len(similar) == 5 and ENERGY_ID not in [s["paper"]["id"] for s in similar]
    assert all(s["source"] == "vector" and 0 < s["similarity"] <= 1 for s in similar)
    page = BeautifulSoup(semantic_client.get(f"/papers/{ENERGY_ID}").text, "html.parser")
    assert len(page.select(".similar-list li")) >= 5
    chips = page.select(".keyword-chips a.chip")
    assert chips and all(c["href"].startswith("/search?q=") for c in chips)


def test_search_page_shows_modes_and_why(semantic_client):
    page = BeautifulSoup(semantic_client.get("/search", params={"q": "energy efficient language models"}).text,
                         "html.parser")
    assert page.select(".why-ranked") and "Why here" in page.select_one(".why-ranked").text
    assert page.select_one("select[name=mode] option[selected]")["value"] == "hybrid"


def test_without_vectors_search_falls_back_to_keyword_with_a_notice(web_client):
    hits = web_client.get("/api/papers/search", params={"q": "diffusion", "mode": "semantic"}).json()
    assert hits and all(h["notice"] for h in hits)
    page = web_client.get("/search", params={"q": "diffusion", "mode": "hybrid"})
    assert page.status_code == 200 and "keyword results" in page.text


@pytest.mark.parametrize("mode", ["hybrid", "keyword", "semantic"])
def test_bad_queries_are_4xx_in_every_mode(web_client, mode):
    assert web_client.get("/api/papers/search", params={"q": "x" * 2001, "mode": mode}).status_code == 400
    assert web_client.get("/api/papers/search", params={"q": "!!!", "mode": mode}).status_code == 400
    assert web_client.get("/search", params={"q": "x" * 2001, "mode": mode}).status_code == 400
    assert web_client.get("/api/papers/search", params={"q": "大型语言模型", "mode": mode}).status_code == 200


def test_unknown_mode_is_rejected(web_client):
    assert web_client.get("/api/papers/search", params={"q": "energy", "mode": "psychic"}).status_code == 400


# ---------------------------------------------------------------------------------------------
# one ranking per query: pages 1-10 show one total and no paper twice, in every mode


MODES = ["hybrid", "keyword", "semantic"]
SITES = ["with vectors", "without vectors"]  # (semantic and hybrid fall back to keywords there)
QUERY = {"with vectors": "energy", "without vectors": "learning"}  # the test site has 10 energy papers


def html_page(client, q: str, mode: str, page: int) -> tuple[list[str], str | None]:
    soup = BeautifulSoup(client.get("/search", params={"q": q, "mode": mode, "page": page}).text, "html.parser")
    count = soup.select_one(".result-count")
    return [card["data-id"] for card in soup.select("article.card")], count.text.split()[0] if count else None


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("mode", MODES)
def test_search_pages_show_one_total_and_no_paper_twice(semantic_client, web_client, site, mode):
    client = semantic_client if site == "with vectors" else web_client
    pages = [html_page(client, QUERY[site], mode, page) for page in range(1, 11)]
    seen = [pid for ids, _ in pages for pid in ids]
    totals = {total for ids, total in pages if ids}
    assert len(totals) == 1 and len(seen) == len(set(seen))
    size = len(pages[0][0])
    assert len(seen) == min(int(totals.pop().replace(",", "")), 10 * size)  # no gaps either


def api_page(client, q: str, mode: str, p: int, limit: int):
    response = client.get("/api/papers/search", params={"q": q, "mode": mode, "p": p, "limit": limit})
    assert response.status_code == 200
    return [h["paper"]["id"] for h in response.json()], response.headers


@pytest.mark.parametrize("site", SITES)
@pytest.mark.parametrize("mode", MODES)
def test_api_search_pages_one_ranking(semantic_client, web_client, site, mode):
    client = semantic_client if site == "with vectors" else web_client
    got, totals = [], set()
    for p in range(10):
        ids, headers = api_page(client, QUERY[site], mode, p, 30)
        got += ids
        totals.add(headers["x-total-count"])
        if "link" not in headers:
            assert (p + 1) * 30 >= int(headers["x-total-count"])
            break
        assert headers["link"].endswith('>; rel="next"') and f"p={p + 1}" in headers["link"]
    assert len(totals) == 1 and len(got) == len(set(got)) == min(int(totals.pop()), 300)
    wide = [pid for p in range(3) for pid in api_page(client, QUERY[site], mode, p, 100)[0]]
    assert wide[:len(got)] == got[:len(wide)]  # pages of 30 and of 100 cut the same list
    beyond = client.get("/api/papers/search", params={"q": QUERY[site], "mode": mode, "p": 10, "limit": 100})
    assert beyond.status_code == 400
