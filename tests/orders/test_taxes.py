"""Orders carry their market's taxes (orders.services.taxing), through the HTTP API: a manual calculator at 22%
with prices without tax (added) and with tax (extracted), recomputed when the address or the lines change,
``_update_taxes``, placing's check, and a property: the order's totals are sums of its lines' taxes."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from orderfactory.addresses.models import Address
from orderfactory.core import scope
from orderfactory.orders.models import LineItem, Order
from orderfactory.orders.services import taxing
from orderfactory.taxes import calculation, external
from tests.conftest import document
from tests.orders.conftest import ADDRESS, Shop, build_shop, new_order, place
from tests.taxes.test_external import Receiver, receiver  # noqa: F401 (the fixture)

SKUS = {
    "TSHIRT": (1500, {"milan": 10}),
    "MUG": (800, {"milan": 10}),
    "CAP": (1234, {"milan": 10}),
}
QUANTITIES = {"TSHIRT": 2, "MUG": 1, "CAP": 3}  # 3000 + 800 + 3702 = 7502: shipping (700) is not free


def taxed_shop(api: Any, *, code: str, tax_included: bool, rate: float = 0.22) -> tuple[Shop, dict[str, Any]]:
    """A shop whose market has a manual calculator with one rule for Italy at ``rate``, taxing shipping and
    payment methods; the payment method costs 3.00."""
    shop = build_shop(api, skus=SKUS, code=code)
    with scope.active(api.scope()):
        shop.price_list.tax_included = tax_included
        shop.price_list.save()
        shop.payment_method.price_amount_cents = 300
        shop.payment_method.save()
    calculator = api.create("manual_tax_calculators", {"name": f"VAT {code}"})
    rule = api.create(
        "tax_rules",
        {
            "name": "Italy",
            "tax_rate": rate,
            "country_code_regex": "^IT$",
            "freight_taxable": True,
            "payment_method_taxable": True,
        },
        {"manual_tax_calculator": calculator},
    )
    r = api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator})
    assert r.status == 200, r
    return shop, rule


def with_lines(api: Any, order_id: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The order and its line items by SKU code (or item type), as ``?include=line_items`` renders them."""
    r = api.get(f"orders/{order_id}", {"include": "line_items"})
    assert r.status == 200, r
    lines = {
        (line["attributes"]["sku_code"] or line["attributes"]["item_type"]): line["attributes"]
        for line in r.json["included"]
        if line["type"] == "line_items"
    }
    return r.data["attributes"], lines


# The hand computation, per line (base in cents -> tax in cents, rounded half up):
# added at 22%: 3000 -> 660, 800 -> 176, 3702 -> 814.44 -> 814, shipping 700 -> 154, payment 300 -> 66;
# extracted at 22% (base * 0.22 / 1.22): 3000 -> 540.98 -> 541, 800 -> 144.26 -> 144, 3702 -> 667.57 -> 668,
# 700 -> 126.23 -> 126, 300 -> 54.10 -> 54.
EXPECTED = {
    False: {"TSHIRT": 660, "MUG": 176, "CAP": 814, "shipments": 154, "payment_methods": 66},
    True: {"TSHIRT": 541, "MUG": 144, "CAP": 668, "shipments": 126, "payment_methods": 54},
}
BASES = {"TSHIRT": 3000, "MUG": 800, "CAP": 3702, "shipments": 700, "payment_methods": 300}


