from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orderfactory.catalog.models import Price, Sku
from orderfactory.core import scope
from orderfactory.inventory.models import StockItem
from tests.catalog import build
from tests.conftest import Api


@pytest.fixture
def category(api: Api) -> dict[str, Any]:
    return build.shipping_category(api)


def pointers(response: Any) -> list[str]:
    assert response.status == 422, response
    return [e["source"]["pointer"] for e in response.json["errors"]]


def test_a_sku_is_created_in_its_shipping_category(api: Api, category: dict[str, Any]) -> None:
    sku = build.sku(api, "tshirt-m", category, weight=250.0, unit_of_weight="gr", pieces_per_pack=2)
    attributes = sku["attributes"]
    assert (attributes["code"], attributes["name"], attributes["weight"], attributes["unit_of_weight"]) == (
        "tshirt-m",
        "Tshirt-M",
        250.0,
        "gr",
    )
    assert (attributes["do_not_ship"], attributes["do_not_track"], attributes["pieces_per_pack"]) == (
        False,
        False,
        2,
    )
    linked = api.get(f"skus/{sku['id']}/shipping_category").data
    assert linked["id"] == category["id"]
    assert [s["id"] for s in api.get(f"shipping_categories/{category['id']}/skus").data] == [sku["id"]]


def test_a_sku_needs_a_code_a_name_and_a_shipping_category_all_reported_at_once(api: Api) -> None:
    response = api.post("skus", {"data": {"type": "skus", "attributes": {"description": "A shirt"}}})
    assert pointers(response) == [
        "/data/attributes/code",
        "/data/attributes/name",
        "/data/relationships/shipping_category",
    ]


def test_a_sku_rejects_an_unknown_unit_of_weight(api: Api, category: dict[str, Any]) -> None:
    response = api.post(
        "skus",
        {
            "data": {
                "type": "skus",
                "attributes": {"code": "a", "name": "A", "unit_of_weight": "kg"},
                "relationships": {
                    "shipping_category": {"data": {"type": "shipping_categories", "id": category["id"]}}
                },
            }
        },
    )
    assert pointers(response) == ["/data/attributes/unit_of_weight"]


def test_a_sku_code_is_unique_within_the_environment(
    api: Api, live_api: Api, category: dict[str, Any]
) -> None:
    build.sku(api, "mug", category)
    response = api.post(
        "skus",
        {
            "data": {
                "type": "skus",
                "attributes": {"code": "mug", "name": "Another mug"},
                "relationships": {
                    "shipping_category": {"data": {"type": "shipping_categories", "id": category["id"]}}
                },
            }
        },
    )
    assert pointers(response) == ["/data/attributes/code"]
    build.sku(live_api, "mug", build.shipping_category(live_api))
    with scope.active(api.scope()):
        assert Sku.objects.count() == 1


def test_a_sku_is_updated_and_deleted_with_its_prices_and_stock(api: Api, category: dict[str, Any]) -> None:
    sku = build.sku(api, "mug", category)
    other = build.shipping_category(api, "Fragile")
    response = api.update(
        "skus", sku["id"], {"name": "Big mug", "do_not_ship": True}, {"shipping_category": other}
    )
    assert response.status == 200, response
    assert (response.data["attributes"]["name"], response.data["attributes"]["do_not_ship"]) == (
        "Big mug",
        True,
    )
    assert api.get(f"skus/{sku['id']}/shipping_category").data["id"] == other["id"]
    assert api.update("skus", sku["id"], {"code": ""}).status == 422

    api.create("prices", {"amount_cents": 1000}, {"price_list": build.price_list(api), "sku": sku})
    api.create("stock_items", {"quantity": 3}, {"stock_location": build.stock_location(api), "sku": sku})
    assert api.delete(f"skus/{sku['id']}").status == 204
    assert api.get(f"skus/{sku['id']}").status == 404
    with scope.active(api.scope()):
        assert (Sku.objects.count(), Price.objects.count(), StockItem.objects.count()) == (0, 0, 0)


