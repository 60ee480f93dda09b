"""Order copies: create the factory, and run it exactly once.

A factory is written ``pending`` in the request's transaction and its job is enqueued after the commit. A
worker claims it with a compare-and-set ``pending -> in_progress`` (a job that finds it in any other state does
nothing), builds the target order in one transaction, has it taxed by its market's external tax calculator
if it has one (a network call, as ``_update_taxes`` makes it, with no transaction open), places it if asked (placing manages its own
transactions: it may call a payment gateway), and completes or fails the factory in a last transaction that
also cancels the source when asked. The target is tied to its factory by a unique constraint, so a job run
twice, or by two workers at once, makes one target; a worker that dies leaves its claim to expire, and the
sweep hands the factory to another worker, which resumes from what was committed.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

from django.db import transaction

from orderfactory import cache, config, queue
from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.core import clock, database, hooks, locks
from orderfactory.core import scope as scopes
from orderfactory.core.errors import CommonErrorCode, DomainError, blank
from orderfactory.core.models import new_row
from orderfactory.factories import failures, loading, plan, previews
from orderfactory.factories.building import build_target, source_pointers
from orderfactory.factories.error_codes import FactoryErrorCode
from orderfactory.factories.models import COPY_OPTIONS, ENDINGS, FINAL, OrderCopyBatch, OrderFactory
from orderfactory.orders import services as orders
from orderfactory.orders.services import taxing

log = logging.getLogger("orderfactory.factories")

LEASE = dt.timedelta(seconds=config.number("ORDERFACTORY_FACTORY_LEASE_SECONDS", 300, minimum=1))
MAX_ATTEMPTS = config.integer("ORDERFACTORY_FACTORY_MAX_ATTEMPTS", 5, minimum=1)


class LostClaim(Exception):
    """Another worker owns the factory now (our lease expired and it was swept): stop without writing."""


def worker_scope(organization_id: str, mode: str) -> scopes.Scope:
    return scopes.worker(organization_id, mode, "order-factory-worker")


# --- creation (inside the request's transaction) ----------------------------------------------------------


def create_factory(kind: str, columns: dict[str, Any]) -> OrderFactory:
    """Write the factory ``pending`` and enqueue its job after the commit."""
    problems = []
    if not columns.get("source_order_id"):
        problems.append(blank("source_order", relationship=True))
    if kind == "recurring_order_copies" and not columns.get("order_subscription_id"):
        problems.append(blank("order_subscription", relationship=True))
    if problems:
        raise DomainError(problems)
    if columns.get("preview_id"):
        columns = previews.options_for_copy(columns)
    factory = new_row(OrderFactory, type=kind, **columns)
    if factory.place_target_order is None and kind == "recurring_order_copies":
        factory.place_target_order = True  # the documented default of subscription runs
    # Should the process die between the commit and the enqueue, the sweep re-queues the job once this passes.
    factory.lease_expires_at = clock.now() + LEASE
    factory.save()
    queue.enqueue_order_factory(factory.pk)
    return factory


# What a retry copies of the copy it retries: its source, subscription and options (not the client's own
# reference and metadata, which name the first copy).
RETRIED_COLUMNS = ("source_order_id", "order_subscription_id", *COPY_OPTIONS)


def retry(factory_id: str) -> OrderFactory:
    """A new copy of a failed or aborted one, with the same source, subscription and options, linked to it by
    ``retry_of``; once per copy. A subscription run's attempt is retried as the run's next attempt, unless
    the run succeeded or has an attempt running (plan.retry_attempt)."""
    with transaction.atomic():
        original = locks.lock_one(OrderFactory.objects, factory_id)
        if original is None:
            raise DomainError.of(CommonErrorCode.NOT_FOUND, "base", "")
        problem = None
        if original.status not in ("failed", "aborted"):
            problem = f"is {original.status}: only a failed or aborted copy can be retried"
        elif OrderFactory.objects.filter(retry_of=original).exists():
            problem = "was retried already"
        else:
            problem = plan.retry_problem(original)
        if problem is not None:
            raise DomainError.of(CommonErrorCode.TRANSITION, "status", problem)
        columns = {name: getattr(original, name) for name in RETRIED_COLUMNS}
        factory = create_factory(original.type, {**columns, "retry_of_id": original.pk})
        hooks.on_write("create", factory.type, factory, None)
        plan.retry_attempt(original, factory)
    return factory


# --- the job ----------------------------------------------------------------------------------------------


def run(factory_id: str) -> str | None:
    """The job: returns the final status, or None when there was nothing to do (a duplicate delivery). A
    database that goes away meanwhile is waited for, and the job goes on with the same claim from what was
    committed as soon as it answers: the copy does not wait for its lease to expire."""
    token = uuid.uuid4().hex
    return database.outlasting(
        lambda: _run(factory_id, token), patience=queue.OUTAGE_PATIENCE, what=f"order factory {factory_id}"
    )


def _run(factory_id: str, token: str) -> str | None:
    # The claim's response cache bump waits for the copy's, a few milliseconds later: one bump per copy, and
    # one round trip less between the claim and the copy.
    with cache.bumps_held() as bumps:
        claimed = _claim(factory_id, token)
        if claimed is None:
            return None
        organization_id, mode = claimed
        with scopes.active(worker_scope(organization_id, mode)):
            try:
                return _execute(factory_id, token, bumps)
            except LostClaim:
                log.warning("order factory %s: lost its claim, another worker took over", factory_id)
                return None


def _claim(factory_id: str, token: str) -> tuple[str, str] | None:
    """``pending -> in_progress`` under ``token``: (organization id, mode), or None when the factory is not
    pending (or gone). A factory this token already holds is claimed as it is (the job runs again after its
    database went away, perhaps once the claim had committed). The claim commits unsynced (database.unsynced):
    the copy's synced commit makes it durable, and a crash before then loses at most the claim, whose job
    runs again (its take was lost with it) or is queued again by the sweep."""
    now = clock.now()
    # Pipelined (database.pipelined): the claim's writes, its trail and its event travel with the webhook
    # lookup, and its set_config with the row lock.
    with database.unsynced(), database.pipelined(), transaction.atomic():
        # The row lock makes the check-then-write a compare-and-set: a second claimer waits, then sees
        # ``in_progress`` and does nothing. The job knows only the id: the row tells its scope.
        factory = loading.claimable(factory_id, token)
        if factory is None:
            return None
        if factory.status == "in_progress":
            return factory.organization_id, factory.mode
        with scopes.active(worker_scope(factory.organization_id, factory.mode)), hooks.batched():
            with hooks.recording(factory.type, factory):
                factory.status = "in_progress"
                factory.started_at = factory.started_at or now
                factory.claimed_by = token
                factory.lease_expires_at = now + LEASE
                factory.attempts += 1
                factory.save(
                    update_fields=[
                        "status",
                        "started_at",
                        "claimed_by",
                        "lease_expires_at",
                        "attempts",
                        "updated_at",
                    ]
                )
            if factory.attempts == 1:
                hooks.event(f"{factory.type}.start", factory.type, factory)
    return factory.organization_id, factory.mode


def _locked(factory_id: str, token: str, *, with_source: bool = False) -> OrderFactory:
    """The factory, locked, while this job still holds its claim; ``with_source``: with what the copy reads of
    its source (the steps after the copy need only its id)."""
    factory = loading.locked(factory_id, with_source=with_source)
    if factory.status != "in_progress" or factory.claimed_by != token:
        raise LostClaim(factory_id)
    return factory


def _execute(factory_id: str, token: str, bumps: cache.HeldBumps | None = None) -> str:
    try:
        try:
            ended = _copy(factory_id, token)
        finally:
            if bumps is not None:
                bumps.release()  # placing, which may take seconds, bumps as it commits
    except _CopyRefused as refused:
        refusal, refused_codes, refused_lines = failures.reasons(refused.failure)
        with transaction.atomic():
            factory = _locked(factory_id, token)
            return _end(factory, "failed", refusal, refused_codes, lines=refused_lines)
    if isinstance(ended, str):
        return ended
    factory = ended
    problems: failures.Log = {}
    codes: failures.Codes = {}
    lines: failures.Lines = {}
    assert factory.target_order_id is not None  # set by _copy, now or in an earlier attempt
    if _taxed_outside(factory):
        # The market's external calculator, called with no transaction open, as _update_taxes calls it.
        try:
            taxing.update_taxes(factory.target_order_id)
        except DomainError as exc:
            problems, codes, lines = failures.reasons(exc)
    if factory.place_target_order and not problems:
        try:
            orders.place(factory.target_order_id)
        except DomainError as exc:
            # placing names the target's SKU of a line it refuses: pointed at the source's line
            pointers = source_pointers(factory) if failures.about_lines(exc) else None
            problems, codes, lines = failures.reasons(exc, pointers)
    with transaction.atomic():
        factory = _locked(factory_id, token)
        return _complete(factory, problems, codes, lines=lines)


class _CopyRefused(Exception):
    """build_target refused the copy: its transaction rolls back whole (no savepoint on the way of every copy
    that succeeds), and the next one records why."""

    def __init__(self, failure: DomainError) -> None:
        super().__init__(failure)
        self.failure = failure


def _copy(factory_id: str, token: str) -> str | OrderFactory:
    """The copy's transaction: builds the target unless an earlier attempt did, and ends the factory when
    nothing is left to do outside the database (its final status); else the factory, whose target is to be
    placed. Pipelined (database.pipelined): the target's rows, the factory's ending, its trail and its events
    are sent as they are made and wait for no answer; they travel with the webhook lookup."""
    with database.pipelined(), transaction.atomic():
        factory = _locked(factory_id, token, with_source=True)
        reason = _abort_reason(factory)
        if reason is not None:
            return _end(factory, "aborted", reason, failures.ABORT_CODES)
        if factory.target_order_id is not None:
            return factory  # built by an earlier attempt, which died before placing it
        notes = failures.Notes(facts=factory.preview_id is not None)
        try:
            target = build_target(factory, notes)
            if factory.preview_id is not None:
                previews.check_still_holds(factory, notes.facts or [], target)
        except DomainError as exc:
            raise _CopyRefused(exc) from exc
        before = hooks.snapshot(factory)
        factory.target_order = target
        factory.errors_log = dict(notes)
        factory.errors_count = failures.count(notes)
        if not factory.place_target_order and not _taxed_outside(factory):
            return _complete(factory, {}, {}, before, lines=notes.lines)
        # the notes about lines keep their pointers until the copy ends (after placing)
        factory.errors_details = failures.details(notes, {}, notes.lines) if notes.lines else []
        fields = ["target_order", "errors_log", "errors_count", "updated_at"]
        with hooks.recording(factory.type, factory, before=before):
            factory.save(update_fields=[*fields, "errors_details"] if notes.lines else fields)
    return factory


def _taxed_outside(factory: OrderFactory) -> bool:
    """Whether the target's taxes come from an external calculator (its market is the source's, read with
    it): called after the copy's transaction, as placing is."""
    source = factory.source_order
    return source is not None and taxing.called_outside(source)


