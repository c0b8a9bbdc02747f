"""The papers a digest (and /for-you) looks at: the daily lists of its period and what arXiv
published since the last digest.

The period's lists are anchored at the last day with a list on or before the digest's instant
(one day for daily digests, seven for weekly ones), so a site whose lists stop for a few days
(or the demo, whose data ends in the past) still sends something meaningful; papers published
since the previous digest add what harvesting brought in that is on no list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from dailypapers.delivery.schedule import DAYS
from dailypapers.store import Store
from dailypapers.store.candidates import latest_list_day, listed_ids, published_ids


@dataclass(frozen=True)
class Window:
    days: int
    start_day: dt.date | None  # the lists looked at (None: no list yet)
    end_day: dt.date | None
    since: dt.datetime  # papers published after this ...
    until: dt.datetime  # ... up to this

    @property
    def label(self) -> str:
        if self.start_day is None or self.end_day is None:  # both or neither
            return "no daily list yet"
        if self.start_day == self.end_day:
            return f"the list of {self.end_day:%A, %B} {self.end_day.day}, {self.end_day.year}"
        return (f"the lists of {self.start_day:%b} {self.start_day.day} – {self.end_day:%b} {self.end_day.day}, "
                f"{self.end_day.year}")


def window(store: Store, until: dt.datetime, frequency: str, since: dt.datetime | None = None) -> Window:
    days = DAYS[frequency]
    end = latest_list_day(store, until.date())
    start = end - dt.timedelta(days=days - 1) if end else None
    return Window(days, start, end, since or until - dt.timedelta(days=days), until)


def new_papers(store: Store, w: Window) -> list[str]:
    """The window's candidates: listed papers (newest list first), then newly published ones."""
    listed = listed_ids(store, w.start_day, w.end_day) if w.start_day and w.end_day else []
    return list(dict.fromkeys([*listed, *published_ids(store, w.since, w.until)]))
