"""GET /openapi.json: the document of exactly what is served, generated from the declarations (#18 item 17).
The fuzzing (tests/test_fuzz.py) holds the server to it; this checks what it says."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.test import Client

from orderfactory.jsonapi import registry


@pytest.fixture(scope="module")
def served() -> dict[str, Any]:
    response = Client().get("/openapi.json")  # no token: it describes the API, not anyone's data
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    return orjson.loads(response.content)


def test_every_action_of_every_served_type_is_an_operation(served: dict[str, Any]) -> None:
    assert served["openapi"] == "3.1.0"
    operations = {op["operationId"] for path in served["paths"].values() for op in path.values()}
    for type_name, resource in registry.all_resources().items():
        for action in resource.actions:
            assert f"{action}_{type_name}" in operations, (type_name, action)
        for rel in resource.all_relationships():
            assert (
                f"{type_name}_{rel.name}" in operations
                and f"{type_name}_relationships_{rel.name}" in operations
            )
    assert "post" not in served["paths"]["/api/subscription_runs"]
    assert list(served["paths"]["/api/organization"]) == ["get"]
    assert {"create_token", "jwks", "openapi"} <= operations


def test_attributes_carry_their_types_flags_ranges_lengths_and_enums(served: dict[str, Any]) -> None:
    body = served["paths"]["/api/prices"]["post"]["requestBody"]["content"]["application/vnd.api+json"]
    attributes = body["schema"]["properties"]["data"]["properties"]["attributes"]["properties"]
    assert attributes["amount_cents"] == {
        "type": ["integer", "null"],
        "minimum": -(2**53 - 1),
        "maximum": 2**53 - 1,
        "x-flags": "CUFfs",
    }
    orders = served["components"]["schemas"]["orders"]["properties"]["attributes"]["properties"]
    assert orders["status"]["type"] == ["string", "null"] and orders["placed_at"]["format"] == "date-time"
    update = served["paths"]["/api/orders/{id}"]["patch"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    updatable = update["properties"]["data"]["properties"]["attributes"]["properties"]
    assert updatable["_place"]["type"] == ["boolean", "null"] and "skus_count" not in updatable
    assert updatable["customer_email"]["maxLength"] == 255
    stock = served["paths"]["/api/stock_items"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    assert (
        stock["properties"]["data"]["properties"]["attributes"]["properties"]["quantity"]["maximum"]
        == 2**31 - 1
    )


def test_filters_and_errors_are_described(served: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in served["paths"]["/api/price_lists"]["get"]["parameters"]}
    assert set(parameters) == {"fields", "include", "sort", "page", "filter[q]"}
    keys = parameters["filter[q]"]["schema"]["propertyNames"]["enum"]
    assert {"name_cont", "name_matches", "code_in", "created_at_gteq", "metadata_jcont"} <= set(keys)
    assert "metadata_cont" not in keys and "name_jcont" not in keys
    responses = served["paths"]["/api/price_lists"]["post"]["responses"]
    assert {"201", "400", "401", "413", "415", "422", "503"} <= set(responses)
    assert responses["422"]["content"]["application/vnd.api+json"]["schema"] == {
        "$ref": "#/components/schemas/Errors"
    }


def test_only_get_and_head(db: Any) -> None:
    client = Client()
    head = client.head("/openapi.json")
    assert head.status_code == 200 and int(head["Content-Length"]) > 100_000
    response = client.post("/openapi.json")
    assert (
        response.status_code == 405
        and orjson.loads(response.content)["errors"][0]["code"] == "METHOD_NOT_ALLOWED"
    )
