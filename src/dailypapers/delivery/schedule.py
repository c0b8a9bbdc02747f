"""When digests go out: at the subscriber's hour in their IANA time zone, every day or on one
weekday, and which period a digest belongs to.

A subscription's *instants* are the moments `hour:00` local time on each day (daily) or on its
weekday (weekly), converted to UTC with zoneinfo (so daylight-saving changes move them as the
subscriber expects; an hour that does not exist on a spring-forward day falls an hour later).
A digest's *period* is the local date of its instant; (subscription, period) is what is sent
exactly once.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from dailypapers.errors import InvalidInput

DAYS = {"daily": 1, "weekly": 7}
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@lru_cache(maxsize=1)
def timezones() -> list[str]:
    """Every IANA zone name this machine knows, sorted (for the subscription form)."""
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def zone(name: str) -> ZoneInfo:
    """The zone called `name`; InvalidInput for anything that is not an IANA zone name."""
    name = (name or "").strip()
    if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        raise InvalidInput("choose a time zone such as Europe/Paris or America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"unknown time zone {name[:64]!r}; use a name such as Europe/Paris") from None


def _local_instant(day: dt.date, hour: int, tz: ZoneInfo) -> dt.datetime:
    """`hour:00` on `day` in `tz`, in UTC (a time skipped by a DST change resolves forward)."""
    # fold=0 (PEP 495): in a spring-forward gap the offset before the change applies, which
    # lands after the gap (02:00 that never happens → 03:00); a repeated autumn hour is its first
    return dt.datetime.combine(day, dt.time(hour), tzinfo=tz).astimezone(dt.timezone.utc)


def last_instant(frequency: str, hour: int, weekday: int, tz_name: str, now: dt.datetime) -> dt.datetime:
    """The latest scheduled instant at or before `now` (UTC)."""
    tz = zone(tz_name)
    local_today = now.astimezone(tz).date()
    step = DAYS[frequency]
    day = local_today if step == 1 else local_today - dt.timedelta(days=(local_today.weekday() - weekday) % 7)
    instant = _local_instant(day, hour, tz)
    while instant > now:
        day -= dt.timedelta(days=step)
        instant = _local_instant(day, hour, tz)
    return instant


def next_instant(frequency: str, hour: int, weekday: int, tz_name: str, now: dt.datetime) -> dt.datetime:
    """The first scheduled instant after `now` (UTC)."""
    tz = zone(tz_name)
    last = last_instant(frequency, hour, weekday, tz_name, now)
    day = last.astimezone(tz).date() + dt.timedelta(days=DAYS[frequency])
    return _local_instant(day, hour, tz)


def period_of(instant: dt.datetime, tz_name: str) -> dt.date:
    """A digest's period: the subscriber's local date of its instant."""
    return instant.astimezone(zone(tz_name)).date()