@pytest.mark.parametrize("tax_included", [False, True], ids=["added", "extracted"])
def test_an_orders_taxes_are_the_hand_computation(api: Any, tax_included: bool) -> None:
    shop, rule = taxed_shop(api, code="TX", tax_included=tax_included)
    order = new_order(api, shop, QUANTITIES)
    attrs, lines = with_lines(api, order["id"])
    expected = EXPECTED[tax_included]
    assert {key: line["tax_amount_cents"] for key, line in lines.items()} == expected
    for key, line in lines.items():
        base, tax = BASES[key], expected[key]
        taxable = base - tax if tax_included else base
        assert line["tax_rate"] == 0.22
        assert line["tax_breakdown"] == {
            "tax_rule_id": rule["id"],
            "tax_rule_name": "Italy",
            "taxable_amount": taxable / 100,
            "tax_collectable": tax / 100,
            "combined_tax_rate": 0.22,
        }
        assert line["tax_amount_float"] == tax / 100
    subtotal_tax = expected["TSHIRT"] + expected["MUG"] + expected["CAP"]
    total_tax = sum(expected.values())
    assert attrs["tax_included"] is tax_included and attrs["tax_rate"] == 0.22
    assert (
        attrs["total_tax_amount_cents"],
        attrs["subtotal_tax_amount_cents"],
        attrs["shipping_tax_amount_cents"],
        attrs["payment_method_tax_amount_cents"],
        attrs["adjustment_tax_amount_cents"],
    ) == (total_tax, subtotal_tax, expected["shipments"], expected["payment_methods"], 0)
    assert attrs["total_amount_cents"] == 7502 + 700 + 300
    assert attrs["total_amount_with_taxes_cents"] == 8502 + (0 if tax_included else total_tax)
    if tax_included:
        assert attrs["subtotal_taxable_amount_cents"] == 7502 - subtotal_tax
        assert attrs["formatted_total_tax_amount"] == "€15,33"
    else:
        assert attrs["subtotal_taxable_amount_cents"] == 7502
        assert attrs["total_amount_with_taxes_float"] == 103.72
        assert attrs["formatted_total_tax_amount"] == "€18,70"
    assert attrs["shipping_taxable_amount_cents"] == 700 - (expected["shipments"] if tax_included else 0)
    assert attrs["total_taxable_amount_cents"] == 8502 - (total_tax if tax_included else 0)
    assert attrs["total_tax_amount_float"] == total_tax / 100
    assert attrs["tax_calculations_count"] >= 1
    # the manual calculator's taxes are there: the order places
    r = place(api, order["id"])
    assert r.status == 200, r


def test_a_change_of_address_or_lines_computes_the_taxes_again(api: Any) -> None:
    shop, _ = taxed_shop(api, code="TY", tax_included=False)
    order = new_order(api, shop, {"TSHIRT": 2})
    assert with_lines(api, order["id"])[0]["subtotal_tax_amount_cents"] == 660
    # a shipping address outside Italy: no rule applies, nothing is taxed
    france = api.create("addresses", {**ADDRESS, "country_code": "FR", "zip_code": "75001"})
    r = api.update("orders", order["id"], relationships={"shipping_address": france})
    assert r.status == 200, r
    attrs, lines = with_lines(api, order["id"])
    assert (attrs["total_tax_amount_cents"], attrs["tax_rate"]) == (0, 0.0)
    assert {line["tax_amount_cents"] for line in lines.values()} == {0}
    italy = api.create("addresses", ADDRESS)
    assert api.update("orders", order["id"], relationships={"shipping_address": italy}).status == 200
    assert with_lines(api, order["id"])[0]["subtotal_tax_amount_cents"] == 660
    # another line: 3000 + 800 at 22%
    api.create("line_items", {"sku_code": "MUG", "quantity": 1}, {"order": ("orders", order["id"])})
    attrs, lines = with_lines(api, order["id"])
    assert (attrs["subtotal_tax_amount_cents"], lines["MUG"]["tax_amount_cents"]) == (660 + 176, 176)


def test_moving_the_address_itself_computes_the_taxes_again(api: Any) -> None:
    """``PATCH /api/addresses/<id>`` of the codes of an order's shipping address prices the editable orders
    using it again; a placed order keeps its taxes."""
    shop, _ = taxed_shop(api, code="TM", tax_included=False)
    order = new_order(api, shop, {"TSHIRT": 2})
    placed = new_order(api, shop, {"TSHIRT": 2})
    assert place(api, placed["id"]).status == 200
    shipping = api.get(f"orders/{order['id']}/shipping_address").data
    # both orders ship to the same address row
    assert api.update("orders", placed["id"], relationships={"shipping_address": shipping}).status == 422
    with scope.active(api.scope()):
        Order.objects.filter(pk=placed["id"]).update(shipping_address_id=shipping["id"])
    assert with_lines(api, order["id"])[0]["subtotal_tax_amount_cents"] == 660
    r = api.update("addresses", shipping["id"], {"country_code": "FR", "zip_code": "75001"})
    assert r.status == 200, r
    attrs, lines = with_lines(api, order["id"])
    assert (attrs["total_tax_amount_cents"], attrs["tax_rate"], lines["TSHIRT"]["tax_amount_cents"]) == (
        0,
        0.0,
        0,
    )
    assert with_lines(api, placed["id"])[0]["subtotal_tax_amount_cents"] == 660  # placed: unchanged
    # a change that does not move the address prices nothing again; moving it back taxes again
    assert api.update("addresses", shipping["id"], {"line_1": "Rue de Rivoli 1"}).status == 200
    assert with_lines(api, order["id"])[0]["total_tax_amount_cents"] == 0
    assert api.update("addresses", shipping["id"], {"country_code": "IT"}).status == 200
    assert with_lines(api, order["id"])[0]["subtotal_tax_amount_cents"] == 660


