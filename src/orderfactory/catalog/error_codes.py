"""The codes of what the shipping rules refuse (``meta.error`` of a 422, ``code`` of a copy's
``errors_details``); the catalog's writes use ``CommonErrorCode``'s."""

from __future__ import annotations

from orderfactory.core.errors import ErrorCode


class ShippingErrorCode(ErrorCode):
    # A shipment's shipping method that does not serve it (its zone, its weight range, its tiers, its market,
    # shipping category or stock location): chosen by a client, or a copy's that no longer applies.
    SHIPPING_METHOD_UNAVAILABLE = "shipping_method_unavailable"
    # A copy went on without the source's shipping method, which no longer applies (skip_errors).
    SHIPPING_METHOD_DROPPED = "shipping_method_dropped"
    # A shipping zone's regular expression ran past its time limit on an address (addresses.matching).
    REGEX_TIMEOUT = "regex_timeout"
