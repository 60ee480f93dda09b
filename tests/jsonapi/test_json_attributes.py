"""JSON attributes (metadata and every object or array) hold only what can be rendered back as sent, on both
databases (#18 items 2 and 6): at most 32 levels deep, at most 64 KiB, numbers below 2^63 in magnitude."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api, document


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


def create(api: Api, metadata: Any) -> Any:
    return api.post(
        "shipping_categories", document("shipping_categories", {"name": "x", "metadata": metadata})
    )


def test_metadata_32_levels_deep_is_stored_and_listed(api: Api) -> None:
    created = create(api, nested(32))
    assert created.status == 201, created
    assert created.data["attributes"]["metadata"] == nested(32)
    listed = api.get("shipping_categories")
    assert listed.status == 200 and listed.data[0]["attributes"]["metadata"] == nested(32)


@pytest.mark.parametrize("levels", [33, 250, 1000])
def test_metadata_nested_deeper_is_a_422_and_lists_stay_readable(api: Api, levels: int) -> None:
    """Metadata 245-250 levels deep was accepted, after which every list page that held the row was a 500
    (the encoder's depth limit); 1,000 levels was a 500 at once."""
    metadata = b'{"a":' * (levels - 1) + b"{}" + b"}" * (levels - 1)  # beyond the encoder's own depth limit
    body = b'{"data": {"type": "shipping_categories", "attributes": {"name": "x", "metadata": %s}}}'
    response = api.post("shipping_categories", None, raw=body % metadata)
    assert response.status == 422, response
    [problem] = response.json["errors"]
    assert problem["code"] == "VALIDATION_ERROR"
    assert problem["source"] == {"pointer": "/data/attributes/metadata"}
    assert problem["meta"] == {"error": "too_deep", "count": 32}
    assert api.get("shipping_categories").json["meta"]["record_count"] == 0


def test_arrays_count_as_levels_and_every_json_attribute_is_bounded(api: Api) -> None:
    deep_list: Any = []
    for _ in range(32):
        deep_list = [deep_list]
    response = create(api, {"a": deep_list})
    assert response.status == 422 and response.json["errors"][0]["meta"]["error"] == "too_deep", response
    model = {"name": "Monthly", "frequencies": ["monthly"], "metadata": {}}
    ok = api.post("subscription_models", document("subscription_models", model))
    assert ok.status == 201, ok
    for frequencies in (["x" * 70_000], [deep_list]):
        response = api.update("subscription_models", ok.data["id"], {"frequencies": frequencies})
        assert response.status == 422, response
        assert response.json["errors"][0]["source"] == {"pointer": "/data/attributes/frequencies"}


def test_metadata_over_64_kib_is_a_422(api: Api) -> None:
    assert create(api, {"a": "x" * (64 * 1024 - 10)}).status == 201
    response = create(api, {"a": "x" * (64 * 1024)})
    assert response.status == 422, response
    assert response.json["errors"][0]["meta"] == {"error": "too_long", "count": 65536}


@pytest.mark.parametrize("number", [b"1e20", b"-1e25", b"1.5e300", b"9223372036854775808", b"-9.3e18"])
def test_a_metadata_number_of_2_to_the_63_or_more_is_a_422_on_both_databases(api: Api, number: bytes) -> None:
    """PostgreSQL's jsonb keeps numbers as exact decimals: 1e20 came back as the integer
    100000000000000000000, which the encoder cannot write (a 500); SQLite gave back the float. Such numbers
    are refused on both (docs/decisions.md)."""
    body = b'{"data": {"type": "shipping_categories", "attributes": {"name": "x", "metadata": {"n": %s}}}}'
    response = api.post("shipping_categories", None, raw=body % number)
    assert response.status == 422, response
    assert response.json["errors"][0]["meta"] == {"error": "number_out_of_range"}
    assert response.json["errors"][0]["source"] == {"pointer": "/data/attributes/metadata"}


@pytest.mark.parametrize("number", [2**63 - 1, -(2**63) + 1, 1e18, -9.2e18, 1.5e-300, 0.1])
def test_metadata_numbers_below_2_to_the_63_come_back_as_sent(api: Api, number: Any) -> None:
    created = create(api, {"n": number, "list": [number]})
    assert created.status == 201, created
    for response in (api.get(f"shipping_categories/{created.data['id']}"), api.get("shipping_categories")):
        data = response.data if isinstance(response.data, dict) else response.data[0]
        assert data["attributes"]["metadata"] == {"n": number, "list": [number]}
