"""Fixed amount and free shipping promotions on an order, beside percentage discounts: their discount lines,
the totals to the cent, priority, exclusive, currency, and the usage limit under concurrent placings."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from django.db import connections

from orderfactory.core import clock
from orderfactory.jsonapi.resource import format_datetime
from tests.conftest import Api
from tests.orders.conftest import Shop, build_shop, line_items, new_order, place


def promotion(api: Api, type_name: str, **attributes: Any) -> dict[str, Any]:
    now = clock.now()
    return api.create(
        type_name,
        {
            "name": type_name,
            "starts_at": format_datetime(now - dt.timedelta(days=1)),
            "expires_at": format_datetime(now + dt.timedelta(days=30)),
            **attributes,
        },
    )


def discounts(api: Api, order_id: str) -> dict[str, int]:
    """sku code -> the line's discount_cents."""
    return {
        li["attributes"]["sku_code"]: li["attributes"]["discount_cents"] for li in line_items(api, order_id)
    }


def totals(order: dict[str, Any]) -> tuple[int, int, int, int]:
    a = order["attributes"]
    keys = ("subtotal_amount_cents", "shipping_amount_cents", "discount_amount_cents", "total_amount_cents")
    return tuple(a[k] for k in keys)  # type: ignore[return-value]


def test_a_fixed_amount_then_a_percentage_to_the_cent(api: Api, shop: Shop) -> None:
    fixed_id = promotion(
        api, "fixed_amount_promotions", fixed_amount_cents=500, currency_code="EUR", priority=1
    )["id"]
    percentage_id = promotion(api, "percentage_discount_promotions", percentage=10, priority=2)["id"]
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})  # 3000 + 800, shipping 700
    # 500 split over 3000:800 is 394.7:105.3, the cent left to the largest remainder: 395 and 105. The 10% of
    # the subtotal (380) over what is left, 2605:695, is 299.97:80.03, the cent left to the first: 300 and 80.
    assert discounts(api, order["id"]) == {"TSHIRT": -695, "MUG": -185}
    assert totals(order) == (3800, 700, -880, 3800 - 880 + 700)
    [fixed] = line_items(api, order["id"], "fixed_amount_promotions")
    [percentage] = line_items(api, order["id"], "percentage_discount_promotions")
    assert (fixed["attributes"]["total_amount_cents"], percentage["attributes"]["total_amount_cents"]) == (
        -500,
        -380,
    )
    assert fixed["attributes"]["name"] == "fixed_amount_promotions"
    breakdowns = {
        li["attributes"]["sku_code"]: li["attributes"]["discount_breakdown"]
        for li in line_items(api, order["id"])
    }
    assert breakdowns == {
        "TSHIRT": {
            fixed_id: {
                "name": "fixed_amount_promotions",
                "cents": -395,
                "weight": 0.789,
                "coupon_code": None,
            },
            percentage_id: {
                "name": "percentage_discount_promotions",
                "cents": -300,
                "weight": 0.789,
                "coupon_code": None,
            },
        },
        "MUG": {
            fixed_id: {
                "name": "fixed_amount_promotions",
                "cents": -105,
                "weight": 0.211,
                "coupon_code": None,
            },
            percentage_id: {
                "name": "percentage_discount_promotions",
                "cents": -80,
                "weight": 0.211,
                "coupon_code": None,
            },
        },
    }


def test_free_shipping_discounts_the_shipping_and_no_line(api: Api, shop: Shop) -> None:
    promotion(api, "free_shipping_promotions")
    promotion(api, "percentage_discount_promotions", percentage=10)
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    [free] = line_items(api, order["id"], "free_shipping_promotions")
    assert (free["attributes"]["total_amount_cents"], free["attributes"]["quantity"]) == (-700, 1)
    assert sum(discounts(api, order["id"]).values()) == -380
    assert totals(order) == (3800, 700, -1080, 3800 - 380)


def test_an_exclusive_promotion_stops_the_others_whatever_their_priority(api: Api, shop: Shop) -> None:
    promotion(api, "percentage_discount_promotions", percentage=10, priority=1)
    promotion(api, "free_shipping_promotions", priority=2)
    promotion(api, "fixed_amount_promotions", fixed_amount_cents=500, exclusive=True, priority=5)
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    assert [
        li["attributes"]["item_type"] for li in line_items(api, order["id"], "fixed_amount_promotions")
    ] == ["fixed_amount_promotions"]
    assert line_items(api, order["id"], "percentage_discount_promotions") == []
    assert line_items(api, order["id"], "free_shipping_promotions") == []
    assert totals(order) == (3800, 700, -500, 4000)


