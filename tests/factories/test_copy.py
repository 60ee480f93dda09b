"""What a copy produces: the target order, its lines, addresses, shipments, payment, coupon and promotions,
and how the options (place_target_order, reuse_wallet, cancel_source_order, apply_promotions, skip_errors,
ignore_invalid_coupon) and the aborting conditions change it. Everything is checked over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orderfactory.catalog.models import Price, ShippingMethod
from orderfactory.core import clock, scope
from orderfactory.inventory.models import StockItem
from orderfactory.promotions.models import Coupon, CouponCodesPromotionRule, Promotion
from tests.conftest import document
from tests.factories.conftest import copied, copy, run_job, subscription
from tests.orders.conftest import line_items, new_order, place, stock_of

ADDRESS_FIELDS = (
    "first_name",
    "last_name",
    "line_1",
    "city",
    "zip_code",
    "country_code",
    "phone",
    "full_address",
)
LINE_FIELDS = ("sku_code", "quantity", "unit_amount_cents", "total_amount_cents", "name", "image_url")


def run_copy(
    api: Any, source_id: str, kind: str = "order_copies", **attributes: Any
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    rels = attributes.pop("relationships", None)
    r = copy(api, source_id, kind=kind, attributes=attributes, relationships=rels)
    assert r.status == 201, r
    run_job(r.data["id"])
    return copied(api, r.data["id"], kind)


def relationship_id(api: Any, path: str) -> str | None:
    data = api.get(path).data
    return data["id"] if data else None


def lines(api: Any, order_id: str, item_type: str = "skus") -> list[dict[str, Any]]:
    return sorted(
        (line["attributes"] for line in line_items(api, order_id, item_type)),
        key=lambda a: a["sku_code"] or a["name"],
    )


def test_the_target_is_a_faithful_copy(api, shop, placed_order):
    source_id = placed_order["id"]
    source_before = api.get(f"orders/{source_id}").data["attributes"]
    with scope.active(api.scope()):
        # Prices changed since the source was priced: the copy keeps the source's (frozen) prices.
        Price.objects.filter(sku=shop.skus["TSHIRT"]).update(amount_cents=9900)
    factory, target = run_copy(api, source_id, place_target_order=False)
    attrs = factory["attributes"]
    assert attrs["status"] == "completed", attrs
    assert (
        attrs["started_at"] is not None and attrs["completed_at"] is not None and attrs["failed_at"] is None
    )
    assert (attrs["errors_log"], attrs["errors_count"]) == ({}, 0)
    assert target is not None and target["id"] != source_id
    t, s = target["attributes"], api.get(f"orders/{source_id}").data["attributes"]
    assert t["status"] == "pending" and s["status"] == "placed"
    for field in (
        "customer_email",
        "language_code",
        "currency_code",
        "subtotal_amount_cents",
        "shipping_amount_cents",
        "total_amount_cents",
        "skus_count",
        "coupon_code",
    ):
        assert t[field] == s[field], field
    assert t["subtotal_amount_cents"] == 2 * 1500 + 800
    for rel in ("market", "customer", "payment_method"):
        expected = relationship_id(api, f"orders/{source_id}/{rel}")
        assert expected is not None
        assert relationship_id(api, f"orders/{target['id']}/{rel}") == expected, rel
    for rel in ("billing_address", "shipping_address"):
        source_address = api.get(f"orders/{source_id}/{rel}").data
        target_address = api.get(f"orders/{target['id']}/{rel}").data
        assert target_address["id"] != source_address["id"], rel
        assert {f: target_address["attributes"][f] for f in ADDRESS_FIELDS} == {
            f: source_address["attributes"][f] for f in ADDRESS_FIELDS
        }
    source_lines, target_lines = lines(api, source_id), lines(api, target["id"])
    assert [{f: a[f] for f in LINE_FIELDS} for a in target_lines] == [
        {f: a[f] for f in LINE_FIELDS} for a in source_lines
    ]
    assert [a["unit_amount_cents"] for a in target_lines] == [800, 1500]
    assert {line["id"] for line in line_items(api, target["id"])}.isdisjoint(
        {line["id"] for line in line_items(api, source_id)}
    )
    assert s == source_before  # the source is untouched


def test_the_copy_of_a_draft_order_works_whatever_the_state(api, shop):
    draft = new_order(api, shop, {"MUG": 2}, ready=False)
    factory, target = run_copy(api, draft["id"])
    assert factory["attributes"]["status"] == "completed"
    assert target is not None
    assert [(a["sku_code"], a["quantity"]) for a in lines(api, target["id"])] == [("MUG", 2)]
    assert api.get(f"orders/{target['id']}/billing_address").data is None


def _express(shop: Any, **kw: Any) -> ShippingMethod:
    return ShippingMethod.objects.create(name="Express", price_amount_cents=1500, currency_code="EUR", **kw)


def _choose(api: Any, order_id: str, method: ShippingMethod) -> None:
    for shipment in api.get(f"orders/{order_id}/shipments").data:
        r = api.update(
            "shipments", shipment["id"], relationships={"shipping_method": ("shipping_methods", method.pk)}
        )
        assert r.status == 200, r


def _shipping_methods(api: Any, order_id: str) -> list[str | None]:
    return [
        relationship_id(api, f"shipments/{s['id']}/shipping_method")
        for s in api.get(f"orders/{order_id}/shipments").data
    ]


def test_shipments_keep_the_source_shipping_method_while_it_applies(api, shop):
    with scope.active(api.scope()):
        express = _express(shop)
    source = new_order(api, shop, {"TSHIRT": 1})
    _choose(api, source["id"], express)
    assert place(api, source["id"]).status == 200
    _, target = run_copy(api, source["id"])
    assert _shipping_methods(api, target["id"]) == [express.pk]
    assert target["attributes"]["shipping_amount_cents"] == 1500
    with scope.active(api.scope()):
        ShippingMethod.objects.filter(pk=express.pk).update(disabled_at=clock.now())
    _, target = run_copy(api, source["id"])
    assert _shipping_methods(api, target["id"]) == [shop.shipping_method.pk]
    assert target["attributes"]["shipping_amount_cents"] == 700


# --- payment sources and the wallet -----------------------------------------------------------------------


def _placed_with_wallet(api: Any, shop: Any) -> dict[str, Any]:
    order = new_order(api, shop, {"TSHIRT": 1})
    transfer_id = relationship_id(api, f"orders/{order['id']}/payment_source")
    assert (
        api.update(
            "wire_transfers", transfer_id, {"metadata": {"iban": "IT60X0542811101000000123456"}}
        ).status
        == 200
    )
    r = api.patch(
        f"orders/{order['id']}",
        document("orders", {"_save_payment_source_to_customer_wallet": True}, rid=order["id"]),
    )
    assert r.status == 200, r
    assert place(api, order["id"]).status == 200
    return order


def test_reuse_wallet_gives_the_target_its_own_copy_of_the_wallet_payment_source(api, shop):
    source = _placed_with_wallet(api, shop)
    source_payment = api.get(f"orders/{source['id']}/payment_source").data
    _, target = run_copy(api, source["id"], place_target_order=True)
    target_payment = api.get(f"orders/{target['id']}/payment_source").data
    assert target_payment is not None
    assert target_payment["type"] == source_payment["type"] == "wire_transfers"
    assert target_payment["id"] != source_payment["id"]
    assert target_payment["attributes"]["metadata"] == {"iban": "IT60X0542811101000000123456"}
    assert target["attributes"]["status"] == "placed"
    # The source keeps its own.
    assert api.get(f"orders/{source['id']}/payment_source").data["id"] == source_payment["id"]


def test_reuse_wallet_copies_the_token_of_an_external_payment(api, shop):
    source = new_order(api, shop, {"TSHIRT": 1})
    payment = api.create(
        "external_payments", {"payment_source_token": "tok_4242", "options": {"card": "visa"}}
    )
    assert api.update("orders", source["id"], relationships={"payment_source": payment}).status == 200
    customer_id = relationship_id(api, f"orders/{source['id']}/customer")
    api.create(
        "customer_payment_sources", {}, {"customer": ("customers", customer_id), "payment_source": payment}
    )
    _, target = run_copy(api, source["id"])
    copied_payment = api.get(f"orders/{target['id']}/payment_source").data
    assert copied_payment["type"] == "external_payments" and copied_payment["id"] != payment["id"]
    assert copied_payment["attributes"]["payment_source_token"] == "tok_4242"
    assert copied_payment["attributes"]["options"] == {"card": "visa"}


def test_no_payment_source_when_the_source_is_not_in_the_wallet(api, placed_order):
    assert api.get(f"orders/{placed_order['id']}/payment_source").data is not None
    _, target = run_copy(api, placed_order["id"])
    assert api.get(f"orders/{target['id']}/payment_source").data is None
    assert relationship_id(api, f"orders/{target['id']}/payment_method") == relationship_id(
        api, f"orders/{placed_order['id']}/payment_method"
    )


def test_no_payment_source_without_reuse_wallet(api, shop):
    source = _placed_with_wallet(api, shop)
    _, target = run_copy(api, source["id"], reuse_wallet=False)
    assert api.get(f"orders/{target['id']}/payment_source").data is None


# --- place_target_order and skip_errors --------------------------------------------------------------------


def test_place_target_order_places_it_like_place_does(api, shop):
    source = _placed_with_wallet(api, shop)
    before = stock_of(api, shop)
    factory, target = run_copy(api, source["id"], place_target_order=True)
    assert factory["attributes"]["status"] == "completed"
    t = target["attributes"]
    assert t["status"] == "placed" and t["number"] and t["placed_at"] and t["payment_status"] == "authorized"
    assert stock_of(api, shop)[("TSHIRT", "milan")] == before[("TSHIRT", "milan")] - 1


def test_a_target_that_cannot_be_placed_fails_the_copy_and_stays_linked(api, shop):
    source = _placed_with_wallet(api, shop)
    with scope.active(api.scope()):
        StockItem.objects.filter(sku=shop.skus["TSHIRT"]).update(quantity=0)
    factory, target = run_copy(api, source["id"], place_target_order=True)
    attrs = factory["attributes"]
    assert attrs["status"] == "failed"
    assert attrs["failed_at"] is not None and attrs["completed_at"] is None
    assert list(attrs["errors_log"]) == ["line_items"]
    assert attrs["errors_log"]["line_items"] == ["TSHIRT is out of stock (requested 1, available 0)"]
    assert attrs["errors_count"] == 1
    assert target is not None and target["attributes"]["status"] == "pending"
    r = api.get("order_factories", {"filter[q][status_eq]": "failed", "filter[q][errors_count_gteq]": "1"})
    assert [d["id"] for d in r.data] == [factory["id"]]


def test_placing_without_a_payment_source_fails_with_every_reason(api, placed_order):
    factory, target = run_copy(api, placed_order["id"], place_target_order=True)
    attrs = factory["attributes"]
    assert attrs["status"] == "failed"
    assert attrs["errors_log"] == {"payment_source": ["can't be blank"]}
    assert attrs["errors_count"] == 1
    assert target["attributes"]["status"] == "pending"


def test_skip_errors_completes_the_copy_with_the_errors_logged(api, shop):
    source = _placed_with_wallet(api, shop)
    with scope.active(api.scope()):
        StockItem.objects.filter(sku=shop.skus["TSHIRT"]).update(quantity=0)
    factory, target = run_copy(api, source["id"], place_target_order=True, skip_errors=True)
    attrs = factory["attributes"]
    assert attrs["status"] == "completed" and attrs["completed_at"] is not None and attrs["failed_at"] is None
    assert attrs["errors_log"] == {"line_items": ["TSHIRT is out of stock (requested 1, available 0)"]}
    assert attrs["errors_count"] == 1
    assert target["attributes"]["status"] == "pending"


# --- cancel_source_order ----------------------------------------------------------------------------------


def test_cancel_source_order_cancels_it_and_restores_its_stock(api, shop, placed_order):
    placed_stock = stock_of(api, shop)
    factory, target = run_copy(api, placed_order["id"], cancel_source_order=True)
    assert factory["attributes"]["status"] == "completed"
    source = api.get(f"orders/{placed_order['id']}").data["attributes"]
    assert source["status"] == "cancelled" and source["cancelled_at"] is not None
    restored = stock_of(api, shop)
    assert restored[("TSHIRT", "milan")] == placed_stock[("TSHIRT", "milan")] + 2
    assert restored[("MUG", "milan")] == placed_stock[("MUG", "milan")] + 1
    assert target is not None


def test_cancel_source_order_does_not_cancel_when_the_copy_fails(api, shop):
    source = _placed_with_wallet(api, shop)
    with scope.active(api.scope()):
        StockItem.objects.filter(sku=shop.skus["TSHIRT"]).update(quantity=0)
    factory, _ = run_copy(api, source["id"], place_target_order=True, cancel_source_order=True)
    assert factory["attributes"]["status"] == "failed"
    assert api.get(f"orders/{source['id']}").data["attributes"]["status"] == "placed"


# --- coupons and promotions -------------------------------------------------------------------------------


def _promotion(percentage: int, code: str, **coupon: Any) -> tuple[Promotion, Coupon]:
    now = clock.now()
    promotion = Promotion.objects.create(
        name=f"{percentage}% off",
        percentage=percentage,
        starts_at=now - dt.timedelta(days=1),
        expires_at=now + dt.timedelta(days=30),
    )
    rule = CouponCodesPromotionRule.objects.create(promotion=promotion)
    return promotion, Coupon.objects.create(code=code, promotion_rule=rule, **coupon)


@pytest.fixture
def with_coupon(api, shop):
    with scope.active(api.scope()):
        promotion, coupon = _promotion(10, "SPRING")
    order = new_order(api, shop, {"TSHIRT": 2})
    r = api.update("orders", order["id"], {"coupon_code": "SPRING"})
    assert r.status == 200, r
    assert r.data["attributes"]["discount_amount_cents"] == -300
    assert place(api, order["id"]).status == 200
    return order, promotion, coupon


def test_the_coupon_and_its_discount_come_over_frozen(api, with_coupon):
    source, promotion, _ = with_coupon
    with scope.active(api.scope()):
        Promotion.objects.filter(pk=promotion.pk).update(percentage=50)
    factory, target = run_copy(api, source["id"])
    assert factory["attributes"]["status"] == "completed", factory
    t = target["attributes"]
    assert t["coupon_code"] == "SPRING"
    assert t["discount_amount_cents"] == -300 and t["subtotal_amount_cents"] == 3000
    [promotion_line] = lines(api, target["id"], "percentage_discount_promotions")
    assert promotion_line["total_amount_cents"] == -300


def test_apply_promotions_reevaluates_them_at_current_promotions(api, with_coupon):
    source, promotion, _ = with_coupon
    with scope.active(api.scope()):
        Promotion.objects.filter(pk=promotion.pk).update(percentage=50)
    factory, target = run_copy(api, source["id"], apply_promotions=True)
    assert factory["attributes"]["status"] == "completed", factory
    assert target["attributes"]["coupon_code"] == "SPRING"
    assert target["attributes"]["discount_amount_cents"] == -1500
    [promotion_line] = lines(api, target["id"], "percentage_discount_promotions")
    assert promotion_line["total_amount_cents"] == -1500


def test_an_invalid_coupon_fails_the_copy(api, with_coupon):
    source, _, coupon = with_coupon
    with scope.active(api.scope()):
        Coupon.objects.filter(pk=coupon.pk).update(expires_at=clock.now() - dt.timedelta(minutes=1))
    factory, target = run_copy(api, source["id"])
    attrs = factory["attributes"]
    assert attrs["status"] == "failed"
    assert attrs["errors_log"] == {"coupon_code": ["coupon 'SPRING' has expired"]}
    assert attrs["errors_count"] == 1
    assert target is None


def test_ignore_invalid_coupon_drops_it_and_says_why(api, with_coupon):
    source, _, coupon = with_coupon
    with scope.active(api.scope()):
        Coupon.objects.filter(pk=coupon.pk).update(expires_at=clock.now() - dt.timedelta(minutes=1))
    factory, target = run_copy(api, source["id"], ignore_invalid_coupon=True)
    attrs = factory["attributes"]
    assert attrs["status"] == "completed"
    assert attrs["errors_log"] == {"coupon_code": ["coupon 'SPRING' has expired: dropped from the copy"]}
    assert attrs["errors_count"] == 1
    t = target["attributes"]
    assert t["coupon_code"] is None
    assert t["discount_amount_cents"] == 0 and t["total_amount_cents"] == 3000 + t["shipping_amount_cents"]
    assert lines(api, target["id"], "percentage_discount_promotions") == []


# --- aborted ----------------------------------------------------------------------------------------------


def test_an_archived_source_aborts_the_copy(api, placed_order):
    r = copy(api, placed_order["id"])
    assert (
        api.patch(
            f"orders/{placed_order['id']}", document("orders", {"_archive": True}, rid=placed_order["id"])
        ).status
        == 200
    )
    assert run_job(r.data["id"]) == "aborted"
    factory, target = copied(api, r.data["id"])
    attrs = factory["attributes"]
    assert attrs["status"] == "aborted" and attrs["errors_log"] == {"source_order": ["is archived"]}
    assert attrs["errors_count"] == 1 and attrs["completed_at"] is None
    assert target is None
    assert api.get("orders").json["meta"]["record_count"] == 1


def test_a_deleted_source_aborts_the_copy(api, shop):
    draft = new_order(api, shop, {"MUG": 1}, ready=False)
    r = copy(api, draft["id"])
    assert api.delete(f"orders/{draft['id']}").status == 204
    assert run_job(r.data["id"]) == "aborted"
    factory, target = copied(api, r.data["id"])
    assert factory["attributes"]["errors_log"] == {"source_order": ["no longer exists"]}
    assert target is None
    assert api.get("orders").json["meta"]["record_count"] == 0


@pytest.mark.parametrize("status", ["inactive", "cancelled", "draft"])
def test_a_subscription_no_longer_active_aborts_the_recurring_copy(api, placed_order, status):
    sub = subscription(api, placed_order["id"])
    r = copy(
        api,
        placed_order["id"],
        kind="recurring_order_copies",
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    )
    assert r.status == 201, r
    with scope.active(api.scope()):
        type(sub).objects.filter(pk=sub.pk).update(status=status)
    assert run_job(r.data["id"]) == "aborted"
    factory, target = copied(api, r.data["id"], "recurring_order_copies")
    assert factory["attributes"]["errors_log"] == {"order_subscription": [f"is {status}, not active"]}
    assert target is None


def test_a_recurring_copy_of_an_active_subscription_places_its_target(api, shop):
    source = _placed_with_wallet(api, shop)
    sub = subscription(api, source["id"])
    factory, target = run_copy(
        api,
        source["id"],
        kind="recurring_order_copies",
        relationships={"order_subscription": ("order_subscriptions", sub.pk)},
    )
    assert factory["attributes"]["status"] == "completed", factory
    assert target["attributes"]["status"] == "placed"
