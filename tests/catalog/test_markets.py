from __future__ import annotations

import datetime as dt
from typing import Any

from orderfactory.catalog.models import Market
from orderfactory.core import clock, scope
from tests.catalog import build
from tests.conftest import Api, document


def problems(response: Any) -> list[tuple[str, str]]:
    assert response.status == 422, response
    return [(e["source"]["pointer"], e["meta"]["error"]) for e in response.json["errors"]]


def test_a_market_needs_a_name_a_merchant_a_price_list_and_an_inventory_model(api: Api) -> None:
    assert problems(api.post("markets", document("markets", {"code": "europe"}))) == [
        ("/data/attributes/name", "blank"),
        ("/data/relationships/merchant", "blank"),
        ("/data/relationships/price_list", "blank"),
        ("/data/relationships/inventory_model", "blank"),
    ]
    market = build.market(api)
    assert problems(api.update("markets", market["id"], relationships={"price_list": None})) == [
        ("/data/relationships/price_list", "blank")
    ]


def test_markets_are_numbered_and_get_a_shared_secret(api: Api) -> None:
    europe, usa = build.market(api, "europe"), build.market(api, "usa")
    assert (europe["attributes"]["number"], usa["attributes"]["number"]) == (1, 2)
    secret = europe["attributes"]["shared_secret"]
    assert len(secret) == 32 and secret != usa["attributes"]["shared_secret"]
    response = api.update("markets", europe["id"], {"_regenerate_shared_secret": True})
    assert response.status == 200, response
    assert response.data["attributes"]["shared_secret"] not in (secret, None)
    assert response.data["attributes"]["number"] == 1


def test_a_market_code_is_unique_within_the_environment(api: Api) -> None:
    build.market(api, "europe")
    merchant = api.create("merchants", {"name": "Acme"}, {"address": build.address(api)})
    response = api.post(
        "markets",
        document(
            "markets",
            {"name": "Europe 2", "code": "europe"},
            {
                "merchant": merchant,
                "price_list": build.price_list(api),
                "inventory_model": build.inventory_model(api),
            },
        ),
    )
    assert problems(response) == [("/data/attributes/code", "taken")]


def test_a_market_is_disabled_and_enabled(api: Api) -> None:
    market = build.market(api)
    at = dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    with clock.frozen(at) as advance:
        disabled = api.update("markets", market["id"], {"_disable": True})
        advance(dt.timedelta(hours=1))
        again = api.update("markets", market["id"], {"_disable": True})
    assert (
        disabled.data["attributes"]["disabled_at"]
        == again.data["attributes"]["disabled_at"]
        == ("2030-01-02T03:04:05.000Z")
    )
    assert api.get("markets", {"filter[q][disabled_at_null]": "true"}).data == []
    assert api.update("markets", market["id"], {"_enable": True}).data["attributes"]["disabled_at"] is None
    assert problems(api.update("markets", market["id"], {"_enable": True, "_disable": True})) == [
        ("/data/attributes/_enable", "invalid")
    ]


def test_a_market_links_its_price_list_and_default_shipping_method(api: Api) -> None:
    prices = build.price_list(api)
    market = build.market(api, prices=prices)
    method = api.create(
        "shipping_methods", {"name": "Standard", "price_amount_cents": 700}, {"market": market}
    )
    response = api.update("markets", market["id"], relationships={"default_shipping_method": method})
    assert response.status == 200, response

    response = api.get(
        f"markets/{market['id']}", {"include": "price_list,base_price_list,default_shipping_method,merchant"}
    )
    relationships = response.data["relationships"]
    assert (
        relationships["price_list"]["data"]
        == relationships["base_price_list"]["data"]
        == {
            "type": "price_lists",
            "id": prices["id"],
        }
    )
    assert relationships["default_shipping_method"]["data"] == {
        "type": "shipping_methods",
        "id": method["id"],
    }
    assert {o["type"] for o in response.json["included"]} == {"price_lists", "shipping_methods", "merchants"}
    found = api.get("markets", {"filter[q][price_list_name_eq]": "Europe"}).data
    assert [m["id"] for m in found] == [market["id"]]


def test_a_market_is_updated_and_deleted(api: Api) -> None:
    market = build.market(api)
    response = api.update("markets", market["id"], {"name": "Europa", "shipping_cost_cutoff": 2})
    assert (response.data["attributes"]["name"], response.data["attributes"]["shipping_cost_cutoff"]) == (
        "Europa",
        2,
    )
    assert api.delete(f"markets/{market['id']}").status == 204
    with scope.active(api.scope()):
        assert not Market.objects.exists()
