"""Pricing an order: its lines' totals, its shipments and their cost lines, its payment method line, its
promotion lines and every total, in a constant number of queries whatever the number of lines; and
``_refresh``, which takes the market's current prices again; and the orders using an address that moved,
priced again. Inside the caller's transaction."""

from __future__ import annotations

from collections import defaultdict
from contextlib import nullcontext

from django.db import transaction
from django.db.models import Q

from orderfactory.addresses import services as address_services
from orderfactory.addresses.models import Address
from orderfactory.catalog import tiers
from orderfactory.catalog.models import Bundle, Price
from orderfactory.core import clock, hooks, locks
from orderfactory.core.errors import DomainError
from orderfactory.orders.models import LineItem, Order
from orderfactory.orders.services import gift_cards, taxing
from orderfactory.orders.services.rules import (
    ADJUSTMENT_LINE,
    BUNDLE_LINE,
    FREE_SHIPPING_LINE,
    GIFT_CARD_LINE,
    GOODS,
    PAYMENT_LINE,
    PROMOTION_LINES,
    SHIPMENT_LINE,
    SKU,
    check_amounts,
    require_editable,
)
from orderfactory.orders.services.shipments import DroppedMethods, PreferredMethods, rebuild_shipments


def _promotion_lines(
    order: Order, sku_lines: list[LineItem], subtotal: int, shipping_cents: int
) -> list[LineItem]:
    """The promotion lines of an order whose goods are ``sku_lines``, and each of those lines' share. A
    promotion's base is the goods alone: a gift card the order sells is in its ``subtotal`` but is money, never
    discounted nor counted towards an order amount rule (docs/decisions.md, "Promotion kinds")."""
    from orderfactory.promotions.conditions import LINE_ATTRIBUTES, ORDER_ATTRIBUTES
    from orderfactory.promotions.discounts import OrderFacts, discounts_for
    from orderfactory.promotions.lists import Line
    from orderfactory.promotions.services import CouponInvalid

    goods = sum(line.total_amount_cents for line in sku_lines)
    # What the order amount and custom rules read: the order as it is being priced, before its discounts.
    facts = OrderFacts(
        goods,
        goods + shipping_cents,
        {
            **{name: getattr(order, name, None) for name in ORDER_ATTRIBUTES},
            "subtotal_amount_cents": subtotal,
            "shipping_amount_cents": shipping_cents,
            "skus_count": sum(line.quantity for line in sku_lines),
        },
        tuple({name: getattr(line, name, None) for name in LINE_ATTRIBUTES} for line in sku_lines),
    )
    try:
        discounts = discounts_for(
            market_id=order.market_id,
            coupon_code=order.coupon_code,
            subtotal_cents=goods,
            lines=[
                Line(
                    line.pk,
                    line.sku_code or "",
                    line.total_amount_cents,
                    line.quantity,
                    line.unit_amount_cents,
                    line.bundle_id if line.item_type == BUNDLE_LINE else None,
                )
                for line in sku_lines
            ],
            at=clock.now(),
            currency_code=order.currency_code,
            shipping_cents=shipping_cents,
            facts=facts,
        )
    except CouponInvalid:
        # The coupon stopped being valid after it was applied: it gives no discount; placing reports it.
        discounts = []
    per_line: dict[str, int] = defaultdict(int)
    # Commerce Layer's discount_breakdown: promotion id -> its name, its cents on the line, the line's weight
    # in the subtotal, and the coupon that triggered it.
    weights = {line.pk: round(line.total_amount_cents / goods, 3) if goods else 0 for line in sku_lines}
    breakdown: dict[str, dict[str, dict[str, object]]] = defaultdict(dict)
    lines = []
    for d in discounts:
        for line_id, cents in d.per_line.items():
            per_line[line_id] += cents
            breakdown[line_id][d.promotion.pk] = {
                "name": d.name,
                "cents": cents,
                "weight": weights.get(line_id, 0),
                "coupon_code": d.coupon_code,
            }
        lines.append(
            LineItem(
                order=order,
                item_type=d.promotion.type,
                item_id=d.promotion.pk,
                name=d.name,
                quantity=1,
                currency_code=order.currency_code,
                unit_amount_cents=d.amount_cents,
                total_amount_cents=d.amount_cents,
                coupon_code=d.coupon_code,
            )
        )
    for line in sku_lines:
        line.discount_cents = per_line.get(line.pk, 0)
        line.discount_breakdown = breakdown.get(line.pk) or None
    return lines


