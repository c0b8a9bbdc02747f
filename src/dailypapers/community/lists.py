"""Daily lists in community order: by total upvotes (imported + local) or by the trending score."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .. import ranking
from ..store import Store
from ..store.lists import RankRow, feed_rows, period_rows
from ..store.repo import Listed, Page
from ..store.sqlutil import utcnow

SORTS = ("trending", "upvotes", "date")
FEED_TRENDING_DAYS = 30  # a list without a period ranks this many days by trending score


def _scored(rows: list[RankRow], reference: dt.datetime) -> dict[str, ranking.Explanation]:
    return {r.entry.arxiv_id: ranking.explain(r.entry.upvotes, r.local_votes,
                                              ranking.listed_at(r.entry.date, r.entry.submitted_at, r.published),
                                              reference)
            for r in rows}


def _order(rows: list[RankRow], sort: str, scores: dict[str, ranking.Explanation]) -> list[RankRow]:
    if sort == "trending":  # ties: more votes first, then the newer id (ranking.py); sorts are stable
        newest_first = sorted(rows, key=lambda r: r.entry.arxiv_id, reverse=True)
        return sorted(newest_first, key=lambda r: (-scores[r.entry.arxiv_id].score,
                                                   -(r.entry.upvotes + r.local_votes)))
    # HF's order: upvotes, then the entry's publishedAt, newest first
    return sorted(rows, key=lambda r: (-(r.entry.upvotes + r.local_votes), -_published(r),
                                       -r.entry.date.toordinal(), r.entry.arxiv_id))


def _published(row: RankRow) -> float:
    when = row.entry.published_at or row.published
    return when.timestamp() if when else float("-inf")


def daily(store: Store, start: dt.date, end: dt.date, *, sort: str = "upvotes", submitter: str | None = None,
          offset: int = 0, limit: int = 30, now: dt.datetime | None = None) -> Page:
    """One page of a period's list. `extra["scores"]` holds each shown paper's trending explanation."""
    if sort == "date":
        return store.daily(start, end, sort="date", submitter=submitter, offset=offset, limit=limit)
    rows = period_rows(store, start, end, submitter)
    scores = _scored(rows, ranking.reference_time(end, now or utcnow()))
    ordered = _order(rows, sort, scores)[offset:offset + limit]
    found = store.papers_by_ids([r.entry.arxiv_id for r in ordered])
    items = [Listed(found[r.entry.arxiv_id], r.entry) for r in ordered if r.entry.arxiv_id in found]
    return Page(items, len(rows), offset, limit,
                extra={"scores": {r.entry.arxiv_id: scores[r.entry.arxiv_id] for r in ordered}})


def feed(store: Store, *, sort: str = "upvotes", submitter: str | None = None, offset: int = 0, limit: int = 30,
         now: dt.datetime | None = None) -> Page:
    """The daily lists without a period: each day's list in turn, newest day first, so that pages go
    back through earlier days (with `submitter`, the member's whole history). `trending` ranks the
    last FEED_TRENDING_DAYS days (a member's whole history) by the trending score instead: older
    papers' scores have decayed to nothing."""
    if sort == "trending":
        latest = store.latest_date()
        if latest is None:
            return Page([], 0, offset, limit)
        start = dt.date.min if submitter else latest - dt.timedelta(days=FEED_TRENDING_DAYS - 1)
        return daily(store, start, latest, sort="trending", submitter=submitter, offset=offset, limit=limit, now=now)
    rows, total = feed_rows(store, sort=sort, submitter=submitter, offset=offset, limit=limit)
    found = store.papers_by_ids([r.entry.arxiv_id for r in rows])
    return Page([Listed(found[r.entry.arxiv_id], r.entry) for r in rows if r.entry.arxiv_id in found], total,
                offset, limit)


@dataclass(frozen=True)
class Standing:
    """Where a paper ranks on its (latest) day's trending list, and why."""

    day: dt.date
    position: int
    of: int
    explanation: ranking.Explanation
    above: tuple[str, float] | None  # the paper just above: id and score
    below: tuple[str, float] | None


def standing(store: Store, paper_id: str, day: dt.date, now: dt.datetime | None = None) -> Standing | None:
    rows = period_rows(store, day, day)
    scores = _scored(rows, ranking.reference_time(day, now or utcnow()))
    ordered = _order(rows, "trending", scores)
    position = next((i for i, r in enumerate(ordered) if r.entry.arxiv_id == paper_id), None)
    if position is None:
        return None

    def neighbour(i: int) -> tuple[str, float] | None:
        if 0 <= i < len(ordered):
            pid = ordered[i].entry.arxiv_id
            return pid, scores[pid].score
        return None

    return Standing(day, position + 1, len(ordered), scores[paper_id], neighbour(position - 1),
                    neighbour(position + 1))
