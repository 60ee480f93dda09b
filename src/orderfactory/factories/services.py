"""Order copies: create the factory, and run it exactly once.

A factory is written ``pending`` in the request's transaction and its job is enqueued after the commit. A
worker claims it with a compare-and-set ``pending -> in_progress`` (a job that finds it in any other state does
nothing), builds the target order in one transaction, places it if asked (placing manages its own
transactions: it may call a payment gateway), and completes or fails the factory in a last transaction that
also cancels the source when asked. The target is tied to its factory by a unique constraint, so a job run
twice, or by two workers at once, makes one target; a worker that dies leaves its claim to expire, and the
sweep hands the factory to another worker, which resumes from what was committed.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from collections import defaultdict
from typing import Any

from django.db import models, transaction

from orderfactory import config, queue
from orderfactory.core import clock, database, hooks
from orderfactory.core import scope as scopes
from orderfactory.core.prepared import Prepared
from orderfactory.factories import plan
from orderfactory.factories.models import FINAL, OrderFactory
from orderfactory.jsonapi import errors
from orderfactory.orders import services as orders
from orderfactory.orders.models import LineItem, Order, Shipment

log = logging.getLogger("orderfactory.factories")

LEASE = dt.timedelta(seconds=config.number("ORDERFACTORY_FACTORY_LEASE_SECONDS", 300, minimum=1))
MAX_ATTEMPTS = config.integer("ORDERFACTORY_FACTORY_MAX_ATTEMPTS", 5, minimum=1)

# Test-only fault injection, unset in production: seconds the copy stalls inside its transaction once the
# target's rows are written, so a test can kill the worker mid-copy (tests/test_worker.py).
FAULT_COPY_DELAY = config.number("ORDERFACTORY_FAULT_COPY_DELAY", 0)


class LostClaim(Exception):
    """Another worker owns the factory now (our lease expired and it was swept): stop without writing."""


def worker_scope(organization_id: str, mode: str) -> scopes.Scope:
    return scopes.worker(organization_id, mode, "order-factory-worker")


# --- creation (inside the request's transaction) ----------------------------------------------------------


def create_factory(kind: str, columns: dict[str, Any]) -> OrderFactory:
    """Write the factory ``pending`` and enqueue its job after the commit."""
    problems = []
    if not columns.get("source_order_id"):
        problems.append(errors.blank("source_order", relationship=True))
    if kind == "recurring_order_copies" and not columns.get("order_subscription_id"):
        problems.append(errors.blank("order_subscription", relationship=True))
    if problems:
        raise errors.ApiErrors(problems)
    factory = OrderFactory(type=kind, **columns)
    if factory.place_target_order is None and kind == "recurring_order_copies":
        factory.place_target_order = True  # the documented default of subscription runs
    # Should the process die between the commit and the enqueue, the sweep re-queues the job once this passes.
    factory.lease_expires_at = clock.now() + LEASE
    factory.save()
    queue.enqueue_order_factory(factory.pk)
    return factory


# What a retry copies of the copy it retries: its source, subscription and options (not the client's own
# reference and metadata, which name the first copy).
RETRIED_COLUMNS = (
    "source_order_id",
    "order_subscription_id",
    "place_target_order",
    "reuse_wallet",
    "cancel_source_order",
    "apply_promotions",
    "skip_errors",
    "ignore_invalid_coupon",
)


def retry(factory_id: str) -> OrderFactory:
    """A new copy of a failed or aborted one, with the same source, subscription and options, linked to it by
    ``retry_of``; once per copy. A subscription run's attempt is retried as the run's next attempt, unless
    the run succeeded or has an attempt running (plan.retry_attempt)."""
    with transaction.atomic():
        original = OrderFactory.objects.select_for_update().filter(pk=factory_id).first()
        if original is None:
            raise errors.not_found()
        problem = None
        if original.status not in ("failed", "aborted"):
            problem = f"is {original.status}: only a failed or aborted copy can be retried"
        elif OrderFactory.objects.filter(retry_of=original).exists():
            problem = "was retried already"
        else:
            problem = plan.retry_problem(original)
        if problem is not None:
            raise errors.ApiErrors([errors.validation("status", problem, "transition")])
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
    claimed = _claim(factory_id, token)
    if claimed is None:
        return None
    organization_id, mode = claimed
    with scopes.active(worker_scope(organization_id, mode)):
        try:
            return _execute(factory_id, token)
        except LostClaim:
            log.warning("order factory %s: lost its claim, another worker took over", factory_id)
            return None


_CLAIMABLE = Prepared(
    lambda factory_id, token: OrderFactory.unscoped.select_for_update().filter(
        models.Q(status="pending") | models.Q(status="in_progress", claimed_by=token), pk=factory_id
    )[:1]
)


def _claim(factory_id: str, token: str) -> tuple[str, str] | None:
    """``pending -> in_progress`` under ``token``: (organization id, mode), or None when the factory is not
    pending (or gone). A factory this token already holds is claimed as it is (the job runs again after its
    database went away, perhaps once the claim had committed)."""
    now = clock.now()
    with transaction.atomic():
        # The row lock makes the check-then-write a compare-and-set: a second claimer waits, then sees
        # ``in_progress`` and does nothing. The job knows only the id: the row tells its scope.
        factory = _CLAIMABLE.first(factory_id=factory_id, token=token)
        if factory is None:
            return None
        if factory.status == "in_progress":
            return factory.organization_id, factory.mode
        with scopes.active(worker_scope(factory.organization_id, factory.mode)), hooks.batched():
            before = hooks_snapshot(factory)
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
            hooks.on_write("update", factory.type, factory, before)
            if factory.attempts == 1:
                hooks.event(f"{factory.type}.start", factory.type, factory)
    return factory.organization_id, factory.mode


def hooks_snapshot(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


# What the copy reads of its source, brought along with the factory's row: the columns build_target and
# orders.recompute read, and no others (every column of these six tables was 222 columns, and this one query
# cost a fifth of the worker's time in SQL compiling and model building). A column left out here and read
# anyway costs a query of its own: the pinned query counts of tests/factories/test_exactly_once.py catch it.
SOURCE_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_order": (
        "organization",
        "mode",
        "status",
        "market",
        "customer",
        "customer_email",
        "language_code",
        "currency_code",
        "tax_included",
        "guest",
        "country_code",
        "coupon_code",
        "payment_method",
        "freight_taxable",
        "payment_method_taxable",
        "adjustment_taxable",
        "gift_card_taxable",
        "billing_address",
        "shipping_address",
        "archived_at",
        "payment_source_type",
        "payment_source_id",
    ),
    "source_order__market": ("organization", "mode", "inventory_model", "default_shipping_method"),
    "source_order__market__default_shipping_method": (
        "organization",
        "mode",
        "disabled_at",
        "market",
        "shipping_category",
        "stock_location",
        "free_over_amount_cents",
        "price_amount_cents",
    ),
    "source_order__payment_method": ("organization", "mode", "name", "price_amount_cents"),
    # the addresses are copied whole
    "source_order__billing_address": ("*",),
    "source_order__shipping_address": ("*",),
}


@functools.cache
def _source_columns() -> list[str]:
    from orderfactory.addresses.models import Address

    columns = [f.name for f in OrderFactory._meta.concrete_fields]
    for path, names in SOURCE_COLUMNS.items():
        if names == ("*",):
            names = tuple(f.name for f in Address._meta.concrete_fields)
        columns += [f"{path}__{name}" for name in names]
    return columns


def _locked(factory_id: str, token: str, *, with_source: bool = False) -> OrderFactory:
    """The factory, locked, while this job still holds its claim; ``with_source``: with what the copy reads of
    its source (the steps after the copy need only its id)."""
    factory = (_LOCKED_WITH_SOURCE if with_source else _LOCKED).get(factory_id=factory_id)
    if factory.status != "in_progress" or factory.claimed_by != token:
        raise LostClaim(factory_id)
    return factory


_LOCKED = Prepared(lambda factory_id: OrderFactory.objects.select_for_update().filter(pk=factory_id))
# ``of=self``: PostgreSQL cannot lock the nullable side of the join that brings the source order along.
_LOCKED_WITH_SOURCE = Prepared(
    lambda factory_id: (
        OrderFactory.objects.select_for_update(of=("self",))
        .select_related(*SOURCE_COLUMNS)
        .only(*_source_columns())
        .filter(pk=factory_id)
    )
)


def _execute(factory_id: str, token: str) -> str:
    try:
        ended = _copy(factory_id, token)
    except _CopyRefused as refused:
        with transaction.atomic():
            factory = _locked(factory_id, token)
            return _end(factory, "failed", refused.problems, refused.codes)
    if isinstance(ended, str):
        return ended
    factory = ended
    problems: dict[str, list[str]] = {}
    codes: dict[str, str] = {}
    if factory.place_target_order:
        assert factory.target_order_id is not None  # set by _copy, now or in an earlier attempt
        try:
            orders.place(factory.target_order_id)
        except (orders.OrderInvalid, errors.ApiErrors) as exc:
            problems, codes = _reasons(exc)
    with transaction.atomic():
        factory = _locked(factory_id, token)
        return _complete(factory, problems, codes)


class _CopyRefused(Exception):
    """build_target refused the copy: its transaction rolls back whole (no savepoint on the way of every copy
    that succeeds), and the next one records why."""

    def __init__(self, problems: dict[str, list[str]], codes: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems, self.codes = problems, codes


def _copy(factory_id: str, token: str) -> str | OrderFactory:
    """The copy's transaction: builds the target unless an earlier attempt did, and ends the factory when
    nothing is left to do outside the database (its final status); else the factory, whose target is to be
    placed."""
    with transaction.atomic():
        factory = _locked(factory_id, token, with_source=True)
        reason = _abort_reason(factory)
        if reason is not None:
            return _end(factory, "aborted", reason, ABORT_CODES)
        if factory.target_order_id is not None:
            return factory  # built by an earlier attempt, which died before placing it
        notes: dict[str, list[str]] = {}
        try:
            target = build_target(factory, notes)
        except (orders.OrderInvalid, errors.ApiErrors) as exc:
            raise _CopyRefused(*_reasons(exc)) from exc
        if FAULT_COPY_DELAY:
            log.warning("fault injection: the copy of %s stalls %.1f s", factory_id, FAULT_COPY_DELAY)
            time.sleep(FAULT_COPY_DELAY)
        before = hooks_snapshot(factory)
        factory.target_order = target
        factory.errors_log = notes
        factory.errors_count = _count(notes)
        if not factory.place_target_order:
            return _complete(factory, {}, {}, before)
        factory.save(update_fields=["target_order", "errors_log", "errors_count", "updated_at"])
        hooks.on_write("update", factory.type, factory, before)
    return factory


def _complete(
    factory: OrderFactory,
    problems: dict[str, list[str]],
    codes: dict[str, str],
    before: dict[str, Any] | None = None,
) -> str:
    """End a copy whose target exists (inside the caller's transaction, holding the factory's row lock):
    failed on problems unless ``skip_errors``, else completed, cancelling the source first when asked."""
    codes = {"coupon_code": "coupon_dropped", **codes}
    log_ = _merge(factory.errors_log or {}, problems)
    if problems and not factory.skip_errors:
        return _end(factory, "failed", log_, codes, before)
    if factory.cancel_source_order and factory.source_order_id:
        try:
            with transaction.atomic():
                orders.cancel(factory.source_order_id)
        except orders.OrderInvalid as exc:
            log_ = _merge(log_, {"source_order": exc.problems.get("status", ["could not be cancelled"])})
            codes["source_order"] = "not_cancelled"
            if not factory.skip_errors:
                return _end(factory, "failed", log_, codes, before)
    return _end(factory, "completed", log_, codes, before)


def _abort_reason(factory: OrderFactory) -> dict[str, list[str]] | None:
    source = factory.source_order
    if source is None:
        return {"source_order": ["no longer exists"]}
    if source.archived_at is not None:
        return {"source_order": ["is archived"]}
    if factory.type == "recurring_order_copies":
        subscription = factory.order_subscription
        if subscription is None:
            return {"order_subscription": ["no longer exists"]}
        if not subscription.is_active:
            return {"order_subscription": [f"is {subscription.status}, not active"]}
    return None


ABORT_CODES = {"source_order": "source_order_unavailable", "order_subscription": "subscription_inactive"}
# (attribute, code) pairs a later attempt may overcome without anyone fixing data: stock comes back, a declined
# or missing payment can be retried after the customer acts. Everything else needs a person.
RETRYABLE = {
    ("line_items", "out_of_stock"),
    ("payment_source", "authorization_failed"),
    ("payment_source", "blank"),
    ("base", "attempts_exhausted"),
}


def error_details(log_: dict[str, list[str]], codes: dict[str, str] | None) -> list[dict[str, Any]]:
    """errors_log as a list of {attribute, message, code, retryable} (the errors_details extension)."""
    out = []
    for attribute, messages in log_.items():
        code = (codes or {}).get(attribute, "invalid")
        for message in messages:
            out.append(
                {
                    "attribute": attribute,
                    "message": message,
                    "code": code,
                    "retryable": (attribute, code) in RETRYABLE,
                }
            )
    return out


def _reasons(exc: orders.OrderInvalid | errors.ApiErrors) -> tuple[dict[str, list[str]], dict[str, str]]:
    """A refusal as errors_log (attribute -> messages) and its codes (attribute -> code)."""
    if isinstance(exc, orders.OrderInvalid):
        return exc.problems, exc.codes
    return _problems_of(exc), _codes_of(exc)


def _codes_of(exc: errors.ApiErrors) -> dict[str, str]:
    return {
        (e.pointer or "/base").rsplit("/", 1)[-1]: str((e.meta or {}).get("error", "invalid"))
        for e in exc.errors
    }


def _end(
    factory: OrderFactory,
    status: str,
    log_: dict[str, list[str]],
    codes: dict[str, str] | None = None,
    before: dict[str, Any] | None = None,
) -> str:
    """Move the factory to its final status (inside the caller's transaction, holding its row lock);
    ``before``: the row as the audit trail should show it before this change, when it changed since read."""
    before = before or hooks_snapshot(factory)
    now = clock.now()
    factory.status = status
    factory.errors_log = log_
    factory.errors_count = _count(log_)
    factory.errors_details = error_details(log_, codes)
    factory.lease_expires_at = None
    if status == "completed":
        factory.completed_at = now
    else:
        factory.failed_at = now
    name = {"completed": "complete", "failed": "fail", "aborted": "abort"}[status]
    with hooks.batched():
        factory.save(update_fields=ENDING_FIELDS)
        hooks.on_write("update", factory.type, factory, before)
        hooks.event(f"{factory.type}.{name}", factory.type, factory)
    _notify_finished(factory, status)  # in this transaction: a run is recorded exactly when it ends
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


def _notify_finished(factory: OrderFactory, status: str) -> None:
    """Subscriptions follow their runs (registered by the subscriptions app), given the factory as just saved."""
    for fn in FINISHED_HOOKS:
        fn(factory, status)


FINISHED_HOOKS: list[Any] = []


def _count(log_: dict[str, list[str]]) -> int:
    return sum(len(v) for v in log_.values())


def _merge(a: dict[str, list[str]], b: dict[str, list[str]]) -> dict[str, list[str]]:
    out = {k: list(v) for k, v in a.items()}
    for k, v in b.items():
        out.setdefault(k, []).extend(m for m in v if m not in out.get(k, []))
    return out


def _problems_of(exc: errors.ApiErrors) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for e in exc.errors:
        key = (e.pointer or "/base").rsplit("/", 1)[-1]
        out[key].append(e.title)
    return dict(out)


# --- building the target ----------------------------------------------------------------------------------


def build_target(factory: OrderFactory, notes: dict[str, list[str]]) -> Order:
    """The copy itself: a new order in the source's market for its customer, with copies of its addresses,
    its SKU lines at their frozen prices, its payment method, its coupon, and its wallet payment source."""
    from orderfactory.promotions.services import CouponInvalid, check_coupon

    source = factory.source_order  # with the columns of SOURCE_COLUMNS
    assert source is not None  # _abort_reason checked
    coupon_code = source.coupon_code
    if coupon_code:
        try:
            check_coupon(coupon_code, market_id=source.market_id, at=clock.now())
        except CouponInvalid as exc:
            if not factory.ignore_invalid_coupon:
                raise orders.OrderInvalid(
                    {"coupon_code": [exc.message]}, {"coupon_code": exc.reason.value}
                ) from None
            notes.setdefault("coupon_code", []).append(f"{exc.message}: dropped from the copy")
            coupon_code = None
    # Written last, once priced (orders.recompute with new_lines): the rows below refer to it within this
    # transaction, and foreign keys are checked at commit.
    target = Order(
        market=source.market,
        customer_id=source.customer_id,
        customer_email=source.customer_email,
        language_code=source.language_code,
        currency_code=source.currency_code,
        tax_included=source.tax_included,
        guest=source.guest,
        country_code=source.country_code,
        coupon_code=coupon_code,
        payment_method=source.payment_method,
        freight_taxable=source.freight_taxable,
        payment_method_taxable=source.payment_method_taxable,
        adjustment_taxable=source.adjustment_taxable,
        gift_card_taxable=source.gift_card_taxable,
    )
    run = plan.plan_of(factory)
    billing = run.billing_address or source.billing_address
    shipping = run.shipping_address or source.shipping_address
    clones = iter(orders.clone_addresses([a for a in (billing, shipping) if a is not None]))
    if billing is not None:
        target.billing_address = next(clones)
    if shipping is not None:
        target.shipping_address = next(clones)
    lines = _LINES.all(order_id=source.pk)
    sku_lines = [line for line in lines if line.item_type == orders.SKU]
    if run.items is not None:
        # An automatic subscription's run copies its items (they may differ from the source's lines).
        skus = _skus([item[0] for item in run.items])
        lines = sku_lines = [
            LineItem(
                id=f"item{position}",
                sku=skus.get(sku_id),
                sku_id=sku_id,
                item_id=sku_id,
                sku_code=sku_code,
                quantity=quantity,
                currency_code=source.currency_code,
                unit_amount_cents=unit,
                total_amount_cents=(unit or 0) * quantity,
                discount_cents=0,
                options_amount_cents=0,
                name=getattr(skus.get(sku_id), "name", None),
                image_url=getattr(skus.get(sku_id), "image_url", None),
            )
            for position, (sku_id, sku_code, quantity, unit) in enumerate(run.items)
        ]
    copies = {
        line.pk: LineItem(
            order=target,
            item_type=orders.SKU,
            item_id=line.item_id,
            sku=line.sku,
            sku_code=line.sku_code,
            bundle_code=line.bundle_code,
            quantity=line.quantity,
            currency_code=line.currency_code,
            unit_amount_cents=line.unit_amount_cents,
            compare_at_amount_cents=line.compare_at_amount_cents,
            options_amount_cents=line.options_amount_cents,
            total_amount_cents=line.total_amount_cents,
            discount_cents=0 if factory.apply_promotions else line.discount_cents,
            name=line.name,
            image_url=line.image_url,
            frequency=line.frequency,
        )
        for line in sku_lines
    }
    frozen: list[LineItem] = []
    if not factory.apply_promotions:
        dropped = source.coupon_code if coupon_code is None else None
        frozen = [
            LineItem(
                order=target,
                item_type=line.item_type,
                item_id=line.item_id,
                name=line.name,
                quantity=line.quantity,
                currency_code=line.currency_code,
                unit_amount_cents=line.unit_amount_cents,
                total_amount_cents=line.total_amount_cents,
                coupon_code=line.coupon_code,
            )
            for line in lines
            if line.item_type == orders.PROMOTION_LINE and not (dropped and line.coupon_code == dropped)
        ]
        if dropped:
            for copy in copies.values():
                copy.discount_cents = 0
    if run.wallet_entry is not None:
        _use_wallet_entry(run.wallet_entry, target)
    elif factory.reuse_wallet:
        _reuse_wallet(source, target)
    orders.recompute(
        target,
        frozen_promotions=not factory.apply_promotions,
        new_lines=[*copies.values(), *frozen],
        preferred_methods=_source_shipping_methods(source),
    )
    return target


_LINES = Prepared(
    lambda order_id: (
        LineItem.objects.filter(order_id=order_id).select_related("sku").order_by("created_at", "id")
    )
)


def _skus(sku_ids: list[str]) -> dict[str, Any]:
    from orderfactory.catalog.models import Sku

    return {sku.pk: sku for sku in Sku.objects.filter(pk__in=sku_ids)}


def _use_wallet_entry(entry: Any, target: Order) -> None:
    """The target pays with its own copy of the wallet entry's payment source."""
    from orderfactory.customers.services import payment_source_of
    from orderfactory.payments.services import clone_payment_source

    source_payment = payment_source_of(entry)
    if source_payment is None:
        return
    copy = clone_payment_source(source_payment, order_id=target.pk, customer_payment_source_id=entry.pk)
    orders.own_payment_source(target, copy)
    if entry.payment_method_id:
        target.payment_method_id = entry.payment_method_id


def _reuse_wallet(source: Order, target: Order) -> None:
    """The target gets its own payment source of the same type and data, when the source's payment source is
    in the customer's wallet; otherwise it has none."""
    from orderfactory.customers.services import wallet_entry_for
    from orderfactory.payments.services import clone_payment_source

    if not source.payment_source_type or not source.payment_source_id:
        return
    # The wallet first: a payment source that is not in it is not read at all.
    entry = wallet_entry_for(source.payment_source_type, source.payment_source_id)
    if entry is None or (source.customer_id and entry.customer_id != source.customer_id):
        return
    source_payment = orders.payment_source_of(source)
    if source_payment is None:
        return
    copy = clone_payment_source(source_payment, order_id=target.pk, customer_payment_source_id=entry.pk)
    orders.own_payment_source(target, copy)


def _source_shipping_methods(source: Order) -> orders.PreferredMethods:
    """The shipping methods the source's shipments chose, by (stock location, shipping category): rebuilt
    shipments keep them where they still apply."""
    return {
        (s.stock_location_id, s.shipping_category_id): s.shipping_method
        for s in _CHOSEN_METHODS.all(order_id=source.pk)
        if s.shipping_method is not None
    }


_CHOSEN_METHODS = Prepared(
    lambda order_id: Shipment.objects.filter(order_id=order_id, shipping_method__isnull=False).select_related(
        "shipping_method"
    )
)


# --- the sweep --------------------------------------------------------------------------------------------


def sweep(now: dt.datetime | None = None) -> int:
    """Re-queue the factories whose job was lost: ``in_progress`` ones whose worker died (claim past its lease)
    go back to ``pending``, and fail after MAX_ATTEMPTS; ``pending`` ones whose job never ran (lost between a
    commit and its enqueue) are enqueued again, unless the queue still holds their job (a backlog longer
    than the lease), which only renews their lease. A duplicate job is harmless: only one claim succeeds. Returns
    how many were re-queued. Runs periodically in every worker process."""
    now = now or clock.now()
    stale = list(
        OrderFactory.unscoped.filter(
            status__in=("pending", "in_progress"), lease_expires_at__lt=now
        ).values_list("pk", "organization_id", "mode")
    )
    queued = queue.queued_order_factories([pk for pk, _, _ in stale])
    requeued = 0
    for pk, organization_id, mode in stale:
        with scopes.active(worker_scope(organization_id, mode)), transaction.atomic():
            factory = (
                OrderFactory.objects.select_for_update()
                .filter(pk=pk, status__in=("pending", "in_progress"), lease_expires_at__lt=now)
                .first()
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
                    _merge(
                        factory.errors_log or {},
                        {"base": [f"the copy did not finish after {factory.attempts} attempts"]},
                    ),
                    {"base": "attempts_exhausted"},
                )
                continue
            else:
                before = hooks_snapshot(factory)
                factory.status, factory.claimed_by, factory.lease_expires_at = "pending", None, now + LEASE
                factory.save(update_fields=["status", "claimed_by", "lease_expires_at", "updated_at"])
                hooks.on_write("update", factory.type, factory, before)
            queue.enqueue_order_factory(factory.pk)
            requeued += 1
    return requeued


def delete_factory(factory: OrderFactory) -> None:
    factory.delete()


__all__ = ["FINAL", "create_factory", "retry", "run", "sweep", "delete_factory"]
