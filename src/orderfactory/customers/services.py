"""Customer writes: customers, their address books and their wallets. Every problem is reported at once.

``find_or_create_customer``, ``save_payment_source_to_wallet``, ``wallet_entry_for`` and
``count_placed_order`` are what the orders domain calls; they run in the caller's transaction.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, models, transaction

from orderfactory.catalog.services import blank, save
from orderfactory.core.errors import CommonErrorCode, DomainError, Problem, problem
from orderfactory.core.errors import blank as blank_problem
from orderfactory.core.prepared import Prepared
from orderfactory.customers.models import Customer, CustomerAddress, CustomerPaymentSource
from orderfactory.payments.models import ExternalPayment, PaymentMethod, WireTransfer

# Deliberately permissive (one "@", a dot in the domain, no spaces): the address is confirmed by mail, not
# by a pattern; this only rejects what cannot be an address.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
MAX_EMAIL = 254

PAYMENT_SOURCE_MODELS: dict[str, type[WireTransfer | ExternalPayment]] = {
    "wire_transfers": WireTransfer,
    "external_payments": ExternalPayment,
}
PAYMENT_SOURCE_NAMES = {"wire_transfers": "Wire transfer", "external_payments": "External payment"}


def normalize_email(email: Any) -> Any:
    """Trimmed and lower case, so ``John@Example.com`` and ``john@example.com`` are one customer."""
    return email.strip().lower() if isinstance(email, str) else email


def email_problems(email: Any, attribute: str = "email") -> list[Problem]:
    if blank(email):
        return [blank_problem(attribute)]
    if len(email) > MAX_EMAIL or not EMAIL.fullmatch(email):
        return [problem(attribute, "is invalid", CommonErrorCode.INVALID, value=email)]
    return []


# --- customers --------------------------------------------------------------------------------------------


def customer_problems(customer: Customer) -> list[Problem]:
    found = email_problems(customer.email)
    if not found and Customer.objects.filter(email=customer.email).exclude(pk=customer.pk).exists():
        found.append(email_taken(customer.email))
    return found


def email_taken(email: str) -> Problem:
    return problem("email", "has already been taken", CommonErrorCode.TAKEN, value=email)


def save_customer(customer: Customer, changes: dict[str, Any]) -> Customer:
    """Create (an unsaved ``customer``) or update a customer. A given password is stored hashed; ``None``
    removes it. ``shopper_reference`` and ``profile_id`` are generated when missing, as Commerce Layer does."""
    changes = dict(changes)
    if "email" in changes:
        changes["email"] = normalize_email(changes["email"])
    if "password" in changes and changes["password"] is not None:
        changes["password"] = make_password(changes["password"])
    for column in ("shopper_reference", "profile_id"):
        if blank(changes.get(column, getattr(customer, column))):
            changes[column] = str(uuid.uuid4())
    try:
        return save(
            customer, changes, customer_problems
        )  # its own savepoint: a failed insert rolls back alone
    except IntegrityError:
        # A concurrent writer took the email between our check and our insert.
        raise DomainError([email_taken(changes.get("email", customer.email))]) from None


def find_or_create_customer(email: str) -> Customer:
    """The customer of the active scope with this email, created (as a prospect, with no password) if there
    is none. Raises 422 on ``email`` when it is not a valid address. Safe against a concurrent creation of
    the same email: the insert runs in a savepoint and a lost race reads the winner's row."""
    email = normalize_email(email)
    problems = email_problems(email)
    if problems:
        raise DomainError(problems)
    existing = Customer.objects.filter(email=email).first()
    if existing is not None:
        return existing
    customer = Customer(email=email, shopper_reference=str(uuid.uuid4()), profile_id=str(uuid.uuid4()))
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        return Customer.objects.get(email=email)
    return customer


def count_placed_order(customer_id: str) -> None:
    """Record one more placed order: ``total_orders_count`` + 1, and the status moves prospect -> acquired
    (first order) -> repeat (second and later). One UPDATE, so concurrent placements cannot lose a count."""
    Customer.objects.filter(pk=customer_id).update(
        total_orders_count=models.F("total_orders_count") + 1,
        status=models.Case(
            models.When(total_orders_count__gte=1, then=models.Value("repeat")),
            default=models.Value("acquired"),
        ),
    )


# --- address book -----------------------------------------------------------------------------------------


def customer_address_problems(entry: CustomerAddress) -> list[Problem]:
    found = [] if entry.customer_id else [blank_problem("customer", relationship=True)]
    if not entry.address_id:
        found.append(blank_problem("address", relationship=True))
    return found


def save_customer_address(
    entry: CustomerAddress, changes: dict[str, Any], *, customer_email: str | None = None
) -> CustomerAddress:
    """Create (an unsaved ``entry``) or update an address book entry. On create the customer may be named by
    ``customer_email`` instead of the relationship (Commerce Layer's ``customer_email`` attribute); it must
    be an existing customer's."""
    if customer_email is not None and not changes.get("customer_id") and not entry.customer_id:
        email = normalize_email(customer_email)
        problems = email_problems(email, "customer_email")
        customer = None if problems else Customer.objects.filter(email=email).first()
        if customer is None:
            raise DomainError(
                problems
                or [
                    problem(
                        "customer_email", "is not a customer's email", CommonErrorCode.INVALID, value=email
                    )
                ]
            )
        changes = {**changes, "customer_id": customer.pk}
    return save(entry, changes, customer_address_problems)


# --- wallet -----------------------------------------------------------------------------------------------


