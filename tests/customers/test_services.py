"""The customer services the orders domain calls."""

from __future__ import annotations

from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import transaction

from orderfactory.core import scope as scopes
from orderfactory.customers import services
from orderfactory.customers.models import Customer, CustomerPaymentSource
from orderfactory.payments.models import ExternalPayment, WireTransfer
from tests.refusal import refused


@pytest.fixture
def in_scope(api) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope:
        yield scope


def test_find_or_create_customer_creates_once(in_scope):
    created = services.find_or_create_customer(" Ada@Example.com")
    assert (created.email, created.status, created.has_password) == ("ada@example.com", "prospect", False)
    assert created.shopper_reference and created.profile_id
    assert services.find_or_create_customer("ada@example.com").pk == created.pk
    assert Customer.objects.count() == 1


def test_find_or_create_customer_rejects_an_invalid_email(in_scope):
    with refused() as excinfo:
        services.find_or_create_customer("not an email")
    assert [e.pointer for e in excinfo.value.errors] == ["/data/attributes/email"]
    assert Customer.objects.count() == 0


def test_find_or_create_customer_survives_losing_the_race(in_scope):
    """Another writer inserted the email between our read and our insert: we return its row, and the
    caller's transaction is still usable (the failed insert rolled back to a savepoint)."""
    winner = services.find_or_create_customer("ada@example.com")
    with transaction.atomic():
        with mock.patch("django.db.models.query.QuerySet.first", return_value=None):
            found = services.find_or_create_customer("ada@example.com")
        assert found.pk == winner.pk
        assert Customer.objects.count() == 1  # the transaction still works


def test_customers_are_per_environment(api, live_api):
    with scopes.active(api.scope()):
        test_customer = services.find_or_create_customer("ada@example.com")
    with scopes.active(live_api.scope()):
        live_customer = services.find_or_create_customer("ada@example.com")
    assert test_customer.pk != live_customer.pk


def test_count_placed_order_moves_the_status(in_scope):
    customer = services.find_or_create_customer("ada@example.com")
    seen = []
    for _ in range(3):
        services.count_placed_order(customer.pk)
        customer.refresh_from_db()
        seen.append((customer.total_orders_count, customer.status))
    assert seen == [(1, "acquired"), (2, "repeat"), (3, "repeat")]


def test_save_payment_source_to_wallet_is_idempotent(in_scope):
    ada = services.find_or_create_customer("ada@example.com")
    payment = ExternalPayment.objects.create(payment_source_token="tok_1")
    first = services.save_payment_source_to_wallet(ada, None, payment)
    again = services.save_payment_source_to_wallet(ada, None, payment)
    assert first.pk == again.pk
    assert CustomerPaymentSource.objects.count() == 1
    assert (first.payment_source_type, first.payment_source_id, first.payment_source_token) == (
        "external_payments",
        payment.pk,
        "tok_1",
    )
    payment.refresh_from_db()
    assert payment.customer_payment_source_id == first.pk
    assert services.wallet_entry_for("external_payments", payment.pk).pk == first.pk
    assert services.wallet_entry_for("wire_transfers", payment.pk) is None


def test_a_source_in_another_wallet_is_refused(in_scope):
    ada = services.find_or_create_customer("ada@example.com")
    bob = services.find_or_create_customer("bob@example.com")
    transfer = WireTransfer.objects.create()
    services.save_payment_source_to_wallet(ada, None, transfer)
    with refused() as excinfo:
        services.save_payment_source_to_wallet(bob, None, transfer)
    assert excinfo.value.errors[0].meta["error"] == "taken"
