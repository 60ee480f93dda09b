"""skus.sku_options (Commerce Layer's virtual has_many): the options whose ``sku_code_regex`` finds the SKU's
code, every option without one; through the related endpoint, its linkage and an include, in a constant
number of queries, within the caller's organization and mode."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.catalog import build
from tests.conftest import Api


def option(api: Api, name: str, regex: str | None = None) -> str:
    attributes = {"name": name, "currency_code": "EUR", "price_amount_cents": 100, "sku_code_regex": regex}
    return str(api.create("sku_options", attributes)["id"])


def linked(response: Any) -> dict[str, set[str]]:
    """sku code -> the ids of its sku_options."""
    assert response.status == 200, response
    return {
        sku["attributes"]["code"]: {o["id"] for o in sku["relationships"]["sku_options"]["data"]}
        for sku in response.data
    }


def test_a_skus_options_are_those_whose_expression_finds_its_code(api: Api, other_org: Api) -> None:
    category = build.shipping_category(api)
    tshirt, mug = build.sku(api, "TSHIRT-M", category), build.sku(api, "MUG", category)
    engraving = option(api, "Engraving", "^TSHIRT")
    wrap = option(api, "Gift wrap")  # no expression: every SKU
    handle = option(api, "Handle", "UG$")
    option(api, "Never", "^NOPE")
    option(other_org, "Elsewhere")  # another organization's: never listed here

    r = api.get(f"skus/{tshirt['id']}/sku_options", {"sort": "name"})
    assert r.status == 200, r
    assert [o["attributes"]["name"] for o in r.data] == ["Engraving", "Gift wrap"]
    r = api.get(f"skus/{mug['id']}/relationships/sku_options")
    assert r.status == 200, r
    assert {(d["type"], d["id"]) for d in r.json["data"]} == {("sku_options", wrap), ("sku_options", handle)}
    r = api.get("skus", {"include": "sku_options", "sort": "code"})
    assert linked(r) == {"MUG": {wrap, handle}, "TSHIRT-M": {engraving, wrap}}
    assert {o["id"] for o in r.json["included"]} == {engraving, wrap, handle}


def test_including_the_options_costs_the_same_queries_whatever_the_number_of_skus(api: Api) -> None:
    category = build.shipping_category(api)
    option(api, "Gift wrap")
    option(api, "Engraving", "^A")
    counts, made = {}, 0
    for size in (2, 10):
        for i in range(made, size):
            build.sku(api, f"A{i:03d}", category)
        made = size
        with CaptureQueriesContext(connection) as plain:
            api.get("skus", {"page[size]": "25"})
        with CaptureQueriesContext(connection) as included:
            r = api.get("skus", {"include": "sku_options", "page[size]": "25"})
        assert all(len(ids) == 2 for ids in linked(r).values()), r
        counts[size] = len(included) - len(plain)
    # The SKUs' codes, the options' expressions, the options joined to the SKUs they apply to.
    assert counts == {2: 3, 10: 3}, counts
