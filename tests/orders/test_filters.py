"""Orders filtered through their associations, and every include of an order at once."""

from __future__ import annotations

from tests.conftest import Api
from tests.orders.conftest import Shop, build_shop, new_order


def ids(api: Api, **filters: str) -> list[str]:
    params = {f"filter[q][{k}]": v for k, v in filters.items()}
    r = api.get("orders", {**params, "page[size]": "25"})
    assert r.status == 200, r
    return [o["id"] for o in r.data]


def test_filters_through_market_customer_and_line_items(api: Api, shop: Shop) -> None:
    us = build_shop(api, code="US")
    ada = new_order(api, shop, {"TSHIRT": 1, "MUG": 1}, ready=False)
    api.create("line_items", {"sku_code": "TSHIRT", "quantity": 2}, {"order": ada})  # a second TSHIRT line
    bob = new_order(api, us, {"MUG": 1}, email="bob@example.com", ready=False)
    assert ids(api, market_code_eq="EU") == [ada["id"]]
    assert ids(api, market_code_eq="US") == [bob["id"]]
    assert ids(api, customer_email_eq="bob@example.com") == [bob["id"]]
    assert ids(api, line_items_sku_code_eq="TSHIRT") == [ada["id"]]
    assert ids(api, line_items_sku_code_eq="MUG") == [ada["id"], bob["id"]]
    assert ids(api, line_items_sku_code_eq="MUG", market_code_eq="US") == [bob["id"]]
    r = api.get("orders", {"filter[q][line_items_sku_code_eq]": "TSHIRT"})
    assert r.json["meta"]["record_count"] == 1


def test_every_include_of_an_order(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1, "MUG": 1})
    include = "line_items,market,customer,shipping_address,billing_address,payment_source,shipments"
    r = api.get(f"orders/{order['id']}", {"include": include})
    assert r.status == 200, r
    rels = r.data["relationships"]
    included = {(o["type"], o["id"]): o for o in r.json["included"]}
    for name in ("market", "customer", "shipping_address", "billing_address", "payment_source"):
        linkage = rels[name]["data"]
        assert linkage is not None and (linkage["type"], linkage["id"]) in included, name
    assert rels["payment_source"]["data"]["type"] == "wire_transfers"
    assert rels["market"]["data"]["id"] == shop.market.pk
    assert len(rels["line_items"]["data"]) == 4  # two SKUs, the shipment, the payment method
    assert len(rels["shipments"]["data"]) == 1
    assert all(
        (d["type"], d["id"]) in included for d in rels["line_items"]["data"] + rels["shipments"]["data"]
    )
    listed = api.get("orders", {"include": include})
    assert listed.status == 200 and {o["type"] for o in listed.json["included"]} == {
        "line_items",
        "markets",
        "customers",
        "addresses",
        "wire_transfers",
        "shipments",
    }


def test_an_order_no_subscription_made_has_no_subscription_and_no_free_skus(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    r = api.get(f"orders/{order['id']}", {"include": "order_subscription,available_free_skus,order_copies"})
    assert r.status == 200, r
    rels = r.data["relationships"]
    assert (
        rels["order_subscription"]["data"],
        rels["available_free_skus"]["data"],
        rels["order_copies"]["data"],
    ) == (None, [], [])
    assert api.get(f"orders/{order['id']}/available_free_skus").data == []
