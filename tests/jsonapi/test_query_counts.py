"""The SQL an endpoint costs, pinned: it must not grow with the page size, and each include path level costs
one query. A change here is a change in the cost of every request, so it needs a reason.

Counts are taken inside the test transaction, where ``transaction.atomic`` issues SAVEPOINT / RELEASE
SAVEPOINT: those are counted (2 per atomic block), and in production they are BEGIN / COMMIT instead.
"""

from __future__ import annotations

import pytest
from django.db import connection

from orderfactory.addresses.models import Address
from orderfactory.auth import tokens
from orderfactory.core import scope
from orderfactory.inventory.models import InventoryModel, InventoryStockLocation, StockLocation
from tests.conftest import document


@pytest.fixture
def warm(api, monkeypatch):
    """Token verification's revocation cache loaded, and kept for the whole test however slow it runs."""
    monkeypatch.setattr(tokens._revoked, "refresh_seconds", 3600)
    tokens.reset_revocation_cache()
    assert api.get("organization").status == 200


def links(api, count):
    """``count`` inventory_stock_locations of one model, each with its own stock location and address
    (written with the ORM: only their reads are measured here)."""
    with scope.active(api.scope()):
        model = InventoryModel.objects.create(name="Europe")
        for i in range(1, count + 1):
            address = Address.objects.create(
                line_1="1 Main St", city=f"City {i}", country_code="IT", phone="1"
            )
            location = StockLocation.objects.create(name=f"WH {i}", number=i, address=address)
            InventoryStockLocation.objects.create(priority=i, stock_location=location, inventory_model=model)
    return model


@pytest.mark.parametrize("count", [2, 25])
def test_a_list_page_with_an_include_costs_the_same_whatever_its_size(
    api, warm, django_assert_num_queries, count
):
    links(api, count)
    # COUNT(*) for meta; the page of rows; the stock locations of the whole page (one IN query)
    with django_assert_num_queries(3):
        r = api.get("inventory_stock_locations", {"include": "stock_location", "page[size]": "25"})
    assert len(r.data) == count and len(r.json["included"]) == count


@pytest.mark.parametrize("count", [2, 25])
def test_filters_and_sparse_fields_add_no_query(api, warm, django_assert_num_queries, count):
    model = links(api, count)
    params = {
        "filter[q][stock_location_address_city_start]": "city",  # a join, inside the page's own queries
        "filter[q][inventory_model_id_eq]": model.id,
        "fields[inventory_stock_locations]": "priority,stock_location",
        "include": "stock_location",
        "page[size]": "25",
    }
    # on PostgreSQL a substring filter's list first sets its plans to be made for its values (filters.py)
    with django_assert_num_queries(3 + (connection.vendor == "postgresql")):
        r = api.get("inventory_stock_locations", params)
    assert r.json["meta"]["record_count"] == count
    # a to-many association filter is a subquery of the same two statements
    with django_assert_num_queries(2):
        r = api.get("inventory_models", {"filter[q][inventory_stock_locations_priority_gteq]": "1"})
    assert r.json["meta"]["record_count"] == 1


def test_each_include_path_level_costs_one_query(api, warm, django_assert_num_queries):
    model = links(api, 3)
    path = f"inventory_models/{model.id}"
    # the row; then one query per level: inventory_stock_locations, their stock_location, their address
    for include, queries in [
        (None, 1),
        ("inventory_stock_locations", 2),
        ("inventory_stock_locations.stock_location", 3),
        ("inventory_stock_locations.stock_location.address", 4),
    ]:
        with django_assert_num_queries(queries):
            r = api.get(path, {"include": include} if include else None)
        assert r.status == 200, r
    assert len(r.json["included"]) == 9


def test_sibling_includes_cost_one_query_each(api, warm, django_assert_num_queries):
    links(api, 5)
    # count, page, stock locations, inventory model (shared by the five rows: fetched once)
    with django_assert_num_queries(4):
        r = api.get("inventory_stock_locations", {"include": "stock_location,inventory_model"})
    assert sum(1 for o in r.json["included"] if o["type"] == "inventory_models") == 1


@pytest.mark.parametrize("count", [2, 25])
def test_relationship_endpoint_list(api, warm, django_assert_num_queries, count):
    model = links(api, count)
    # the parent row (scoped: a parent of another tenant is a 404); COUNT(*); the page; its stock locations
    with django_assert_num_queries(4):
        r = api.get(
            f"inventory_models/{model.id}/inventory_stock_locations",
            {"include": "stock_location", "page[size]": "25"},
        )
    assert r.json["meta"]["record_count"] == count
    # linkage only: the parent row, then the ids
    with django_assert_num_queries(2):
        r = api.get(f"inventory_models/{model.id}/relationships/inventory_stock_locations")
    assert len(r.data) == count


def test_to_one_relationship_endpoint(api, warm, django_assert_num_queries):
    model = links(api, 1)
    link = InventoryStockLocation.unscoped.get(inventory_model_id=model.id)
    # the parent row; its foreign key; the target's existence (scoped); the target rendered
    with django_assert_num_queries(4):
        r = api.get(f"inventory_stock_locations/{link.id}/stock_location")
    assert r.data["id"] == link.stock_location_id


# The events hooks (events.services.record_change) run in every write's transaction: an event_stores row,
# an events row, and the webhooks subscribed to the topic. They are counted here as "events: 3".


def test_create(api, warm, django_assert_num_queries):
    body = document("shipping_categories", {"name": "Default"})
    # 2 view's transaction + 2 service's transaction + INSERT + events: 3 + the row rendered
    with django_assert_num_queries(9):
        r = api.post("shipping_categories", body)
    assert r.status == 201, r
    body = document("shipping_categories", {"name": "Heavy", "code": "HEAVY"})
    # ... + the uniqueness check of the code
    with django_assert_num_queries(10):
        assert api.post("shipping_categories", body).status == 201


def test_create_with_relationships(api, warm, django_assert_num_queries):
    model = links(api, 1)
    with scope.active(api.scope()):
        address = Address.objects.create(line_1="2 Main St", city="Oslo", country_code="NO", phone="1")
        location = StockLocation.objects.create(name="Oslo WH", number=99, address=address)
    body = document(
        "inventory_stock_locations",
        {"priority": 2},
        {
            "stock_location": ("stock_locations", location.id),
            "inventory_model": ("inventory_models", model.id),
        },
    )
    # 2 view's transaction + each relationship target loaded (scoped): 2 + 2 service's transaction
    # + the "one priority per location and model" check + INSERT + events: 3 + the row rendered
    with django_assert_num_queries(12):
        r = api.post("inventory_stock_locations", body)
    assert r.status == 201, r


def test_update(api, warm, django_assert_num_queries):
    created = api.create("shipping_categories", {"name": "Default"})
    # 2 view's transaction + the row locked (SELECT ... FOR UPDATE on PostgreSQL) + 2 service's
    # transaction + UPDATE + events: 3 + the row rendered
    with django_assert_num_queries(10):
        r = api.update("shipping_categories", created["id"], {"name": "Heavy"})
    assert r.status == 200, r


def test_token_verification_reads_only_the_cached_revocations(api, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(tokens._revoked, "refresh_seconds", 3600)
    tokens.reset_revocation_cache()
    # cold: the revoked application ids, then the singleton's row
    with django_assert_num_queries(2) as captured:
        assert api.get("organization").status == 200
    assert "revoked_at" in captured.captured_queries[0]["sql"]
    # warm: the signed claims are the whole scope, no query for the token
    for _ in range(3):
        with django_assert_num_queries(1):
            assert api.get("organization").status == 200
