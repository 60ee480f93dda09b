from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orderfactory.addresses.models import Address
from orderfactory.core import scope as scopes
from orderfactory.inventory.models import InventoryModel, InventoryStockLocation, StockLocation
from orderfactory.inventory.services import (
    save_inventory_model,
    save_inventory_stock_location,
    save_stock_location,
)
from tests.refusal import Rendered, refused


@pytest.fixture
def in_scope(api: Any) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope:
        yield scope


@pytest.fixture
def address(in_scope: scopes.Scope) -> Address:
    return Address.objects.create(line_1="Via Roma 1", city="Milano", country_code="IT", phone="02 1234")


def errors_of(excinfo: Rendered) -> list[tuple[str | None, str]]:
    assert {e.status for e in excinfo.value.errors} == {422}
    return [(e.pointer, (e.meta or {})["error"]) for e in excinfo.value.errors]


def test_an_inventory_model_takes_commerce_layer_defaults(in_scope: scopes.Scope) -> None:
    model = save_inventory_model(InventoryModel(), {"name": "EU"})
    model.refresh_from_db()
    assert (model.strategy, model.stock_locations_cutoff, model.stock_reservation_cutoff) == (
        "no_split",
        2,
        3600,
    )
    assert (model.put_stock_transfers_on_hold, model.manual_stock_decrement) == (False, False)


def test_an_inventory_model_rejects_an_unknown_strategy_and_cutoffs_below_one(in_scope: scopes.Scope) -> None:
    with refused() as excinfo:
        save_inventory_model(
            InventoryModel(),
            {"name": "EU", "strategy": "random", "stock_locations_cutoff": 0, "stock_reservation_cutoff": -1},
        )
    assert errors_of(excinfo) == [
        ("/data/attributes/strategy", "inclusion"),
        ("/data/attributes/stock_locations_cutoff", "greater_than"),
        ("/data/attributes/stock_reservation_cutoff", "greater_than"),
    ]


def test_stock_locations_are_numbered_in_order_of_creation(in_scope: scopes.Scope, address: Address) -> None:
    first = save_stock_location(StockLocation(), {"name": "Primary", "address_id": address.pk})
    second = save_stock_location(StockLocation(), {"name": "Secondary", "address_id": address.pk})
    assert (first.number, second.number, second.label_format) == (1, 2, "PDF")
    assert save_stock_location(first, {"name": "Main"}).number == 1


def test_a_stock_location_reports_every_problem_at_once(in_scope: scopes.Scope, address: Address) -> None:
    save_stock_location(StockLocation(), {"name": "Primary", "code": "eu1", "address_id": address.pk})
    with refused() as excinfo:
        save_stock_location(StockLocation(), {"label_format": "GIF", "code": "eu1"})
    assert errors_of(excinfo) == [
        ("/data/attributes/name", "blank"),
        ("/data/attributes/label_format", "inclusion"),
        ("/data/relationships/address", "blank"),
        ("/data/attributes/code", "taken"),
    ]
    assert StockLocation.objects.count() == 1


def test_a_stock_location_has_one_priority_per_inventory_model(
    in_scope: scopes.Scope, address: Address
) -> None:
    location = save_stock_location(StockLocation(), {"name": "Primary", "address_id": address.pk})
    eu = save_inventory_model(InventoryModel(), {"name": "EU"})
    us = save_inventory_model(InventoryModel(), {"name": "US"})
    link = {"stock_location_id": location.pk, "inventory_model_id": eu.pk, "priority": 1}
    first = save_inventory_stock_location(InventoryStockLocation(), link)

    with refused() as excinfo:
        save_inventory_stock_location(InventoryStockLocation(), {**link, "priority": 2})
    assert errors_of(excinfo) == [("/data/relationships/stock_location", "taken")]

    save_inventory_stock_location(first, {"priority": 5})  # updating itself is no duplicate
    save_inventory_stock_location(InventoryStockLocation(), {**link, "inventory_model_id": us.pk})
    assert InventoryStockLocation.objects.count() == 2


def test_an_inventory_stock_location_needs_its_priority_and_both_ends(in_scope: scopes.Scope) -> None:
    with refused() as excinfo:
        save_inventory_stock_location(InventoryStockLocation(), {})
    assert errors_of(excinfo) == [
        ("/data/attributes/priority", "blank"),
        ("/data/relationships/stock_location", "blank"),
        ("/data/relationships/inventory_model", "blank"),
    ]
