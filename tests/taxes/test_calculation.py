"""taxes.calculation with worked examples (every figure computed by hand in the comments) and properties."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderfactory.core.errors import DomainError
from orderfactory.taxes.calculation import (
    Address,
    Line,
    LineKind,
    Order,
    Rule,
    compute,
    distributed,
    line_tax,
    matches,
    matching_rule,
)
from orderfactory.taxes.error_codes import TaxErrorCode

ITALY = Address(country_code="IT", state_code="MI", zip_code="20121")
VAT = Rule(
    id="rule22",
    name="Italian VAT",
    tax_rate=Decimal("0.22"),
    freight_taxable=True,
    payment_method_taxable=True,
    country_code_regex="IT",
)
LINES = [
    Line("a", LineKind.SKU, 1000),
    Line("b", LineKind.SKU, 2599),
    Line("c", LineKind.SKU, 333),
    Line("ship", LineKind.SHIPMENT, 700),
    Line("pay", LineKind.PAYMENT_METHOD, 150),
]


def order(lines=LINES, *, tax_included: bool, address: Address = ITALY) -> Order:
    return Order(currency_code="EUR", tax_included=tax_included, shipping_address=address, lines=lines)


def taxes_by_line(taxes) -> dict[str, int]:
    return {line.id: line.tax_amount_cents for line in taxes.lines}


def test_three_lines_shipping_and_payment_at_22_percent_tax_excluded() -> None:
    taxes = compute(order(tax_included=False), [VAT])
    # 1000 * 0.22 = 220; 2599 * 0.22 = 571.78 -> 572; 333 * 0.22 = 73.26 -> 73; 700 * 0.22 = 154;
    # 150 * 0.22 = 33
    assert taxes_by_line(taxes) == {"a": 220, "b": 572, "c": 73, "ship": 154, "pay": 33}
    assert taxes.total_tax_amount_cents == 1052
    assert (taxes.subtotal_tax_amount_cents, taxes.shipping_tax_amount_cents) == (865, 154)
    assert taxes.payment_method_tax_amount_cents == 33
    # Prices without tax: the taxable amount is the amount, and the tax is added to the total.
    assert taxes.subtotal_taxable_amount_cents == 3932
    assert taxes.total_taxable_amount_cents == 4782
    assert taxes.total_amount_with_taxes_cents(4782) == 5834
    assert taxes.rule == VAT and taxes.tax_rate == Decimal("0.22")
    b = taxes.lines[1]
    assert b.tax_rate == Decimal("0.22")
    assert b.tax_breakdown == {
        "tax_rule_id": "rule22",
        "tax_rule_name": "Italian VAT",
        "taxable_amount": 25.99,
        "tax_collectable": 5.72,
        "combined_tax_rate": 0.22,
    }


def test_the_same_order_with_tax_included_extracts_the_tax() -> None:
    taxes = compute(order(tax_included=True), [VAT])
    # 1000 * 0.22 / 1.22 = 180.33 -> 180; 2599 * 0.22 / 1.22 = 468.67 -> 469; 333 * 0.22 / 1.22 = 60.05
    # -> 60; 700 * 0.22 / 1.22 = 126.23 -> 126; 150 * 0.22 / 1.22 = 27.05 -> 27
    assert taxes_by_line(taxes) == {"a": 180, "b": 469, "c": 60, "ship": 126, "pay": 27}
    assert taxes.total_tax_amount_cents == 862
    # The taxable amount is the amount less its tax; the total with taxes is the total.
    assert [line.taxable_amount_cents for line in taxes.lines] == [820, 2130, 273, 574, 123]
    assert taxes.total_taxable_amount_cents + taxes.total_tax_amount_cents == 4782
    assert taxes.total_amount_with_taxes_cents(4782) == 4782


def test_discounts_reduce_the_base_and_promotion_lines_carry_no_tax() -> None:
    lines = [
        Line("a", LineKind.SKU, 1000, discount_cents=-100),
        Line("promo", LineKind.of("percentage_discount_promotions"), -100),
    ]
    taxes = compute(order(lines, tax_included=False), [VAT])
    assert taxes_by_line(taxes) == {"a": 198, "promo": 0}  # (1000 - 100) * 0.22


def test_what_the_rule_does_not_make_taxable_carries_no_tax() -> None:
    rule = Rule(id="r", name="goods only", tax_rate=Decimal("0.2"))
    lines = [
        Line("a", LineKind.SKU, 1000),
        Line("ship", LineKind.SHIPMENT, 500),
        Line("pay", LineKind.PAYMENT_METHOD, 100),
        Line("card", LineKind.GIFT_CARD, 5000),
        Line("fee", LineKind.ADJUSTMENT, 300),
    ]
    taxes = compute(order(lines, tax_included=False), [rule])
    assert taxes_by_line(taxes) == {"a": 200, "ship": 0, "pay": 0, "card": 0, "fee": 0}
    assert taxes.lines[1].tax_rate == 0 and taxes.lines[1].tax_breakdown == {}
    everything = Rule(
        id="r2",
        name="everything",
        tax_rate=Decimal("0.2"),
        freight_taxable=True,
        payment_method_taxable=True,
        gift_card_taxable=True,
        adjustment_taxable=True,
    )
    taxes = compute(order(lines, tax_included=False), [everything])
    assert taxes_by_line(taxes) == {"a": 200, "ship": 100, "pay": 20, "card": 1000, "fee": 60}
    assert taxes.adjustment_tax_amount_cents == 60 and taxes.adjustment_taxable_amount_cents == 300


def test_only_positive_adjustments_are_taxed() -> None:
    rule = Rule(id="r", name="r", tax_rate=Decimal("0.2"), adjustment_taxable=True)
    lines = [Line("fee", LineKind.ADJUSTMENT, 300), Line("goodwill", LineKind.ADJUSTMENT, -300)]
    assert taxes_by_line(compute(order(lines, tax_included=False), [rule])) == {"fee": 60, "goodwill": 0}


def test_rounding_is_half_up_per_line_and_away_from_zero() -> None:
    assert line_tax(25, Decimal("0.22"), tax_included=False) == 6  # 5.5
    assert line_tax(5, Decimal("0.1"), tax_included=False) == 1  # 0.5
    assert line_tax(-5, Decimal("0.1"), tax_included=False) == -1  # -0.5
    assert line_tax(4, Decimal("0.1"), tax_included=False) == 0  # 0.4
    assert line_tax(11, Decimal("0.1"), tax_included=True) == 1  # 11 * 0.1 / 1.1 = 1.0
    # Per line, not on the sum: three lines of 0.4 cents of tax each are three zeros, not 1.2 -> 1.
    lines = [Line(str(i), LineKind.SKU, 4) for i in range(3)]
    rule = Rule(id="r", name="r", tax_rate=Decimal("0.1"))
    assert compute(order(lines, tax_included=False), [rule]).total_tax_amount_cents == 0


def test_a_tax_category_rate_overrides_the_rule_for_its_lines() -> None:
    lines = [Line("book", LineKind.SKU, 1000, tax_category_code="books"), Line("a", LineKind.SKU, 1000)]
    taxes = compute(order(lines, tax_included=False), [VAT], category_rates={"books": Decimal("0.04")})
    assert taxes_by_line(taxes) == {"book": 40, "a": 220}
    assert taxes.lines[0].tax_rate == Decimal("0.04")


# --- which rule ---------------------------------------------------------------------------------------------


UK = Rule(id="uk", name="UK", tax_rate=Decimal("0.2"), country_code_regex="GB")
JERSEY = Rule(
    id="je", name="Jersey", tax_rate=Decimal("0.05"), country_code_regex="GB", zip_code_regex="(?i)^JE[1-5]"
)


def test_a_zip_regex_matches_and_does_not_match() -> None:
    assert matches(JERSEY, Address("GB", None, "JE2 3AB"))
    assert matches(JERSEY, Address("GB", None, "je2 3ab"))  # (?i), as in Commerce Layer's example
    assert not matches(JERSEY, Address("GB", None, "SW1A 1AA"))
    assert not matches(JERSEY, Address("GB", None, None))  # no zip code: a zip condition is not met


def test_the_first_applicable_rule_wins() -> None:
    assert matching_rule([JERSEY, UK], Address("GB", None, "JE2 3AB")) == JERSEY
    assert matching_rule([JERSEY, UK], Address("GB", None, "SW1A 1AA")) == UK
    assert matching_rule([UK, JERSEY], Address("GB", None, "JE2 3AB")) == UK
    assert matching_rule([JERSEY, UK], Address("FR", None, "75001")) is None


def test_a_not_regex_excludes() -> None:
    eu_but_italy = Rule(
        id="eu",
        name="EU but Italy",
        tax_rate=Decimal("0.2"),
        country_code_regex="AT|BE|DE|FR|IT",
        not_country_code_regex="IT",
    )
    assert matches(eu_but_italy, Address("FR"))
    assert not matches(eu_but_italy, Address("IT"))
    no_islands = Rule(id="n", name="n", tax_rate=Decimal("0.1"), not_zip_code_regex="^07")
    assert matches(no_islands, Address("IT", None, "20121"))
    assert not matches(no_islands, Address("IT", None, "07100"))
    assert matches(no_islands, Address("IT"))  # no zip code: nothing to exclude
    us_but_alaska = Rule(id="s", name="s", tax_rate=Decimal("0.1"), not_state_code_regex="AK")
    assert not matches(us_but_alaska, Address("US", "AK")) and matches(us_but_alaska, Address("US", "CA"))


def test_without_an_applicable_rule_nothing_is_taxed() -> None:
    taxes = compute(order(tax_included=False, address=Address("US", "CA", "94103")), [VAT])
    assert taxes.rule is None and taxes.total_tax_amount_cents == 0 and taxes.tax_rate == 0


def test_a_pathological_expression_stops_with_a_code() -> None:
    slow = Rule(id="slow", name="slow", tax_rate=Decimal("0.1"), zip_code_regex="^(a|aa)+$")
    with pytest.raises(DomainError) as raised:
        matches(slow, Address("IT", None, "a" * 40 + "!"))
    assert raised.value.problems[0].code is TaxErrorCode.REGEX_TIMEOUT


# --- properties ---------------------------------------------------------------------------------------------

amounts = st.integers(min_value=-(10**9), max_value=10**9)
rates = st.decimals(min_value=0, max_value=1, places=4, allow_nan=False, allow_infinity=False)
kinds = st.sampled_from(list(LineKind))


@given(
    st.lists(st.tuples(kinds, amounts, st.integers(min_value=-(10**6), max_value=0)), max_size=12),
    rates,
    st.booleans(),
)
def test_totals_add_up_to_the_cent(raw, rate: Decimal, tax_included: bool) -> None:
    lines = [Line(str(i), kind, amount, discount) for i, (kind, amount, discount) in enumerate(raw)]
    rule = Rule(
        id="r",
        name="r",
        tax_rate=rate,
        freight_taxable=True,
        payment_method_taxable=True,
        gift_card_taxable=True,
        adjustment_taxable=True,
    )
    taxes = compute(order(lines, tax_included=tax_included), [rule])
    parts = (
        taxes.subtotal_tax_amount_cents
        + taxes.shipping_tax_amount_cents
        + taxes.payment_method_tax_amount_cents
        + taxes.adjustment_tax_amount_cents
        + sum(t.tax_amount_cents for t in taxes.lines if t.kind is LineKind.GIFT_CARD)
    )
    assert parts == taxes.total_tax_amount_cents == sum(t.tax_amount_cents for t in taxes.lines)
    # negative adjustments distribute their discount (the default) over the taxed lines' bases
    shares = distributed(order(lines, tax_included=tax_included), rule)
    for line, tax in zip(lines, taxes.lines, strict=True):
        base = line.amount_cents + line.discount_cents + shares.get(line.id, 0)
        if not tax.tax_amount_cents and not tax.taxable_amount_cents:
            continue
        exact = Decimal(base) * rate / (1 + rate) if tax_included else Decimal(base) * rate
        assert abs(tax.tax_amount_cents - exact) <= Decimal("0.5")
        assert tax.taxable_amount_cents + (tax.tax_amount_cents if tax_included else 0) == base


@given(amounts, rates, st.booleans())
def test_a_negative_base_is_taxed_as_the_mirror_of_the_positive_one(
    base: int, rate: Decimal, incl: bool
) -> None:
    assert line_tax(-base, rate, tax_included=incl) == -line_tax(base, rate, tax_included=incl)
