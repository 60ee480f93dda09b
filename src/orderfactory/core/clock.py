"""The one clock every service and the scheduler read, so tests can move time without sleeping."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager

_now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)  # noqa: E731


def now() -> dt.datetime:
    """UTC, truncated to milliseconds: the wire format's precision, so a time read back from the API compares
    equal to the stored one."""
    value = _now()
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


@contextmanager
def frozen(at: dt.datetime) -> Iterator[Callable[[dt.timedelta], None]]:
    """Freeze the clock at ``at``; the yielded function moves it forward."""
    global _now
    previous = _now
    current = [at]

    def advance(delta: dt.timedelta) -> None:
        current[0] = current[0] + delta

    _now = lambda: current[0]  # noqa: E731
    try:
        yield advance
    finally:
        _now = previous
