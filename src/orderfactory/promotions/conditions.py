"""The rules beside coupon codes: an order amount minimum, and a custom rule's ``filters``, Ransack predicates
(``<attribute>_<predicate>``) on the order and its line items (``line_items_<attribute>_<predicate>``, true
when any line matches), as Commerce Layer's ``{"status_eq": "pending", "line_items_sku_code_eq": "AAA"}``.

The attributes and predicates served are listed below; any other key is refused when the rule is written
(422 ``invalid`` on ``filters``), never ignored (docs/compatibility.md). Evaluated in memory on the order as
it is being priced, so an order not written yet (a copy's target) is matched as well as a stored one."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_ATTRIBUTES = (
    "status",
    "payment_status",
    "fulfillment_status",
    "currency_code",
    "language_code",
    "country_code",
    "customer_email",
    "guest",
    "coupon_code",
    "tax_included",
    "market_id",
    "customer_id",
    "reference",
    "reference_origin",
    "skus_count",
    "subtotal_amount_cents",
    "shipping_amount_cents",
)
LINE_ATTRIBUTES = (
    "sku_code",
    "bundle_code",
    "item_type",
    "name",
    "quantity",
    "unit_amount_cents",
    "total_amount_cents",
)


def _number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _compare(op: Callable[[Decimal, Decimal], bool]) -> Callable[[Any, Any], bool]:
    def check(actual: Any, expected: Any) -> bool:
        a, e = _number(actual), _number(expected)
        return a is not None and e is not None and op(a, e)

    return check


def _text(actual: Any) -> str:
    return "" if actual is None else str(actual)


def _truthy(value: Any) -> bool:
    return value in (True, "true", "1", 1, "t")


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool):
        return actual == _truthy(expected)
    if isinstance(actual, int):
        number = _number(expected)
        return number is not None and actual == number
    return _text(actual) == _text(expected)


def _like(pattern: Any) -> str:
    """SQL LIKE (Ransack's ``matches``) as a regular expression: ``%`` any run, ``_`` any one character."""
    return re.escape(str(pattern)).replace("%", ".*").replace("_", ".")


def _in(actual: Any, expected: Any) -> bool:
    values = expected if isinstance(expected, list) else str(expected).split(",")
    return any(_same(actual, v) for v in values)


PREDICATES: dict[str, Callable[[Any, Any], bool]] = {
    "not_eq": lambda a, e: not _same(a, e),
    "eq": _same,
    "not_in": lambda a, e: not _in(a, e),
    "in": _in,
    "gteq": _compare(lambda a, e: a >= e),
    "gt": _compare(lambda a, e: a > e),
    "lteq": _compare(lambda a, e: a <= e),
    "lt": _compare(lambda a, e: a < e),
    "not_cont": lambda a, e: str(e).lower() not in _text(a).lower(),
    "cont": lambda a, e: str(e).lower() in _text(a).lower(),
    "start": lambda a, e: _text(a).startswith(str(e)),
    "end": lambda a, e: _text(a).endswith(str(e)),
    "matches": lambda a, e: re.fullmatch(_like(e), _text(a), re.DOTALL) is not None,
    "null": lambda a, e: (a is None) == _truthy(e),
    "present": lambda a, e: (_text(a).strip() != "") == _truthy(e),
    "blank": lambda a, e: (_text(a).strip() == "") == _truthy(e),
    "true": lambda a, e: (a is True) == _truthy(e),
    "false": lambda a, e: (a is False) == _truthy(e),
}
# Longest suffix first: ``not_eq`` before ``eq``, ``gteq`` before ``eq``.
_SUFFIXES = sorted(PREDICATES, key=len, reverse=True)


def parse(key: str) -> tuple[bool, str, str] | None:
    """``line_items_sku_code_eq`` -> (True, "sku_code", "eq"); None for a key not served."""
    for suffix in _SUFFIXES:
        if key.endswith("_" + suffix):
            field = key[: -len(suffix) - 1]
            if field.startswith("line_items_") and field.removeprefix("line_items_") in LINE_ATTRIBUTES:
                return True, field.removeprefix("line_items_"), suffix
            if field in ORDER_ATTRIBUTES:
                return False, field, suffix
            return None
    return None


def unknown_keys(filters: Any) -> list[str]:
    """The keys of ``filters`` (which must be an object) that are not served predicates."""
    if not isinstance(filters, Mapping):
        return ["(not an object)"]
    return [key for key in filters if not isinstance(key, str) or parse(key) is None]


def matches(filters: Mapping[str, Any], order: Mapping[str, Any], lines: Iterable[Mapping[str, Any]]) -> bool:
    """Every predicate holds (Ransack's default ``and``); a line item predicate holds for some line."""
    line_list = list(lines)
    for key, expected in filters.items():
        parsed = parse(key)
        if parsed is None:
            return False
        on_lines, field, predicate = parsed
        check = PREDICATES[predicate]
        if on_lines:
            if not any(check(line.get(field), expected) for line in line_list):
                return False
        elif not check(order.get(field), expected):
            return False
    return True
