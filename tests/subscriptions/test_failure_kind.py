"""How a run's retry policy reads a failed attempt (``failure_kind``): from the code members of its stored
``errors_details``, read back by attribute, value and retryability; never from a message's text."""

from __future__ import annotations

from typing import Any

from orderfactory.core.errors import CommonErrorCode
from orderfactory.factories.error_codes import FactoryErrorCode
from orderfactory.factories.failures import code_of
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.payments.error_codes import PaymentErrorCode
from orderfactory.subscriptions.services import failure_kind


def entry(attribute: str, code: str, retryable: bool, message: str = "is wrong") -> dict[str, Any]:
    return {"attribute": attribute, "message": message, "code": code, "retryable": retryable}


def test_a_stored_code_reads_back_as_the_member_of_its_domain_not_another_of_the_same_value() -> None:
    assert code_of(entry("payment_source", "blank", True)) is PaymentErrorCode.BLANK
    assert code_of(entry("billing_address", "blank", False)) is CommonErrorCode.BLANK
    assert code_of(entry("line_items", "out_of_stock", True)) is OrderErrorCode.OUT_OF_STOCK
    assert code_of(entry("base", "attempts_exhausted", True)) is FactoryErrorCode.ATTEMPTS_EXHAUSTED
    assert code_of(entry("line_items", "no_such_code", False)) is None


def test_stock_comes_before_payment_and_only_retryable_problems_count() -> None:
    stock = entry("line_items", "out_of_stock", True)
    declined = entry("payment_source", "authorization_failed", True)
    missing = entry("payment_source", "blank", True)
    assert failure_kind([declined, stock], {}) == "stock"
    assert failure_kind([missing], {}) == "payment"
    assert failure_kind([declined], {}) == "payment"
    assert failure_kind([entry("billing_address", "blank", False)], {}) == "other"
    assert failure_kind([entry("base", "attempts_exhausted", True)], {}) == "other"


def test_a_message_that_says_out_of_stock_decides_nothing() -> None:
    said = entry("line_items", "invalid", False, message="TSHIRT is out of stock")
    assert failure_kind([said], {"line_items": [said["message"]]}) == "other"


def test_an_attempt_written_before_codes_existed_is_read_from_its_log_keys() -> None:
    assert failure_kind([], {"payment_source": ["can't be blank"]}) == "payment"
    assert failure_kind([], {"line_items": ["TSHIRT is out of stock"]}) == "other"
