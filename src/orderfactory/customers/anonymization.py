"""A customer's anonymization (Commerce Layer's ``_request_anonymization`` and ``_cancel_anonymization``): a
request waits a grace period (``ORDERFACTORY_ANONYMIZATION_DELAY_HOURS``, default 24: Commerce Layer handles
requests "within 24-36 hours"), during which it may be cancelled; then a job of the database queue erases the
customer's personal data. requested -> in_progress -> completed | failed; requested -> cancelled.
docs/decisions.md, "Customer anonymization"."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any, cast

from django.db import DatabaseError, transaction
from django.db.models import Case, F, Field, Value, When

from orderfactory import config, queue
from orderfactory.core import clock, database, hooks, ids, locks
from orderfactory.core import scope as scopes
from orderfactory.core.errors import CommonErrorCode, DomainError
from orderfactory.customers.models import Customer, CustomerAddress, CustomerPaymentSource

log = logging.getLogger(__name__)

DELAY = dt.timedelta(hours=config.number("ORDERFACTORY_ANONYMIZATION_DELAY_HOURS", 24))
TRIGGERS = ("_request_anonymization", "_cancel_anonymization")
# What stands in for an erased text; a customer's email becomes an address of a reserved domain (RFC 2606),
# unique as the email must be.
MASK = "***"
ERASED_DOMAIN = "anonymized.invalid"
# The personal parts of an address; its city, postcode, state and country stay (statistics, taxes).
ADDRESS_TEXT = (
    "first_name",
    "last_name",
    "company",
    "line_1",
    "line_2",
    "phone",
    "email",
    "notes",
    "billing_info",
)
# Orders in these statuses may still be written by a use-case in flight (a placing waits for its gateway):
# erasing under it would be undone or half-done, so the anonymization fails and may be requested again.
IN_FLIGHT = ("placing",)


def _stamp(at: dt.datetime) -> str:
    from orderfactory.jsonapi.attributes import format_datetime

    return format_datetime(at)


def _who() -> dict[str, Any]:
    """The user behind the request, in Commerce Layer's shape: the console's operator, else the application
    (which has no name or email: only its id)."""
    scope = scopes.current()
    if scope.operator is not None:
        operator_id, email = scope.operator
        return {"id": operator_id, "first_name": None, "last_name": None, "email": email}
    return {"id": scope.application_id, "first_name": None, "last_name": None, "email": None}


def apply_triggers(customer: Customer, triggers: dict[str, Any]) -> None:
    """The PATCH's anonymization triggers, on the customer's row locked by the caller's transaction."""
    fired = [name for name in TRIGGERS if triggers.get(name) not in (None, False, "")]
    if len(fired) > 1:
        raise DomainError.of(
            CommonErrorCode.INVALID, fired[1], "cannot be sent with _request_anonymization", value=True
        )
    if fired == ["_request_anonymization"]:
        request(customer)
    elif fired == ["_cancel_anonymization"]:
        cancel(customer)


def request(customer: Customer) -> None:
    """Request the erasure: its job is queued (in this transaction) to run after the grace period. A request
    already waiting or running stands (nothing new is queued); an anonymized customer is 422."""
    status = customer.anonymization_status
    if status in ("requested", "in_progress"):
        return
    if status == "completed":
        raise _refused(status, "requested")
    now = clock.now()
    customer.anonymization_status = "requested"
    customer.anonymization_request_id = ids.new_id()
    customer.anonymization_info = {
        "status": "requested",
        "requested_at": _stamp(now),
        "started_at": None,
        "completed_at": None,
        "failed_at": None,
        "cancelled_at": None,
        "requester": _who(),
        "cancellation_requester": None,
    }
    customer.save(update_fields=["anonymization_status", "anonymization_request_id", "anonymization_info"])
    queue.enqueue_customer_anonymization(
        customer.pk, customer.anonymization_request_id, run_after=now + DELAY
    )
    hooks.event("customers.request_anonymization", "customers", customer)


def cancel(customer: Customer) -> None:
    """Revoke a request not started yet; its job will find it cancelled and do nothing."""
    if customer.anonymization_status != "requested":
        raise _refused(customer.anonymization_status, "cancelled")
    info = dict(customer.anonymization_info or {})
    info.update(status="cancelled", cancelled_at=_stamp(clock.now()), cancellation_requester=_who())
    customer.anonymization_status, customer.anonymization_info = "cancelled", info
    customer.save(update_fields=["anonymization_status", "anonymization_info"])
    hooks.event("customers.cancel_anonymization", "customers", customer)


def _refused(current: str | None, target: str) -> DomainError:
    return DomainError.of(
        CommonErrorCode.TRANSITION,
        "anonymization_status",
        f"cannot transition from {current or 'none'} to {target}",
    )


# --- the job ----------------------------------------------------------------------------------------------


