"""The response cache of cacheable resources, and the counts of big lists: served while nothing of the caller's organization and mode was
written since, whoever wrote it and however."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orderfactory import cache
from orderfactory.addresses.models import Address
from orderfactory.catalog.models import PriceList, ShippingCategory
from orderfactory.core import scope
from orderfactory.core.models import CacheVersion
from orderfactory.inventory.models import InventoryModel, InventoryStockLocation, StockLocation


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _list(api, **params):
    return api.get("price_lists", {"sort": "name", **params})


def test_a_repeated_read_is_served_from_the_cache_with_one_query(api):
    api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    first = _list(api)
    with CaptureQueriesContext(connection) as queries:
        second = _list(api)
    assert second.status == 200 and second.body == first.body
    assert len(queries) == 1 and "core_cacheversion" in queries[0]["sql"]


def test_an_api_write_invalidates(api):
    created = api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    assert _list(api).data[0]["attributes"]["name"] == "Euro"
    api.update("price_lists", created["id"], {"name": "Euro (new)"})
    assert _list(api).data[0]["attributes"]["name"] == "Euro (new)"
    assert api.get(f"price_lists/{created['id']}").data["attributes"]["name"] == "Euro (new)"


def test_any_write_of_the_scope_invalidates_even_a_bulk_update(api):
    api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    _list(api)
    with scope.active(api.scope()):
        PriceList.objects.update(name="Bulk")  # no model save, no hook: the execute wrapper sees it
    assert _list(api).data[0]["attributes"]["name"] == "Bulk"


def test_other_tenants_writes_do_not_invalidate(api, other_org, live_api):
    api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    _list(api)
    other_org.create("price_lists", {"name": "Theirs", "currency_code": "USD"})
    live_api.create("price_lists", {"name": "Live", "currency_code": "USD"})
    with CaptureQueriesContext(connection) as queries:
        r = _list(api)
    assert len(queries) == 1 and [d["attributes"]["name"] for d in r.data] == ["Euro"]


def test_keys_are_the_url_and_the_caller(api, other_org):
    api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    api.create("price_lists", {"name": "Dollar", "currency_code": "USD"})
    assert [d["attributes"]["name"] for d in _list(api).data] == ["Dollar", "Euro"]
    assert [d["attributes"]["name"] for d in _list(api, **{"filter[q][name_eq]": "Euro"}).data] == ["Euro"]
    assert other_org.get("price_lists").data == []


def test_uncacheable_resources_are_not_cached(api):
    api.create("shipping_categories", {"name": "Default"})
    api.get("shipping_categories")
    with CaptureQueriesContext(connection) as queries:
        api.get("shipping_categories")
    assert len(queries) > 1


def test_disabled(api, settings):
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "RESPONSE_CACHE": False}
    api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    _list(api)
    with CaptureQueriesContext(connection) as queries:
        _list(api)
    assert len(queries) > 1


@pytest.mark.django_db(transaction=True)
def test_a_commit_bumps_the_shared_version_that_other_processes_read(make_api):
    api = make_api()
    api.create("price_lists", {"name": "Euro", "currency_code": "EUR"})
    key = (api.organization.id, "test")
    before = CacheVersion.objects.get(organization_id=key[0], mode="test").version
    first = _list(api)
    # Another process sees only the database: forget this process's own generation, then write and commit.
    with scope.active(api.scope()):
        PriceList.objects.update(name="Elsewhere")
    cache._local_generation.clear()
    assert CacheVersion.objects.get(organization_id=key[0], mode="test").version > before
    second = _list(api)
    assert second.body != first.body and second.data[0]["attributes"]["name"] == "Elsewhere"


@pytest.mark.django_db(transaction=True)
def test_a_transaction_bumps_the_shared_version_once_and_a_rolled_back_one_not_at_all(make_api):
    api = make_api()

    def version() -> int:
        row = CacheVersion.objects.filter(organization_id=api.organization.id, mode="test").first()
        return row.version if row else 0

    with scope.active(api.scope()):
        start = version()
        with transaction.atomic():
            for name in ("A", "B", "C"):
                PriceList.objects.create(name=name, currency_code="EUR")
        assert version() == start + 1
        with pytest.raises(RuntimeError), transaction.atomic():
            PriceList.objects.create(name="D", currency_code="EUR")
            raise RuntimeError("undo")
        assert version() == start + 1
        # The rolled-back bump is not remembered as done: the next transaction bumps again.
        with transaction.atomic():
            PriceList.objects.create(name="E", currency_code="EUR")
        assert version() == start + 2


# --- counts: meta.record_count of lists that counted at least COUNT_CACHED_FROM rows -------------------------


@pytest.fixture
def counted_from_three(monkeypatch):
    """Counts of three rows or more are kept (a thousand in production: docs/decisions.md, "Scale")."""
    monkeypatch.setattr(cache, "COUNT_CACHED_FROM", 3)


def _categories(api, names):
    return [api.create("shipping_categories", {"name": name}) for name in names]


def _count(api, path="shipping_categories", **params):
    r = api.get(path, params)
    assert r.status == 200, r
    return r.json["meta"]["record_count"]


def _counts(queries):
    return [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"]]


def test_a_big_lists_count_is_not_counted_again_while_nothing_is_written(api, django_assert_num_queries):
    rows = 1000  # cache.COUNT_CACHED_FROM
    with scope.active(api.scope()):
        ShippingCategory.objects.bulk_create([ShippingCategory(name=f"c{i}") for i in range(rows)])
    # counted up to the bound and found at it; the version row; counted in full; the page
    with django_assert_num_queries(4) as first:
        assert _count(api) == rows
    assert len(_counts(first)) == 2
    # the version row; the page
    with django_assert_num_queries(2) as second:
        assert _count(api) == rows
    assert not _counts(second) and "core_cacheversion" in second.captured_queries[0]["sql"]
    # a list below the bound is counted each time, up to the bound: one query, and no version row
    with django_assert_num_queries(2) as small:
        assert _count(api, **{"filter[q][name_eq]": "c1"}) == 1
    assert len(_counts(small)) == 1 and "core_cacheversion" not in small.captured_queries[0]["sql"]


def test_a_kept_count_is_never_stale_after_a_write(api, other_org, counted_from_three):
    created = _categories(api, ["a", "b", "c", "d"])
    in_abc = {"filter[q][name_in]": "a,b,c"}
    assert _count(api) == 4
    assert _count(api, **in_abc) == 3  # each filter has its own count
    _categories(api, ["e"])
    assert _count(api) == 5 and _count(api, **in_abc) == 3
    assert api.delete(f"shipping_categories/{created[0]['id']}").status == 204
    assert _count(api) == 4 and _count(api, **in_abc) == 2
    with scope.active(api.scope()):
        ShippingCategory.objects.filter(name="e").delete()  # no API, no hook: the execute wrapper sees it
    assert _count(api) == 3
    # another organization's writes leave the count kept
    _categories(other_org, ["x", "y", "z"])
    with CaptureQueriesContext(connection) as queries:
        assert _count(api) == 3 and _count(other_org) == 3
    assert len(_counts(queries)) == 2  # other_org's, counted up to the bound and in full


def test_relationship_lists_keep_their_own_counts(api, counted_from_three):
    with scope.active(api.scope()):
        model = InventoryModel.objects.create(name="Europe")
        for i in range(3):
            address = Address.objects.create(line_1="1 Main St", city="Rome", country_code="IT", phone="1")
            location = StockLocation.objects.create(name=f"WH {i}", number=i, address=address)
            InventoryStockLocation.objects.create(priority=i, stock_location=location, inventory_model=model)
    links = f"inventory_models/{model.id}/inventory_stock_locations"
    assert _count(api, links) == 3 and _count(api, "inventory_stock_locations") == 3
    with scope.active(api.scope()):
        other = InventoryModel.objects.create(name="Asia")
        InventoryStockLocation.objects.create(priority=9, stock_location=location, inventory_model=other)
    assert _count(api, "inventory_stock_locations") == 4 and _count(api, links) == 3


@pytest.mark.django_db(transaction=True)
def test_a_write_committed_by_another_process_refreshes_the_count(make_api, counted_from_three):
    api = make_api()
    _categories(api, ["a", "b", "c"])
    assert _count(api) == 3
    tenant = (api.organization.id, "test")
    generation = cache._local_generation.get(tenant, 0)
    with scope.active(api.scope()):
        ShippingCategory.objects.create(name="elsewhere")
    # Another process sees only the database: this process's own generation as it was before the write.
    cache._local_generation[tenant] = generation
    assert _count(api) == 4


def test_counts_are_not_kept_with_the_cache_disabled(api, settings, counted_from_three):
    settings.ORDERFACTORY = {**settings.ORDERFACTORY, "RESPONSE_CACHE": False}
    _categories(api, ["a", "b", "c"])
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert _count(api) == 3
        assert len(_counts(queries)) == 1 and not any("core_cacheversion" in q["sql"] for q in queries)
