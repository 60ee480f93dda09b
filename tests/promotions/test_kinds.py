"""promotions (the polymorphic list), fixed_amount_promotions and free_shipping_promotions over HTTP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest

from orderfactory.core import clock

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
DATES = {"starts_at": "2026-03-01T00:00:00.000Z", "expires_at": "2026-04-01T00:00:00.000Z"}


@pytest.fixture(autouse=True)
def now() -> Iterator[Any]:
    with clock.frozen(T0) as advance:
        yield advance


def three_kinds(api: Any, now: Any) -> dict[str, dict[str, Any]]:
    made = {}
    for type_name, own in (
        ("percentage_discount_promotions", {"percentage": 10}),
        ("fixed_amount_promotions", {"fixed_amount_cents": 500, "currency_code": "EUR"}),
        ("free_shipping_promotions", {}),
    ):
        made[type_name] = api.create(type_name, {"name": type_name, **DATES, **own})
        now(dt.timedelta(seconds=1))  # lists are in creation order
    return made


def test_promotions_lists_every_kind_each_with_its_own_type(api: Any, now: Any) -> None:
    made = three_kinds(api, now)
    listed = api.get("promotions")
    assert listed.status == 200, listed
    # As tax_calculators: the list's own type on the wire, each row's kind in its ``type`` attribute.
    assert [(p["type"], p["attributes"]["type"], p["id"]) for p in listed.data] == [
        ("promotions", t, p["id"]) for t, p in made.items()
    ]
    fixed = made["fixed_amount_promotions"]
    one = api.get(f"promotions/{fixed['id']}")
    assert (one.data["attributes"]["type"], one.data["attributes"]["name"]) == (
        "fixed_amount_promotions",
    ) * 2
    only_fixed = api.get("promotions", {"filter[q][type_eq]": "fixed_amount_promotions"}).data
    assert [p["id"] for p in only_fixed] == [fixed["id"]]
    # Each typed list holds its own kind only; a row of another kind is not found there.
    assert [p["id"] for p in api.get("fixed_amount_promotions").data] == [fixed["id"]]
    assert api.get(f"free_shipping_promotions/{fixed['id']}").status == 404


def test_promotions_is_read_only(api: Any) -> None:
    response = api.post("promotions", {"data": {"type": "promotions", "attributes": {"name": "x", **DATES}}})
    assert response.status in (404, 405), response


def test_a_fixed_amount_promotion_shows_its_amount_and_refuses_a_missing_or_negative_one(api: Any) -> None:
    fixed = api.create(
        "fixed_amount_promotions",
        {"name": "5 off", "fixed_amount_cents": 500, "currency_code": "EUR", **DATES},
    )
    a = fixed["attributes"]
    assert (a["type"], a["fixed_amount_cents"], a["fixed_amount_float"], a["formatted_fixed_amount"]) == (
        "fixed_amount_promotions",
        500,
        5.0,
        "€5,00",
    )
    assert (a["status"], a["total_usage_count"], a["exclusive"]) == ("active", 0, False)
    missing = api.post(
        "fixed_amount_promotions", {"data": {"type": "fixed_amount_promotions", "attributes": {}}}
    )
    assert missing.status == 422, missing
    assert [e["source"]["pointer"] for e in missing.json["errors"]] == [
        "/data/attributes/name",
        "/data/attributes/starts_at",
        "/data/attributes/expires_at",
        "/data/attributes/fixed_amount_cents",
    ]
    negative = api.update("fixed_amount_promotions", fixed["id"], {"fixed_amount_cents": -1})
    assert negative.status == 422 and negative.error_codes == ["VALIDATION_ERROR"], negative
    assert negative.json["errors"][0]["source"]["pointer"] == "/data/attributes/fixed_amount_cents"


def test_a_free_shipping_promotion_needs_no_amount_and_takes_a_coupon(api: Any) -> None:
    free = api.create("free_shipping_promotions", {"name": "Free shipping", **DATES})
    assert free["attributes"]["status"] == "active"
    rule = api.create("coupon_codes_promotion_rules", {}, {"promotion": free})
    assert rule["attributes"]["type"] == "coupon_codes_promotion_rules"
    linked = api.get(f"coupon_codes_promotion_rules/{rule['id']}", {"include": "promotion"})
    assert linked.data["relationships"]["promotion"]["data"] == {
        "type": "free_shipping_promotions",
        "id": free["id"],
    }
    coupon = api.create("coupons", {"code": "SHIPFREE26"}, {"promotion_rule": rule})
    assert api.get(f"free_shipping_promotions/{free['id']}").data["attributes"]["coupons_count"] == 1
    found = api.get("coupons", {"filter[q][promotion_rule_promotion_name_eq]": "Free shipping"}).data
    assert [c["id"] for c in found] == [coupon["id"]]
    by_type = api.get(
        "coupon_codes_promotion_rules", {"filter[q][promotion_type_eq]": "free_shipping_promotions"}
    )
    assert [r["id"] for r in by_type.data] == [rule["id"]]


def test_other_organizations_and_modes_see_and_use_none_of_them(
    api: Any, other_org: Any, live_api: Any, now: Any
) -> None:
    made = three_kinds(api, now)
    for other in (other_org, live_api):
        assert other.get("promotions").json["meta"]["record_count"] == 0
        for type_name, promotion in made.items():
            assert other.get(f"promotions/{promotion['id']}").status == 404
            assert other.get(f"{type_name}/{promotion['id']}").status == 404
            assert other.update(type_name, promotion["id"], {"name": "taken"}).status == 404
            linked = other.post(
                "coupon_codes_promotion_rules",
                {
                    "data": {
                        "type": "coupon_codes_promotion_rules",
                        "relationships": {"promotion": {"data": {"type": type_name, "id": promotion["id"]}}},
                    }
                },
            )
            assert linked.status == 404, linked
    assert api.get(f"promotions/{made['free_shipping_promotions']['id']}").data["attributes"]["name"] == (
        "free_shipping_promotions"
    )


def test_a_kind_is_tagged_as_its_own_type_and_the_list_shows_the_tags(api: Any) -> None:
    for name in ("summer", "vip"):
        api.create("tags", {"name": name})
    fixed = api.create("fixed_amount_promotions", {"name": "5 off", "fixed_amount_cents": 500, **DATES})
    tagged = api.update("fixed_amount_promotions", fixed["id"], {"_add_tags": "summer,vip"})
    assert tagged.status == 200, tagged
    listed = api.get(f"promotions/{fixed['id']}", {"include": "tags"})
    assert sorted(t["attributes"]["name"] for t in listed.json["included"]) == ["summer", "vip"]
