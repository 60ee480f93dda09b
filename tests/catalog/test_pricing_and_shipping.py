"""The catalog questions orders ask: a SKU's price in a market, a shipment's shipping methods and their price."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orderfactory.catalog.models import Market, ShippingMethod, Sku
from orderfactory.catalog.services import available_shipping_methods, price_for, shipping_price_cents
from orderfactory.core import clock
from orderfactory.core import scope as scopes
from tests.catalog import build
from tests.conftest import Api


@pytest.fixture
def europe(api: Api) -> dict[str, Any]:
    return build.market(api, "europe")


@pytest.fixture
def in_scope(api: Api) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope:
        yield scope


def test_a_sku_is_priced_by_the_market_price_list(api: Api) -> None:
    europe_list = build.price_list(api)
    europe = build.market(api, "europe", prices=europe_list)
    mug = build.sku(api, "mug", build.shipping_category(api))
    api.create("prices", {"amount_cents": 900}, {"price_list": build.price_list(api, "Other"), "sku": mug})
    with scopes.active(api.scope()):
        market, sku = Market.objects.get(pk=europe["id"]), Sku.objects.get(pk=mug["id"])
        assert price_for(market, sku) is None

    api.create("prices", {"amount_cents": 1000}, {"price_list": europe_list, "sku": mug})
    with scopes.active(api.scope()):
        price = price_for(market, sku)
        assert price is not None and (price.amount_cents, price.currency_code) == (1000, "EUR")


def test_shipping_methods_available_to_a_shipment(api: Api, europe: dict[str, Any]) -> None:
    usa = build.market(api, "usa", prices=build.price_list(api, "USA", "USD"))
    merch, fragile = build.shipping_category(api), build.shipping_category(api, "Fragile")
    milano, roma = build.stock_location(api, "Milano"), build.stock_location(api, "Roma")

    def method(name: str, **relationships: Any) -> str:
        currency = {} if relationships.get("market") else {"currency_code": "EUR"}
        created = api.create(
            "shipping_methods", {"name": name, "price_amount_cents": 500, **currency}, relationships
        )
        return created["id"]

    anywhere = method("Anywhere")
    in_europe = method("Europe", market=europe)
    method("USA", market=usa)
    for_merch = method("Merchandise", shipping_category=merch)
    method("Fragile", shipping_category=fragile)
    from_milano = method("From Milano", stock_location=milano)
    method("From Roma", stock_location=roma)
    disabled = method("Disabled")
    api.update("shipping_methods", disabled, {"_disable": True})
    api.create("shipping_methods", {"name": "Dollars", "price_amount_cents": 1, "currency_code": "USD"})

    with scopes.active(api.scope()):
        market = Market.objects.get(pk=europe["id"])
        found = available_shipping_methods(market, merch["id"], milano["id"])
        assert [m.pk for m in found] == [anywhere, in_europe, for_merch, from_milano]
        assert [m.pk for m in available_shipping_methods(market, None, None)] == [anywhere, in_europe]


def test_a_flat_shipping_price_is_free_over_its_threshold(in_scope: scopes.Scope) -> None:
    method = ShippingMethod(price_amount_cents=700, free_over_amount_cents=5000, created_at=clock.now())
    assert [shipping_price_cents(method, subtotal) for subtotal in (0, 4999, 5000, 9000)] == [700, 700, 0, 0]
    method.free_over_amount_cents = None
    assert shipping_price_cents(method, 10**9) == 700
