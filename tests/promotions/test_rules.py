"""order_amount_promotion_rules and custom_promotion_rules over HTTP, and what they do to an order."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.orders.conftest import Shop, build_shop, line_items, new_order
from tests.orders.test_promotion_kinds import promotion


@pytest.fixture
def shop(api: Any) -> Shop:
    return build_shop(api)


def rule(api: Api, type_name: str, target: dict[str, Any], **attributes: Any) -> Any:
    return api.post(
        type_name,
        {
            "data": {
                "type": type_name,
                "attributes": attributes,
                "relationships": {"promotion": {"data": {"type": target["type"], "id": target["id"]}}},
            }
        },
    )


def test_an_order_amount_rule_shows_its_amount_in_the_promotions_currency(api: Api) -> None:
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500, currency_code="EUR")
    r = rule(api, "order_amount_promotion_rules", fixed, order_amount_cents=5000)
    assert r.status == 201, r
    a = r.data["attributes"]
    assert (a["type"], a["order_amount_cents"], a["order_amount_float"], a["formatted_order_amount"]) == (
        "order_amount_promotion_rules",
        5000,
        50.0,
        "€50,00",
    )
    assert a["use_subtotal"] is False
    linked = api.get(f"order_amount_promotion_rules/{r.data['id']}", {"include": "promotion"})
    assert linked.data["relationships"]["promotion"]["data"] == {
        "type": "fixed_amount_promotions",
        "id": fixed["id"],
    }
    got = api.get(f"fixed_amount_promotions/{fixed['id']}", {"include": "order_amount_promotion_rule"})
    assert got.data["relationships"]["order_amount_promotion_rule"]["data"]["id"] == r.data["id"]
    second = rule(api, "order_amount_promotion_rules", fixed, order_amount_cents=1)
    assert second.status == 422 and second.json["errors"][0]["meta"]["error"] == "taken", second
    negative = api.update("order_amount_promotion_rules", r.data["id"], {"order_amount_cents": -1})
    assert negative.status == 422, negative


def test_an_order_amount_rule_applies_the_promotion_from_its_minimum(api: Api, shop: Shop) -> None:
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500)
    assert rule(api, "order_amount_promotion_rules", fixed, order_amount_cents=3700).status == 201
    free = promotion(api, "free_shipping_promotions")
    assert (
        rule(api, "order_amount_promotion_rules", free, order_amount_cents=3700, use_subtotal=True).status
        == 201
    )
    # 1 TSHIRT: 1500 + 700 shipping is below both minimums.
    small = new_order(api, shop, {"TSHIRT": 1})
    assert small["attributes"]["discount_amount_cents"] == 0
    # 2 TSHIRT: 3000 + 700 reaches the order amount (3700) but not the subtotal minimum.
    middle = new_order(api, shop, {"TSHIRT": 2})
    assert middle["attributes"]["discount_amount_cents"] == -500
    # 2 TSHIRT + 1 MUG: 3800 reaches both.
    large = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    assert large["attributes"]["discount_amount_cents"] == -500 - 700
    assert [
        li["attributes"]["item_type"] for li in line_items(api, large["id"], "free_shipping_promotions")
    ] == ["free_shipping_promotions"]


def test_a_custom_rule_applies_to_the_orders_its_filters_match(api: Api, shop: Shop) -> None:
    percentage = promotion(api, "percentage_discount_promotions", percentage=10)
    r = rule(
        api,
        "custom_promotion_rules",
        percentage,
        filters={"line_items_sku_code_eq": "MUG", "currency_code_in": ["EUR", "USD"], "skus_count_gteq": 2},
    )
    assert r.status == 201, r
    assert r.data["attributes"]["filters"]["line_items_sku_code_eq"] == "MUG"
    assert new_order(api, shop, {"TSHIRT": 2})["attributes"]["discount_amount_cents"] == 0
    assert new_order(api, shop, {"MUG": 1})["attributes"]["discount_amount_cents"] == 0  # one SKU only
    assert new_order(api, shop, {"TSHIRT": 1, "MUG": 1})["attributes"]["discount_amount_cents"] == -230


def test_a_custom_rule_refuses_predicates_it_cannot_evaluate(api: Api) -> None:
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500)
    for filters in ({"market_name_eq": "Europe"}, {"status_sorta": "x"}, ["status_eq"]):
        r = rule(api, "custom_promotion_rules", fixed, filters=filters)
        assert r.status in (400, 422), r
        assert r.json["errors"][0]["source"]["pointer"] == "/data/attributes/filters", r


def test_rules_of_another_organization_or_mode_are_out_of_reach(
    api: Api, other_org: Api, live_api: Api
) -> None:
    fixed = promotion(api, "fixed_amount_promotions", fixed_amount_cents=500)
    amount = rule(api, "order_amount_promotion_rules", fixed, order_amount_cents=100).data
    custom = rule(api, "custom_promotion_rules", fixed, filters={"status_eq": "pending"}).data
    for other in (other_org, live_api):
        for made in (amount, custom):
            assert other.get(f"{made['type']}/{made['id']}").status == 404
            assert other.get(made["type"]).json["meta"]["record_count"] == 0
        assert rule(other, "custom_promotion_rules", fixed, filters={}).status == 404
