"""Order copy batches (an extension, docs/compatibility.md): many ``order_copies`` made and followed as one.

A batch is written ``pending`` with its sources resolved (``sources``: the given ids, or the orders its filter
matched) and its expansion job queued after the commit. The job turns the sources into ``order_copies`` a
chunk at a time, each chunk one transaction holding the batch's row lock: the chunk's copies and their jobs
are written set-wise and the cursor (``expanded_count``) moves past them in the same commit, so a job that
dies mid-chunk leaves nothing of it and the next one resumes at the cursor; a unique constraint keeps one
copy per source and batch whatever happens. The copies run in groups (factories/groups.py: a group's copies
claimed, built and written together, in one transaction), or one by one as any copy (factories.services)
when their options call out of the database (placing the target, cancelling the source); each one's ending
counts here in its ending transaction (exactly once: a copy ends once); the last one ends the batch
(``order_copy_batches.complete`` or ``.fail``). ``_cancel`` aborts the copies not yet claimed (one UPDATE;
the batch's job records their endings after the commit), and the sources not yet expanded are never made.
"""

from __future__ import annotations

import contextvars
import datetime as dt
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.db.models import F

from orderfactory import config, queue
from orderfactory.core import clock, hooks, locks
from orderfactory.core import scope as scopes
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem
from orderfactory.factories import failures
from orderfactory.factories.models import (
    BATCH_FINAL,
    COPY_OPTIONS,
    ENDINGS,
    FINAL,
    MAX_BATCH_SOURCES,
    OrderCopyBatch,
    OrderFactory,
)
from orderfactory.factories.services import LEASE, worker_scope
from orderfactory.orders.models import Order

TYPE = "order_copy_batches"
CHUNK = config.integer("ORDERFACTORY_BATCH_CHUNK", 500, minimum=1)
# The copies of one group job (factories/groups.py).
GROUP = config.integer("ORDERFACTORY_BATCH_GROUP", 100, minimum=1)
# Options whose copies run one by one: placing the target (a payment gateway may be called, and placing
# manages its own transactions) and cancelling the source (its payments voided) happen after the copy's
# transaction, as services._execute orders them (docs/decisions.md, "Copies in groups").
ALONE = ("place_target_order", "cancel_source_order")


# --- creation (inside the request's transaction) ----------------------------------------------------------


def create_batch(columns: dict[str, Any], sources: list[str]) -> OrderCopyBatch:
    """Write the batch ``pending`` with ``sources`` (ids of orders the caller sees, resolved by the resource:
    the given ids, or the orders its filter matches) and queue its expansion after the commit."""
    given = columns.get("source_order_ids")
    if (given is None) == (columns.get("orders_filter") is None):
        raise DomainError.of(
            CommonErrorCode.INVALID, "source_order_ids", "give either source_order_ids or orders_filter"
        )
    if len(sources) > MAX_BATCH_SOURCES:
        attribute = "source_order_ids" if given is not None else "orders_filter"
        raise DomainError.of(
            CommonErrorCode.TOO_LONG,
            attribute,
            f"names more than {MAX_BATCH_SOURCES} orders",
            meta={"count": len(sources)} if given is None else None,
        )
    batch = OrderCopyBatch(**columns)
    batch.sources = sources
    batch.total_count = len(sources)
    batch.lease_expires_at = clock.now() + LEASE
    batch.save()
    queue.enqueue_order_copy_batch(batch.pk)
    return batch


def source_problems(given: Any) -> list[Problem]:
    """What is wrong with the shape of the ids a client gave."""
    if not given:
        return [Problem(CommonErrorCode.BLANK, "source_order_ids", "can't be blank")]
    if not isinstance(given, list) or not all(isinstance(i, str) and i for i in given):
        return [Problem(CommonErrorCode.INVALID, "source_order_ids", "must be a list of order ids")]
    if len(given) > MAX_BATCH_SOURCES:
        return [
            Problem(
                CommonErrorCode.TOO_LONG, "source_order_ids", f"names more than {MAX_BATCH_SOURCES} orders"
            )
        ]
    return []


