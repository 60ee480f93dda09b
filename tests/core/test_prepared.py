"""Queries compiled once and run with new values (orderfactory.core.prepared): each run reads its own scope's
rows and the values it is given, as the queryset built afresh would."""

from __future__ import annotations

from unittest import mock

import pytest
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.functions import Upper
from django.db.models.sql.compiler import SQLCompiler
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext

from orderfactory.addresses.models import Address
from orderfactory.core import prepared
from orderfactory.core import scope as scopes
from orderfactory.core.prepared import NotPreparable, Prepared, PreparedValues
from orderfactory.inventory.models import StockLocation


def _location(number, name, city):
    address = Address.objects.create(city=city)
    return StockLocation.objects.create(number=number, name=name, code=name, address=address)


def test_each_run_reads_the_rows_of_the_scope_it_runs_in(api, other_org, live_api):
    by_city = Prepared(lambda city: Address.objects.filter(city=city).order_by("pk"))
    rows = {}
    for caller in (api, other_org, live_api):
        with scopes.active(caller.scope()):
            rows[caller] = Address.objects.create(city="Milano").pk
    for caller in (api, other_org, live_api, api):  # compiled in the first, run in each
        with scopes.active(caller.scope()):
            assert [a.pk for a in by_city.all(city="Milano")] == [rows[caller]]
            assert by_city.all(city="Roma") == []
    with pytest.raises(scopes.ScopeMissing):
        by_city.all(city="Milano")


def test_a_query_is_compiled_once_and_costs_one_statement_a_run(api):
    by_city = Prepared(lambda city: Address.objects.filter(city=city))
    with scopes.active(api.scope()):
        Address.objects.create(city="Milano")
        assert len(by_city.all(city="Milano")) == 1
        with (
            mock.patch.object(SQLCompiler, "as_sql", side_effect=AssertionError("compiled again")),
            CaptureQueriesContext(connection) as captured,
        ):
            assert [a.city for a in by_city.all(city="Milano")] == ["Milano"]
        assert len(captured) == 1


def test_lists_of_values_and_related_rows(api):
    named = Prepared(
        lambda names: StockLocation.objects.filter(name__in=names).select_related("address").order_by("name")
    )
    with scopes.active(api.scope()):
        for number, (name, city) in enumerate((("a", "Milano"), ("b", "Roma"), ("c", "Torino"))):
            _location(number, name, city)
        with CaptureQueriesContext(connection) as captured:
            two = named.all(names=["a", "c"])
            three = named.all(names=("c", "b", "a"))
            cities = [loc.address.city for loc in (*two, *three)]
        assert len(captured) == 2  # the addresses came with their locations
        assert [loc.name for loc in two] == ["a", "c"] and [loc.name for loc in three] == ["a", "b", "c"]
        assert cities == ["Milano", "Torino", "Milano", "Roma", "Torino"]


def test_deferred_columns_load_when_read(api):
    slim = Prepared(lambda pk: Address.objects.only("city").filter(pk=pk))
    with scopes.active(api.scope()):
        pk = Address.objects.create(city="Milano", zip_code="20100").pk
        address = slim.get(pk=pk)
        assert address.get_deferred_fields() >= {"zip_code"}
        with CaptureQueriesContext(connection) as captured:
            assert (address.city, address.zip_code) == ("Milano", "20100")
        assert len(captured) == 1


def test_get_and_first_answer_as_a_queryset_does(api):
    by_city = Prepared(lambda city: Address.objects.filter(city=city).order_by("zip_code"))
    with scopes.active(api.scope()):
        with pytest.raises(Address.DoesNotExist):
            by_city.get(city="Milano")
        assert by_city.first(city="Milano") is None
        Address.objects.create(city="Milano", zip_code="2")
        Address.objects.create(city="Milano", zip_code="1")
        with pytest.raises(Address.MultipleObjectsReturned):
            by_city.get(city="Milano")
        assert by_city.first(city="Milano").zip_code == "1"


def test_locking_needs_a_transaction(transactional_db, api):
    locked = Prepared(lambda pk: Address.objects.select_for_update().filter(pk=pk))
    with scopes.active(api.scope()):
        pk = Address.objects.create(city="Milano").pk
        with transaction.atomic():
            assert locked.get(pk=pk).city == "Milano"
        with pytest.raises(TransactionManagementError):
            locked.get(pk=pk)


def test_values_that_are_not_passed_as_given_are_refused_when_compiled(api):
    with scopes.active(api.scope()):
        with pytest.raises(NotPreparable):
            Prepared(lambda city: Address.objects.filter(city__icontains=city)).all(city="mil")
        with pytest.raises(NotPreparable):
            Prepared(
                lambda city: Address.objects.filter(city=city) | Address.objects.filter(line_1=city)
            ).all(city="x")
        with pytest.raises(NotPreparable):
            Prepared(lambda city: Address.objects.filter(city=city).values("pk")).all(city="x")
        with pytest.raises(NotPreparable):
            PreparedValues(lambda city: Address.objects.filter(city=city)).all(city="x")


def test_the_statements_kept_are_bounded(api, monkeypatch):
    monkeypatch.setattr(prepared, "_MAX_SHAPES", 4)
    named = Prepared(lambda cities: Address.objects.filter(city__in=cities))
    with scopes.active(api.scope()):
        Address.objects.create(city="c0")
        for length in range(1, 12):
            assert [a.city for a in named.all(cities=[f"c{i}" for i in range(length)])] == ["c0"]
            assert len(named._compiled) <= 4


@pytest.mark.parametrize(
    "shape",
    [
        lambda qs: qs.values("zip_code", "city"),
        lambda qs: qs.annotate(loud=Upper("city")).values("zip_code", "loud", "city"),
        lambda qs: qs.values("city").annotate(loud=Upper("city"), one=Value(1)),
    ],
    ids=["columns", "annotation-named-between", "annotations-after"],
)
def test_values_rows_are_the_rows_values_gives(api, shape):
    rows = PreparedValues(lambda pk: shape(Address.objects.filter(pk=pk)))
    with scopes.active(api.scope()):
        pk = Address.objects.create(city="Milano", zip_code="20100").pk
        assert rows.all(pk=pk) == list(shape(Address.objects.filter(pk=pk)))
        assert rows.all(pk="nope") == []
