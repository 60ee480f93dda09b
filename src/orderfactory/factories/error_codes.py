"""The codes a copy records of its own in ``errors_details`` (the orders, payments and promotions it calls
refuse with theirs)."""

from __future__ import annotations

from orderfactory.core.errors import ErrorCode


class FactoryErrorCode(ErrorCode):
    SOURCE_ORDER_UNAVAILABLE = "source_order_unavailable"
    SUBSCRIPTION_INACTIVE = "subscription_inactive"
    # the copy's worker died once too often: nothing is wrong with the data, a new copy may well succeed
    ATTEMPTS_EXHAUSTED = "attempts_exhausted"
    COUPON_DROPPED = "coupon_dropped"
    GIFT_CARD_DROPPED = "gift_card_dropped"  # the source's card can pay no more: the copy goes without it
    GIFT_CARD_NOT_COPIED = "gift_card_not_copied"  # a gift card the source sold: bought once, not again
    SOURCE_NOT_CANCELLED = "not_cancelled"
    # copy policies (factories.policies): a line stock could not cover, dropped from the copy or reduced
    LINE_DROPPED = "line_dropped"
    LINE_REDUCED = "line_reduced"
    # a copy made from a preview (factories.previews)
    PREVIEW_EXPIRED = "preview_expired"
    PREVIEW_OUTDATED = "preview_outdated"
    PREVIEW_MISMATCH = "preview_mismatch"
    # the copy's batch was cancelled before the copy started (factories/batches.py)
    BATCH_CANCELLED = "batch_cancelled"

    __retryable__ = frozenset({"ATTEMPTS_EXHAUSTED"})
