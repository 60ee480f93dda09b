"""Promotions of a SKU list on an order, through the API: a percentage discount or fixed amount restricted to
a list, free gift, buy X pay Y and fixed price promotions, the SKU list rule, each with its discount lines,
its ``discount_breakdown`` and the totals to the cent."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orderfactory.core import clock
from orderfactory.jsonapi.resource import format_datetime
from tests.conftest import Api
from tests.orders.conftest import Shop, build_shop, line_items, new_order, place
from tests.orders.test_promotion_kinds import discounts, totals
from tests.orders.test_queries import ADD_LINE_QUERIES, SKUS, queries_of


@pytest.fixture
def shop(api: Api) -> Shop:
    return build_shop(api, skus={"TSHIRT": (1500, {"milan": 30}), "MUG": (800, {"milan": 30})})


def sku_list(api: Api, items: dict[str, int] | None = None, **attributes: Any) -> dict[str, Any]:
    """A manual list of ``items`` (SKU code -> quantity, in that order), or a list by ``sku_code_regex``."""
    made = api.create("sku_lists", {"name": "List", **attributes})
    for position, (code, quantity) in enumerate((items or {}).items(), start=1):
        api.create(
            "sku_list_items",
            {"sku_code": code, "quantity": quantity, "position": position},
            {"sku_list": made},
        )
    return made


def listed(api: Api, type_name: str, the_list: dict[str, Any] | None, **attributes: Any) -> dict[str, Any]:
    now = clock.now()
    return api.create(
        type_name,
        {
            "name": type_name,
            "starts_at": format_datetime(now - dt.timedelta(days=1)),
            "expires_at": format_datetime(now + dt.timedelta(days=30)),
            **attributes,
        },
        {"sku_list": the_list} if the_list is not None else None,
    )


def promotion_lines(api: Api, order_id: str, type_name: str) -> list[int]:
    return [li["attributes"]["total_amount_cents"] for li in line_items(api, order_id, type_name)]


def test_a_percentage_and_a_fixed_amount_discount_only_their_lists_skus(api: Api, shop: Shop) -> None:
    listed(api, "percentage_discount_promotions", sku_list(api, {"MUG": 1}), percentage=10, priority=1)
    tees = sku_list(api, manual=False, sku_code_regex="^TSH")
    listed(api, "fixed_amount_promotions", tees, fixed_amount_cents=500, priority=2)
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})  # 3000 + 800, shipping 700
    # 10% of the MUG line alone (80), and the 500 on the TSHIRT line alone.
    assert discounts(api, order["id"]) == {"TSHIRT": -500, "MUG": -80}
    assert totals(order) == (3800, 700, -580, 3800 - 580 + 700)
    assert promotion_lines(api, order["id"], "percentage_discount_promotions") == [-80]
    # The promotion lists its list's SKUs, and is found by it.
    mugs = api.get("percentage_discount_promotions", {"include": "skus,sku_list"}).data
    assert [s["id"] for s in mugs[0]["relationships"]["skus"]["data"]] == [shop.skus["MUG"].pk]
    found = api.get("promotions", {"filter[q][sku_list_id_eq]": tees["id"]}).data
    assert [p["attributes"]["type"] for p in found] == ["fixed_amount_promotions"]


def test_a_free_gift_makes_the_lists_units_free_in_position_order_up_to_max_quantity(
    api: Api, shop: Shop
) -> None:
    gifts = sku_list(api, {"MUG": 2, "TSHIRT": 1})
    gift = listed(api, "free_gift_promotions", gifts)
    assert gift["attributes"]["max_quantity"] == 1
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 3})  # 3000 + 2400, shipping 700
    assert discounts(api, order["id"]) == {"TSHIRT": 0, "MUG": -800}  # the first item, one unit
    assert api.update("free_gift_promotions", gift["id"], {"max_quantity": 4}).status == 200
    # Two MUGs (the item's quantity), then one TSHIRT (its item's), though four were allowed.
    r = api.update("orders", order["id"], {"_refresh": True})
    assert r.status == 200, r
    assert discounts(api, order["id"]) == {"TSHIRT": -1500, "MUG": -1600}
    assert totals(r.data) == (5400, 700, -3100, 5400 - 3100 + 700)
    [line] = line_items(api, order["id"], "free_gift_promotions")
    assert (line["attributes"]["total_amount_cents"], line["attributes"]["item_type"]) == (
        -3100,
        "free_gift_promotions",
    )
    breakdown = {
        li["attributes"]["sku_code"]: li["attributes"]["discount_breakdown"]
        for li in line_items(api, order["id"])
    }
    assert breakdown["MUG"] == {
        gift["id"]: {"name": "free_gift_promotions", "cents": -1600, "weight": 0.444, "coupon_code": None}
    }


def test_buy_x_pay_y_per_sku_and_cheapest_free_across_the_list(api: Api, shop: Shop) -> None:
    both = sku_list(api, {"TSHIRT": 1, "MUG": 1})
    three_for_two = listed(api, "buy_x_pay_y_promotions", both, x=3, y=2)
    order = new_order(api, shop, {"TSHIRT": 4, "MUG": 2})  # 6000 + 1600, shipping 700
    # Per SKU: 4 TSHIRT hold one multiple of 3 (1 free), 2 MUG none.
    assert discounts(api, order["id"]) == {"TSHIRT": -1500, "MUG": 0}
    assert totals(order) == (7600, 700, -1500, 7600 - 1500 + 700)
    assert api.update("buy_x_pay_y_promotions", three_for_two["id"], {"cheapest_free": True}).status == 200
    r = api.update("orders", order["id"], {"_refresh": True})
    # Across the list: 6 units hold two multiples of 3, so the 2 cheapest units (the MUGs) are free.
    assert discounts(api, order["id"]) == {"TSHIRT": 0, "MUG": -1600}
    assert totals(r.data) == (7600, 700, -1600, 7600 - 1600 + 700)


def test_a_fixed_price_sells_each_unit_of_the_list_at_its_amount(api: Api, shop: Shop) -> None:
    listed(
        api,
        "fixed_price_promotions",
        sku_list(api, {"TSHIRT": 1}),
        fixed_amount_cents=1000,
        currency_code="EUR",
    )
    # Another currency gives nothing.
    listed(
        api, "fixed_price_promotions", sku_list(api, {"MUG": 1}), fixed_amount_cents=100, currency_code="USD"
    )
    order = new_order(api, shop, {"TSHIRT": 3, "MUG": 1})  # 4500 + 800, shipping 700
    assert discounts(api, order["id"]) == {"TSHIRT": -1500, "MUG": 0}
    assert promotion_lines(api, order["id"], "fixed_price_promotions") == [-1500]
    [a] = [
        p["attributes"]
        for p in api.get("fixed_price_promotions").data
        if p["attributes"]["currency_code"] == "EUR"
    ]
    assert (a["fixed_amount_cents"], a["formatted_fixed_amount"]) == (1000, "€10,00")
    assert totals(order) == (5300, 700, -1500, 5300 - 1500 + 700)


def test_three_sku_list_kinds_at_once_to_the_cent_then_placed(api: Api, shop: Shop) -> None:
    free = listed(api, "free_gift_promotions", sku_list(api, {"MUG": 1}), priority=1)
    pay = listed(api, "buy_x_pay_y_promotions", sku_list(api, {"TSHIRT": 1}), x=2, y=1, priority=2)
    cut = listed(api, "percentage_discount_promotions", None, percentage=10, priority=3)
    order = new_order(api, shop, {"TSHIRT": 3, "MUG": 2})  # 4500 + 1600, shipping 700
    # Free gift: one MUG (800). Buy 2 pay 1: one TSHIRT of 3 (1500). 10% of the subtotal 6100 is 610, split
    # over what is left, TSHIRT 3000 : MUG 800, is 481.58 : 128.42: 482 and 128.
    assert discounts(api, order["id"]) == {"TSHIRT": -1500 - 482, "MUG": -800 - 128}
    assert totals(order) == (6100, 700, -2910, 6100 - 2910 + 700)
    assert place(api, order["id"]).status == 200
    for type_name, p in (
        ("free_gift_promotions", free),
        ("buy_x_pay_y_promotions", pay),
        ("percentage_discount_promotions", cut),
    ):
        assert api.get(f"{type_name}/{p['id']}").data["attributes"]["total_usage_count"] == 1


def test_a_sku_list_rule_gates_its_promotion_on_the_lists_skus(api: Api, shop: Shop) -> None:
    fixed = listed(api, "fixed_amount_promotions", None, fixed_amount_cents=300)
    mugs = sku_list(api, {"MUG": 2, "TSHIRT": 1})
    rule = api.create("sku_list_promotion_rules", {}, {"promotion": fixed, "sku_list": mugs})
    assert (rule["attributes"]["type"], rule["attributes"]["all_skus"]) == ("sku_list_promotion_rules", False)
    assert totals(new_order(api, shop, {"TSHIRT": 1}))[2] == -300  # any SKU of the list
    api.update("sku_list_promotion_rules", rule["id"], {"all_skus": True})
    assert totals(new_order(api, shop, {"TSHIRT": 1, "MUG": 1}))[2] == 0  # two MUGs are needed
    assert totals(new_order(api, shop, {"TSHIRT": 1, "MUG": 2}))[2] == -300
    api.update("sku_list_promotion_rules", rule["id"], {"min_quantity": 4})  # overrides all_skus
    assert totals(new_order(api, shop, {"TSHIRT": 1, "MUG": 2}))[2] == 0
    assert totals(new_order(api, shop, {"TSHIRT": 3, "MUG": 1}))[2] == -300
    linked = api.get(f"fixed_amount_promotions/{fixed['id']}", {"include": "sku_list_promotion_rule"})
    assert linked.data["relationships"]["sku_list_promotion_rule"]["data"]["id"] == rule["id"]
    skus = api.get(f"sku_list_promotion_rules/{rule['id']}/skus").data
    assert sorted(s["attributes"]["code"] for s in skus) == ["MUG", "TSHIRT"]


def test_bad_input_is_a_422_on_the_field(api: Api, shop: Shop) -> None:
    dates = {"starts_at": "2026-01-01T00:00:00Z", "expires_at": "2027-01-01T00:00:00Z"}
    missing = api.create("free_gift_promotions", {"name": "Gift", **dates}, expect=422)
    assert [e["source"]["pointer"] for e in missing["errors"]] == ["/data/relationships/sku_list"]
    by_regex = sku_list(api, manual=False, sku_code_regex="^MUG")
    regex = api.create("free_gift_promotions", {"name": "g", **dates}, {"sku_list": by_regex}, expect=422)
    assert [(e["source"]["pointer"], e["meta"]["error"]) for e in regex["errors"]] == [
        ("/data/relationships/sku_list", "invalid")
    ]
    same = api.create(
        "buy_x_pay_y_promotions", {"name": "3x3", "x": 3, "y": 3, **dates}, {"sku_list": by_regex}, expect=422
    )
    assert [(e["source"]["pointer"], e["meta"]["error"]) for e in same["errors"]] == [
        ("/data/attributes/x", "greater_than")
    ]
    rule = api.post(
        "sku_list_promotion_rules",
        {"data": {"type": "sku_list_promotion_rules", "attributes": {"min_quantity": -1}}},
    )
    assert rule.status == 422, rule


def test_a_rule_is_linked_from_the_promotion_only_when_it_is_its_own(api: Api, shop: Shop) -> None:
    mine = listed(api, "percentage_discount_promotions", None, percentage=5)
    other = listed(api, "free_shipping_promotions", None)
    rule = api.create("coupon_codes_promotion_rules", {}, {"promotion": other})
    taken = api.update(
        "percentage_discount_promotions", mine["id"], relationships={"coupon_codes_promotion_rule": rule}
    )
    assert taken.status == 422, taken
    assert taken.json["errors"][0]["source"]["pointer"] == "/data/relationships/coupon_codes_promotion_rule"
    assert taken.json["errors"][0]["meta"]["error"] == "taken"
    own = api.update(
        "free_shipping_promotions", other["id"], relationships={"coupon_codes_promotion_rule": rule}
    )
    assert own.status == 200, own
    linked = api.get(f"promotions/{other['id']}", {"include": "coupon_codes_promotion_rule"})
    assert linked.data["relationships"]["coupon_codes_promotion_rule"]["data"]["id"] == rule["id"]
    unlinked = api.update(
        "free_shipping_promotions", other["id"], relationships={"coupon_codes_promotion_rule": None}
    )
    assert unlinked.status == 422, unlinked
    assert api.get(f"coupon_codes_promotion_rules/{rule['id']}").status == 200


def test_other_organizations_and_modes_see_and_link_none_of_them(
    api: Api, shop: Shop, other_org: Any, live_api: Any
) -> None:
    the_list = sku_list(api, {"MUG": 1})
    made = {
        "free_gift_promotions": listed(api, "free_gift_promotions", the_list),
        "buy_x_pay_y_promotions": listed(api, "buy_x_pay_y_promotions", the_list, x=2, y=1),
        "fixed_price_promotions": listed(api, "fixed_price_promotions", the_list, fixed_amount_cents=500),
    }
    rule = api.create("sku_list_promotion_rules", {}, {"promotion": made["free_gift_promotions"]})
    for other in (other_org, live_api):
        assert other.get("sku_list_promotion_rules").json["meta"]["record_count"] == 0
        assert other.get(f"sku_list_promotion_rules/{rule['id']}").status == 404
        for type_name, p in made.items():
            assert other.get(type_name).json["meta"]["record_count"] == 0
            assert other.get(f"{type_name}/{p['id']}").status == 404
            assert other.update(type_name, p["id"], {"name": "taken"}).status == 404
        now = clock.now()
        foreign_list = other.post(
            "fixed_price_promotions",
            {
                "data": {
                    "type": "fixed_price_promotions",
                    "attributes": {
                        "name": "theirs",
                        "fixed_amount_cents": 1,
                        "starts_at": format_datetime(now),
                        "expires_at": format_datetime(now + dt.timedelta(days=1)),
                    },
                    "relationships": {"sku_list": {"data": {"type": "sku_lists", "id": the_list["id"]}}},
                }
            },
        )
        assert foreign_list.status == 404, foreign_list


def test_a_bundle_line_takes_the_promotion_of_the_list_it_sells(api: Api, shop: Shop) -> None:
    from tests.orders.test_bundles_and_options import add_bundle, make_bundle

    kit = make_bundle(api, shop, {"TSHIRT": 1, "MUG": 1}, price=2000)
    the_list = {"type": "sku_lists", "id": kit["sku_list_id"]}
    listed(api, "fixed_price_promotions", the_list, fixed_amount_cents=1500)
    order = new_order(api, shop, {"MUG": 1})  # the MUG alone is in the list too
    add_bundle(api, order["id"], "KIT", 2)
    r = api.get(f"orders/{order['id']}")
    # Each kit at 1500 instead of 2000 (2 x 500); the MUG line at 1500 is no dearer than the price.
    [bundle_line] = line_items(api, order["id"], "bundles")
    assert bundle_line["attributes"]["discount_cents"] == -1000
    assert discounts(api, order["id"]) == {"MUG": 0}
    assert totals(r.data)[:3] == (4000 + 800, 700, -1000)


def test_a_sku_list_in_use_by_a_promotion_is_not_deleted(api: Api, shop: Shop) -> None:
    the_list = sku_list(api, {"MUG": 1})
    listed(api, "free_gift_promotions", the_list)
    r = api.delete(f"sku_lists/{the_list['id']}")
    assert r.status == 423, r
    assert api.get(f"sku_lists/{the_list['id']}").status == 200


# Adding a line item to an order under SKU list promotions, whatever the order's size: as without them
# (tests/orders/test_queries.py, ADD_LINE_QUERIES), plus one query for the items of every list the
# promotions and their rules name, read once for all of them.
ADD_LINE_WITH_LISTS_QUERIES = ADD_LINE_QUERIES + 1


@pytest.mark.parametrize("size", [1, 20])
def test_pricing_reads_the_lists_once_whatever_the_number_of_lines(api: Api, size: int) -> None:
    shop = build_shop(api, skus=SKUS)
    some = sku_list(api, {"SKU00": 1, "SKU01": 1})
    listed(api, "free_gift_promotions", some)
    cut = listed(
        api,
        "percentage_discount_promotions",
        sku_list(api, manual=False, sku_code_regex="^SKU0"),
        percentage=5,
    )
    api.create("sku_list_promotion_rules", {}, {"promotion": cut, "sku_list": some})
    order = new_order(api, shop, {code: 1 for code in list(SKUS)[:size]})
    count, r = queries_of(
        lambda: api.create(
            "line_items", {"sku_code": "SKU01", "quantity": 1}, {"order": ("orders", order["id"])}
        )
    )
    assert count == ADD_LINE_WITH_LISTS_QUERIES, count
    assert discounts(api, order["id"])["SKU01"] < 0
