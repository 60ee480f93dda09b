"""When subscription runs happen: Commerce Layer's named frequencies, or a crontab that runs at most hourly.

Runs of a named frequency are counted from an anchor (the first run), never from the previous run, so a
subscription anchored on January 31 runs on February 28 (29 in leap years), then March 31: month ends stay
month ends. All times are UTC.
"""

from __future__ import annotations

import calendar
import datetime as dt

from croniter import croniter

NAMED: dict[str, tuple[str, int]] = {
    "hourly": ("hours", 1),
    "daily": ("days", 1),
    "weekly": ("days", 7),
    "monthly": ("months", 1),
    "two-month": ("months", 2),
    "three-month": ("months", 3),
    "four-month": ("months", 4),
    "six-month": ("months", 6),
    "yearly": ("months", 12),
}
MAX_RUNS_SCANNED = 10_000


def frequency_problem(frequency: object) -> str | None:
    """Why ``frequency`` is not valid, or None."""
    if not isinstance(frequency, str) or not frequency.strip():
        return "can't be blank"
    if frequency in NAMED:
        return None
    fields = frequency.split()
    if len(fields) != 5 or not croniter.is_valid(frequency):
        return "is not a supported frequency nor a valid crontab expression"
    if not fields[0].isdigit() or not 0 <= int(fields[0]) <= 59:
        return "must run at most hourly (the crontab's minute must be a single number)"
    return None


def _utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)


def add_months(value: dt.datetime, months: int) -> dt.datetime:
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def nth_run(anchor: dt.datetime, frequency: str, n: int) -> dt.datetime:
    """The ``n``-th run after the anchor (the anchor is run 0) of a named frequency."""
    unit, size = NAMED[frequency]
    anchor = _utc(anchor)
    if unit == "months":
        return add_months(anchor, size * n)
    return anchor + dt.timedelta(**{unit: size * n})


def next_after(anchor: dt.datetime, frequency: str, moment: dt.datetime) -> dt.datetime:
    """The first run strictly after ``moment``."""
    moment = _utc(moment)
    if frequency not in NAMED:
        return _utc(croniter(frequency, moment).get_next(dt.datetime))
    anchor = _utc(anchor)
    if moment < anchor:
        return anchor
    unit, size = NAMED[frequency]
    if unit == "months":
        n = max(((moment.year - anchor.year) * 12 + moment.month - anchor.month) // size - 1, 0)
    else:
        n = int((moment - anchor) / dt.timedelta(**{unit: size}))
    candidate = nth_run(anchor, frequency, n)
    while candidate <= moment:
        n += 1
        candidate = nth_run(anchor, frequency, n)
    return candidate


def runs_between(
    anchor: dt.datetime, frequency: str, start: dt.datetime, end: dt.datetime, limit: int = MAX_RUNS_SCANNED
) -> list[dt.datetime]:
    """The scheduled times from ``start`` (itself a scheduled time: a subscription's ``next_run_at``) up to
    ``end`` included, at most ``limit`` of them."""
    out: list[dt.datetime] = []
    t = _utc(start)
    while t <= end and len(out) < limit:
        out.append(t)
        t = next_after(anchor, frequency, t)
    return out


def upcoming(
    anchor: dt.datetime, frequency: str, after: dt.datetime, count: int, until: dt.datetime | None = None
) -> list[dt.datetime]:
    out: list[dt.datetime] = []
    t = _utc(after)
    while len(out) < count:
        t = next_after(anchor, frequency, t)
        if until is not None and t >= until:
            break
        out.append(t)
    return out
