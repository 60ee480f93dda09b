"""Every integer attribute has one range, the same on SQLite and PostgreSQL: a value outside it is a 422 with
its pointer (400 in a filter), and nothing but what was sent is ever stored (#18 item 1).

On PostgreSQL, Django hands psycopg an integer column's value as ``Int4``, whose dumper kept the low 32 bits:
``amount_cents: 4294967196`` was stored as -100 and ``quantity: 4294967301`` as 5."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.db import DataError, connection, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from orderfactory.inventory.models import StockItem
from orderfactory.jsonapi import registry
from orderfactory.jsonapi import resource as r
from tests.catalog import build
from tests.conftest import Api

INT32 = (-(2**31), 2**31 - 1)
AMOUNT = (-(2**53 - 1), 2**53 - 1)


@pytest.fixture
def rows(api: Api) -> dict[str, dict[str, Any]]:
    category = build.shipping_category(api)
    prices = build.price_list(api)
    sku = build.sku(api, "mug", category)
    location = build.stock_location(api)
    market = build.market(api, prices=prices)
    model = api.create("inventory_models", {"name": "Other"})
    return {
        "prices": api.create("prices", {"amount_cents": 100}, {"price_list": prices, "sku": sku}),
        "stock_items": api.create("stock_items", {"quantity": 1}, {"sku": sku, "stock_location": location}),
        "shipping_methods": api.create(
            "shipping_methods", {"name": "EU", "price_amount_cents": 1}, {"market": market}
        ),
        "inventory_stock_locations": api.create(
            "inventory_stock_locations",
            {"priority": 1},
            {"stock_location": location, "inventory_model": model},
        ),
        "inventory_models": model,
        "skus": sku,
        "markets": market,
        "subscription_models": api.create(
            "subscription_models", {"name": "Monthly", "frequencies": ["monthly"]}
        ),
    }


# (type, attribute, its range): the attributes the fuzzing found wrapping, and one created with a value too big
NAMED = [
    ("prices", "amount_cents", AMOUNT),
    ("stock_items", "quantity", INT32),
    ("shipping_methods", "price_amount_cents", AMOUNT),
    ("inventory_stock_locations", "priority", INT32),
    ("inventory_models", "stock_locations_cutoff", INT32),
    ("skus", "pieces_per_pack", INT32),
    ("markets", "shipping_cost_cutoff", INT32),
    ("subscription_models", "payment_retry_attempts", INT32),
]


@pytest.mark.parametrize("type_name,attribute,bounds", NAMED)
def test_a_value_beyond_the_range_is_a_422_and_changes_nothing(api, rows, type_name, attribute, bounds):
    row = rows[type_name]
    before = api.get(f"{type_name}/{row['id']}").data["attributes"][attribute]
    beyond = [
        (bounds[1] + 1, "less_than_or_equal_to", bounds[1]),
        (bounds[0] - 1, "greater_than_or_equal_to", bounds[0]),
        (2**63 - 1, "less_than_or_equal_to", bounds[1]),
    ]
    if bounds[1] < 2**32:
        beyond.append((2**32 + 5, "less_than_or_equal_to", bounds[1]))
    for value, error, count in beyond:
        response = api.update(type_name, row["id"], {attribute: value})
        assert response.status == 422, (value, response)
        [problem] = response.json["errors"]
        assert problem["code"] == "VALIDATION_ERROR"
        assert problem["source"] == {"pointer": f"/data/attributes/{attribute}"}
        if value == bounds[1] + 1:
            assert problem["meta"] == {"error": error, "count": count, "value": value}
        else:  # the resource's own narrower rule may say it instead (e.g. no negative quantity)
            assert problem["meta"]["error"].startswith(error.split("_or_")[0]), problem
        assert api.get(f"{type_name}/{row['id']}").data["attributes"][attribute] == before


def test_a_number_beyond_64_bits_is_a_422_too(api, rows):
    """orjson reads an integer beyond 64 bits as a float; the range error then leaves out ``meta.value``,
    which the encoder could not write."""
    price = rows["prices"]
    raw = b'{"data": {"type": "prices", "id": "%s", "attributes": {"amount_cents": 100000000000000000000}}}'
    response = api.patch(f"prices/{price['id']}", None, raw=raw % price["id"].encode())
    assert response.status == 422, response
    assert response.json["errors"][0]["meta"] == {"error": "less_than_or_equal_to", "count": 2**53 - 1}


@pytest.mark.parametrize("type_name,attribute,bounds", NAMED)
def test_the_ends_of_the_range_are_stored_as_sent(api, rows, type_name, attribute, bounds):
    row = rows[type_name]
    for value in (bounds[1], 2**32 - 100 if bounds[1] > 2**32 else bounds[0]):
        response = api.update(type_name, row["id"], {attribute: value})
        if response.status == 422:  # a rule of the resource narrower than the column (e.g. no negative price)
            assert response.json["errors"][0]["source"]["pointer"] == f"/data/attributes/{attribute}"
            continue
        assert response.status == 200, (value, response)
        assert api.get(f"{type_name}/{row['id']}").data["attributes"][attribute] == value


def test_a_create_beyond_the_range_is_a_422_with_every_problem(api):
    body = {
        "name": "Weekly",
        "frequencies": ["weekly"],
        "payment_retry_attempts": 2**31,
        "stock_retry_attempts": -(2**31) - 1,
    }
    response = api.post("subscription_models", {"data": {"type": "subscription_models", "attributes": body}})
    assert response.status == 422, response
    assert {e["source"]["pointer"] for e in response.json["errors"]} == {
        "/data/attributes/payment_retry_attempts",
        "/data/attributes/stock_retry_attempts",
    }
    assert api.get("subscription_models").json["meta"]["record_count"] == 0


def test_a_price_in_the_billions_is_stored_as_sent(api, rows):
    """Amounts are 64-bit columns: 2^32 - 100 cents is a price like any other (it was -100 on PostgreSQL)."""
    price = rows["prices"]
    assert api.update("prices", price["id"], {"amount_cents": 4294967196}).status == 200
    assert api.get(f"prices/{price['id']}").data["attributes"]["amount_cents"] == 4294967196
    assert api.get("prices", {"filter[q][amount_cents_eq]": "4294967196"}).json["meta"]["record_count"] == 1


@pytest.mark.parametrize(
    "predicate", ["eq", "not_eq", "lt", "gteq", "in", "not_in", "eq_any", "not_in_or_null"]
)
def test_an_integer_filter_beyond_the_range_is_a_400(api, rows, predicate):
    """quantity_in=4294967301 found the stock items holding 5 on PostgreSQL (and was a 500 with client-side
    binding): a value no row can hold is refused, as a value that is no integer is."""
    api.update("stock_items", rows["stock_items"]["id"], {"quantity": 5})
    for value in ("4294967301", "2147483648", "-2147483649", "9223372036854775808"):
        response = api.get("stock_items", {f"filter[q][quantity_{predicate}]": value})
        assert response.status == 400, (value, response)
        assert response.error_codes == ["INVALID_FILTER_VALUE"]
    assert api.get("stock_items", {f"filter[q][quantity_{predicate}]": "2147483647"}).status == 200


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite columns have no width")
def test_postgresql_refuses_an_integer_its_column_cannot_hold(api, rows):
    """The cause, below the API: Django's Int4 kept the low bits of a value that did not fit."""
    item = StockItem.unscoped.get(pk=rows["stock_items"]["id"])
    with pytest.raises(DataError), transaction.atomic():
        StockItem.unscoped.filter(pk=item.pk).update(quantity=2**32 + 5)
    with pytest.raises(DataError), transaction.atomic():
        list(StockItem.unscoped.filter(quantity__in=[2**32 + 1]))
    assert StockItem.unscoped.get(pk=item.pk).quantity == item.quantity


