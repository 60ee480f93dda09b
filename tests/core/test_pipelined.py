"""Statements pipelined on PostgreSQL (core.database.pipelined): writes whose results no one reads are sent
without waiting for their answer, and travel with the next read or the commit; what a transaction reads,
counts and raises stays what it was. On SQLite nothing changes."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from orderfactory.addresses.models import Address
from orderfactory.auth.models import Organization
from orderfactory.core import database
from orderfactory.core import scope as scopes

pytestmark = pytest.mark.django_db(transaction=True)

POSTGRESQL = connection.vendor == "postgresql"
postgresql_only = pytest.mark.skipif(not POSTGRESQL, reason="pipelines are psycopg's (PostgreSQL)")


def _waiting() -> int:
    """Statements sent on the pipeline whose answer has not been read yet."""
    pipeline = connection.pipeline  # type: ignore[attr-defined]
    return len(pipeline.result_queue) if pipeline is not None else 0


@postgresql_only
def test_writes_wait_for_no_answer_until_a_read_which_sees_them(api):
    with scopes.active(api.scope()), database.pipelined(), transaction.atomic():
        assert database.pipelining()
        Address.objects.create(city="Milano", zip_code="1")
        Address.objects.create(city="Milano", zip_code="2")
        assert _waiting() == 2  # both sent, neither answer awaited
        assert sorted(Address.objects.filter(city="Milano").values_list("zip_code", flat=True)) == ["1", "2"]
        assert _waiting() == 0
    assert not database.pipelining()
    with scopes.active(api.scope()):
        assert Address.objects.filter(city="Milano").count() == 2


@postgresql_only
def test_row_counts_and_columns_are_the_statements_own(api):
    with scopes.active(api.scope()):
        Address.objects.create(city="Roma", zip_code="1")
        Address.objects.create(city="Roma", zip_code="2")
        with database.pipelined(), transaction.atomic():
            assert Address.objects.filter(city="Roma").update(city="Rome") == 2
            assert Address.objects.filter(city="Nowhere").update(city="Rome") == 0
            # QuerySet.iterator() (a server-side cursor outside a pipeline)
            assert sorted(a.zip_code for a in Address.objects.filter(city="Rome").iterator()) == ["1", "2"]
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1 AS one, 2 AS two")
                assert [column.name for column in cursor.description] == ["one", "two"]
                cursor.execute(f"DELETE FROM {Address._meta.db_table} WHERE city = %s", ["Rome"])
                assert cursor.rowcount == 2


@postgresql_only
def test_a_failing_write_fails_its_transaction_and_leaves_the_connection_usable():
    Organization.objects.create(slug="taken", name="Taken")
    with pytest.raises(IntegrityError), database.pipelined(), transaction.atomic():
        Organization.objects.create(slug="other", name="Other")
        Organization.objects.create(slug="taken", name="Again")  # raised by the commit, not here
    assert sorted(
        Organization.objects.filter(slug__in=["taken", "other"]).values_list("slug", flat=True)
    ) == ["taken"]


@postgresql_only
def test_an_error_inside_a_savepoint_is_caught_around_it_and_the_transaction_goes_on():
    """The pattern of ``customers.services.find_or_create_customer``: a savepoint around an insert that may
    lose a race, its IntegrityError caught, the transaction committed."""
    Organization.objects.create(slug="taken", name="Taken")
    caught = False
    with database.pipelined(), transaction.atomic():
        Organization.objects.create(slug="before", name="Before")
        try:
            with transaction.atomic():
                Organization.objects.create(slug="taken", name="Again")
        except IntegrityError:
            caught = True
        Organization.objects.create(slug="after", name="After")
    assert caught
    slugs = set(Organization.objects.values_list("slug", flat=True))
    assert {"taken", "before", "after"} <= slugs


@postgresql_only
def test_a_commit_ends_the_pipeline_before_its_callbacks_run():
    """A callback's statements are not the transaction's: pipelined in autocommit, they would not commit
    before the pipeline's end."""
    seen = []
    with database.pipelined():
        with transaction.atomic():
            Organization.objects.create(slug="committed", name="Committed")
            transaction.on_commit(lambda: seen.append(database.pipelining()))
            assert database.pipelining()
        assert not database.pipelining()
    assert seen == [False]


def test_outside_postgresql_nothing_is_pipelined(api):
    with database.pipelined(), transaction.atomic():
        assert database.pipelining() is POSTGRESQL
