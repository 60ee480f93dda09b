"""An order's money after placing: ``_capture``, ``_refund``, voiding its authorization (``_void``, and
``_cancel`` of a placed order), each writing its transaction rows (payments/transactions.py) and moving the
order's ``payment_status``: authorized → partially_paid | paid → partially_refunded | refunded, or
authorized → voided.

Each use-case takes what it asks the gateway for from the balance it draws on (compare-and-set) under the
order's row lock, asks the gateway with no transaction open when the gateway is external (a manual gateway
answers at once, inside the transaction), then writes the transaction with the answer; a refused call gives
the amount back, leaves a failed transaction (``succeeded`` false, the gateway's message) and is a 422.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.db import transaction

from orderfactory.core import clock, hooks
from orderfactory.core.errors import CommonErrorCode, DomainError
from orderfactory.orders.models import Order
from orderfactory.orders.services import gift_cards
from orderfactory.orders.services.building import payment_source_of
from orderfactory.orders.services.loading import lock_order
from orderfactory.payments import services as gateways
from orderfactory.payments import transactions as rows
from orderfactory.payments.error_codes import PaymentErrorCode
from orderfactory.payments.models import Transaction
from orderfactory.payments.services import GatewayResult

if TYPE_CHECKING:
    from orderfactory.payments.models import PaymentMethod

log = logging.getLogger("orderfactory.orders")

CAPTURABLE_STATUSES = ("placed", "approved")
_FAILED = {
    rows.CAPTURES: PaymentErrorCode.CAPTURE_FAILED,
    rows.VOIDS: PaymentErrorCode.VOID_FAILED,
    rows.REFUNDS: PaymentErrorCode.REFUND_FAILED,
}
_CALLS: dict[str, Callable[..., GatewayResult]] = {
    rows.CAPTURES: gateways.capture,
    rows.REFUNDS: gateways.refund,
    rows.VOIDS: gateways.void,
}

# A manual gateway voids at once (payments.services.void), with nothing to look up.
MANUAL_VOID = GatewayResult(True, "voided by the manual gateway")
# (what is taken from, how much): one gateway call each.
Parts = list[tuple[Transaction, int]]


# --- placing ----------------------------------------------------------------------------------------------


def record_placing_authorization(order: Order, success: bool, message: str, token: str | None) -> None:
    """The authorization placing obtained, as the placed order's first transaction (inside placing's
    transaction). A free order, or one with no payment method, authorizes nothing and has none."""
    if order.total_amount_with_taxes_cents > 0 and order.payment_method_id:
        result = GatewayResult(success, message, token)
        rows.record(
            rows.AUTHORIZATIONS,
            order,
            order.total_amount_with_taxes_cents,
            result,
            number=rows.first_number(order),
        )


def record_declined_authorization(order: Order, message: str, response: dict[str, Any] | None) -> None:
    """An authorization the gateway refused (or never answered) while placing: kept, with its message."""
    result = GatewayResult(False, message, None, response)
    rows.record(rows.AUTHORIZATIONS, order, order.total_amount_with_taxes_cents, result)


# --- capture, refund, void --------------------------------------------------------------------------------


def capture(order_id: str, amount_cents: int | None = None, authorization_id: str | None = None) -> Order:
    """``_capture``: capture ``amount_cents`` (default: all that is left) of the order's authorization. An
    external gateway may capture part of it; a manual gateway captures it in full."""

    def parts(order: Order) -> Parts:
        if order.status not in CAPTURABLE_STATUSES:
            raise _refusal(
                PaymentErrorCode.NOT_CAPTURABLE, f"an order in status {order.status} is not captured"
            )
        authorization = _authorization(order, authorization_id)
        balance = authorization.capture_balance_cents if authorization else 0
        if authorization is None or not balance:
            raise _refusal(PaymentErrorCode.NOT_CAPTURABLE, "there is no authorized amount left to capture")
        amount = balance if amount_cents is None else amount_cents
        _check_amount(amount, balance, "_capture_amount_cents")
        if amount != balance and not _external(order):
            raise _refusal(
                PaymentErrorCode.PARTIAL_CAPTURE_NOT_SUPPORTED,
                "a manual gateway captures the whole authorized amount",
                "_capture_amount_cents",
            )
        return [(authorization, amount)]

    return _settle(rows.CAPTURES, order_id, parts)


def refund(order_id: str, amount_cents: int | None = None, capture_id: str | None = None) -> Order:
    """``_refund``: give back ``amount_cents`` (default: all that is left) of what was captured, taken from
    ``capture_id`` or from the order's captures oldest first; never more than what is left to refund."""

    def parts(order: Order) -> Parts:
        captures = [c for c in rows.refundable_captures(order.pk) if capture_id in (None, c.pk)]
        left = sum(cast(int, c.refund_balance_cents) for c in captures)
        if not left:
            raise _refusal(PaymentErrorCode.NOT_REFUNDABLE, "there is no captured amount left to refund")
        amount = left if amount_cents is None else amount_cents
        _check_amount(amount, left, "_refund_amount_cents")
        found: Parts = []
        for capture_row in captures:
            part = min(amount, cast(int, capture_row.refund_balance_cents))
            if part:
                found.append((capture_row, part))
                amount -= part
        return found

    return _settle(rows.REFUNDS, order_id, parts)


