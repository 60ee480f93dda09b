"""The codes of what the subscription use-cases refuse beyond ``CommonErrorCode``'s (``meta.error`` of the
422). None is retryable: each needs someone to change the subscription or its source order."""

from __future__ import annotations

from orderfactory.core.errors import ErrorCode


class SubscriptionErrorCode(ErrorCode):
    NOT_PLACED = "not_placed"  # a subscription activated by its source order needs a placed one