def _complete(
    factory: OrderFactory,
    problems: failures.Log,
    codes: failures.Codes,
    before: dict[str, Any] | None = None,
    *,
    lines: failures.Lines | None = None,
) -> str:
    """End a copy whose target exists (inside the caller's transaction, holding the factory's row lock):
    failed on problems unless ``skip_errors``, else completed, cancelling the source first when asked."""
    codes = {
        "coupon_code": FactoryErrorCode.COUPON_DROPPED,
        "gift_card_code": FactoryErrorCode.GIFT_CARD_DROPPED,
        "gift_cards": FactoryErrorCode.GIFT_CARD_NOT_COPIED,
        "shipping_method": ShippingErrorCode.SHIPPING_METHOD_DROPPED,
        **codes,
    }
    log_ = failures.merge(factory.errors_log or {}, problems)
    lines = {**failures.lines_of(factory.errors_details or []), **(lines or {})}
    if problems and not factory.skip_errors:
        return _end(factory, "failed", log_, codes, before, lines=lines)
    if factory.cancel_source_order and factory.source_order_id:
        try:
            with transaction.atomic():
                orders.cancel(factory.source_order_id)
        except DomainError as exc:
            why = exc.log.get("status", ["could not be cancelled"])
            log_ = failures.merge(log_, {"source_order": why})
            codes["source_order"] = FactoryErrorCode.SOURCE_NOT_CANCELLED
            if not factory.skip_errors:
                return _end(factory, "failed", log_, codes, before, lines=lines)
    return _end(factory, "completed", log_, codes, before, lines=lines)


