"""A copy whose source's shipping method no longer applies to the target (its zone changed, the weight left
its range): the copy fails, or under ``skip_errors`` goes on without it and says so in its errors_log."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories.conftest import copied, copy, run_job
from tests.orders.conftest import Shop, new_order, place
from tests.orders.test_shipping_rules import choose, method, method_of, weigh, zone


@pytest.fixture
def zoned(api: Any, shop: Shop) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A placed order shipped by a courier serving Italy."""
    italy = zone(api, country_code_regex="^IT$")
    courier = method(api, shop, "Italian courier", 400, {"shipping_zone": italy})
    order = new_order(api, shop, {"TSHIRT": 1})
    assert choose(api, order["id"], courier).status == 200
    assert place(api, order["id"]).status == 200
    return order, italy, courier


def run_copy(api: Any, source_id: str, **attributes: Any) -> tuple[dict[str, Any], dict[str, Any] | None]:
    r = copy(api, source_id, attributes=attributes)
    assert r.status == 201, r
    run_job(r.data["id"])
    return copied(api, r.data["id"])


def test_a_method_that_still_applies_is_kept(api, shop, zoned):
    order, _, courier = zoned
    factory, target = run_copy(api, order["id"])
    assert factory["attributes"]["status"] == "completed" and factory["attributes"]["errors_log"] == {}
    assert target is not None and method_of(api, target["id"]) == courier["id"]
    assert target["attributes"]["shipping_amount_cents"] == 400


def test_a_method_out_of_its_zone_fails_the_copy(api, shop, zoned):
    order, italy, _ = zoned
    assert api.update("shipping_zones", italy["id"], {"country_code_regex": "^FR$"}).status == 200
    factory, target = run_copy(api, order["id"])
    attrs = factory["attributes"]
    assert attrs["status"] == "failed" and target is None
    message = "Italian courier: the shipping address is outside its shipping zone"
    assert attrs["errors_log"] == {"shipping_method": [message]}
    assert attrs["errors_details"] == [
        {
            "attribute": "shipping_method",
            "message": message,
            "code": "shipping_method_unavailable",
            "retryable": False,
        }
    ]
    assert api.get("orders").json["meta"]["record_count"] == 1


def test_skip_errors_drops_it_and_says_why(api, shop, zoned):
    order, italy, _ = zoned
    assert api.update("shipping_zones", italy["id"], {"country_code_regex": "^FR$"}).status == 200
    factory, target = run_copy(api, order["id"], skip_errors=True)
    attrs = factory["attributes"]
    message = "Italian courier: the shipping address is outside its shipping zone: dropped from the copy"
    assert attrs["status"] == "completed"
    assert attrs["errors_log"] == {"shipping_method": [message]}
    assert [(d["code"], d["retryable"]) for d in attrs["errors_details"]] == [
        ("shipping_method_dropped", False)
    ]
    # The market's default took its place.
    assert target is not None and method_of(api, target["id"]) == shop.shipping_method.pk
    assert target["attributes"]["shipping_amount_cents"] == 700


def test_a_method_whose_weight_range_the_target_left_fails_or_is_dropped(api, shop):
    weigh(api, shop, TSHIRT=200)
    light = method(api, shop, "Light parcels", 300, unit_of_weight="gr", max_weight=500)
    order = new_order(api, shop, {"TSHIRT": 2})
    assert choose(api, order["id"], light).status == 200
    assert place(api, order["id"]).status == 200
    weigh(api, shop, TSHIRT=300)  # 600 grams now
    factory, target = run_copy(api, order["id"])
    assert factory["attributes"]["status"] == "failed" and target is None
    assert factory["attributes"]["errors_log"] == {
        "shipping_method": ["Light parcels: the shipment weighs 600 gr, over its maximum of 500 gr"]
    }
    factory, target = run_copy(api, order["id"], skip_errors=True)
    assert factory["attributes"]["status"] == "completed"
    assert list(factory["attributes"]["errors_log"]) == ["shipping_method"]
    assert target is not None and method_of(api, target["id"]) == shop.shipping_method.pk
