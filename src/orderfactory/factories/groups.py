"""The copies of an order copy batch, a group at a time (issue 16, "copies at the speed of SQL").

A group job names up to ``batches.GROUP`` copies of one batch. In one transaction it claims those still
pending (``SKIP LOCKED``: a copy another worker holds is left to it), reads their sources set-wise (the
sources with their claim, then their lines, chosen shipping methods, line item options and wallet entries in
one query each: ``loading.read_ahead``), builds each target with the single copy's own ``build_target`` (its
checks, its policies, its pricing), ends each copy as a single copy ends (``services._complete``,
``services._end``: the same columns, audit trail and events), and writes it all at the end: the copies' rows
held back (``core.writes.held``) go out as one INSERT per table and one UPDATE of the copies, the batch's
counts as one UPDATE (``batches.counting``). The claim commits with the targets, so a worker that dies leaves
its copies pending and nothing of them written; the batch's sweep queues them again.

A copy refused by its checks fails with its own errors and the others go on: its rows were only held, and are
dropped. When the group cannot end that way (a write refused at the end, a copy that wrote something directly
instead of holding it), the transaction rolls back whole and each copy runs alone (``services.run``), so one bad copy never
fails its neighbours. A copy whose target is taxed by an external calculator (a network call, made with no
transaction open) runs alone after the group.
"""

from __future__ import annotations

import gc
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connection, transaction

from orderfactory import queue
from orderfactory.core import clock, database, hooks, prepared, writes
from orderfactory.core import scope as scopes
from orderfactory.core.errors import DomainError
from orderfactory.customers.services import read_wallet_entries_ahead
from orderfactory.factories import batches, failures, loading, services
from orderfactory.factories.building import build_target
from orderfactory.factories.models import OrderCopyBatch, OrderFactory

log = logging.getLogger("orderfactory.factories")

CLAIMED = ["status", "started_at", "claimed_by", "lease_expires_at", "attempts", "updated_at"]


class _NotIsolated(Exception):
    """A copy wrote something directly, which held writes could neither order with the group's rows nor take
    back: the group rolls back and its copies run alone."""


def run(factory_ids: list[str], head: tuple[str, str] | None = None) -> int:
    """The job: copies the group's pending copies; returns how many it ended in the group (the others ran
    alone or were another job's). ``head``: the copies' organization and mode, when the caller knows them. A
    database that goes away meanwhile is waited for, and the group runs again from what was committed."""
    token = uuid.uuid4().hex
    return database.outlasting(
        lambda: _run(factory_ids, token, head), patience=queue.OUTAGE_PATIENCE, what="a group of order copies"
    )


def run_singles(factory_ids: list[str]) -> dict[str, Exception]:
    """Single copies whose jobs a worker took together (worker._worker_class): those the group path makes as
    services.run would make them (``_together``) are made in groups, one per organization and mode (a group
    runs in one scope), the others alone, each as its own job. Returns the copies whose run raised, with what
    it raised (their jobs fail as a job alone fails); a group that raises fails the jobs of its copies."""
    tenants: dict[tuple[str, str], list[str]] = {}
    for pk, organization_id, mode, *options in (
        OrderFactory.unscoped.filter(pk__in=factory_ids, status="pending")
        .order_by("pk")
        .values_list("pk", "organization_id", "mode", "type", "preview_id", *batches.ALONE)
    ):
        if _together(*options):
            tenants.setdefault((organization_id, mode), []).append(pk)
    failed: dict[str, Exception] = {}
    grouped: set[str] = set()
    for head, ids in tenants.items():
        if len(ids) < 2:
            continue  # a group of one costs what the copy alone costs
        grouped.update(ids)
        try:
            run(ids, head)
        except Exception as exc:
            failed.update(dict.fromkeys(ids, exc))
    for factory_id in factory_ids:
        if factory_id not in grouped:
            try:
                services.run(factory_id)
            except Exception as exc:
                failed[factory_id] = exc
    return failed


def _together(kind: str, preview_id: str | None, *alone: bool) -> bool:
    """Whether the group path makes this single copy as services.run makes it: an order copy (a recurring
    one's run bookkeeping and placing are the single path's), made from no preview (whose facts only the
    single path checks), with no option that calls out of the database after its transaction (batches.ALONE);
    one taxed by an external calculator is sent alone by the group itself."""
    return kind == "order_copies" and preview_id is None and not any(alone)


