"""``_place``: check everything, authorize the payment, take the stock, count the coupon, number the order
and update the customer, all or nothing. Placing manages its own transactions: it may call an external
payment gateway, and no request may hold a database lock while it waits on the network."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.db import models, transaction

from orderfactory.core import clock, hooks
from orderfactory.core.errors import DomainError, Problems
from orderfactory.inventory.models import StockItem
from orderfactory.orders.models import Order, OrderNumberSequence, Shipment, StockAllocation
from orderfactory.orders.services import gift_cards, paying
from orderfactory.orders.services.building import save_payment_source_to_wallet
from orderfactory.orders.services.checks import Placement, check, shippable
from orderfactory.orders.services.loading import lock_number_sequence, lock_order
from orderfactory.orders.services.rules import pointer, transition_error
from orderfactory.payments.error_codes import PaymentErrorCode

if TYPE_CHECKING:
    from orderfactory.payments.models import PaymentMethod

log = logging.getLogger("orderfactory.orders")


def _next_number(order: Order) -> str:
    seq = lock_number_sequence(order)
    OrderNumberSequence.objects.filter(pk=seq.pk).update(last_value=models.F("last_value") + 1)
    return str(seq.last_value + 1)


def _needs_remote_authorization(order: Order) -> bool:
    return bool(
        order.payment_method_id
        and cast("PaymentMethod", order.payment_method).payment_gateway_type == "external_gateways"
        and order.total_amount_with_taxes_cents > 0
    )


def place(order_id: str) -> Order:
    """``_place``: check everything, authorize the payment, take the stock, count the coupon, number the
    order and update the customer, all or nothing. Idempotent: placing a placed order changes nothing.

    Manual gateways authorize at once, so everything happens in one transaction. An external gateway is asked
    over HTTP with no transaction open: the order is first moved to ``placing`` (so a concurrent change or a
    second place cannot interfere), then authorized, then placed in a second transaction that re-checks the
    stock and the coupon under row locks; if that fails, the authorization is voided and the order goes back
    to ``pending``.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status in ("placed", "approved"):
            return order
        before = hooks.snapshot(order)
        remote = _needs_remote_authorization(order)
        problems = Problems()
        placement = check(order, problems, lock_stock=not remote)
        problems.raise_if_any()
        if not remote:
            return _finish_placing(order, before, placement, _authorize_locally(order))
        Order.objects.filter(pk=order.pk, status=order.status).update(
            status="placing", updated_at=clock.now()
        )
    result = _authorize_remotely(order, placement.source)
    try:
        if not result.success:
            raise DomainError.of(
                PaymentErrorCode.AUTHORIZATION_FAILED,
                "payment_source",
                result.message or "authorization failed",
                pointer=pointer("payment_source"),
            )
        with transaction.atomic():
            order = lock_order(order_id)
            if order.status != "placing":
                raise transition_error(order.status, "placed")
            problems = Problems()
            placement = check(order, problems, lock_stock=True, status="placing")
            problems.raise_if_any()
            return _finish_placing(order, before, placement, result)
    except Exception:
        if result.success:
            void_remotely(order, placement.source, result)
        else:
            paying.record_declined_authorization(order, result.message, result.response)
        Order.objects.filter(pk=order_id, status="placing").update(status="pending", updated_at=clock.now())
        raise


@dataclass
class Authorization:
    success: bool
    message: str = ""
    transaction_token: str | None = None
    response: dict[str, Any] | None = None  # the gateway's answer, as received


def _authorize_locally(order: Order) -> Authorization:
    if order.total_amount_with_taxes_cents == 0 or not order.payment_method_id:
        return Authorization(True, "free")
    return Authorization(True, "authorized by the manual gateway")


def _authorize_remotely(order: Order, source: Any) -> Authorization:
    from orderfactory.payments import services as payments

    result = payments.authorize(
        cast("PaymentMethod", order.payment_method),
        source,
        order.total_amount_with_taxes_cents,
        order.currency_code or "",
        order.pk,
    )
    return Authorization(result.success, result.message, result.transaction_token, result.response)


