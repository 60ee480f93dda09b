"""Shipments are built from the line items and the inventory model, and each needs a shipping method."""

from __future__ import annotations

from typing import Any

from orderfactory.catalog.models import Market, ShippingMethod
from orderfactory.core import scope
from tests.conftest import Api, document
from tests.orders.conftest import Shop, build_shop, line_items, new_order, place, problems

SKUS = {
    "TSHIRT": (1500, {"milan": 10, "berlin": 5}),
    "MUG": (800, {"milan": 3}),
    "CAP": (500, {"berlin": 4}),
    "EBOOK": (900, {}),
}


def shop_with_cap(api: Api) -> Shop:
    shop = build_shop(api, skus=SKUS)
    with scope.active(api.scope()):
        ebook = shop.skus["EBOOK"]
        ebook.do_not_ship = ebook.do_not_track = True
        ebook.save()
    return shop


def shipments_of(api: Api, order_id: str, **params: str) -> Any:
    r = api.get(f"orders/{order_id}/shipments", params or None)
    assert r.status == 200, r
    return r


def test_one_shipment_per_stock_location_in_priority_order(api: Api) -> None:
    shop = shop_with_cap(api)
    order = new_order(api, shop, {"CAP": 1, "TSHIRT": 2, "MUG": 1})
    r = shipments_of(api, order["id"], include="stock_location,line_items,shipping_method")
    shipments = r.data
    assert [s["relationships"]["stock_location"]["data"]["id"] for s in shipments] == [
        loc.pk for loc in shop.locations
    ]
    assert [s["attributes"]["skus_count"] for s in shipments] == [3, 1]
    by_id = {o["id"]: o for o in r.json["included"]}
    codes = [
        sorted(by_id[li["id"]]["attributes"]["sku_code"] for li in s["relationships"]["line_items"]["data"])
        for s in shipments
    ]
    assert codes == [["MUG", "TSHIRT"], ["CAP"]]
    assert all(
        s["relationships"]["shipping_method"]["data"]["id"] == shop.shipping_method.pk for s in shipments
    )
    assert all(s["attributes"]["status"] == "draft" for s in shipments)
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["shipments_count"], a["shipping_amount_cents"]) == (2, 1400)
    shipment_lines = line_items(api, order["id"], "shipments")
    assert sorted(li["attributes"]["total_amount_cents"] for li in shipment_lines) == [700, 700]


def test_a_line_too_big_for_the_first_location_goes_to_one_that_holds_it(api: Api) -> None:
    shop = shop_with_cap(api)
    with scope.active(api.scope()):
        shop.stock[("TSHIRT", "milan")].quantity = 1
        shop.stock[("TSHIRT", "milan")].save()
    order = new_order(api, shop, {"TSHIRT": 3})
    shipments = shipments_of(api, order["id"]).data
    assert [s["relationships"]["stock_location"] for s in shipments]
    stock_locations = [api.get(f"shipments/{s['id']}/stock_location").data["id"] for s in shipments]
    assert stock_locations == [shop.locations[1].pk]


def test_no_shipments_without_a_shipping_address_or_for_do_not_ship_skus(api: Api) -> None:
    shop = shop_with_cap(api)
    draft = api.create(
        "orders", {"customer_email": "ada@example.com"}, {"market": ("markets", shop.market.pk)}
    )
    api.create("line_items", {"sku_code": "TSHIRT", "quantity": 1}, {"order": draft})
    assert shipments_of(api, draft["id"]).data == []

    order = new_order(api, shop, {"EBOOK": 1})
    assert shipments_of(api, order["id"]).data == []
    a = order["attributes"]
    assert (a["shipments_count"], a["shipping_amount_cents"], a["total_amount_cents"]) == (0, 0, 900)
    api.update("orders", order["id"], relationships={"shipping_address": None})
    r = place(api, order["id"])
    assert r.status == 200, r
    assert (r.data["attributes"]["status"], r.data["attributes"]["fulfillment_status"]) == (
        "placed",
        "not_required",
    )


def test_free_shipping_over_the_threshold(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 6})
    a = order["attributes"]
    assert (a["subtotal_amount_cents"], a["shipping_amount_cents"], a["total_amount_cents"]) == (
        9000,
        700,
        9700,
    )
    line = line_items(api, order["id"])[0]
    api.update("line_items", line["id"], {"quantity": 7})
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["subtotal_amount_cents"], a["shipping_amount_cents"], a["total_amount_cents"]) == (
        10500,
        0,
        10500,
    )
    assert shipments_of(api, order["id"]).data[0]["attributes"]["cost_amount_cents"] == 0


