"""shipping_zones, shipping_weight_tiers, shipping_method_tiers, delivery_lead_times and the shipping methods'
zone, tiers and weight range, over HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from tests.catalog import build
from tests.conftest import Api, document


def problems(response: Any) -> list[tuple[str, str]]:
    assert response.status == 422, response
    return sorted((e["source"]["pointer"], e["meta"]["error"]) for e in response.json["errors"])


@pytest.fixture
def market(api: Api) -> dict[str, Any]:
    return build.market(api)


@pytest.fixture
def by_weight(api: Api, market: dict[str, Any]) -> dict[str, Any]:
    return api.create(
        "shipping_methods",
        {"name": "By weight", "scheme": "weight_tiered", "price_amount_cents": 0, "unit_of_weight": "gr"},
        {"market": market},
    )


def test_a_zone_stores_its_expressions(api: Api, market: dict[str, Any]) -> None:
    zone = api.create(
        "shipping_zones", {"name": "Jersey", "zip_code_regex": "(?i)(JE1|JE2)", "not_zip_code_regex": ""}
    )
    attrs = zone["attributes"]
    assert (attrs["zip_code_regex"], attrs["not_zip_code_regex"], attrs["country_code_regex"]) == (
        "(?i)(JE1|JE2)",
        None,
        None,
    )
    method = api.create(
        "shipping_methods",
        {"name": "Jersey post", "price_amount_cents": 100},
        {"market": market, "shipping_zone": zone},
    )
    assert api.get(f"shipping_methods/{method['id']}/shipping_zone").data["id"] == zone["id"]
    found = api.get("shipping_methods", {"filter[q][shipping_zone_id_eq]": zone["id"]}).data
    assert [m["id"] for m in found] == [method["id"]]
    assert api.delete(f"shipping_zones/{zone['id']}").status == 423  # a method uses it


def test_a_zone_reports_every_problem_at_once(api: Api) -> None:
    r = api.post(
        "shipping_zones",
        document("shipping_zones", {"name": "Z", "country_code_regex": "(IT", "zip_code_regex": "a" * 5001}),
    )
    assert problems(r) == [
        ("/data/attributes/country_code_regex", "invalid"),
        ("/data/attributes/zip_code_regex", "too_long"),
    ]


def test_weight_tiers_are_listed_with_their_method(api: Api, by_weight: dict[str, Any]) -> None:
    light = api.create(
        "shipping_weight_tiers",
        {"name": "Light", "up_to": 1000, "price_amount_cents": 500},
        {"shipping_method": by_weight},
    )
    attrs = light["attributes"]
    assert (attrs["type"], attrs["up_to"], attrs["formatted_price_amount"]) == (
        "shipping_weight_tiers",
        1000.0,
        "€5,00",
    )
    listed = api.get("shipping_method_tiers").data
    assert [(t["type"], t["id"], t["attributes"]["type"]) for t in listed] == [
        ("shipping_method_tiers", light["id"], "shipping_weight_tiers")
    ]
    assert api.post("shipping_method_tiers", document("shipping_method_tiers", {"name": "x"})).status == 405
    for name in ("shipping_weight_tiers", "shipping_method_tiers"):
        linked = api.get(f"shipping_methods/{by_weight['id']}/{name}").data
        assert [t["id"] for t in linked] == [light["id"]], name
    r = api.post("shipping_weight_tiers", document("shipping_weight_tiers", {"name": "T", "up_to": -1}))
    assert problems(r) == [
        ("/data/attributes/price_amount_cents", "blank"),
        ("/data/attributes/up_to", "greater_than_or_equal_to"),
        ("/data/relationships/shipping_method", "blank"),
    ]


def test_linking_tiers_to_a_method_moves_them(
    api: Api, market: dict[str, Any], by_weight: dict[str, Any]
) -> None:
    tier = api.create(
        "shipping_weight_tiers", {"name": "Any", "price_amount_cents": 900}, {"shipping_method": by_weight}
    )
    other = api.create(
        "shipping_methods",
        {"name": "Other", "scheme": "weight_tiered", "price_amount_cents": 0},
        {"market": market, "shipping_method_tiers": [("shipping_method_tiers", tier["id"])]},
    )
    assert api.get(f"shipping_weight_tiers/{tier['id']}/shipping_method").data["id"] == other["id"]
    assert api.get(f"shipping_methods/{by_weight['id']}/shipping_method_tiers").data == []


def test_a_weight_range_needs_a_unit_and_an_order(api: Api, market: dict[str, Any]) -> None:
    r = api.post(
        "shipping_methods",
        document(
            "shipping_methods", {"name": "X", "price_amount_cents": 1, "min_weight": 5, "max_weight": 2}
        ),
    )
    assert problems(r) == [
        ("/data/attributes/currency_code", "blank"),
        ("/data/attributes/max_weight", "greater_than_or_equal_to"),
        ("/data/attributes/unit_of_weight", "blank"),
    ]


def test_a_delivery_lead_time_in_hours_and_days(api: Api, by_weight: dict[str, Any]) -> None:
    location = build.stock_location(api)
    lead = api.create(
        "delivery_lead_times",
        {"min_hours": 11, "max_hours": 36},
        {"stock_location": location, "shipping_method": by_weight},
    )
    assert (lead["attributes"]["min_days"], lead["attributes"]["max_days"]) == (0, 2)
    r = api.update("delivery_lead_times", lead["id"], {"min_hours": 48})
    assert problems(r) == [("/data/attributes/max_hours", "greater_than_or_equal_to")]
    r = api.update("delivery_lead_times", lead["id"], {"min_hours": 24, "max_hours": 72})
    assert (r.data["attributes"]["min_days"], r.data["attributes"]["max_days"]) == (1, 3)
    found = api.get("delivery_lead_times", {"filter[q][max_days_eq]": "3"}).data
    assert [x["id"] for x in found] == [lead["id"]]
    r = api.post("delivery_lead_times", document("delivery_lead_times", {"min_hours": 1}))
    assert r.status == 422


@pytest.mark.parametrize("stranger", ["other_org", "live_api"])
def test_another_organization_or_mode_cannot_read_or_write_them(
    request: Any, api: Api, by_weight: dict[str, Any], stranger: str
) -> None:
    other = request.getfixturevalue(stranger)
    zone = api.create("shipping_zones", {"name": "Italy", "country_code_regex": "IT"})
    tier = api.create(
        "shipping_weight_tiers", {"name": "Any", "price_amount_cents": 900}, {"shipping_method": by_weight}
    )
    lead = api.create(
        "delivery_lead_times",
        {"min_hours": 24, "max_hours": 48},
        {"stock_location": build.stock_location(api), "shipping_method": by_weight},
    )
    owned = [
        ("shipping_zones", zone["id"], {"name": "mine"}),
        ("shipping_weight_tiers", tier["id"], {"name": "mine"}),
        ("shipping_method_tiers", tier["id"], None),
        ("delivery_lead_times", lead["id"], {"min_hours": 1}),
    ]
    for type_name, rid, change in owned:
        assert other.get(type_name).data == [], type_name
        assert other.get(f"{type_name}/{rid}").status == 404, type_name
        if change is not None:
            assert other.update(type_name, rid, change).status == 404, type_name
            assert other.delete(f"{type_name}/{rid}").status == 404, type_name
    r = other.post(
        "shipping_weight_tiers",
        document(
            "shipping_weight_tiers",
            {"name": "x", "price_amount_cents": 1},
            {"shipping_method": ("shipping_methods", by_weight["id"])},
        ),
    )
    assert r.status == 404
    assert api.get(f"shipping_zones/{zone['id']}").data["attributes"]["name"] == "Italy"
