"""Orders find their customer by email; line items take their price, name and image from the catalog, keep
the price until refreshed, and every change reprices the order."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.catalog.models import Price
from orderfactory.core import scope
from orderfactory.customers.models import Customer
from tests.conftest import Api, document
from tests.orders.conftest import Shop, build_shop, line_items, new_order, problems


def order_of(api: Api, shop: Shop, email: str | None = "ada@example.com") -> dict[str, Any]:
    attributes = {"customer_email": email} if email else {}
    return api.create("orders", attributes, {"market": ("markets", shop.market.pk)})


def add(api: Api, order: dict[str, Any], **attributes: Any) -> Any:
    return api.post("line_items", document("line_items", attributes, {"order": order}))


# --- customer_email -----------------------------------------------------------------------------------------


def test_customer_email_finds_or_creates_the_customer_of_the_callers_scope(
    api: Api, other_org: Api, live_api: Api, shop: Shop
) -> None:
    first = order_of(api, shop, "Ada@Example.com")
    second = order_of(api, shop, "ada@example.com")
    customer_id = first["relationships"]["customer"]
    r = api.get(f"orders/{first['id']}", {"include": "customer"})
    customer = r.json["included"][0]
    assert customer["type"] == "customers" and customer["attributes"]["email"] == "ada@example.com"
    assert customer["attributes"]["status"] == "prospect"
    r2 = api.get(f"orders/{second['id']}", {"include": "customer"})
    assert r2.json["included"][0]["id"] == customer["id"]
    assert customer_id is not None

    for caller in (other_org, live_api):
        elsewhere = build_shop(caller)
        order = order_of(caller, elsewhere, "ada@example.com")
        included = caller.get(f"orders/{order['id']}", {"include": "customer"}).json["included"][0]
        assert included["id"] != customer["id"]
    for caller in (api, other_org, live_api):
        with scope.active(caller.scope()):
            assert Customer.objects.filter(email="ada@example.com").count() == 1


def test_a_customer_email_that_is_not_an_address_is_422(api: Api, shop: Shop) -> None:
    body = document("orders", {"customer_email": "not an email"}, {"market": ("markets", shop.market.pk)})
    r = api.post("orders", body)
    assert r.status == 422, r
    assert problems(r) == {"/data/attributes/customer_email": ["is invalid"]}


# --- line items -------------------------------------------------------------------------------------------


def test_a_sku_line_takes_price_name_and_image_from_the_catalog(api: Api, shop: Shop) -> None:
    order = order_of(api, shop)
    r = add(api, order, sku_code="TSHIRT", quantity=2)
    assert r.status == 201, r
    a = r.data["attributes"]
    assert (a["item_type"], a["sku_code"], a["quantity"]) == ("skus", "TSHIRT", 2)
    assert (a["name"], a["image_url"]) == ("Tshirt", "https://img/TSHIRT.png")
    assert (a["unit_amount_cents"], a["unit_amount_float"], a["formatted_unit_amount"]) == (
        1500,
        15.0,
        "€15,00",
    )
    assert (a["total_amount_cents"], a["currency_code"]) == (3000, "EUR")


def test_a_sku_with_no_price_in_the_market_or_an_unknown_code_is_422(api: Api, shop: Shop) -> None:
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["MUG"]).delete()
    order = order_of(api, shop)
    no_price = add(api, order, sku_code="MUG", quantity=1)
    assert no_price.status == 422, no_price
    assert list(problems(no_price)) == ["/data/attributes/sku_code"]
    assert "no price" in no_price.json["errors"][0]["title"]
    unknown = add(api, order, sku_code="NOPE", quantity=1)
    assert unknown.status == 422 and list(problems(unknown)) == ["/data/attributes/sku_code"]
    assert api.get(f"orders/{order['id']}").data["attributes"]["status"] == "draft"


@pytest.mark.parametrize("quantity", [0, -3, 100_001, 2**40])
def test_quantities_out_of_range_are_422_on_quantity(api: Api, shop: Shop, quantity: int) -> None:
    order = order_of(api, shop)
    r = add(api, order, sku_code="TSHIRT", quantity=quantity)
    assert r.status == 422, r
    assert list(problems(r)) == ["/data/attributes/quantity"]
    line = add(api, order, sku_code="TSHIRT", quantity=1).data
    r = api.update("line_items", line["id"], {"quantity": quantity})
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/quantity"], r
    assert api.get(f"line_items/{line['id']}").data["attributes"]["quantity"] == 1


def test_a_total_beyond_the_range_of_amounts_is_422_and_writes_nothing(api: Api, shop: Shop) -> None:
    """Prices go up to 2^53 - 1 cents and quantities to 100,000: their product would overflow the 64-bit total
    columns (a 500 on both databases). The totals have the amounts' range (#18 item 1)."""
    order = order_of(api, shop)
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["MUG"]).update(amount_cents=2**53 - 1)
    r = add(api, order, sku_code="MUG", quantity=2)
    assert r.status == 422, r
    assert list(problems(r)) == ["/data/attributes/total_amount_cents"]
    line = add(api, order, sku_code="MUG", quantity=1).data
    assert api.get(f"orders/{order['id']}").data["attributes"]["subtotal_amount_cents"] == 2**53 - 1
    r = add(api, order, sku_code="TSHIRT", quantity=1)
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/total_amount_cents"], r
    r = api.update("line_items", line["id"], {"quantity": 3})
    assert r.status == 422, r
    assert api.get(f"line_items/{line['id']}").data["attributes"]["quantity"] == 1
    assert len(api.get("line_items").data) == 1


