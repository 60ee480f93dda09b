"""The response cache of cacheable resources: served while nothing of the caller's organization and mode was
written since, whoever wrote it and however."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orderfactory import cache
from orderfactory.catalog.models import PriceList
from orderfactory.core import scope
from orderfactory.core.models import CacheVersion


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
