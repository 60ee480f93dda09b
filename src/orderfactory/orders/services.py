"""The order use-cases: build an order, price it, and move it through its states.

Every function here runs inside the caller's transaction, except ``place`` and ``cancel``, which manage
their own: they may call an external payment gateway, and no request may hold a database lock while it
waits on the network.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from django.db import IntegrityError, models, transaction

from orderfactory.addresses.models import Address
from orderfactory.catalog.models import Market, Price, PriceList, ShippingMethod, Sku
from orderfactory.core import clock, hooks
from orderfactory.core.prepared import Prepared, PreparedValues
from orderfactory.inventory.models import InventoryStockLocation, StockItem
from orderfactory.jsonapi import errors
from orderfactory.jsonapi.resource import JSON_SAFE_INTEGER
from orderfactory.orders.models import LineItem, Order, OrderNumberSequence, Shipment, StockAllocation

if TYPE_CHECKING:
    from orderfactory.payments.models import PaymentMethod

log = logging.getLogger("orderfactory.orders")

MAX_QUANTITY = 100_000
# Totals have the range of the amounts they add up (a price's amount_cents): what a JSON client reads exactly.
MAX_AMOUNT = JSON_SAFE_INTEGER
SKU = "skus"
SHIPMENT_LINE = "shipments"
PAYMENT_LINE = "payment_methods"
PROMOTION_LINE = "percentage_discount_promotions"
EDITABLE = ("draft", "pending", "editing")


class OrderInvalid(Exception):
    """Problems with an order, as Commerce Layer reports them: attribute -> messages. ``errors_log`` of a
    failed copy is exactly this mapping."""

    def __init__(self, problems: dict[str, list[str]], codes: dict[str, str] | None = None) -> None:
        super().__init__("; ".join(f"{k}: {', '.join(v)}" for k, v in problems.items()))
        self.problems = problems
        self.codes = codes or {}

    def api_errors(self) -> errors.ApiErrors:
        return errors.ApiErrors(
            [
                errors.validation(
                    attribute, message, self.codes.get(attribute, "invalid"), pointer=_pointer(attribute)
                )
                for attribute, messages in self.problems.items()
                for message in messages
            ]
        )


# Problems named after a relationship of the order point at it; the others at an attribute.
ORDER_RELATIONSHIPS = frozenset(
    (
        "market",
        "customer",
        "billing_address",
        "shipping_address",
        "payment_method",
        "payment_source",
        "line_items",
        "shipments",
    )
)


def _pointer(attribute: str) -> str:
    section = "relationships" if attribute in ORDER_RELATIONSHIPS else "attributes"
    return f"/data/{section}/{attribute}"


@dataclass
class Problems:
    found: dict[str, list[str]] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)

    def add(self, attribute: str, message: str, code: str = "invalid") -> None:
        self.found.setdefault(attribute, []).append(message)
        self.codes.setdefault(attribute, code)

    def raise_if_any(self) -> None:
        if self.found:
            raise OrderInvalid(self.found, self.codes)


def transition_error(current: str, target: str) -> OrderInvalid:
    return OrderInvalid(
        {"status": [f"cannot transition from {current} to {target}"]}, {"status": "transition"}
    )


def require_editable(order: Order) -> None:
    if order.status not in EDITABLE:
        raise OrderInvalid(
            {"status": [f"cannot modify an order in status {order.status}"]}, {"status": "not_editable"}
        )


# --- orders -----------------------------------------------------------------------------------------------


def set_customer_email(order: Order, email: str | None) -> None:
    """``customer_email`` finds or creates the customer in the caller's scope."""
    from orderfactory.customers.services import email_problems, find_or_create_customer, normalize_email

    if email in (None, ""):
        order.customer_email = None
        return
    problems = email_problems(normalize_email(email), "customer_email")
    if problems:
        raise errors.ApiErrors(problems)
    customer = find_or_create_customer(email)
    order.customer_email = customer.email
    order.customer_id = customer.pk


