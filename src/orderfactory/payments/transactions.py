"""Payment transactions: one row per call to a gateway (authorization, capture, void, refund), written with
the gateway's answer, successful or not, and the balances the calls take from.

The order-level use-cases (capture an order, refund it, void its authorization) are the orders' services
(orders/services/paying.py), which also move the order's ``payment_status``; this module holds what they do
to the rows. Balances move by compare-and-set (one UPDATE with the balance in its WHERE), so two concurrent
calls cannot both take the same cents even when neither holds a lock over the network.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models, transaction

from orderfactory.core import clock, hooks, locks
from orderfactory.payments.models import Transaction
from orderfactory.payments.services import GatewayResult

if TYPE_CHECKING:
    from orderfactory.orders.models import Order

AUTHORIZATIONS, CAPTURES, VOIDS, REFUNDS = "authorizations", "captures", "voids", "refunds"
# The balance each kind of transaction takes from, on the row it refers to.
# What may still be voided of an authorization is what may still be captured: one balance.
_TAKES_FROM = {
    CAPTURES: "capture_balance_cents",
    VOIDS: "capture_balance_cents",
    REFUNDS: "refund_balance_cents",
}


def first_number(order: Order) -> str:
    """The number of a placed order's first transaction, its authorization: ``<order number>/T/001``."""
    return f"{order.number}/T/001"


def next_number(order: Order, existing: list[Transaction] | None = None) -> str:
    """``<order number>/T/<nnn>``, as Commerce Layer numbers them, counting the order's numbered transactions
    (those of ``existing``, the order's rows when the caller has read them already); one made before the
    order had a number (a declined authorization of a placing that failed) is numbered after the order's id
    instead, so the placed order's series starts at 001 without a count."""
    stem = f"{order.number or order.pk}/T/"
    if existing is not None:
        taken = sum(1 for row in existing if row.number.startswith(stem))
    else:
        taken = Transaction.objects.filter(order_id=order.pk, number__startswith=stem).count()
    return f"{stem}{taken + 1:03d}"


def record(
    kind: str,
    order: Order,
    amount_cents: int,
    result: GatewayResult,
    *,
    number: str | None = None,
    reference: Transaction | None = None,
) -> Transaction:
    """Write the transaction ``kind`` of ``amount_cents`` with the gateway's answer ``result``. A succeeded
    authorization opens its balances (capture and void: the whole amount), a succeeded capture its refund
    balance; a failed transaction opens none. ``reference``: the authorization a capture or void refers to,
    the capture a refund refers to."""
    error = _error_of(result) if not result.success else {}
    row = Transaction(
        type=kind,
        number=number or next_number(order),
        order_id=order.pk,
        payment_source_type=order.payment_source_type,
        payment_source_id=order.payment_source_id,
        payment_method_type=order.payment_source_type,
        currency_code=order.currency_code,
        amount_cents=amount_cents,
        succeeded=result.success,
        message=(result.message or "")[:255] or None,
        token=result.transaction_token,
        gateway_transaction_id=result.transaction_token,
        reference_authorization=reference if kind in (CAPTURES, VOIDS) else None,
        reference_capture=reference if kind == REFUNDS else None,
        **error,
    )
    opened = amount_cents if result.success else 0
    if kind == AUTHORIZATIONS:
        row.capture_balance_cents = opened
    elif kind == CAPTURES:
        row.refund_balance_cents = opened
    row.save(force_insert=True)
    # The audit trail and the ``<kind>.create`` event (a webhook topic), as for every row a service creates.
    hooks.on_write("create", kind, row, None)
    return row


def _error_of(result: GatewayResult) -> dict[str, Any]:
    """The gateway's error code and detail, when its answer carried them (``data.error.code``/``detail``)."""
    data = (result.response or {}).get("data")
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return {}
    code, detail = error.get("code"), error.get("detail")
    return {
        "error_code": str(code)[:255] if code is not None else None,
        "error_detail": str(detail)[:255] if detail is not None else None,
    }


def take(kind: str, reference: Transaction, amount_cents: int) -> bool:
    """Take ``amount_cents`` from the balance of ``reference`` that a ``kind`` draws on (a capture or a void,
    from its authorization's; a refund, from its capture's). Compare-and-set: False when the balance is
    short."""
    column = _TAKES_FROM[kind]
    taken = Transaction.objects.filter(pk=reference.pk, **{f"{column}__gte": amount_cents}).update(
        **{column: models.F(column) - amount_cents, "updated_at": clock.now()}
    )
    return bool(taken)


def give_back(kind: str, reference: Transaction, amount_cents: int) -> None:
    """Undo ``take``: the gateway refused, so the cents it was asked for are still there."""
    column = _TAKES_FROM[kind]
    Transaction.objects.filter(pk=reference.pk).update(
        **{column: models.F(column) + amount_cents, "updated_at": clock.now()}
    )


def of_order(order_id: str) -> list[Transaction]:
    """The order's transactions, oldest first (an order has a few)."""
    return list(Transaction.objects.filter(order_id=order_id).order_by("created_at", "number", "id"))


def open_authorization(order_id: str, existing: list[Transaction] | None = None) -> Transaction | None:
    """The order's succeeded authorization, if it has one (a placed order has one), among ``existing`` when
    the caller has read the order's rows already."""
    rows = of_order(order_id) if existing is None else existing
    return next((row for row in reversed(rows) if row.type == AUTHORIZATIONS and row.succeeded), None)


def refundable_captures(order_id: str) -> list[Transaction]:
    """The order's succeeded captures with something left to refund, oldest first (by number, of those made
    in the same millisecond)."""
    return list(
        Transaction.objects.filter(
            order_id=order_id, type=CAPTURES, succeeded=True, refund_balance_cents__gt=0
        ).order_by("created_at", "number", "id")
    )


def totals(order_id: str) -> dict[str, int]:
    """The order's succeeded amounts by kind, in one query."""
    rows = (
        Transaction.objects.filter(order_id=order_id, succeeded=True)
        .values("type")
        .annotate(total=models.Sum("amount_cents"))
    )
    found = {kind: 0 for kind in (AUTHORIZATIONS, CAPTURES, VOIDS, REFUNDS)}
    found.update({row["type"]: int(row["total"] or 0) for row in rows})
    return found


def change(transaction_id: str, kind: str, columns: dict[str, Any]) -> Transaction:
    """A transaction's reference and metadata (its other attributes are the gateway's answer), recorded in
    the audit trail; one transaction."""
    with transaction.atomic():
        row = locks.lock_one(Transaction.objects.filter(type=kind), transaction_id)
        if row is None:
            raise Transaction.DoesNotExist(transaction_id)
        if columns:
            with hooks.recording(kind, row):
                for column, value in columns.items():
                    setattr(row, column, value)
                row.save(update_fields=list(columns))
        return row
