from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orderfactory.addresses.models import Address
from orderfactory.catalog.models import Merchant, PriceList, ShippingCategory
from orderfactory.catalog.services import save_merchant, save_price_list, save_shipping_category
from orderfactory.core import scope as scopes
from tests.refusal import Rendered, refused


@pytest.fixture
def in_scope(api: Any) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope:
        yield scope


def errors_of(excinfo: Rendered) -> list[tuple[str | None, str]]:
    """(pointer, meta error) of each problem reported."""
    assert {e.status for e in excinfo.value.errors} == {422}
    assert {e.code for e in excinfo.value.errors} == {"VALIDATION_ERROR"}
    return [(e.pointer, (e.meta or {})["error"]) for e in excinfo.value.errors]


def test_a_merchant_needs_a_name_and_an_address(in_scope: scopes.Scope) -> None:
    with refused() as excinfo:
        save_merchant(Merchant(), {})
    assert errors_of(excinfo) == [
        ("/data/attributes/name", "blank"),
        ("/data/relationships/address", "blank"),
    ]

    address = Address.objects.create(line_1="Via Roma 1", city="Milano", country_code="IT", phone="02 1234")
    merchant = save_merchant(Merchant(), {"name": "Acme Italia", "address_id": address.pk})
    assert Merchant.objects.get().address_id == merchant.address_id == address.pk


@pytest.mark.parametrize("currency_code", ["eur", "EURO", "E1R", "€"])
def test_a_price_list_currency_is_three_capital_letters(in_scope: scopes.Scope, currency_code: str) -> None:
    with refused() as excinfo:
        save_price_list(PriceList(), {"name": "EU", "currency_code": currency_code})
    assert errors_of(excinfo) == [("/data/attributes/currency_code", "invalid")]
    assert not PriceList.objects.exists()


def test_a_price_list_reports_every_problem_at_once(in_scope: scopes.Scope) -> None:
    with refused() as excinfo:
        save_price_list(PriceList(), {"name": "", "currency_code": None})
    assert errors_of(excinfo) == [
        ("/data/attributes/name", "blank"),
        ("/data/attributes/currency_code", "blank"),
    ]


def test_a_price_list_code_is_unique_within_the_environment(in_scope: scopes.Scope, live_api: Any) -> None:
    first = save_price_list(PriceList(), {"name": "EU", "currency_code": "EUR", "code": "europe1"})
    assert first.tax_included is True
    with refused() as excinfo:
        save_price_list(PriceList(), {"name": "EU 2", "currency_code": "EUR", "code": "europe1"})
    assert errors_of(excinfo) == [("/data/attributes/code", "taken")]
    assert excinfo.value.errors[0].meta == {"error": "taken", "value": "europe1"}

    save_price_list(first, {"name": "Europe"})  # its own code does not count
    save_price_list(PriceList(), {"name": "US", "currency_code": "USD"})  # nor does having no code
    with scopes.active(live_api.scope()):
        save_price_list(PriceList(), {"name": "EU", "currency_code": "EUR", "code": "europe1"})
    assert PriceList.objects.count() == 2


def test_a_shipping_category_needs_a_name_and_a_free_code(in_scope: scopes.Scope) -> None:
    save_shipping_category(ShippingCategory(), {"name": "Merchandise", "code": "merch"})
    with refused() as excinfo:
        save_shipping_category(ShippingCategory(), {"code": "merch"})
    assert errors_of(excinfo) == [("/data/attributes/name", "blank"), ("/data/attributes/code", "taken")]