def create_order(
    columns: dict[str, Any],
    *,
    market: Market | None,
    customer_email: str | None = None,
    default_market_ids: tuple[str, ...] | None = None,
) -> Order:
    if market is None and default_market_ids:
        market = Market.objects.filter(pk__in=default_market_ids).first()
    if market is None:
        raise errors.ApiErrors([errors.blank("market", relationship=True)])
    if market.disabled_at is not None:
        raise errors.ApiErrors(
            [errors.validation("market", "is disabled", "disabled", pointer="/data/relationships/market")]
        )
    order = Order(**columns)
    order.market = market
    order.currency_code = cast(PriceList, market.price_list).currency_code if market.price_list_id else None
    order.tax_included = cast(PriceList, market.price_list).tax_included if market.price_list_id else True
    if customer_email is not None:
        set_customer_email(order, customer_email)
    elif order.customer_id and not order.customer_email:
        assert order.customer is not None
        order.customer_email = order.customer.email
    order.save()
    recompute(order)
    return order


def link_payment_source(order: Order, source: Any) -> None:
    """Attach a payment source (wire transfer, external payment) to the order; it is the order's own."""
    if source is None:
        order.payment_source_type = None
        order.payment_source_id = None
        return
    if source.order_id not in (None, order.pk):
        raise errors.ApiErrors(
            [
                errors.validation(
                    "payment_source",
                    "belongs to another order",
                    "taken",
                    pointer="/data/relationships/payment_source",
                )
            ]
        )
    type(source).objects.filter(pk=source.pk).update(order_id=order.pk)
    own_payment_source(order, source)


def own_payment_source(order: Order, source: Any) -> None:
    """Point the order at a payment source made for it (whose ``order_id`` is already the order's)."""
    from orderfactory.customers.services import source_type_of

    order.payment_source_type = source_type_of(source)
    order.payment_source_id = source.pk


def payment_source_of(order: Order) -> Any:
    from orderfactory.customers.services import PAYMENT_SOURCE_MODELS

    if not order.payment_source_type or not order.payment_source_id:
        return None
    model = PAYMENT_SOURCE_MODELS.get(order.payment_source_type)
    return model.objects.filter(pk=order.payment_source_id).first() if model else None


def clone_addresses(addresses: list[Address]) -> list[Address]:
    """Copies of addresses already read in this transaction, written with one INSERT."""
    now = clock.now()
    clones = [
        Address(
            **{
                f.attname: getattr(address, f.attname)
                for f in Address._meta.concrete_fields
                if f.attname not in ("id", "created_at", "updated_at")
            },
            created_at=now,
            updated_at=now,
        )
        for address in addresses
    ]
    Address.objects.bulk_create(clones)
    return clones


def clone_address(address: Address) -> Address:
    """A copy of the address as stored now."""
    return clone_addresses([Address.objects.get(pk=address.pk)])[0]


def save_payment_source_to_wallet(order: Order) -> None:
    from orderfactory.customers.services import save_payment_source_to_wallet as save

    source = payment_source_of(order)
    if order.customer_id and source is not None:
        assert order.customer is not None
        save(order.customer, order.payment_method, source)


# --- line items -------------------------------------------------------------------------------------------


def check_amounts(*amounts: int) -> None:
    """A total beyond the range of amounts (prices up to MAX_AMOUNT times quantities up to MAX_QUANTITY can
    get there) is refused before anything is written, as a price beyond it is."""
    if any(not -MAX_AMOUNT <= amount <= MAX_AMOUNT for amount in amounts):
        raise errors.ApiErrors(
            [
                errors.validation(
                    "total_amount_cents",
                    f"must be between {-MAX_AMOUNT} and {MAX_AMOUNT}",
                    "out_of_range",
                    count=MAX_AMOUNT,
                )
            ]
        )


def _quantity_problems(quantity: Any) -> list[errors.ApiError]:
    if quantity is None:
        return [errors.blank("quantity")]
    if quantity <= 0:
        return [
            errors.validation("quantity", "must be greater than 0", "greater_than", value=quantity, count=0)
        ]
    if quantity > MAX_QUANTITY:
        return [
            errors.validation(
                "quantity",
                f"must be less than or equal to {MAX_QUANTITY}",
                "less_than_or_equal_to",
                value=quantity,
                count=MAX_QUANTITY,
            )
        ]
    return []


