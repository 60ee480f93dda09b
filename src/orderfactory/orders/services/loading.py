"""What the order use-cases read before they act, in one place (Saleor's ``checkout/fetch.py`` idea): the
order under its row lock, the market's stock locations and the stock they hold, the stock rows placing takes
and cancelling gives back (locked through ``core.locks``, in primary-key order), and the order number
sequence. Each read is one statement; the use-cases work on what these return."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from orderfactory.core import locks
from orderfactory.core.prepared import Prepared, PreparedValues
from orderfactory.inventory.models import InventoryStockLocation, StockItem
from orderfactory.orders.models import Order, OrderNumberSequence


def lock_order(order_id: str) -> Order:
    """The order, its row locked for the transaction, with its market and payment method (the joined rows
    stay unlocked: PostgreSQL cannot lock the nullable side of a join)."""
    order = locks.lock_one(Order.objects.select_related("market", "payment_method"), order_id)
    if order is None:
        raise Order.DoesNotExist(order_id)
    return order


def stock_locations(order: Order) -> list[InventoryStockLocation]:
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
    ),
    shared=True,  # one read for a group of copies (factories/groups.py)
)


@dataclass(frozen=True)
class StockLevels:
    """Where an order's SKUs can ship from: the market's locations in priority order, and the quantity in
    stock of each (SKU, stock location) that has a stock item."""

    locations: list[InventoryStockLocation]
    quantities: dict[tuple[str, str], int]


def stock_levels(order: Order, sku_ids: Iterable[str]) -> StockLevels:
    locations = stock_locations(order)
    ids = sorted(set(sku_ids))
    if not ids or not locations:
        return StockLevels(locations, {})
    rows = _STOCK_ITEMS.all(sku_ids=ids, location_ids=sorted({loc.stock_location_id for loc in locations}))
    return StockLevels(
        locations, {(row["sku_id"], row["stock_location_id"]): row["quantity"] for row in rows}
    )


# Quantities only: a model instance per stock item cost more than the query.
_STOCK_ITEMS = PreparedValues(
    lambda sku_ids, location_ids: StockItem.objects.filter(
        sku_id__in=sku_ids, stock_location_id__in=location_ids
    ).values("sku_id", "stock_location_id", "quantity"),
    shared=True,
)


@dataclass(frozen=True)
class StockOnHand:
    """The stock placing may take: the market's locations in priority order, and the stock items of the
    needed SKUs in the locations not on hold (locked when placing takes them)."""

    locations: list[InventoryStockLocation]
    items: list[StockItem]


def stock_on_hand(order: Order, sku_ids: Iterable[str], *, lock: bool) -> StockOnHand:
    locations = stock_locations(order)
    location_ids = [loc.stock_location_id for loc in locations if not loc.on_hold]
    qs = StockItem.objects.filter(sku_id__in=list(sku_ids), stock_location_id__in=location_ids)
    return StockOnHand(locations, locks.lock_all(qs) if lock else list(qs.order_by("pk")))


def lock_stock_items(pks: Iterable[str]) -> list[StockItem]:
    """The stock items ``pks``, locked in primary-key order (stock given back by a cancelled order)."""
    return locks.lock_all(StockItem.objects.all(), pks)


def lock_number_sequence(order: Order) -> OrderNumberSequence:
    """The order number sequence of the order's organization and mode, its row locked (the first order of an
    organization and mode creates it)."""
    scope = {"organization_id": order.organization_id, "mode": order.mode}
    seq = locks.for_update(OrderNumberSequence.objects.filter(**scope)).first()
    if seq is None:
        try:
            with transaction.atomic():
                OrderNumberSequence.objects.create(**scope, last_value=0)
        except IntegrityError:
            pass
        seq = locks.for_update(OrderNumberSequence.objects.filter(**scope)).get()
    return seq
