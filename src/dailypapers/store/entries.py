"""Queries over daily entries shared by the lists and the ranking."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select

from .schema import daily_entries


def latest_entries_in(start: dt.date, end: dt.date, submitter: str | None = None):
    """A subquery of the daily entries between two dates (inclusive), one row per paper: its latest."""
    cond = [daily_entries.c.date >= start, daily_entries.c.date <= end]
    if submitter:
        cond.append(daily_entries.c.submitted_by == submitter)
    ranked = select(
        daily_entries,
        func.row_number().over(partition_by=daily_entries.c.paper_id,
                               order_by=daily_entries.c.date.desc()).label("rn"),
    ).where(and_(*cond)).subquery()
    return select(ranked).where(ranked.c.rn == 1).subquery()