def test_inventory_is_computed_for_a_retrieved_sku_only(api: Api, category: dict[str, Any]) -> None:
    sku = build.sku(api, "mug", category)
    milano, roma = build.stock_location(api, "Milano"), build.stock_location(api, "Roma")
    api.create("stock_items", {"quantity": 4}, {"stock_location": roma, "sku": sku})
    api.create("stock_items", {"quantity": 6}, {"stock_location": milano, "sku": sku})

    assert api.get(f"skus/{sku['id']}").data["attributes"]["inventory"] == {
        "available": True,
        "quantity": 10,
        "levels": [
            {"quantity": 6, "stock_location": {"id": milano["id"], "name": "Milano"}},
            {"quantity": 4, "stock_location": {"id": roma["id"], "name": "Roma"}},
        ],
    }
    assert [s["attributes"]["inventory"] for s in api.get("skus").data] == [None]


def test_a_sku_without_stock_is_unavailable_unless_its_stock_is_not_tracked(
    api: Api, category: dict[str, Any]
) -> None:
    tracked = build.sku(api, "mug", category)
    untracked = build.sku(api, "ebook", category, do_not_track=True)
    assert api.get(f"skus/{tracked['id']}").data["attributes"]["inventory"] == {
        "available": False,
        "quantity": 0,
        "levels": [],
    }
    assert api.get(f"skus/{untracked['id']}").data["attributes"]["inventory"]["available"] is True


def test_skus_include_their_prices_and_stock_items_in_one_query_each(
    api: Api, category: dict[str, Any]
) -> None:
    mug, cup = build.sku(api, "mug", category), build.sku(api, "cup", category)
    europe, usa = build.price_list(api), build.price_list(api, "USA", "USD")
    mug_eur = api.create("prices", {"amount_cents": 1000}, {"price_list": europe, "sku": mug})
    mug_usd = api.create("prices", {"amount_cents": 1200}, {"price_list": usa, "sku": mug})
    stock = api.create(
        "stock_items", {"quantity": 5}, {"stock_location": build.stock_location(api), "sku": cup}
    )

    with CaptureQueriesContext(connection) as plain:
        api.get("skus", {"sort": "code"})
    with CaptureQueriesContext(connection) as with_includes:
        response = api.get("skus", {"include": "prices,stock_items", "sort": "code"})
    assert response.status == 200, response
    assert len(with_includes) == len(plain) + 2
    cup_data, mug_data = response.data
    assert [p["id"] for p in mug_data["relationships"]["prices"]["data"]] == [mug_eur["id"], mug_usd["id"]]
    assert mug_data["relationships"]["stock_items"]["data"] == []
    assert cup_data["relationships"]["stock_items"]["data"] == [{"type": "stock_items", "id": stock["id"]}]
    assert {(o["type"], o["id"]) for o in response.json["included"]} == {
        ("prices", mug_eur["id"]),
        ("prices", mug_usd["id"]),
        ("stock_items", stock["id"]),
    }
    included = {o["id"]: o["attributes"] for o in response.json["included"]}
    assert included[mug_usd["id"]]["formatted_amount"] == "$12.00"
    assert included[stock["id"]]["sku_code"] == "cup"


def test_skus_are_filtered_by_code_and_by_shipping_category(api: Api, category: dict[str, Any]) -> None:
    mug = build.sku(api, "mug", category)
    cup = build.sku(api, "cup", build.shipping_category(api, "Fragile"))
    assert [s["id"] for s in api.get("skus", {"filter[q][code_eq]": "mug"}).data] == [mug["id"]]
    found = api.get("skus", {"filter[q][shipping_category_name_eq]": "Fragile"}).data
    assert [s["id"] for s in found] == [cup["id"]]
    assert [
        s["id"] for s in api.get("skus", {"filter[q][do_not_ship_false]": "true", "sort": "-code"}).data
    ] == [
        mug["id"],
        cup["id"],
    ]


def test_a_shipping_category_with_skus_cannot_be_deleted(api: Api, category: dict[str, Any]) -> None:
    build.sku(api, "mug", category)
    response = api.delete(f"shipping_categories/{category['id']}")
    assert (response.status, response.error_codes) == (423, ["LOCKED"])
