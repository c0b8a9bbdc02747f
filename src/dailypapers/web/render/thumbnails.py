"""Which image a card or a paper page shows: the thumbnail the worker rendered from the PDF
(served by web/routes/thumbnails.py), else, where the operator allows remote images
(DAILYPAPERS_REMOTE_IMAGES), the one Hugging Face recorded for the daily entry, else None (the
templates draw a placeholder). A recorded URL is used only when it is https on REMOTE_HOST, the
one host the CSP then allows (web/security.py)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from dailypapers.models import DailyEntry
from dailypapers.web.security import REMOTE_IMAGE_HOST as REMOTE_HOST


def local_url(arxiv_id: str) -> str:
    return f"/thumbnails/{arxiv_id}"


def recorded_url(entry: DailyEntry | None) -> str | None:
    """The `thumbnail` of the entry's source data, when it is an https URL on REMOTE_HOST."""
    if entry is None or not entry.source_json:
        return None
    try:
        found = json.loads(entry.source_json)
    except ValueError:
        return None
    url = found.get("thumbnail") if isinstance(found, dict) else None
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return url if parts.scheme == "https" and parts.hostname == REMOTE_HOST and not parts.username else None


def choose(arxiv_id: str, entry: DailyEntry | None, local: bool, remote_images: bool) -> dict | None:
    """{"src", "remote"} of the image to show, or None for the placeholder."""
    if local:
        return {"src": local_url(arxiv_id), "remote": False}
    url = recorded_url(entry) if remote_images else None
    return {"src": url, "remote": True} if url else None
