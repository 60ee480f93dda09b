"""The taxes domain's error codes (core.errors): what a client reads as ``meta.error`` of a 422, and what a
copy will log as ``code`` once orders compute taxes."""

from __future__ import annotations

from orderfactory.core.errors import ErrorCode


class TaxErrorCode(ErrorCode):
    # An external calculator that did not answer, or failed on its side (5xx), may answer the next call.
    __retryable__ = frozenset({"CALCULATOR_UNREACHABLE", "CALCULATOR_FAILED"})

    INVALID = "invalid"
    TOO_LONG = "too_long"
    GREATER_THAN_OR_EQUAL_TO = "greater_than_or_equal_to"
    LESS_THAN_OR_EQUAL_TO = "less_than_or_equal_to"
    # A rule's regular expression ran past its time limit on an address (taxes.calculation).
    REGEX_TIMEOUT = "regex_timeout"
    # The calculator's URL is refused by the outbound rules (core.outbound) at the time of the call.
    CALCULATOR_REFUSED = "calculator_refused"
    # No answer: the name did not resolve, the connection was refused, reset or timed out.
    CALCULATOR_UNREACHABLE = "calculator_unreachable"
    # The calculator failed too many times in a row: no call until ``_reset_circuit``.
    CALCULATOR_CIRCUIT_OPEN = "calculator_circuit_open"
    # The calculator answered 5xx.
    CALCULATOR_FAILED = "calculator_failed"
    # The calculator refused the order: ``"success": false``, or a status other than 2xx and 5xx.
    CALCULATOR_DECLINED = "calculator_declined"
    # A 2xx answer that is not the document Commerce Layer's external tax calculators return.
    CALCULATOR_ANSWER_INVALID = "calculator_answer_invalid"
