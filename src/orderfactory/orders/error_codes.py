"""The codes of what the order use-cases refuse (``meta.error`` of the 422, ``code`` of a failed copy's
``errors_details``). Codes shared with other domains (blank, invalid, taken, ...) are ``CommonErrorCode``'s;
a payment source's are ``PaymentErrorCode``'s; a coupon's are ``CouponErrorCode``'s. A new code goes here,
and into ``__retryable__`` when a later attempt may succeed without anyone fixing data."""

from __future__ import annotations

from typing import ClassVar

from orderfactory.core.errors import ErrorCode


class OrderErrorCode(ErrorCode):
    __retryable__: ClassVar[frozenset[str]] = frozenset({"OUT_OF_STOCK", "CHANGED_MEANWHILE"})

    OUT_OF_STOCK = "out_of_stock"  # stock comes back
    TRANSITION = "transition"
    NOT_EDITABLE = "not_editable"
    DISABLED = "disabled"  # the market or the payment method
    OUT_OF_RANGE = "out_of_range"  # a total beyond the range of amounts
    NO_PRICE = "no_price"  # the SKU has no price in the order's market
    READ_ONLY = "read_only"
    SHIPPING_METHOD_BLANK = "shipping_method_blank"
    NOT_SUPPORTED = "not_supported"  # a trigger we do not perform
    IMMUTABLE = "immutable"
    # The market has a tax calculator and the order does not carry its taxes (an external calculator not
    # called since the order last changed, or a calculator given to the market since): ``_update_taxes``.
    TAXES_NOT_CALCULATED = "taxes_not_calculated"
    CHANGED_MEANWHILE = "changed_meanwhile"  # the order changed while a remote call was made for it
    # The market has a customer group and the order's customer is not in it (or is a guest).
    PRIVATE_MARKET = "private_market"
