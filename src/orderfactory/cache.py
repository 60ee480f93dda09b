"""A response cache for Commerce Layer's cacheable resources (skus, prices, price_lists, markets, stock_items,
stock_locations, ...), invalidated by every write of the same organization and mode.

Correctness does not depend on anyone remembering to invalidate: a database execute wrapper, installed on
every connection, sees each INSERT, UPDATE and DELETE of a tenant table (ORM saves, bulk updates, raw SQL
alike) and bumps the version of the writer's (organization, mode):

- at once in this process (a local generation), so no later read here can be served a document older than
  the write, committed or not; and
- in the database with the transaction's commit (``CacheVersion``), so other processes (more web workers,
  standalone workers, the scheduler) stop serving older documents too.

A cached document is keyed by its URL and caller kind and stored with the (database version, local
generation) it was rendered under; a read that sees other numbers renders again. A hit costs one indexed
read of the version row. ``ORDERFACTORY_RESPONSE_CACHE=off`` disables the cache.

The same versions keep the ``meta.record_count`` of every list, of any resource, that counted at least
COUNT_CACHED_FROM rows (``count``): counting a big tenant's rows on every page would cost a scan of them all.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.db import connection, connections, models, transaction
from django.db.backends.signals import connection_created

from orderfactory.core import scope as scopes

MAX_ENTRIES = 4096
MAX_BODY = 512 * 1024
_WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z0-9_]+)"?', re.IGNORECASE)
VERSION_TABLE = "core_cacheversion"

_lock = threading.Lock()
_local_generation: dict[tuple[str, str], int] = {}
_entries: OrderedDict[tuple[Any, ...], tuple[tuple[int, int], bytes]] = OrderedDict()
_tenant_tables: frozenset[str] | None = None


def enabled() -> bool:
    from django.conf import settings

    return bool(settings.ORDERFACTORY.get("RESPONSE_CACHE", True))


def _tenant_table_names() -> frozenset[str]:
    global _tenant_tables
    if _tenant_tables is None:
        from orderfactory.core.models import TenantModel

        _tenant_tables = frozenset(m._meta.db_table for m in apps.get_models() if issubclass(m, TenantModel))
    return _tenant_tables


# --- write tracking ---------------------------------------------------------------------------------------


def _bump_local(key: tuple[str, str]) -> None:
    with _lock:
        _local_generation[key] = _local_generation.get(key, 0) + 1


# On PostgreSQL the bump runs after its write's commit, in a transaction of its own: committing it
# asynchronously (``synchronous_commit`` off for that transaction only, set in the same statement) spares a
# WAL flush per write transaction. It becomes durable with the next synced commit of any session, or within
# a few wal_writer_delay; a server crash before then loses at most that bump, as a writer process that dies
# between its commit and its bump loses it (docs/decisions.md, "Fewer synced commits per copy").
_BUMP = {
    "postgresql": f"WITH unsynced AS (SELECT set_config('synchronous_commit', 'off', true)) "
    f"UPDATE {VERSION_TABLE} SET version = version + 1 FROM unsynced WHERE organization_id = %s AND mode = %s",
}
_BUMP_SYNCED = f"UPDATE {VERSION_TABLE} SET version = version + 1 WHERE organization_id = %s AND mode = %s"


def _bump_database(key: tuple[str, str], alias: str) -> None:
    db = connections[alias]
    # inside a transaction (SQLite's, just before its COMMIT) the bump commits with the data, synced as it is
    bump = _BUMP_SYNCED if db.in_atomic_block else _BUMP.get(db.vendor, _BUMP_SYNCED)
    with db.cursor() as cursor:
        cursor.execute(bump, list(key))
        if cursor.rowcount == 0:
            cursor.execute(
                f"INSERT INTO {VERSION_TABLE} (organization_id, mode, version) VALUES (%s, %s, 1) "
                "ON CONFLICT (organization_id, mode) DO UPDATE SET version = "
                + VERSION_TABLE
                + ".version + 1",
                list(key),
            )


@dataclass(frozen=True)
class _Bump:
    """The bump of one (organization, mode)'s shared version, as a commit callback; equal bumps are one."""

    key: tuple[str, str]
    alias: str

    def __call__(self) -> None:
        held = _held_bumps.get()
        if held is not None:
            held.add(self)
            return
        self.now()

    def now(self) -> None:
        _bump_database(self.key, self.alias)


_held_bumps: contextvars.ContextVar[set[_Bump] | None] = contextvars.ContextVar(
    "orderfactory_held_bumps", default=None
)


class HeldBumps:
    """What ``bumps_held`` yields: ``release`` bumps now, once each, the versions of the commits made so far
    inside, and lets the later ones bump as they commit."""

    def __init__(self) -> None:
        self.token: contextvars.Token[set[_Bump] | None] | None = None

    def release(self) -> None:
        if self.token is None:
            return
        held = _held_bumps.get() or set()
        _held_bumps.reset(self.token)
        self.token = None
        for bump in held:
            bump()


