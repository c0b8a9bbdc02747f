"""Rows for ranking a daily list: each paper's latest entry in a period with its local votes,
and the per-day figures the stats page plots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import func, select

from ..models import DailyEntry
from . import convert
from .entries import latest_entries_in
from .schema import daily_entries, papers, votes

if TYPE_CHECKING:
    from .repo import Store


@dataclass(frozen=True)
class RankRow:
    entry: DailyEntry
    published: dt.datetime | None
    local_votes: int


def period_rows(store: Store, start: dt.date, end: dt.date, submitter: str | None = None) -> list[RankRow]:
    """Every paper listed between two dates (inclusive): its latest entry there and its local votes."""
    latest = latest_entries_in(start, end, submitter)
    local = (select(votes.c.paper_id, func.count().label("n"))
             .where(votes.c.paper_id.in_(select(latest.c.paper_id))).group_by(votes.c.paper_id).subquery())
    query = (select(latest, papers.c.published, func.coalesce(local.c.n, 0).label("local_votes"))
             .select_from(latest.join(papers, papers.c.id == latest.c.paper_id)
                          .outerjoin(local, local.c.paper_id == latest.c.paper_id)))
    with store.engine.connect() as conn:
        return [RankRow(convert.entry_from_row(r), convert.utc(r.published), r.local_votes)
                for r in conn.execute(query)]


def feed_rows(store: Store, *, sort: str = "upvotes", submitter: str | None = None, offset: int = 0,
              limit: int = 30) -> tuple[list[RankRow], int]:
    """One page of every daily entry (a member's, with `submitter`) and how many there are.

    `upvotes`: newest day first, each day by total upvotes (imported + local), then the entry's
    publishedAt, newest first (HF's order of a day). `date`: newest arXiv publication first."""
    local = select(votes.c.paper_id, func.count().label("n")).group_by(votes.c.paper_id).subquery()
    local_votes = func.coalesce(local.c.n, 0)
    published = func.coalesce(daily_entries.c.published_at, papers.c.published)
    where = [daily_entries.c.submitted_by == submitter] if submitter else []
    order = {
        "upvotes": [daily_entries.c.date.desc(), (daily_entries.c.upvotes + local_votes).desc(),
                    published.desc().nulls_last(), daily_entries.c.paper_id.desc()],
        "date": [papers.c.published.desc().nulls_last(), daily_entries.c.date.desc(), daily_entries.c.paper_id.desc()],
    }[sort]
    query = (select(daily_entries, papers.c.published, local_votes.label("local_votes"))
             .select_from(daily_entries.join(papers, papers.c.id == daily_entries.c.paper_id)
                          .outerjoin(local, local.c.paper_id == daily_entries.c.paper_id))
             .where(*where).order_by(*order).offset(offset).limit(limit))
    with store.engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(daily_entries).where(*where)).scalar_one()
        rows = [RankRow(convert.entry_from_row(r), convert.utc(r.published), r.local_votes)
                for r in conn.execute(query)]
    return rows, total


def entries_per_day(store: Store, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Papers on each day's list between two dates (inclusive)."""
    query = (select(daily_entries.c.date, func.count().label("n"))
             .where(daily_entries.c.date >= start, daily_entries.c.date <= end).group_by(daily_entries.c.date))
    with store.engine.connect() as conn:
        return {convert.as_date(r.date): r.n for r in conn.execute(query)}
