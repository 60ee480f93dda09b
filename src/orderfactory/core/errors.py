"""The one error family of the domain: services raise ``DomainError``, a list of ``Problem``s, each a code, the
attribute it is about and a message. The HTTP layer renders it in one place (``jsonapi.errors.render``) as
Commerce Layer's 422 VALIDATION_ERROR; a failed copy writes it as ``errors_log`` and ``errors_details``.

Codes are ``StrEnum``s, one per domain (as Saleor's ``*/error_codes.py``), subclasses of ``ErrorCode``; the
value is the code a client reads (``meta.error`` of the 422, ``code`` of ``errors_details``). Whether a later
attempt may succeed without anyone fixing data is a property of the code: a domain lists its retryable
members' names in ``__retryable__``. Two domains may share a wire value and differ in retryability
(``PaymentErrorCode.BLANK`` is retryable, ``CommonErrorCode.BLANK`` is not): nothing here compares codes by
value across domains, and no decision anywhere reads a message's text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar


class ErrorCode(StrEnum):
    """Base of every domain's codes; has no members of its own."""

    __retryable__: ClassVar[frozenset[str]] = frozenset()

    @property
    def retryable(self) -> bool:
        return self.name in type(self).__retryable__


class CommonErrorCode(ErrorCode):
    """Codes any domain may use (Rails' validation error names, as Commerce Layer reports them)."""

    BLANK = "blank"
    INVALID = "invalid"
    TAKEN = "taken"
    INCLUSION = "inclusion"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    GREATER_THAN = "greater_than"
    GREATER_THAN_OR_EQUAL_TO = "greater_than_or_equal_to"
    LESS_THAN_OR_EQUAL_TO = "less_than_or_equal_to"
    TRANSITION = "transition"
    NOT_FOUND = "not_found"
    LOCKED = "locked"


@dataclass(frozen=True)
class Problem:
    """One thing wrong: ``attribute`` names an attribute or relationship of the resource acted on (``base``
    when none); ``pointer`` overrides where the 422 points (default: the attribute, or the relationship when
    the resource declares one of that name); ``meta`` adds to the 422's meta (e.g. the refused ``value``)."""

    code: ErrorCode
    attribute: str
    message: str
    pointer: str | None = None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def retryable(self) -> bool:
        return self.code.retryable


def problem(
    attribute: str,
    message: str,
    code: ErrorCode = CommonErrorCode.INVALID,
    *,
    pointer: str | None = None,
    **meta: Any,
) -> Problem:
    """A ``Problem``, its arguments in the order a 422 reads (attribute, message, code)."""
    return Problem(code, attribute, message, pointer, meta)


def blank(attribute: str, *, relationship: bool = False) -> Problem:
    """``<attribute> - can't be blank``; a relationship's points at the relationship."""
    return Problem(
        CommonErrorCode.BLANK,
        attribute,
        "can't be blank",
        f"/data/relationships/{attribute}" if relationship else None,
    )


class DomainError(Exception):
    """What a service refuses, with every problem found (at least one). ``status`` is 422 unless the code says
    the thing acted on is missing (404) or in a state that forbids the action on it as a whole (423)."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        if not self.problems:
            raise ValueError("a DomainError needs at least one problem")
        super().__init__("; ".join(f"{p.attribute}: {p.message}" for p in self.problems))

    @classmethod
    def of(
        cls,
        code: ErrorCode,
        attribute: str,
        message: str,
        *,
        pointer: str | None = None,
        **meta: Any,
    ) -> DomainError:
        return cls([Problem(code, attribute, message, pointer, meta)])

    @property
    def log(self) -> dict[str, list[str]]:
        """As ``errors_log``: attribute -> messages, in the order found."""
        out: dict[str, list[str]] = {}
        for p in self.problems:
            out.setdefault(p.attribute, []).append(p.message)
        return out

    @property
    def details(self) -> list[dict[str, Any]]:
        """As ``errors_details``: one entry per problem, with its code and whether it is retryable."""
        return [
            {
                "attribute": p.attribute,
                "message": p.message,
                "code": str(p.code),
                "retryable": p.retryable,
            }
            for p in self.problems
        ]


class Problems:
    """Collects problems while checking; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    def add(
        self,
        attribute: str,
        message: str,
        code: ErrorCode = CommonErrorCode.INVALID,
        *,
        pointer: str | None = None,
        **meta: Any,
    ) -> None:
        self.found.append(Problem(code, attribute, message, pointer, meta))

    def __bool__(self) -> bool:
        return bool(self.found)

    def raise_if_any(self) -> None:
        if self.found:
            raise DomainError(self.found)
