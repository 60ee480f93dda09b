"""CORS for browser apps on another origin (ORDERFACTORY_CORS_ORIGINS): preflights answered before
authentication, the origin echoed to the origins allowed only, never ``*`` nor credentials unless configured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from orderfactory import config
from orderfactory.auth import services

APP = "https://apps.example.com"


@pytest.fixture
def cors(settings: Any) -> None:
    settings.ORDERFACTORY = {
        **settings.ORDERFACTORY,
        "CORS_ORIGINS": frozenset({APP, "http://localhost:5173"}),
    }


def preflight(path: str, origin: str, method: str = "GET", headers: str = "authorization") -> Any:
    return Client().options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": headers,
        },
    )


@pytest.mark.parametrize("path", ["/api/order_subscriptions", "/oauth/token", "/oauth/tokeninfo"])
def test_a_preflight_from_an_allowed_origin_is_answered_before_authentication(cors, path) -> None:
    r = preflight(path, APP, "PATCH", "authorization,content-type,x-cl-sdk")
    assert r.status_code == 204 and r.content == b""
    assert r["Access-Control-Allow-Origin"] == APP
    assert set(r["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST", "PATCH", "DELETE"}
    allowed = {h.lower() for h in r["Access-Control-Allow-Headers"].split(", ")}
    assert {"authorization", "content-type", "accept", "x-cl-sdk"} <= allowed
    assert r["Vary"] == "Origin"
    assert "Access-Control-Allow-Credentials" not in r


def test_a_preflight_from_another_origin_allows_nothing(cors) -> None:
    r = preflight("/api/order_subscriptions", "https://evil.example.com")
    assert r.status_code == 204
    assert not any(h.startswith("Access-Control-Allow") for h in r.headers)


def test_responses_to_an_allowed_origin_are_readable_by_it_only(cors, api) -> None:
    r = api.get("order_subscriptions", headers={"Origin": APP})
    assert r.status == 200
    assert r.headers["Access-Control-Allow-Origin"] == APP
    assert "X-Ratelimit-Remaining" in r.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in r.headers
    other = api.get("order_subscriptions", headers={"Origin": "https://evil.example.com"})
    assert other.status == 200 and "Access-Control-Allow-Origin" not in other.headers
    assert other.headers["Vary"] == "Origin"
    # an error too: the app must read the INVALID_TOKEN that tells it to get a new token
    r = Client().get("/api/order_subscriptions", headers={"Origin": APP, "Authorization": "Bearer x"})
    assert r.status_code == 401 and r["Access-Control-Allow-Origin"] == APP


def test_the_token_endpoints_answer_an_allowed_origin(cors, db) -> None:
    app, secret = services.create_application(name="Subscriptions", kind="subscriptions", mode="test")
    body = {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": secret}
    r = Client().post(
        "/oauth/token", json.dumps(body), content_type="application/json", headers={"Origin": APP}
    )
    assert r.status_code == 200 and r["Access-Control-Allow-Origin"] == APP
    token = r.json()["access_token"]
    r = Client().get("/oauth/tokeninfo", headers={"Origin": APP, "Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r["Access-Control-Allow-Origin"] == APP


def test_no_origin_is_allowed_by_default(api) -> None:
    r = api.get("order_subscriptions", headers={"Origin": APP})
    assert r.status == 200 and "Access-Control-Allow-Origin" not in r.headers
    # nor is a preflight answered: it is a request like any other, without a token
    r = preflight("/api/order_subscriptions", APP)
    assert r.status_code == 401 and "Access-Control-Allow-Origin" not in r


def test_a_configured_wildcard_allows_any_origin_without_credentials(settings, api) -> None:
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "CORS_ORIGINS": frozenset({"*"})}
    r = api.get("order_subscriptions", headers={"Origin": "https://anywhere.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in r.headers


@pytest.mark.parametrize(
    "value,origins",
    [
        (None, set()),
        ("", set()),
        (
            "https://Apps.Example.com/, http://localhost:5173",
            {"https://apps.example.com", "http://localhost:5173"},
        ),
        ("*", {"*"}),
    ],
)
def test_the_origins_setting(monkeypatch, value, origins) -> None:
    if value is None:
        monkeypatch.delenv("ORDERFACTORY_CORS_ORIGINS", raising=False)
    else:
        monkeypatch.setenv("ORDERFACTORY_CORS_ORIGINS", value)
    assert config.cors_origins() == origins


@pytest.mark.parametrize(
    "value", ["apps.example.com", "ftp://x.example", "https://x.example/path", "https://"]
)
def test_a_value_that_is_no_origin_stops_the_start_up(monkeypatch, value) -> None:
    monkeypatch.setenv("ORDERFACTORY_CORS_ORIGINS", value)
    with pytest.raises(config.ConfigError, match="ORDERFACTORY_CORS_ORIGINS"):
        config.cors_origins()
