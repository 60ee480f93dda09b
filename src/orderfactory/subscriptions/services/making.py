"""Making subscriptions: by hand from a source order (``create_manual``), or automatically from a placed
order's line items that carry a frequency (``create_from_order``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from orderfactory.core import clock, hooks
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, blank, problem
from orderfactory.orders import services as orders
from orderfactory.orders.services import editing
from orderfactory.subscriptions import schedule
from orderfactory.subscriptions.error_codes import SubscriptionErrorCode
from orderfactory.subscriptions.frequencies import frequency_problems, model_of_market
from orderfactory.subscriptions.models import OrderSubscription, OrderSubscriptionItem
from orderfactory.subscriptions.services.rules import (
    dates_problems,
    no_subscription_model,
    transition_error,
)


def _wallet_entry_of(order: Any) -> Any:
    from orderfactory.customers.services import wallet_entry_for

    if not order.payment_source_type or not order.payment_source_id:
        return None
    return wallet_entry_for(order.payment_source_type, order.payment_source_id)


def _copy_addresses(subscription: OrderSubscription, order: Any) -> None:
    if order.billing_address_id:
        subscription.billing_address = orders.clone_address(order.billing_address)
    if order.shipping_address_id:
        subscription.shipping_address = orders.clone_address(order.shipping_address)


def create_manual(columns: dict[str, Any]) -> OrderSubscription:
    """A subscription made by hand from a source order (the "manual" path: each run copies the whole order).
    With ``activate_by_source_order`` (default) the source must be placed and the subscription is active at
    once, runs counted from now; without it ``starts_at`` is required and ``_activate`` starts it."""
    from orderfactory.orders.models import Order

    subscription = OrderSubscription(**columns)
    problems: list[Problem] = []
    source: Order | None = subscription.source_order if subscription.source_order_id else None
    if source is None:
        problems.append(blank("source_order", relationship=True))
    if subscription.market_id is None and source is not None:
        subscription.market_id = source.market_id
    model = model_of_market(subscription.market_id)
    problems += frequency_problems(subscription.frequency, model)
    problems += dates_problems(subscription)
    if (
        subscription.activate_by_source_order
        and source is not None
        and source.status not in ("placed", "approved")
    ):
        problems.append(
            problem(
                "source_order",
                "must be placed to activate the subscription by it",
                SubscriptionErrorCode.NOT_PLACED,
                pointer="/data/relationships/source_order",
            )
        )
    if not subscription.activate_by_source_order and subscription.starts_at is None:
        problems.append(blank("starts_at"))
    if problems:
        raise DomainError(problems)
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


def add_items(subscription: OrderSubscription, lines: Any) -> None:
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


@editing.makes_subscriptions
def create_from_order(order: Any) -> list[OrderSubscription]:
    """``_create_subscriptions`` on a placed order (the automatic path): one subscription per frequency
    (``by_frequency``) or per line item (``by_line_items``) of the line items that carry one. The source order
    counts as run 1."""
    from orderfactory.orders.models import LineItem

    if order.status not in ("placed", "approved"):
        raise transition_error(order.status, "subscribed")
    model = model_of_market(order.market_id)
    if model is None:
        raise no_subscription_model()
    if OrderSubscription.objects.filter(source_order=order, subscription_model__isnull=False).exists():
        return list(OrderSubscription.objects.filter(source_order=order))
    lines = list(
        LineItem.objects.filter(order=order, item_type="skus")
        .exclude(frequency__isnull=True)
        .exclude(frequency="")
        .order_by("created_at", "id")
    )
    if not lines:
        raise DomainError.of(CommonErrorCode.BLANK, "line_items", "have no frequency")
    found = [p for line in lines for p in frequency_problems(line.frequency, model, "line_items")]
    if found:
        raise DomainError(found[:1])
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
        add_items(subscription, group)
        hooks.on_write("create", "order_subscriptions", subscription, None)
        made.append(subscription)
    type(order).objects.filter(pk=order.pk).update(subscription_created_at=now)
    return made
