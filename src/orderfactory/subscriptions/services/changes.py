"""Changing a subscription: its attributes and its triggers (``_activate``, ``_skip``, ``_pause_until``,
``_convert``...), and the cancellation a cancelled source order brings (``auto_cancel``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from orderfactory.core import clock, hooks
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.orders.models import LineItem
from orderfactory.subscriptions import schedule
from orderfactory.subscriptions.frequencies import frequency_problems, model_of_market
from orderfactory.subscriptions.models import OrderSubscription
from orderfactory.subscriptions.services.making import add_items
from orderfactory.subscriptions.services.rules import (
    TRANSITIONS,
    dates_problems,
    no_subscription_model,
    transition_error,
)


def update(
    subscription: OrderSubscription, columns: dict[str, Any], triggers: dict[str, Any]
) -> OrderSubscription:
    """Apply ``columns`` (``customer_payment_source``: the wallet entry to link, which must be the
    customer's) and ``triggers`` (name -> value; a null or false value is no trigger) to the subscription, as
    its PATCH does, inside the caller's transaction."""
    triggers = {k: v for k, v in triggers.items() if v not in (None, False)}
    entry = columns.get("customer_payment_source")
    if entry is not None and entry.customer_id != subscription.customer_id:
        raise DomainError.of(
            CommonErrorCode.INVALID,
            "customer_payment_source",
            "belongs to another customer",
            pointer="/data/relationships/customer_payment_source",
        )
    now = clock.now()
    problems: list[Problem] = []
    if "frequency" in columns:
        problems += frequency_problems(columns["frequency"], subscription.subscription_model)
    if "next_run_at" in columns and columns["next_run_at"] is not None and columns["next_run_at"] <= now:
        problems.append(
            problem(
                "next_run_at",
                "must be in the future",
                CommonErrorCode.GREATER_THAN,
                value=columns["next_run_at"].isoformat(),
            )
        )
    if (
        "_pause_until" in triggers
        and triggers["_pause_until"] is not None
        and triggers["_pause_until"] <= now
    ):
        problems.append(problem("_pause_until", "must be in the future", CommonErrorCode.GREATER_THAN))
    for name in ("missed_runs_policy", "after_retries"):
        allowed = {
            "missed_runs_policy": ("skip", "run_once", "run_all"),
            "after_retries": ("skip", "deactivate", "cancel"),
        }[name]
        if columns.get(name) not in (None, *allowed):
            problems.append(
                problem(name, "is not included in the list", CommonErrorCode.INCLUSION, value=columns[name])
            )
    for name in ("payment_retry_attempts", "stock_retry_attempts"):
        if columns.get(name) is not None and not 0 <= columns[name] <= 20:
            problems.append(
                problem(name, "must be between 0 and 20", CommonErrorCode.INCLUSION, value=columns[name])
            )
    if columns.get("retry_backoff_hours") is not None and not 0 < columns["retry_backoff_hours"] <= 24 * 90:
        problems.append(
            problem(
                "retry_backoff_hours", "must be greater than 0 and at most 2160", CommonErrorCode.INCLUSION
            )
        )
    skip = triggers.get("_skip")
    if skip is not None and not 0 <= skip <= 1000:
        problems.append(
            problem("_skip", "must be true or a number of runs between 0 and 1000", CommonErrorCode.INVALID)
        )
    if problems:
        raise DomainError(problems)
    for column, value in columns.items():
        setattr(subscription, column, value)
    if found := dates_problems(subscription):
        raise DomainError(found)
    if "frequency" in columns or "next_run_at" in columns:
        # The schedule counts from the new point: the given next run, or now.
        subscription.anchor_at = (
            subscription.next_run_at if "next_run_at" in columns and subscription.next_run_at else now
        )
        if "next_run_at" not in columns and subscription.is_active:
            subscription.next_run_at = schedule.next_after(
                subscription.anchor_at, subscription.frequency, now
            )
    # The named events are written once the row is saved, so their webhook payloads show the new state.
    with hooks.batched():
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
    return subscription


def _transition(subscription: OrderSubscription, trigger: str, now: dt.datetime) -> None:
    """Move to the trigger's status and fire its event (inside a ``hooks.batched`` block that saves the row)."""
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
    hooks.event(f"order_subscriptions.{name}", "order_subscriptions", subscription)


def _convert(subscription: OrderSubscription) -> None:
    """``_convert``: a manual subscription becomes automatic (its runs then copy its items, from the source's
    lines); the market must have a subscription model."""
    if subscription.subscription_model_id:
        raise DomainError.of(CommonErrorCode.INVALID, "_convert", "the subscription is automatic already")
    model = model_of_market(subscription.market_id)
    if model is None:
        raise no_subscription_model()
    subscription.subscription_model = model
    lines = LineItem.objects.filter(order_id=subscription.source_order_id, item_type="skus")
    add_items(subscription, lines)


def cancel_for_source_order(order: Any) -> None:
    """``auto_cancel``: cancelling a source order cancels its subscriptions whose model says so."""
    now = clock.now()
    for subscription in OrderSubscription.objects.filter(
        source_order_id=order.pk, subscription_model__auto_cancel=True
    ).exclude(status="cancelled"):
        with hooks.batched(), hooks.recording("order_subscriptions", subscription):
            _transition(subscription, "_cancel", now)
            subscription.save()


@hooks.register_event
def _on_event(name: str, resource_type: str, instance: Any) -> None:
    if name == "orders.cancel":
        cancel_for_source_order(instance)