def unknown_sources(wanted: list[str], visible: set[str]) -> list[Problem]:
    """The given ids that are not orders the caller sees (another organization's, another mode's, none)."""
    unknown = [i for i in wanted if i not in visible]
    if not unknown:
        return []
    shown = ", ".join(unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
    return [Problem(CommonErrorCode.NOT_FOUND, "source_order_ids", f"are not orders: {shown}")]


# --- the expansion job ------------------------------------------------------------------------------------


def expand(batch_id: str) -> int:
    """The job: make the batch's copies, a chunk per transaction, from its cursor on. Returns how many copies
    this run made (0 for a duplicate delivery, or a batch cancelled or gone)."""
    head = OrderCopyBatch.unscoped.filter(pk=batch_id).values_list("organization_id", "mode").first()
    if head is None:
        return 0
    made = 0
    with scopes.active(worker_scope(*head)):
        while True:
            chunk = _expand_chunk(batch_id)
            if chunk is None:
                return made
            made += chunk


def _expand_chunk(batch_id: str) -> int | None:
    """One chunk in one transaction: the number of copies made, or None when nothing is left to expand."""
    now = clock.now()
    with transaction.atomic():
        batch = locks.lock_one(OrderCopyBatch.objects, batch_id)
        if batch is not None and batch.status == "cancelled" and batch.lease_expires_at is not None:
            _record_cancelled(batch)
            return None
        if batch is None or batch.status in BATCH_FINAL:
            return None
        if batch.expanded_count >= batch.total_count:
            batch.lease_expires_at = None
            batch.save(update_fields=["lease_expires_at", "updated_at"])
            _finish_if_done(batch)
            return None
        if batch.status == "pending":
            with hooks.recording(TYPE, batch):
                batch.status, batch.started_at = "in_progress", now
                batch.save(update_fields=["status", "started_at", "updated_at"])
        chunk = batch.sources[batch.expanded_count : batch.expanded_count + CHUNK]
        existing = set(Order.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        options = {name: getattr(batch, name) for name in COPY_OPTIONS}
        copies = [
            OrderFactory(
                type="order_copies",
                source_order_id=source_id,
                order_copy_batch_id=batch.pk,
                lease_expires_at=now + LEASE,
                **options,
            )
            for source_id in chunk
            if source_id in existing
        ]
        with hooks.batched():
            OrderFactory.objects.bulk_create(copies)
            for copy in copies:
                hooks.on_write("create", "order_copies", copy, None)
        enqueue_copies(batch, [copy.pk for copy in copies])
        # A source deleted since the batch was made is not copied: it counts as aborted.
        OrderCopyBatch.objects.filter(pk=batch.pk).update(
            expanded_count=F("expanded_count") + len(chunk),
            aborted_count=F("aborted_count") + (len(chunk) - len(copies)),
            lease_expires_at=now + LEASE,
            updated_at=now,
        )
        return len(copies)


def enqueue_copies(batch: OrderCopyBatch, factory_ids: list[str]) -> None:
    """The jobs of these copies of ``batch``: one per GROUP copies, or one per copy when its options call out
    of the database (ALONE)."""
    if any(getattr(batch, name) for name in ALONE):
        queue.enqueue_order_factories(factory_ids)
    else:
        queue.enqueue_order_copy_groups(
            [factory_ids[start : start + GROUP] for start in range(0, len(factory_ids), GROUP)]
        )


# --- counting the copies' endings -------------------------------------------------------------------------

COUNTERS = {f"order_copies.{name}": f"{status}_count" for name, status in ENDINGS.items()}


@hooks.register_event
def _on_event(name: str, resource_type: str, instance: Any) -> None:
    """A copy ended (in its ending transaction): count it in its batch, and end the batch with its last copy."""
    counter = COUNTERS.get(name)
    batch_id = getattr(instance, "order_copy_batch_id", None) if counter else None
    if counter is None or batch_id is None or batch_id == _counted_here.get():
        return
    tallies = _tallies.get()
    if tallies is not None:
        tallies.setdefault(batch_id, Counter())[counter] += 1
        return
    # The UPDATE takes the batch's row lock until the copy's transaction commits: endings count one at a time.
    _count(batch_id, {counter: 1})


# The batch whose copies' endings its ``_cancel`` counts itself, while it ends them.
_counted_here: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "orderfactory_counted_here", default=None
)


_tallies: contextvars.ContextVar[dict[str, Counter[str]] | None] = contextvars.ContextVar(
    "orderfactory_batch_tallies", default=None
)


@contextmanager
def counting() -> Iterator[None]:
    """Inside, the endings of copies are tallied, and counted in their batches when the block ends without an
    error (one UPDATE per batch: a group of copies ends in one transaction, factories/groups.py)."""
    tallies: dict[str, Counter[str]] = {}
    token = _tallies.set(tallies)
    try:
        yield
    finally:
        _tallies.reset(token)
    for batch_id in sorted(tallies):  # batch rows locked in primary-key order
        _count(batch_id, tallies[batch_id])


def _count(batch_id: str, counters: dict[str, int]) -> None:
    OrderCopyBatch.objects.filter(pk=batch_id).update(**{name: F(name) + n for name, n in counters.items()})
    # Without its sources: a batch's 10,000 ids are not read again for each of its copies.
    batch = locks.lock_one(OrderCopyBatch.objects.defer(*UNREAD), batch_id)
    if batch is not None:
        _finish_if_done(batch)


UNREAD = ("sources", "source_order_ids", "orders_filter")


def copy_deleted(factory: OrderFactory) -> None:
    """A copy of a batch is deleted before it ended (inside the DELETE's transaction): it counts as aborted,
    or its batch would wait for it forever."""
    if factory.order_copy_batch_id is not None and factory.status not in FINAL:
        _count(factory.order_copy_batch_id, {"aborted_count": 1})


def _finish_if_done(batch: OrderCopyBatch) -> None:
    """End the batch (locked by the caller) when every source is expanded and every copy ended: completed when
    every source was copied, else failed; fires ``order_copy_batches.complete`` or ``.fail``."""
    ended = batch.completed_count + batch.failed_count + batch.aborted_count
    if batch.status in BATCH_FINAL or min(batch.expanded_count, ended) < batch.total_count:
        return
    now = clock.now()
    status = "completed" if batch.completed_count == batch.total_count else "failed"
    with hooks.batched():
        with hooks.recording(TYPE, batch):
            batch.status, batch.completed_at, batch.lease_expires_at = status, now, None
            batch.started_at = batch.started_at or now
            batch.save(
                update_fields=["status", "started_at", "completed_at", "lease_expires_at", "updated_at"]
            )
        hooks.event(f"{TYPE}.{'complete' if status == 'completed' else 'fail'}", TYPE, batch)


# --- cancelling -------------------------------------------------------------------------------------------


def cancel(batch: OrderCopyBatch) -> OrderCopyBatch:
    """``_cancel`` (inside the request's transaction, the batch locked): the copies not yet claimed end
    aborted, the sources not yet expanded are never copied (both count as aborted), and the copies already
    running finish and count as they end. What the aborted copies' endings record (their trail, their
    ``order_copies.abort`` and its webhooks' payloads) is written by the batch's job after the commit
    (``_record_cancelled``): the request costs the same statements whatever the number of copies."""
    if batch.status in BATCH_FINAL:
        raise DomainError.of(
            CommonErrorCode.TRANSITION,
            "status",
            f"is {batch.status}: only a pending or running batch can be cancelled",
        )
    now = clock.now()
    # Claims lock a copy before moving it out of pending: one claimed meanwhile is no longer pending here.
    waiting = OrderFactory.objects.filter(order_copy_batch_id=batch.pk, status="pending")
    pending = list(locks.for_update(waiting).values_list("pk", flat=True))
    waiting.update(**_cancelled_ending(now))  # the rows just locked: none can leave pending meanwhile
    never_made = batch.total_count - batch.expanded_count
    batch.status = "cancelled"
    batch.completed_at = now
    # The lease, until the job has recorded the endings: the sweep queues it again should it be lost.
    batch.lease_expires_at = now + LEASE if pending else None
    batch.aborted_count += len(pending) + never_made
    batch.save(update_fields=["status", "completed_at", "lease_expires_at", "aborted_count", "updated_at"])
    if pending:
        queue.enqueue_order_copy_batch(batch.pk)
    return batch


def _cancelled_ending(now: dt.datetime) -> dict[str, Any]:
    why = {"order_copy_batch": ["was cancelled"]}
    return {
        "status": "aborted",
        "failed_at": now,
        "lease_expires_at": None,
        "errors_log": why,
        "errors_count": 1,
        "errors_details": failures.details(why, failures.ABORT_CODES),
        "updated_at": now,
    }


# A copy the cancel aborted, before it: pending and never claimed, so with none of an ending's columns set.
_NEVER_STARTED: dict[str, Any] = {
    "status": "pending",
    "failed_at": None,
    "errors_log": {},
    "errors_count": 0,
    "errors_details": [],
}


def _record_cancelled(batch: OrderCopyBatch) -> None:
    """The batch's job after its ``_cancel`` (the batch locked, its lease still set: once): each copy the cancel
    aborted ends as an aborted copy ends (factories.services._end), its trail row (``status`` pending ->
    aborted, ``order_copies.update``) and its ``order_copies.abort`` with a delivery to each webhook on that
    topic, written set-wise. Counted by the cancel already, not again by their events. Those copies are the
    batch's aborted ones that were never claimed (a claim sets ``started_at``; a copy claimed and aborted by
    its own job recorded its ending itself), aborted at the cancel's instant."""
    copies = OrderFactory.objects.filter(
        order_copy_batch_id=batch.pk, status="aborted", started_at__isnull=True, failed_at=batch.completed_at
    ).order_by("pk")
    token = _counted_here.set(batch.pk)
    try:
        with hooks.batched():
            for copy in copies:
                hooks.on_write("update", "order_copies", copy, {**hooks.snapshot(copy), **_NEVER_STARTED})
                hooks.event("order_copies.abort", "order_copies", copy)
    finally:
        _counted_here.reset(token)
    batch.lease_expires_at = None
    batch.save(update_fields=["lease_expires_at", "updated_at"])


# --- the sweep --------------------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None) -> int:
    """Queue again the expansion of the batches whose job was lost (its worker died, or the process died
    between the commit and the enqueue): their lease passed with sources left to expand, or, cancelled, with
    their aborted copies' endings left to record. A duplicate job is harmless: chunks take the batch's row
    lock and move its cursor, and the recording clears the lease. Runs with the factories' sweep."""
    now = now or clock.now()
    stale = list(
        OrderCopyBatch.unscoped.filter(
            status__in=("pending", "in_progress", "cancelled"), lease_expires_at__lt=now
        ).values_list("pk", "organization_id", "mode")
    )
    for pk, organization_id, mode in stale:
        with scopes.active(worker_scope(organization_id, mode)), transaction.atomic():
            OrderCopyBatch.objects.filter(pk=pk).update(lease_expires_at=now + LEASE)
            queue.enqueue_order_copy_batch(pk)
    return len(stale) + _sweep_copies(now)


def _sweep_copies(now: dt.datetime) -> int:
    """Queue again the batches' pending copies whose job was lost (a group's worker died: its claim rolled
    back with its writes), as their batch queued them, unless their job still waits in the queue (a backlog
    longer than their lease), which only renews their lease. Returns how many were queued again."""
    stale: dict[tuple[str, str, str], list[str]] = {}
    for pk, batch_id, organization_id, mode in OrderFactory.unscoped.filter(
        status="pending", lease_expires_at__lt=now, order_copy_batch__isnull=False
    ).values_list("pk", "order_copy_batch_id", "organization_id", "mode"):
        stale.setdefault((batch_id, organization_id, mode), []).append(pk)
    if not stale:
        return 0
    waiting = queue.queued_order_copy_groups() | queue.queued_order_factories(
        [pk for ids in stale.values() for pk in ids]
    )
    requeued = 0
    for (batch_id, organization_id, mode), ids in stale.items():
        with scopes.active(worker_scope(organization_id, mode)), transaction.atomic():
            batch = OrderCopyBatch.objects.defer(*UNREAD).filter(pk=batch_id).first()
            lapsed = sorted(
                OrderFactory.objects.filter(
                    pk__in=ids, status="pending", lease_expires_at__lt=now
                ).values_list("pk", flat=True)
            )
            OrderFactory.objects.filter(pk__in=lapsed).update(lease_expires_at=now + LEASE)
            lost = [pk for pk in lapsed if pk not in waiting]
            if batch is not None and lost:
                enqueue_copies(batch, lost)
                requeued += len(lost)
    return requeued


__all__ = [
    "COPY_OPTIONS",
    "cancel",
    "copy_deleted",
    "counting",
    "create_batch",
    "enqueue_copies",
    "expand",
    "sweep",
]