def _run(factory_ids: list[str], token: str, head: tuple[str, str] | None = None) -> int:
    if head is None:
        head = OrderFactory.unscoped.filter(pk__in=factory_ids).values_list("organization_id", "mode").first()
    if head is None:
        return 0
    with scopes.active(services.worker_scope(*head)):
        try:
            ended, alone = _copy_group(factory_ids, token)
        except Exception as exc:
            if isinstance(exc, DatabaseError) and database.unavailable(exc):
                raise
            log.warning("a group of %d order copies: %r; each runs alone", len(factory_ids), exc)
            ended, alone = 0, factory_ids
        for factory_id in alone:
            services.run(factory_id)
    return ended


def _copy_group(factory_ids: list[str], token: str) -> tuple[int, list[str]]:
    """The group's transaction: (how many copies it ended, the ids of those that run alone after it)."""
    now = clock.now()
    with _no_cycle_collection(), transaction.atomic():
        factories = loading.claim_group(factory_ids)
        alone = [f.pk for f in factories if services._taxed_outside(f)]
        factories = [f for f in factories if f.pk not in alone]
        if not factories:
            return 0, alone
        # The claims written first (one UPDATE) and their ``.start`` events rendered then: a webhook's payload
        # shows the copy ``in_progress``, as a copy claimed alone shows it, not as the group leaves it.
        with hooks.batched(), writes.held():
            for factory in factories:
                _claim(factory, token, now)
        with (
            hooks.batched(),  # its events render their webhooks' payloads once the held rows are written
            writes.held() as held,
            batches.counting(),
            prepared.ahead(),
        ):
            loading.read_ahead(factories)
            read_wallet_entries_ahead(
                [
                    (f.source_order.payment_source_type, f.source_order.payment_source_id)
                    for f in factories
                    if f.reuse_wallet
                    and f.source_order is not None
                    and f.source_order.payment_source_type
                    and f.source_order.payment_source_id
                ]
            )
            cancelled = set(
                OrderCopyBatch.objects.filter(
                    pk__in={f.order_copy_batch_id for f in factories}, status="cancelled"
                ).values_list("pk", flat=True)
            )
            for factory in factories:
                reason = services._abort_reason(factory, factory.order_copy_batch_id in cancelled)
                if reason is not None:
                    services._end(factory, "aborted", reason, failures.ABORT_CODES)
                    continue
                _copy(factory, held)
    return len(factories), alone


def _claim(factory: OrderFactory, token: str, now: Any) -> None:
    """``pending -> in_progress``, as services._claim moves a single copy (held: written with the group's
    other claims)."""
    with hooks.recording(factory.type, factory):
        factory.status = "in_progress"
        factory.started_at = factory.started_at or now
        factory.claimed_by = token
        factory.lease_expires_at = now + services.LEASE
        factory.attempts += 1
        factory.save(update_fields=CLAIMED)
    if factory.attempts == 1:
        hooks.event(f"{factory.type}.start", factory.type, factory)


def _copy(factory: OrderFactory, held: writes.Held) -> None:
    """One copy of the group, as services._copy makes it: completed with its target, or failed with why."""
    mark = held.mark()
    notes = failures.Notes(facts=False)
    with _direct_writes() as wrote:
        try:
            target = build_target(factory, notes)
        except DomainError as exc:
            if wrote():
                raise _NotIsolated(factory.pk) from exc
            held.discard(mark)
            refusal, codes, lines = failures.reasons(exc)
            services._end(factory, "failed", refusal, codes, lines=lines)
            return
    if wrote():
        # A write that did not wait for the group's end may touch a row the group holds: run alone.
        raise _NotIsolated(factory.pk)
    before = hooks.snapshot(factory)
    factory.target_order = target
    factory.errors_log = dict(notes)
    factory.errors_count = failures.count(notes)
    services._complete(factory, {}, {}, before, lines=notes.lines)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The interpreter's cycle collector paused for the group: a group makes and keeps thousands of rows
    until its end, and each collection would walk them all again and again (reference counting still frees
    what is dropped; the collector runs again after). docs/decisions.md has the figures."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


@contextmanager
def _direct_writes() -> Iterator[Callable[[], bool]]:
    """Yields whether a statement other than a read ran inside (a write held writes did not take)."""
    seen: list[str] = []

    def watch(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if not sql.lstrip()[:6].upper().startswith("SELECT"):
            seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        yield lambda: bool(seen)


__all__ = ["run", "run_singles"]
