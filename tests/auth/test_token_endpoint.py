"""POST /oauth/token and GET /.well-known/jwks.json, driven over HTTP as js-auth and OAuth clients do."""

from __future__ import annotations

import json
import time
from typing import Any

import jwt
import pytest
from django.apps import apps
from django.test import Client

from orderfactory.auth import services
from orderfactory.auth.models import Application

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.auth.urls")]

TTL = 14400


@pytest.fixture(autouse=True)
def _ttl(settings) -> None:
    settings.ORDERFACTORY = {
        **settings.ORDERFACTORY,
        "TOKEN_TTL_SECONDS": TTL,
        "AUTH_DOMAIN": "localhost:8443",
    }


def post_json(client: Client, body: Any, **extra: Any):
    return client.post("/oauth/token", data=json.dumps(body), content_type="application/json", **extra)


def credentials(app: Application, secret: str | None, **more: str) -> dict[str, str]:
    body = {"grant_type": "client_credentials", "client_id": app.client_id, **more}
    if secret is not None:
        body["client_secret"] = secret
    return body


def decode_with_jwks(client: Client, access_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify as a third party would: with the key published at /.well-known/jwks.json, picked by kid."""
    document = client.get("/.well-known/jwks.json").json()
    header = jwt.get_unverified_header(access_token)
    (jwk,) = [k for k in document["keys"] if k["kid"] == header["kid"]]
    key = jwt.PyJWK(jwk)
    claims = jwt.decode(access_token, key, algorithms=["RS512"], issuer="https://auth.localhost:8443")
    return header, claims


def error_of(response) -> dict[str, Any]:
    body = response.json()
    assert list(body) == ["errors"]
    (error,) = body["errors"]
    return error


# --- success --------------------------------------------------------------------------------------------


def test_json_request_returns_the_oauth_token_response(client: Client, integration) -> None:
    app, secret = integration
    before = int(time.time())

    response = post_json(client, credentials(app, secret))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "created_at"}
    assert isinstance(body["access_token"], str)
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == TTL and type(body["expires_in"]) is int
    assert body["scope"] == "market:all"
    assert type(body["created_at"]) is int and before <= body["created_at"] <= int(time.time())


def test_form_encoded_request_is_accepted(client: Client, integration) -> None:
    app, secret = integration

    response = client.post("/oauth/token", data=credentials(app, secret, scope="market:all"))

    assert response.status_code == 200
    assert response.json()["scope"] == "market:all"


def test_token_claims_verify_with_the_published_jwks(client: Client, integration) -> None:
    app, secret = integration

    body = post_json(client, credentials(app, secret)).json()
    header, claims = decode_with_jwks(client, body["access_token"])

    assert header["alg"] == "RS512"
    rand = claims.pop("rand")
    assert isinstance(rand, float)
    assert claims == {
        "organization": {
            "id": app.organization.id,
            "slug": "demo",
            "enterprise": False,
            "region": "eu-west-1",
        },
        "application": {
            "id": app.id,
            "kind": "integration",
            "public": False,
            "client_id": app.client_id,
            "confidential": True,
        },
        "scope": "market:all",
        "test": True,
        "iat": body["created_at"],
        "exp": body["created_at"] + TTL,
        "iss": "https://auth.localhost:8443",
    }


def test_live_application_gets_a_live_token(client: Client, live_integration) -> None:
    app, secret = live_integration

    body = post_json(client, credentials(app, secret)).json()

    assert decode_with_jwks(client, body["access_token"])[1]["test"] is False


def test_jwks_document_holds_only_public_members(client: Client) -> None:
    response = client.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    (key,) = response.json()["keys"]
    assert set(key) == {"kty", "n", "e", "kid", "alg", "use"}
    assert (key["kty"], key["alg"], key["use"]) == ("RSA", "RS512", "sig")


def test_sales_channel_authenticates_with_client_id_alone(client: Client, sales_channel) -> None:
    app, _ = sales_channel
    market = make_market(app, "europe")

    body = post_json(client, credentials(app, None, scope="market:code:europe")).json()

    claims = decode_with_jwks(client, body["access_token"])[1]
    assert body["scope"] == "market:code:europe"
    assert claims["application"]["public"] is True and claims["application"]["confidential"] is False
    assert claims["market"] == {
        "id": [market.id],
        "stock_location_ids": [],
        "geocoder_id": None,
        "allows_external_prices": False,
    }


def test_several_market_scopes_resolve_to_their_ids(client: Client, integration) -> None:
    app, secret = integration
    europe, usa = make_market(app, "europe"), make_market(app, "usa")

    body = post_json(client, credentials(app, secret, scope=f"market:code:europe market:id:{usa.id}")).json()

    assert body["scope"] == f"market:code:europe market:id:{usa.id}"
    assert set(decode_with_jwks(client, body["access_token"])[1]["market"]["id"]) == {europe.id, usa.id}


def test_market_of_the_other_mode_is_an_invalid_scope(client: Client, integration, live_integration) -> None:
    app, secret = integration
    make_market(live_integration[0], "europe")  # same organization, live mode

    response = post_json(client, credentials(app, secret, scope="market:code:europe"))

    assert response.status_code == 400
    assert error_of(response)["code"] == "INVALID_SCOPE"


# --- failures -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["wrong secret", "unknown client", "missing secret"])
def test_bad_credentials_are_401_unauthorized(client: Client, integration, who: str) -> None:
    app, secret = integration
    body = {
        "wrong secret": credentials(app, secret + "x"),
        "unknown client": {**credentials(app, secret), "client_id": "nobody"},
        "missing secret": credentials(app, None),
    }[who]

    response = post_json(client, body)

    assert response.status_code == 401
    error = error_of(response)
    assert (error["code"], error["title"], error["status"]) == ("UNAUTHORIZED", "Access denied", "401")
    assert error["detail"]


def test_sales_channel_with_a_wrong_secret_is_refused(client: Client, sales_channel) -> None:
    app, secret = sales_channel

    response = post_json(client, credentials(app, secret + "x", scope="market:code:europe"))

    assert response.status_code == 401


def test_revoked_application_gets_no_token(client: Client, integration) -> None:
    app, secret = integration
    services.revoke_application(app.client_id)

    response = post_json(client, credentials(app, secret))

    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("grant_type", ["password", "refresh_token", "authorization_code"])
def test_other_grant_types_are_unsupported(client: Client, integration, grant_type: str) -> None:
    app, secret = integration

    response = post_json(client, {**credentials(app, secret), "grant_type": grant_type})

    assert response.status_code == 400
    assert error_of(response)["code"] == "UNSUPPORTED_GRANT_TYPE"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "BAD_REQUEST"),
        ("[1, 2]", "BAD_REQUEST"),
        ('{"grant_type": "client_credentials", "client_id": 42}', "BAD_REQUEST"),
        ('{"client_id": "x", "client_secret": "y"}', "PARAM_MISSING"),
        ('{"grant_type": "client_credentials"}', "PARAM_MISSING"),
    ],
)
def test_malformed_body_is_400(client: Client, body: str, code: str) -> None:
    response = client.post("/oauth/token", data=body, content_type="application/json")

    assert response.status_code == 400
    assert error_of(response)["code"] == code


def test_only_post_is_allowed(client: Client) -> None:
    response = client.get("/oauth/token")

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert error_of(response)["code"] == "METHOD_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("kind", "scope"),
    [
        ("integration", "stock_location:id:abc"),
        ("integration", "market:all market:code:europe"),
        ("integration", "market:code:"),
        ("integration", "market:code:nowhere"),
        ("sales_channel", None),
        ("sales_channel", "market:all"),
    ],
)
def test_invalid_scopes_are_400_invalid_scope(client: Client, db, kind: str, scope: str | None) -> None:
    app, secret = services.create_application(name="app", kind=kind, mode="test")
    body = credentials(app, secret) if scope is None else credentials(app, secret, scope=scope)

    response = post_json(client, body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "INVALID_SCOPE"
    assert error["source"] == {"parameter": "scope"}


def test_token_endpoint_allows_30_requests_a_minute_per_ip(client: Client, integration) -> None:
    app, secret = integration
    wrong = credentials(app, "guess")

    statuses = [post_json(client, wrong).status_code for _ in range(30)]
    response = post_json(client, credentials(app, secret))

    assert statuses == [401] * 30  # failed guesses use up the budget too
    assert response.status_code == 429
    assert error_of(response)["code"] == "TOO_MANY_REQUESTS"
    assert response["X-Ratelimit-Limit"] == "30"
    assert response["X-Ratelimit-Interval"] == "60"
    assert response["X-Ratelimit-Remaining"] == "0"
    other_ip = post_json(client, credentials(app, secret), REMOTE_ADDR="10.0.0.2")
    assert other_ip.status_code == 200
    assert other_ip["X-Ratelimit-Remaining"] == "29"


# --- helpers --------------------------------------------------------------------------------------------


def make_market(app: Application, code: str):
    try:
        market_model = apps.get_model("catalog", "Market")
    except LookupError:
        pytest.skip("the catalog app (markets) is not installed")
    return market_model._base_manager.create(
        organization_id=app.organization_id, mode=app.mode, code=code, name=code.title()
    )
