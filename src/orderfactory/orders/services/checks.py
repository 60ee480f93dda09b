"""What placing requires of an order (contract b, "What placing checks"), all found at once: ``_validate``
reports it, placing refuses on it and keeps what it read (``Placement``) to place the order."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from orderfactory.core import clock
from orderfactory.core.errors import CommonErrorCode, ErrorCode, Problems
from orderfactory.customers.groups import outside_group
from orderfactory.inventory.models import StockItem
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.orders.models import LineItem, Order, Shipment
from orderfactory.orders.services import gift_cards
from orderfactory.orders.services.building import payment_source_of
from orderfactory.orders.services.goods import goods_of, load_parts, ships
from orderfactory.orders.services.loading import stock_on_hand
from orderfactory.orders.services.rules import GIFT_CARD_LINE, GOODS, PROMOTION_LINES, pointer
from orderfactory.orders.services.taxing import require_taxes
from orderfactory.payments.error_codes import PaymentErrorCode


def shippable(lines: list[LineItem]) -> bool:
    return any(ships(line) for line in lines)


@dataclass
class Placement:
    """What placing reads once and uses twice: to check the order and then to place it."""

    lines: list[LineItem]  # the lines of goods (SKUs and bundles)
    promotion_ids: list[str]
    shipments: list[Shipment]
    source: Any
    coupon: Any = None
    gift_card: Any = None  # the card whose balance the order takes, locked when the stock is
    sold_card_ids: list[str] = field(default_factory=list)  # the gift cards the order sells
    allocation: list[tuple[LineItem, StockItem, int]] = field(default_factory=list)


def _add(problems: Problems, attribute: str, message: str, code: ErrorCode) -> None:
    problems.add(attribute, message, code, pointer=pointer(attribute))


def validate(order: Order) -> None:
    """``_validate``: report what would stop the order from being placed (422), change nothing."""
    problems = Problems()
    check_placeable(order, problems)
    problems.raise_if_any()


def check_placeable(order: Order, problems: Problems) -> tuple[list[LineItem], Any]:
    """Everything placing requires, all at once."""
    placement = check(order, problems, lock_stock=False)
    return placement.lines, placement.source


def check(order: Order, problems: Problems, *, lock_stock: bool, status: str = "pending") -> Placement:
    """``check_placeable`` for an order in ``status``; with ``lock_stock`` the stock rows are locked and the
    allocation kept."""
    from orderfactory.promotions.services import CouponInvalid, check_coupon

    if order.status != status:
        _add(
            problems, "status", f"cannot transition from {order.status} to placed", OrderErrorCode.TRANSITION
        )
    every_line = list(LineItem.objects.filter(order=order).select_related("sku").order_by("created_at", "id"))
    lines = [line for line in every_line if line.item_type in GOODS]
    load_parts(lines)
    promotion_ids = [
        line.item_id for line in every_line if line.item_type in PROMOTION_LINES and line.item_id
    ]
    shipments = list(
        Shipment.objects.filter(order=order).order_by(
            "inventory_stock_location__on_hold", "inventory_stock_location__priority", "created_at", "id"
        )
    )
    sold_card_ids = [
        line.gift_card_id
        for line in every_line
        if line.item_type == GIFT_CARD_LINE and line.gift_card_id and line.total_amount_cents > 0
    ]
    if not lines and not sold_card_ids:
        _add(problems, "line_items", "can't be blank", CommonErrorCode.BLANK)
    if not order.customer_email:
        _add(problems, "customer_email", "can't be blank", CommonErrorCode.BLANK)
    assert order.market is not None
    refused = outside_group(order.market.customer_group_id, order.customer_id, guest=order.guest)
    if refused is not None:
        _add(problems, "market", refused, OrderErrorCode.PRIVATE_MARKET)
    if not order.billing_address_id:
        _add(problems, "billing_address", "can't be blank", CommonErrorCode.BLANK)
    if shippable(lines):
        if not order.shipping_address_id:
            _add(problems, "shipping_address", "can't be blank", CommonErrorCode.BLANK)
        for position, shipment in enumerate(shipments, start=1):
            if not shipment.shipping_method_id:
                _add(
                    problems,
                    "shipments",
                    f"shipment {position} has no shipping method",
                    OrderErrorCode.SHIPPING_METHOD_BLANK,
                )
    source = payment_source_of(order)
    if order.total_amount_with_taxes_cents > 0:
        method = order.payment_method
        if method is None:
            _add(problems, "payment_method", "can't be blank", CommonErrorCode.BLANK)
        elif method.disabled_at is not None:
            _add(problems, "payment_method", "is disabled", OrderErrorCode.DISABLED)
        if source is None:
            _add(problems, "payment_source", "can't be blank", PaymentErrorCode.BLANK)
        elif method is not None and order.payment_source_type != method.payment_source_type:
            _add(
                problems,
                "payment_source",
                f"must be one of the payment method's {method.payment_source_type}",
                CommonErrorCode.INVALID,
            )
    coupon = None
    if order.coupon_code:
        try:
            coupon = check_coupon(order.coupon_code, market_id=order.market_id, at=clock.now())
        except CouponInvalid as exc:
            _add(problems, "coupon_code", exc.message, exc.reason)
    require_taxes(order, problems)
    allocation = _check_stock(order, lines, problems, lock=lock_stock)
    # Locked after the stock rows, as cancel does (order, stock, card): two of them never wait on each other.
    gift_card = gift_cards.check_redemption(order, problems, lock=lock_stock)
    return Placement(lines, promotion_ids, shipments, source, coupon, gift_card, sold_card_ids, allocation)


def _needed(lines: list[LineItem]) -> dict[str, int]:
    """How many of each tracked SKU the lines take (a bundle line its quantity times each part's)."""
    needed: dict[str, int] = defaultdict(int)
    for line in lines:
        for part in goods_of(line):
            if not part.sku.do_not_track:
                needed[part.sku.pk] += line.quantity * part.quantity
    return needed


def _check_stock(
    order: Order, lines: list[LineItem], problems: Problems, *, lock: bool
) -> list[tuple[LineItem, StockItem, int]]:
    """Whether the market's stock locations hold enough of every tracked SKU; with ``lock`` the stock rows are
    locked (in primary-key order, so concurrent placements cannot deadlock) and the allocation returned."""
    needed = _needed(lines)
    if not needed:
        return []
    stock = stock_on_hand(order, needed, lock=lock)
    priority = {loc.stock_location_id: i for i, loc in enumerate(stock.locations)}
    by_sku: dict[str, list[StockItem]] = defaultdict(list)
    for item in sorted(stock.items, key=lambda i: priority.get(i.stock_location_id, 10**6)):
        by_sku[item.sku_id].append(item)
    allocation: list[tuple[LineItem, StockItem, int]] = []
    left = {item.pk: item.quantity for item in stock.items}
    short: set[str] = set()
    for line in lines:
        for part in goods_of(line):
            if part.sku.do_not_track:
                continue
            remaining = line.quantity * part.quantity
            for item in by_sku.get(part.sku.pk, []):
                take = min(left[item.pk], remaining)
                if take > 0:
                    allocation.append((line, item, take))
                    left[item.pk] -= take
                    remaining -= take
                if remaining == 0:
                    break
            if remaining > 0 and part.sku.pk not in short:
                short.add(part.sku.pk)
                available = sum(i.quantity for i in by_sku.get(part.sku.pk, []))
                of_bundle = f" (bundle {line.bundle_code})" if line.bundle_code else ""
                # ``sku_code``: a copy points its errors_details entry at its source's line (factories.failures).
                problems.add(
                    "line_items",
                    f"{part.sku.code}{of_bundle} is out of stock "
                    f"(requested {needed[part.sku.pk]}, available {available})",
                    OrderErrorCode.OUT_OF_STOCK,
                    pointer=pointer("line_items"),
                    sku_code=part.sku.code,
                )
    return allocation
