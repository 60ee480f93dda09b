"""The codes of what payments refuse. ``BLANK`` is a missing payment source, which the customer can still
add (retryable, unlike ``CommonErrorCode.BLANK``); an authorization the gateway refused may pass later."""

from __future__ import annotations

from typing import ClassVar

from orderfactory.core.errors import ErrorCode


class PaymentErrorCode(ErrorCode):
    __retryable__: ClassVar[frozenset[str]] = frozenset({"BLANK", "AUTHORIZATION_FAILED"})

    BLANK = "blank"
    AUTHORIZATION_FAILED = "authorization_failed"
