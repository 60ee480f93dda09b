from __future__ import annotations

from typing import Any

import pytest

from orderfactory.catalog.models import Price
from orderfactory.core import scope
from tests.catalog import build
from tests.conftest import Api, document


@pytest.fixture
def category(api: Api) -> dict[str, Any]:
    return build.shipping_category(api)


@pytest.fixture
def mug(api: Api, category: dict[str, Any]) -> dict[str, Any]:
    return build.sku(api, "mug", category)


@pytest.fixture
def europe(api: Api) -> dict[str, Any]:
    return build.price_list(api)


def problems(response: Any) -> list[tuple[str, str]]:
    assert response.status == 422, response
    return [(e["source"]["pointer"], e["meta"]["error"]) for e in response.json["errors"]]


def test_a_price_takes_the_currency_of_its_price_list(
    api: Api, mug: dict[str, Any], europe: dict[str, Any]
) -> None:
    price = api.create(
        "prices",
        {"amount_cents": 123456, "compare_at_amount_cents": 150000},
        {"price_list": europe, "sku": mug},
    )
    assert {
        k: v for k, v in price["attributes"].items() if "amount" in k or k in ("currency_code", "sku_code")
    } == {
        "currency_code": "EUR",
        "sku_code": "mug",
        "amount_cents": 123456,
        "amount_float": 1234.56,
        "formatted_amount": "€1.234,56",
        "original_amount_cents": 123456,
        "formatted_original_amount": "€1.234,56",
        "compare_at_amount_cents": 150000,
        "compare_at_amount_float": 1500.0,
        "formatted_compare_at_amount": "€1.500,00",
    }
    assert api.get(f"prices/{price['id']}/sku").data["id"] == mug["id"]
    assert api.get(f"price_lists/{europe['id']}/prices").data[0]["id"] == price["id"]


def test_a_price_names_its_sku_by_code(api: Api, mug: dict[str, Any], europe: dict[str, Any]) -> None:
    price = api.create("prices", {"amount_cents": 1000, "sku_code": "mug"}, {"price_list": europe})
    assert api.get(f"prices/{price['id']}", {"include": "sku"}).json["included"][0]["id"] == mug["id"]


def test_an_unknown_sku_code_is_reported_with_every_other_problem(
    api: Api, mug: dict[str, Any], europe: dict[str, Any]
) -> None:
    response = api.post(
        "prices", document("prices", {"amount_cents": -1, "sku_code": "cup"}, {"price_list": europe})
    )
    assert problems(response) == [
        ("/data/attributes/sku_code", "invalid"),
        ("/data/attributes/amount_cents", "greater_than_or_equal_to"),
        ("/data/relationships/sku", "blank"),
    ]


def test_a_price_needs_an_amount_a_price_list_and_a_sku(api: Api) -> None:
    response = api.post("prices", document("prices", {}))
    assert problems(response) == [
        ("/data/attributes/amount_cents", "blank"),
        ("/data/relationships/price_list", "blank"),
        ("/data/relationships/sku", "blank"),
    ]


def test_a_sku_has_one_price_per_price_list(api: Api, mug: dict[str, Any], europe: dict[str, Any]) -> None:
    api.create("prices", {"amount_cents": 1000}, {"price_list": europe, "sku": mug})
    response = api.post(
        "prices", document("prices", {"amount_cents": 900, "sku_code": "mug"}, {"price_list": europe})
    )
    assert problems(response) == [("/data/relationships/sku", "taken")]
    api.create(
        "prices", {"amount_cents": 1100}, {"price_list": build.price_list(api, "USA", "USD"), "sku": mug}
    )


def test_a_price_is_updated_and_deleted(api: Api, mug: dict[str, Any], europe: dict[str, Any]) -> None:
    price = api.create("prices", {"amount_cents": 1000}, {"price_list": europe, "sku": mug})
    usa = build.price_list(api, "USA", "USD")
    response = api.update("prices", price["id"], {"amount_cents": 1299}, {"price_list": usa})
    assert response.status == 200, response
    assert (
        response.data["attributes"]["currency_code"],
        response.data["attributes"]["formatted_amount"],
    ) == (
        "USD",
        "$12.99",
    )
    assert api.update("prices", price["id"], {"amount_cents": None}).status == 422
    assert api.delete(f"prices/{price['id']}").status == 204
    with scope.active(api.scope()):
        assert not Price.objects.exists()


def test_a_price_list_changing_currency_changes_its_prices(
    api: Api, mug: dict[str, Any], europe: dict[str, Any]
) -> None:
    price = api.create("prices", {"amount_cents": 1000}, {"price_list": europe, "sku": mug})
    assert api.update("price_lists", europe["id"], {"currency_code": "GBP"}).status == 200
    assert api.get(f"prices/{price['id']}").data["attributes"]["formatted_amount"] == "£10.00"


def test_prices_are_filtered_by_sku_code_and_price_list_name(
    api: Api, category: dict[str, Any], mug: dict[str, Any], europe: dict[str, Any]
) -> None:
    cup = build.sku(api, "cup", category)
    usa = build.price_list(api, "USA", "USD")
    mug_eur = api.create("prices", {"amount_cents": 1000}, {"price_list": europe, "sku": mug})
    mug_usd = api.create("prices", {"amount_cents": 1100}, {"price_list": usa, "sku": mug})
    cup_eur = api.create("prices", {"amount_cents": 500}, {"price_list": europe, "sku": cup})

    def ids(**filters: str) -> list[str]:
        response = api.get(
            "prices", {f"filter[q][{k}]": v for k, v in filters.items()} | {"sort": "amount_cents"}
        )
        assert response.status == 200, response
        return [p["id"] for p in response.data]

    assert ids(sku_code_eq="mug") == [mug_eur["id"], mug_usd["id"]]
    assert ids(price_list_name_eq="Europe") == [cup_eur["id"], mug_eur["id"]]
    assert ids(sku_code_eq="mug", price_list_name_eq="USA") == [mug_usd["id"]]
    assert ids(amount_cents_gteq="1000", sku_code_in="mug,cup") == [mug_eur["id"], mug_usd["id"]]


def test_prices_of_another_environment_cannot_be_linked(api: Api, live_api: Api, mug: dict[str, Any]) -> None:
    live_list = build.price_list(live_api)
    response = api.post(
        "prices", document("prices", {"amount_cents": 1, "sku_code": "mug"}, {"price_list": live_list})
    )
    assert response.status == 404, response
    response = live_api.post(
        "prices", document("prices", {"amount_cents": 1, "sku_code": "mug"}, {"price_list": live_list})
    )
    assert problems(response) == [
        ("/data/attributes/sku_code", "invalid"),
        ("/data/relationships/sku", "blank"),
    ]
