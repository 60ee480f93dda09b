"""Applications of the kinds of Commerce Layer's dashboard apps (``orderfactory apps create --kind
subscriptions``): their tokens carry the kind the app checks, act as an integration's do (docs/auth.md), and
see nothing of another organization or mode."""

from __future__ import annotations

import json

import jwt
import pytest
from django.test import Client

from orderfactory import cli
from orderfactory.auth import kinds
from tests.jsonapi.conftest import ADDRESS

pytestmark = pytest.mark.django_db


def test_apps_create_makes_an_application_of_a_dashboard_kind(capsys) -> None:
    code = cli.main(
        [
            "apps",
            "create",
            "--name",
            "Subscriptions app",
            "--kind",
            "subscriptions",
            "--mode",
            "test",
            "--json",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    info = json.loads(out)
    assert info["kind"] == "subscriptions"
    body = {
        "grant_type": "client_credentials",
        "client_id": info["client_id"],
        "client_secret": info["client_secret"],
    }
    r = Client().post("/oauth/token", json.dumps(body), content_type="application/json")
    assert r.status_code == 200, r.content
    claims = jwt.decode(r.json()["access_token"], options={"verify_signature": False})
    assert claims["application"]["kind"] == "subscriptions"
    assert r.json()["scope"] == "market:all"
    # a dashboard app is a confidential client: no token without its secret
    del body["client_secret"]
    assert Client().post("/oauth/token", json.dumps(body), content_type="application/json").status_code == 401


def test_the_kinds_are_the_dashboard_apps(capsys) -> None:
    assert set(kinds.DASHBOARD_APPS) == {
        "bundles", "customers", "exports", "gift_cards", "imports", "inventory", "orders", "price_lists",
        "promotions", "returns", "shipments", "sku_lists", "skus", "stock_transfers", "subscriptions", "tags",
        "webhooks", "generic",
    }  # fmt: skip
    with pytest.raises(SystemExit):
        cli.main(["apps", "create", "--name", "x", "--kind", "dashboard", "--mode", "test"])
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["subscriptions", "orders", "generic"])
def test_a_dashboard_kind_acts_as_an_integration_in_its_organization_and_mode(make_api, kind) -> None:
    app = make_api(kind=kind)
    address = app.create("addresses", ADDRESS)
    assert app.update("addresses", address["id"], {"city": "Rome"}).status == 200
    assert app.get("order_subscriptions").status == 200
    assert app.get("webhooks").status == 200  # nothing a sales channel could reach
    for other in (make_api(organization="globex", kind=kind), make_api(mode="live", kind=kind)):
        assert other.get(f"addresses/{address['id']}").status == 404
        assert other.update("addresses", address["id"], {"city": "Oslo"}).status == 404
        assert other.delete(f"addresses/{address['id']}").status == 404
        assert other.get("addresses").json["meta"]["record_count"] == 0
        assert other.get("addresses", {"filter[q][id_eq]": address["id"]}).data == []
    assert app.get(f"addresses/{address['id']}").data["attributes"]["city"] == "Rome"