def test_a_shipment_needs_a_shipping_method_to_place(api: Api, shop: Shop) -> None:
    with scope.active(api.scope()):
        Market.objects.filter(pk=shop.market.pk).update(default_shipping_method=None)
    order = new_order(api, shop, {"TSHIRT": 1})
    shipment = shipments_of(api, order["id"]).data[0]
    assert api.get(f"shipments/{shipment['id']}/shipping_method").json["data"] is None
    r = place(api, order["id"])
    assert r.status == 422, r
    assert list(problems(r)) == ["/data/relationships/shipments"]

    chosen = api.update(
        "shipments",
        shipment["id"],
        relationships={"shipping_method": ("shipping_methods", shop.shipping_method.pk)},
    )
    assert chosen.status == 200, chosen
    assert chosen.data["attributes"]["cost_amount_cents"] == 700
    assert api.get(f"orders/{order['id']}").data["attributes"]["shipping_amount_cents"] == 700
    assert place(api, order["id"]).status == 200


def test_the_shipping_method_of_a_shipment_must_be_available(api: Api, shop: Shop) -> None:
    other_market = build_shop(api, code="US").market
    with scope.active(api.scope()):
        express = ShippingMethod.objects.create(
            name="Express", price_amount_cents=1500, market=shop.market, currency_code="EUR"
        )
        elsewhere = ShippingMethod.objects.create(
            name="US only", price_amount_cents=100, market=other_market, currency_code="EUR"
        )
        disabled = ShippingMethod.objects.create(
            name="Gone", price_amount_cents=100, currency_code="EUR", disabled_at=express.created_at
        )
    order = new_order(api, shop, {"TSHIRT": 1})
    shipment = shipments_of(api, order["id"]).data[0]
    r = api.get(f"shipments/{shipment['id']}", {"include": "available_shipping_methods"})
    available = {o["id"] for o in r.json["included"]}
    assert {shop.shipping_method.pk, express.pk} <= available
    assert not available & {elsewhere.pk, disabled.pk}
    linked = {d["id"] for d in r.data["relationships"]["available_shipping_methods"]["data"]}
    assert linked == available

    for method in (elsewhere, disabled):
        r = api.update(
            "shipments", shipment["id"], relationships={"shipping_method": ("shipping_methods", method.pk)}
        )
        assert r.status == 422 and list(problems(r)) == ["/data/relationships/shipping_method"], r

    r = api.update(
        "shipments", shipment["id"], relationships={"shipping_method": ("shipping_methods", express.pk)}
    )
    assert r.status == 200, r
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["shipping_amount_cents"], a["total_amount_cents"]) == (1500, 3000)
    # Another change to the order keeps the chosen method.
    api.create("line_items", {"sku_code": "TSHIRT", "quantity": 1}, {"order": ("orders", order["id"])})
    assert api.get(f"shipments/{shipment['id']}/shipping_method").data["id"] == express.pk


def test_available_shipping_methods_in_a_list_of_shipments(api: Api) -> None:
    shop = shop_with_cap(api)
    with scope.active(api.scope()):
        milan_only = ShippingMethod.objects.create(
            name="Milan pickup", price_amount_cents=0, stock_location=shop.locations[0], currency_code="EUR"
        )
    order = new_order(api, shop, {"TSHIRT": 1, "CAP": 1})
    r = shipments_of(api, order["id"], include="available_shipping_methods")
    available = [{d["id"] for d in s["relationships"]["available_shipping_methods"]["data"]} for s in r.data]
    assert available == [{shop.shipping_method.pk, milan_only.pk}, {shop.shipping_method.pk}]


def test_shipments_cannot_be_created_or_changed_once_placed(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    body = document("shipments", {}, {"order": ("orders", order["id"])})
    assert api.post("shipments", body).status == 405
    assert place(api, order["id"]).status == 200
    shipment = shipments_of(api, order["id"]).data[0]
    assert (shipment["attributes"]["status"], shipment["attributes"]["number"]) == ("upcoming", "1/S/001")
    r = api.update(
        "shipments",
        shipment["id"],
        relationships={"shipping_method": ("shipping_methods", shop.shipping_method.pk)},
    )
    assert r.status == 422, r


def test_available_shipping_methods_with_a_sparse_fieldset(api: Api) -> None:
    shop = shop_with_cap(api)
    order = new_order(api, shop, {"TSHIRT": 1, "CAP": 1})
    r = shipments_of(
        api, order["id"], include="available_shipping_methods", **{"fields[shipping_methods]": "name"}
    )
    assert [o["attributes"] for o in r.json["included"]] == [{"name": "Standard"}]
    assert all(s["relationships"]["available_shipping_methods"]["data"] for s in r.data)


def test_removing_the_shipping_address_removes_the_shipments(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    assert len(shipments_of(api, order["id"]).data) == 1
    r = api.update("orders", order["id"], relationships={"shipping_address": None})
    assert r.status == 200, r
    assert (r.data["attributes"]["shipments_count"], r.data["attributes"]["shipping_amount_cents"]) == (0, 0)
    assert shipments_of(api, order["id"]).data == []
    problems_found = problems(place(api, order["id"]))
    assert list(problems_found) == ["/data/relationships/shipping_address"]
