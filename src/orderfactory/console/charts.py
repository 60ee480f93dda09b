"""The overview's chart, drawn on the server: copies ended per hour by outcome, as stacked SVG bars. Pure
geometry from counts; the template writes the SVG, so the page needs no script to show it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

OUTCOMES = ("completed", "failed", "aborted")
WIDTH, HEIGHT = 840, 200
LEFT, BOTTOM, TOP = 36, 22, 8  # room for the count axis, the day labels, and the top tick


@dataclass
class Bar:
    x: float
    width: float
    segments: list[tuple[str, float, float]]  # (outcome, y, height)
    label: str


@dataclass
class Chart:
    hours: int
    bars: list[Bar]
    midnights: list[float]  # x of each midnight
    days: list[tuple[float, str]]  # (x, label) at each noon
    ticks: list[tuple[float, int]]  # (y, count)
    totals: dict[str, int]
    daily: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: int = HEIGHT - BOTTOM


def _nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 times a power of ten that is at least ``value``: axis ticks land on round
    numbers."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def build(counts: dict[tuple[dt.datetime, str], int], end: dt.datetime, hours: int = 7 * 24) -> Chart:
    """``counts``: (hour, outcome) -> copies ended in that hour (UTC); ``end``: the hour after the last bar."""
    end = end.replace(minute=0, second=0, microsecond=0)
    start = end - dt.timedelta(hours=hours)
    slots = [start + dt.timedelta(hours=i) for i in range(hours)]
    per_hour = [{o: counts.get((slot, o), 0) for o in OUTCOMES} for slot in slots]
    top = _nice_ceiling(max([sum(h.values()) for h in per_hour] + [1]))
    plot_height = HEIGHT - BOTTOM - TOP
    slot_width = (WIDTH - LEFT) / hours
    bars = []
    for i, (slot, hour) in enumerate(zip(slots, per_hour, strict=True)):
        y = float(HEIGHT - BOTTOM)
        segments = []
        for outcome in OUTCOMES:
            if hour[outcome]:
                height = hour[outcome] / top * plot_height
                y -= height
                segments.append((outcome, round(y, 2), round(height, 2)))
        if segments:
            label = f"{slot:%a %d %b %H}:00 UTC: " + ", ".join(f"{hour[o]} {o}" for o in OUTCOMES)
            bars.append(Bar(round(LEFT + i * slot_width, 2), round(slot_width * 0.8, 2), segments, label))
    midnights = [round(LEFT + i * slot_width, 2) for i, slot in enumerate(slots) if slot.hour == 0]
    days = [
        (round(LEFT + (i + 0.5) * slot_width, 2), f"{slot:%a %d}")
        for i, slot in enumerate(slots)
        if slot.hour == 12
    ]
    marks = (0, top // 2, top) if top % 2 == 0 else (0, top)
    ticks = [(round(HEIGHT - BOTTOM - plot_height * mark / top, 2), mark) for mark in marks]
    totals = {o: sum(h[o] for h in per_hour) for o in OUTCOMES}
    daily: dict[str, dict[str, int]] = {}
    for slot, hour in zip(slots, per_hour, strict=True):
        day = daily.setdefault(f"{slot:%a %d %b}", dict.fromkeys(OUTCOMES, 0))
        for outcome in OUTCOMES:
            day[outcome] += hour[outcome]
    return Chart(hours, bars, midnights, days, ticks, totals, list(daily.items()))
