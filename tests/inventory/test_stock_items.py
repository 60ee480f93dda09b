from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderfactory.core import scope
from orderfactory.inventory.models import InventoryModel, StockItem
from orderfactory.inventory.services import available_quantity, stock_levels
from tests.catalog import build
from tests.conftest import Api, document


@pytest.fixture
def category(api: Api) -> dict[str, Any]:
    return build.shipping_category(api)


@pytest.fixture
def mug(api: Api, category: dict[str, Any]) -> dict[str, Any]:
    return build.sku(api, "mug", category)


@pytest.fixture
def milano(api: Api) -> dict[str, Any]:
    return build.stock_location(api, "Milano")


def problems(response: Any) -> list[tuple[str, str]]:
    assert response.status == 422, response
    return [(e["source"]["pointer"], e["meta"]["error"]) for e in response.json["errors"]]


def test_a_stock_item_is_created_for_a_sku_or_a_sku_code(
    api: Api, mug: dict[str, Any], milano: dict[str, Any]
) -> None:
    item = api.create("stock_items", {"quantity": 10}, {"stock_location": milano, "sku": mug})
    assert (item["attributes"]["quantity"], item["attributes"]["sku_code"]) == (10, "mug")
    roma = build.stock_location(api, "Roma")
    by_code = api.create("stock_items", {"quantity": 0, "sku_code": "mug"}, {"stock_location": roma})
    assert api.get(f"stock_items/{by_code['id']}/sku").data["id"] == mug["id"]
    listed = api.get(f"stock_locations/{milano['id']}", {"include": "stock_items"})
    assert listed.data["relationships"]["stock_items"]["data"] == [{"type": "stock_items", "id": item["id"]}]


def test_a_stock_item_reports_every_problem_at_once(
    api: Api, mug: dict[str, Any], milano: dict[str, Any]
) -> None:
    response = api.post("stock_items", document("stock_items", {"quantity": 1}))
    assert problems(response) == [("/data/relationships/stock_location", "blank")]
    response = api.post(
        "stock_items",
        document("stock_items", {"quantity": -1, "sku_code": "cup"}, {"stock_location": milano}),
    )
    assert problems(response) == [
        ("/data/attributes/sku_code", "invalid"),
        ("/data/attributes/quantity", "greater_than_or_equal_to"),
        ("/data/relationships/sku", "blank"),
    ]
    api.create("stock_items", {"quantity": 1}, {"stock_location": milano, "sku": mug})
    response = api.post(
        "stock_items", document("stock_items", {"quantity": 2, "sku_code": "mug"}, {"stock_location": milano})
    )
    assert problems(response) == [("/data/relationships/sku", "taken")]


def test_a_stock_item_is_updated_and_deleted(api: Api, mug: dict[str, Any], milano: dict[str, Any]) -> None:
    item = api.create("stock_items", {"quantity": 1}, {"stock_location": milano, "sku": mug})
    response = api.update("stock_items", item["id"], {"quantity": 7, "_validate": True})
    assert response.status == 200, response
    assert response.data["attributes"]["quantity"] == 7
    assert problems(api.update("stock_items", item["id"], {"quantity": -7})) == [
        ("/data/attributes/quantity", "greater_than_or_equal_to")
    ]
    assert api.delete(f"stock_items/{item['id']}").status == 204
    with scope.active(api.scope()):
        assert not StockItem.objects.exists()


def test_stock_items_are_filtered_by_sku_code_and_stock_location(
    api: Api, category: dict[str, Any], mug: dict[str, Any], milano: dict[str, Any]
) -> None:
    cup = build.sku(api, "cup", category)
    roma = build.stock_location(api, "Roma")
    mug_milano = api.create("stock_items", {"quantity": 1}, {"stock_location": milano, "sku": mug})
    cup_milano = api.create("stock_items", {"quantity": 2}, {"stock_location": milano, "sku": cup})
    mug_roma = api.create("stock_items", {"quantity": 3}, {"stock_location": roma, "sku": mug})

    def ids(**filters: str) -> list[str]:
        response = api.get("stock_items", {f"filter[q][{k}]": v for k, v in filters.items()})
        assert response.status == 200, response
        return [i["id"] for i in response.data]

    assert ids(sku_code_eq="mug") == [mug_milano["id"], mug_roma["id"]]
    assert ids(stock_location_name_eq="Milano") == [mug_milano["id"], cup_milano["id"]]
    assert ids(sku_code_eq="mug", quantity_gt="1") == [mug_roma["id"]]


def test_stock_levels_follow_the_inventory_model_priorities_skipping_locations_on_hold(
    api: Api, category: dict[str, Any], mug: dict[str, Any], milano: dict[str, Any]
) -> None:
    cup = build.sku(api, "cup", category)
    roma, torino = build.stock_location(api, "Roma"), build.stock_location(api, "Torino")
    europe = build.inventory_model(api)
    for location, priority, on_hold in ((milano, 2, False), (roma, 1, False), (torino, 0, True)):
        api.create(
            "inventory_stock_locations",
            {"priority": priority, "on_hold": on_hold},
            {"stock_location": location, "inventory_model": europe},
        )
    for location, sku, quantity in ((milano, mug, 4), (roma, mug, 0), (torino, mug, 9), (milano, cup, 1)):
        api.create("stock_items", {"quantity": quantity}, {"stock_location": location, "sku": sku})
    other_model = build.inventory_model(api, "Elsewhere")

    with scope.active(api.scope()):
        model = InventoryModel.objects.get(pk=europe["id"])
        with CaptureQueriesContext(connection) as queries:
            levels = stock_levels(model, [mug["id"], cup["id"], "unknown"])
        assert len(queries) == 1
        assert levels == {
            mug["id"]: [(roma["id"], 1, 0), (milano["id"], 2, 4)],
            cup["id"]: [(milano["id"], 2, 1)],
        }
        assert (available_quantity(model, mug["id"]), available_quantity(model, "unknown")) == (4, 0)
        assert stock_levels(InventoryModel.objects.get(pk=other_model["id"]), [mug["id"]]) == {}