def void_remotely(order: Order, source: Any, authorization: Authorization) -> None:
    """Give an authorization back to the gateway (it retries); a failure is logged, never raised: the order's
    own outcome is already decided."""
    from orderfactory.payments import services as payments

    try:
        result = payments.void(
            cast("PaymentMethod", order.payment_method),
            source,
            authorization.transaction_token,
            order.pk,
            amount_cents=order.total_amount_with_taxes_cents,
            currency_code=order.currency_code,
        )
        if not result.success:
            log.warning(
                "the gateway did not void the authorization of order %s: %s", order.pk, result.message
            )
    except Exception:
        log.exception("could not void the authorization of order %s", order.pk)


def _finish_placing(
    order: Order, before: dict[str, Any], placement: Placement, authorization: Authorization
) -> Order:
    """The second half of placing, inside a transaction holding the order's row lock and its stock rows'
    locks: count the coupon, take the stock, number the order. A constant number of queries whatever the
    number of line items."""
    from orderfactory.promotions.services import CouponInvalid, count_usage

    if placement.promotion_ids or placement.coupon is not None:
        try:
            count_usage(
                promotion_ids=placement.promotion_ids,
                coupon_id=placement.coupon.pk if placement.coupon else None,
            )
        except CouponInvalid as exc:
            raise DomainError.of(exc.reason, "coupon_code", exc.message) from None
    with hooks.recording("orders", order, before=before):
        _mark_placed(order, placement, authorization)
    gift_cards.redeem(order, placement.gift_card)
    gift_cards.purchase(order, placement.sold_card_ids)
    hooks.event("orders.place", "orders", order)
    return order


def _mark_placed(order: Order, placement: Placement, authorization: Authorization) -> None:
    """Take the stock, number the order and its shipments, count the customer's order: compare-and-set on
    the status, so a concurrent transition makes it fail whole."""
    from orderfactory.customers.services import count_placed_order

    if placement.allocation:
        taken: dict[str, int] = defaultdict(int)
        items: dict[str, StockItem] = {}
        for _line, item, quantity in placement.allocation:
            taken[item.pk] += quantity
            items[item.pk] = item
        for pk, quantity in taken.items():
            items[pk].quantity -= quantity
        StockItem.objects.bulk_update(sorted(items.values(), key=lambda i: i.pk), ["quantity"])
        StockAllocation.objects.bulk_create(
            [
                StockAllocation(order=order, line_item=line, stock_item=item, quantity=q)
                for line, item, q in placement.allocation
            ]
        )
    now = clock.now()
    previous_status = order.status
    order.number = order.number or _next_number(order)
    order.status = "placed"
    order.placed_at = now
    order.payment_status = "free" if order.total_amount_with_taxes_cents == 0 else "authorized"
    order.payment_updated_at = now
    order.fulfillment_status = "unfulfilled" if shippable(placement.lines) else "not_required"
    order.fulfillment_updated_at = now
    order.place_total_amount_cents = order.total_amount_cents
    order.payment_source_details = {
        "authorization": authorization.message,
        "transaction_token": authorization.transaction_token,
    }
    order.updated_at = now
    updated = Order.objects.filter(pk=order.pk, status=previous_status).update(
        number=order.number,
        status="placed",
        placed_at=now,
        payment_status=order.payment_status,
        payment_updated_at=now,
        fulfillment_status=order.fulfillment_status,
        fulfillment_updated_at=now,
        place_total_amount_cents=order.total_amount_cents,
        payment_source_details=order.payment_source_details,
        updated_at=now,
    )
    if not updated:
        raise transition_error(previous_status, "placed")
    for position, shipment in enumerate(placement.shipments, start=1):
        shipment.status = "upcoming"
        shipment.number = f"{order.number}/S/{position:03d}"
    if placement.shipments:
        Shipment.objects.bulk_update(placement.shipments, ["status", "number"])
    if order.customer_id:
        count_placed_order(order.customer_id)
    if order.save_payment_source_to_wallet:
        save_payment_source_to_wallet(order)
    paying.record_placing_authorization(
        order, authorization.success, authorization.message, authorization.transaction_token
    )