def test_the_unit_price_stays_frozen_until_refresh(api: Api, shop: Shop) -> None:
    order = order_of(api, shop)
    line = add(api, order, sku_code="TSHIRT", quantity=2).data
    with scope.active(api.scope()):
        price = Price.objects.get(sku=shop.skus["TSHIRT"])
    assert api.update("prices", price.pk, {"amount_cents": 2000}).status == 200
    add(api, order, sku_code="MUG", quantity=1)  # any change reprices the order, not the lines
    assert api.get(f"line_items/{line['id']}").data["attributes"]["unit_amount_cents"] == 1500
    assert api.get(f"orders/{order['id']}").data["attributes"]["subtotal_amount_cents"] == 3800

    r = api.update("orders", order["id"], {"_refresh": True})
    assert r.status == 200, r
    assert r.data["attributes"]["subtotal_amount_cents"] == 4800
    assert r.data["attributes"]["refreshed_at"] is not None
    refreshed = api.get(f"line_items/{line['id']}").data["attributes"]
    assert (refreshed["unit_amount_cents"], refreshed["total_amount_cents"]) == (2000, 4000)


def test_every_change_reprices_the_order_in_the_price_lists_currency(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 1})
    a = order["attributes"]
    assert (a["subtotal_amount_cents"], a["shipping_amount_cents"], a["total_amount_cents"]) == (
        1500,
        700,
        2200,
    )
    assert (a["subtotal_amount_float"], a["formatted_subtotal_amount"]) == (15.0, "€15,00")
    assert (a["shipping_amount_float"], a["formatted_shipping_amount"]) == (7.0, "€7,00")
    assert (a["payment_method_amount_cents"], a["formatted_payment_method_amount"]) == (0, "€0,00")
    assert (a["discount_amount_cents"], a["formatted_discount_amount"]) == (0, "€0,00")
    assert (a["total_amount_float"], a["formatted_total_amount"], a["currency_code"]) == (
        22.0,
        "€22,00",
        "EUR",
    )
    assert (a["skus_count"], a["shipments_count"]) == (1, 1)

    line = line_items(api, order["id"])[0]
    assert api.update("line_items", line["id"], {"quantity": 3}).status == 200
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["subtotal_amount_cents"], a["total_amount_cents"], a["skus_count"]) == (4500, 5200, 3)

    with scope.active(api.scope()):
        shop.payment_method.price_amount_cents = 150
        shop.payment_method.save()
    mug = api.create("line_items", {"sku_code": "MUG", "quantity": 1}, {"order": ("orders", order["id"])})
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["payment_method_amount_cents"], a["formatted_payment_method_amount"]) == (150, "€1,50")
    assert a["total_amount_cents"] == 4500 + 800 + 700 + 150

    assert api.delete(f"line_items/{mug['id']}").status == 204
    assert api.delete(f"line_items/{line['id']}").status == 204
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["status"], a["subtotal_amount_cents"], a["shipping_amount_cents"], a["skus_count"]) == (
        "draft",
        0,
        0,
        0,
    )
    assert a["total_amount_cents"] == 150


def test_update_quantity_merges_into_the_line_of_the_same_sku(api: Api, shop: Shop) -> None:
    order = order_of(api, shop)
    first = add(api, order, sku_code="TSHIRT", quantity=2).data
    merged = add(api, order, sku_code="TSHIRT", quantity=3, _update_quantity=True)
    assert merged.status == 201, merged
    assert merged.data["id"] == first["id"]
    assert merged.data["attributes"]["quantity"] == 5
    assert [line["id"] for line in line_items(api, order["id"])] == [first["id"]]
    separate = add(api, order, sku_code="TSHIRT", quantity=1)
    assert separate.data["id"] != first["id"]
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["skus_count"], a["subtotal_amount_cents"]) == (6, 9000)


def test_update_quantity_keeps_the_frozen_price_of_the_line(api: Api, shop: Shop) -> None:
    order = order_of(api, shop)
    first = add(api, order, sku_code="TSHIRT", quantity=1).data
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["TSHIRT"]).update(amount_cents=2000)
    merged = add(api, order, sku_code="TSHIRT", quantity=1, _update_quantity=True).data
    assert merged["id"] == first["id"]
    assert (merged["attributes"]["quantity"], merged["attributes"]["unit_amount_cents"]) == (2, 1500)


def test_update_quantity_beyond_the_limit_is_422(api: Api, shop: Shop) -> None:
    order = order_of(api, shop)
    add(api, order, sku_code="TSHIRT", quantity=100_000)
    r = add(api, order, sku_code="TSHIRT", quantity=1, _update_quantity=True)
    assert r.status == 422 and list(problems(r)) == ["/data/attributes/quantity"], r
