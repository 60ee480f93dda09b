"""``GET /oauth/tokeninfo``, as Commerce Layer's dashboard apps call it (app-elements' TokenProvider): the token
as a bearer token, an answer whose ``token``, ``permissions``, ``accessible_apps`` and ``role`` they read, and a
JSON 401 ``INVALID_TOKEN`` for any token that is not good."""

from __future__ import annotations

import time
from typing import Any

import jwt
import orjson
import pytest
from django.test import Client

from orderfactory.auth import keys, services, tokens
from orderfactory.auth.models import Application
from orderfactory.jsonapi import registry
from tests.auth.test_token_endpoint import make_market

pytestmark = pytest.mark.django_db


def tokeninfo(token: str | None, method: str = "GET", **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client().generic(method, "/oauth/tokeninfo", headers=headers)


def token_for(app: Application, scope: str | None = None) -> str:
    return tokens.issue_token(app, scope)["access_token"]


def test_an_integration_token_is_described(integration) -> None:
    app, _ = integration
    r = tokeninfo(token_for(app))
    assert r.status_code == 200 and r["Content-Type"] == "application/json", r.content
    info = r.json()
    assert set(info) == {"token", "role", "application", "permissions", "accessible_apps"}
    assert info["token"]["test"] is True
    assert info["token"]["market_ids"] == [] and info["token"]["stock_location_ids"] == []
    assert 0 < info["token"]["lifespan"] <= 14400
    assert info["role"] == {"id": "admin", "kind": "admin", "name": "Admin"}
    assert info["application"] == {"id": app.id, "kind": "integration", "name": "ERP sync", "core": False}
    assert info["accessible_apps"] == []  # not a dashboard app's token
    assert "owner" not in info  # no user owns a client-credentials token


def test_permissions_are_what_the_resources_allow(integration) -> None:
    app, _ = integration
    permissions = tokeninfo(token_for(app)).json()["permissions"]
    assert permissions["order_subscriptions"] == {"actions": ["create", "destroy", "read", "update"]}
    assert permissions["order_factories"] == {"actions": ["read"]}  # list and retrieve only
    assert permissions["events"] == {"actions": ["read", "update"]}
    served = {t for t, resource in registry.all_resources().items() if not resource.singleton}
    assert set(permissions) == served


def test_a_dashboard_kind_token_carries_its_kind(db) -> None:
    app, _ = services.create_application(name="Subscriptions", kind="subscriptions", mode="live")
    token = token_for(app)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["application"]["kind"] == "subscriptions"  # what the app compares with its own kind
    assert claims["application"]["public"] is False and claims["test"] is False
    info = tokeninfo(token).json()
    assert info["token"]["test"] is False
    assert info["application"]["kind"] == "subscriptions"
    assert info["accessible_apps"] == [{"name": "Subscriptions", "kind": "subscriptions", "core": True}]
    assert info["role"]["kind"] == "admin"
    assert info["permissions"]["order_subscriptions"]["actions"] == ["create", "destroy", "read", "update"]


def test_a_market_scoped_token_names_its_markets(db) -> None:
    app, _ = services.create_application(name="Orders", kind="orders", mode="test", organization_slug="acme")
    market = make_market(app, "eu")
    info = tokeninfo(token_for(app, "market:code:eu")).json()
    assert info["token"]["market_ids"] == [market.pk]


def test_a_sales_channel_may_read_what_its_resources_open_to_it(db) -> None:
    app, _ = services.create_application(name="Shop", kind="sales_channel", mode="test")
    make_market(app, "eu")
    info = tokeninfo(token_for(app, "market:code:eu")).json()
    assert info["role"] is None
    assert info["permissions"]["skus"] == {"actions": ["read"]}
    assert "webhooks" not in info["permissions"]  # nothing a sales channel may do there


def _expired(app: Application) -> str:
    claims = jwt.decode(token_for(app), options={"verify_signature": False})
    claims["exp"] = int(time.time()) - 10
    return jwt.encode(claims, keys.signing_key(), algorithm="RS512", headers={"kid": keys.kid()})


@pytest.mark.parametrize("case", ["none", "empty", "basic", "garbage", "expired", "revoked", "deleted"])
def test_a_token_that_is_not_good_is_a_json_401_invalid_token(integration, case: str) -> None:
    app, _ = integration
    headers = {
        "none": {},
        "empty": {"Authorization": "Bearer "},
        "basic": {"Authorization": f"Basic {token_for(app)}"},
        "garbage": {"Authorization": "Bearer not.a.jwt"},
        "expired": {"Authorization": f"Bearer {_expired(app)}"},
    }.get(case, {"Authorization": f"Bearer {token_for(app)}"})
    if case == "revoked":
        services.revoke_application(app.client_id)
    elif case == "deleted":
        Application.objects.filter(pk=app.pk).delete()
    r = tokeninfo(None, **headers)
    assert r.status_code == 401, r.content
    assert r["Content-Type"].startswith("application/vnd.api+json")
    body = orjson.loads(r.content)
    assert [(e["code"], e["status"], e["title"]) for e in body["errors"]] == [
        ("INVALID_TOKEN", "401", "Invalid token")
    ]
    assert "token" not in body  # what the apps check to call a token valid


def test_only_get_is_allowed(integration) -> None:
    app, _ = integration
    r = tokeninfo(token_for(app), method="POST")
    assert r.status_code == 405 and r["Allow"] == "GET, HEAD"
    assert orjson.loads(r.content)["errors"][0]["code"] == "METHOD_NOT_ALLOWED"


def test_tokeninfo_is_rate_limited_as_an_api_read(integration) -> None:
    app, _ = integration
    r = tokeninfo(token_for(app))
    assert r.status_code == 200 and int(r["X-Ratelimit-Remaining"]) < int(r["X-Ratelimit-Limit"])