def add_sku_line_item(
    order: Order,
    *,
    sku: Sku | None = None,
    sku_code: str | None = None,
    quantity: int | None,
    unit_amount_cents: int | None = None,
    name: str | None = None,
    image_url: str | None = None,
    frequency: str | None = None,
    extra: dict[str, Any] | None = None,
    merge: bool = True,
    refresh: bool = True,
) -> LineItem:
    """Add ``quantity`` of a SKU to an editable order. The price comes from the market's price list unless
    ``unit_amount_cents`` is given; either way it then stays ("frozen") until the order is refreshed."""
    require_editable(order)
    problems = _quantity_problems(quantity) + _frequency_problems(order, frequency)
    if sku is None:
        sku = Sku.objects.filter(code=sku_code).first() if sku_code else None
        if sku is None:
            problems.append(
                errors.blank("sku_code")
                if not sku_code
                else errors.validation("sku_code", "is invalid", "invalid", value=sku_code)
            )
    if problems:
        raise errors.ApiErrors(problems)
    assert sku is not None and quantity is not None
    existing = _line_to_merge(order, sku, unit_amount_cents, frequency) if merge else None
    if existing is not None:
        # The merged line keeps its frozen price: only ``_refresh`` changes it.
        existing.quantity += quantity
        problems = _quantity_problems(existing.quantity)
        if problems:
            raise errors.ApiErrors(problems)
        existing.save(update_fields=["quantity"])
        line = existing
    else:
        compare_at = None
        if unit_amount_cents is None:
            assert order.market is not None
            price = Price.objects.filter(price_list_id=order.market.price_list_id, sku=sku).first()
            if price is None:
                raise errors.ApiErrors(
                    [
                        errors.validation(
                            "sku_code",
                            f"has no price in market {order.market.name}",
                            "no_price",
                            value=sku.code,
                        )
                    ]
                )
            unit_amount_cents, compare_at = price.amount_cents, price.compare_at_amount_cents
        check_amounts(unit_amount_cents * quantity)
        line = LineItem(
            order=order,
            item_type=SKU,
            item_id=sku.pk,
            sku=sku,
            sku_code=sku.code,
            quantity=quantity,
            currency_code=order.currency_code,
            unit_amount_cents=unit_amount_cents,
            compare_at_amount_cents=compare_at,
            total_amount_cents=unit_amount_cents * quantity,
            name=name or sku.name,
            image_url=image_url if image_url is not None else sku.image_url,
            frequency=frequency,
            **(extra or {}),
        )
        line.save()
    if refresh:
        recompute(order)
    return line


def _frequency_problems(order: Order, frequency: str | None) -> list[errors.ApiError]:
    from orderfactory.subscriptions.services import line_frequency_problems

    return line_frequency_problems(frequency, order.market_id)


def _line_to_merge(
    order: Order, sku: Sku, unit_amount_cents: int | None, frequency: str | None
) -> LineItem | None:
    """The SKU line ``_update_quantity`` adds to: same SKU and frequency, and the same price when one is given."""
    existing = (
        order.line_items.filter(item_type=SKU, sku=sku, frequency=frequency).order_by("created_at").first()
    )
    if existing is None or unit_amount_cents not in (None, existing.unit_amount_cents):
        return None
    return existing


def update_line_item(line: LineItem, changes: dict[str, Any]) -> LineItem:
    order = line.order
    require_editable(order)
    if line.item_type != SKU:
        raise errors.ApiErrors([errors.validation("item_type", "cannot be changed by hand", "read_only")])
    problems = _quantity_problems(changes["quantity"]) if "quantity" in changes else []
    if "frequency" in changes:
        problems += _frequency_problems(order, changes["frequency"])
    if problems:
        raise errors.ApiErrors(problems)
    for column, value in changes.items():
        setattr(line, column, value)
    line.save()
    recompute(order)
    return line


