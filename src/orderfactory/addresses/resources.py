"""The addresses resource."""

from __future__ import annotations

from typing import Any

from orderfactory.addresses import services
from orderfactory.addresses.models import Address
from orderfactory.catalog.resources import ServiceResource
from orderfactory.jsonapi import registry
from orderfactory.jsonapi.resource import Boolean, Float, String
from orderfactory.tags.resources import tagged

NAME_COLUMNS = ("business", "company", "first_name", "last_name")
LOCATION_COLUMNS = ("line_1", "line_2", "zip_code", "city", "state_code", "country_code", "phone")


def _join(*parts: Any, sep: str = " ") -> str:
    return sep.join(str(p) for p in parts if p not in (None, ""))


def full_name(row: dict[str, Any]) -> str:
    if row["business"]:
        return row["company"] or ""
    return _join(row["first_name"], row["last_name"])


def full_address(row: dict[str, Any]) -> str:
    """Like Commerce Layer's: "2883 Geraldine Lane Apt.23, 10013 New York NY (US) (212) 646-338-1228"."""
    country = f"({row['country_code']})" if row["country_code"] else None
    locality = _join(row["zip_code"], row["city"], row["state_code"], country, row["phone"])
    return _join(_join(row["line_1"], row["line_2"]), locality, sep=", ")


def is_localized(row: dict[str, Any]) -> bool:
    return row["lat"] is not None and row["lng"] is not None


def map_url(row: dict[str, Any]) -> str | None:
    if not is_localized(row):
        return None
    return f"https://www.google.com/maps/search/?api=1&query={row['lat']},{row['lng']}"


def never(row: dict[str, Any]) -> None:
    """We serve no geocoders, so nothing is geocoded and no provider or static map (an API key) exists."""
    return None


@registry.register
@tagged
class AddressResource(ServiceResource):
    type = "addresses"
    model = Address
    has_events = True
    save = staticmethod(services.save_address)
    attributes = (
        Boolean("business", "CUFf", nullable=False),
        String("first_name", "CUFf"),
        String("last_name", "CUFf"),
        String("company", "CUFf"),
        String("full_name", "F", compute=full_name, depends=NAME_COLUMNS),
        String("line_1", "CUFf", required=True),
        String("line_2", "CUFf"),
        String("city", "CUFfs", required=True),
        String("zip_code", "CUFf"),
        String("state_code", "CUFfs"),
        String("country_code", "CUFfs", required=True),
        String("phone", "CUFf", required=True),
        String("full_address", "F", compute=full_address, depends=LOCATION_COLUMNS),
        String(
            "name",
            "F",
            compute=lambda row: _join(full_name(row), full_address(row), sep=", "),
            depends=NAME_COLUMNS + LOCATION_COLUMNS,
        ),
        String("email", "CUFf"),
        String("notes", "CUFf"),
        Float("lat", "CUFf"),
        Float("lng", "CUFf"),
        Boolean("is_localized", "F", compute=is_localized, depends=("lat", "lng")),
        Boolean("is_geocoded", "F", compute=lambda row: False),
        String("provider_name", "F", compute=never),
        String("map_url", "F", compute=map_url, depends=("lat", "lng")),
        String("static_map_url", "F", compute=never),
        String("billing_info", "CUFf"),
    )