def test_moving_the_billing_address_prices_its_orders_again(api: Any) -> None:
    """An order billing to a moved address is priced again too (its taxes follow its shipping address, so
    they stay; its ``tax_calculations_count`` says they were computed again)."""
    shop, _ = taxed_shop(api, code="TB", tax_included=False)
    order = new_order(api, shop, {"TSHIRT": 2})
    before = api.get(f"orders/{order['id']}").data["attributes"]
    billing = api.get(f"orders/{order['id']}/billing_address").data
    assert api.update("addresses", billing["id"], {"zip_code": "20121"}).status == 200
    after = api.get(f"orders/{order['id']}").data["attributes"]
    assert after["subtotal_tax_amount_cents"] == before["subtotal_tax_amount_cents"] == 660
    assert after["tax_calculations_count"] == before["tax_calculations_count"] + 1


def test_update_taxes_takes_the_rules_current_rate(api: Any) -> None:
    shop, rule = taxed_shop(api, code="TZ", tax_included=False)
    order = new_order(api, shop, {"TSHIRT": 2})
    before = with_lines(api, order["id"])[0]
    assert api.update("tax_rules", rule["id"], {"tax_rate": 0.1}).status == 200
    assert with_lines(api, order["id"])[0]["subtotal_tax_amount_cents"] == 660  # frozen until asked
    r = api.patch(f"orders/{order['id']}", document("orders", {"_update_taxes": True}, rid=order["id"]))
    assert r.status == 200, r
    attrs, lines = with_lines(api, order["id"])
    assert (attrs["subtotal_tax_amount_cents"], lines["TSHIRT"]["tax_rate"]) == (300, 0.1)
    assert attrs["tax_calculations_count"] == before["tax_calculations_count"] + 1


def test_placing_requires_the_taxes_of_the_markets_calculator(api: Any) -> None:
    shop = build_shop(api, skus=SKUS, code="TN")
    order = new_order(api, shop, {"TSHIRT": 1})  # priced while the market had no calculator
    calculator = api.create("manual_tax_calculators", {"name": "VAT"})
    assert api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator}).status == 200
    r = place(api, order["id"])
    assert r.status == 422, r
    assert "taxes_not_calculated" in [e["meta"]["error"] for e in r.json["errors"]]
    r = api.patch(f"orders/{order['id']}", document("orders", {"_update_taxes": True}, rid=order["id"]))
    assert r.status == 200, r
    assert place(api, order["id"]).status == 200


def test_an_external_calculator_is_not_called_while_pricing(api: Any) -> None:
    shop = build_shop(api, skus=SKUS, code="TE")
    calculator = api.create(
        "external_tax_calculators", {"name": "Ours", "tax_calculator_url": "https://tax.example.com/calc"}
    )
    assert api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator}).status == 200
    order = new_order(api, shop, {"TSHIRT": 1})
    attrs, _ = with_lines(api, order["id"])
    assert (attrs["total_tax_amount_cents"], attrs["tax_rate"], attrs["tax_calculations_count"]) == (
        0,
        None,
        0,
    )
    r = place(api, order["id"])
    assert r.status == 422 and "taxes_not_calculated" in [e["meta"]["error"] for e in r.json["errors"]], r


# --- the totals add up ------------------------------------------------------------------------------------

KINDS = (
    "skus",
    "skus",
    "bundles",
    "shipments",
    "payment_methods",
    "adjustments",
    "percentage_discount_promotions",
)
lines_strategy = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.integers(min_value=-(10**6), max_value=10**7),
        st.integers(min_value=-(10**5), max_value=0),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=200, deadline=None)
