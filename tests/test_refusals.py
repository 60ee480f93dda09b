"""What the server refuses before or around the API's own parsing is a JSON:API error too, with the right
status, on both databases (#18 items 3 and 5): bodies too large, too many parameters, NUL characters
anywhere, unknown routes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.conf import settings
from django.test import Client

from orderfactory.jsonapi import body
from tests.conftest import JSONAPI, Api, document


def refused(response: Any, status: int, code: str | None = None) -> list[dict[str, Any]]:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"] in (JSONAPI, "application/json"), response["Content-Type"]
    errors = orjson.loads(response.content)["errors"]
    assert errors and all(e["status"] == str(status) for e in errors)
    if code is not None:
        assert errors[0]["code"] == code, errors
    return errors


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def test_one_body_limit(api: Api) -> None:
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == body.MAX_BODY


@pytest.mark.parametrize("size", [2 * 1024 * 1024 + 10, 3 * 1024 * 1024])
def test_a_body_too_large_is_413_on_every_endpoint(api: Api, client: Client, size: int) -> None:
    """Bodies over Django's limit (2.5 MB then) escaped as a 500 from the API and an HTML 400 from the token
    endpoint."""
    raw = b'{"data": {"type": "price_lists", "attributes": {"name": "' + b"x" * size + b'"}}}'
    headers = {"Authorization": f"Bearer {api.token}", "Accept": JSONAPI}
    refused(
        client.post("/api/price_lists", raw, content_type=JSONAPI, headers=headers), 413, "PAYLOAD_TOO_LARGE"
    )
    rid = api.create("price_lists", {"name": "a", "currency_code": "EUR"})["id"]
    response = client.generic("PATCH", f"/api/price_lists/{rid}", raw, content_type=JSONAPI, headers=headers)
    refused(response, 413, "PAYLOAD_TOO_LARGE")
    response = client.post(
        "/api/price_lists", raw, content_type=JSONAPI, headers={**headers, "Idempotency-Key": "k1"}
    )
    refused(response, 413, "PAYLOAD_TOO_LARGE")
    refused(client.post("/oauth/token", raw, content_type="application/json"), 413, "PAYLOAD_TOO_LARGE")
    form = b"grant_type=client_credentials&client_id=" + b"x" * size
    response = client.post("/oauth/token", form, content_type="application/x-www-form-urlencoded")
    refused(response, 413, "PAYLOAD_TOO_LARGE")


def test_too_many_form_fields_or_parameters_is_a_json_400(api: Api, client: Client) -> None:
    """More than 1,000 form fields on the token endpoint was an HTML 400; as many query parameters on the API
    were a 500."""
    form = "&".join(f"f{i}=1" for i in range(1001)).encode()
    response = client.post("/oauth/token", form, content_type="application/x-www-form-urlencoded")
    refused(response, 400, "BAD_REQUEST")
    query = "&".join(f"f{i}=1" for i in range(1001))
    response = client.get(f"/api/price_lists?{query}", headers={"Authorization": f"Bearer {api.token}"})
    refused(response, 400, "BAD_REQUEST")


def test_unknown_routes_are_json_404s(client: Client) -> None:
    for path in ("/nope", "/oauth/token/x", "/a%00b"):
        refused(client.get(path), 404, "RECORD_NOT_FOUND")


# --- NUL characters -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["client_id", "scope", "client_secret", "grant_type"])
@pytest.mark.parametrize("form", [False, True])
def test_nul_in_a_token_request_is_a_json_400(api: Api, client: Client, field: str, form: bool) -> None:
    """A NUL in client_id or scope was an unauthenticated HTML 500 on PostgreSQL."""
    params = {"grant_type": "client_credentials", "client_id": api.app.client_id, "client_secret": "s"}
    params[field] = params.get(field, "market:all") + "\x00"
    if form:
        from urllib.parse import urlencode

        response = client.post(
            "/oauth/token", urlencode(params), content_type="application/x-www-form-urlencoded"
        )
    else:
        response = client.post("/oauth/token", orjson.dumps(params), content_type="application/json")
    [error] = refused(response, 400)
    assert error["source"] == {"parameter": field}


def test_nul_in_any_text_of_an_api_request_is_a_4xx(api: Api, client: Client) -> None:
    rid = api.create("price_lists", {"name": "a", "currency_code": "EUR"})["id"]
    sku_body = document(
        "skus", {"code": "x", "name": "x"}, {"shipping_category": ("shipping_categories", "ab\x00c")}
    )
    cases: list[tuple[str, str, Any, dict[str, str], int]] = [
        ("POST", "price_lists", document("price_lists", {"name": "a\x00", "currency_code": "EUR"}), {}, 400),
        ("POST", "price_lists", document("price_lists", {"name": "a", "currency_code": "EU\x00"}), {}, 400),
        ("POST", "price_lists", document("price_lists", {"na\x00me": "a"}), {}, 400),
        ("POST", "price_lists", {"data": {"type": "price_lists\x00", "attributes": {}}}, {}, 400),
        ("POST", "price_lists", document("price_lists", {"name": "a", "metadata": {"k\x00": 1}}), {}, 400),
        ("POST", "skus", sku_body, {}, 404),
        ("PATCH", f"price_lists/{rid}", document("price_lists", {"name": "b"}, rid=rid + "\x00"), {}, 400),
        ("GET", "price_lists?filter[q][name_eq]=a%00", None, {}, 400),
        ("GET", "price_lists?filter[q][name%00_eq]=a", None, {}, 400),
        ("GET", "price_lists?include=prices%00", None, {}, 400),
        ("GET", "price_lists?sort=name%00", None, {}, 400),
        ("GET", "price_lists?page[size]=1%00", None, {}, 400),
        ("GET", f"price_lists/{rid}%00", None, {}, 404),
        ("GET", f"price_lists/{rid}/prices%00", None, {}, 404),
        ("GET", "price_lists", None, {"Authorization": f"Bearer {api.token}\x00"}, 401),
        ("GET", "price_lists", None, {"Accept": "application/vnd.api+json\x00"}, 406),
        ("POST", "price_lists", document("price_lists", {"name": "a"}), {"Idempotency-Key": "a\x00b"}, 400),
        (
            "POST",
            "price_lists",
            document("price_lists", {"name": "a"}),
            {"Content-Type": "application/json\x00"},
            415,
        ),
    ]
    for method, path, payload, headers, status in cases:
        hdrs = {"Authorization": f"Bearer {api.token}", "Accept": JSONAPI, **headers}
        content_type = hdrs.pop("Content-Type", JSONAPI)
        response = client.generic(
            method,
            f"/api/{path}",
            orjson.dumps(payload) if payload is not None else b"",
            content_type=content_type,
            headers=hdrs,
        )
        refused(response, status)
    assert api.get("price_lists").json["meta"]["record_count"] == 1
