from __future__ import annotations

from typing import Any

from tests.catalog import build
from tests.conftest import Api, document


def problems(response: Any) -> list[tuple[str, str]]:
    assert response.status == 422, response
    return [(e["source"]["pointer"], e["meta"]["error"]) for e in response.json["errors"]]


def test_a_flat_shipping_method_of_a_market_takes_its_currency(api: Api) -> None:
    market = build.market(api, prices=build.price_list(api, "USA", "USD"))
    method = api.create(
        "shipping_methods",
        {"name": "Express", "price_amount_cents": 1500, "free_over_amount_cents": 10000},
        {"market": market},
    )
    attributes = method["attributes"]
    assert (attributes["scheme"], attributes["currency_code"], attributes["use_subtotal"]) == (
        "flat",
        "USD",
        False,
    )
    assert (attributes["price_amount_float"], attributes["formatted_price_amount"]) == (15.0, "$15.00")
    assert attributes["formatted_free_over_amount"] == "$100.00"
    assert (attributes["circuit_state"], attributes["circuit_failure_count"]) == ("closed", 0)
    assert attributes["price_amount_for_shipment_cents"] is None
    assert api.get(f"shipping_methods/{method['id']}/market").data["id"] == market["id"]


def test_a_shipping_method_reports_every_problem_at_once(api: Api) -> None:
    response = api.post("shipping_methods", document("shipping_methods", {"scheme": "flat"}))
    assert problems(response) == [("/data/attributes/name", "blank")]
    response = api.post("shipping_methods", document("shipping_methods", {"name": "Std"}))
    assert problems(response) == [
        ("/data/attributes/currency_code", "blank"),
        ("/data/attributes/price_amount_cents", "blank"),
    ]
    response = api.post(
        "shipping_methods",
        document(
            "shipping_methods", {"name": "Std", "price_amount_cents": 100, "free_over_amount_cents": -1}
        ),
    )
    assert problems(response) == [
        ("/data/attributes/currency_code", "blank"),
        ("/data/attributes/free_over_amount_cents", "greater_than_or_equal_to"),
    ]
    response = api.post(
        "shipping_methods",
        document("shipping_methods", {"name": "Std", "price_amount_cents": 100, "currency_code": "eur"}),
    )
    assert problems(response) == [("/data/attributes/currency_code", "invalid")]


def test_a_shipping_method_is_disabled_enabled_updated_and_deleted(api: Api) -> None:
    method = api.create(
        "shipping_methods",
        {"name": "Std", "price_amount_cents": 500, "currency_code": "EUR", "_disable": True},
    )
    assert method["attributes"]["disabled_at"] is not None
    response = api.update("shipping_methods", method["id"], {"_enable": True, "price_amount_cents": 600})
    assert response.status == 200, response
    assert (
        response.data["attributes"]["disabled_at"],
        response.data["attributes"]["formatted_price_amount"],
    ) == (
        None,
        "€6,00",
    )
    assert api.update("shipping_methods", method["id"], {"_reset_circuit": True}).status == 200
    assert api.delete(f"shipping_methods/{method['id']}").status == 204
    assert api.get(f"shipping_methods/{method['id']}").status == 404


def test_shipping_methods_are_filtered_by_market_code_category_and_stock_location(api: Api) -> None:
    europe, usa = build.market(api, "europe"), build.market(api, "usa")
    category, stock_location = build.shipping_category(api), build.stock_location(api)
    to_europe = api.create("shipping_methods", {"name": "EU", "price_amount_cents": 1}, {"market": europe})
    to_usa = api.create(
        "shipping_methods",
        {"name": "US", "price_amount_cents": 1},
        {"market": usa, "shipping_category": category, "stock_location": stock_location},
    )

    def ids(key: str, value: str) -> list[str]:
        response = api.get("shipping_methods", {f"filter[q][{key}]": value})
        assert response.status == 200, response
        return [m["id"] for m in response.data]

    assert ids("market_code_eq", "europe") == [to_europe["id"]]
    assert ids("shipping_category_name_eq", "Merchandise") == [to_usa["id"]]
    assert ids("stock_location_name_eq", "Milano") == [to_usa["id"]]
    assert ids("name_cont", "U") == [to_europe["id"], to_usa["id"]]
