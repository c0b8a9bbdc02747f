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


def entries_per_day(store: Store, start: dt.date, end: dt.date) -> dict[dt.date, int]:
    """Papers on each day's list between two dates (inclusive)."""
    query = (select(daily_entries.c.date, func.count().label("n"))
             .where(daily_entries.c.date >= start, daily_entries.c.date <= end).group_by(daily_entries.c.date))
    with store.engine.connect() as conn:
        return {convert.as_date(r.date): r.n for r in conn.execute(query)}
