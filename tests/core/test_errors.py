"""The domain's one error family (orderfactory.core.errors): what a client reads of it, rendered in the one
place the HTTP layer has (jsonapi.errors.render), and what a failed copy would log of it."""

from __future__ import annotations

import orjson

from orderfactory.core.errors import CommonErrorCode, DomainError, ErrorCode, Problems
from orderfactory.jsonapi import errors


class PaymentCode(ErrorCode):
    __retryable__ = frozenset({"BLANK", "AUTHORIZATION_FAILED"})

    BLANK = "blank"
    AUTHORIZATION_FAILED = "authorization_failed"
    GATEWAY_REFUSED = "gateway_refused"


def _rendered(exc: DomainError) -> tuple[int, list[dict]]:
    response = errors.render(exc)
    return response.status_code, orjson.loads(response.content)["errors"]


def test_a_domain_error_is_rendered_as_commerce_layers_422_one_entry_per_problem() -> None:
    problems = Problems()
    problems.add("quantity", "must be greater than 0", CommonErrorCode.GREATER_THAN, value=0)
    problems.add("payment_source", "can't be blank", PaymentCode.BLANK)
    try:
        problems.raise_if_any()
    except DomainError as exc:
        status, body = _rendered(exc)
    assert status == 422
    assert body == [
        {
            "title": "must be greater than 0",
            "detail": "quantity - must be greater than 0",
            "code": "VALIDATION_ERROR",
            "status": "422",
            "source": {"pointer": "/data/attributes/quantity"},
            "meta": {"error": "greater_than", "value": 0},
        },
        {
            "title": "can't be blank",
            "detail": "payment_source - can't be blank",
            "code": "VALIDATION_ERROR",
            "status": "422",
            "source": {"pointer": "/data/attributes/payment_source"},
            "meta": {"error": "blank"},
        },
    ]


def test_a_problem_can_point_at_a_relationship() -> None:
    exc = DomainError.of(
        CommonErrorCode.BLANK, "market", "can't be blank", pointer="/data/relationships/market"
    )
    assert _rendered(exc)[1][0]["source"] == {"pointer": "/data/relationships/market"}


def test_missing_and_locked_codes_are_rendered_as_404_and_423() -> None:
    status, body = _rendered(DomainError.of(CommonErrorCode.NOT_FOUND, "base", ""))
    assert (status, body[0]["code"]) == (404, "RECORD_NOT_FOUND")
    status, body = _rendered(DomainError.of(CommonErrorCode.LOCKED, "base", "An order cannot be deleted."))
    assert (status, body[0]["code"], body[0]["detail"]) == (423, "LOCKED", "An order cannot be deleted.")


def test_retryable_is_a_property_of_the_code_not_of_its_wire_value() -> None:
    assert PaymentCode.BLANK.retryable
    assert not CommonErrorCode.BLANK.retryable
    assert str(PaymentCode.BLANK) == str(CommonErrorCode.BLANK) == "blank"
    assert not PaymentCode.GATEWAY_REFUSED.retryable


def test_log_and_details_are_what_a_failed_copy_writes() -> None:
    exc = DomainError(
        [
            *DomainError.of(PaymentCode.AUTHORIZATION_FAILED, "payment_source", "declined").problems,
            *DomainError.of(CommonErrorCode.INVALID, "line_items", "a").problems,
            *DomainError.of(CommonErrorCode.INVALID, "line_items", "b").problems,
        ]
    )
    assert exc.log == {"payment_source": ["declined"], "line_items": ["a", "b"]}
    assert exc.details[0] == {
        "attribute": "payment_source",
        "message": "declined",
        "code": "authorization_failed",
        "retryable": True,
    }
    assert [d["retryable"] for d in exc.details] == [True, False, False]
