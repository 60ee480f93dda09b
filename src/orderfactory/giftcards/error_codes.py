"""The codes of what a gift card refuses: a trigger out of turn, a balance change beyond its limits, a code an
order cannot redeem (``meta.error`` of the 422 on ``gift_card_code``, ``code`` of a copy's ``errors_details``)."""

from __future__ import annotations

from typing import ClassVar

from orderfactory.core.errors import ErrorCode


class GiftCardErrorCode(ErrorCode):
    # The balance another order took meanwhile may come back (its cancel gives it back).
    __retryable__: ClassVar[frozenset[str]] = frozenset({"INSUFFICIENT_BALANCE"})

    INACTIVE = "inactive"  # draft, inactive or redeemed: not usable yet, or no more
    EXPIRED = "expired"
    CURRENCY_MISMATCH = "currency_mismatch"
    MARKET_MISMATCH = "market_mismatch"
    NO_BALANCE = "no_balance"
    INSUFFICIENT_BALANCE = "insufficient_balance"  # at placing: less left than the order counted on
    NOT_RECHARGEABLE = "not_rechargeable"
    BALANCE_MAX = "balance_max"
    NOT_PURCHASABLE = "not_purchasable"  # as a line item: only a draft card, once
