"""Why a copy did not go as asked, as ``errors_log`` and ``errors_details``: every refusal the copy meets is
a ``DomainError``, whose codes say whether a later attempt may succeed (``retryable``); ``code_of`` reads a
stored entry's code back as its member."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.core.errors import CommonErrorCode, DomainError, ErrorCode, Problem
from orderfactory.factories.error_codes import FactoryErrorCode
from orderfactory.giftcards.error_codes import GiftCardErrorCode
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.payments.error_codes import PaymentErrorCode
from orderfactory.promotions.services import CouponReason

# What a failed copy's errors_log holds: attribute -> messages; its codes: attribute -> code.
Log = dict[str, list[str]]
Codes = dict[str, ErrorCode]

# The codes of a refusal that tell how a subscription's retry policy treats it (subscriptions' failure_kind):
# stock that ran out, a payment declined or missing. Members, told apart by identity (``is_one_of``): a
# ``StrEnum`` member equals, and hashes as, any other of the same value (``CommonErrorCode.BLANK`` is not
# a payment's).
STOCK_CODES: frozenset[ErrorCode] = frozenset({OrderErrorCode.OUT_OF_STOCK})
PAYMENT_CODES: frozenset[ErrorCode] = frozenset(
    {PaymentErrorCode.BLANK, PaymentErrorCode.AUTHORIZATION_FAILED}
)


def is_one_of(code: ErrorCode | None, codes: Collection[ErrorCode]) -> bool:
    return any(code is member for member in codes)


# The code families a copy's problem on an attribute carries, tried first when a stored errors_details entry
# (which holds a code's value only) is read back as its member; then the orders' and the common codes.
FAMILIES_OF_ATTRIBUTE: dict[str, tuple[type[ErrorCode], ...]] = {
    "line_items": (OrderErrorCode,),
    "payment_source": (PaymentErrorCode,),
    "coupon_code": (FactoryErrorCode, CouponReason),
    "gift_card_code": (FactoryErrorCode, GiftCardErrorCode),
    "shipping_method": (ShippingErrorCode,),
    "source_order": (FactoryErrorCode,),
    "order_subscription": (FactoryErrorCode,),
    "base": (FactoryErrorCode,),
}


def code_of(entry: Mapping[str, Any]) -> ErrorCode | None:
    """The code member of an ``errors_details`` entry: the first of its attribute's families (then the
    orders', then the common ones) with a member of its value and its retryability; None if none has."""
    families: tuple[type[ErrorCode], ...] = (
        *FAMILIES_OF_ATTRIBUTE.get(entry.get("attribute", ""), ()),
        OrderErrorCode,
        CommonErrorCode,
    )
    for family in families:
        try:
            member = family(str(entry.get("code")))
        except ValueError:
            continue
        if member.retryable == bool(entry.get("retryable")):
            return member
    return None


def reasons(failure: DomainError) -> tuple[Log, Codes]:
    """A refusal as errors_log (attribute -> messages) and its codes (attribute -> code)."""
    return failure.log, {p.attribute: p.code for p in failure.problems}


def details(log: Log, codes: Codes) -> list[dict[str, Any]]:
    """errors_log as errors_details: {attribute, message, code, retryable} per message (an extension)."""
    if not log:
        return []
    return DomainError(
        Problem(codes.get(attribute, CommonErrorCode.INVALID), attribute, message)
        for attribute, messages in log.items()
        for message in messages
    ).details


def count(log: Log) -> int:
    return sum(len(v) for v in log.values())


def merge(a: Log, b: Log) -> Log:
    out = {k: list(v) for k, v in a.items()}
    for k, v in b.items():
        out.setdefault(k, []).extend(m for m in v if m not in out.get(k, []))
    return out


# Why a copy is aborted before it starts: what it copies is gone or no longer runs.
ABORT_CODES: Codes = {
    "source_order": FactoryErrorCode.SOURCE_ORDER_UNAVAILABLE,
    "order_subscription": FactoryErrorCode.SUBSCRIPTION_INACTIVE,
}