@contextlib.contextmanager
def bumps_held() -> Iterator[HeldBumps]:
    """The shared version bumps of the commits made inside (after each commit, on PostgreSQL) wait until
    ``release`` or the end of the block, then run once per (organization, mode): for a step of a few quick
    transactions (a copy's claim and its copy) that would bump the same version once each. Until then other
    processes may serve documents older than the first commit, as they may between any commit and its
    bump; this process, whose local generation moves at once, does not."""
    held = HeldBumps()
    held.token = _held_bumps.set(set())
    try:
        yield held
    finally:
        held.release()


_written: dict[str, bool] = {}
_WRITTEN_MAX = 4096


def _writes_tenant_rows(sql: str) -> bool:
    """Whether ``sql`` writes a tenant table (its verdict kept per statement text: most statements recur)."""
    verdict = _written.get(sql)
    if verdict is None:
        match = _WRITE.match(sql) if sql[:1] in "IiUuDd \n" else None
        verdict = (
            match is not None and match.group(1) != VERSION_TABLE and match.group(1) in _tenant_table_names()
        )
        if len(_written) >= _WRITTEN_MAX:
            _written.clear()
        _written[sql] = verdict
    return verdict


def _track_writes(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: dict[str, Any]
) -> Any:
    result = execute(sql, params, many, context)
    if not _writes_tenant_rows(sql):
        return result
    current = scopes.current_or_none()
    if current is None:
        return result  # system writes run inside a worker scope; writes with none touch no tenant's documents
    key = (current.organization_id, current.mode)
    _bump_local(key)
    db = context["connection"]
    bump = _Bump(key, db.alias)
    if not db.in_atomic_block:
        bump()
    elif hasattr(db, "before_commit"):
        # The embedded SQLite engine bumps inside the transaction, just before COMMIT: SQLite has one writer at
        # a time anyway, so the row costs no extra waiting, the version commits with the data, and a rollback
        # drops it. PostgreSQL bumps after commit, so that writers of one tenant do not queue on its version row.
        db.before_commit[bump] = bump.now  # inside the transaction: never held (bumps_held)
    elif bump not in (fn for _, fn, _ in db.run_on_commit):
        # Once per transaction and scope: Django drops the callbacks of a rolled-back transaction or savepoint,
        # so a bump still among them is one that will run.
        transaction.on_commit(bump, using=db.alias)
    return result


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _track_writes not in connection.execute_wrappers:
        connection.execute_wrappers.append(_track_writes)


def install() -> None:
    connection_created.connect(_install, dispatch_uid="orderfactory-cache")


# --- the cache --------------------------------------------------------------------------------------------


def _versions(key: tuple[str, str]) -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT version FROM {VERSION_TABLE} WHERE organization_id = %s AND mode = %s", list(key)
        )
        row = cursor.fetchone()
    return (row[0] if row else 0, _local_generation.get(key, 0))


def lookup(cache_key: tuple[Any, ...], tenant: tuple[str, str]) -> tuple[tuple[int, int], bytes | None]:
    versions = _versions(tenant)
    with _lock:
        entry = _entries.get(cache_key)
        if entry is not None and entry[0] == versions:
            _entries.move_to_end(cache_key)
            return versions, entry[1]
    return versions, None


def store(cache_key: tuple[Any, ...], versions: tuple[int, int], body: bytes) -> None:
    if len(body) > MAX_BODY:
        return
    with _lock:
        _entries[cache_key] = (versions, body)
        _entries.move_to_end(cache_key)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def clear() -> None:
    with _lock:
        _entries.clear()
        _counts.clear()
        _local_generation.clear()


# --- counts -----------------------------------------------------------------------------------------------

# Counts of at least this many rows are kept; below it, counting again (at most this many rows, through the
# list's own index) costs less than reading the version row. Figures: docs/decisions.md, "Scale".
COUNT_CACHED_FROM = 1000
_counts: OrderedDict[tuple[Any, ...], tuple[tuple[int, int], int]] = OrderedDict()


def count(key: tuple[Any, ...], ordered: models.QuerySet) -> int:
    """The number of rows of a list: ``ordered`` is its queryset in list order, ``key`` what else names the
    list (its path and filters). A count of at least COUNT_CACHED_FROM rows is kept, per caller and key, until
    a write of the caller's organization and mode; smaller lists are counted each time, up to that many rows in
    list order (so that even a generic plan walks the tenant's index, not the table)."""
    if not enabled():
        return ordered.count()
    current = scopes.current()
    tenant = (current.organization_id, current.mode)
    # A resource's queryset may narrow by the caller's application or markets: each gets its own count.
    cache_key = (tenant, current.application_id, current.market_ids, *key)
    with _lock:
        entry = _counts.get(cache_key)
    if entry is None:
        bounded = ordered[:COUNT_CACHED_FROM].count()
        if bounded < COUNT_CACHED_FROM:
            return bounded
    versions = _versions(tenant)
    if entry is not None and entry[0] == versions:
        return entry[1]
    counted = ordered.count()
    with _lock:
        if counted < COUNT_CACHED_FROM:
            _counts.pop(cache_key, None)
        else:
            _counts[cache_key] = (versions, counted)
            _counts.move_to_end(cache_key)
            while len(_counts) > MAX_ENTRIES:
                _counts.popitem(last=False)
    return counted
