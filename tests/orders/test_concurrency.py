"""Concurrent placements competing for the last units of a SKU: exactly as many succeed as there are units."""

from __future__ import annotations

import pytest

from orderfactory.core import scope
from orderfactory.inventory.models import StockItem
from tests.conftest import Api
from tests.orders.conftest import build_shop, new_order, place_at_once

ORDERS = 8
UNITS = 3


@pytest.mark.django_db(transaction=True)
def test_concurrent_placements_take_exactly_the_last_units(api: Api) -> None:
    shop = build_shop(api, skus={"MUG": (800, {"milan": UNITS})})
    orders = [new_order(api, shop, {"MUG": 1}, email=f"buyer{n}@example.com")["id"] for n in range(ORDERS)]
    statuses, bodies = place_at_once(api, orders)

    assert sorted(statuses.values()) == [200] * UNITS + [422] * (ORDERS - UNITS), bodies
    refused = [bodies[o] for o, s in statuses.items() if s == 422]
    assert all(b["errors"][0]["title"].startswith("MUG is out of stock") for b in refused)
    with scope.active(api.scope()):
        assert StockItem.objects.get(pk=shop.stock[("MUG", "milan")].pk).quantity == 0
    placed = api.get("orders", {"filter[q][status_eq]": "placed", "page[size]": "25"}).data
    assert sorted(o["attributes"]["number"] for o in placed) == [str(n) for n in range(1, UNITS + 1)]
    pending = api.get("orders", {"filter[q][status_eq]": "pending", "page[size]": "25"}).data
    assert len(pending) == ORDERS - UNITS