def delete_line_item(line: LineItem) -> None:
    order = line.order
    require_editable(order)
    line.delete()
    recompute(order)


# --- pricing and shipments --------------------------------------------------------------------------------


def _stock_locations(order: Order) -> list[InventoryStockLocation]:
    """The market's inventory stock locations, in priority order (on-hold ones last)."""
    assert order.market is not None
    if not order.market.inventory_model_id:
        return []
    return _STOCK_LOCATIONS.all(inventory_model_id=order.market.inventory_model_id)


_STOCK_LOCATIONS = Prepared(
    lambda inventory_model_id: (
        InventoryStockLocation.objects.filter(inventory_model_id=inventory_model_id)
        .select_related("stock_location")
        .order_by("on_hold", "priority", "created_at")
    )
)


def _stock_quantities(
    sku_ids: Iterable[str], locations: list[InventoryStockLocation]
) -> dict[tuple[str, str], int]:
    """The quantity in stock of each (SKU, stock location) that has a stock item."""
    ids = list(set(sku_ids))
    if not ids or not locations:
        return {}
    rows = _STOCK_ITEMS.all(
        sku_ids=sorted(ids), location_ids=sorted({loc.stock_location_id for loc in locations})
    )
    return {(row["sku_id"], row["stock_location_id"]): row["quantity"] for row in rows}


