"""The trending score, stated once here and explained term by term wherever a ranking is shown.

    score = (imported + local) / (age_hours + 2) ** 1.8

- `imported`: the upvotes the paper had on the Hugging Face daily list when it was imported
  (its baseline, daily_entries.upvotes); `local`: upvotes cast by members of this site.
- `age_hours`: hours from when the paper appeared to the reference time. That is the time it was
  submitted to the list when the source gives it to the minute; when the source gives only the
  list day (a bare midnight, as the HF archive does), the paper's first arXiv version, so that
  papers on one day differ in age (as on HF, where a day's trending order is not its vote order);
  midnight UTC of the list day when neither is known.
- The reference time is now for lists that include today, and the end of the period for past
  days, weeks and months: a past list ranks as it would have at its close.
- 2 hours of offset keep brand-new papers from dividing by almost nothing; gravity 1.8 is the
  exponent Hacker News uses. Ties keep the paper with more votes first, then the newer id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

GRAVITY = 1.8
OFFSET_HOURS = 2.0
FORMULA = "score = (imported upvotes + local upvotes) / (age in hours + 2) ^ 1.8"


@dataclass(frozen=True)
class Explanation:
    imported: int
    local: int
    listed_at: dt.datetime
    reference: dt.datetime
    age_hours: float
    score: float

    @property
    def votes(self) -> int:
        return self.imported + self.local

    def terms(self) -> list[tuple[str, str]]:
        """(name, value) pairs, in the order the formula uses them."""
        return [
            ("imported upvotes (Hugging Face baseline)", str(self.imported)),
            ("local upvotes (members here)", str(self.local)),
            ("votes", str(self.votes)),
            ("age counted from", self.listed_at.strftime("%Y-%m-%d %H:%M UTC")),
            ("reference time", self.reference.strftime("%Y-%m-%d %H:%M UTC")),
            ("age in hours", f"{self.age_hours:.1f}"),
            ("divisor (age + 2) ^ 1.8", f"{(self.age_hours + OFFSET_HOURS) ** GRAVITY:.1f}"),
            ("score", f"{self.score:.4f}"),
        ]

    def sentence(self) -> str:
        return (f"({self.imported} + {self.local}) / ({self.age_hours:.1f} + 2) ^ 1.8 = {self.score:.4f}")


def listed_at(day: dt.date, submitted_at: dt.datetime | None, published: dt.datetime | None = None) -> dt.datetime:
    """When a paper appeared: its submission to the list when known to the minute, else its first
    arXiv version (`published`), else midnight UTC of the list day."""
    midnight = dt.datetime.combine(day, dt.time(), dt.timezone.utc)
    if submitted_at is not None and submitted_at.astimezone(dt.timezone.utc) != midnight:
        return submitted_at.astimezone(dt.timezone.utc)
    if published is not None:
        return published.astimezone(dt.timezone.utc)
    return midnight


def reference_time(period_end: dt.date | None, now: dt.datetime) -> dt.datetime:
    """Now, or the end of the period (midnight after its last day) when that is earlier."""
    if period_end is None:
        return now
    close = dt.datetime.combine(period_end + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    return min(now, close)


def score(imported: int, local: int, since: dt.datetime, reference: dt.datetime) -> float:
    return explain(imported, local, since, reference).score


def explain(imported: int, local: int, since: dt.datetime, reference: dt.datetime) -> Explanation:
    """The score with every term that produced it."""
    age = max(0.0, (reference - since).total_seconds() / 3600)
    value = (imported + local) / (age + OFFSET_HOURS) ** GRAVITY
    return Explanation(imported, local, since, reference, age, value)
