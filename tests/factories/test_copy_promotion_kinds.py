"""The copy and the promotion kinds: fixed amount, free shipping, free gift and buy X pay Y lines come over
frozen, or are reapplied only while still valid under ``apply_promotions``; ``ignore_invalid_coupon`` drops
a coupon of any kind."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.test_copy import lines, run_copy
from tests.orders.conftest import new_order, place
from tests.orders.test_promotion_kinds import promotion


@pytest.fixture
def source(api: Any, shop: Any) -> dict[str, Any]:
    """A placed order of 2 TSHIRT (3000), shipping 700, with 500 off and free shipping, the free shipping
    by coupon."""
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500)
    free = promotion(api, "free_shipping_promotions")
    rule = api.create("coupon_codes_promotion_rules", {}, {"promotion": free})
    api.create("coupons", {"code": "SHIPFREE26"}, {"promotion_rule": rule})
    order = new_order(api, shop, {"TSHIRT": 2})
    r = api.update("orders", order["id"], {"coupon_code": "SHIPFREE26"})
    assert r.status == 200, r
    assert (r.data["attributes"]["discount_amount_cents"], r.data["attributes"]["total_amount_cents"]) == (
        -1200,
        2500,
    )
    assert place(api, order["id"]).status == 200
    return {"order": order, "fixed": fixed, "free": free}


def amounts(api: Any, order_id: str, type_name: str) -> list[int]:
    return [line["total_amount_cents"] for line in lines(api, order_id, type_name)]


def test_the_lines_come_over_frozen_whatever_the_promotions_now_say(api: Any, source: Any) -> None:
    api.update("fixed_amount_promotions", source["fixed"]["id"], {"fixed_amount_cents": 300})
    api.update("free_shipping_promotions", source["free"]["id"], {"_disable": True})
    factory, target = run_copy(api, source["order"]["id"], ignore_invalid_coupon=False)
    # The coupon's promotion is disabled: the copy fails, as for a percentage discount's coupon.
    assert factory["attributes"]["status"] == "failed", factory
    api.update("free_shipping_promotions", source["free"]["id"], {"_enable": True})
    factory, target = run_copy(api, source["order"]["id"])
    assert factory["attributes"]["status"] == "completed", factory
    assert target is not None
    assert amounts(api, target["id"], "fixed_amount_promotions") == [-500]
    assert amounts(api, target["id"], "free_shipping_promotions") == [-700]
    t = target["attributes"]
    assert (t["coupon_code"], t["discount_amount_cents"], t["total_amount_cents"]) == (
        "SHIPFREE26",
        -1200,
        2500,
    )


def test_apply_promotions_recreates_each_line_only_while_it_is_valid(api: Any, source: Any) -> None:
    api.update("fixed_amount_promotions", source["fixed"]["id"], {"fixed_amount_cents": 300})
    factory, target = run_copy(api, source["order"]["id"], apply_promotions=True)
    assert factory["attributes"]["status"] == "completed", factory
    assert target is not None
    assert amounts(api, target["id"], "fixed_amount_promotions") == [-300]
    assert amounts(api, target["id"], "free_shipping_promotions") == [-700]
    assert target["attributes"]["total_amount_cents"] == 3000 - 300

    api.update("fixed_amount_promotions", source["fixed"]["id"], {"_disable": True})
    factory, target = run_copy(api, source["order"]["id"], apply_promotions=True)
    assert target is not None
    assert amounts(api, target["id"], "fixed_amount_promotions") == []
    assert target["attributes"]["total_amount_cents"] == 3000


def test_ignore_invalid_coupon_drops_the_free_shipping_line_and_keeps_the_others(
    api: Any, source: Any
) -> None:
    api.update("free_shipping_promotions", source["free"]["id"], {"_disable": True})
    factory, target = run_copy(api, source["order"]["id"], ignore_invalid_coupon=True)
    assert factory["attributes"]["status"] == "completed", factory
    assert list(factory["attributes"]["errors_log"]) == ["coupon_code"]
    assert target is not None
    assert amounts(api, target["id"], "free_shipping_promotions") == []
    assert amounts(api, target["id"], "fixed_amount_promotions") == [-500]
    t = target["attributes"]
    assert (t["coupon_code"], t["discount_amount_cents"], t["total_amount_cents"]) == (None, -500, 3200)
    [sku_line] = lines(api, target["id"])
    assert sku_line["discount_cents"] == -500
    assert [entry["cents"] for entry in sku_line["discount_breakdown"].values()] == [-500]


def test_ignore_invalid_coupon_takes_off_the_coupons_share_of_each_line(api: Any, shop: Any) -> None:
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500, priority=1)
    percentage = promotion(api, "percentage_discount_promotions", percentage=10, priority=2)
    rule = api.create("coupon_codes_promotion_rules", {}, {"promotion": percentage})
    api.create("coupons", {"code": "TENOFF2026"}, {"promotion_rule": rule})
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    assert api.update("orders", order["id"], {"coupon_code": "TENOFF2026"}).status == 200
    assert place(api, order["id"]).status == 200
    api.update("percentage_discount_promotions", percentage["id"], {"_disable": True})
    factory, target = run_copy(api, order["id"], ignore_invalid_coupon=True)
    assert factory["attributes"]["status"] == "completed", factory
    assert target is not None
    # The source's lines: TSHIRT -395 (fixed) -300 (coupon), MUG -105 -80; the copy keeps the fixed shares.
    assert {line["sku_code"]: line["discount_cents"] for line in lines(api, target["id"])} == {
        "TSHIRT": -395,
        "MUG": -105,
    }
    assert amounts(api, target["id"], "fixed_amount_promotions") == [-500]
    assert amounts(api, target["id"], "percentage_discount_promotions") == []
    assert target["attributes"]["discount_amount_cents"] == -500
    assert fixed["id"] in lines(api, target["id"])[0]["discount_breakdown"]


@pytest.fixture
def listed_source(api: Any, shop: Any) -> dict[str, Any]:
    """A placed order of 2 TSHIRT (3000) and 1 MUG (800), shipping 700, with the MUG a free gift and, by
    coupon, buy 2 TSHIRT pay 1."""
    from tests.orders.test_promotion_sku_lists import listed, sku_list

    gift = listed(api, "free_gift_promotions", sku_list(api, {"MUG": 1}))
    pay = listed(api, "buy_x_pay_y_promotions", sku_list(api, {"TSHIRT": 1}), x=2, y=1)
    rule = api.create("coupon_codes_promotion_rules", {}, {"promotion": pay})
    api.create("coupons", {"code": "TWOFORONE26"}, {"promotion_rule": rule})
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    r = api.update("orders", order["id"], {"coupon_code": "TWOFORONE26"})
    assert r.status == 200, r
    assert (r.data["attributes"]["discount_amount_cents"], r.data["attributes"]["total_amount_cents"]) == (
        -2300,
        2200,
    )
    assert place(api, order["id"]).status == 200
    return {"order": order, "gift": gift, "pay": pay}


def test_sku_list_kinds_come_over_frozen(api: Any, listed_source: Any) -> None:
    api.update("free_gift_promotions", listed_source["gift"]["id"], {"_disable": True})
    api.update("buy_x_pay_y_promotions", listed_source["pay"]["id"], {"x": 3})
    factory, target = run_copy(api, listed_source["order"]["id"])
    assert factory["attributes"]["status"] == "completed", factory
    assert target is not None
    assert amounts(api, target["id"], "free_gift_promotions") == [-800]
    assert amounts(api, target["id"], "buy_x_pay_y_promotions") == [-1500]
    assert {line["sku_code"]: line["discount_cents"] for line in lines(api, target["id"])} == {
        "MUG": -800,
        "TSHIRT": -1500,
    }
    t = target["attributes"]
    assert (t["coupon_code"], t["discount_amount_cents"], t["total_amount_cents"]) == (
        "TWOFORONE26",
        -2300,
        2200,
    )


def test_apply_promotions_recreates_sku_list_kinds_only_while_valid(api: Any, listed_source: Any) -> None:
    api.update("free_gift_promotions", listed_source["gift"]["id"], {"_disable": True})
    factory, target = run_copy(api, listed_source["order"]["id"], apply_promotions=True)
    assert factory["attributes"]["status"] == "completed", factory
    assert target is not None
    assert amounts(api, target["id"], "free_gift_promotions") == []
    assert amounts(api, target["id"], "buy_x_pay_y_promotions") == [-1500]
    assert target["attributes"]["total_amount_cents"] == 3800 - 1500 + 700


def test_ignore_invalid_coupon_drops_a_coupon_driven_buy_x_pay_y(api: Any, listed_source: Any) -> None:
    api.update("buy_x_pay_y_promotions", listed_source["pay"]["id"], {"_disable": True})
    factory, target = run_copy(api, listed_source["order"]["id"], ignore_invalid_coupon=True)
    assert factory["attributes"]["status"] == "completed", factory
    assert list(factory["attributes"]["errors_log"]) == ["coupon_code"]
    assert target is not None
    assert amounts(api, target["id"], "buy_x_pay_y_promotions") == []
    assert amounts(api, target["id"], "free_gift_promotions") == [-800]
    t = target["attributes"]
    assert (t["coupon_code"], t["discount_amount_cents"], t["total_amount_cents"]) == (None, -800, 3700)
    factory, _ = run_copy(api, listed_source["order"]["id"], ignore_invalid_coupon=False)
    assert factory["attributes"]["status"] == "failed", factory
