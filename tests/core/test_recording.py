"""One way to record history (core.hooks.recording) and to lock rows (core.locks): a change made inside the
block reaches the audit trail a client reads at /api/<type>/<id>/event_stores, with the row before it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from orderfactory.core import hooks, locks
from orderfactory.core import scope as scopes
from orderfactory.customers.models import Customer
from tests.conftest import Api


def _customer(api: Api, email: str) -> Customer:
    created = api.create("customers", {"email": email})
    return Customer.unscoped.get(pk=created["id"])


def _trail(api: Api, customer: Customer) -> list[dict]:
    stores = api.get(f"customers/{customer.pk}/event_stores").data
    return [s["attributes"] for s in stores if s["attributes"]["event"] == "update"]


@pytest.mark.django_db(transaction=True)
def test_a_change_inside_recording_is_in_the_audit_trail_with_the_row_before_it(api: Api) -> None:
    customer = _customer(api, "ann@example.com")
    with scopes.active(api.scope()), transaction.atomic(), hooks.recording("customers", customer):
        customer.metadata = {"tier": "gold"}
        customer.save()
    [update] = _trail(api, customer)
    assert update["payload"]["metadata"] == [{}, {"tier": "gold"}]


@pytest.mark.django_db(transaction=True)
def test_a_block_that_fails_records_nothing(api: Api) -> None:
    customer = _customer(api, "bob@example.com")
    with (
        pytest.raises(RuntimeError),
        scopes.active(api.scope()),
        transaction.atomic(),
        hooks.recording("customers", customer),
    ):
        customer.metadata = {"tier": "gold"}
        raise RuntimeError("refused")
    assert _trail(api, customer) == []


@pytest.mark.django_db(transaction=True)
def test_several_rows_are_locked_in_primary_key_order(api: Api) -> None:
    customers = [_customer(api, f"c{i}@example.com") for i in range(3)]
    with scopes.active(api.scope()), transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = locks.lock_all(Customer.objects.all(), reversed([c.pk for c in customers]))
    assert [c.pk for c in locked] == sorted(c.pk for c in customers)
    if connection.vendor == "postgresql":
        assert "FOR UPDATE OF" in queries[-1]["sql"]
