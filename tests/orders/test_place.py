"""What placing checks (all problems in one 422), and what it does when it succeeds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from orderfactory.catalog.models import Market
from orderfactory.core import clock, scope
from orderfactory.customers.models import Customer
from orderfactory.orders.models import Order
from tests.conftest import Api, document
from tests.orders.conftest import Shop, build_shop, coupon, new_order, place, problems, stock_of


def customer_of(api: Api, order_id: str) -> dict[str, Any]:
    return api.get(f"orders/{order_id}/customer").data["attributes"]


def test_every_problem_is_reported_in_one_422(api: Api, shop: Shop) -> None:
    coupon(api, "SHORTLIVED", days=1)
    order = api.create("orders", {}, {"market": ("markets", shop.market.pk)})
    api.create("line_items", {"sku_code": "TSHIRT", "quantity": 16}, {"order": order})
    api.create("line_items", {"sku_code": "MUG", "quantity": 1}, {"order": order})
    assert api.update("orders", order["id"], {"coupon_code": "SHORTLIVED"}).status == 200
    with clock.frozen(clock.now() + dt.timedelta(days=2)):
        r = place(api, order["id"])
    assert r.status == 422, r
    found = problems(r)
    assert set(found) == {
        "/data/attributes/customer_email",
        "/data/relationships/billing_address",
        "/data/relationships/shipping_address",
        "/data/relationships/payment_method",
        "/data/relationships/payment_source",
        "/data/relationships/line_items",
        "/data/attributes/coupon_code",
    }
    assert found["/data/relationships/line_items"] == ["TSHIRT is out of stock (requested 16, available 15)"]
    assert all(e["code"] == "VALIDATION_ERROR" for e in r.json["errors"])


def test_a_shipment_without_shipping_method_and_an_empty_order(api: Api, shop: Shop) -> None:
    with scope.active(api.scope()):
        Market.objects.filter(pk=shop.market.pk).update(default_shipping_method=None)
    order = new_order(api, shop, {"TSHIRT": 1})
    found = problems(place(api, order["id"]))
    assert set(found) == {"/data/relationships/shipments"}

    empty = api.create(
        "orders", {"customer_email": "ada@example.com"}, {"market": ("markets", shop.market.pk)}
    )
    found = problems(place(api, empty["id"]))
    assert found["/data/attributes/status"] == ["cannot transition from draft to placed"]
    assert found["/data/relationships/line_items"] == ["can't be blank"]


def test_a_zero_total_order_places_without_payment(api: Api) -> None:
    shop = build_shop(api, skus={"GIFTCARD": (0, {"milan": 5})})
    with scope.active(api.scope()):
        shop.skus["GIFTCARD"].do_not_ship = True
        shop.skus["GIFTCARD"].save()
    order = api.create(
        "orders", {"customer_email": "ada@example.com"}, {"market": ("markets", shop.market.pk)}
    )
    api.create("line_items", {"sku_code": "GIFTCARD", "quantity": 1}, {"order": order})
    billing = api.create(
        "addresses",
        {"first_name": "A", "last_name": "B", "line_1": "x", "city": "y", "country_code": "IT", "phone": "1"},
    )
    api.update("orders", order["id"], relationships={"billing_address": billing})
    r = place(api, order["id"])
    assert r.status == 200, r
    a = r.data["attributes"]
    assert (a["status"], a["payment_status"], a["total_amount_cents"], a["fulfillment_status"]) == (
        "placed",
        "free",
        0,
        "not_required",
    )


def test_numbers_are_sequential_per_organization_and_mode(
    api: Api, live_api: Api, other_org: Api, shop: Shop
) -> None:
    numbers = []
    for _ in range(3):
        order = new_order(api, shop, {"MUG": 1})
        r = place(api, order["id"])
        assert r.status == 200, r
        numbers.append(r.data["attributes"]["number"])
    assert numbers == ["1", "2", "3"]
    for caller in (live_api, other_org):
        elsewhere = build_shop(caller)
        order = new_order(caller, elsewhere, {"MUG": 1})
        assert place(caller, order["id"]).data["attributes"]["number"] == "1"
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).data["attributes"]["number"] == "4"


def test_placing_takes_stock_by_priority_and_splits_across_locations(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"TSHIRT": 12, "MUG": 2})
    r = place(api, order["id"])
    assert r.status == 200, r
    assert (r.data["attributes"]["payment_status"], r.data["attributes"]["placed_at"] is not None) == (
        "authorized",
        True,
    )
    assert stock_of(api, shop) == {("TSHIRT", "milan"): 0, ("TSHIRT", "berlin"): 3, ("MUG", "milan"): 1}


def test_the_customer_goes_from_prospect_to_acquired_to_repeat(api: Api, shop: Shop) -> None:
    first = new_order(api, shop, {"MUG": 1})
    assert customer_of(api, first["id"])["status"] == "prospect"
    place(api, first["id"])
    c = customer_of(api, first["id"])
    assert (c["status"], c["total_orders_count"]) == ("acquired", 1)
    second = new_order(api, shop, {"MUG": 1})
    place(api, second["id"])
    c = customer_of(api, second["id"])
    assert (c["status"], c["total_orders_count"]) == ("repeat", 2)


def test_a_failed_place_changes_nothing(api: Api, shop: Shop) -> None:
    code = coupon(api, "SUMMER2026")
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 4})
    api.update("orders", order["id"], {"coupon_code": "SUMMER2026"})
    stock = stock_of(api, shop)
    before = api.get(f"orders/{order['id']}").data["attributes"]
    r = place(api, order["id"])
    assert r.status == 422 and "MUG is out of stock" in problems(r)["/data/relationships/line_items"][0], r
    after = api.get(f"orders/{order['id']}").data["attributes"]
    assert after == before
    assert stock_of(api, shop) == stock
    assert api.get(f"coupons/{code['id']}").data["attributes"]["usage_count"] == 0
    assert (customer_of(api, order["id"])["status"], customer_of(api, order["id"])["total_orders_count"]) == (
        "prospect",
        0,
    )
    line = [
        li for li in api.get(f"orders/{order['id']}/line_items").data if li["attributes"]["sku_code"] == "MUG"
    ][0]
    api.update("line_items", line["id"], {"quantity": 3})
    placed = place(api, order["id"])
    assert placed.status == 200 and placed.data["attributes"]["number"] == "1", placed


def test_a_stock_change_between_check_and_take_is_caught(api: Api, shop: Shop) -> None:
    """The availability read before placing is re-checked under the stock rows' locks."""
    order = new_order(api, shop, {"MUG": 3})
    other = new_order(api, shop, {"MUG": 1}, email="bob@example.com")
    assert place(api, other["id"]).status == 200
    r = place(api, order["id"])
    assert r.status == 422
    assert problems(r)["/data/relationships/line_items"] == ["MUG is out of stock (requested 3, available 2)"]
    with scope.active(api.scope()):
        assert Order.objects.get(pk=order["id"]).status == "pending"
        assert Customer.objects.get(email="ada@example.com").total_orders_count == 0


def test_place_in_the_same_request_as_other_changes(api: Api, shop: Shop) -> None:
    order = new_order(api, shop, {"MUG": 1})
    body = document("orders", {"customer_email": "carol@example.com", "_place": True}, rid=order["id"])
    r = api.patch(f"orders/{order['id']}", body)
    assert r.status == 200, r
    assert (r.data["attributes"]["status"], r.data["attributes"]["customer_email"]) == (
        "placed",
        "carol@example.com",
    )
