"""Catalog rows created through the API, for tests that need a market, SKUs, prices and stock."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

Resource = dict[str, Any]


def address(api: Api) -> Resource:
    return api.create(
        "addresses",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "line_1": "Via Roma 1",
            "city": "Milano",
            "country_code": "IT",
            "phone": "02 1234",
        },
    )


def shipping_category(api: Api, name: str = "Merchandise") -> Resource:
    return api.create("shipping_categories", {"name": name})


def price_list(api: Api, name: str = "Europe", currency_code: str = "EUR") -> Resource:
    return api.create("price_lists", {"name": name, "currency_code": currency_code})


def sku(api: Api, code: str, category: Resource, **attributes: Any) -> Resource:
    return api.create(
        "skus", {"code": code, "name": code.title(), **attributes}, {"shipping_category": category}
    )


def stock_location(api: Api, name: str = "Milano", place: Resource | None = None) -> Resource:
    return api.create("stock_locations", {"name": name}, {"address": place or address(api)})


def inventory_model(api: Api, name: str = "Europe") -> Resource:
    return api.create("inventory_models", {"name": name})


def market(api: Api, code: str = "europe", prices: Resource | None = None, **attributes: Any) -> Resource:
    merchant = api.create("merchants", {"name": "Acme"}, {"address": address(api)})
    return api.create(
        "markets",
        {"name": code.title(), "code": code, **attributes},
        {
            "merchant": merchant,
            "price_list": prices or price_list(api),
            "inventory_model": inventory_model(api),
        },
    )
