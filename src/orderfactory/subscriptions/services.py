"""Order subscriptions: making them (automatically from a placed order, or by hand), their triggers, and the
runs the scheduler starts and follows.

Commerce Layer counts a failed run and moves on. Here every scheduled run is a ``SubscriptionRun`` (unique per
subscription and scheduled time), retried by a policy that treats payment and stock failures apart; each
attempt is its own order factory linked to the run, and a run that succeeded is never attempted again.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connection, models, transaction

from orderfactory import config
from orderfactory.core import clock, hooks
from orderfactory.core import scope as scopes
from orderfactory.jsonapi import errors
from orderfactory.subscriptions import schedule
from orderfactory.subscriptions.models import (
    OrderSubscription,
    OrderSubscriptionItem,
    SubscriptionModel,
    SubscriptionRun,
    SubscriptionRunAttempt,
)

if TYPE_CHECKING:
    from orderfactory.factories.models import OrderFactory

log = logging.getLogger("orderfactory.subscriptions")

MISSED_GRACE = dt.timedelta(seconds=config.number("ORDERFACTORY_MISSED_RUN_GRACE_SECONDS", 900))
DEFAULT_POLICY = {
    "payment_retry_attempts": 3,
    "stock_retry_attempts": 2,
    "retry_backoff_hours": 24.0,
    "after_retries": "skip",
    "missed_runs_policy": "run_once",
}
TRANSITIONS = {
    "_activate": (("draft", "inactive"), "active"),
    "_deactivate": (("active", "running"), "inactive"),
    "_cancel": (("draft", "inactive", "active", "running"), "cancelled"),
}


def policy(subscription: OrderSubscription, name: str) -> Any:
    """The subscription's own value, else its subscription model's, else the default."""
    value = getattr(subscription, name)
    if value is None and subscription.subscription_model_id:
        value = getattr(subscription.subscription_model, name)
    return DEFAULT_POLICY[name] if value is None else value


def transition_error(current: str, target: str) -> errors.ApiErrors:
    return errors.ApiErrors(
        [errors.validation("status", f"cannot transition from {current} to {target}", "transition")]
    )


# --- making subscriptions ---------------------------------------------------------------------------------


def frequency_problems(
    frequency: Any, model: SubscriptionModel | None, attribute: str = "frequency"
) -> list[errors.ApiError]:
    problem = schedule.frequency_problem(frequency)
    if problem:
        return [errors.validation(attribute, problem, "invalid", value=frequency)]
    if model is not None and model.frequencies and frequency not in model.frequencies:
        return [
            errors.validation(
                attribute, "is not allowed by the market's subscription model", "inclusion", value=frequency
            )
        ]
    return []


def line_frequency_problems(frequency: str | None, market_id: str | None) -> list[errors.ApiError]:
    """A line item's ``frequency`` must be one its market's subscription model allows (resources.json: "must
    be supported by existing associated subscription_model"); with no model, none is (no subscription could
    be made of the line). No frequency (null or "") is always fine: the line is bought once."""
    if frequency in (None, ""):
        return []
    model = _model_of_market(market_id)
    if model is None and not schedule.frequency_problem(frequency):
        return [
            errors.validation(
                "frequency", "is not supported: the market has no subscription model", "inclusion"
            )
        ]
    return frequency_problems(frequency, model)


def _wallet_entry_of(order: Any) -> Any:
    from orderfactory.customers.services import wallet_entry_for

    if not order.payment_source_type or not order.payment_source_id:
        return None
    return wallet_entry_for(order.payment_source_type, order.payment_source_id)


def _copy_addresses(subscription: OrderSubscription, order: Any) -> None:
    from orderfactory.orders.services import clone_address

    if order.billing_address_id:
        subscription.billing_address = clone_address(order.billing_address)
    if order.shipping_address_id:
        subscription.shipping_address = clone_address(order.shipping_address)


def create_manual(columns: dict[str, Any]) -> OrderSubscription:
    """A subscription made by hand from a source order (the "manual" path: each run copies the whole order).
    With ``activate_by_source_order`` (default) the source must be placed and the subscription is active at
    once, runs counted from now; without it ``starts_at`` is required and ``_activate`` starts it."""
    from orderfactory.orders.models import Order

    subscription = OrderSubscription(**columns)
    problems: list[errors.ApiError] = []
    source: Order | None = subscription.source_order if subscription.source_order_id else None
    if source is None:
        problems.append(errors.blank("source_order", relationship=True))
    if subscription.market_id is None and source is not None:
        subscription.market_id = source.market_id
    model = _model_of_market(subscription.market_id)
    problems += frequency_problems(subscription.frequency, model)
    problems += _dates_problems(subscription)
    if (
        subscription.activate_by_source_order
        and source is not None
        and source.status not in ("placed", "approved")
    ):
        problems.append(
            errors.validation(
                "source_order",
                "must be placed to activate the subscription by it",
                "not_placed",
                pointer="/data/relationships/source_order",
            )
        )
    if not subscription.activate_by_source_order and subscription.starts_at is None:
        problems.append(errors.blank("starts_at"))
    if problems:
        raise errors.ApiErrors(problems)
    assert source is not None
    subscription.customer_id = source.customer_id
    subscription.customer_email = source.customer_email
    subscription.customer_payment_source = _wallet_entry_of(source)
    _copy_addresses(subscription, source)
    now = clock.now()
    if subscription.activate_by_source_order:
        subscription.status = "active"
        subscription.anchor_at = (
            subscription.starts_at if subscription.starts_at and subscription.starts_at > now else now
        )
        subscription.next_run_at = (
            subscription.anchor_at
            if subscription.anchor_at > now
            else schedule.next_after(subscription.anchor_at, subscription.frequency, now)
        )
    else:
        subscription.status = "draft"
    subscription.save()
    subscription.number = (
        f"{source.number or source.pk}/S/{OrderSubscription.objects.filter(source_order=source).count()}"
    )
    subscription.save(update_fields=["number"])
    return subscription


def _model_of_market(market_id: str | None) -> SubscriptionModel | None:
    from orderfactory.catalog.models import Market

    if not market_id:
        return None
    model_id = Market.objects.filter(pk=market_id).values_list("subscription_model_id", flat=True).first()
    return SubscriptionModel.objects.filter(pk=model_id).first() if model_id else None


def _dates_problems(subscription: OrderSubscription) -> list[errors.ApiError]:
    if (
        subscription.expires_at
        and subscription.starts_at
        and subscription.expires_at <= subscription.starts_at
    ):
        return [
            errors.validation(
                "expires_at",
                "must be after starts_at",
                "greater_than",
                value=subscription.expires_at.isoformat(),
            )
        ]
    if not 1 <= (subscription.renewal_alert_period or 0) <= 720:
        return [
            errors.validation(
                "renewal_alert_period",
                "must be between 1 and 720",
                "inclusion",
                value=subscription.renewal_alert_period,
            )
        ]
    return []


def _add_items(subscription: OrderSubscription, lines: Any) -> None:
    """The subscription's items, one per source SKU line, at the line's frozen price."""
    OrderSubscriptionItem.objects.bulk_create(
        [
            OrderSubscriptionItem(
                order_subscription=subscription,
                sku_id=line.sku_id,
                sku_code=line.sku_code,
                quantity=line.quantity,
                unit_amount_cents=line.unit_amount_cents,
                currency_code=line.currency_code,
                source_line_item=line,
            )
            for line in lines
        ]
    )


def create_from_order(order: Any) -> list[OrderSubscription]:
    """``_create_subscriptions`` on a placed order (the automatic path): one subscription per frequency
    (``by_frequency``) or per line item (``by_line_items``) of the line items that carry one. The source order
    counts as run 1."""
    from orderfactory.orders.models import LineItem

    if order.status not in ("placed", "approved"):
        raise transition_error(order.status, "subscribed")
    model = _model_of_market(order.market_id)
    if model is None:
        raise errors.ApiErrors(
            [
                errors.validation(
                    "market", "has no subscription model", "blank", pointer="/data/relationships/market"
                )
            ]
        )
    if OrderSubscription.objects.filter(source_order=order, subscription_model__isnull=False).exists():
        return list(OrderSubscription.objects.filter(source_order=order))
    lines = list(
        LineItem.objects.filter(order=order, item_type="skus")
        .exclude(frequency__isnull=True)
        .exclude(frequency="")
        .order_by("created_at", "id")
    )
    if not lines:
        raise errors.ApiErrors([errors.validation("line_items", "have no frequency", "blank")])
    problems = [p for line in lines for p in frequency_problems(line.frequency, model, "line_items")]
    if problems:
        raise errors.ApiErrors(problems[:1])
    groups: dict[str, list[Any]] = defaultdict(list)
    for line in lines:
        groups[line.frequency if model.strategy != "by_line_items" else line.pk].append(line)
    anchor = order.placed_at or clock.now()
    now = clock.now()
    entry = _wallet_entry_of(order)
    made = []
    for position, group in enumerate(groups.values(), start=1):
        frequency = group[0].frequency
        subscription = OrderSubscription(
            number=f"{order.number}/S/{position}",
            status="active" if model.auto_activate else "draft",
            frequency=frequency,
            market_id=order.market_id,
            subscription_model=model,
            source_order=order,
            customer_id=order.customer_id,
            customer_email=order.customer_email,
            customer_payment_source=entry,
            anchor_at=anchor,
            starts_at=anchor,
            last_run_at=anchor,
            occurrencies=1,
            succeeded_on_last_run=True,
        )
        subscription.next_run_at = schedule.next_after(anchor, frequency, max(anchor, now))
        _copy_addresses(subscription, order)
        subscription.save()
        _add_items(subscription, group)
        hooks.on_write("create", "order_subscriptions", subscription, None)
        made.append(subscription)
    type(order).objects.filter(pk=order.pk).update(subscription_created_at=now)
    return made


# --- changes and triggers ---------------------------------------------------------------------------------


def _fire_pending(subscription: OrderSubscription) -> None:
    """Named events fire after the row is saved, so their webhook payloads show the new state."""
    for name in subscription.__dict__.pop("_pending_events", []):
        hooks.event(name, "order_subscriptions", subscription)


def update(
    subscription: OrderSubscription, columns: dict[str, Any], triggers: dict[str, Any]
) -> OrderSubscription:
    subscription._pending_events = []  # type: ignore[attr-defined]
    now = clock.now()
    problems: list[errors.ApiError] = []
    if "frequency" in columns:
        problems += frequency_problems(columns["frequency"], subscription.subscription_model)
    if "next_run_at" in columns and columns["next_run_at"] is not None and columns["next_run_at"] <= now:
        problems.append(
            errors.validation(
                "next_run_at",
                "must be in the future",
                "greater_than",
                value=columns["next_run_at"].isoformat(),
            )
        )
    if (
        "_pause_until" in triggers
        and triggers["_pause_until"] is not None
        and triggers["_pause_until"] <= now
    ):
        problems.append(errors.validation("_pause_until", "must be in the future", "greater_than"))
    for name in ("missed_runs_policy", "after_retries"):
        allowed = {
            "missed_runs_policy": ("skip", "run_once", "run_all"),
            "after_retries": ("skip", "deactivate", "cancel"),
        }[name]
        if columns.get(name) not in (None, *allowed):
            problems.append(
                errors.validation(name, "is not included in the list", "inclusion", value=columns[name])
            )
    for name in ("payment_retry_attempts", "stock_retry_attempts"):
        if columns.get(name) is not None and not 0 <= columns[name] <= 20:
            problems.append(
                errors.validation(name, "must be between 0 and 20", "inclusion", value=columns[name])
            )
    if columns.get("retry_backoff_hours") is not None and not 0 < columns["retry_backoff_hours"] <= 24 * 90:
        problems.append(
            errors.validation("retry_backoff_hours", "must be greater than 0 and at most 2160", "inclusion")
        )
    skip = triggers.get("_skip")
    if skip is not None and not 0 <= skip <= 1000:
        problems.append(
            errors.validation("_skip", "must be true or a number of runs between 0 and 1000", "invalid")
        )
    if problems:
        raise errors.ApiErrors(problems)
    for column, value in columns.items():
        setattr(subscription, column, value)
    problems = _dates_problems(subscription)
    if problems:
        raise errors.ApiErrors(problems)
    if "frequency" in columns or "next_run_at" in columns:
        # The schedule counts from the new point: the given next run, or now.
        subscription.anchor_at = (
            subscription.next_run_at if "next_run_at" in columns and subscription.next_run_at else now
        )
        if "next_run_at" not in columns and subscription.is_active:
            subscription.next_run_at = schedule.next_after(
                subscription.anchor_at, subscription.frequency, now
            )
    for trigger in ("_activate", "_deactivate", "_cancel"):
        if triggers.get(trigger):
            _transition(subscription, trigger, now)
    if triggers.get("_convert"):
        _convert(subscription)
    if skip:
        # "The next N runs are skipped": a repeated (or retried) PATCH skips no more, and never fewer.
        subscription.skip_runs = max(subscription.skip_runs, skip)
    if triggers.get("_unskip"):
        subscription.skip_runs = 0
    if triggers.get("_pause_until"):
        subscription.paused_until = triggers["_pause_until"]
    if triggers.get("_resume"):
        subscription.paused_until = None
    subscription.save()
    _fire_pending(subscription)
    return subscription


def _transition(subscription: OrderSubscription, trigger: str, now: dt.datetime) -> None:
    sources, target = TRANSITIONS[trigger]
    if subscription.status not in sources:
        raise transition_error(subscription.status, target)
    subscription.status = target
    if target == "active":
        if subscription.starts_at and subscription.starts_at > now:
            subscription.anchor_at = subscription.starts_at
            subscription.next_run_at = subscription.starts_at
        else:
            subscription.anchor_at = subscription.anchor_at or now
            subscription.next_run_at = schedule.next_after(
                subscription.anchor_at, subscription.frequency, now
            )
    if target == "cancelled":
        subscription.next_run_at = None
    name = {"active": "activate", "inactive": "deactivate", "cancelled": "cancel"}[target]
    subscription._pending_events.append(f"order_subscriptions.{name}")  # type: ignore[attr-defined]


def _convert(subscription: OrderSubscription) -> None:
    """``_convert``: a manual subscription becomes automatic (its runs then copy its items, from the source's
    lines); the market must have a subscription model."""
    from orderfactory.orders.models import LineItem

    if subscription.subscription_model_id:
        raise errors.ApiErrors(
            [errors.validation("_convert", "the subscription is automatic already", "invalid")]
        )
    model = _model_of_market(subscription.market_id)
    if model is None:
        raise errors.ApiErrors(
            [
                errors.validation(
                    "market", "has no subscription model", "blank", pointer="/data/relationships/market"
                )
            ]
        )
    subscription.subscription_model = model
    lines = LineItem.objects.filter(order_id=subscription.source_order_id, item_type="skus")
    _add_items(subscription, lines)


def cancel_for_source_order(order: Any) -> None:
    """``auto_cancel``: cancelling a source order cancels its subscriptions whose model says so."""
    now = clock.now()
    for subscription in OrderSubscription.objects.filter(
        source_order_id=order.pk, subscription_model__auto_cancel=True
    ).exclude(status="cancelled"):
        before = {f.attname: getattr(subscription, f.attname) for f in subscription._meta.concrete_fields}
        subscription._pending_events = []  # type: ignore[attr-defined]
        _transition(subscription, "_cancel", now)
        subscription.save()
        hooks.on_write("update", "order_subscriptions", subscription, before)
        _fire_pending(subscription)


@hooks.register_event
def _on_event(name: str, resource_type: str, instance: Any) -> None:
    if name == "orders.cancel":
        cancel_for_source_order(instance)


# --- the scheduler ----------------------------------------------------------------------------------------


def worker_scope(organization_id: str, mode: str) -> scopes.Scope:
    return scopes.worker(organization_id, mode, "scheduler")


def _locked_batch(qs: models.QuerySet, batch: int) -> list[Any]:
    """Rows to work on, locked; on PostgreSQL rows another scheduler holds are skipped (SKIP LOCKED). SQLite
    has one writer at a time, so its (IMMEDIATE) transaction is the lock."""
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs[:batch])


def tick(now: dt.datetime | None = None, batch: int = 200) -> dict[str, int]:
    """One pass of the scheduler: start due runs, retry failed attempts whose backoff is over, send renewal
    alerts. Safe to run from several processes at once. Returns counters."""
    batch = max(batch, 1)
    now = now or clock.now()
    counts = {"runs": 0, "skipped": 0, "retries": 0, "alerts": 0}
    while True:
        with transaction.atomic():
            due = _locked_batch(
                OrderSubscription.unscoped.filter(status="active", next_run_at__lte=now)
                .filter(models.Q(paused_until__isnull=True) | models.Q(paused_until__lte=now))
                .select_related("subscription_model")
                .order_by("next_run_at", "id"),
                batch,
            )
            for subscription in due:
                with scopes.active(worker_scope(subscription.organization_id, subscription.mode)):
                    started, skipped = _start_due_runs(subscription, now)
                counts["runs"] += started
                counts["skipped"] += skipped
        if len(due) < batch:
            break
    with transaction.atomic():
        retries = _locked_batch(
            SubscriptionRun.unscoped.filter(status="retrying", next_attempt_at__lte=now)
            .select_related("order_subscription")
            .order_by("next_attempt_at", "id"),
            batch,
        )
        for run in retries:
            with scopes.active(worker_scope(run.organization_id, run.mode)):
                if run.order_subscription.status in ("active", "running"):
                    _attempt(run.order_subscription, run)
                    counts["retries"] += 1
                else:
                    run.status, run.next_attempt_at = "failed", None
                    run.save(update_fields=["status", "next_attempt_at", "updated_at"])
    counts["alerts"] = _renewal_alerts(now, batch)
    return counts


def _start_due_runs(subscription: OrderSubscription, now: dt.datetime) -> tuple[int, int]:
    before = {f.attname: getattr(subscription, f.attname) for f in subscription._meta.concrete_fields}
    subscription._pending_events = []  # type: ignore[attr-defined]
    anchor = subscription.anchor_at or subscription.next_run_at
    assert subscription.next_run_at is not None and anchor is not None
    times = schedule.runs_between(anchor, subscription.frequency, subscription.next_run_at, now)
    next_run = (
        schedule.next_after(anchor, subscription.frequency, times[-1]) if times else subscription.next_run_at
    )
    if subscription.expires_at is not None:
        times = [t for t in times if t < subscription.expires_at]
    missed = [
        t
        for t in times
        if t < now - MISSED_GRACE or (subscription.paused_until and t < subscription.paused_until)
    ]
    on_time = [t for t in times if t not in missed]
    missed_policy = policy(subscription, "missed_runs_policy")
    to_run: list[tuple[dt.datetime, bool]] = [(t, False) for t in on_time]
    to_skip: list[tuple[dt.datetime, bool]] = []
    if missed:
        if missed_policy == "run_all":
            to_run = [(t, True) for t in missed] + to_run
        elif missed_policy == "run_once" and not on_time:
            to_run = [(missed[-1], True)]
            to_skip = [(t, True) for t in missed[:-1]]
        else:
            to_skip = [(t, True) for t in missed]
    started = skipped = 0
    for scheduled_at, was_missed in to_skip:
        skipped += _record_skipped(subscription, scheduled_at, was_missed, missed_policy)
    for scheduled_at, was_missed in to_run:
        if subscription.skip_runs > 0:
            subscription.skip_runs -= 1
            skipped += _record_skipped(
                subscription, scheduled_at, was_missed, missed_policy if was_missed else None
            )
            continue
        run = _new_run(subscription, scheduled_at, was_missed, missed_policy if was_missed else None)
        if run is None:
            continue  # another scheduler started this run
        _attempt(subscription, run)
        started += 1
    expired = subscription.expires_at is not None and next_run >= subscription.expires_at
    subscription.next_run_at = None if expired else next_run
    subscription.paused_until = (
        subscription.paused_until if subscription.paused_until and subscription.paused_until > now else None
    )
    if started:
        subscription.status = "running"
    elif expired and subscription.status == "active":
        subscription.status = "inactive"
    subscription.save(update_fields=["next_run_at", "paused_until", "skip_runs", "status", "updated_at"])
    hooks.on_write("update", "order_subscriptions", subscription, before)
    _fire_pending(subscription)
    return started, skipped


def _new_run(
    subscription: OrderSubscription,
    scheduled_at: dt.datetime,
    missed: bool,
    missed_policy: str | None,
    status: str = "running",
) -> SubscriptionRun | None:
    try:
        with transaction.atomic():
            return SubscriptionRun.objects.create(
                order_subscription=subscription,
                scheduled_at=scheduled_at,
                status=status,
                missed=missed,
                missed_runs_policy=missed_policy,
            )
    except IntegrityError:
        return None


def _record_skipped(
    subscription: OrderSubscription, scheduled_at: dt.datetime, missed: bool, missed_policy: str | None
) -> int:
    run = _new_run(
        subscription, scheduled_at, missed, missed_policy, status="missed" if missed else "skipped"
    )
    if run is not None:
        subscription._pending_events.append("order_subscriptions.skip")  # type: ignore[attr-defined]
    return int(run is not None)


def _attempt(subscription: OrderSubscription, run: SubscriptionRun) -> None:
    """Start one attempt of a run: an order factory (a recurring copy for automatic subscriptions, an order copy
    for manual ones) that places its target, linked to the run."""
    from orderfactory.factories.services import create_factory

    kind = "recurring_order_copies" if subscription.automatic else "order_copies"
    factory = create_factory(
        kind,
        {
            "source_order_id": subscription.source_order_id,
            "order_subscription_id": subscription.pk,
            "place_target_order": subscription.place_target_order,
            "reuse_wallet": True,
        },
    )
    hooks.on_write("create", kind, factory, None)
    run.attempts += 1
    run.status, run.next_attempt_at = "running", None
    run.save(update_fields=["attempts", "status", "next_attempt_at", "updated_at"])
    SubscriptionRunAttempt.objects.create(subscription_run=run, order_factory=factory, number=run.attempts)
    pending = subscription.__dict__.get("_pending_events")
    if pending is not None:
        pending.append("order_subscriptions.run")
    else:
        hooks.event("order_subscriptions.run", "order_subscriptions", subscription)


def _alert_periods(now: dt.datetime) -> list[int]:
    """The distinct ``renewal_alert_period`` of subscriptions with a run to come, one index lookup each (the
    subscription_alert index, in period order) rather than a scan of every subscription."""
    periods: list[int] = []
    while True:
        following = OrderSubscription.unscoped.filter(next_run_at__gt=now)
        if periods:
            following = following.filter(renewal_alert_period__gt=periods[-1])
        period = following.order_by("renewal_alert_period").values_list("renewal_alert_period", flat=True)[:1]
        if not period:
            return periods
        periods.append(period[0])


def _renewal_alerts(now: dt.datetime, batch: int) -> int:
    """``order_subscriptions.renewal_alert``, ``renewal_alert_period`` hours before each run, once per run."""
    sent = 0
    pending = OrderSubscription.unscoped.filter(
        status__in=("active", "running"), next_run_at__gt=now
    ).exclude(renewal_alert_sent_for=models.F("next_run_at"))
    # Whose window is open, decided in SQL (one condition per distinct period, at most 720), so subscriptions
    # whose window is not open yet cannot crowd out those whose window is. Each condition is a range of the
    # subscription_alert index: the rows read are those whose window is open, however many subscriptions
    # there are.
    periods = _alert_periods(now)
    if not periods:
        return 0
    window = models.Q()
    for period in periods:
        window |= models.Q(renewal_alert_period=period, next_run_at__lte=now + dt.timedelta(hours=period))
    candidates = pending.filter(window).order_by("next_run_at")
    for subscription in candidates[: batch * 10]:
        assert subscription.next_run_at is not None
        if subscription.next_run_at - dt.timedelta(hours=subscription.renewal_alert_period) > now:
            continue
        with (
            scopes.active(worker_scope(subscription.organization_id, subscription.mode)),
            transaction.atomic(),
        ):
            claimed = (
                OrderSubscription.objects.filter(pk=subscription.pk, next_run_at=subscription.next_run_at)
                .exclude(renewal_alert_sent_for=subscription.next_run_at)
                .update(renewal_alert_sent_for=subscription.next_run_at)
            )
            if claimed:
                hooks.event("order_subscriptions.renewal_alert", "order_subscriptions", subscription)
                sent += 1
    return sent


# --- following the runs -----------------------------------------------------------------------------------


def failure_kind(errors_details: list[dict[str, Any]], errors_log: dict[str, list[str]]) -> str:
    """payment | stock | other, from the stable codes of the failed attempt (or, for factories written before
    codes existed, from errors_log's keys)."""
    retryable = [d for d in errors_details if d.get("retryable")]
    if any(d["attribute"] == "line_items" and d["code"] == "out_of_stock" for d in retryable):
        return "stock"
    if any(d["attribute"] in ("payment_source", "payment_method") for d in retryable):
        return "payment"
    if errors_details:
        return "other"
    if set(errors_log) & {"payment_source", "payment_method"}:
        return "payment"
    if any("out of stock" in message for message in errors_log.get("line_items", [])):
        return "stock"
    return "other"


def on_factory_finished(factory: OrderFactory, status: str) -> None:
    """A run's attempt ended: the run succeeds, is retried after a backoff, or fails; the subscription records
    the attempt (``last_run_at``, ``succeeded_on_last_run``; ``errors_count`` for every failed attempt,
    ``occurrencies`` for a run that succeeded) and is active again.
    ``factory``: the attempt's factory as it was just saved. Only a factory made for a subscription can be a run."""
    if not factory.order_subscription_id:
        return
    attempt = (
        SubscriptionRunAttempt.unscoped.select_related("subscription_run")
        .filter(order_factory_id=factory.pk)
        .first()
    )
    if attempt is None:
        return
    with scopes.active(worker_scope(attempt.organization_id, attempt.mode)), transaction.atomic():
        run = SubscriptionRun.objects.select_for_update().get(pk=attempt.subscription_run_id)
        subscription = (
            OrderSubscription.objects.select_for_update(of=("self",))
            .select_related("subscription_model")
            .get(pk=run.order_subscription_id)
        )
        if run.status in ("succeeded", "failed"):
            return
        before = {f.attname: getattr(subscription, f.attname) for f in subscription._meta.concrete_fields}
        now = clock.now()
        if status == "completed":
            run.status, run.target_order_id, run.next_attempt_at = "succeeded", factory.target_order_id, None
            subscription.last_run_at = now
            subscription.occurrencies += 1
            subscription.succeeded_on_last_run = True
        else:
            kind = (
                failure_kind(factory.errors_details or [], factory.errors_log or {})
                if status == "failed"
                else "other"
            )
            run.failure_kind = kind
            # Every failed attempt counts in Commerce Layer's fields at once, retried or not: a client
            # watching them must see a failing subscription. The retry is the run's (subscription_runs).
            subscription.last_run_at = now
            subscription.errors_count += 1
            subscription.succeeded_on_last_run = False
            allowed = {
                "payment": policy(subscription, "payment_retry_attempts"),
                "stock": policy(subscription, "stock_retry_attempts"),
            }.get(kind, 0)
            if run.attempts <= allowed and subscription.status in ("active", "running"):
                run.status = "retrying"
                run.next_attempt_at = now + dt.timedelta(
                    hours=float(policy(subscription, "retry_backoff_hours")) * (2 ** (run.attempts - 1))
                )
            else:
                run.status, run.next_attempt_at = "failed", None
                after = policy(subscription, "after_retries")
                if after == "deactivate" and subscription.status in ("active", "running"):
                    subscription.status = "inactive"
                elif after == "cancel" and subscription.status != "cancelled":
                    subscription.status, subscription.next_run_at = "cancelled", None
        run.save()
        if (
            subscription.status == "running"
            and not SubscriptionRun.objects.filter(order_subscription=subscription, status="running")
            .exclude(pk=run.pk)
            .exists()
        ):
            subscription.status = "active"
        if subscription.status == "active" and subscription.next_run_at is None and subscription.expires_at:
            subscription.status = "inactive"  # no run left before it expires
        subscription.save()
        hooks.on_write("update", "order_subscriptions", subscription, before)


def _run_of(factory: OrderFactory) -> SubscriptionRun | None:
    """The run this factory was an attempt of, locked, or None."""
    run_id = (
        SubscriptionRunAttempt.objects.filter(order_factory_id=factory.pk)
        .values_list("subscription_run_id", flat=True)
        .first()
    )
    return SubscriptionRun.objects.select_for_update().filter(pk=run_id).first() if run_id else None


def retry_problem(factory: OrderFactory) -> str | None:
    """Why a copy that was a run's attempt may not be retried by hand: its run made its order already, or an
    attempt of it is under way."""
    run = _run_of(factory)
    if run is not None and run.status in ("succeeded", "running"):
        return f"its subscription run is {run.status}"
    return None


def retry_attempt(original: OrderFactory, retry: OrderFactory) -> None:
    """A copy retried by hand (factories.services.retry) that was an attempt of a run becomes the run's next
    attempt: the run is running again (a retry the scheduler had planned is not made) and ends as this attempt
    ends, however it had ended before."""
    run = _run_of(original)
    if run is None:
        return
    run.attempts += 1
    run.status, run.next_attempt_at = "running", None
    run.save(update_fields=["attempts", "status", "next_attempt_at", "updated_at"])
    SubscriptionRunAttempt.objects.create(subscription_run=run, order_factory=retry, number=run.attempts)


def register() -> None:
    from orderfactory.factories import services as factories

    if on_factory_finished not in factories.FINISHED_HOOKS:
        factories.FINISHED_HOOKS.append(on_factory_finished)


# --- preview ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """What a subscription's next run would cost at current prices, and what it would lack today."""

    subtotal_amount_cents: int
    currency_code: str | None
    unpriced_skus: list[str]
    out_of_stock_skus: list[str]


def projections(subscriptions: list[OrderSubscription]) -> dict[str, Projection]:
    """Each subscription's projection by id: its items (automatic) or its source order's SKU lines (manual) at
    its market's current prices, against the stock of its market's inventory model. At most six queries
    whatever the number of subscriptions (the console's overview projects every renewal due in a day)."""
    from orderfactory.catalog.models import Market, Price
    from orderfactory.inventory.models import InventoryStockLocation, StockItem
    from orderfactory.orders.models import LineItem

    lines: dict[str, list[tuple[str | None, str | None, int]]] = {s.pk: [] for s in subscriptions}
    automatic = [s.pk for s in subscriptions if s.automatic]
    if automatic:
        for item in OrderSubscriptionItem.objects.filter(order_subscription_id__in=automatic).order_by(
            "created_at", "id"
        ):
            lines[item.order_subscription_id].append((item.sku_id, item.sku_code, item.quantity))
    by_source: dict[str, list[str]] = defaultdict(list)
    for s in subscriptions:
        if not s.automatic and s.source_order_id:
            by_source[s.source_order_id].append(s.pk)
    if by_source:
        for line in LineItem.objects.filter(order_id__in=list(by_source), item_type="skus").order_by(
            "created_at", "id"
        ):
            for subscription_id in by_source[line.order_id]:
                lines[subscription_id].append((line.sku_id, line.sku_code, line.quantity))
    markets = {
        m.pk: m
        for m in Market.objects.filter(pk__in={s.market_id for s in subscriptions if s.market_id})
        .select_related("price_list")
        .only("price_list", "inventory_model", "price_list__currency_code")
    }
    skus = {sku for rows in lines.values() for sku, _, _ in rows if sku}
    prices: dict[tuple[str, str], int] = {
        (p.price_list_id, p.sku_id): p.amount_cents
        for p in Price.objects.filter(
            price_list_id__in={m.price_list_id for m in markets.values() if m.price_list_id}, sku_id__in=skus
        )
    }
    locations: dict[str, list[str]] = defaultdict(list)
    for model_id, location_id in InventoryStockLocation.objects.filter(
        inventory_model_id__in={m.inventory_model_id for m in markets.values() if m.inventory_model_id},
        on_hold=False,
    ).values_list("inventory_model_id", "stock_location_id"):
        locations[model_id].append(location_id)
    stock: dict[tuple[str, str], int] = defaultdict(int)
    for location_id, sku_id, quantity in StockItem.objects.filter(
        sku_id__in=skus, stock_location_id__in={loc for locs in locations.values() for loc in locs}
    ).values_list("stock_location_id", "sku_id", "quantity"):
        stock[(location_id, sku_id)] += quantity
    out = {}
    for s in subscriptions:
        market = markets.get(s.market_id or "")
        price_list_id = market.price_list_id if market else None
        in_stock = locations.get(market.inventory_model_id or "", []) if market else []

        def priced(sku: str | None, price_list_id: str | None = price_list_id) -> int | None:
            return prices.get((price_list_id or "", sku or ""))

        def available(sku: str | None, in_stock: list[str] = in_stock) -> int:
            return sum(stock.get((location, sku or ""), 0) for location in in_stock)

        rows = lines[s.pk]
        out[s.pk] = Projection(
            subtotal_amount_cents=sum((priced(sku) or 0) * quantity for sku, _, quantity in rows),
            currency_code=market.price_list.currency_code if market and market.price_list else None,
            unpriced_skus=sorted(code or "" for sku, code, _ in rows if priced(sku) is None),
            out_of_stock_skus=sorted(code or "" for sku, code, quantity in rows if available(sku) < quantity),
        )
    return out


def preview(subscription: OrderSubscription, count: int) -> list[dict[str, Any]]:
    """The next ``count`` runs: when, the projected total at current prices, and the SKUs that would not be in
    stock today (an extension: docs/compatibility.md)."""
    if subscription.status in ("cancelled",) or subscription.next_run_at is None:
        return []
    anchor = subscription.anchor_at or subscription.next_run_at
    times = [
        subscription.next_run_at,
        *schedule.upcoming(
            anchor, subscription.frequency, subscription.next_run_at, count - 1, subscription.expires_at
        ),
    ]
    times = [t for t in times if subscription.expires_at is None or t < subscription.expires_at][:count]
    projection = projections([subscription])[subscription.pk]
    skipped = subscription.skip_runs
    out = []
    for position, at in enumerate(times):
        paused = bool(subscription.paused_until and at < subscription.paused_until)
        out.append(
            {
                "scheduled_at": at,
                "skipped": position < skipped,
                "paused": paused,
                "subtotal_amount_cents": projection.subtotal_amount_cents,
                "currency_code": projection.currency_code,
                "unpriced_skus": projection.unpriced_skus,
                "out_of_stock_skus": projection.out_of_stock_skus,
            }
        )
    return out


# --- what a run copies ------------------------------------------------------------------------------------


def run_plan(subscription: OrderSubscription) -> dict[str, Any]:
    """What a run of this subscription copies instead of the source order's own: its items (automatic
    subscriptions), its addresses and its wallet payment source (which the customer may have changed)."""
    items = (
        [
            (item.sku_id, item.sku_code, item.quantity, item.unit_amount_cents)
            for item in subscription.order_subscription_items.all().order_by("created_at", "id")
        ]
        if subscription.automatic
        else None
    )
    return {
        "items": items,
        "billing_address": subscription.billing_address,
        "shipping_address": subscription.shipping_address,
        "wallet_entry": subscription.customer_payment_source,
    }