def run(customer_id: str, request_id: str) -> None:
    """The job: start the request (its own transaction, so ``in_progress`` shows while it runs), then erase
    and complete it in one transaction; a refusal marks it failed. A request cancelled or replaced meanwhile,
    or already ended, is left alone: the same job run twice does nothing the second time."""
    row = Customer.unscoped.filter(pk=customer_id).values("organization_id", "mode").first()
    if row is None:
        return
    with scopes.active(scopes.worker(row["organization_id"], row["mode"], "customer-anonymization")):
        if not _start(customer_id, request_id):
            return
        try:
            with transaction.atomic():
                customer = locks.lock_one(Customer.objects.all(), customer_id)
                if customer is None or not _current(customer, request_id, "in_progress"):
                    return
                _erase(customer)
                _end(customer, "completed")
        except Exception as exc:
            if isinstance(exc, DatabaseError) and database.unavailable(exc):
                raise  # the job runs again once the database answers, from in_progress
            log.warning("customer %s: anonymization failed: %s", customer_id, exc)
            with transaction.atomic():
                customer = locks.lock_one(Customer.objects.all(), customer_id)
                if customer is not None and _current(customer, request_id, "in_progress"):
                    _end(customer, "failed")
            if not isinstance(exc, DomainError):
                raise


def _current(customer: Customer, request_id: str, status: str) -> bool:
    return customer.anonymization_request_id == request_id and customer.anonymization_status == status


def _start(customer_id: str, request_id: str) -> bool:
    """requested -> in_progress (compare-and-set); a run cut off after this point starts again from here."""
    with transaction.atomic():
        customer = locks.lock_one(Customer.objects.all(), customer_id)
        if customer is None or customer.anonymization_request_id != request_id:
            return False
        if customer.anonymization_status == "in_progress":
            return True
        if customer.anonymization_status != "requested":
            return False
        info = dict(customer.anonymization_info or {})
        info.update(status="in_progress", started_at=_stamp(clock.now()))
        customer.anonymization_status, customer.anonymization_info = "in_progress", info
        customer.save(update_fields=["anonymization_status", "anonymization_info"])
        hooks.event("customers.start_anonymization", "customers", customer)
        return True


def _end(customer: Customer, status: str) -> None:
    info = dict(customer.anonymization_info or {})
    info.update(status=status, **{f"{status}_at": _stamp(clock.now())})
    customer.anonymization_status, customer.anonymization_info = status, info
    customer.save(update_fields=["anonymization_status", "anonymization_info"])
    hooks.event(
        "customers.complete_anonymization" if status == "completed" else "customers.fail_anonymization",
        "customers",
        customer,
    )


def _erase(customer: Customer) -> None:
    """The personal data of the customer, its address book, its wallet, its orders' and subscriptions'
    addresses and emails, its gift card recipients, and the audit trail's record of them. Not through the audit trail: recording the change would keep the old
    values it erases."""
    from orderfactory.addresses.models import Address
    from orderfactory.events.models import EventStore
    from orderfactory.giftcards.models import GiftCardRecipient
    from orderfactory.orders.models import Order, Shipment
    from orderfactory.subscriptions.models import OrderSubscription

    orders = Order.objects.filter(customer=customer)
    busy = list(orders.filter(status__in=IN_FLIGHT).values_list("number", "pk")[:1])
    if busy:
        raise DomainError.of(
            CommonErrorCode.LOCKED, "orders", f"order {busy[0][0] or busy[0][1]} is being placed"
        )
    order_ids = list(orders.values_list("pk", flat=True))
    address_ids = set(CustomerAddress.objects.filter(customer=customer).values_list("address_id", flat=True))
    for billing, shipping in orders.values_list("billing_address_id", "shipping_address_id"):
        address_ids.update(a for a in (billing, shipping) if a)
    address_ids.update(
        Shipment.objects.filter(order_id__in=order_ids, shipping_address__isnull=False).values_list(
            "shipping_address_id", flat=True
        )
    )
    email = f"anonymized-{uuid.uuid4().hex}@{ERASED_DOMAIN}"
    masked: dict[str, Any] = {
        column: Case(
            When(**{f"{column}__isnull": False}, then=Value(MASK)),
            default=F(column),
            output_field=cast(Field, Address._meta.get_field(column)),
        )
        for column in ADDRESS_TEXT
    }
    now = clock.now()
    Address.objects.filter(pk__in=address_ids).update(**masked, lat=None, lng=None, updated_at=now)
    orders.update(customer_email=email, updated_at=now)
    OrderSubscription.objects.filter(customer=customer).update(customer_email=email, updated_at=now)
    GiftCardRecipient.objects.filter(customer=customer).update(
        email=email, first_name=masked["first_name"], last_name=masked["last_name"], updated_at=now
    )
    CustomerPaymentSource.objects.filter(customer=customer).delete()
    trail = EventStore.objects.filter
    trail(resource_type="customers", resource_id=customer.pk).update(payload={})
    trail(resource_type="addresses", resource_id__in=address_ids).update(payload={})
    trail(resource_type="orders", resource_id__in=order_ids, payload__has_key="customer_email").update(
        payload={}
    )
    customer.email, customer.password = email, None
    customer.shopper_reference, customer.profile_id = str(uuid.uuid4()), str(uuid.uuid4())
    customer.tax_exemption_code, customer.metadata = None, {}
    customer.updated_at = now
    customer.save(
        update_fields=[
            "email",
            "password",
            "shopper_reference",
            "profile_id",
            "tax_exemption_code",
            "metadata",
            "updated_at",
        ]
    )
