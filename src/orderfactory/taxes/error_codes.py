"""The taxes domain's error codes (core.errors): what a client reads as ``meta.error`` of a 422, or as ``code``
of a copy's ``errors_details`` once orders compute taxes."""

from __future__ import annotations

from orderfactory.core.errors import ErrorCode


class TaxErrorCode(ErrorCode):
    # An external calculator that did not answer, or answered 5xx, may answer the next call.
    __retryable__ = frozenset({"CALCULATOR_UNREACHABLE", "CALCULATOR_FAILED"})

    BLANK = "blank"
    INVALID = "invalid"
    TOO_LONG = "too_long"
    GREATER_THAN_OR_EQUAL_TO = "greater_than_or_equal_to"
    LESS_THAN_OR_EQUAL_TO = "less_than_or_equal_to"
    # The calculator's URL is refused by the outbound rules (core.outbound), now that it is called.
    CALCULATOR_REFUSED = "calculator_refused"
    # No answer: the name did not resolve, the connection was refused or timed out.
    CALCULATOR_UNREACHABLE = "calculator_unreachable"
    # An answer that is not a success: a non-2xx status (5xx is retryable as unreachable is, 4xx is not).
    CALCULATOR_FAILED = "calculator_failed"
    CALCULATOR_DECLINED = "calculator_declined"
    # A 2xx answer that is not the document Commerce Layer's external tax calculators return.
    CALCULATOR_ANSWER_INVALID = "calculator_answer_invalid"