def test_a_fixed_amount_never_takes_the_order_below_zero_nor_applies_in_another_currency(
    api: Api, shop: Shop
) -> None:
    promotion(api, "fixed_amount_promotions", fixed_amount_cents=100_000, priority=1)
    promotion(api, "fixed_amount_promotions", fixed_amount_cents=300, currency_code="USD", priority=2)
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    assert discounts(api, order["id"]) == {"TSHIRT": -3000, "MUG": -800}
    assert totals(order) == (3800, 700, -3800, 700)
    [fixed] = line_items(api, order["id"], "fixed_amount_promotions")
    assert fixed["attributes"]["total_amount_cents"] == -3800


def test_a_promotion_of_another_market_or_not_started_gives_nothing(api: Api, shop: Shop) -> None:
    later = clock.now() + dt.timedelta(days=1)
    promotion(
        api,
        "fixed_amount_promotions",
        fixed_amount_cents=500,
        starts_at=format_datetime(later),
        expires_at=format_datetime(later + dt.timedelta(days=1)),
    )
    mine = promotion(api, "free_shipping_promotions")
    assert (
        api.update(
            "free_shipping_promotions", mine["id"], relationships={"market": ("markets", shop.market.pk)}
        ).status
        == 200
    )
    order = new_order(api, shop, {"TSHIRT": 1})
    assert totals(order)[2] == -700
    other = build_shop(api, skus={"CAP": (1000, {"milan": 5})}, code="US")
    assert totals(new_order(api, other, {"CAP": 1}))[2] == 0


def test_placing_counts_each_promotion_once(api: Api, shop: Shop) -> None:
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500)
    free = promotion(api, "free_shipping_promotions")
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    for type_name, p in (("fixed_amount_promotions", fixed), ("free_shipping_promotions", free)):
        assert api.get(f"{type_name}/{p['id']}").data["attributes"]["total_usage_count"] == 1
    assert api.update("orders", order["id"], {"_cancel": True}).status == 200
    assert api.get(f"promotions/{fixed['id']}").data["attributes"]["total_usage_count"] == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_placings_never_exceed_the_usage_limit(api: Api) -> None:
    shop = build_shop(api, skus={"MUG": (800, {"milan": 10})})
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=100, total_usage_limit=1)
    orders = [new_order(api, shop, {"MUG": 1}, email=f"buyer{n}@example.com")["id"] for n in range(3)]
    start = threading.Barrier(len(orders), timeout=30)
    statuses: dict[str, int] = {}

    def buy(order_id: str) -> None:
        caller = Api(api.token, api.app, api.organization)  # its own Client, its own connection
        try:
            start.wait()
            statuses[order_id] = place(caller, order_id).status
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(order_id,)) for order_id in orders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(statuses.values()) == [200, 422, 422], statuses
    attributes = api.get(f"fixed_amount_promotions/{fixed['id']}").data["attributes"]
    assert (attributes["total_usage_count"], attributes["total_usage_reached"]) == (1, True)


def test_free_shipping_leaves_no_tax_on_the_shipping(api: Api) -> None:
    from tests.orders.test_taxes import taxed_shop

    shop, _ = taxed_shop(api, code="IT", tax_included=False)
    promotion(api, "free_shipping_promotions")
    order = new_order(api, shop, {"TSHIRT": 2})
    [shipping] = line_items(api, order["id"], "shipments")
    assert (shipping["attributes"]["total_amount_cents"], shipping["attributes"]["discount_cents"]) == (
        700,
        -700,
    )
    assert shipping["attributes"]["tax_amount_cents"] == 0
    a = api.get(f"orders/{order['id']}").data["attributes"]
    # 3000 + 22% (660) + shipping 700 - 700 free + payment method 300 + 22% (66).
    assert (a["discount_amount_cents"], a["total_tax_amount_cents"]) == (-700, 660 + 66)
    assert (a["total_amount_cents"], a["total_amount_with_taxes_cents"]) == (3300, 3300 + 660 + 66)
