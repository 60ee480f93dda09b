"""Shipments of an order: one per (inventory stock location, shipping category) that fulfils its shippable
lines, each with the shipping method that applies to it and the cost of that method. Inside the caller's
transaction. Which methods apply and their price: catalog.shipping_rules, fed by ``ShippingFacts``."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from orderfactory.addresses.models import Address
from orderfactory.catalog import shipping_rules
from orderfactory.catalog.models import ShippingMethod, ShippingMethodTier, ShippingZone, Sku
from orderfactory.core import clock
from orderfactory.inventory.models import InventoryStockLocation
from orderfactory.orders.models import LineItem, Order, Shipment
from orderfactory.orders.services.goods import goods_of, lead_part, load_parts, ships
from orderfactory.orders.services.loading import stock_levels


class ShippingFacts:
    """What the shipping rules read besides the methods themselves: their zones and weight tiers and the
    shipping addresses, each read once, in one query per kind, and only when a method needs it (a shop
    without zones or tiers reads nothing more than before)."""

    def __init__(self) -> None:
        self.zones: dict[str, ShippingZone] = {}
        self.tiers: dict[str, list[shipping_rules.Tier]] = {}
        self.addresses: dict[str, Address | None] = {}

    def load(self, methods: Iterable[ShippingMethod], address_ids: Iterable[str | None] = ()) -> None:
        methods = list(methods)
        zone_ids = {m.shipping_zone_id for m in methods if m.shipping_zone_id} - self.zones.keys()
        if zone_ids:
            self.zones.update((z.pk, z) for z in ShippingZone.objects.filter(pk__in=zone_ids))
        tiered = {m.pk for m in methods if m.scheme == "weight_tiered"} - self.tiers.keys()
        if tiered:
            for pk in tiered:
                self.tiers[pk] = []
            rows = ShippingMethodTier.objects.filter(shipping_method_id__in=tiered).values_list(
                "shipping_method_id", "up_to", "price_amount_cents"
            )
            for method_id, up_to, cents in rows:
                self.tiers[method_id].append(shipping_rules.Tier(up_to, cents))
        wanted = {a for a in address_ids if a} - self.addresses.keys()
        if wanted and any(m.shipping_zone_id for m in methods):
            found = {a.pk: a for a in Address.objects.filter(pk__in=wanted)}
            self.addresses.update((pk, found.get(pk)) for pk in wanted)

    def parcel(self, address_id: str | None, grams: float, amount_cents: int) -> shipping_rules.Parcel:
        address = self.addresses.get(address_id) if address_id else None
        return shipping_rules.Parcel(address, grams, amount_cents)

    def refusal(self, method: ShippingMethod, parcel: shipping_rules.Parcel) -> str | None:
        zone = self.zones.get(method.shipping_zone_id) if method.shipping_zone_id else None
        return shipping_rules.refusal(method, zone, self.tiers.get(method.pk, []), parcel)

    def price_cents(self, method: ShippingMethod | None, parcel: shipping_rules.Parcel) -> int:
        if method is None:
            return 0
        return shipping_rules.price_cents(method, self.tiers.get(method.pk, []), parcel)


def lines_grams(lines: Iterable[LineItem]) -> float:
    return shipping_rules.parcel_grams(
        (line.quantity * part.quantity, part.sku.weight, part.sku.unit_of_weight)
        for line in lines
        for part in goods_of(line)
    )


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


def shipment_serves(order: Order, shipment: Shipment, method: ShippingMethod) -> bool:
    return method.disabled_at is None and shipping_method_applies(
        order.market_id, shipment, method.market_id, method.shipping_category_id, method.stock_location_id
    )


def refusal(
    method: ShippingMethod,
    order: Order,
    shipment: Shipment,
    facts: ShippingFacts,
    parcel: shipping_rules.Parcel,
) -> str | None:
    """Why ``method`` cannot carry ``shipment`` (``parcel``: its facts, ``facts`` loaded for the method and
    the order's shipping address), or None when it can."""
    if not shipment_serves(order, shipment, method):
        return "is not available for this shipment"
    return facts.refusal(method, parcel)


def _shipping_method_for(
    order: Order,
    shipment: Shipment,
    candidates: list[ShippingMethod | None],
    facts: ShippingFacts,
    grams: float,
    subtotal: int,
) -> tuple[ShippingMethod | None, shipping_rules.Parcel]:
    """The first of ``candidates`` (the shipment's chosen method, the preferred one, the market's default)
    that applies, and the shipment's parcel."""
    present = [m for m in candidates if m is not None]
    facts.load(present, [order.shipping_address_id])
    parcel = facts.parcel(order.shipping_address_id, grams, subtotal)
    chosen = next((m for m in present if refusal(m, order, shipment, facts, parcel) is None), None)
    return chosen, parcel


def _parcel_of(order: Order, shipment: Shipment, facts: ShippingFacts) -> shipping_rules.Parcel:
    """The facts of a written shipment: its lines' weight (one query, two with bundle lines) and its order's subtotal."""
    lines = list(LineItem.objects.filter(fulfilling_shipment=shipment).select_related("sku"))
    load_parts(lines)  # a bundle line weighs its SKUs'
    grams = lines_grams(lines)
    return facts.parcel(order.shipping_address_id, grams, order.subtotal_amount_cents or 0)


def available_shipping_methods(order: Order, shipment: Shipment) -> list[ShippingMethod]:
    """The methods that may carry ``shipment``, oldest first."""
    methods = [
        m
        for m in ShippingMethod.objects.filter(disabled_at__isnull=True).order_by("created_at", "id")
        if shipment_serves(order, shipment, m)
    ]
    facts = ShippingFacts()
    facts.load(methods, [order.shipping_address_id])
    parcel = _parcel_of(order, shipment, facts)
    return [m for m in methods if facts.refusal(m, parcel) is None]


def unavailable_because(order: Order, shipment: Shipment, method: ShippingMethod) -> str | None:
    """Why ``method`` may not carry ``shipment`` (a client's choice), or None when it may."""
    if not shipment_serves(order, shipment, method):
        return "is not available for this shipment"
    facts = ShippingFacts()
    facts.load([method], [order.shipping_address_id])
    return facts.refusal(method, _parcel_of(order, shipment, facts))


PreferredMethods = dict[tuple[str | None, str | None], ShippingMethod]
# The preferred methods that new shipments of their stock location and shipping category could not take,
# each with why (a copy reports them: factories.building).
DroppedMethods = list[tuple[ShippingMethod, str]]


def rebuild_shipments(
    order: Order,
    sku_lines: list[LineItem],
    subtotal: int,
    *,
    fresh: bool = False,
    preferred: PreferredMethods | None = None,
    dropped: DroppedMethods | None = None,
) -> list[Shipment]:
    """One shipment per (inventory stock location, shipping category) that fulfils shippable items, in
    priority order, when the order has a shipping address. Existing shipments are kept (with their chosen
    shipping method) when they still apply. ``fresh``: the order is new and has no shipments yet.
    ``preferred``: the shipping method a new shipment takes, by (stock location, shipping category), when it
    applies (else the first one given, else the market's default); ``dropped`` receives the preferred
    methods of a shipment's own stock location and shipping category that its zone, weight or tiers refuse."""
    if order.shipping_address_id:
        load_parts(sku_lines)
    shippable = [line for line in sku_lines if order.shipping_address_id and ships(line)]
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
    levels = stock_levels(order, (part.sku.pk for line in shippable for part in goods_of(line)))
    locations, stock = levels.locations, levels.quantities
    groups: dict[tuple[str | None, str | None], list[LineItem]] = defaultdict(list)
    rank: dict[str | None, int] = {loc.pk: i for i, loc in enumerate(locations)}
    by_pk = {loc.pk: loc for loc in locations}
    for line in shippable:
        lead = lead_part(line)
        assert lead is not None
        loc = _choose_location(lead.sku, line.quantity * lead.quantity, locations, stock)
        groups[(loc.pk if loc else None, lead.sku.shipping_category_id)].append(line)
    by_key = {(s.inventory_stock_location_id, s.shipping_category_id): s for s in existing}
    assert order.market is not None
    default_method = order.market.default_shipping_method if order.market.default_shipping_method_id else None
    facts = ShippingFacts()
    if Order.shipping_address.is_cached(order):  # type: ignore[attr-defined]
        # A copy's target holds its (in-memory) clone: a zone matches it without reading it back.
        facts.addresses[order.shipping_address_id] = order.shipping_address
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
        own = None
        if keep is None and preferred:
            own = preferred.get((shipment.stock_location_id, shipment.shipping_category_id))
            keep = own or next(iter(preferred.values()))
        grams = lines_grams(groups[key])
        shipment.shipping_method, parcel = _shipping_method_for(
            order, shipment, [keep, default_method], facts, grams, subtotal
        )
        if dropped is not None and own is not None and shipment.shipping_method is not own:
            # Only the rules of where and how much are reported; a method disabled, or of another market,
            # shipping category or stock location, is replaced silently, as before them.
            why = facts.refusal(own, parcel) if shipment_serves(order, shipment, own) else None
            if why is not None:
                dropped.append((own, why))
        shipment.skus_count = sum(line.quantity for line in groups[key])
        shipment.cost_amount_cents = facts.price_cents(shipment.shipping_method, parcel)
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
