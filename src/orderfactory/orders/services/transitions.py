"""The order's transitions other than placing: cancel, approve, archive, and deleting an order not placed.
Each is a compare-and-set on the status column."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.db.models import QuerySet

from orderfactory.core import clock, hooks
from orderfactory.core.errors import CommonErrorCode, DomainError
from orderfactory.inventory.models import StockItem
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import LineItem, LineItemOption, Order, Shipment, StockAllocation
from orderfactory.orders.services import gift_cards, paying
from orderfactory.orders.services.building import payment_source_of
from orderfactory.orders.services.loading import lock_order, lock_stock_items
from orderfactory.orders.services.placing import Authorization, void_remotely
from orderfactory.orders.services.rules import EDITABLE, PROMOTION_LINES, transition_error


def cancel(order_id: str) -> Order:
    """``_cancel``: placed or approved -> cancelled; restores the stock, gives back coupon uses, and voids the
    authorization (an external gateway is told after the commit, with retries). Its own transaction."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == "cancelled":
            return order
        if order.status not in ("placed", "approved", "pending", "placing"):
            raise transition_error(order.status, "cancelled")
        placed = order.status in ("placed", "approved")
        if placed and order.fulfillment_status in ("in_progress", "fulfilled") and _sent(order):
            raise DomainError.of(
                OrderErrorCode.TRANSITION,
                "status",
                "cannot cancel an order whose goods have shipped: cancel its other shipments instead",
            )
        with hooks.recording("orders", order) as before:
            _mark_cancelled(order, placed=placed)
            order.refresh_from_db()
        hooks.event("orders.cancel", "orders", order)
        if placed and order.payment_method_id:
            token = (before.get("payment_source_details") or {}).get("transaction_token")
            after = paying.void_on_cancel(
                order, lambda: void_remotely(order, payment_source_of(order), Authorization(True, "", token))
            )
            if after is not None:
                transaction.on_commit(after)
    return order


def _sent(order: Order) -> bool:
    return Shipment.objects.filter(order=order, status__in=("shipped", "delivered")).exists()


def _mark_cancelled(order: Order, *, placed: bool) -> None:
    now = clock.now()
    updated = Order.objects.filter(pk=order.pk, status=order.status).update(
        status="cancelled",
        cancelled_at=now,
        updated_at=now,
        payment_status="voided" if placed and order.payment_status == "authorized" else order.payment_status,
        payment_updated_at=now,
    )
    if not updated:
        raise transition_error(order.status, "cancelled")
    if placed:
        _give_back(order, now)
        Shipment.objects.filter(order=order).update(status="cancelled")


def release_stock(allocations: QuerySet[StockAllocation], now: object) -> None:
    """Give back the stock of these allocations not released yet (an order or a shipment cancelled), the stock
    items locked in primary-key order."""
    taken = list(allocations.filter(released_at__isnull=True).order_by("stock_item_id"))
    given: dict[str, int] = defaultdict(int)
    for a in taken:
        given[a.stock_item_id] += a.quantity
    items = lock_stock_items(given)
    for item in items:
        item.quantity += given[item.pk]
    if items:
        StockItem.objects.bulk_update(items, ["quantity"])
    StockAllocation.objects.filter(pk__in=[a.pk for a in taken]).update(released_at=now)


def _give_back(order: Order, now: object) -> None:
    """The stock a placed order took, its gift card's balance, and the uses of its promotions and coupon."""
    from orderfactory.promotions.models import Coupon
    from orderfactory.promotions.services import release_usage

    release_stock(StockAllocation.objects.filter(order=order), now)
    gift_cards.give_back(order)
    promotion_ids = [
        p
        for p in LineItem.objects.filter(order=order, item_type__in=PROMOTION_LINES).values_list(
            "item_id", flat=True
        )
        if p
    ]
    coupon_id = None
    if order.coupon_code:
        coupon_id = Coupon.objects.filter(code=order.coupon_code).values_list("pk", flat=True).first()
    if promotion_ids or coupon_id:
        release_usage(promotion_ids=promotion_ids, coupon_id=coupon_id)


def approve(order: Order) -> None:
    if order.status != "placed":
        raise transition_error(order.status, "approved")
    now = clock.now()
    # Approving starts the fulfilment (docs/decisions.md, "Shipments' fulfilment"): the warehouse may handle
    # the goods from now on.
    starts = order.fulfillment_status == "unfulfilled"
    fulfilment = {"fulfillment_status": "in_progress", "fulfillment_updated_at": now} if starts else {}
    if not Order.objects.filter(pk=order.pk, status="placed").update(
        status="approved", approved_at=now, updated_at=now, **fulfilment
    ):
        raise transition_error(order.status, "approved")
    order.status, order.approved_at = "approved", now
    for column, value in fulfilment.items():
        setattr(order, column, value)
    hooks.event("orders.approve", "orders", order)
    if starts:
        hooks.event("orders.start_fulfilling", "orders", order)


def archive(order: Order, archived: bool) -> None:
    order.archived_at = clock.now() if archived else None


def delete_order(order: Order) -> None:
    if order.status not in EDITABLE:
        raise DomainError.of(
            CommonErrorCode.LOCKED,
            "base",
            f"An order in status {order.status} cannot be deleted; archive it instead.",
        )
    if order.line_item_options_count:
        LineItemOption.objects.filter(line_item__order=order).delete()
    order.delete()
