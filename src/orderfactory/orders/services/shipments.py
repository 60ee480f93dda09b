"""Shipments of an order: one per (inventory stock location, shipping category) that fulfils its shippable
lines, each with the shipping method that applies to it and the cost of that method. Inside the caller's
transaction."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import cast

from orderfactory.catalog.models import ShippingMethod, Sku
from orderfactory.core import clock
from orderfactory.inventory.models import InventoryStockLocation
from orderfactory.orders.models import LineItem, Order, Shipment
from orderfactory.orders.services.loading import stock_levels


def _choose_location(
    sku: Sku, quantity: int, locations: list[InventoryStockLocation], stock: dict[tuple[str, str], int]
) -> InventoryStockLocation | None:
    """The first location (by priority) that can ship the whole line; else the first that stocks the SKU;
    else the first location. Placing checks availability; this only decides where the shipment starts."""
    if not locations:
        return None
    if sku.do_not_track:
        return locations[0]
    for loc in locations:
        in_stock = stock.get((sku.pk, loc.stock_location_id))
        if in_stock is not None and in_stock >= quantity:
            return loc
    for loc in locations:
        if (sku.pk, loc.stock_location_id) in stock:
            return loc
    return locations[0]


def shipping_method_applies(
    order_market_id: str | None,
    shipment: Shipment,
    market_id: str | None,
    shipping_category_id: str | None,
    stock_location_id: str | None,
) -> bool:
    """An enabled shipping method (of ``market_id``, ...) serves a shipment when its market, shipping category
    and stock location are the shipment's (its order's market) or unset."""
    return (
        market_id in (None, order_market_id)
        and shipping_category_id in (None, shipment.shipping_category_id)
        and stock_location_id in (None, shipment.stock_location_id)
    )


def _applies(method: ShippingMethod, order: Order, shipment: Shipment) -> bool:
    return method.disabled_at is None and shipping_method_applies(
        order.market_id, shipment, method.market_id, method.shipping_category_id, method.stock_location_id
    )


def _shipping_method_for(
    order: Order, shipment: Shipment, keep: ShippingMethod | None, default: ShippingMethod | None
) -> ShippingMethod | None:
    """The shipment's chosen method while it still applies, else the market's default shipping method."""
    if keep is not None and _applies(keep, order, shipment):
        return keep
    if default is not None and _applies(default, order, shipment):
        return default
    return None


def available_shipping_methods(order: Order, shipment: Shipment) -> list[ShippingMethod]:
    return [
        m for m in ShippingMethod.objects.filter(disabled_at__isnull=True) if _applies(m, order, shipment)
    ]


def shipping_cost(method: ShippingMethod | None, subtotal_cents: int) -> int:
    if method is None:
        return 0
    if method.free_over_amount_cents is not None and subtotal_cents >= method.free_over_amount_cents:
        return 0
    return method.price_amount_cents


PreferredMethods = dict[tuple[str | None, str | None], ShippingMethod]


def rebuild_shipments(
    order: Order,
    sku_lines: list[LineItem],
    subtotal: int,
    *,
    fresh: bool = False,
    preferred: PreferredMethods | None = None,
) -> list[Shipment]:
    """One shipment per (inventory stock location, shipping category) that fulfils shippable items, in
    priority order, when the order has a shipping address. Existing shipments are kept (with their chosen
    shipping method) when they still apply. ``fresh``: the order is new and has no shipments yet.
    ``preferred``: the shipping method a new shipment takes, by (stock location, shipping category), when it
    applies (else the first one given, else the market's default)."""
    shippable = [line for line in sku_lines if line.sku is not None and not line.sku.do_not_ship]
    existing = [] if fresh else list(Shipment.objects.filter(order=order).select_related("shipping_method"))
    if not shippable or not order.shipping_address_id:
        for line in sku_lines:
            line.fulfilling_shipment_id = None
        if existing:
            LineItem.objects.filter(order=order, fulfilling_shipment__isnull=False).update(
                fulfilling_shipment=None
            )
            Shipment.objects.filter(order=order).delete()
        return []
    levels = stock_levels(order, (cast(str, line.sku_id) for line in shippable))
    locations, stock = levels.locations, levels.quantities
    groups: dict[tuple[str | None, str | None], list[LineItem]] = defaultdict(list)
    rank: dict[str | None, int] = {loc.pk: i for i, loc in enumerate(locations)}
    by_pk = {loc.pk: loc for loc in locations}
    for line in shippable:
        assert line.sku is not None
        loc = _choose_location(line.sku, line.quantity, locations, stock)
        groups[(loc.pk if loc else None, line.sku.shipping_category_id)].append(line)
    by_key = {(s.inventory_stock_location_id, s.shipping_category_id): s for s in existing}
    assert order.market is not None
    default_method = order.market.default_shipping_method if order.market.default_shipping_method_id else None
    shipments: list[Shipment] = []
    to_create: list[Shipment] = []
    for position, key in enumerate(sorted(groups, key=lambda k: (rank.get(k[0], 10**6), k[1] or ""))):
        loc = by_pk.get(key[0]) if key[0] else None
        shipment = by_key.pop(key, None)
        if shipment is None:
            shipment = Shipment(
                order=order,
                inventory_stock_location=loc,
                stock_location_id=loc.stock_location_id if loc else None,
                shipping_category_id=key[1],
                currency_code=order.currency_code,
            )
            to_create.append(shipment)
        shipment.origin_address_id = loc.stock_location.address_id if loc else None
        shipment.shipping_address_id = order.shipping_address_id
        keep = shipment.shipping_method
        if keep is None and preferred:
            keep = preferred.get((shipment.stock_location_id, shipment.shipping_category_id)) or next(
                iter(preferred.values())
            )
        shipment.shipping_method = _shipping_method_for(order, shipment, keep, default_method)
        shipment.skus_count = sum(line.quantity for line in groups[key])
        shipment.cost_amount_cents = shipping_cost(shipment.shipping_method, subtotal)
        shipment.number = f"{order.number}/S/{position + 1:03d}" if order.number else None
        shipments.append(shipment)
    if by_key:
        stale = [s.pk for s in by_key.values()]
        LineItem.objects.filter(fulfilling_shipment_id__in=stale).update(fulfilling_shipment=None)
        Shipment.objects.filter(pk__in=stale).delete()
    if to_create:
        # Lists show shipments oldest first: one millisecond apart (the clock's precision), the shipments
        # made together list in stock location priority order.
        now = clock.now()
        for offset, shipment in enumerate(to_create):
            shipment.created_at = shipment.updated_at = now + dt.timedelta(milliseconds=offset)
        Shipment.objects.bulk_create(to_create)
    kept = [s for s in shipments if s not in to_create]
    if kept:
        for s in kept:
            s.updated_at = clock.now()
        Shipment.objects.bulk_update(
            kept,
            [
                "origin_address_id",
                "shipping_address_id",
                "shipping_method",
                "skus_count",
                "cost_amount_cents",
                "number",
                "updated_at",
            ],
        )
    for key, shipment in zip(
        sorted(groups, key=lambda k: (rank.get(k[0], 10**6), k[1] or "")), shipments, strict=True
    ):
        for line in groups[key]:
            line.fulfilling_shipment_id = shipment.pk
    return shipments
