"""Submitting a paper to today's daily list, as on the Hugging Face page: an arXiv id or URL, a
paper first published in the last N days (14 by default), once per paper."""

from __future__ import annotations

import datetime as dt

import httpx

from .. import ids
from ..config import Settings
from ..errors import Conflict, InvalidInput, NotFound
from ..models import DailyEntry, Paper, Record, Submitter
from ..store import Store
from ..store.accounts import User
from ..store.sqlutil import utcnow


def fetch_paper(arxiv_api_url: str, arxiv_id: str, client: httpx.Client | None = None) -> Paper:
    """The paper's metadata from the arXiv API; NotFound if arXiv does not know it."""
    from ..sources.http import arxiv_api_query

    for item in arxiv_api_query(arxiv_api_url, id_list=[arxiv_id], client=client):
        if isinstance(item, Record) and item.paper.arxiv_id == arxiv_id:
            return item.paper
    raise NotFound(f"arXiv has no paper {arxiv_id}")


def resolve(store: Store, settings: Settings, arxiv_id: str, client: httpx.Client | None = None) -> tuple[Paper, bool]:
    """The stored paper, or the arXiv API's answer; the flag says whether it was fetched."""
    try:
        return store.get_paper(arxiv_id), False
    except NotFound:
        return fetch_paper(settings.arxiv_api_url, arxiv_id, client), True


def submit(store: Store, settings: Settings, user: User, raw: str, *, now: dt.datetime | None = None,
           client: httpx.Client | None = None) -> Paper:
    """Put the paper on today's list (UTC) with the member as its submitter."""
    raw = (raw or "").strip()
    if not raw:
        raise InvalidInput("enter an arXiv id (like 2405.15738) or an arxiv.org link")
    arxiv_id = ids.normalize(raw)
    now = now or utcnow()
    listed = store.entries_for(arxiv_id)
    if listed:
        raise Conflict(f"{arxiv_id} is already on the daily list of {listed[0].date.isoformat()}")
    paper, fetched = resolve(store, settings, arxiv_id, client)
    oldest = now - dt.timedelta(days=settings.submit_max_age_days)
    if paper.published is None or paper.published < oldest:
        when = f"was first published on {paper.published.date().isoformat()}" if paper.published else \
            "has no publication date"
        raise InvalidInput(f"only papers first published in the last {settings.submit_max_age_days} days can be "
                           f"submitted; {arxiv_id} {when}")
    if fetched:  # keep the metadata (the claim below refers to the paper)
        store.write([Record(paper)])
    store.submissions.claim(arxiv_id, user.id, now.date(), now)
    entry = DailyEntry(arxiv_id, now.date(), upvotes=0, num_comments=0,
                       submitted_by=Submitter(user.username, user.name), submitted_at=now)
    store.submissions.write_entry(Record(paper, entry))
    return store.get_paper(arxiv_id)
