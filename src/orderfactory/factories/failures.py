"""Why a copy did not go as asked, as ``errors_log`` and ``errors_details``: every refusal the copy meets
becomes one ``DomainError`` here, whose codes say whether a later attempt may succeed (``retryable``)."""

from __future__ import annotations

from typing import Any, cast

from orderfactory.core.errors import CommonErrorCode, DomainError, ErrorCode, Problem
from orderfactory.factories.error_codes import FactoryErrorCode
from orderfactory.jsonapi import errors

# What a failed copy's errors_log holds: attribute -> messages; its codes: attribute -> code.
Log = dict[str, list[str]]
Codes = dict[str, ErrorCode]

# The codes of a refusal that tell how a subscription's retry policy treats it (subscriptions' failure_kind):
# stock that ran out, a payment declined or missing. Only retryable problems count.
STOCK_CODES = frozenset({"out_of_stock"})
PAYMENT_CODES = frozenset({"authorization_failed", "blank"})

# Refusals the copy handles: the domain error, and the two kinds raised before it existed.
REFUSALS = (DomainError, errors.ApiErrors)


def as_domain(exc: Exception) -> DomainError:
    """A refusal met by the copy as one domain error."""
    if isinstance(exc, DomainError):
        return exc
    # transitional: removed at integration (every service raises DomainError)
    assert isinstance(exc, errors.ApiErrors)
    return DomainError(
        Problem(_legacy(attribute, str((e.meta or {}).get("error", "invalid"))), attribute, e.title)
        for e in exc.errors
        for attribute in [(e.pointer or "/base").rsplit("/", 1)[-1]]
    )


# transitional: removed at integration. The (attribute, code) pairs of a legacy refusal that a later attempt
# may overcome without anyone fixing data: stock comes back, a declined or missing payment can be retried
# after the customer acts. With the domain error family these are properties of the orders' codes.
_LEGACY_RETRYABLE = {
    ("line_items", "out_of_stock"),
    ("payment_source", "authorization_failed"),
    ("payment_source", "blank"),
}


class _LegacyCode(str):
    """transitional: removed at integration. A code of a legacy refusal, as an ``ErrorCode`` reads."""

    retryable: bool


def _legacy(attribute: str, code: str) -> ErrorCode:
    value = _LegacyCode(code)
    value.retryable = (attribute, code) in _LEGACY_RETRYABLE
    return cast(ErrorCode, value)


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


def coupon_code(reason: Any) -> ErrorCode:
    """transitional: removed at integration. The code of a coupon the copy may not keep (promotions'
    ``CouponReason``, which becomes an ``ErrorCode`` of the promotions)."""
    return reason if isinstance(reason, ErrorCode) else _legacy("coupon_code", str(reason.value))
