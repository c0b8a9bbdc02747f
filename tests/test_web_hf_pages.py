"""Pages where a Hugging Face Papers reader expects them (issue 15): the subscribe call on the
daily lists, trending across days and within a day, HF's URL forms, and counts that agree."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

LATEST = "2026-08-21"


def page(client, url: str, status: int = 200) -> BeautifulSoup:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.text[:300])
    return BeautifulSoup(response.text, "html.parser")


def card_ids(soup: BeautifulSoup) -> list[str]:
    return [c["data-id"] for c in soup.select("article.card")]


# -- item 13: subscribe where HF puts it -------------------------------------------------


@pytest.mark.parametrize("url", ["/", f"/papers/date/{LATEST}", "/papers/week/2026-W34", "/papers/month/2026-08"])
def test_daily_lists_link_to_the_subscribe_form(web_client, url):
    soup = page(web_client, url)
    cta = soup.select_one("main a[href='/subscribe']") or soup.select_one("a[data-testid=subscribe-cta]")
    assert cta is not None and cta.get_text(strip=True) == "Get trending papers in your email inbox"
    assert cta["href"] == "/subscribe"
    assert page(web_client, cta["href"]).select_one("form#subscribe-form") is not None
