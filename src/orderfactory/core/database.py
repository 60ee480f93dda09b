"""Database errors worth retrying, told apart by exception type and SQLSTATE (never by message text), and what
a worker does when its database goes away: wait for it to answer again, then carry on.

- ``contention``: lock contention (PostgreSQL's serialization failure, deadlock, lock not available; SQLite's
  busy and locked codes, and the write lock of ``core.sqlite_engine``). Retrying soon is likely to work.
- ``unavailable``: the database cannot be reached or dropped the connection (SQLSTATE class 08, the server
  shutting down or starting up, too many connections, or a client-side connection error, which psycopg raises
  without a SQLSTATE). Retrying after the database is back works.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connection

log = logging.getLogger("orderfactory.database")

T = TypeVar("T")

_CONTENTION_STATES = {
    "40001",
    "40P01",
    "55P03",
}  # serialization_failure, deadlock_detected, lock_not_available
# admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting down), too_many_connections
_UNAVAILABLE_STATES = {"57P01", "57P02", "57P03", "53300"}
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class WriteLockTimeout(OperationalError):
    """Waiting for the write lock of a SQLite file took longer than its timeout (core.sqlite_engine). Its
    message is SQLite's own, "database is locked", which django-tasks-db's worker looks for."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and those it was raised from (Django wraps the driver's exception in its own)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _driver_error(exc: BaseException) -> BaseException | None:
    for item in _chain(exc):
        if type(item).__module__.startswith(("psycopg", "sqlite3")):
            return item
    return None


def contention(exc: BaseException) -> bool:
    if any(isinstance(item, WriteLockTimeout) for item in _chain(exc)):
        return True
    driver = _driver_error(exc)
    if isinstance(driver, sqlite3.Error):
        return (getattr(driver, "sqlite_errorcode", 0) & 0xFF) in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return getattr(driver, "sqlstate", None) in _CONTENTION_STATES


def unavailable(exc: BaseException) -> bool:
    driver = _driver_error(exc)
    if driver is None or isinstance(driver, sqlite3.Error):
        # Django's own "connection already closed"; a SQLite file does not go away.
        return driver is None and any(isinstance(item, InterfaceError) for item in _chain(exc))
    import psycopg

    state = getattr(driver, "sqlstate", None)
    if state is None:  # raised by the client: the connection failed, was closed or was lost
        return isinstance(driver, (psycopg.OperationalError, psycopg.InterfaceError))
    return state.startswith("08") or state in _UNAVAILABLE_STATES


def transient(exc: BaseException) -> bool:
    return contention(exc) or unavailable(exc)


def wait_until_available(patience: float, poll: float = 0.5) -> bool:
    """Drop this thread's connection and try a new one every ``poll`` seconds until the database answers
    (True) or ``patience`` seconds have passed (False)."""
    deadline = time.monotonic() + patience
    while True:
        with contextlib.suppress(DatabaseError):  # closing a connection the server already dropped
            connection.close()
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return True
        except DatabaseError as exc:
            if not unavailable(exc) or time.monotonic() + poll > deadline:
                return False
        time.sleep(poll)


def outlasting(work: Callable[[], T], *, patience: float, what: str) -> T:
    """``work()``; if the database goes away meanwhile, wait for it (up to ``patience`` seconds each time) and
    run ``work()`` again. ``work`` must be safe to run again after it was cut off at any statement: every
    transaction it committed stays, the one it was in rolled back, and the one whose COMMIT got no answer may
    have committed or not."""
    while True:
        try:
            return work()
        except DatabaseError as exc:
            if not unavailable(exc):
                raise
            log.warning("%s: the database went away (%s); waiting for it", what, type(exc).__name__)
            if not wait_until_available(patience):
                raise
            log.warning("%s: the database answers again; running it again", what)


@contextlib.contextmanager
def unsynced(using: str = "default") -> Iterator[None]:
    """Transactions begun inside commit without waiting for the disk: bookkeeping that the next synced commit
    makes durable with everything committed before it (a worker's take of a job, a copy's claim), never data a
    client is told about. SQLite commits them under ``PRAGMA synchronous = NORMAL`` (core.sqlite_engine),
    PostgreSQL with ``synchronous_commit`` off (core.postgresql_engine); a crash of the machine, or of
    PostgreSQL, before that next synced commit may lose them, and never half of one. Only a transaction that
    begins here counts: a savepoint commits with its outer transaction, synced or not."""
    from django.db import connections

    db: Any = connections[using]  # the engines' own wrappers read ``unsynced``
    db.unsynced = getattr(db, "unsynced", 0) + 1
    try:
        yield
    finally:
        db.unsynced -= 1


@contextlib.contextmanager
def pipelined(using: str = "default") -> Iterator[None]:
    """Inside, on PostgreSQL, a statement whose results no one reads (an INSERT, an UPDATE whose row count no
    one asks for) is sent without waiting for its answer: it travels with the next statement whose rows are
    read, or with the commit, in one round trip (psycopg's pipeline mode). For a transaction of few reads and
    many writes, a copy's or its claim's. The SQL is the same, and so are the results; what changes is when a
    failing write's error is raised: by the next read, savepoint release or commit, inside the same
    transaction (core.postgresql_engine handles savepoints). Around a transaction, its commit is one of those
    round trips and ends the pipeline, before the transaction's on_commit callbacks run. SQLite, and a libpq
    without pipelines: nothing changes."""
    import psycopg
    from django.db import connections

    db: Any = connections[using]
    if db.vendor != "postgresql" or db.pipeline is not None or not psycopg.Pipeline.is_supported():
        yield
        return
    db.ensure_connection()
    connection = db.connection
    with db.wrap_database_errors:
        pipeline = connection._pipeline = psycopg.Pipeline(connection)
        pipeline.__enter__()
    ended = False

    def end(exc: BaseException | None = None) -> None:
        """Leave pipeline mode, once: as psycopg's ``Connection.pipeline()`` does, but a pipeline that ends
        idle (its transaction committed, every answer read) leaves it without the sync psycopg sends anyway,
        a round trip that answers nothing."""
        nonlocal ended
        if ended:
            return
        ended = True
        try:
            if exc is not None:
                pipeline.__exit__(type(exc), exc, exc.__traceback__)
            elif pipeline.command_queue or pipeline.result_queue or not _idle_exit(pipeline):
                pipeline.__exit__(None, None, None)
        finally:
            db.pipeline = db.end_pipeline = connection._pipeline = None

    # A transaction begun inside ends the pipeline with its commit (core.postgresql_engine), before its
    # on_commit callbacks run: their statements are not the transaction's, and pipelined in autocommit they
    # would wait for the pipeline's end to commit.
    db.pipeline, db.end_pipeline = pipeline, end
    try:
        with db.wrap_database_errors:
            yield
    except BaseException as exc:
        with db.wrap_database_errors:
            end(exc)
        raise
    with db.wrap_database_errors:
        end()


def _idle_exit(pipeline: Any) -> bool:
    """Leave pipeline mode with nothing sent or pending: whether libpq agreed."""
    try:
        pipeline._exit(None)
    except Exception:
        pipeline.level += 1  # still in pipeline mode: leave it the way psycopg does
        return False
    return True


def pipelining(using: str = "default") -> bool:
    """Whether statements on ``using`` are pipelined now (``pipelined``): their row counts are not known
    until read."""
    from django.db import connections

    return getattr(connections[using], "pipeline", None) is not None
