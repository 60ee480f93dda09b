"""The copy policies (extensions): ``unavailable_lines`` (fail, drop, reduce) and ``prices`` (frozen, current)
on order_copies and recurring_order_copies, and every errors_details entry about a line pointing at the
source's line with its sku_code. Over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.catalog.models import Price
from orderfactory.core import scope
from tests.conftest import document
from tests.factories.conftest import copied, copy, run_job, set_stock, source_lines, target_lines


def run(api: Any, source_id: str, **attributes: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    r = copy(api, source_id, attributes=attributes)
    assert r.status == 201, r
    run_job(r.data["id"])
    return copied(api, r.data["id"])


@pytest.mark.parametrize(
    ("kind", "attribute", "value"),
    [
        ("order_copies", "unavailable_lines", "skip"),
        ("order_copies", "prices", "latest"),
        ("recurring_order_copies", "unavailable_lines", "keep"),
        ("recurring_order_copies", "prices", "x"),
        ("order_copy_previews", "unavailable_lines", "DROP"),
        ("order_copy_previews", "prices", "now"),
    ],
)
def test_a_policy_outside_its_values_is_a_422_inclusion(api, source, kind, attribute, value):
    r = copy(api, source["id"], kind=kind, attributes={attribute: value})
    assert r.status == 422, r
    error = r.json["errors"][0]
    assert (
        error["meta"]["error"] == "inclusion"
        and error["source"]["pointer"] == f"/data/attributes/{attribute}"
    )


def test_fail_is_the_default_and_placing_points_at_the_line_out_of_stock(api, source):
    set_stock(api, "MUG", 0)
    factory, target = run(api, source["id"], place_target_order=True)
    attrs = factory["attributes"]
    assert (attrs["status"], attrs["unavailable_lines"], attrs["prices"]) == ("failed", "fail", "frozen")
    assert target is not None and target_lines(api, target["id"]) == {"TSHIRT": (2, 1500), "MUG": (1, 800)}
    [entry] = [e for e in attrs["errors_details"] if e["attribute"] == "line_items"]
    assert entry == {
        "attribute": "line_items",
        "message": attrs["errors_log"]["line_items"][0],
        "code": "out_of_stock",
        "retryable": True,
        "pointer": f"/line_items/{source_lines(api, source['id'])['MUG']}",
        "sku_code": "MUG",
    }


def test_drop_leaves_out_a_line_stock_cannot_cover_and_places_the_rest(api, source):
    set_stock(api, "MUG", 0)
    factory, target = run(api, source["id"], place_target_order=True, unavailable_lines="drop")
    attrs = factory["attributes"]
    assert attrs["status"] == "completed", attrs
    assert target is not None and target["attributes"]["status"] == "placed"
    assert target_lines(api, target["id"]) == {"TSHIRT": (2, 1500)}
    assert attrs["errors_log"] == {"line_items": ["MUG: 0 available of 1 requested: dropped from the copy"]}
    assert attrs["errors_details"] == [
        {
            "attribute": "line_items",
            "message": "MUG: 0 available of 1 requested: dropped from the copy",
            "code": "line_dropped",
            "retryable": False,
            "pointer": f"/line_items/{source_lines(api, source['id'])['MUG']}",
            "sku_code": "MUG",
        }
    ]


def test_reduce_copies_what_stock_allows(api, source):
    set_stock(api, "TSHIRT", 1)
    set_stock(api, "MUG", 0)
    factory, target = run(api, source["id"], place_target_order=False, unavailable_lines="reduce")
    attrs = factory["attributes"]
    assert attrs["status"] == "completed", attrs
    assert target is not None and target_lines(api, target["id"]) == {"TSHIRT": (1, 1500)}
    assert target["attributes"]["subtotal_amount_cents"] == 1500
    ids = source_lines(api, source["id"])
    assert [(e["code"], e["pointer"], e["sku_code"]) for e in attrs["errors_details"]] == [
        ("line_reduced", f"/line_items/{ids['TSHIRT']}", "TSHIRT"),
        ("line_dropped", f"/line_items/{ids['MUG']}", "MUG"),
    ]


def test_enough_stock_copies_every_line_whatever_the_policy(api, source):
    for policy in ("drop", "reduce"):
        factory, target = run(api, source["id"], place_target_order=False, unavailable_lines=policy)
        assert factory["attributes"]["status"] == "completed"
        assert factory["attributes"]["errors_details"] == []
        assert target is not None and target_lines(api, target["id"]) == {
            "TSHIRT": (2, 1500),
            "MUG": (1, 800),
        }


def test_current_prices_take_the_market_price_frozen_keeps_the_source(api, shop, source):
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["TSHIRT"]).update(amount_cents=1700)
    _, frozen = run(api, source["id"], place_target_order=False)
    assert frozen is not None and target_lines(api, frozen["id"])["TSHIRT"] == (2, 1500)
    factory, current = run(api, source["id"], place_target_order=False, prices="current")
    assert factory["attributes"]["prices"] == "current"
    assert current is not None and target_lines(api, current["id"]) == {"TSHIRT": (2, 1700), "MUG": (1, 800)}
    assert current["attributes"]["subtotal_amount_cents"] == 2 * 1700 + 800


def test_policies_are_create_only(api, source):
    factory = copy(api, source["id"], attributes={"unavailable_lines": "drop"}).data
    r = api.patch(
        f"order_copies/{factory['id']}",
        document("order_copies", {"unavailable_lines": "fail"}, rid=factory["id"]),
    )
    assert r.status in (400, 404, 405), r