def _served_integers() -> list[tuple[str, r.Integer]]:
    return [
        (resource.type, attr)
        for resource in registry.all_resources().values()
        for attr in resource.all_attributes()
        if isinstance(attr, r.Integer) and (attr.creatable or attr.updatable or attr.filterable)
    ]


def test_every_served_integer_range_fits_its_column_and_json():
    """The range of each writable or filterable integer attribute is within what its column holds on
    PostgreSQL (SQLite holds 64 bits) and what a JSON client reads exactly."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    served = _served_integers()
    assert len(served) > 30
    for type_name, attr in served:
        resource = registry.get(type_name)
        assert resource is not None
        assert -(2**53 - 1) <= attr.minimum <= attr.maximum <= 2**53 - 1, (type_name, attr.name)
        if attr.column and attr.expression is None and not attr.trigger:
            field = resource.model._meta.get_field(attr.column)
            low, high = BaseDatabaseOperations.integer_field_ranges[field.get_internal_type()]
            assert low <= attr.minimum and attr.maximum <= high, (type_name, attr.name)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_served_integer_attribute_parses_exactly_its_range(data):
    type_name, attr = data.draw(st.sampled_from(_served_integers()), label="attribute")
    edge = st.sampled_from(
        [attr.minimum, attr.maximum, attr.minimum - 1, attr.maximum + 1, 2**32 - 100, 2**64]
    )
    value = data.draw(
        st.one_of(edge, st.integers(), st.floats(allow_nan=False, allow_infinity=False).map(round))
    )
    pointer = f"/data/attributes/{attr.name}"
    parsed = attr.parse(value, pointer)
    assert parsed == value
    problem = attr.beyond_column(parsed, pointer)
    if attr.minimum <= value <= attr.maximum:
        assert problem is None
        return
    assert problem is not None
    assert (problem.status, problem.code, problem.pointer) == (422, "VALIDATION_ERROR", pointer)
    orjson.dumps(problem.as_dict())  # renderable, whatever the value
