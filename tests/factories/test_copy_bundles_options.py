"""The copy brings over "all line items and line item options" (contract a.4): bundle lines with their
``bundle_code`` and SKU lines' options, at the prices the source froze; a copy of an order with bundles and
options costs the same queries whatever its number of lines (pinned)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from orderfactory.catalog.models import Bundle, SkuList, SkuListItem, SkuOption
from orderfactory.core import scope
from orderfactory.orders.models import LineItemOption, Order
from orderfactory.orders.services import lines as order_lines
from orderfactory.orders.services import options as order_options
from orderfactory.orders.services.pricing import recompute
from tests.conftest import document
from tests.factories.conftest import copied, copy, run_job
from tests.factories.test_exactly_once import _statements_of_a_copy
from tests.orders.conftest import build_shop, new_order, place, stock_of
from tests.orders.test_bundles_and_options import add_bundle, add_option, engraving, make_bundle, sku_line


def _save_to_wallet(api: Any, order_id: str) -> None:
    """The source's payment source goes to the customer's wallet when placed: the copy pays with it."""
    body = document("orders", {"_save_payment_source_to_customer_wallet": True}, rid=order_id)
    assert api.patch(f"orders/{order_id}", body).status == 200


def _lines_of(api: Any, order_id: str) -> dict[str, dict[str, Any]]:
    r = api.get(f"orders/{order_id}", {"include": "line_items,line_item_options"})
    assert r.status == 200, r
    found = {
        i["attributes"]["sku_code"] or i["attributes"]["bundle_code"] or i["attributes"]["item_type"]: i[
            "attributes"
        ]
        for i in r.json["included"]
        if i["type"] == "line_items"
    }
    found["_options"] = [i["attributes"] for i in r.json["included"] if i["type"] == "line_item_options"]
    found["_order"] = r.data["attributes"]
    return found


def test_bundle_lines_and_options_survive_a_copy_at_their_frozen_prices(api: Any) -> None:
    shop = build_shop(api, skus={"TSHIRT": (1500, {"milan": 10}), "MUG": (800, {"milan": 10})})
    bundle = make_bundle(api, shop)  # TSHIRT x 1, MUG x 2 at 25.00
    option = engraving(api)
    order = new_order(api, shop, {"TSHIRT": 2})
    add_bundle(api, order["id"])
    add_option(api, sku_line(api, order["id"])["id"], option, quantity=2)
    _save_to_wallet(api, order["id"])
    assert place(api, order["id"]).status == 200
    # The catalog changes after the source was placed: the copy keeps the source's prices.
    assert api.update("bundles", bundle["id"], {"price_amount_cents": 9999}).status == 200
    assert api.update("sku_options", option["id"], {"price_amount_cents": 900}).status == 200
    before = stock_of(api, shop)

    r = copy(api, order["id"], attributes={"place_target_order": True})
    assert r.status == 201, r
    outcome = run_job(r.data["id"])
    factory, target = copied(api, r.data["id"])
    assert outcome == "completed", factory["attributes"]["errors_log"]
    assert target is not None and target["attributes"]["status"] == "placed"
    source, copied_lines = _lines_of(api, order["id"]), _lines_of(api, target["id"])
    kit = copied_lines["KIT"]
    assert (kit["item_type"], kit["quantity"], kit["unit_amount_cents"], kit["total_amount_cents"]) == (
        "bundles",
        1,
        2500,
        2500,
    )
    tshirt = copied_lines["TSHIRT"]
    assert (tshirt["options_amount_cents"], tshirt["total_amount_cents"]) == (1000, 4000)
    [copied_option] = copied_lines["_options"]
    assert {
        k: copied_option[k]
        for k in ("name", "quantity", "unit_amount_cents", "total_amount_cents", "options")
    } == {
        "name": "Engraving",
        "quantity": 2,
        "unit_amount_cents": 500,
        "total_amount_cents": 1000,
        "options": {"text": "Ada"},
    }
    for column in ("subtotal_amount_cents", "total_amount_cents", "line_item_options_count", "skus_count"):
        assert copied_lines["_order"][column] == source["_order"][column], column
    assert copied_lines["_order"]["subtotal_amount_cents"] == 6500
    # Placing the target took the bundle's SKUs again: TSHIRT 2 + 1, MUG 2.
    after = stock_of(api, shop)
    assert after[("TSHIRT", "milan")] == before[("TSHIRT", "milan")] - 3
    assert after[("MUG", "milan")] == before[("MUG", "milan")] - 2


def _source_with_bundles_and_options(api: Any, count: int, code: str) -> str:
    """A placed order of ``count`` SKU lines, each with an option, and ``count`` bundle lines of 2 SKUs."""
    skus = {f"{code}{i:04d}": (100 + i, {"milan": 1000}) for i in range(count)}
    shop = build_shop(api, skus=skus, code=code)
    first, *rest = skus
    order = new_order(api, shop, {first: 1})
    with scope.active(api.scope()):
        option = SkuOption.objects.create(name="Gift wrap", currency_code="EUR", price_amount_cents=150)
        row = Order.objects.select_related("market").get(pk=order["id"])
        codes = list(skus)
        for sku_code in rest:
            order_lines.add_sku_line_item(
                row, sku=shop.skus[sku_code], quantity=2, merge=False, refresh=False
            )
        for i in range(count):
            sku_list = SkuList.objects.create(name=f"{code} kit {i}", slug=f"{code}-kit-{i}")
            for position, sku_code in enumerate((codes[i], codes[(i + 1) % count]), start=1):
                SkuListItem.objects.create(sku_list=sku_list, sku=shop.skus[sku_code], position=position)
            bundle = Bundle.objects.create(
                code=f"{code}K{i}", name="Kit", currency_code="EUR", price_amount_cents=999, sku_list=sku_list
            )
            order_lines.add_bundle_line_item(row, bundle=bundle, quantity=1, merge=False)
        recompute(row)
        for line in row.line_items.filter(item_type="skus"):
            order_options.save_option(
                LineItemOption(), {"line_item_id": line.pk, "sku_option_id": option.pk, "options": {"n": 1}}
            )
    _save_to_wallet(api, order["id"])
    assert place(api, order["id"]).status == 200
    return order["id"]


# 25 for a copy of SKU lines (tests/factories/test_exactly_once.py), and 3 more for bundles and options: the
# source's options (read only when it has some: line_item_options_count), the bundles' SKUs (one query for
# every bundle line, to build the shipments) and the options' copies (one insert).
PINNED = 28


def test_a_copy_with_bundles_and_options_costs_the_same_queries_whatever_its_number_of_lines(
    api: Any,
) -> None:
    measured = {}
    for size, code in ((2, "A"), (20, "B"), (60, "C")):
        source_id = _source_with_bundles_and_options(api, size, code)
        statements, target = _statements_of_a_copy(api, source_id, {"place_target_order": False})
        attrs = target["attributes"]
        assert attrs["line_item_options_count"] == size
        measured[size] = len(statements)
    print(f"queries per copy with bundles and options: {measured}")
    if (
        measured[2] != measured[60]
        and connection.vendor == "sqlite"
        and connection.features.max_query_params <= 999
    ):
        pytest.xfail("Django splits SQLite bulk writes at 999 variables")
    assert measured[2] == measured[20] == measured[60] == PINNED, measured


def test_a_copy_of_an_order_without_options_reads_none(api: Any) -> None:
    shop = build_shop(api)
    order = new_order(api, shop, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    statements, _ = _statements_of_a_copy(api, order["id"], {"place_target_order": False})
    assert not [sql for sql in statements if "orders_lineitemoption" in sql]


def test_a_copy_at_current_prices_takes_the_bundles_price_now(api: Any) -> None:
    shop = build_shop(api)
    bundle = make_bundle(api, shop)
    order = new_order(api, shop, {"TSHIRT": 1})
    add_bundle(api, order["id"])
    assert place(api, order["id"]).status == 200
    assert api.update("bundles", bundle["id"], {"price_amount_cents": 2000}).status == 200
    _, kept = _statements_of_a_copy(api, order["id"], {"place_target_order": False})
    assert _lines_of(api, kept["id"])["KIT"]["unit_amount_cents"] == 2500  # frozen, by default
    r = copy(api, order["id"], attributes={"prices": "current"})
    assert r.status == 201, r
    assert run_job(r.data["id"]) == "completed"
    _, target = copied(api, r.data["id"])
    assert target is not None
    assert _lines_of(api, target["id"])["KIT"]["unit_amount_cents"] == 2000
