"""Previews of order copies (an extension): POST /api/order_copy_previews answers with the target as the copy
would build it now and writes nothing an order list or stock count could see; GET retrieves it for a day; a
copy made from it builds what it showed or fails. Over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from orderfactory import worker
from orderfactory.addresses.models import Address
from orderfactory.catalog.models import Price
from orderfactory.core import clock, scope
from orderfactory.factories import previews
from orderfactory.factories.models import OrderCopyPreview
from orderfactory.orders.models import LineItem, Shipment
from tests.conftest import document
from tests.factories.conftest import copied, run_job, set_stock, source_lines, target_lines
from tests.factories.test_copy import with_coupon  # noqa: F401  (a fixture)
from tests.orders.conftest import stock_of


def preview(api: Any, source_id: str, **attributes: Any) -> Any:
    return api.post(
        "order_copy_previews",
        document("order_copy_previews", attributes, {"source_order": ("orders", source_id)}),
    )


def copy_from(api: Any, source_id: str, preview_id: str, **attributes: Any) -> Any:
    return api.post(
        "order_copies",
        document(
            "order_copies",
            attributes,
            {"source_order": ("orders", source_id), "preview": ("order_copy_previews", preview_id)},
        ),
    )


def rows(api: Any) -> dict[str, int]:
    """What a preview must not leave behind: orders (as GET /api/orders counts them), lines, addresses,
    shipments."""
    with scope.active(api.scope()):
        return {
            "orders": api.get("orders").json["meta"]["record_count"],
            "line_items": LineItem.objects.count(),
            "addresses": Address.objects.count(),
            "shipments": Shipment.objects.count(),
        }


def test_a_preview_shows_the_copy_and_writes_nothing_else(api, shop, source):
    set_stock(api, "MUG", 0)
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["TSHIRT"]).update(amount_cents=1700)
    before, stock_before = rows(api), stock_of(api, shop)
    reset_queries()
    with CaptureQueriesContext(connection) as captured:
        r = preview(api, source["id"], place_target_order=True)
    assert r.status == 201, r
    # Pinned (both databases; the test's transaction makes BEGIN and COMMIT a savepoint): the source's link and
    # read (2); the copy built as a copy's job builds it (its lines and chosen methods, the lines' prices and
    # stock now, the wallet, the target's address, payment source, shipments, lines and order written: 16)
    # and checked as placing checks it (5), in a savepoint rolled back (3); the preview written, with its
    # audit row, event and webhook lookup, and read back (5).
    assert len(captured) == 31, [q["sql"][:80] for q in captured]
    assert rows(api) == before and stock_of(api, shop) == stock_before
    attrs = r.data["attributes"]
    ids = source_lines(api, source["id"])
    assert attrs["status"] == "failed" and attrs["placeable"] is False
    assert attrs["unavailable_lines"] == "fail" and attrs["prices"] == "frozen"
    assert sorted(attrs["line_items"], key=lambda line: line["sku_code"]) == [
        {
            "pointer": f"/line_items/{ids['MUG']}",
            "sku_code": "MUG",
            "bundle_code": None,
            "quantity_then": 1,
            "quantity": 1,
            "unit_amount_cents_then": 800,
            "unit_amount_cents_now": 800,
            "unit_amount_cents": 800,
            "quantity_available": 0,
            "outcome": "out_of_stock",
        },
        {
            "pointer": f"/line_items/{ids['TSHIRT']}",
            "sku_code": "TSHIRT",
            "bundle_code": None,
            "quantity_then": 2,
            "quantity": 2,
            "unit_amount_cents_then": 1500,
            "unit_amount_cents_now": 1700,
            "unit_amount_cents": 1500,
            "quantity_available": 13,
            "outcome": "copied",
        },
    ]
    assert attrs["source_subtotal_amount_cents"] == 3800 and attrs["subtotal_amount_cents"] == 3800
    assert attrs["source_total_amount_cents"] == source["attributes"]["total_amount_cents"]
    assert attrs["total_amount_cents"] == attrs["source_total_amount_cents"]
    assert (attrs["coupon_code"], attrs["coupon_outcome"], attrs["promotions_outcome"]) == (
        None,
        None,
        "frozen",
    )
    [stock] = [e for e in attrs["errors_details"] if e["attribute"] == "line_items"]
    assert (stock["code"], stock["pointer"], stock["sku_code"]) == (
        "out_of_stock",
        f"/line_items/{ids['MUG']}",
        "MUG",
    )
    assert dt.datetime.fromisoformat(attrs["expires_at"].replace("Z", "+00:00")) > clock.now() + dt.timedelta(
        hours=23
    )
    got = api.get(f"order_copy_previews/{r.data['id']}")
    assert got.status == 200 and got.data["attributes"] == attrs


def test_a_preview_shows_each_outcome_under_its_policies(api, shop, source):
    set_stock(api, "TSHIRT", 1)
    set_stock(api, "MUG", 0)
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["TSHIRT"]).update(amount_cents=1700)
    reduced = preview(api, source["id"], unavailable_lines="reduce", prices="current").data["attributes"]
    outcomes = {line["sku_code"]: (line["outcome"], line["quantity"]) for line in reduced["line_items"]}
    assert outcomes == {"TSHIRT": ("reduced", 1), "MUG": ("dropped", 0)}
    assert reduced["subtotal_amount_cents"] == 1700 and reduced["status"] == "completed"
    set_stock(api, "TSHIRT", 10)
    repriced = preview(api, source["id"], unavailable_lines="drop", prices="current").data["attributes"]
    outcomes = {line["sku_code"]: (line["outcome"], line["quantity"]) for line in repriced["line_items"]}
    assert outcomes == {"TSHIRT": ("repriced", 2), "MUG": ("dropped", 0)}
    assert repriced["subtotal_amount_cents"] == 3400


def test_a_copy_made_from_a_preview_builds_what_it_showed(api, shop, source):
    set_stock(api, "MUG", 0)
    shown = preview(api, source["id"], unavailable_lines="drop", place_target_order=True).data
    r = copy_from(api, source["id"], shown["id"])
    assert r.status == 201, r
    # the copy takes the preview's options
    assert (r.data["attributes"]["unavailable_lines"], r.data["attributes"]["place_target_order"]) == (
        "drop",
        True,
    )
    assert run_job(r.data["id"]) == "completed"
    factory, target = copied(api, r.data["id"])
    assert target is not None and target["attributes"]["status"] == "placed"
    assert target_lines(api, target["id"]) == {"TSHIRT": (2, 1500)}
    assert target["attributes"]["total_amount_cents"] == shown["attributes"]["total_amount_cents"]
    assert [e["code"] for e in factory["attributes"]["errors_details"]] == ["line_dropped"]


def test_a_copy_fails_when_the_preview_facts_changed_before_it_ran(api, shop, source):
    shown = preview(api, source["id"], prices="current").data
    r = copy_from(api, source["id"], shown["id"], place_target_order=False)
    assert r.status == 422 and r.json["errors"][0]["meta"]["error"] == "preview_mismatch", r
    r = copy_from(api, source["id"], shown["id"])
    assert r.status == 201, r
    # a price moved and stock left between the preview and the copy
    with scope.active(api.scope()):
        Price.objects.filter(sku=shop.skus["TSHIRT"]).update(amount_cents=1900)
    set_stock(api, "MUG", 0)
    before = rows(api)
    assert run_job(r.data["id"]) == "failed"
    factory, target = copied(api, r.data["id"])
    assert target is None and rows(api) == before
    ids = source_lines(api, source["id"])
    details = sorted(factory["attributes"]["errors_details"], key=lambda e: e["sku_code"])
    assert [(e["code"], e["pointer"], e["sku_code"], e["retryable"]) for e in details] == [
        ("preview_outdated", f"/line_items/{ids['MUG']}", "MUG", False),
        ("preview_outdated", f"/line_items/{ids['TSHIRT']}", "TSHIRT", False),
    ]
    assert "unit price 1500 is now 1900" in details[1]["message"]
    assert "outcome copied is now out_of_stock" in details[0]["message"]


def test_an_expired_preview_is_gone_and_a_copy_waiting_on_it_fails(api, source):
    shown = preview(api, source["id"]).data
    r = copy_from(api, source["id"], shown["id"])
    assert r.status == 201, r
    with clock.frozen(clock.now() + dt.timedelta(hours=24, seconds=1)):
        assert api.get(f"order_copy_previews/{shown['id']}").status == 404
        assert api.get("order_copy_previews").json["meta"]["record_count"] == 0
        assert copy_from(api, source["id"], shown["id"]).status == 404
        assert run_job(r.data["id"]) == "failed"
    factory, _ = copied(api, r.data["id"])
    assert [(e["attribute"], e["code"]) for e in factory["attributes"]["errors_details"]] == [
        ("preview", "preview_expired")
    ]


def test_expired_previews_are_purged_except_one_a_waiting_copy_still_names(api, source):
    waited_on = preview(api, source["id"]).data["id"]
    waiting = copy_from(api, source["id"], waited_on)
    assert waiting.status == 201, waiting
    used = preview(api, source["id"]).data["id"]
    made = copy_from(api, source["id"], used).data["id"]
    assert run_job(made) == "completed"
    unused = preview(api, source["id"]).data["id"]
    with clock.frozen(clock.now() + dt.timedelta(hours=24, seconds=1)):
        fresh = preview(api, source["id"]).data["id"]
        assert previews.purge_expired() == 2
        with scope.active(api.scope()):
            kept = set(OrderCopyPreview.objects.values_list("pk", flat=True))
        assert kept == {waited_on, fresh} and not kept & {used, unused}
        # the copy that waited on its preview still fails as expired, then the preview goes
        assert run_job(waiting.data["id"]) == "failed"
        assert previews.purge_expired() == 1
    factory, _ = copied(api, waiting.data["id"])
    assert [e["code"] for e in factory["attributes"]["errors_details"]] == ["preview_expired"]
    assert copied(api, made)[0]["attributes"]["status"] == "completed"  # a copy outlives its preview
    assert api.get(f"order_copy_previews/{fresh}").status == 200
    # the worker's periodic jobs run the purge
    assert (previews.purge_expired, 3600.0) in worker.periodic_jobs(scheduler=False)


def test_a_preview_of_another_organization_or_mode_cannot_be_read_or_used(api, other_org, live_api, source):
    shown = preview(api, source["id"]).data
    for other in (other_org, live_api):
        assert other.get(f"order_copy_previews/{shown['id']}").status == 404
        assert other.get("order_copy_previews").json["meta"]["record_count"] == 0
        r = copy_from(other, source["id"], shown["id"])
        assert r.status == 404, r
        r = preview(other, source["id"])
        assert r.status == 404, r
    assert api.get(f"order_copy_previews/{shown['id']}").status == 200


def test_a_preview_needs_its_source(api):
    r = api.post("order_copy_previews", document("order_copy_previews", {}))
    assert r.status == 422 and r.json["errors"][0]["source"]["pointer"] == "/data/relationships/source_order"


def test_a_preview_shows_what_becomes_of_the_coupon_and_promotions(api, with_coupon):  # noqa: F811
    from orderfactory.promotions.models import Coupon, Promotion

    source_order, promotion, coupon = with_coupon
    kept = preview(api, source_order["id"]).data["attributes"]
    assert (kept["coupon_code"], kept["coupon_outcome"], kept["promotions_outcome"]) == (
        "SPRING",
        "kept",
        "frozen",
    )
    assert kept["source_discount_amount_cents"] == -300 and kept["discount_amount_cents"] == -300
    with scope.active(api.scope()):
        Promotion.objects.filter(pk=promotion.pk).update(percentage=50)
    again = preview(api, source_order["id"], apply_promotions=True).data["attributes"]
    assert (again["promotions_outcome"], again["discount_amount_cents"]) == ("reapplied", -1500)
    with scope.active(api.scope()):
        Coupon.objects.filter(pk=coupon.pk).update(expires_at=clock.now() - dt.timedelta(minutes=1))
    refused = preview(api, source_order["id"]).data["attributes"]
    assert (refused["status"], refused["coupon_outcome"], refused["placeable"]) == (
        "failed",
        "invalid",
        False,
    )
    assert refused["errors_log"] == {"coupon_code": ["coupon 'SPRING' has expired"]}
    dropped = preview(api, source_order["id"], ignore_invalid_coupon=True).data["attributes"]
    assert (dropped["status"], dropped["coupon_outcome"], dropped["discount_amount_cents"]) == (
        "completed",
        "dropped",
        0,
    )
    # placing would fail too: the source's payment source is not in the customer's wallet
    assert [(e["attribute"], e["code"]) for e in dropped["errors_details"]] == [
        ("coupon_code", "coupon_dropped"),
        ("payment_source", "blank"),
    ]
    assert dropped["placeable"] is False
