"""The codes of what payments refuse. ``BLANK`` is a missing payment source, which the customer can still
add (retryable, unlike ``CommonErrorCode.BLANK``); an authorization, capture, void or refund the gateway
refused may pass later (a timeout, a gateway down); an amount beyond what is left to take never will."""

from __future__ import annotations

from typing import ClassVar

from orderfactory.core.errors import ErrorCode


class PaymentErrorCode(ErrorCode):
    __retryable__: ClassVar[frozenset[str]] = frozenset(
        {"BLANK", "AUTHORIZATION_FAILED", "CAPTURE_FAILED", "VOID_FAILED", "REFUND_FAILED"}
    )

    BLANK = "blank"
    AUTHORIZATION_FAILED = "authorization_failed"
    CAPTURE_FAILED = "capture_failed"
    VOID_FAILED = "void_failed"
    REFUND_FAILED = "refund_failed"
    NOT_CAPTURABLE = "not_capturable"  # no open authorization (not placed, voided, captured in full)
    NOT_REFUNDABLE = "not_refundable"  # nothing captured is left to refund
    NOT_VOIDABLE = "not_voidable"  # nothing authorized is left to void
    EXCEEDS_BALANCE = "exceeds_balance"  # more than what is left to capture or refund
    NOT_SUPPORTED = "not_supported"  # an attribute or trigger we do not perform
    PARTIAL_CAPTURE_NOT_SUPPORTED = "partial_capture_not_supported"  # a manual gateway captures in full
