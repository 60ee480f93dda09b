"""Inserts and column updates with their SQL built once per table (orderfactory.core.writes): what they write
is what Django's own way writes, and they keep its rules."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext

from orderfactory.addresses.models import Address
from orderfactory.core import scope as scopes
from orderfactory.core import writes

FIELDS = dict(
    first_name="Zoë",
    last_name=None,
    city="Milano",
    lat=45.4642,
    lng=None,
    business=True,
    notes="a\nb",
    metadata={"tier": ["gold", 1], "note": None},
    reference="ref-1",
)


def _rows(ids):
    columns = [
        f.attname
        for f in Address._meta.concrete_fields
        if f.attname not in ("id", "created_at", "updated_at")
    ]
    return sorted(
        (tuple(row[c] for c in columns) for row in Address.unscoped.filter(pk__in=ids).values(*columns)),
        key=repr,
    )


def test_an_insert_writes_what_djangos_bulk_create_writes(api):
    with scopes.active(api.scope()):
        ours = [Address(**FIELDS, zip_code=str(i)) for i in range(3)]
        theirs = [Address(**FIELDS, zip_code=str(i)) for i in range(3)]
        Address.objects.bulk_create(ours)
        for address in theirs:
            address.stamp_scope()
        models.QuerySet(Address).bulk_create(theirs)  # Django's own way
        assert all(not a._state.adding and a._state.db == "default" for a in ours)
        assert _rows([a.pk for a in ours]) == _rows([a.pk for a in theirs])
        single = Address(**FIELDS, zip_code="0")
        single.save()
        assert not single._state.adding
        assert _rows([single.pk]) == _rows([theirs[0].pk])
        loaded = Address.objects.get(pk=ours[0].pk)
        assert (loaded.first_name, loaded.lat, loaded.metadata, loaded.organization_id, loaded.mode) == (
            "Zoë",
            45.4642,
            {"tier": ["gold", 1], "note": None},
            api.organization.id,
            "test",
        )


def test_many_rows_are_written_in_as_few_statements_as_the_database_allows(api):
    count = 3000  # 3000 rows of 24 columns: more parameters than psycopg takes in one statement
    with scopes.active(api.scope()), CaptureQueriesContext(connection) as captured:
        Address.objects.bulk_create([Address(city=f"c{i}") for i in range(count)])
    inserts = [q for q in captured if q["sql"].startswith("INSERT")]
    if connection.vendor == "postgresql":
        assert len(inserts) == 1  # one array per column
    else:  # as many rows a statement as SQLite takes parameters (and at most psycopg's 65,535)
        fields = Address._meta.concrete_fields
        per = min(connection.ops.bulk_batch_size(fields, range(count)), 65535 // len(fields))
        assert per < count and len(inserts) == -(-count // per)
    with scopes.active(api.scope()):
        assert Address.objects.count() == count


def test_a_failed_insert_writes_nothing(api):
    with scopes.active(api.scope()):
        first = Address(city="one")
        twin = Address(id=first.id, city="two")
        with pytest.raises(IntegrityError), transaction.atomic():
            Address.objects.bulk_create([first, twin])
        assert Address.objects.count() == 0


def test_an_insert_refuses_a_row_of_another_scope(api, other_org):
    with scopes.active(other_org.scope()):
        foreign = Address(city="theirs")
        foreign.stamp_scope()
    with scopes.active(api.scope()), pytest.raises(scopes.ScopeMissing):
        Address.objects.bulk_create([foreign])


def test_an_update_writes_only_the_named_columns_and_the_update_time(api):
    with scopes.active(api.scope()):
        address = Address.objects.create(city="Milano", zip_code="20100")
        stale = Address.objects.get(pk=address.pk)
        Address.objects.filter(pk=address.pk).update(zip_code="20121")  # a write the instance does not know
        stale.city, stale.zip_code = "Roma", "00100"
        with CaptureQueriesContext(connection) as captured:
            stale.save(update_fields=["city"])
        assert len(captured) == 1
        fresh = Address.objects.get(pk=address.pk)
        assert (fresh.city, fresh.zip_code) == ("Roma", "20121")
        assert fresh.updated_at > address.updated_at or fresh.updated_at == stale.updated_at


def test_an_update_of_a_row_that_is_gone_raises(api):
    with scopes.active(api.scope()):
        address = Address.objects.create(city="Milano")
        Address.objects.filter(pk=address.pk).delete()
        address.city = "Roma"
        with pytest.raises(DatabaseError, match="did not affect any rows"):
            address.save(update_fields=["city"])


def test_unknown_columns_and_expressions_take_djangos_way(api):
    with scopes.active(api.scope()):
        address = Address.objects.create(city="Milano", lat=1.5)
        with pytest.raises(ValueError, match="do not exist"):
            address.save(update_fields=["nope"])
        address.lat = F("lat") + 1
        address.save(update_fields=["lat"])
        assert Address.objects.get(pk=address.pk).lat == 2.5
        with pytest.raises(writes.NotPlain):
            writes.update(address, frozenset({"lat"}), "default")  # still F(): refused before writing


def test_a_model_with_save_signals_takes_djangos_way(api):
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append(instance.city)

    models.signals.post_save.connect(listener, sender=Address)
    try:
        assert not writes.plain(Address)
        with scopes.active(api.scope()):
            Address.objects.create(city="Milano")
    finally:
        models.signals.post_save.disconnect(listener, sender=Address)
    assert seen == ["Milano"] and writes.plain(Address)
