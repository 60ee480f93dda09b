"""Bookkeeping commits unsynced (core.database.unsynced): a worker's take of a job, a copy's claim and, on
PostgreSQL, the response cache's version bump commit without waiting for the disk; a copy's own transaction,
and every other, waits for it as configured."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orderfactory import cache
from orderfactory.core import database
from tests.conftest import job_taker
from tests.factories.conftest import copied, copy, run_job

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRESQL = connection.vendor == "postgresql"


def _unsynced_now() -> bool:
    """Whether the transaction this connection is in would commit without waiting for the disk."""
    with connection.cursor() as cursor:
        if POSTGRESQL:
            cursor.execute("SHOW synchronous_commit")
            return bool(cursor.fetchone()[0] == "off")
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0]) < connection.configured_synchronous  # type: ignore[attr-defined]


@pytest.fixture
def synced_by_default() -> None:
    if not POSTGRESQL and connection.settings_dict["OPTIONS"]["init_command"].find("synchronous=FULL") < 0:
        pytest.skip("this SQLite database is configured synchronous=NORMAL: nothing to leave unsynced")


def test_a_transaction_begun_inside_unsynced_commits_unsynced_and_the_next_one_synced(synced_by_default):
    with database.unsynced(), transaction.atomic():
        assert _unsynced_now()
        with transaction.atomic():  # a savepoint: part of the unsynced transaction
            assert _unsynced_now()
    with transaction.atomic():
        assert not _unsynced_now()
    with transaction.atomic(), database.unsynced():  # begun before: commits as configured
        assert not _unsynced_now()


def _transactions(statements: list[str]) -> list[tuple[bool, list[str]]]:
    """The committed transactions among ``statements``, in order: (unsynced, the statements inside)."""
    ended: list[tuple[bool, list[str]]] = []
    level_normal = False  # SQLite: the connection's PRAGMA synchronous, below the configured level
    inside: list[str] | None = None
    unsynced = False
    for sql in statements:
        if sql.startswith("PRAGMA synchronous = "):
            level_normal = int(sql.rsplit(" ", 1)[1]) < connection.configured_synchronous  # type: ignore[attr-defined]
        elif sql == "SELECT set_config('synchronous_commit', 'off', true)":
            unsynced = True  # PostgreSQL: a transaction begins with it
        elif sql.startswith("BEGIN"):
            inside, unsynced = [], unsynced or level_normal
        elif sql == "COMMIT" and inside is not None:
            ended.append((unsynced, inside))
            inside, unsynced = None, False
        elif inside is not None:
            inside.append(sql)
    return ended


def test_a_copys_claim_commits_unsynced_and_its_copy_synced(api, placed_order, synced_by_default):
    factory_id = copy(api, placed_order["id"]).data["id"]
    with CaptureQueriesContext(connection) as captured:
        assert run_job(factory_id) == "completed"
    committed = _transactions([q["sql"] for q in captured])
    claim = [u for u, sqls in committed if any("'in_progress'" in s for s in sqls if s.startswith("UPDATE"))]
    made = [u for u, sqls in committed if any(s.startswith('INSERT INTO "orders_order"') for s in sqls)]
    assert claim == [True] and made == [False], committed
    _, target = copied(api, factory_id)
    assert target is not None and target["attributes"]["status"] == "pending"


def test_the_take_of_a_job_commits_unsynced(api, placed_order, synced_by_default):
    copy(api, placed_order["id"])
    taker = job_taker()
    if POSTGRESQL:  # one statement: its own transaction, made unsynced by the statement itself
        with transaction.atomic():
            assert taker._take()
            assert _unsynced_now()
    else:
        with CaptureQueriesContext(connection) as captured:
            assert taker._take()
        statements = [q["sql"] for q in captured]
        assert statements[0] == "PRAGMA synchronous = 1" and statements[1].startswith("UPDATE"), statements
    with transaction.atomic():  # the next transaction, synced again
        assert not _unsynced_now()


@pytest.mark.skipif(not POSTGRESQL, reason="SQLite bumps inside the write's transaction, synced with it")
def test_the_cache_version_bump_after_a_commit_is_unsynced(api):
    with CaptureQueriesContext(connection) as captured:
        api.create("price_lists", {"name": "EUR", "currency_code": "EUR"})
    # (the first bump of a tenant also inserts its row, once, synced)
    bumps = [q["sql"] for q in captured if "SET version = version + 1" in q["sql"]]
    assert bumps and all("set_config('synchronous_commit', 'off', true)" in sql for sql in bumps), bumps
    with transaction.atomic():  # what that statement does to its own transaction
        with connection.cursor() as cursor:
            cursor.execute(cache._BUMP["postgresql"], [api.scope().organization_id, "test"])
        assert _unsynced_now()