def _abort_reason(factory: OrderFactory, batch_cancelled: bool | None = None) -> failures.Log | None:
    """Why the copy is not made, if it is not; ``batch_cancelled``: whether its batch was cancelled, when the
    caller read it (a group of copies reads it once)."""
    source = factory.source_order
    if source is None:
        return {"source_order": ["no longer exists"]}
    if source.archived_at is not None:
        return {"source_order": ["is archived"]}
    if factory.order_copy_batch_id is not None and (
        batch_cancelled if batch_cancelled is not None else _batch_cancelled(factory.order_copy_batch_id)
    ):
        return {"order_copy_batch": ["was cancelled"]}
    if factory.type == "recurring_order_copies":
        subscription = factory.order_subscription
        if subscription is None:
            return {"order_subscription": ["no longer exists"]}
        if not subscription.is_active:
            return {"order_subscription": [f"is {subscription.status}, not active"]}
    return None


def _batch_cancelled(batch_id: str) -> bool:
    """A copy of a batch claimed as the batch was cancelled is not made (factories/batches.py)."""
    return OrderCopyBatch.objects.filter(pk=batch_id, status="cancelled").exists()


def _end(
    factory: OrderFactory,
    status: str,
    log_: failures.Log,
    codes: failures.Codes,
    before: dict[str, Any] | None = None,
    *,
    lines: failures.Lines | None = None,
) -> str:
    """Move the factory to its final status (inside the caller's transaction, holding its row lock) and fire
    its ending event, in this transaction: a subscription's run follows its attempt exactly when it ends
    (subscriptions.services.scheduler). ``before``: the row as the audit trail should show it before this
    change, when it changed since read."""
    now = clock.now()
    with hooks.batched():
        with hooks.recording(factory.type, factory, before=before):
            factory.status = status
            factory.errors_log = log_
            factory.errors_count = failures.count(log_)
            factory.errors_details = failures.details(log_, codes, lines)
            factory.lease_expires_at = None
            if status == "completed":
                factory.completed_at = now
            else:
                factory.failed_at = now
            factory.save(update_fields=ENDING_FIELDS)
        hooks.event(f"{factory.type}.{EVENT_OF[status]}", factory.type, factory)
    return status


