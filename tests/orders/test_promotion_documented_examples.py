"""Commerce Layer's own examples of its SKU list promotions (its buy X pay Y and free gift pages), each
replayed through the API: the units each SKU gets free."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api
from tests.orders.conftest import Shop, build_shop, new_order
from tests.orders.test_promotion_kinds import discounts
from tests.orders.test_promotion_sku_lists import listed, sku_list

PRICES = {"A": 1000, "B": 700, "C": 500, "D": 300}


@pytest.fixture
def shop(api: Api) -> Shop:
    return build_shop(api, skus={code: (cents, {"milan": 20}) for code, cents in PRICES.items()})


def free_units(api: Api, order_id: str) -> dict[str, int]:
    """SKU code -> the units its discount pays for, for the lines discounted."""
    return {code: -cents // PRICES[code] for code, cents in discounts(api, order_id).items() if cents}


@pytest.mark.parametrize(
    ("cart", "free"),
    [
        ({"A": 3}, {"A": 1}),
        ({"A": 6, "B": 3}, {"A": 2, "B": 1}),
        ({"A": 7, "B": 4, "C": 2}, {"A": 2, "B": 1}),
        ({"A": 5, "B": 2, "D": 8}, {"A": 1}),
        ({"A": 2, "D": 4}, {}),
    ],
)
def test_buy_3_pay_2(api: Api, shop: Shop, cart: dict[str, int], free: dict[str, int]) -> None:
    listed(api, "buy_x_pay_y_promotions", sku_list(api, {"A": 1, "B": 1, "C": 1}), x=3, y=2)
    assert free_units(api, new_order(api, shop, cart, ready=False)["id"]) == free


@pytest.mark.parametrize(
    ("max_quantity", "cart", "free"),
    [
        (1, {"A": 2}, {"A": 1}),
        (1, {"A": 1, "B": 1}, {"A": 1}),
        (1, {"B": 2}, {"B": 1}),
        (2, {"A": 3}, {"A": 2}),
        (2, {"A": 2, "B": 1}, {"A": 2}),
        (2, {"A": 1, "B": 2}, {"A": 1, "B": 1}),
    ],
)
def test_free_gift_of_a_list_of_2_a_then_1_b(
    api: Api, shop: Shop, max_quantity: int, cart: dict[str, int], free: dict[str, Any]
) -> None:
    listed(api, "free_gift_promotions", sku_list(api, {"A": 2, "B": 1}), max_quantity=max_quantity)
    assert free_units(api, new_order(api, shop, cart, ready=False)["id"]) == free