def _redemption_line(order: Order, total_cents: int) -> LineItem | None:
    """The line of the order's gift card: what it pays of ``total_cents``, up to its balance, as a negative
    amount; none when the card pays nothing or can no longer be used (placing then refuses, on
    ``gift_card_code``)."""
    if not order.gift_card_code or total_cents <= 0:
        return None
    try:
        card = gift_cards.usable_card(order)
    except DomainError:
        return None
    paid = min(card.balance_cents or 0, total_cents)
    return LineItem(
        order=order,
        item_type=GIFT_CARD_LINE,
        item_id=card.pk,
        gift_card=card,
        name="Gift card",
        quantity=1,
        currency_code=order.currency_code,
        unit_amount_cents=-paid,
        total_amount_cents=-paid,
    )


def recompute(
    order: Order,
    *,
    frozen_promotions: bool = False,
    new_lines: list[LineItem] | None = None,
    preferred_methods: PreferredMethods | None = None,
    dropped_methods: DroppedMethods | None = None,
) -> None:
    """Price the order again from its SKU lines: shipments and their cost lines, the payment method line, the
    promotion lines, every total, and ``draft``/``pending`` from whether it has items. A constant number of
    queries whatever the number of line items.

    ``new_lines``: the order is new and not written yet (an order copy); these are its lines, unsaved, each
    with its ``sku`` loaded. They are priced in memory, and the order, its shipments and every line are then
    written once each (``preferred_methods`` and ``dropped_methods`` as ``rebuild_shipments``'s
    ``preferred`` and ``dropped``)."""
    fresh = new_lines is not None
    lines = (
        new_lines
        if new_lines is not None
        else list(LineItem.objects.filter(order=order).select_related("sku", "adjustment"))
    )
    # The lines of goods: SKUs and bundles.
    sku_lines = [line for line in lines if line.item_type in GOODS]
    priced = (
        "total_amount_cents",
        "discount_cents",
        "discount_breakdown",
        "fulfilling_shipment_id",
        "currency_code",
    )
    was = {line.pk: tuple(getattr(line, column) for column in priced) for line in sku_lines}
    for line in sku_lines:
        line.currency_code = order.currency_code
    kept_promotions = (
        [line for line in lines if line.item_type in PROMOTION_LINES] if frozen_promotions else []
    )
    # Added by hand, as SKU lines are: kept, at the amount they were added with.
    adjustments = [line for line in lines if line.item_type == ADJUSTMENT_LINE]
    # Gift cards the order sells (a positive amount; the card it redeems is a negative line, derived below): in
    # the subtotal at the price they were added with, never shipped.
    purchases = [line for line in lines if line.item_type == GIFT_CARD_LINE and line.total_amount_cents > 0]
    for line in sku_lines:
        line.total_amount_cents = (line.unit_amount_cents or 0) * line.quantity + (
            line.options_amount_cents or 0
        )
    subtotal = sum(line.total_amount_cents for line in [*sku_lines, *purchases])
    check_amounts(subtotal, *(line.total_amount_cents for line in sku_lines))
    shipments = (
        rebuild_shipments(
            order, sku_lines, subtotal, fresh=fresh, preferred=preferred_methods, dropped=dropped_methods
        )
        if order.market_id
        else []
    )
    derived: list[LineItem] = []
    for shipment in shipments:
        derived.append(
            LineItem(
                order=order,
                item_type=SHIPMENT_LINE,
                item_id=shipment.pk,
                shipment=shipment,
                quantity=1,
                name=f"Shipment #{shipment.number or (shipments.index(shipment) + 1)}",
                currency_code=order.currency_code,
                unit_amount_cents=shipment.cost_amount_cents,
                total_amount_cents=shipment.cost_amount_cents,
            )
        )
    if order.payment_method_id:
        assert order.payment_method is not None
        price = order.payment_method.price_amount_cents or 0
        derived.append(
            LineItem(
                order=order,
                item_type=PAYMENT_LINE,
                item_id=order.payment_method_id,
                payment_method_id=order.payment_method_id,
                quantity=1,
                name=order.payment_method.name,
                currency_code=order.currency_code,
                unit_amount_cents=price,
                total_amount_cents=price,
            )
        )
    if frozen_promotions:
        per_line_frozen = {line.pk: line.discount_cents for line in sku_lines}
        for line in sku_lines:
            line.discount_cents = per_line_frozen.get(line.pk, 0)
    else:
        derived.extend(
            _promotion_lines(order, sku_lines, subtotal, sum(s.cost_amount_cents for s in shipments))
        )
    if any(line.item_type == FREE_SHIPPING_LINE for line in [*kept_promotions, *derived]):
        # Free shipping is the shipping lines' own discount: their taxable base is zero, as a SKU line's is
        # its amount plus its share of the discounts.
        for line in derived:
            if line.item_type == SHIPMENT_LINE:
                line.discount_cents = -line.total_amount_cents
    taxing.apply(order, [*sku_lines, *purchases, *adjustments, *kept_promotions, *derived], fresh=fresh)
    promotions = kept_promotions + [line for line in derived if line.item_type in PROMOTION_LINES]
    order.subtotal_amount_cents = subtotal
    order.shipping_amount_cents = sum(s.cost_amount_cents for s in shipments)
    order.payment_method_amount_cents = sum(
        line.total_amount_cents for line in derived if line.item_type == PAYMENT_LINE
    )
    order.discount_amount_cents = sum(line.total_amount_cents for line in promotions)
    order.adjustment_amount_cents = sum(line.total_amount_cents for line in adjustments)
    total = max(
        0,
        subtotal
        + order.shipping_amount_cents
        + order.payment_method_amount_cents
        + order.discount_amount_cents
        + order.adjustment_amount_cents,
    )
    # A gift card pays part of the total: what the customer pays, not what is taxed (taxes are computed above),
    # as a line of its own with a negative amount, as Commerce Layer shows it.
    redemption = _redemption_line(order, total)
    if redemption is not None:
        derived.append(redemption)
    order.gift_card_amount_cents = redemption.total_amount_cents if redemption is not None else 0
    order.total_amount_cents = total + order.gift_card_amount_cents
    if fresh:
        LineItem.objects.bulk_create([*lines, *derived])
    else:
        stale = [
            line.pk
            for line in lines
            if line.item_type not in (*GOODS, ADJUSTMENT_LINE)
            and line not in kept_promotions
            and line not in purchases
        ]
        if stale:
            LineItem.objects.filter(pk__in=stale).delete()
        if derived:
            LineItem.objects.bulk_create(derived)
        # Only the lines whose price or shipment changed: bulk_update's CASE per column costs CPU per line.
        changed = [
            line for line in sku_lines if tuple(getattr(line, column) for column in priced) != was[line.pk]
        ]
        if changed:
            LineItem.objects.bulk_update(changed, list(priced))
    check_amounts(
        order.shipping_amount_cents,
        order.payment_method_amount_cents,
        order.adjustment_amount_cents,
        order.total_amount_cents,
    )
    order.skus_count = sum(line.quantity for line in sku_lines)
    order.shipments_count = len(shipments)
    if order.status in ("draft", "pending"):
        order.status = "pending" if sku_lines or purchases else "draft"
    order.save()