# What ending writes: its own columns, and the target a copy that completes in its build's transaction set.
ENDING_FIELDS = [
    "status",
    "errors_log",
    "errors_count",
    "errors_details",
    "lease_expires_at",
    "completed_at",
    "failed_at",
    "target_order",
]
EVENT_OF = {status: name for name, status in ENDINGS.items()}


# --- the sweep --------------------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None) -> int:
    """Re-queue the factories whose job was lost: ``in_progress`` ones whose worker died (claim past its lease)
    go back to ``pending``, and fail after MAX_ATTEMPTS; ``pending`` ones whose job never ran (lost between a
    commit and its enqueue) are enqueued again, unless the queue still holds their job (a backlog longer
    than the lease), which only renews their lease. A duplicate job is harmless: only one claim succeeds. The jobs
    a dead worker left running are ended first (queue.end_lost_copy_jobs). Returns how many were re-queued.
    Runs periodically in every worker process."""
    now = now or clock.now()
    lost = queue.end_lost_copy_jobs(now, LEASE)
    if lost:
        log.warning("sweep: %d order copy job(s) whose worker stopped running them ended as failed", lost)
    stale = list(
        OrderFactory.unscoped.filter(status__in=("pending", "in_progress"), lease_expires_at__lt=now)
        # a batch's pending copies are its sweep's (factories/batches.py): it queues them as it made them
        .exclude(status="pending", order_copy_batch__isnull=False)
        .values_list("pk", "organization_id", "mode")
    )
    queued = queue.queued_order_factories([pk for pk, _, _ in stale])
    requeued = 0
    for pk, organization_id, mode in stale:
        with scopes.active(worker_scope(organization_id, mode)), transaction.atomic():
            factory = locks.lock_one(
                OrderFactory.objects.filter(status__in=("pending", "in_progress"), lease_expires_at__lt=now),
                pk,
            )
            if factory is None:
                continue
            if factory.status == "pending":
                OrderFactory.objects.filter(pk=pk).update(lease_expires_at=now + LEASE)
                if pk in queued:
                    continue  # its job is still in the queue, behind a backlog: it will run
            elif factory.attempts >= MAX_ATTEMPTS:
                _end(
                    factory,
                    "failed",
                    failures.merge(
                        factory.errors_log or {},
                        {"base": [f"the copy did not finish after {factory.attempts} attempts"]},
                    ),
                    {"base": FactoryErrorCode.ATTEMPTS_EXHAUSTED},
                    lines=failures.lines_of(factory.errors_details or []),
                )
                continue
            else:
                with hooks.recording(factory.type, factory):
                    factory.status, factory.claimed_by, factory.lease_expires_at = (
                        "pending",
                        None,
                        now + LEASE,
                    )
                    factory.save(update_fields=["status", "claimed_by", "lease_expires_at", "updated_at"])
            queue.enqueue_order_factory(factory.pk)
            requeued += 1
    return requeued


__all__ = ["FINAL", "create_factory", "retry", "run", "sweep"]