@given(
    lines_strategy,
    st.decimals(min_value=0, max_value=1, places=4),
    st.booleans(),
    st.booleans(),
)
def test_the_orders_taxes_are_the_sums_of_its_lines_to_the_cent(
    raw: list[tuple[str, int, int]], rate: Decimal, tax_included: bool, taxes_freight: bool
) -> None:
    """In memory, through taxing.facts and taxing.store: what the lines show adds up to the order's totals."""
    order = Order(
        id="order",
        currency_code="EUR",
        tax_included=tax_included,
        shipping_address=Address(id="address", country_code="IT"),
    )
    lines = [
        LineItem(
            id=f"line{i}", order=order, item_type=kind, total_amount_cents=amount, discount_cents=discount
        )
        for i, (kind, amount, discount) in enumerate(raw)
    ]
    rule = calculation.Rule(
        "rule",
        "Italy",
        rate,
        freight_taxable=taxes_freight,
        payment_method_taxable=True,
        adjustment_taxable=True,
    )
    taxing.store(order, lines, calculation.compute(taxing.facts(order, lines), [rule]), "calc", fresh=True)
    assert order.total_tax_amount_cents == sum(line.tax_amount_cents for line in lines)
    assert order.total_tax_amount_cents == (
        order.subtotal_tax_amount_cents
        + order.shipping_tax_amount_cents
        + order.payment_method_tax_amount_cents
        + order.adjustment_tax_amount_cents
    )
    assert order.subtotal_tax_amount_cents == sum(
        line.tax_amount_cents for line in lines if line.item_type in ("skus", "bundles")
    )
    assert all(line.tax_amount_cents == 0 for line in lines if line.item_type.endswith("_promotions"))
    assert all(
        line.tax_breakdown["tax_collectable"] * 100 == pytest.approx(line.tax_amount_cents)
        for line in lines
        if line.tax_breakdown
    )


# --- an external calculator -------------------------------------------------------------------------------


def test_update_taxes_calls_the_external_calculator_with_no_transaction_open(
    api: Any,
    receiver: Receiver,  # noqa: F811 (the fixture of tests/taxes/test_external.py)
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shop = build_shop(api, skus=SKUS, code="TX2")
    with scope.active(api.scope()):
        shop.price_list.tax_included = False
        shop.price_list.save()
    calculator = api.create("external_tax_calculators", {"name": "Ours", "tax_calculator_url": receiver.url})
    receiver.secret = calculator["attributes"]["shared_secret"]
    assert api.update("markets", shop.market.pk, relationships={"tax_calculator": calculator}).status == 200
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    _, lines = with_lines(api, order["id"])
    mug = next(
        line
        for line in api.get(f"orders/{order['id']}/line_items").data
        if line["attributes"]["sku_code"] == "MUG"
    )
    receiver.answers.append(
        (
            200,
            {
                "success": True,
                "data": {"tax_rate": 0.1, "line_items": [{"id": mug["id"], "tax_collectable": 1.5}]},
            },
        )
    )
    # the tests run inside a transaction: no block of ours may be open around the call
    outside = len(connection.atomic_blocks)
    during: list[int] = []
    calculate = external.calculate

    def watched(*args: Any, **kwargs: Any) -> Any:
        during.append(len(connection.atomic_blocks))
        return calculate(*args, **kwargs)

    monkeypatch.setattr(external, "calculate", watched)
    r = api.patch(f"orders/{order['id']}", document("orders", {"_update_taxes": True}, rid=order["id"]))
    assert r.status == 200, r
    assert during == [outside]
    [sent] = receiver.requests
    assert sent["signed"] and sent["body"]["data"]["id"] == order["id"]
    assert {o["type"] for o in sent["body"]["included"]} >= {"line_items"}
    attrs, lines = with_lines(api, order["id"])
    # TSHIRT at the global 10% (3000 -> 300), MUG's collectable 1.50; shipping is not freight taxable
    assert (lines["TSHIRT"]["tax_amount_cents"], lines["MUG"]["tax_amount_cents"]) == (300, 150)
    assert (attrs["total_tax_amount_cents"], attrs["tax_rate"], attrs["tax_calculations_count"]) == (
        450,
        0.1,
        1,
    )
    assert attrs["total_amount_with_taxes_cents"] == attrs["total_amount_cents"] + 450
    assert place(api, order["id"]).status == 200


def test_a_placed_orders_taxes_are_not_computed_again(api: Any) -> None:
    shop, rule = taxed_shop(api, code="TP", tax_included=False)
    order = new_order(api, shop, {"TSHIRT": 2})
    assert place(api, order["id"]).status == 200
    assert api.update("tax_rules", rule["id"], {"tax_rate": 0.1}).status == 200
    r = api.patch(f"orders/{order['id']}", document("orders", {"_update_taxes": True}, rid=order["id"]))
    assert r.status == 422 and r.error_codes == ["VALIDATION_ERROR"], r
    assert with_lines(api, order["id"])[0]["subtotal_tax_amount_cents"] == 660
