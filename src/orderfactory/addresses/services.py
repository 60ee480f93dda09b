"""Address writes. Commerce Layer's presence rules, every problem reported at once.

A change of where an address is (its country, state or zip code) moves what the orders using it owe: their
taxes follow the shipping address's codes and their shipping methods its zone. The orders build on the
addresses (an import of theirs from here would be a circle): their app registers the one function that
prices again the orders using a moved address (``reprices_orders``), run in the address write's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from orderfactory.addresses.models import Address
from orderfactory.catalog.services import required, save
from orderfactory.core.errors import Problem

ALWAYS_REQUIRED = ("line_1", "city", "country_code", "phone")
# The columns taxes and shipping zones match: a change of one prices the orders using the address again.
LOCATION_COLUMNS = ("country_code", "state_code", "zip_code")

OrdersRepricer = Callable[[Address], object]
_repricer: list[OrdersRepricer] = []


def reprices_orders(fn: OrdersRepricer) -> OrdersRepricer:
    """Register the function that prices again the orders using a moved address (once; the orders do it)."""
    if _repricer and _repricer[0] is not fn:
        raise RuntimeError("the orders using an address are priced again by one function")
    _repricer[:] = [fn]
    return fn


def address_problems(address: Address) -> list[Problem]:
    """A business address needs a company, a personal one a first and last name; all need a street, a city,
    a country and a phone number. (The zip code is "required, but for some countries": not enforced.)"""
    names = ("company",) if address.business else ("first_name", "last_name")
    return required(address, *names, *ALWAYS_REQUIRED)


def save_address(address: Address, changes: dict[str, Any]) -> Address:
    """Create (an unsaved ``address``) or update an address with ``changes`` (column -> value); an update
    that moves it prices again the editable orders using it (in the caller's transaction)."""
    moved = not address._state.adding and any(
        column in changes and changes[column] != getattr(address, column) for column in LOCATION_COLUMNS
    )
    saved = save(address, changes, address_problems)
    if moved:
        for reprice in _repricer:
            reprice(saved)
    return saved
