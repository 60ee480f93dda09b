"""Django's PostgreSQL backend, with timestamps read by psycopg's C loader instead of a Python one.

Django registers its own ``timestamptz`` loader on every connection: a Python subclass of psycopg's, to pin
the time zone of the values it returns. psycopg swaps its own Python loaders for their C builds, but never a
subclass, so every timestamp a query returned was parsed in Python: about 4.5 µs each against 0.9 µs (a copy
reads about a hundred, a page of 25 orders a few hundred). Django opens each session in the database
setting's time zone (UTC here), and psycopg's loader returns values in the session's zone, so the values are
the same, down to their tzinfo (``datetime.timezone.utc``). This engine hands psycopg's C loader to Django
under Django's own check: a loader whose ``timezone`` is Django's, which Django then leaves in place. Without
psycopg's C build, or in another zone, the connection keeps Django's loader.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg import adapt
from psycopg.pq import Format
from psycopg.types.datetime import TimestamptzLoader

TIMESTAMPTZ = "timestamptz"


def _built_loader() -> Any:
    """psycopg's C ``timestamptz`` loader, or None without its C build."""
    probe = adapt.AdaptersMap(psycopg.adapters)
    # Registering psycopg's own Python loader puts its C build in place, when it has one.
    probe.register_loader(TIMESTAMPTZ, TimestamptzLoader)
    built = probe.get_loader(probe.types[TIMESTAMPTZ].oid, Format.TEXT)
    return None if built is None or built is TimestamptzLoader else built


_BUILT = _built_loader()


class UtcTimestamptzLoader(adapt.Loader):
    """psycopg's C loader, under the name Django checks (``timezone``) before it registers its own."""

    timezone = dt.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        assert _BUILT is not None
        self._load = _BUILT(oid, context).load

    def load(self, data: Any) -> Any:
        return self._load(data)


@functools.cache
def _with_built_loader(template: adapt.AdaptersMap) -> adapt.AdaptersMap:
    adapters = adapt.AdaptersMap(template)
    adapters.register_loader(TIMESTAMPTZ, UtcTimestamptzLoader)
    return adapters


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if _BUILT is not None and self.timezone == dt.UTC and "context" in params:
            params["context"] = _with_built_loader(params["context"])
        return params
