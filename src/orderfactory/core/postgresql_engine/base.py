"""Django's PostgreSQL backend, with timestamps read by psycopg's C loader instead of a Python one, no
health-check round trip for a connection that has just answered (``RECENTLY_ALIVE`` below), and integers
out of their column's range refused rather than wrapped (``DatabaseOperations`` below). A transaction begun
inside ``database.unsynced()`` commits with ``synchronous_commit`` off. Inside ``database.pipelined()`` the
connection is in psycopg's pipeline mode: statements whose results no one reads are sent without waiting,
and travel with the next one that is read (``_PipelineAware`` below).

Django registers its own ``timestamptz`` loader on every connection: a Python subclass of psycopg's, to pin
the time zone of the values it returns. psycopg swaps its own Python loaders for their C builds, but never a
subclass, so every timestamp a query returned was parsed in Python, several times slower than in C, and a
copy or a page of orders reads hundreds (the measurement: docs/decisions.md). Django opens each session in
the database setting's time zone (UTC here), and psycopg's loader returns values in the session's zone, so
the values are the same, down to their tzinfo (``datetime.timezone.utc``). This engine hands psycopg's C loader to Django
under Django's own check: a loader whose ``timezone`` is Django's, which Django then leaves in place. Without
psycopg's C build, or in another zone, the connection keeps Django's loader.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import time
from typing import Any

import psycopg
from django.db import DatabaseError, DataError
from django.db.backends.postgresql import base, operations
from django.db.utils import DatabaseErrorWrapper
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


# A connection that answered a statement less than this many seconds ago is taken as alive: Django's health
# check (a SELECT 1 before the first statement of each request and each job) is skipped for it. That round
# trip was one statement in twenty of an order copy. A connection the server dropped within that second fails
# its next statement, as every connection did before health checks; after an error Django checks as before.
RECENTLY_ALIVE = 1.0


class DatabaseOperations(operations.DatabaseOperations):
    """Django hands psycopg the value of an integer column as ``Int2``/``Int4``/``Int8``, whose dumpers keep the
    low bits of a value that does not fit: with server-side binding, 2^32 - 100 reached an ``integer`` column
    as -100, and 2^32 + 5 in a filter found the rows holding 5. A value outside its column's range is refused,
    as PostgreSQL refuses it in the text of a statement (client-side binding)."""

    def adapt_integerfield_value(self, value: Any, internal_type: str) -> Any:
        if value is not None and not hasattr(value, "resolve_expression"):
            low, high = self.integer_field_ranges[internal_type]
            if not low <= value <= high:
                raise DataError(f"integer out of range: {value} for {internal_type}")
        return super().adapt_integerfield_value(value, internal_type)


class _PipelineAware:
    """A cursor that, in pipeline mode, waits for its statement's results when asked for its row count or its
    columns, not only when its rows are fetched: Django reads ``rowcount`` after an UPDATE or a DELETE and
    ``description`` after a raw query, which before their results arrive would be -1 and None. Errors come as
    Django's, as from ``execute``."""

    connection: Any

    def _await_results(self) -> None:
        wrapper = getattr(self.connection, "django_wrapper", None)
        with DatabaseErrorWrapper(wrapper) if wrapper is not None else contextlib.nullcontext():
            self._fetch_pipeline()  # type: ignore[attr-defined]  # psycopg's: a no-op outside pipeline mode

    @property
    def rowcount(self) -> int:
        self._await_results()
        return super().rowcount  # type: ignore[misc, no-any-return]

    @property
    def description(self) -> Any:
        self._await_results()
        return super().description  # type: ignore[misc]


@functools.cache
def _pipeline_aware(cursor_class: type) -> type:
    return type(cursor_class.__name__, (_PipelineAware, cursor_class), {})


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answered_at = -math.inf
        self.execute_wrappers.append(self._note_answer)
        self.unsynced = 0  # > 0 inside database.unsynced()
        self.pipeline: Any = None  # psycopg's Pipeline, inside database.pipelined()
        self.end_pipeline: Any = None  # what ends it (database.pipelined)

    def get_new_connection(self, conn_params: Any) -> Any:
        connection = super().get_new_connection(conn_params)
        connection.django_wrapper = self  # for _PipelineAware's errors
        return connection

    # Savepoints in pipeline mode. A statement that fails aborts what follows it up to the next sync, and its
    # error arrives with the next result read: a savepoint begins after a sync (an earlier error is raised
    # before it, not inside it), its release syncs (an error inside is raised by the release, which
    # transaction.atomic handles as it handles the statement's own), and its rollback first clears an error
    # still pending from inside it (the rollback undoes that statement anyway; the block's own exception is
    # the one that goes on).

    def _sync(self, *, swallow: bool = False) -> None:
        if self.pipeline is None:
            return
        try:
            with self.wrap_database_errors:
                self.pipeline.sync()
        except DatabaseError:
            if not swallow:
                raise

    def _savepoint(self, sid: Any) -> None:
        self._sync()
        super()._savepoint(sid)  # type: ignore[misc]  # private in django-stubs

    def _savepoint_commit(self, sid: Any) -> None:
        super()._savepoint_commit(sid)  # type: ignore[misc]  # private in django-stubs
        self._sync()

    def _savepoint_rollback(self, sid: Any) -> None:
        self._sync(swallow=True)
        super()._savepoint_rollback(sid)  # type: ignore[misc]  # private in django-stubs
        self._sync()

    def chunked_cursor(self) -> Any:
        # A server-side cursor (Django's for ``QuerySet.iterator()``) cannot run in pipeline mode: pipelined,
        # the rows come as from any query.
        return self.cursor() if self.pipeline is not None else super().chunked_cursor()

    def _commit(self) -> None:
        super()._commit()  # type: ignore[misc]  # private in django-stubs
        if self.end_pipeline is not None:  # the pipeline around this transaction ends with it
            with self.wrap_database_errors:
                self.end_pipeline()

    def _rollback(self) -> None:
        self._sync(swallow=True)  # psycopg's rollback raises an error still pending before it rolls back
        super()._rollback()  # type: ignore[misc]  # private in django-stubs

    def _set_autocommit(self, autocommit: bool) -> None:
        super()._set_autocommit(autocommit)  # type: ignore[misc]  # private in django-stubs
        if not autocommit and self.unsynced:
            # A transaction begins inside database.unsynced(): its commit does not wait for the WAL flush. The
            # cursor skips ``cursor()``'s health check, which could reconnect (in autocommit) mid-``atomic``.
            django: Any = self  # attributes of Django's wrapper missing from its stubs
            with self.wrap_database_errors, django._prepare_cursor(self.create_cursor()) as cursor:
                cursor.execute("SELECT set_config('synchronous_commit', 'off', true)")

    def _note_answer(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        self.answered_at = time.monotonic()
        return result

    def close_if_health_check_failed(self) -> None:
        django: Any = self  # attributes of Django's wrapper missing from its stubs
        if (
            self.connection is not None
            and django.health_check_enabled
            and not django.health_check_done
            and not self.errors_occurred
            and not (self.connection.closed or self.connection.broken)
            and time.monotonic() - self.answered_at < RECENTLY_ALIVE
        ):
            django.health_check_done = True
            return
        super().close_if_health_check_failed()

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if _BUILT is not None and self.timezone == dt.UTC and "context" in params:
            params["context"] = _with_built_loader(params["context"])
        if "cursor_factory" in params:
            params["cursor_factory"] = _pipeline_aware(params["cursor_factory"])
        return params
