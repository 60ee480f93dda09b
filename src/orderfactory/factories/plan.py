"""A subscription run's copy, as the factories see it: what it copies of its subscription instead of the
source order's own, and how a copy retried by hand stays its run's attempt. Reads and writes subscription
rows only (the subscriptions app starts the runs and follows them through the events the factory fires)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from orderfactory.core import locks
from orderfactory.factories.models import OrderFactory
from orderfactory.subscriptions.models import OrderSubscription, SubscriptionRun, SubscriptionRunAttempt


class PlanItem(NamedTuple):
    """An item of an automatic subscription, as its run copies it: a SKU or a bundle."""

    id: str
    sku_id: str | None
    sku_code: str | None
    bundle_id: str | None
    bundle_code: str | None
    quantity: int
    unit_amount_cents: int | None


@dataclass(frozen=True)
class Plan:
    """What a run copies instead of the source order's own; None: the source's. ``items``: the items of an
    automatic subscription (they may differ from the source's lines)."""

    items: list[PlanItem] | None = None
    billing_address: Any = None
    shipping_address: Any = None
    wallet_entry: Any = None


NO_PLAN = Plan()


def plan_of(factory: OrderFactory) -> Plan:
    """A subscription run copies the subscription's items (automatic subscriptions), its addresses and its
    wallet payment source (which the customer may have changed)."""
    if not factory.order_subscription_id:
        return NO_PLAN
    subscription = factory.order_subscription
    assert subscription is not None  # the copy aborts when it is gone
    return run_plan(subscription)


def run_plan(subscription: OrderSubscription) -> Plan:
    items = (
        [
            PlanItem(
                item.pk,
                item.sku_id,
                item.sku_code,
                item.bundle_id,
                item.bundle_code,
                item.quantity,
                item.unit_amount_cents,
            )
            for item in subscription.order_subscription_items.all().order_by("created_at", "id")
        ]
        if subscription.automatic
        else None
    )
    return Plan(
        items=items,
        billing_address=subscription.billing_address,
        shipping_address=subscription.shipping_address,
        wallet_entry=subscription.customer_payment_source,
    )


def _run_of(factory: OrderFactory) -> SubscriptionRun | None:
    """The run this factory was an attempt of, locked, or None."""
    run_id = (
        SubscriptionRunAttempt.objects.filter(order_factory_id=factory.pk)
        .values_list("subscription_run_id", flat=True)
        .first()
    )
    return locks.lock_one(SubscriptionRun.objects, run_id) if run_id else None


def retry_problem(factory: OrderFactory) -> str | None:
    """Why a copy that was a run's attempt may not be retried by hand: its run made its order already, or an
    attempt of it is under way."""
    run = _run_of(factory)
    if run is not None and run.status in ("succeeded", "running"):
        return f"its subscription run is {run.status}"
    return None


def retry_attempt(original: OrderFactory, retry: OrderFactory) -> None:
    """A copy retried by hand that was an attempt of a run becomes the run's next attempt: the run is running
    again (a retry the scheduler had planned is not made) and ends as this attempt ends, however it had ended
    before."""
    run = _run_of(original)
    if run is None:
        return
    run.attempts += 1
    run.status, run.next_attempt_at = "running", None
    run.save(update_fields=["attempts", "status", "next_attempt_at", "updated_at"])
    SubscriptionRunAttempt.objects.create(subscription_run=run, order_factory=retry, number=run.attempts)
