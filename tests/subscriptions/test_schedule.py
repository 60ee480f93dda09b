"""Schedules: named frequencies anchored so month ends stay month ends, crontabs at most hourly."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderfactory.subscriptions import schedule

UTC = dt.UTC


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def test_month_ends_stay_month_ends():
    anchor = at(2023, 1, 31, 9)
    assert [schedule.nth_run(anchor, "monthly", n).date().isoformat() for n in range(5)] == [
        "2023-01-31",
        "2023-02-28",
        "2023-03-31",
        "2023-04-30",
        "2023-05-31",
    ]
    leap = at(2024, 1, 31, 9)
    assert schedule.nth_run(leap, "monthly", 1) == at(2024, 2, 29, 9)
    assert schedule.nth_run(at(2024, 2, 29), "yearly", 1) == at(2025, 2, 28)
    assert schedule.nth_run(at(2024, 8, 31), "six-month", 1) == at(2025, 2, 28)


@pytest.mark.parametrize(
    "frequency,expected",
    [
        ("hourly", at(2026, 1, 1, 11)),
        ("daily", at(2026, 1, 2, 10)),
        ("weekly", at(2026, 1, 8, 10)),
        ("monthly", at(2026, 2, 1, 10)),
        ("two-month", at(2026, 3, 1, 10)),
        ("three-month", at(2026, 4, 1, 10)),
        ("four-month", at(2026, 5, 1, 10)),
        ("six-month", at(2026, 7, 1, 10)),
        ("yearly", at(2027, 1, 1, 10)),
        ("30 6 * * 1", at(2026, 1, 5, 6, 30)),
        ("0 */2 * * *", at(2026, 1, 1, 12)),
    ],
)
def test_next_run_of_every_frequency(frequency, expected):
    anchor = at(2026, 1, 1, 10)
    assert schedule.next_after(anchor, frequency, anchor) == expected


@pytest.mark.parametrize(
    "frequency",
    [
        "",
        "  ",
        "every day",
        "*/5 * * * *",
        "* * * * *",
        "0-30 * * * *",
        "1,2 * * * *",
        "61 * * * *",
        "0 0 * *",
        5,
    ],
)
def test_invalid_frequencies(frequency):
    assert schedule.frequency_problem(frequency) is not None


def test_next_after_is_strictly_after_and_on_the_grid():
    anchor = at(2026, 1, 31, 8)
    assert schedule.next_after(anchor, "monthly", at(2026, 2, 28, 8)) == at(2026, 3, 31, 8)
    assert schedule.next_after(anchor, "monthly", at(2026, 2, 28, 7, 59)) == at(2026, 2, 28, 8)
    assert schedule.next_after(anchor, "monthly", at(2025, 1, 1)) == anchor


@settings(max_examples=150, deadline=None)
@given(
    st.datetimes(
        min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(sorted(schedule.NAMED)),
    st.integers(min_value=0, max_value=36 * 24 * 40),
)
def test_next_after_properties(anchor, frequency, hours):
    moment = anchor + dt.timedelta(hours=hours)
    nxt = schedule.next_after(anchor, frequency, moment)
    assert nxt > moment
    # it is a run of the anchor's grid, and the run before it is not after moment
    lo, hi = 0, 1000 if schedule.NAMED[frequency][0] == "months" else 40_000
    while lo < hi:
        mid = (lo + hi) // 2
        if schedule.nth_run(anchor, frequency, mid) < nxt:
            lo = mid + 1
        else:
            hi = mid
    assert schedule.nth_run(anchor, frequency, lo) == nxt
    assert lo == 0 or schedule.nth_run(anchor, frequency, lo - 1) <= moment
