"""A negative adjustment that ``distribute_discount`` (resources.json: "Indicates if negative adjustment amount
is distributed for tax calculation") is spread over the taxed lines in proportion to their amounts before
their taxes are computed; one that does not leaves the taxes as they were (docs/decisions.md, "Taxes on
orders"). Over HTTP, and a property: the parts add up to the adjustment to the cent."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orderfactory.taxes import calculation
from tests.orders.conftest import new_order
from tests.orders.test_taxes import taxed_shop, with_lines
from tests.orders.test_tiers_and_adjustments import add, adjustment

# TSHIRT 2 x 1500 = 3000, shipping 700, payment method 300: 4000 taxed at 22% (added), with an adjustment
# of -10.01 spread in proportion: 1001 * 3000/4000 = 750.75, * 700/4000 = 175.175, * 300/4000 = 75.075;
# rounded down to 750 + 175 + 75 = 1000, the cent left to the largest remainder (TSHIRT): 751, 175, 75.
# Bases 2249, 525, 225 -> taxes 494.78 -> 495, 115.5 -> 116, 49.5 -> 50 (half up): 661.
# Not distributed: 3000, 700, 300 -> 660, 154, 66: 880.
DISTRIBUTED = {"TSHIRT": 495, "shipments": 116, "payment_methods": 50, "adjustments": 0}
NOT_DISTRIBUTED = {"TSHIRT": 660, "shipments": 154, "payment_methods": 66, "adjustments": 0}


@pytest.mark.parametrize("distribute", [True, False], ids=["distributed", "not-distributed"])
def test_a_negative_adjustment_is_spread_over_the_taxed_lines(api: Any, distribute: bool) -> None:
    shop, _ = taxed_shop(api, code="DD" if distribute else "DN", tax_included=False)
    order = new_order(api, shop, {"TSHIRT": 2})
    goodwill = adjustment(api, -1001, "Goodwill")
    if not distribute:
        r = api.update("adjustments", goodwill["id"], {"distribute_discount": False})
        assert r.status == 200, r
    add(api, order, {"quantity": 1}, item=goodwill)
    attrs, lines = with_lines(api, order["id"])
    assert (attrs["subtotal_amount_cents"], attrs["shipping_amount_cents"]) == (3000, 700)
    assert attrs["payment_method_amount_cents"] == 300
    expected = DISTRIBUTED if distribute else NOT_DISTRIBUTED
    assert {key: line["tax_amount_cents"] for key, line in lines.items()} == expected
    assert attrs["total_tax_amount_cents"] == sum(expected.values())
    assert attrs["adjustment_amount_cents"] == -1001
    assert attrs["total_amount_cents"] == 4000 - 1001
    taxable = 4000 - 1001 if distribute else 4000
    assert attrs["total_taxable_amount_cents"] == taxable
    if distribute:
        assert lines["TSHIRT"]["tax_breakdown"]["taxable_amount"] == 22.49
        assert attrs["subtotal_taxable_amount_cents"] == 2249


def test_a_positive_adjustment_is_not_spread(api: Any) -> None:
    shop, _ = taxed_shop(api, code="DP", tax_included=False)
    order = new_order(api, shop, {"TSHIRT": 2})
    add(api, order, {"quantity": 1}, item=adjustment(api, 500, "Fee"))
    _, lines = with_lines(api, order["id"])
    assert {key: line["tax_amount_cents"] for key, line in lines.items()} == {**NOT_DISTRIBUTED}


# --- the parts add up -------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=-(10**9), max_value=0),
    st.lists(st.integers(min_value=1, max_value=10**8), min_size=1, max_size=40),
)
def test_the_parts_add_up_to_the_adjustment_to_the_cent(amount: int, weights: list[int]) -> None:
    parts = calculation.spread(amount, weights)
    total = sum(weights)
    wanted = max(amount, -total)
    assert sum(parts) == wanted
    for part, weight in zip(parts, weights, strict=True):
        assert -weight <= part <= 0
        # each part is its exact proportional share, rounded to one of the two nearest cents
        assert abs(Fraction(part) - Fraction(wanted * weight, total)) < 1


KINDS = ("skus", "bundles", "shipments", "payment_methods", "gift_cards", "adjustments")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(KINDS), st.integers(min_value=-(10**6), max_value=10**7), st.booleans()),
        min_size=1,
        max_size=30,
    ),
    st.decimals(min_value=0, max_value=1, places=4),
    st.booleans(),
    st.booleans(),
)
def test_distributed_taxes_add_up(
    raw: list[tuple[str, int, bool]], rate: Any, tax_included: bool, freight: bool
) -> None:
    """The lines' taxable bases lose exactly the distributed adjustments (no more than they had), and the
    order's totals are the sums of its lines."""
    lines = [
        calculation.Line(f"l{i}", calculation.LineKind(kind), amount, distribute_discount=distribute)
        for i, (kind, amount, distribute) in enumerate(raw)
    ]
    order = calculation.Order("EUR", tax_included, calculation.Address("IT"), lines)
    rule = calculation.Rule("r", "Italy", rate, freight_taxable=freight, payment_method_taxable=True)
    taxes = calculation.compute(order, [rule])
    shares = calculation.distributed(order, rule)
    adjustments = sum(
        line.amount_cents
        for line in lines
        if line.kind is calculation.LineKind.ADJUSTMENT and line.distribute_discount and line.amount_cents < 0
    )
    taxed_bases = sum(
        line.amount_cents
        for line in lines
        if line.id in shares or (line.amount_cents > 0 and rule.taxes(line.kind, line.amount_cents))
        if line.kind is not calculation.LineKind.ADJUSTMENT
    )
    assert sum(shares.values()) == max(adjustments, -taxed_bases)
    assert taxes.total_tax_amount_cents == sum(line.tax_amount_cents for line in taxes.lines)
    assert taxes.total_taxable_amount_cents == sum(line.taxable_amount_cents for line in taxes.lines)
    by_id = {line.id: line for line in lines}
    for line_id, share in shares.items():
        assert by_id[line_id].amount_cents + share >= 0