def refresh(order: Order) -> None:
    """``_refresh``: the SKU lines take the market's current prices (and tiers) again, the bundle lines their
    bundles' (they were frozen until now)."""
    require_editable(order)
    lines = list(LineItem.objects.filter(order=order, item_type__in=GOODS))
    assert order.market is not None
    sku_ids = [line.sku_id for line in lines if line.item_type == SKU]
    prices = {
        p.sku_id: p
        for p in tiers.flagged(
            Price.objects.filter(price_list_id=order.market.price_list_id, sku_id__in=sku_ids)
        )
    }
    bundle_ids = [line.bundle_id for line in lines if line.item_type == BUNDLE_LINE and line.bundle_id]
    bundles = {b.pk: b for b in Bundle.objects.filter(pk__in=bundle_ids)} if bundle_ids else {}
    price_tiers = tiers.tiers_of(prices.values())
    for line in lines:
        bundle = bundles.get(line.bundle_id) if line.item_type == BUNDLE_LINE else None
        price = prices.get(line.sku_id) if line.item_type == SKU else None
        if price is not None:
            line.unit_amount_cents = tiers.unit_amount_cents(
                price.amount_cents, price_tiers.get(price.pk, []), line.quantity, line.frequency
            )
            line.compare_at_amount_cents = price.compare_at_amount_cents
        elif bundle is not None:
            line.unit_amount_cents = bundle.price_amount_cents
            line.compare_at_amount_cents = bundle.compare_at_amount_cents
    if lines:
        LineItem.objects.bulk_update(lines, ["unit_amount_cents", "compare_at_amount_cents"])
    order.refreshed_at = clock.now()
    recompute(order)


# An address that moved prices again the orders not placed yet; a placed order keeps what it was placed with.
REPRICED_ON_MOVE = ("draft", "pending")


@address_services.reprices_orders
def reprice_orders_at(address: Address) -> None:
    """The ``draft`` and ``pending`` orders shipping or billing to ``address``, which moved (its country, state
    or zip code changed): priced again (their taxes and shipping methods follow the address), each locked in
    primary-key order and recorded when it changed. Inside the caller's transaction, or one of its own."""
    using = Order.objects.filter(
        Q(shipping_address_id=address.pk) | Q(billing_address_id=address.pk), status__in=REPRICED_ON_MOVE
    ).select_related("market", "payment_method")
    own = nullcontext() if transaction.get_connection().in_atomic_block else transaction.atomic()
    with own:
        for order in locks.lock_all(using):
            with hooks.recording("orders", order, only_if_changed=True):
                recompute(order)
