"""What the service asks of each database. SQLite (the embedded engine): the write transactions of one process
queue on one lock, handed over the moment it is free, instead of polling in SQLite's busy handler.
PostgreSQL: statements a connection repeats are prepared, and timestamps are read by psycopg's C loader."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import OperationalError, connection, connections, transaction

from orderfactory.core.models import CacheVersion

sqlite_only = pytest.mark.skipif(connection.vendor != "sqlite", reason="the embedded engine is SQLite's")
pytestmark = pytest.mark.django_db(transaction=True)


def _in_thread(fn, *args):
    """Run fn in a thread with its own connection; returns (thread, outcome dict)."""
    outcome: dict[str, object] = {}

    def target() -> None:
        try:
            outcome["value"] = fn(*args)
        except Exception as exc:  # reported to the test
            outcome["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcome


@sqlite_only
def test_a_write_transaction_holds_the_lock_until_it_commits_or_rolls_back():
    assert not connection.write_lock.locked()
    with transaction.atomic():
        CacheVersion.objects.create(organization_id="org1", mode="test")
        assert connection.holds_write_lock and connection.write_lock.locked()
    assert not connection.holds_write_lock and not connection.write_lock.locked()
    with pytest.raises(RuntimeError), transaction.atomic():
        CacheVersion.objects.create(organization_id="org2", mode="test")
        raise RuntimeError("undo")
    assert not connection.write_lock.locked()
    assert list(CacheVersion.objects.values_list("organization_id", flat=True)) == ["org1"]


@sqlite_only
@pytest.mark.parametrize("in_transaction", [True, False], ids=["transaction", "autocommit"])
def test_a_second_writer_queues_on_the_lock_not_in_sqlite_then_writes(in_transaction, monkeypatch):
    from orderfactory.core.sqlite_engine.base import DatabaseWrapper

    holding, release = threading.Event(), threading.Event()
    queued, got_it = threading.Event(), threading.Event()
    real_acquire = DatabaseWrapper.acquire_write_lock

    def acquire(self: DatabaseWrapper) -> None:
        if threading.current_thread().name == "second":
            queued.set()
            real_acquire(self)
            got_it.set()
        else:
            real_acquire(self)

    monkeypatch.setattr(DatabaseWrapper, "acquire_write_lock", acquire)

    def first() -> None:
        with transaction.atomic():
            CacheVersion.objects.create(organization_id="first", mode="test")
            holding.set()
            release.wait(10)

    def second() -> str:
        threading.current_thread().name = "second"
        if in_transaction:
            with transaction.atomic():
                CacheVersion.objects.create(organization_id="second", mode="test")
        else:
            CacheVersion.objects.create(organization_id="second", mode="test")
        return "written"

    one, _ = _in_thread(first)
    assert holding.wait(10)
    two, outcome = _in_thread(second)
    assert queued.wait(10), "the second writer did not ask for the process lock"
    # Held back by the process lock, before reaching SQLite: nothing of it is written yet.
    assert not got_it.wait(0.3) and not outcome
    release.set()
    one.join(10)
    two.join(10)
    assert got_it.is_set() and outcome == {"value": "written"}
    assert sorted(CacheVersion.objects.values_list("organization_id", flat=True)) == ["first", "second"]


@sqlite_only
def test_a_writer_that_waits_past_the_timeout_gets_database_is_locked(monkeypatch):
    from orderfactory.core.sqlite_engine.base import DatabaseWrapper

    monkeypatch.setattr(DatabaseWrapper, "lock_timeout", 0.2)
    holding, release = threading.Event(), threading.Event()

    def first() -> None:
        with transaction.atomic():
            holding.set()
            release.wait(10)

    def second() -> None:
        with transaction.atomic():
            CacheVersion.objects.create(organization_id="late", mode="test")

    one, _ = _in_thread(first)
    assert holding.wait(10)
    two, outcome = _in_thread(second)
    two.join(10)
    release.set()
    one.join(10)
    assert isinstance(outcome.get("error"), OperationalError) and "locked" in str(outcome["error"])
    assert not CacheVersion.objects.filter(organization_id="late").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_postgresql_prepares_the_statements_a_connection_repeats():
    for _ in range(3):
        list(CacheVersion.objects.filter(organization_id="prepared", mode="test"))
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ['SELECT "core_cacheversion"."id"%'],
        )
        (prepared,) = cursor.fetchone()
    assert prepared >= 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the timestamp loader is PostgreSQL's")
def test_postgresql_reads_timestamps_in_c_and_in_utc():
    from psycopg.pq import Format

    from orderfactory.auth.models import Organization
    from orderfactory.events.models import Event

    connection.ensure_connection()
    loader = connection.connection.adapters.get_loader(1184, Format.TEXT)  # timestamptz
    instance = loader(1184, connection.connection)
    built = getattr(instance, "_load", instance.load).__self__  # the loader that parses
    assert type(built).__module__.split(".")[0] in ("psycopg_binary", "psycopg_c")
    written = dt.datetime(2026, 3, 29, 3, 30, 15, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::timestamptz, now()", [written])
        read, now = cursor.fetchone()
    assert read == written and read.tzinfo is dt.UTC and now.tzinfo is dt.UTC
    organization = Organization.objects.create(name="Clock", slug="clock")
    event = Event.unscoped.create(
        organization=organization,
        mode="test",
        name="x.y",
        resource_type="x",
        resource_id="y",
        created_at=written,
    )
    assert Event.unscoped.get(pk=event.pk).created_at == written
    assert Event.unscoped.values_list("created_at", flat=True).get(pk=event.pk).tzinfo is dt.UTC


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the health check shortcut is PostgreSQL's")
def test_postgresql_checks_the_health_only_of_connections_idle_for_a_while(monkeypatch):
    from orderfactory.core.postgresql_engine import base

    db = connections["default"]
    assert db.health_check_enabled
    checks = []
    original = type(db).is_usable
    monkeypatch.setattr(type(db), "is_usable", lambda self: checks.append(1) or original(self))

    def a_request():  # as Django's request_started and the task worker's loop do
        db.close_if_unusable_or_obsolete()
        list(CacheVersion.objects.filter(organization_id="health"))

    a_request()
    a_request()
    assert checks == []  # it answered a moment ago
    db.answered_at -= base.RECENTLY_ALIVE
    a_request()
    assert checks == [1]  # idle past the second: SELECT 1 first
    db.errors_occurred = True
    db.close_if_unusable_or_obsolete()  # after an error Django checks, however recent
    assert checks == [1, 1]


def _synchronous_of_a_new_process(tmp_path, **environment: str) -> str:
    """PRAGMA synchronous as a process configured by ``environment`` reads it on its own SQLite file."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORDERFACTORY_")}
    env.update(ORDERFACTORY_DATA_DIR=str(tmp_path), PYTHONPATH=str(root / "src"), **environment)
    env["DJANGO_SETTINGS_MODULE"] = "orderfactory.settings"
    code = (
        "import django; django.setup(); from django.db import connection; "
        "cursor = connection.cursor(); cursor.execute('PRAGMA synchronous'); print(cursor.fetchone()[0])"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_sqlite_syncs_every_commit_unless_configured_not_to(tmp_path):
    """synchronous=FULL (2): a power cut loses no committed order; NORMAL (1) only when configured
    (docs/decisions.md, "SQLite durability")."""
    if connection.vendor == "sqlite":  # this run's own connections
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2
    assert _synchronous_of_a_new_process(tmp_path / "default") == "2"
    assert _synchronous_of_a_new_process(tmp_path / "normal", ORDERFACTORY_SQLITE_SYNCHRONOUS="normal") == "1"
    assert _synchronous_of_a_new_process(tmp_path / "full", ORDERFACTORY_SQLITE_SYNCHRONOUS="FULL") == "2"
