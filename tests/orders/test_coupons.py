"""A coupon code on an order applies its promotion as a discount line."""

from __future__ import annotations

import datetime as dt

from orderfactory.core import clock
from tests.conftest import Api
from tests.orders.conftest import Shop, coupon, line_items, new_order, place, problems


def test_a_valid_coupon_adds_a_discount_line_and_changes_the_totals(api: Api, shop: Shop) -> None:
    coupon(api, "SUMMER2026", percentage=10)
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    r = api.update("orders", order["id"], {"coupon_code": "SUMMER2026"})
    assert r.status == 200, r
    a = r.data["attributes"]
    assert (a["subtotal_amount_cents"], a["discount_amount_cents"], a["formatted_discount_amount"]) == (
        3800,
        -380,
        "-€3,80",
    )
    assert a["total_amount_cents"] == 3800 - 380 + 700
    [discount] = line_items(api, order["id"], "percentage_discount_promotions")
    d = discount["attributes"]
    assert (d["total_amount_cents"], d["unit_amount_cents"], d["quantity"], d["coupon_code"]) == (
        -380,
        -380,
        1,
        "SUMMER2026",
    )
    assert sum(li["attributes"]["discount_cents"] for li in line_items(api, order["id"])) == -380

    removed = api.update("orders", order["id"], {"coupon_code": None})
    assert removed.status == 200 and removed.data["attributes"]["discount_amount_cents"] == 0
    assert line_items(api, order["id"], "percentage_discount_promotions") == []


def test_unknown_expired_or_exhausted_coupons_are_422_on_coupon_code(api: Api, shop: Shop) -> None:
    coupon(api, "SHORTLIVED", days=1)
    coupon(api, "ONLYONCE1", usage_limit=1)
    order = new_order(api, shop, {"TSHIRT": 1})
    first = new_order(api, shop, {"TSHIRT": 1})
    assert api.update("orders", first["id"], {"coupon_code": "ONLYONCE1"}).status == 200
    assert place(api, first["id"]).status == 200

    with clock.frozen(clock.now() + dt.timedelta(days=2)):
        expired = api.update("orders", order["id"], {"coupon_code": "SHORTLIVED"})
    for r in (
        api.update("orders", order["id"], {"coupon_code": "NOSUCHCODE"}),
        expired,
        api.update("orders", order["id"], {"coupon_code": "ONLYONCE1"}),
    ):
        assert r.status == 422, r
        assert list(problems(r)) == ["/data/attributes/coupon_code"]
    a = api.get(f"orders/{order['id']}").data["attributes"]
    assert (a["coupon_code"], a["discount_amount_cents"]) == (None, 0)


def test_placing_counts_the_coupon_use_and_a_coupon_gone_stale_fails_the_place(api: Api, shop: Shop) -> None:
    code = coupon(api, "SUMMER2026", usage_limit=5)
    order = new_order(api, shop, {"TSHIRT": 1})
    api.update("orders", order["id"], {"coupon_code": "SUMMER2026"})
    assert place(api, order["id"]).status == 200
    assert api.get(f"coupons/{code['id']}").data["attributes"]["usage_count"] == 1

    late = new_order(api, shop, {"TSHIRT": 1})
    api.update("orders", late["id"], {"coupon_code": "SUMMER2026"})
    with clock.frozen(clock.now() + dt.timedelta(days=31)):
        r = place(api, late["id"])
    assert r.status == 422, r
    assert list(problems(r)) == ["/data/attributes/coupon_code"]
    assert api.get(f"coupons/{code['id']}").data["attributes"]["usage_count"] == 1
    assert api.get(f"orders/{late['id']}").data["attributes"]["status"] == "pending"

    assert api.update("orders", order["id"], {"_cancel": True}).status == 200
    assert api.get(f"coupons/{code['id']}").data["attributes"]["usage_count"] == 0
