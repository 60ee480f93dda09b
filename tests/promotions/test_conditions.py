"""A custom promotion rule's filters: each served predicate on the order and on its line items."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.promotions import conditions

ORDER = {
    "status": "pending",
    "currency_code": "EUR",
    "customer_email": "ada@example.com",
    "guest": True,
    "coupon_code": None,
    "subtotal_amount_cents": 3800,
    "skus_count": 3,
}
LINES = [{"sku_code": "TSHIRT", "quantity": 2}, {"sku_code": "MUG", "quantity": 1}]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status_eq": "pending"}, True),
        ({"status_not_eq": "pending"}, False),
        ({"currency_code_in": ["USD", "EUR"]}, True),
        ({"currency_code_in": "USD,GBP"}, False),
        ({"currency_code_not_in": ["USD"]}, True),
        ({"subtotal_amount_cents_gteq": 3800, "subtotal_amount_cents_lt": "3801"}, True),
        ({"subtotal_amount_cents_gt": 3800}, False),
        ({"skus_count_lteq": 2}, False),
        ({"customer_email_cont": "EXAMPLE"}, True),
        ({"customer_email_not_cont": "example"}, False),
        ({"customer_email_start": "ada@", "customer_email_end": ".com"}, True),
        ({"customer_email_matches": "%@example.com"}, True),
        ({"customer_email_matches": "a_a@%"}, True),
        ({"customer_email_matches": "ada@example.co"}, False),
        ({"coupon_code_null": True, "coupon_code_present": False, "coupon_code_blank": "true"}, True),
        ({"guest_true": True}, True),
        ({"guest_false": True}, False),
        ({"guest_eq": "true"}, True),
        ({"line_items_sku_code_eq": "MUG"}, True),
        ({"line_items_sku_code_eq": "CAP"}, False),
        ({"line_items_quantity_gteq": 2, "line_items_sku_code_in": ["MUG"]}, True),
        ({}, True),
    ],
)
def test_each_predicate(filters: dict[str, Any], expected: bool) -> None:
    assert conditions.unknown_keys(filters) == []
    assert conditions.matches(filters, ORDER, LINES) is expected


def test_keys_not_served_are_named() -> None:
    filters = {"status_eq": "x", "market_name_eq": "y", "status_sorta": "z", "line_items_price_eq": 1}
    assert conditions.unknown_keys(filters) == ["market_name_eq", "status_sorta", "line_items_price_eq"]
    assert conditions.unknown_keys(["status_eq"]) == ["(not an object)"]
