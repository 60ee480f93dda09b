"""Query counts pinned per endpoint: placing does not grow with line items, listing not with orders."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.conftest import Api
from tests.orders.conftest import build_shop, new_order, place

SKUS = {f"SKU{n:02d}": (100 + n, {"milan": 5, "berlin": 50}) for n in range(20)}
# Placing one order through PATCH /api/orders/<id> {_place: true}, whatever its number of line items: read
# the order, lock it, read its lines, shipments, payment source, stock locations and stock (locked); update
# stock, insert allocations, number, update order, shipments and customer, insert the authorization (a
# transaction row, issue 13); the events app's writes (audit row, orders.update, and the orders.place event
# with its webhook lookup; the authorization's audit row, its authorizations.create event and its webhook
# lookup); render.
PLACE_QUERIES = 26
# GET /api/orders?include=line_items, whatever the number of orders on the page.
LIST_QUERIES = 3


def queries_of(fn: Any) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return len(captured.captured_queries), result


def test_placing_costs_the_same_queries_whatever_the_number_of_line_items(api: Api) -> None:
    shop = build_shop(api, skus=SKUS)
    # The first order of an organization and mode also creates its number sequence.
    assert place(api, new_order(api, shop, {"SKU00": 1})["id"]).status == 200
    counts = []
    for size in (1, 5, 20):
        # Quantities split the stock over both locations for some lines, so allocation takes both paths.
        lines = {code: 1 + (n % 2) * 5 for n, code in enumerate(list(SKUS)[:size])}
        order = new_order(api, shop, lines)
        count, r = queries_of(lambda order=order: place(api, order["id"]))
        assert r.status == 200, r
        counts.append(count)
    assert counts == [PLACE_QUERIES] * 3


def test_listing_orders_with_line_items_costs_the_same_for_2_and_25_orders(api: Api) -> None:
    shop = build_shop(api, skus=SKUS)
    counts = []
    for total in (2, 25):
        while len(api.get("orders", {"page[size]": "25"}).data) < total:
            new_order(api, shop, {"SKU00": 1, "SKU01": 1}, ready=False)
        count, r = queries_of(lambda: api.get("orders", {"include": "line_items", "page[size]": "25"}))
        assert r.status == 200 and len(r.data) == total, r
        assert len(r.json["included"]) == 2 * total
        counts.append(count)
    assert counts == [LIST_QUERIES] * 2


@pytest.mark.parametrize("size", [1, 20])
def test_adding_a_line_item_does_not_grow_with_the_order(api: Api, size: int) -> None:
    shop = build_shop(api, skus=SKUS)
    order = new_order(api, shop, {code: 1 for code in list(SKUS)[:size]})
    count, r = queries_of(
        lambda: api.create(
            "line_items", {"sku_code": "SKU00", "quantity": 1}, {"order": ("orders", order["id"])}
        )
    )
    assert count == ADD_LINE_QUERIES, count


ADD_LINE_QUERIES = 25