def void(order_id: str, authorization_id: str | None = None) -> Order:
    """``_void`` of an authorization: give back to the gateway all that is left of it."""

    def parts(order: Order) -> Parts:
        authorization = _authorization(order, authorization_id)
        if authorization is None or not authorization.capture_balance_cents:
            raise _refusal(PaymentErrorCode.NOT_VOIDABLE, "there is no authorized amount left to void")
        return [(authorization, authorization.capture_balance_cents)]

    return _settle(rows.VOIDS, order_id, parts)


def void_on_cancel(order: Order, unrecorded: Callable[[], None]) -> Callable[[], None] | None:
    """Void what is left of a cancelled order's authorization, inside the cancel's transaction: at once for a
    manual gateway; for an external one the balance is taken now and the returned function, run after the
    commit, asks the gateway (which retries) and writes the void, succeeded or not. A failure is logged,
    never raised: the cancel is already decided. An order placed before transactions were recorded has no
    authorization row: an external gateway is then asked by ``unrecorded``, and no row is written."""
    existing = rows.of_order(order.pk)
    authorization = rows.open_authorization(order.pk, existing)
    external = _external(order)
    if authorization is None:
        return unrecorded if external else None
    amount = authorization.capture_balance_cents or 0
    if not amount or not rows.take(rows.VOIDS, authorization, amount):
        return None
    if not external:
        number = rows.next_number(order, existing)
        rows.record(rows.VOIDS, order, amount, MANUAL_VOID, number=number, reference=authorization)
        return None

    def after_commit() -> None:
        try:
            result = _ask(rows.VOIDS, order, authorization, amount)
        except Exception as exc:
            log.exception("could not void the authorization of order %s", order.pk)
            result = GatewayResult(False, str(exc)[:255])
        if not result.success:
            log.warning(
                "the gateway did not void the authorization of order %s: %s", order.pk, result.message
            )
        try:
            with transaction.atomic():
                if not result.success:
                    rows.give_back(rows.VOIDS, authorization, amount)
                rows.record(rows.VOIDS, order, amount, result, reference=authorization)
        except Exception:
            # After the cancel's commit: raising would fail a request whose cancel is done.
            log.exception("could not record the void of order %s", order.pk)

    return after_commit


# --- the steps they share ---------------------------------------------------------------------------------


