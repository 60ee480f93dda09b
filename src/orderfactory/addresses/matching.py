"""Whether an address is one that a set of regular expressions on its codes describes: the rule Commerce Layer
uses for tax rules and for shipping zones alike (docs/decisions.md, "Taxes"). Pure: no query.

- Each of the country, state and zip code may have an expression, which must find a match in the address's
  code, and a ``not_`` one, which must not. An expression that is absent or empty is no condition.
- Matching is a search, as Ruby's ``=~`` is in Commerce Layer: ``JE1`` matches the zip ``JE1 1AA``; anchors
  (``^JE1$``) say otherwise. An address without a code matches no expression of it, and is excluded by none
  of its ``not_`` ones.
- Expressions run in the ``regex`` library with a time limit: a pathological one (catastrophic
  backtracking) raises ``RegexTimeout`` instead of holding a worker; the caller says whose expression it was.
"""

from __future__ import annotations

from typing import Any

import regex

from orderfactory.core.errors import CommonErrorCode, Problem, problem

CODES = ("country_code", "state_code", "zip_code")
# The expressions of a matcher (a tax rule, a shipping zone), as columns of the same names.
REGEX_COLUMNS = tuple(column for code in CODES for column in (f"{code}_regex", f"not_{code}_regex"))
# Commerce Layer's limit on each expression.
MAX_REGEX_LENGTH = 5000
# The longest an expression may search one code.
REGEX_TIMEOUT_SECONDS = 0.05


class RegexTimeout(Exception):
    """``column`` (e.g. ``zip_code_regex``) ran past the time limit."""

    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


def _found(pattern: str, value: str, column: str) -> bool:
    try:
        return regex.search(pattern, value, timeout=REGEX_TIMEOUT_SECONDS) is not None
    except TimeoutError:
        raise RegexTimeout(column) from None


def matches(expressions: Any, address: Any) -> bool:
    """Whether ``address`` (any object with ``country_code``, ``state_code`` and ``zip_code``) is described by
    ``expressions`` (any object with the attributes of ``REGEX_COLUMNS``)."""
    for name in CODES:
        value = getattr(address, name) or ""
        wanted = getattr(expressions, f"{name}_regex")
        excluded = getattr(expressions, f"not_{name}_regex")
        if wanted and not (value and _found(wanted, value, f"{name}_regex")):
            return False
        if excluded and value and _found(excluded, value, f"not_{name}_regex"):
            return False
    return True


def expression_problems(row: Any) -> list[Problem]:
    """Why each expression of ``row`` may not be stored: longer than Commerce Layer's limit, or not a regular
    expression. An empty one is no condition."""
    found = []
    for column in REGEX_COLUMNS:
        pattern = getattr(row, column)
        if not pattern:
            continue
        if len(pattern) > MAX_REGEX_LENGTH:
            message = f"is too long (maximum is {MAX_REGEX_LENGTH} characters)"
            found.append(problem(column, message, CommonErrorCode.TOO_LONG, count=MAX_REGEX_LENGTH))
            continue
        try:
            regex.compile(pattern)
        except (regex.error, ValueError, OverflowError, RecursionError):
            found.append(problem(column, "is not a valid regular expression", CommonErrorCode.INVALID))
    return found
