"""Inventory writes: inventory models, stock locations and their priorities. Every problem is reported at once."""

from __future__ import annotations

from typing import Any

from django.db.models import Max

from orderfactory.catalog.services import blank, required, save, taken
from orderfactory.inventory.models import (
    LABEL_FORMATS,
    STRATEGIES,
    InventoryModel,
    InventoryStockLocation,
    StockLocation,
)
from orderfactory.jsonapi import errors
from orderfactory.jsonapi.errors import ApiError


def not_included(instance: Any, column: str, allowed: tuple[str, ...]) -> list[ApiError]:
    value = getattr(instance, column)
    if blank(value) or value in allowed:
        return []
    return [errors.validation(column, "is not included in the list", "inclusion", value=value)]


def not_positive(instance: Any, column: str) -> list[ApiError]:
    value = getattr(instance, column)
    if value is None or value > 0:
        return []
    return [errors.validation(column, "must be greater than 0", "greater_than", value=value, count=0)]


def missing(instance: Any, *relationships: str) -> list[ApiError]:
    return [
        errors.blank(name, relationship=True) for name in relationships if not getattr(instance, f"{name}_id")
    ]


def inventory_model_problems(inventory_model: InventoryModel) -> list[ApiError]:
    return (
        required(inventory_model, "name", "strategy", "stock_locations_cutoff", "stock_reservation_cutoff")
        + not_included(inventory_model, "strategy", STRATEGIES)
        + not_positive(inventory_model, "stock_locations_cutoff")
        + not_positive(inventory_model, "stock_reservation_cutoff")
    )


def stock_location_problems(stock_location: StockLocation) -> list[ApiError]:
    return (
        required(stock_location, "name", "label_format")
        + not_included(stock_location, "label_format", LABEL_FORMATS)
        + missing(stock_location, "address")
        + taken(stock_location, "code")
    )


def inventory_stock_location_problems(isl: InventoryStockLocation) -> list[ApiError]:
    found = required(isl, "priority") + missing(isl, "stock_location", "inventory_model")
    duplicate = (
        isl.stock_location_id
        and isl.inventory_model_id
        and InventoryStockLocation.objects.filter(
            stock_location_id=isl.stock_location_id, inventory_model_id=isl.inventory_model_id
        )
        .exclude(pk=isl.pk)
        .exists()
    )
    if duplicate:
        # Commerce Layer: "stock_location - has already been taken" (one priority per location and model).
        found.append(
            errors.validation(
                "stock_location",
                "has already been taken",
                "taken",
                pointer="/data/relationships/stock_location",
                value=isl.stock_location_id,
            )
        )
    return found


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
