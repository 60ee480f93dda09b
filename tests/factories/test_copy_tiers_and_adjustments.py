"""The copy of an order with tier-priced lines and adjustments: the lines keep their (tier) unit prices, the
adjustments come over, the totals are the source's. Over HTTP."""

from __future__ import annotations

from typing import Any

from orderfactory.catalog.models import PriceTier
from orderfactory.core import scope
from tests.factories.test_copy import lines, run_copy
from tests.orders.conftest import ADDRESS, _create_order, line_items, place
from tests.orders.test_tiers_and_adjustments import (
    add,
    adjustment,
    frequency_tiers,
    subscribable,
    volume_tiers,
)


def tiered_and_adjusted(api: Any, shop: Any) -> dict[str, Any]:
    """A placed order: 10 TSHIRT at the 1200 volume tier, 1 MUG monthly at the 700 frequency tier, and
    adjustments of -500 and +300."""
    subscribable(api, shop)
    volume_tiers(api, shop)
    frequency_tiers(api, shop)
    order = _create_order(api, shop, "ada@example.com")
    add(api, order, {"sku_code": "TSHIRT", "quantity": 10})
    add(api, order, {"sku_code": "MUG", "quantity": 1, "frequency": "monthly"})
    for cents, name in ((-500, "Goodwill"), (300, "Gift wrap")):
        add(api, order, {"quantity": 1}, item=adjustment(api, cents, name))
    r = api.update(
        "orders",
        order["id"],
        relationships={
            "billing_address": api.create("addresses", ADDRESS),
            "shipping_address": api.create("addresses", ADDRESS),
            "payment_method": ("payment_methods", shop.payment_method.pk),
            "payment_source": api.create("wire_transfers", {}, None),
        },
    )
    assert r.status == 200, r
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data


def test_a_copy_keeps_tier_prices_and_adjustments(api, shop):
    source = tiered_and_adjusted(api, shop)
    s = source["attributes"]
    assert (s["subtotal_amount_cents"], s["adjustment_amount_cents"]) == (10 * 1200 + 700, -200)
    with scope.active(api.scope()):
        # The tiers changed since the source was priced: the copy keeps the source's (frozen) unit prices.
        PriceTier.objects.update(price_amount_cents=1)
    factory, target = run_copy(api, source["id"], place_target_order=False)
    assert factory["attributes"]["status"] == "completed", factory["attributes"]
    assert target is not None
    t = target["attributes"]
    for field in (
        "subtotal_amount_cents",
        "adjustment_amount_cents",
        "formatted_adjustment_amount",
        "shipping_amount_cents",
        "total_amount_cents",
    ):
        assert t[field] == s[field], field
    assert [(a["sku_code"], a["unit_amount_cents"], a["frequency"]) for a in lines(api, target["id"])] == [
        ("MUG", 700, "monthly"),
        ("TSHIRT", 1200, None),
    ]
    copied_adjustments = [
        (a["name"], a["quantity"], a["unit_amount_cents"], a["total_amount_cents"])
        for a in lines(api, target["id"], "adjustments")
    ]
    assert copied_adjustments == [("Gift wrap", 1, 300, 300), ("Goodwill", 1, -500, -500)]
    assert {line["id"] for line in line_items(api, target["id"], "adjustments")}.isdisjoint(
        {line["id"] for line in line_items(api, source["id"], "adjustments")}
    )
