"""Flex promotions over HTTP: the served subset of Commerce Layer's Rules Engine order rules, their discounts
to the cent, the refusal of what is not served, and tenancy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orderfactory.core import clock
from orderfactory.jsonapi.resource import format_datetime
from tests.conftest import Api
from tests.orders.conftest import Shop, build_shop, line_items, new_order, place


@pytest.fixture
def shop(api: Api) -> Shop:
    return build_shop(api)


def flex_promotion(api: Api, rules: list[dict[str, Any]], **attributes: Any) -> dict[str, Any]:
    now = clock.now()
    return api.create(
        "flex_promotions",
        {
            "name": "Flex",
            "starts_at": format_datetime(now - dt.timedelta(days=1)),
            "expires_at": format_datetime(now + dt.timedelta(days=30)),
            "rules": {"rules": rules},
            **attributes,
        },
    )


def discounts(api: Api, order_id: str) -> dict[str, int]:
    return {
        li["attributes"]["sku_code"]: li["attributes"]["discount_cents"] for li in line_items(api, order_id)
    }


def discount_amount(api: Api, order_id: str) -> int:
    return api.get(f"orders/{order_id}").data["attributes"]["discount_amount_cents"]


def test_ten_percent_off_the_order_for_company_customers(api: Api, shop: Shop) -> None:
    promotion = flex_promotion(
        api,
        [
            {
                "name": "10% off for company customers",
                "conditions": [
                    {"field": "order.customer_email", "matcher": "matches", "value": ".*@mybrand.com$"}
                ],
                "actions": [{"type": "percentage", "selector": "order.line_items", "value": "0.1"}],
            }
        ],
    )
    assert promotion["attributes"]["rule_outcomes"] is None
    theirs = new_order(api, shop, {"TSHIRT": 1, "MUG": 1}, email="ada@mybrand.com", ready=False)
    # 10% of 1500 and of 800, each rounded half up.
    assert discounts(api, theirs["id"]) == {"TSHIRT": -150, "MUG": -80}
    [line] = line_items(api, theirs["id"], "flex_promotions")
    assert (line["attributes"]["name"], line["attributes"]["total_amount_cents"]) == ("Flex", -230)
    others = new_order(api, shop, {"TSHIRT": 1}, email="bob@example.com", ready=False)
    assert discount_amount(api, others["id"]) == 0
    listed = {p["id"]: p["attributes"]["type"] for p in api.get("promotions").data}
    assert listed[promotion["id"]] == "flex_promotions"


def test_a_fixed_amount_per_unit_on_the_matching_group_only(api: Api, shop: Shop) -> None:
    flex_promotion(
        api,
        [
            {
                "name": "2.50 off each T-shirt when two or more",
                "conditions": [
                    {
                        "field": "order.line_items.sku.code",
                        "matcher": "eq",
                        "value": "TSHIRT",
                        "group": "shirts",
                    },
                    {"field": "order.skus_count", "matcher": "gteq", "value": 2},
                ],
                "actions": [
                    {
                        "type": "fixed_amount",
                        "selector": "order.line_items",
                        "value": 250,
                        "groups": ["shirts"],
                    }
                ],
            }
        ],
    )
    order = new_order(api, shop, {"TSHIRT": 3, "MUG": 1}, ready=False)
    assert discounts(api, order["id"]) == {"TSHIRT": -750, "MUG": 0}
    single = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    assert discount_amount(api, single["id"]) == 0


def test_or_logic_an_order_level_amount_and_rules_in_their_order(api: Api, shop: Shop) -> None:
    flex_promotion(
        api,
        [
            {
                "name": "1000 off the order",
                "conditions_logic": "or",
                "conditions": [
                    {"field": "order.currency_code", "matcher": "is_in", "value": ["USD", "GBP"]},
                    {"field": "order.subtotal_amount_cents", "matcher": "gteq_lt", "value": [3000, 100000]},
                ],
                "actions": [{"type": "fixed_amount", "selector": "order", "value": 1000}],
            },
            {
                "name": "then everything that is left",
                "conditions": [],
                "actions": [{"type": "percentage", "selector": "order.line_items", "value": 1}],
            },
        ],
        priority=1,
    )
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1}, ready=False)  # 3000 + 800
    # 1000 over 3000:800 (789 and 211), then all of what is left: the whole subtotal, never below zero.
    assert discounts(api, order["id"]) == {"TSHIRT": -3000, "MUG": -800}
    assert discount_amount(api, order["id"]) == -3800


def test_usage_limit_is_counted_at_placing(api: Api, shop: Shop) -> None:
    promotion = flex_promotion(
        api,
        [{"name": "5%", "actions": [{"type": "percentage", "selector": "order", "value": 0.05}]}],
        total_usage_limit=1,
    )
    order = new_order(api, shop, {"TSHIRT": 2})
    assert discount_amount(api, order["id"]) == -150
    assert place(api, order["id"]).status == 200
    assert api.get(f"flex_promotions/{promotion['id']}").data["attributes"]["total_usage_count"] == 1
    assert discount_amount(api, new_order(api, shop, {"TSHIRT": 2}, ready=False)["id"]) == 0


@pytest.mark.parametrize(
    "rules",
    [
        {"rules": []},
        {"rules": [{"name": "x", "actions": [{"type": "buy_x_pay_y", "selector": "order", "value": 1}]}]},
        {
            "rules": [
                {
                    "name": "x",
                    "actions": [{"type": "percentage", "selector": "order.line_items.shipment", "value": 1}],
                }
            ]
        },
        {"rules": [{"name": "x", "actions": [{"type": "percentage", "selector": "order", "value": 2}]}]},
        {
            "rules": [
                {
                    "name": "x",
                    "conditions": [{"field": "order.market.code", "matcher": "eq", "value": "EU"}],
                    "actions": [{"type": "percentage", "selector": "order", "value": 0.1}],
                }
            ]
        },
        {
            "rules": [
                {
                    "name": "x",
                    "conditions": [{"field": "order.status", "matcher": "sounds_like", "value": "x"}],
                    "actions": [{"type": "percentage", "selector": "order", "value": 0.1}],
                }
            ]
        },
    ],
)
def test_what_is_not_served_is_refused_never_ignored(api: Api, rules: dict[str, Any]) -> None:
    now = clock.now()
    attributes = {
        "name": "Flex",
        "starts_at": format_datetime(now - dt.timedelta(days=1)),
        "expires_at": format_datetime(now + dt.timedelta(days=1)),
        "rules": rules,
    }
    refused = api.create("flex_promotions", attributes, expect=422)
    assert [e["source"]["pointer"] for e in refused["errors"]] == ["/data/attributes/rules"]
    assert [e["code"] for e in refused["errors"]] == ["VALIDATION_ERROR"]


def test_tenants_and_modes_see_only_their_own(api: Api, other_org: Api, live_api: Api) -> None:
    promotion = flex_promotion(
        api, [{"name": "5%", "actions": [{"type": "percentage", "selector": "order", "value": 0.05}]}]
    )
    for other in (other_org, live_api):
        assert other.get(f"flex_promotions/{promotion['id']}").status == 404
        assert other.get("flex_promotions").data == []
    other_shop = build_shop(other_org, code="EU2")
    order = new_order(other_org, other_shop, {"TSHIRT": 2}, ready=False)
    assert discount_amount(other_org, order["id"]) == 0