def _settle(kind: str, order_id: str, parts_of: Callable[[Order], Parts]) -> Order:
    """Take each part's amount, ask the gateway for each (outside any transaction if it is external), record
    each answer and the order's new payment status; the first refused part stops the rest and is a 422."""
    with transaction.atomic():
        order = lock_order(order_id)
        parts = parts_of(order)
        for reference, amount in parts:
            if not rows.take(kind, reference, amount):
                raise _refusal(PaymentErrorCode.EXCEEDS_BALANCE, "the balance changed: try again")
        if not _external(order):
            refused = _finish(kind, order, [(r, a, _ask(kind, order, r, a)) for r, a in parts])
    if _external(order):
        answers: list[tuple[Transaction, int, GatewayResult]] = []
        for reference, amount in parts:
            result = _ask(kind, order, reference, amount)
            answers.append((reference, amount, result))
            if not result.success:
                break
        for reference, amount in parts[len(answers) :]:
            answers.append(
                (reference, amount, GatewayResult(False, "not asked: an earlier part was refused"))
            )
        with transaction.atomic():
            order = lock_order(order_id)
            refused = _finish(kind, order, answers)
    if refused is not None:
        raise DomainError.of(_FAILED[kind], "base", refused.message or f"{kind} failed")
    return order


def _finish(
    kind: str, order: Order, answers: list[tuple[Transaction, int, GatewayResult]]
) -> GatewayResult | None:
    """Write each answer as a transaction (a part never asked is given back with no row), and the order's
    payment status; returns the first refusal, if any."""
    refused: GatewayResult | None = None
    for reference, amount, result in answers:
        if not result.success:
            rows.give_back(kind, reference, amount)
            if refused is not None:
                continue
            refused = result
        rows.record(kind, order, amount, result, reference=reference)
    status = _payment_status(order)
    if status != order.payment_status:
        with hooks.recording("orders", order):
            now = clock.now()
            Order.objects.filter(pk=order.pk).update(
                payment_status=status, payment_updated_at=now, updated_at=now
            )
            order.payment_status, order.payment_updated_at, order.updated_at = status, now, now
        if status == "paid":
            gift_cards.activate(order)
    return refused


def _payment_status(order: Order) -> str:
    """The order's payment status from its succeeded transactions."""
    total = rows.totals(order.pk)
    if total[rows.REFUNDS]:
        return "refunded" if total[rows.REFUNDS] >= total[rows.CAPTURES] else "partially_refunded"
    if total[rows.CAPTURES]:
        return "paid" if total[rows.CAPTURES] >= total[rows.AUTHORIZATIONS] else "partially_paid"
    if total[rows.VOIDS] and total[rows.VOIDS] >= total[rows.AUTHORIZATIONS]:
        return "voided"
    return order.payment_status


def _ask(kind: str, order: Order, reference: Transaction, amount: int) -> GatewayResult:
    call = _CALLS[kind]
    return call(
        cast("PaymentMethod", order.payment_method),
        payment_source_of(order),
        reference.token,
        order.pk,
        amount_cents=amount,
        currency_code=order.currency_code,
    )


def _external(order: Order) -> bool:
    method = cast("PaymentMethod | None", order.payment_method)
    return method is not None and method.payment_gateway_type == "external_gateways"


def _authorization(order: Order, authorization_id: str | None) -> Transaction | None:
    authorization = rows.open_authorization(order.pk)
    if authorization_id is not None and (authorization is None or authorization.pk != authorization_id):
        return None
    return authorization


def _check_amount(amount: Any, balance: int, attribute: str) -> None:
    if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
        raise DomainError.of(CommonErrorCode.GREATER_THAN, attribute, "must be greater than 0")
    if amount > balance:
        raise _refusal(
            PaymentErrorCode.EXCEEDS_BALANCE, f"cannot be more than the {balance} cents left", attribute
        )


def _refusal(code: PaymentErrorCode, message: str, attribute: str = "base") -> DomainError:
    return DomainError.of(code, attribute, message)
