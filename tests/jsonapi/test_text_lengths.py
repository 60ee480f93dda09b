"""Text attributes are at most as long as their columns, on both databases: PostgreSQL refused longer text
(a 500) where SQLite kept it. Longer is a 422 on the attribute, with every other problem of the body."""

from __future__ import annotations

from django.db import models

from orderfactory.jsonapi import registry
from orderfactory.jsonapi import resource as r
from tests.conftest import Api, document


def test_text_longer_than_its_column_is_a_422_and_writes_nothing(api: Api) -> None:
    body = document("price_lists", {"name": "x" * 256, "code": "y" * 300, "currency_code": "EUR"})
    response = api.post("price_lists", body)
    assert response.status == 422, response
    problems = {e["source"]["pointer"]: e["meta"] for e in response.json["errors"]}
    assert problems == {
        "/data/attributes/name": {"error": "too_long", "count": 255},
        "/data/attributes/code": {"error": "too_long", "count": 255},
    }
    created = api.create("price_lists", {"name": "é" * 255, "currency_code": "EUR"})  # characters, not bytes
    assert api.get(f"price_lists/{created['id']}").data["attributes"]["name"] == "é" * 255
    response = api.update("price_lists", created["id"], {"reference": "r" * 256})
    assert response.status == 422 and response.json["errors"][0]["meta"]["error"] == "too_long", response
    assert api.get("price_lists").json["meta"]["record_count"] == 1


def test_every_served_text_attribute_takes_its_columns_length() -> None:
    checked = 0
    for resource in registry.all_resources().values():
        for attr in resource.all_attributes():
            if not isinstance(attr, r.String) or not (attr.creatable or attr.updatable):
                continue
            column = attr.stored_in(resource.model)
            if isinstance(column, models.CharField):
                assert attr.max_length == column.max_length, (resource.type, attr.name)
                checked += 1
    assert checked > 100


def test_a_value_its_column_cannot_hold_is_reported_with_the_resources_own_problems(api: Api) -> None:
    body = document(
        "percentage_discount_promotions",
        {
            "name": "n" * 300,
            "percentage": 101,
            "starts_at": "2026-01-01T00:00:00Z",
            "expires_at": "2027-01-01T00:00:00Z",
            "total_usage_limit": 2**31,
        },
    )
    response = api.post("percentage_discount_promotions", body)
    assert response.status == 422, response
    problems = {e["source"]["pointer"]: e["meta"]["error"] for e in response.json["errors"]}
    assert problems == {
        "/data/attributes/percentage": "less_than_or_equal_to",  # the resource's rule
        "/data/attributes/name": "too_long",  # the column's
        "/data/attributes/total_usage_limit": "less_than_or_equal_to",
    }
    assert api.get("percentage_discount_promotions").json["meta"]["record_count"] == 0