# Quantities only: a model instance per stock item cost more than the query.
_STOCK_ITEMS = PreparedValues(
    lambda sku_ids, location_ids: StockItem.objects.filter(
        sku_id__in=sku_ids, stock_location_id__in=location_ids
    ).values("sku_id", "stock_location_id", "quantity")
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
    locations = _stock_locations(order)
    stock = _stock_quantities((cast(str, line.sku_id) for line in shippable), locations)
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


def _promotion_lines(order: Order, sku_lines: list[LineItem], subtotal: int) -> list[LineItem]:
    from orderfactory.promotions.services import CouponInvalid, discounts_for

    try:
        discounts = discounts_for(
            market_id=order.market_id,
            coupon_code=order.coupon_code,
            subtotal_cents=subtotal,
            lines=[(line.pk, line.sku_code or "", line.total_amount_cents) for line in sku_lines],
            at=clock.now(),
        )
    except CouponInvalid:
        # The coupon stopped being valid after it was applied: it gives no discount; placing reports it.
        discounts = []
    per_line: dict[str, int] = defaultdict(int)
    lines = []
    for d in discounts:
        for line_id, cents in d.per_line.items():
            per_line[line_id] += cents
        lines.append(
            LineItem(
                order=order,
                item_type=PROMOTION_LINE,
                item_id=d.promotion.pk,
                name=d.name,
                quantity=1,
                currency_code=order.currency_code,
                unit_amount_cents=d.amount_cents,
                total_amount_cents=d.amount_cents,
                coupon_code=order.coupon_code if order.coupon_code else None,
            )
        )
    for line in sku_lines:
        line.discount_cents = per_line.get(line.pk, 0)
    return lines


def recompute(
    order: Order,
    *,
    frozen_promotions: bool = False,
    new_lines: list[LineItem] | None = None,
    preferred_methods: PreferredMethods | None = None,
) -> None:
    """Price the order again from its SKU lines: shipments and their cost lines, the payment method line, the
    promotion lines, every total, and ``draft``/``pending`` from whether it has items. A constant number of
    queries whatever the number of line items.

    ``new_lines``: the order is new and not written yet (an order copy); these are its lines, unsaved, each
    with its ``sku`` loaded. They are priced in memory, and the order, its shipments and every line are then
    written once each (``preferred_methods`` as in ``rebuild_shipments``)."""
    fresh = new_lines is not None
    lines = (
        new_lines
        if new_lines is not None
        else list(LineItem.objects.filter(order=order).select_related("sku"))
    )
    sku_lines = [line for line in lines if line.item_type == SKU]
    priced = ("total_amount_cents", "discount_cents", "fulfilling_shipment_id", "currency_code")
    was = {line.pk: tuple(getattr(line, column) for column in priced) for line in sku_lines}
    for line in sku_lines:
        line.currency_code = order.currency_code
    kept_promotions = (
        [line for line in lines if line.item_type == PROMOTION_LINE] if frozen_promotions else []
    )
    for line in sku_lines:
        line.total_amount_cents = (line.unit_amount_cents or 0) * line.quantity + (
            line.options_amount_cents or 0
        )
    subtotal = sum(line.total_amount_cents for line in sku_lines)
    check_amounts(subtotal, *(line.total_amount_cents for line in sku_lines))
    shipments = (
        rebuild_shipments(order, sku_lines, subtotal, fresh=fresh, preferred=preferred_methods)
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
        derived.extend(_promotion_lines(order, sku_lines, subtotal))
    if fresh:
        LineItem.objects.bulk_create([*lines, *derived])
    else:
        stale = [line.pk for line in lines if line.item_type != SKU and line not in kept_promotions]
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
    promotions = kept_promotions + [line for line in derived if line.item_type == PROMOTION_LINE]
    order.subtotal_amount_cents = subtotal
    order.shipping_amount_cents = sum(s.cost_amount_cents for s in shipments)
    order.payment_method_amount_cents = sum(
        line.total_amount_cents for line in derived if line.item_type == PAYMENT_LINE
    )
    order.discount_amount_cents = sum(line.total_amount_cents for line in promotions)
    order.total_amount_cents = max(
        0,
        subtotal
        + order.shipping_amount_cents
        + order.payment_method_amount_cents
        + order.discount_amount_cents,
    )
    check_amounts(order.shipping_amount_cents, order.payment_method_amount_cents, order.total_amount_cents)
    order.skus_count = sum(line.quantity for line in sku_lines)
    order.shipments_count = len(shipments)
    if order.status in ("draft", "pending"):
        order.status = "pending" if sku_lines else "draft"
    order.save()


# --- placing ----------------------------------------------------------------------------------------------


def _shippable(lines: list[LineItem]) -> bool:
    return any(line.sku is not None and not line.sku.do_not_ship for line in lines)


@dataclass
class Placement:
    """What placing reads once and uses twice: to check the order and then to place it."""

    lines: list[LineItem]  # the SKU lines
    promotion_ids: list[str]
    shipments: list[Shipment]
    source: Any
    coupon: Any = None
    allocation: list[tuple[LineItem, StockItem, int]] = field(default_factory=list)


def check_placeable(order: Order, problems: Problems) -> tuple[list[LineItem], Any]:
    """Everything placing requires, all at once (contract b, "What placing checks")."""
    placement = _check(order, problems, lock_stock=False)
    return placement.lines, placement.source


def _check(order: Order, problems: Problems, *, lock_stock: bool, status: str = "pending") -> Placement:
    """``check_placeable`` for an order in ``status``; with ``lock_stock`` the stock rows are locked and the
    allocation kept."""
    from orderfactory.promotions.services import CouponInvalid, check_coupon

    if order.status != status:
        problems.add("status", f"cannot transition from {order.status} to placed", "transition")
    every_line = list(LineItem.objects.filter(order=order).select_related("sku").order_by("created_at", "id"))
    lines = [line for line in every_line if line.item_type == SKU]
    promotion_ids = [line.item_id for line in every_line if line.item_type == PROMOTION_LINE and line.item_id]
    shipments = list(
        Shipment.objects.filter(order=order).order_by(
            "inventory_stock_location__on_hold", "inventory_stock_location__priority", "created_at", "id"
        )
    )
    if not lines:
        problems.add("line_items", "can't be blank", "blank")
    if not order.customer_email:
        problems.add("customer_email", "can't be blank", "blank")
    if not order.billing_address_id:
        problems.add("billing_address", "can't be blank", "blank")
    if _shippable(lines):
        if not order.shipping_address_id:
            problems.add("shipping_address", "can't be blank", "blank")
        for position, shipment in enumerate(shipments, start=1):
            if not shipment.shipping_method_id:
                problems.add(
                    "shipments", f"shipment {position} has no shipping method", "shipping_method_blank"
                )
    source = payment_source_of(order)
    if order.total_amount_cents > 0:
        method = order.payment_method
        if method is None:
            problems.add("payment_method", "can't be blank", "blank")
        elif method.disabled_at is not None:
            problems.add("payment_method", "is disabled", "disabled")
        if source is None:
            problems.add("payment_source", "can't be blank", "blank")
        elif method is not None and order.payment_source_type != method.payment_source_type:
            problems.add(
                "payment_source",
                f"must be one of the payment method's {method.payment_source_type}",
                "invalid",
            )
    coupon = None
    if order.coupon_code:
        try:
            coupon = check_coupon(order.coupon_code, market_id=order.market_id, at=clock.now())
        except CouponInvalid as exc:
            problems.add("coupon_code", exc.message, exc.reason.value)
    allocation = _check_stock(order, lines, problems, lock=lock_stock)
    return Placement(lines, promotion_ids, shipments, source, coupon, allocation)


def _needed(lines: list[LineItem]) -> dict[str, int]:
    needed: dict[str, int] = defaultdict(int)
    for line in lines:
        if line.sku is not None and not line.sku.do_not_track:
            assert line.sku_id is not None
            needed[line.sku_id] += line.quantity
    return needed


def _check_stock(
    order: Order, lines: list[LineItem], problems: Problems, *, lock: bool
) -> list[tuple[LineItem, StockItem, int]]:
    """Whether the market's stock locations hold enough of every tracked SKU; with ``lock`` the stock rows are
    locked (in primary-key order, so concurrent placements cannot deadlock) and the allocation returned."""
    needed = _needed(lines)
    if not needed:
        return []
    locations = _stock_locations(order)
    location_ids = [loc.stock_location_id for loc in locations if not loc.on_hold]
    qs = StockItem.objects.filter(sku_id__in=list(needed), stock_location_id__in=location_ids).order_by("pk")
    if lock:
        qs = qs.select_for_update()
    items = list(qs)
    priority = {loc.stock_location_id: i for i, loc in enumerate(locations)}
    by_sku: dict[str, list[StockItem]] = defaultdict(list)
    for item in sorted(items, key=lambda i: priority.get(i.stock_location_id, 10**6)):
        by_sku[item.sku_id].append(item)
    allocation: list[tuple[LineItem, StockItem, int]] = []
    left = {item.pk: item.quantity for item in items}
    short: set[str] = set()
    for line in lines:
        if line.sku is None or line.sku.do_not_track:
            continue
        assert line.sku_id is not None
        remaining = line.quantity
        for item in by_sku.get(line.sku_id, []):
            take = min(left[item.pk], remaining)
            if take > 0:
                allocation.append((line, item, take))
                left[item.pk] -= take
                remaining -= take
            if remaining == 0:
                break
        if remaining > 0 and line.sku_id not in short:
            short.add(line.sku_id)
            available = sum(i.quantity for i in by_sku.get(line.sku_id, []))
            problems.add(
                "line_items",
                f"{line.sku_code} is out of stock (requested {needed[line.sku_id]}, available {available})",
                "out_of_stock",
            )
    return allocation


def _next_number(order: Order) -> str:
    seq = (
        OrderNumberSequence.objects.select_for_update()
        .filter(organization_id=order.organization_id, mode=order.mode)
        .first()
    )
    if seq is None:
        try:
            with transaction.atomic():
                OrderNumberSequence.objects.create(
                    organization_id=order.organization_id, mode=order.mode, last_value=0
                )
        except IntegrityError:
            pass
        seq = OrderNumberSequence.objects.select_for_update().get(
            organization_id=order.organization_id, mode=order.mode
        )
    OrderNumberSequence.objects.filter(pk=seq.pk).update(last_value=models.F("last_value") + 1)
    return str(seq.last_value + 1)


def _needs_remote_authorization(order: Order) -> bool:
    return bool(
        order.payment_method_id
        and cast("PaymentMethod", order.payment_method).payment_gateway_type == "external_gateways"
        and order.total_amount_cents > 0
    )


def lock_order(order_id: str) -> Order:
    """The order, its row locked for the transaction (``of=self``: PostgreSQL cannot lock the nullable side
    of the joins that bring its market and payment method along)."""
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("market", "payment_method")
        .get(pk=order_id)
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
        before = _snapshot(order)
        remote = _needs_remote_authorization(order)
        problems = Problems()
        placement = _check(order, problems, lock_stock=not remote)
        problems.raise_if_any()
        if not remote:
            return _finish_placing(order, before, placement, _authorize_locally(order))
        Order.objects.filter(pk=order.pk, status=order.status).update(
            status="placing", updated_at=clock.now()
        )
    result = _authorize_remotely(order, placement.source)
    try:
        if not result.success:
            raise OrderInvalid(
                {"payment_source": [result.message or "authorization failed"]},
                {"payment_source": "authorization_failed"},
            )
        with transaction.atomic():
            order = lock_order(order_id)
            if order.status != "placing":
                raise transition_error(order.status, "placed")
            problems = Problems()
            placement = _check(order, problems, lock_stock=True, status="placing")
            problems.raise_if_any()
            return _finish_placing(order, before, placement, result)
    except Exception:
        if result.success:
            _void_remotely(order, placement.source, result)
        Order.objects.filter(pk=order_id, status="placing").update(status="pending", updated_at=clock.now())
        raise


def _snapshot(order: Order) -> dict[str, Any]:
    return {f.attname: getattr(order, f.attname) for f in order._meta.concrete_fields}


@dataclass
class Authorization:
    success: bool
    message: str = ""
    transaction_token: str | None = None


def _authorize_locally(order: Order) -> Authorization:
    if order.total_amount_cents == 0 or not order.payment_method_id:
        return Authorization(True, "free")
    return Authorization(True, "authorized by the manual gateway")


def _authorize_remotely(order: Order, source: Any) -> Authorization:
    from orderfactory.payments import services as payments

    result = payments.authorize(
        cast("PaymentMethod", order.payment_method),
        source,
        order.total_amount_cents,
        order.currency_code or "",
        order.pk,
    )
    return Authorization(result.success, result.message, result.transaction_token)


def _void_remotely(order: Order, source: Any, authorization: Authorization) -> None:
    """Give an authorization back to the gateway (it retries); a failure is logged, never raised: the order's
    own outcome is already decided."""
    from orderfactory.payments import services as payments

    try:
        result = payments.void(
            cast("PaymentMethod", order.payment_method),
            source,
            authorization.transaction_token,
            order.pk,
            amount_cents=order.total_amount_cents,
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
    from orderfactory.customers.services import count_placed_order
    from orderfactory.promotions.services import CouponInvalid, count_usage

    if placement.promotion_ids or placement.coupon is not None:
        try:
            count_usage(
                promotion_ids=placement.promotion_ids,
                coupon_id=placement.coupon.pk if placement.coupon else None,
            )
        except CouponInvalid as exc:
            raise OrderInvalid({"coupon_code": [exc.message]}, {"coupon_code": exc.reason.value}) from None
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
    order.payment_status = "free" if order.total_amount_cents == 0 else "authorized"
    order.payment_updated_at = now
    order.fulfillment_status = "unfulfilled" if _shippable(placement.lines) else "not_required"
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
    hooks.on_write("update", "orders", order, before)
    hooks.event("orders.place", "orders", order)
    return order


# --- other transitions ------------------------------------------------------------------------------------


def cancel(order_id: str) -> Order:
    """``_cancel``: placed or approved -> cancelled; restores the stock, gives back coupon uses, and voids the
    authorization (an external gateway is told after the commit, with retries)."""
    from orderfactory.promotions.services import release_usage

    with transaction.atomic():
        order = lock_order(order_id)
        if order.status == "cancelled":
            return order
        if order.status not in ("placed", "approved", "pending", "placing"):
            raise transition_error(order.status, "cancelled")
        before = _snapshot(order)
        now = clock.now()
        placed = order.status in ("placed", "approved")
        updated = Order.objects.filter(pk=order.pk, status=order.status).update(
            status="cancelled",
            cancelled_at=now,
            updated_at=now,
            payment_status="voided"
            if placed and order.payment_status == "authorized"
            else order.payment_status,
            payment_updated_at=now,
        )
        if not updated:
            raise transition_error(order.status, "cancelled")
        if placed:
            allocations = list(
                StockAllocation.objects.filter(order=order, released_at__isnull=True).order_by(
                    "stock_item_id"
                )
            )
            given: dict[str, int] = defaultdict(int)
            for a in allocations:
                given[a.stock_item_id] += a.quantity
            items = list(StockItem.objects.select_for_update().filter(pk__in=list(given)).order_by("pk"))
            for item in items:
                item.quantity += given[item.pk]
            if items:
                StockItem.objects.bulk_update(items, ["quantity"])
            StockAllocation.objects.filter(pk__in=[a.pk for a in allocations]).update(released_at=now)
            promotion_ids = [
                p
                for p in LineItem.objects.filter(order=order, item_type=PROMOTION_LINE).values_list(
                    "item_id", flat=True
                )
                if p
            ]
            coupon_id = None
            if order.coupon_code:
                from orderfactory.promotions.models import Coupon

                coupon_id = Coupon.objects.filter(code=order.coupon_code).values_list("pk", flat=True).first()
            if promotion_ids or coupon_id:
                release_usage(promotion_ids=promotion_ids, coupon_id=coupon_id)
            Shipment.objects.filter(order=order).update(status="cancelled")
        order.refresh_from_db()
        hooks.on_write("update", "orders", order, before)
        hooks.event("orders.cancel", "orders", order)
        if (
            placed
            and order.payment_method_id
            and cast("PaymentMethod", order.payment_method).payment_gateway_type == "external_gateways"
        ):
            token = (before.get("payment_source_details") or {}).get("transaction_token")
            source = payment_source_of(order)
            transaction.on_commit(lambda: _void_remotely(order, source, Authorization(True, "", token)))
    return order


def approve(order: Order) -> None:
    if order.status != "placed":
        raise transition_error(order.status, "approved")
    now = clock.now()
    if not Order.objects.filter(pk=order.pk, status="placed").update(
        status="approved", approved_at=now, updated_at=now
    ):
        raise transition_error(order.status, "approved")
    order.status, order.approved_at = "approved", now
    hooks.event("orders.approve", "orders", order)


def archive(order: Order, archived: bool) -> None:
    order.archived_at = clock.now() if archived else None


def refresh(order: Order) -> None:
    """``_refresh``: the SKU lines take the market's current prices again (they were frozen until now)."""
    require_editable(order)
    lines = list(LineItem.objects.filter(order=order, item_type=SKU))
    assert order.market is not None
    prices = {
        p.sku_id: p
        for p in Price.objects.filter(
            price_list_id=order.market.price_list_id, sku_id__in=[line.sku_id for line in lines]
        )
    }
    for line in lines:
        price = prices.get(line.sku_id)
        if price is not None:
            line.unit_amount_cents = price.amount_cents
            line.compare_at_amount_cents = price.compare_at_amount_cents
    if lines:
        LineItem.objects.bulk_update(lines, ["unit_amount_cents", "compare_at_amount_cents"])
    order.refreshed_at = clock.now()
    recompute(order)


def validate(order: Order) -> None:
    """``_validate``: report what would stop the order from being placed (422), change nothing."""
    problems = Problems()
    check_placeable(order, problems)
    problems.raise_if_any()


def delete_order(order: Order) -> None:
    if order.status not in EDITABLE:
        raise errors.ApiError(
            423,
            "LOCKED",
            "Locked",
            f"An order in status {order.status} cannot be deleted; archive it instead.",
        )
    order.delete()
