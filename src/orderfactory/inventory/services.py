"""Inventory writes (inventory models, stock locations, their priorities, stock items), every problem reported
at once, and the stock questions orders ask: where a SKU is stocked, in priority order, and how much of it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, Max

from orderfactory.catalog.services import (
    missing,
    negative,
    not_included,
    required,
    resolve_sku_code,
    save,
    taken,
    taken_together,
)
from orderfactory.core.errors import CommonErrorCode, Problem, problem
from orderfactory.inventory.models import (
    LABEL_FORMATS,
    STRATEGIES,
    InventoryModel,
    InventoryStockLocation,
    StockItem,
    StockLocation,
)

# (stock_location_id, priority, quantity)
StockLevel = tuple[str, int, int]


def not_positive(instance: Any, column: str) -> list[Problem]:
    value = getattr(instance, column)
    if value is None or value > 0:
        return []
    return [problem(column, "must be greater than 0", CommonErrorCode.GREATER_THAN, value=value, count=0)]


def inventory_model_problems(inventory_model: InventoryModel) -> list[Problem]:
    return (
        required(inventory_model, "name", "strategy", "stock_locations_cutoff", "stock_reservation_cutoff")
        + not_included(inventory_model, "strategy", STRATEGIES)
        + not_positive(inventory_model, "stock_locations_cutoff")
        + not_positive(inventory_model, "stock_reservation_cutoff")
    )


def stock_location_problems(stock_location: StockLocation) -> list[Problem]:
    return (
        required(stock_location, "name", "label_format")
        + not_included(stock_location, "label_format", LABEL_FORMATS)
        + missing(stock_location, "address")
        + taken(stock_location, "code")
    )


def inventory_stock_location_problems(isl: InventoryStockLocation) -> list[Problem]:
    # Commerce Layer: "stock_location - has already been taken" (one priority per location and model).
    return (
        required(isl, "priority")
        + missing(isl, "stock_location", "inventory_model")
        + taken_together(isl, ("stock_location_id", "inventory_model_id"), "stock_location")
    )


def stock_item_problems(stock_item: StockItem) -> list[Problem]:
    return (
        required(stock_item, "quantity")
        + negative(stock_item, "quantity")
        + missing(stock_item, "stock_location", "sku")
        + taken_together(stock_item, ("stock_location_id", "sku_id"), "sku")
    )


def save_inventory_model(inventory_model: InventoryModel, changes: dict[str, Any]) -> InventoryModel:
    return save(inventory_model, changes, inventory_model_problems)


def save_stock_location(stock_location: StockLocation, changes: dict[str, Any]) -> StockLocation:
    """Stock locations are numbered 1, 2, ... in each environment, in order of creation."""
    if stock_location._state.adding and stock_location.number is None:
        last = StockLocation.objects.aggregate(last=Max("number"))["last"]
        stock_location.number = (last or 0) + 1
    return save(stock_location, changes, stock_location_problems)


def save_inventory_stock_location(
    isl: InventoryStockLocation, changes: dict[str, Any]
) -> InventoryStockLocation:
    return save(isl, changes, inventory_stock_location_problems)


@transaction.atomic
def save_stock_item(stock_item: StockItem, changes: dict[str, Any]) -> StockItem:
    """``changes`` may name the SKU by ``sku_code``."""
    unknown_code = resolve_sku_code(changes)
    return save(stock_item, changes, lambda item: unknown_code + stock_item_problems(item))


# --- what orders ask the inventory --------------------------------------------------------------------------


def stock_levels(inventory_model: InventoryModel, sku_ids: Iterable[str]) -> dict[str, list[StockLevel]]:
    """For each SKU stocked in the inventory model's locations: ``(stock_location_id, priority, quantity)``
    in the model's priority order (ties by stock location number), locations on hold left out. One query;
    SKUs without stock items are absent."""
    rows = (
        StockItem.objects.filter(
            sku_id__in=list(sku_ids),
            stock_location__inventory_stock_locations__inventory_model=inventory_model,
            stock_location__inventory_stock_locations__on_hold=False,
        )
        .annotate(priority=F("stock_location__inventory_stock_locations__priority"))
        .order_by("priority", "stock_location__number")
        .values_list("sku_id", "stock_location_id", "priority", "quantity")
    )
    levels: dict[str, list[StockLevel]] = defaultdict(list)
    for sku_id, stock_location_id, priority, quantity in rows:
        levels[sku_id].append((stock_location_id, priority, quantity))
    return dict(levels)


def available_quantity(inventory_model: InventoryModel, sku_id: str) -> int:
    """The SKU's stock across the inventory model's locations that are not on hold."""
    return sum(quantity for _, _, quantity in stock_levels(inventory_model, [sku_id]).get(sku_id, []))


def sku_inventory(sku_id: str, do_not_track: bool) -> dict[str, Any]:
    """Commerce Layer's ``inventory`` of one SKU: its stock in every stock location (by location number). A
    SKU whose stock is not tracked is always available."""
    levels = [
        {
            "quantity": item["quantity"],
            "stock_location": {"id": item["stock_location_id"], "name": item["stock_location__name"]},
        }
        for item in StockItem.objects.filter(sku_id=sku_id)
        .order_by("stock_location__number")
        .values("quantity", "stock_location_id", "stock_location__name")
    ]
    quantity = sum(level["quantity"] for level in levels)
    return {"available": do_not_track or quantity > 0, "quantity": quantity, "levels": levels}
