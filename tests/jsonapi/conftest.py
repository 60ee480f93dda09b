from __future__ import annotations

from typing import Any

import pytest

ADDRESS = {
    "business": True,
    "company": "Acme Warehouse",
    "line_1": "1 Main St",
    "city": "Milan",
    "country_code": "IT",
    "zip_code": "20100",
    "phone": "+39 02 000000",
}


@pytest.fixture
def graph(api: Any) -> dict[str, Any]:
    """An inventory model with three stock locations (each with an address) linked by priority."""
    model = api.create("inventory_models", {"name": "Europe", "strategy": "no_split"})
    locations, links = [], []
    for i, name in enumerate(["Milan", "Berlin", "Paris"], start=1):
        address = api.create("addresses", {**ADDRESS, "city": name})
        location = api.create(
            "stock_locations", {"name": f"{name} WH", "code": name.lower()}, {"address": address}
        )
        link = api.create(
            "inventory_stock_locations",
            {"priority": i},
            {"stock_location": location, "inventory_model": model},
        )
        locations.append(location)
        links.append(link)
    return {"model": model, "locations": locations, "links": links}
