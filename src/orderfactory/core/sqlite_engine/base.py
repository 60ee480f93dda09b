"""Django's SQLite backend, with the writers of one process queued on a lock instead of on SQLite's busy handler.

SQLite lets one connection write at a time. A second writer waits in SQLite's busy handler, which sleeps and
polls (1, 2, 5, 10, 15, 20, 25 ms ...), so under load most of a waiter's time is spent asleep after the lock
was already free: with the embedded worker copying while requests write, writers lost more time sleeping than
writing. Here every write transaction of the process (``BEGIN IMMEDIATE`` .. ``COMMIT``/``ROLLBACK``) and
every autocommit write first takes one lock per database file, so threads hand the database over the moment it
is free. Other processes (standalone workers, the scheduler) still meet at SQLite's own lock, as before.

Transactions begun inside ``database.unsynced()`` commit under ``PRAGMA synchronous = NORMAL`` (when the
database is configured FULL): the connection switches its level only when the next transaction or autocommit
write needs another one, so a worker's take and the claim that follows it share one switch, and the copy's
transaction switches back.

It also gives the cache a pre-commit hook (``before_commit``): work that must commit with the transaction, such
as the response cache's version bump, runs just before ``COMMIT`` and is dropped on ``ROLLBACK``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from django.db.backends.sqlite3 import base

from orderfactory.core.database import WriteLockTimeout

_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()
_NORMAL = 1  # PRAGMA synchronous = NORMAL (FULL is 2)
_WRITE = re.compile(r"^\s*(?:INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER)\b", re.IGNORECASE)


# Statement text -> the same with SQLite's placeholders. Django converts every statement's ``%s`` to ``?`` with a
# regular expression on each execute, which cost a copy a third of what SQLite took to run them (the
# INSERT of a copy's lines has a placeholder per column and row); a copy's statements recur, their SQL built
# once per table (core.writes, core.prepared), so each is converted once. Bounded: a statement too long to be
# worth keeping, or one more than the limit, is converted as before.
_converted: dict[str, str] = {}
_CONVERTED_MAX = 256
_CONVERTED_LONGEST = 65536


class _Cursor(base.SQLiteCursorWrapper):
    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is not None or len(query) > _CONVERTED_LONGEST:
            return super().convert_query(query, param_names=param_names)  # type: ignore[misc]  # not in Django's stubs
        converted = _converted.get(query)
        if converted is None:
            converted = super().convert_query(query)  # type: ignore[misc]
            if len(_converted) >= _CONVERTED_MAX:
                _converted.clear()
            _converted[query] = converted
        return converted


def _lock_for(name: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.write_lock = _lock_for(str(self.settings_dict["NAME"]))
        self.holds_write_lock = False
        self.before_commit: dict[Any, Callable[[], None]] = {}
        self.execute_wrappers.append(_autocommit_write)
        self.unsynced = 0  # > 0 inside database.unsynced()
        # PRAGMA synchronous as configured (init_command) and as it is now, read when the connection opens
        self.configured_synchronous = self.current_synchronous = _NORMAL

    def create_cursor(self, name: Any = None) -> Any:
        return self.connection.cursor(factory=_Cursor)

    def get_new_connection(self, conn_params: Any) -> Any:
        conn = super().get_new_connection(conn_params)
        (level,) = conn.execute("PRAGMA synchronous").fetchone()
        self.configured_synchronous = self.current_synchronous = int(level)
        return conn

    def synchronize(self) -> None:
        """Set PRAGMA synchronous for the commit to come: NORMAL inside ``database.unsynced()``, else as
        configured (a statement only when the level changes; outside a transaction, where SQLite allows it)."""
        wanted = min(_NORMAL, self.configured_synchronous) if self.unsynced else self.configured_synchronous
        if wanted != self.current_synchronous:
            with self.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous = {wanted}")
            self.current_synchronous = wanted

    @property
    def lock_timeout(self) -> float:
        return float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))

    def acquire_write_lock(self) -> None:
        if self.holds_write_lock:
            return
        if not self.write_lock.acquire(timeout=self.lock_timeout):
            raise WriteLockTimeout("database is locked")
        self.holds_write_lock = True

    def release_write_lock(self) -> None:
        if self.holds_write_lock:
            self.holds_write_lock = False
            self.write_lock.release()

    def _start_transaction_under_autocommit(self) -> None:
        self.acquire_write_lock()
        try:
            self.synchronize()
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # private in django-stubs
        except BaseException:
            self.release_write_lock()
            raise

    def _commit(self) -> None:
        hooks, self.before_commit = self.before_commit, {}
        for hook in hooks.values():
            hook()
        super()._commit()  # type: ignore[misc]  # private in django-stubs
        self.release_write_lock()  # a failed commit keeps it: the rollback that follows releases it

    def _rollback(self) -> None:
        self._ending(super()._rollback)  # type: ignore[misc]  # private in django-stubs

    def _close(self) -> None:
        self._ending(super()._close)  # type: ignore[misc]  # private in django-stubs

    def _ending(self, end: Callable[[], None]) -> None:
        """Roll back or close: the transaction is over either way, and its pre-commit work with it."""
        self.before_commit = {}
        try:
            end()
        finally:
            self.release_write_lock()


def _autocommit_write(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    """A write outside a transaction is a transaction of its own: it queues on the same lock."""
    db = context["connection"]
    if db.holds_write_lock or db.in_atomic_block or not _WRITE.match(sql):
        return execute(sql, params, many, context)
    db.acquire_write_lock()
    try:
        db.synchronize()
        return execute(sql, params, many, context)
    finally:
        db.release_write_lock()
