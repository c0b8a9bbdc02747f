"""Days, ISO weeks and months as URL slugs (`2025-03-14`, `2025-W11`, `2025-03`) and date ranges."""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

from dailypapers.errors import InvalidDate
from dailypapers.search.query import DATE_RANGE

KINDS = ("date", "week", "month")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    """An inclusive range of dates a daily list covers."""

    kind: str  # "date" | "week" | "month"
    start: dt.date
    end: dt.date

    @property
    def slug(self) -> str:
        if self.kind == "date":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return self.start.strftime("%Y-%m")

    @property
    def label(self) -> str:
        if self.kind == "date":
            return f"{self.start:%A, %B} {self.start.day}, {self.start.year}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week}, {year} ({short(self.start)} – {short(self.end)})"
        return self.start.strftime("%B %Y")

    @property
    def path(self) -> str:
        return f"/papers/{self.kind}/{self.slug}"

    def shifted(self, direction: int) -> Period:
        """The adjacent period of the same kind (direction -1 or +1)."""
        if self.kind == "date":
            return day(self.start + dt.timedelta(days=direction))
        if self.kind == "week":
            return week_of(self.start + dt.timedelta(weeks=direction))
        anchor = self.start - dt.timedelta(days=1) if direction < 0 else self.end + dt.timedelta(days=1)
        return month_of(anchor)

    def containing(self, kind: str, when: dt.date | None = None) -> Period:
        """The period of another kind that contains `when` (default: this period's start)."""
        when = when or self.start
        return {"date": day, "week": week_of, "month": month_of}[kind](when)


def short(when: dt.date) -> str:
    return f"{when:%b} {when.day}"


def day(when: dt.date) -> Period:
    return Period("date", when, when)


def week_of(when: dt.date) -> Period:
    monday = when - dt.timedelta(days=when.weekday())
    return Period("week", monday, monday + dt.timedelta(days=6))


def month_of(when: dt.date) -> Period:
    last = calendar.monthrange(when.year, when.month)[1]
    return Period("month", when.replace(day=1), when.replace(day=last))


def parse(kind: str, raw: str) -> Period:
    """Parse a slug of the given kind; raises InvalidDate for a bad format, an impossible date or
    a period outside DATE_RANGE."""
    raw = (raw or "").strip()
    return in_range(_parse(kind, raw), raw)


def _parse(kind: str, raw: str) -> Period:
    try:
        if kind == "date" and (m := _DAY.match(raw)):
            return day(dt.date(int(m[1]), int(m[2]), int(m[3])))
        if kind == "week" and (m := _WEEK.match(raw)):
            return week_of(dt.date.fromisocalendar(int(m[1]), int(m[2]), 1))
        if kind == "month" and (m := _MONTH.match(raw)):
            return month_of(dt.date(int(m[1]), int(m[2]), 1))
    except (ValueError, OverflowError):
        raise InvalidDate(f"{raw[:40]!r} is not a real {_NAMES.get(kind, kind)}") from None
    raise InvalidDate(f"{raw[:40]!r} is not a {_NAMES.get(kind, kind)}: expected {_FORMATS.get(kind, '?')}")


def in_range(period: Period, raw: str = "") -> Period:
    """`period` if it lies inside DATE_RANGE (the dates search filters accept too), else
    InvalidDate: a list of year 9999 has no next period to link to, and no paper."""
    low, high = DATE_RANGE
    if low <= period.start and period.end <= high:
        return period
    shown = raw[:40] or period.slug
    raise InvalidDate(f"{shown!r} is out of range: lists cover {low.year} to {high.year}")


_NAMES = {"date": "date", "week": "week", "month": "month"}
_FORMATS = {"date": "YYYY-MM-DD, e.g. 2025-03-14", "week": "YYYY-Www, e.g. 2025-W11", "month": "YYYY-MM, e.g. 2025-03"}
