"""What a lone copy's job waits for between its take and its end (docs/decisions.md, "A lone copy's latency"):
on PostgreSQL its claim and its copy are pipelined (core.database.pipelined), so their writes wait for no
answer, and the claim's response cache bump waits for the copy's, one per job."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.factories.conftest import copied, copy, run_job

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRESQL = connection.vendor == "postgresql"


def _job_statements(factory_id: str) -> list[tuple[str, bool]]:
    """Each statement the job ran: (its SQL, whether it was sent pipelined)."""
    ran: list[tuple[str, bool]] = []

    def note(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        ran.append((sql, getattr(context["connection"], "pipeline", None) is not None))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        assert run_job(factory_id) == "completed"
    return ran


def _awaited(ran: list[tuple[str, bool]]) -> list[str]:
    """The statements whose answer the job waited for: those not pipelined, and the reads of those that were
    (a pipelined write travels with the next read, or with the commit)."""
    return [
        sql
        for sql, pipelined in ran
        if not pipelined or (sql.lstrip().upper().startswith("SELECT") and "set_config" not in sql)
    ]


@pytest.mark.skipif(not POSTGRESQL, reason="pipelines are psycopg's (PostgreSQL)")
def test_a_copys_writes_wait_for_no_answer(api, placed_order):
    factory_id = copy(api, placed_order["id"]).data["id"]
    ran = _job_statements(factory_id)
    writes = [sql for sql, pipelined in ran if pipelined and not sql.lstrip().upper().startswith("SELECT")]
    # the claim: its UPDATE, trail and event; the copy: addresses, shipment, lines, order, the factory's
    # ending, trail and event
    assert [sql.split(" (")[0].split(" SET ")[0] for sql in writes] == [
        'UPDATE "factories_orderfactory"',
        'INSERT INTO "events_eventstore"',
        'INSERT INTO "events_event"',
        'INSERT INTO "addresses_address"',
        'INSERT INTO "orders_shipment"',
        'INSERT INTO "orders_lineitem"',
        'INSERT INTO "orders_order"',
        'UPDATE "factories_orderfactory"',
        'INSERT INTO "events_eventstore"',
        'INSERT INTO "events_event"',
    ], writes
    # Pinned: 21 statements, 10 of them answered before the job went on (BEGIN and COMMIT aside): the claim's
    # lock and webhook lookup, the copy's six reads and webhook lookup, and the one version bump. Before: 22
    # (the claim bumped too), each answered before the next was sent.
    assert (len(ran), len(_awaited(ran))) == (21, 10), "\n".join(f"{p} {sql[:70]}" for sql, p in ran)
    _, target = copied(api, factory_id)
    assert target is not None and len(target["relationships"]) > 0


def test_a_copy_bumps_the_response_cache_version_once(api, placed_order):
    """PostgreSQL bumps after each commit: the claim's bump waits for the copy's (one bump, was two). SQLite
    bumps inside each transaction, before its commit, as before."""
    factory_id = copy(api, placed_order["id"]).data["id"]
    bumps = [sql for sql, _ in _job_statements(factory_id) if "SET version = version + 1" in sql]
    assert len(bumps) == (1 if POSTGRESQL else 2), bumps


def test_placing_bumps_as_it_commits(api, source):
    """Only the claim and the copy share a bump: placing, which may wait seconds on a gateway, bumps after
    its own commits, so other processes stop serving older documents as soon as it commits."""
    factory_id = copy(api, source["id"], attributes={"place_target_order": True}).data["id"]
    statements = [sql for sql, _ in _job_statements(factory_id)]
    written = max(i for i, sql in enumerate(statements) if sql.startswith('INSERT INTO "orders_order"'))
    placing = next(
        i for i, sql in enumerate(statements) if i > written and sql.startswith('UPDATE "orders_order"')
    )
    bumps = [i for i, sql in enumerate(statements) if "SET version = version + 1" in sql]
    assert any(written < bump < placing for bump in bumps) and bumps[-1] > placing, statements
    if POSTGRESQL:  # the claim's bump went with the copy's
        assert written < bumps[0], statements
