"""A line item's unit price follows its price's tiers (quantity and frequency); adjustments are line items of
kind ``adjustments`` counted in the order's totals. Over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.catalog.models import Price
from orderfactory.core import scope
from tests.conftest import document
from tests.orders.conftest import _create_order, line_items, problems


def price_of(api: Any, shop: Any, sku_code: str) -> tuple[str, str]:
    with scope.active(api.scope()):
        return ("prices", Price.objects.get(price_list=shop.price_list, sku__code=sku_code).pk)


def volume_tiers(api: Any, shop: Any) -> None:
    """TSHIRT (1500): 1400 up to 5, 1200 up to 20, 1000 beyond."""
    price = price_of(api, shop, "TSHIRT")
    for name, up_to, cents in (("few", 5, 1400), ("some", 20, 1200), ("many", None, 1000)):
        api.create(
            "price_volume_tiers",
            {"name": name, "up_to": up_to, "price_amount_cents": cents},
            {"price": price},
        )


def subscribable(api: Any, shop: Any) -> None:
    model = api.create(
        "subscription_models", {"name": "Plans", "frequencies": ["weekly", "monthly", "yearly"]}
    )
    assert api.update("markets", shop.market.pk, None, {"subscription_model": model}).status == 200


def frequency_tiers(api: Any, shop: Any, sku_code: str = "MUG") -> None:
    """MUG (800): 600 up to a week, 700 up to 30 days."""
    price = price_of(api, shop, sku_code)
    for name, up_to, cents in (("weekly", 7, 600), ("monthly", 30, 700)):
        api.create(
            "price_frequency_tiers",
            {"name": name, "up_to": up_to, "price_amount_cents": cents},
            {"price": price},
        )


def add(api: Any, order: dict[str, Any], attributes: dict[str, Any], **relationships: Any) -> dict[str, Any]:
    return api.create("line_items", attributes, {"order": order, **relationships})


def unit(api: Any, line: dict[str, Any]) -> int:
    return api.get(f"line_items/{line['id']}").data["attributes"]["unit_amount_cents"]


def test_a_volume_tiered_sku_is_priced_by_quantity(api, shop):
    volume_tiers(api, shop)
    order = _create_order(api, shop, "ada@example.com")
    line = add(api, order, {"sku_code": "TSHIRT", "quantity": 1})
    assert line["attributes"]["unit_amount_cents"] == 1400
    r = api.update("line_items", line["id"], {"quantity": 10})
    assert r.status == 200, r
    assert (r.data["attributes"]["unit_amount_cents"], r.data["attributes"]["total_amount_cents"]) == (
        1200,
        12000,
    )
    # _update_quantity adds 40 to the same line, which moves to the beyond tier.
    merged = add(api, order, {"sku_code": "TSHIRT", "quantity": 40, "_update_quantity": True})
    assert merged["id"] == line["id"]
    assert (merged["attributes"]["quantity"], merged["attributes"]["unit_amount_cents"]) == (50, 1000)
    attrs = api.get(f"orders/{order['id']}").data["attributes"]
    assert (attrs["subtotal_amount_cents"], attrs["skus_count"]) == (50000, 50)
    # Down again.
    assert (
        api.update("line_items", line["id"], {"quantity": 2}).data["attributes"]["unit_amount_cents"] == 1400
    )


def test_a_price_given_by_hand_does_not_follow_the_tiers(api, shop):
    volume_tiers(api, shop)
    order = _create_order(api, shop, "ada@example.com")
    line = add(api, order, {"sku_code": "TSHIRT", "quantity": 1, "unit_amount_cents": 999})
    assert (
        api.update("line_items", line["id"], {"quantity": 10}).data["attributes"]["unit_amount_cents"] == 999
    )


def test_a_line_without_tiers_keeps_its_frozen_price_until_refreshed(api, shop):
    order = _create_order(api, shop, "ada@example.com")
    line = add(api, order, {"sku_code": "TSHIRT", "quantity": 1})
    volume_tiers(api, shop)  # after the line took its price: it was not priced by a tier
    assert (
        api.update("line_items", line["id"], {"quantity": 10}).data["attributes"]["unit_amount_cents"] == 1500
    )
    r = api.update("orders", order["id"], {"_refresh": True})
    assert r.status == 200, r
    assert unit(api, line) == 1200


def test_a_subscription_line_is_priced_by_its_frequency(api, shop):
    subscribable(api, shop)
    frequency_tiers(api, shop)
    order = _create_order(api, shop, "ada@example.com")
    once = add(api, order, {"sku_code": "MUG", "quantity": 1})
    monthly = add(api, order, {"sku_code": "MUG", "quantity": 1, "frequency": "monthly"})
    assert (once["attributes"]["unit_amount_cents"], monthly["attributes"]["unit_amount_cents"]) == (800, 700)
    r = api.update("line_items", monthly["id"], {"frequency": "weekly"})
    assert r.status == 200, r
    assert r.data["attributes"]["unit_amount_cents"] == 600
    # Beyond every frequency tier, with no beyond tier: the price's own amount.
    assert (
        api.update("line_items", monthly["id"], {"frequency": "yearly"}).data["attributes"][
            "unit_amount_cents"
        ]
        == 800
    )


def test_when_both_tiers_apply_the_lower_unit_price_wins(api, shop):
    subscribable(api, shop)
    volume_tiers(api, shop)
    price = price_of(api, shop, "TSHIRT")
    api.create(
        "price_frequency_tiers", {"name": "m", "up_to": 30, "price_amount_cents": 1100}, {"price": price}
    )
    order = _create_order(api, shop, "ada@example.com")
    line = add(api, order, {"sku_code": "TSHIRT", "quantity": 10, "frequency": "monthly"})
    assert line["attributes"]["unit_amount_cents"] == 1100
    assert (
        api.update("line_items", line["id"], {"quantity": 50}).data["attributes"]["unit_amount_cents"] == 1000
    )


# --- adjustments --------------------------------------------------------------------------------------------


def adjustment(api: Any, amount_cents: int, name: str = "Adjustment", currency_code: str = "EUR") -> Any:
    return api.create(
        "adjustments", {"name": name, "currency_code": currency_code, "amount_cents": amount_cents}
    )


def adjusted_order(api: Any, shop: Any) -> dict[str, Any]:
    """2 TSHIRT (3000) with a -500 and a +300 adjustment."""
    order = _create_order(api, shop, "ada@example.com")
    add(api, order, {"sku_code": "TSHIRT", "quantity": 2})
    for cents, name in ((-500, "Goodwill"), (300, "Gift wrap")):
        line = add(api, order, {"quantity": 1}, item=adjustment(api, cents, name))
        assert line["attributes"]["item_type"] == "adjustments"
    return api.get(f"orders/{order['id']}").data


def test_an_adjustment_is_served_as_commerce_layer_serves_it(api):
    created = adjustment(api, -500, "Goodwill")
    attrs = created["attributes"]
    assert (attrs["amount_cents"], attrs["amount_float"], attrs["formatted_amount"]) == (-500, -5.0, "-€5,00")
    assert attrs["distribute_discount"] is True
    r = api.update("adjustments", created["id"], {"amount_cents": -700, "distribute_discount": False})
    assert r.status == 200, r
    assert (r.data["attributes"]["amount_cents"], r.data["attributes"]["distribute_discount"]) == (
        -700,
        False,
    )
    r = api.post("adjustments", document("adjustments", {"currency_code": "euro"}))
    assert r.status == 422, r
    assert sorted(problems(r)) == [
        "/data/attributes/amount_cents",
        "/data/attributes/currency_code",
        "/data/attributes/name",
    ]


def test_adjustments_count_in_the_order_totals(api, shop):
    order = adjusted_order(api, shop)
    attrs = order["attributes"]
    assert attrs["subtotal_amount_cents"] == 3000
    assert (attrs["adjustment_amount_cents"], attrs["formatted_adjustment_amount"]) == (-200, "-€2,00")
    assert attrs["total_amount_cents"] == 3000 + attrs["shipping_amount_cents"] - 200
    lines = line_items(api, order["id"], "adjustments")
    assert sorted(
        (line["attributes"]["name"], line["attributes"]["total_amount_cents"]) for line in lines
    ) == [
        ("Gift wrap", 300),
        ("Goodwill", -500),
    ]
    r = api.get(f"line_items/{lines[0]['id']}", {"include": "item,adjustment"})
    assert r.data["relationships"]["item"]["data"]["type"] == "adjustments"
    assert r.data["relationships"]["adjustment"]["data"] == r.data["relationships"]["item"]["data"]
    r = api.get("line_items", {"filter[q][adjustment_id_eq]": r.data["relationships"]["item"]["data"]["id"]})
    assert r.status == 200 and [row["id"] for row in r.data] == [lines[0]["id"]]
    # The order is priced again (quantities change) and the adjustments stay.
    sku_line = line_items(api, order["id"])[0]
    assert api.update("line_items", sku_line["id"], {"quantity": 3}).status == 200
    attrs = api.get(f"orders/{order['id']}").data["attributes"]
    assert (attrs["subtotal_amount_cents"], attrs["adjustment_amount_cents"]) == (4500, -200)
    # Removing one takes it out of the totals.
    goodwill = next(line for line in lines if line["attributes"]["name"] == "Goodwill")
    assert api.delete(f"line_items/{goodwill['id']}").status == 204
    assert api.get(f"orders/{order['id']}").data["attributes"]["adjustment_amount_cents"] == 300


def test_an_adjustment_in_another_currency_is_refused(api, shop):
    order = _create_order(api, shop, "ada@example.com")
    add(api, order, {"sku_code": "TSHIRT", "quantity": 1})
    r = api.post(
        "line_items",
        document("line_items", {"quantity": 1}, {"order": order, "item": adjustment(api, 100, "Fee", "USD")}),
    )
    assert r.status == 422, r
    assert list(problems(r)) == ["/data/relationships/item"]


@pytest.mark.parametrize("stranger", ["other_org", "live_api"])
def test_another_organization_or_mode_cannot_read_or_use_adjustments(request, api, shop, stranger):
    other = request.getfixturevalue(stranger)
    created = adjustment(api, -500)
    assert other.get("adjustments").data == []
    assert other.get(f"adjustments/{created['id']}").status == 404
    assert other.update("adjustments", created["id"], {"name": "mine"}).status == 404
    assert other.delete(f"adjustments/{created['id']}").status == 404
    from tests.orders.conftest import build_shop

    their_shop = build_shop(other, code="THEIRS")
    their_order = _create_order(other, their_shop, "bob@example.com")
    r = other.post(
        "line_items", document("line_items", {"quantity": 1}, {"order": their_order, "item": created})
    )
    assert r.status == 404, r
    assert api.get(f"adjustments/{created['id']}").data["attributes"]["name"] == "Adjustment"


def test_a_sales_channel_cannot_give_its_order_an_adjustment(api, shop, make_api):
    storefront = make_api(kind="sales_channel", scope=f"market:code:{shop.market.code}")
    order = _create_order(storefront, shop, "ada@example.com")
    add(storefront, order, {"sku_code": "TSHIRT", "quantity": 1})
    discount = adjustment(api, -1000)
    r = storefront.post(
        "line_items", document("line_items", {"quantity": 1}, {"order": order, "item": discount})
    )
    assert r.status == 400 and r.error_codes == ["PARAM_NOT_ALLOWED"], r
    assert api.get(f"orders/{order['id']}").data["attributes"]["adjustment_amount_cents"] == 0
