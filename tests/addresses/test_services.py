from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from orderfactory.addresses.models import Address
from orderfactory.addresses.resources import AddressResource
from orderfactory.addresses.services import save_address
from orderfactory.core import scope as scopes
from tests.refusal import Rendered, refused

VALID = {
    "first_name": "John",
    "last_name": "Smith",
    "line_1": "2883 Geraldine Lane",
    "line_2": "Apt.23",
    "city": "New York",
    "zip_code": "10013",
    "state_code": "NY",
    "country_code": "US",
    "phone": "(212) 646-338-1228",
}


@pytest.fixture
def in_scope(api: Any) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope:
        yield scope


def pointers(excinfo: Rendered) -> list[str]:
    assert {e.status for e in excinfo.value.errors} == {422}
    return [e.pointer for e in excinfo.value.errors]


def test_a_personal_address_reports_every_missing_field_at_once(in_scope: scopes.Scope) -> None:
    with refused() as excinfo:
        save_address(Address(), {"company": "Acme", "line_2": "Apt.23"})
    assert pointers(excinfo) == [
        f"/data/attributes/{name}"
        for name in ("first_name", "last_name", "line_1", "city", "country_code", "phone")
    ]
    assert excinfo.value.errors[0].as_dict()["detail"] == "first_name - can't be blank"
    assert not Address.objects.exists()


def test_a_business_address_needs_a_company_instead_of_names(in_scope: scopes.Scope) -> None:
    business = {**VALID, "business": True, "first_name": None, "last_name": " "}
    with refused() as excinfo:
        save_address(Address(), business)
    assert pointers(excinfo) == ["/data/attributes/company"]

    saved = save_address(Address(), {**business, "company": "The Red Brand Inc."})
    assert Address.objects.get().pk == saved.pk


def test_an_update_that_blanks_a_required_field_changes_nothing(in_scope: scopes.Scope) -> None:
    address = save_address(Address(), VALID)
    with refused() as excinfo:
        save_address(address, {"city": "", "notes": "ring twice"})
    assert pointers(excinfo) == ["/data/attributes/city"]
    assert Address.objects.get().city == "New York"


def test_derived_fields_read_like_commerce_layer(in_scope: scopes.Scope) -> None:
    row = {**dict.fromkeys(a.name for a in Address._meta.fields), **VALID, "business": False}
    compute = {a.name: a.compute for a in AddressResource.all_attributes() if a.compute}
    assert compute["full_name"](row) == "John Smith"
    assert (
        compute["full_address"](row)
        == "2883 Geraldine Lane Apt.23, 10013 New York NY (US) (212) 646-338-1228"
    )
    assert (
        compute["name"](row)
        == "John Smith, 2883 Geraldine Lane Apt.23, 10013 New York NY (US) (212) 646-338-1228"
    )
    assert compute["is_localized"](row) is False
    assert compute["map_url"](row) is None
    located = {**row, "lat": 40.6971494, "lng": -74.2598672}
    assert compute["is_localized"](located) is True
    assert (
        compute["map_url"](located)
        == "https://www.google.com/maps/search/?api=1&query=40.6971494,-74.2598672"
    )
    assert compute["full_name"]({**row, "business": True, "company": "Acme"}) == "Acme"
