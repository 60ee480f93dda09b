"""Address writes. Commerce Layer's presence rules, every problem reported at once."""

from __future__ import annotations

from typing import Any

from orderfactory.addresses.models import Address
from orderfactory.catalog.services import required, save
from orderfactory.core.errors import Problem

ALWAYS_REQUIRED = ("line_1", "city", "country_code", "phone")


def address_problems(address: Address) -> list[Problem]:
    """A business address needs a company, a personal one a first and last name; all need a street, a city,
    a country and a phone number. (The zip code is "required, but for some countries": not enforced.)"""
    names = ("company",) if address.business else ("first_name", "last_name")
    return required(address, *names, *ALWAYS_REQUIRED)


def save_address(address: Address, changes: dict[str, Any]) -> Address:
    """Create (an unsaved ``address``) or update an address with ``changes`` (column -> value)."""
    return save(address, changes, address_problems)