def payment_source_of(entry: CustomerPaymentSource) -> WireTransfer | ExternalPayment | None:
    model = PAYMENT_SOURCE_MODELS.get(entry.payment_source_type or "")
    if model is None or entry.payment_source_id is None:
        return None
    return model.objects.filter(pk=entry.payment_source_id).first()


def customer_payment_source_problems(entry: CustomerPaymentSource) -> list[Problem]:
    found = [] if entry.customer_id else [blank_problem("customer", relationship=True)]
    if entry.payment_source_id is not None:
        held = CustomerPaymentSource.objects.filter(
            payment_source_type=entry.payment_source_type, payment_source_id=entry.payment_source_id
        ).exclude(pk=entry.pk)
        if held.exists():
            found.append(
                problem(
                    "payment_source",
                    "has already been taken",
                    CommonErrorCode.TAKEN,
                    pointer="/data/relationships/payment_source",
                    value=entry.payment_source_id,
                )
            )
    return found


@transaction.atomic
def save_customer_payment_source(
    entry: CustomerPaymentSource, changes: dict[str, Any]
) -> CustomerPaymentSource:
    """Create (an unsaved ``entry``) or update a wallet entry. The entry's ``name`` and (unless given)
    ``payment_source_token`` come from its payment source and method; the payment source records the entry
    as its ``wallet``. A payment source is in at most one wallet (422 ``taken`` on ``payment_source``)."""
    previous = payment_source_of(entry) if entry.pk else None
    for column, value in changes.items():
        setattr(entry, column, value)
    problems = customer_payment_source_problems(entry)
    if problems:
        raise DomainError(problems)
    source = payment_source_of(entry)
    method = (
        PaymentMethod.objects.filter(pk=entry.payment_method_id).first() if entry.payment_method_id else None
    )
    entry.name = describe(entry.payment_source_type, method)
    if "payment_source_token" not in changes or blank(changes["payment_source_token"]):
        entry.payment_source_token = getattr(source, "payment_source_token", entry.payment_source_token)
    entry.save()
    if previous is not None and (source is None or previous.pk != source.pk):
        type(previous).objects.filter(pk=previous.pk).update(customer_payment_source_id=None)
    if source is not None:
        type(source).objects.filter(pk=source.pk).update(customer_payment_source_id=entry.pk)
    return entry


def describe(source_type: str | None, method: PaymentMethod | None) -> str | None:
    """The wallet entry's name shown to the customer: its payment method's name, else the source's kind."""
    if method is not None:
        return method.name
    return PAYMENT_SOURCE_NAMES.get(source_type or "")


@transaction.atomic
def delete_customer_payment_source(entry: CustomerPaymentSource) -> None:
    """Remove a wallet entry; its payment source stays (an order may use it) but is no longer in a wallet."""
    source = payment_source_of(entry)
    if source is not None:
        type(source).objects.filter(pk=source.pk).update(customer_payment_source_id=None)
    entry.delete()


def save_payment_source_to_wallet(
    customer: Customer, payment_method: PaymentMethod | None, source: WireTransfer | ExternalPayment
) -> CustomerPaymentSource:
    """Save ``source`` into ``customer``'s wallet (the order trigger ``_save_payment_source_to_customer_wallet``).
    Idempotent: saving the same source to the same customer again returns the existing entry. Raises 422
    ``taken`` if the source is in another customer's wallet."""
    source_type = source_type_of(source)
    existing = wallet_entry_for(source_type, source.pk)
    if existing is not None and existing.customer_id == customer.pk:
        return existing
    return save_customer_payment_source(
        CustomerPaymentSource(),
        {
            "customer_id": customer.pk,
            "payment_method_id": payment_method.pk if payment_method is not None else None,
            "payment_source_type": source_type,
            "payment_source_id": source.pk,
        },
    )


_WALLET_ENTRY = Prepared(
    lambda source_type, source_id: CustomerPaymentSource.objects.filter(
        payment_source_type=source_type, payment_source_id=source_id
    ).order_by("pk")[:1]
)


def wallet_entry_for(source_type: str, source_id: str) -> CustomerPaymentSource | None:
    """The wallet entry holding the payment source (``source_type`` is its JSON:API type), if any."""
    return _WALLET_ENTRY.first(source_type=source_type, source_id=source_id)


def read_wallet_entries_ahead(sources: list[tuple[str, str]]) -> None:
    """Inside ``core.prepared.ahead()``: the wallet entries of these payment sources ((JSON:API type, id)
    pairs), read in one query, so that ``wallet_entry_for`` reads nothing more for them."""
    if not sources:
        return
    found: dict[tuple[str, str], list[CustomerPaymentSource]] = {pair: [] for pair in sources}
    entries = CustomerPaymentSource.objects.filter(
        payment_source_id__in=sorted({source_id for _, source_id in sources})
    ).order_by("pk")
    for entry in entries:
        rows = found.get((entry.payment_source_type, entry.payment_source_id))
        if rows is not None and not rows:
            rows.append(entry)
    _WALLET_ENTRY.fill(
        ({"source_type": source_type, "source_id": source_id}, rows)
        for (source_type, source_id), rows in found.items()
    )


def source_type_of(source: WireTransfer | ExternalPayment) -> str:
    for type_name, model in PAYMENT_SOURCE_MODELS.items():
        if isinstance(source, model):
            return type_name
    raise TypeError(f"{type(source).__name__} is not a payment source")


def forget_payment_source(source: WireTransfer | ExternalPayment) -> None:
    """A payment source is being deleted: the wallet entry holding it goes too (it would point at nothing)."""
    CustomerPaymentSource.objects.filter(
        payment_source_type=source_type_of(source), payment_source_id=source.pk
    ).delete()
