"""Field helpers of the orders declarations: an amount's three attributes, and triggers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models

from orderfactory.core import money
from orderfactory.jsonapi.resource import Attr, Boolean, Float, Integer, String

Row = dict[str, Any]


def amount(
    stem: str,
    flags: str = "F",
    *,
    cents: str | Callable[[Row], int] | None = None,
    depends: Sequence[str] = (),
    zero: bool = False,
) -> tuple[Attr, ...]:
    """``<stem>_cents``, ``<stem>_float`` and ``formatted_<stem>`` for an amount stored in a column (default
    ``<stem>_cents``), computed from the row, or always 0 (``zero``: amounts we do not model, such as taxes;
    a constant of the query, so that filters and sorts compare it as they do a column)."""
    if zero:
        cents = always_zero
    if cents is None or isinstance(cents, str):
        column = cents or f"{stem}_cents"
        return money.money(f"{stem}_cents", f"{stem}_float", f"formatted_{stem}", flags=flags, column=column)
    fn = cents
    deps = (*depends, "currency_code")
    return (
        Integer(f"{stem}_cents", flags, expression=_ZERO)
        if zero
        else Integer(f"{stem}_cents", flags, compute=fn, depends=deps),
        Float(
            f"{stem}_float",
            "F",
            compute=lambda row: money.to_float(fn(row), row["currency_code"]),
            depends=deps,
        ),
        String(
            f"formatted_{stem}",
            "F",
            compute=lambda row: money.format_amount(fn(row), row["currency_code"]),
            depends=deps,
        ),
    )


_ZERO = models.Value(0, output_field=models.IntegerField())


def always_zero(row: Row) -> int:
    return 0


def triggers(*names: str, kind: type[Attr] = Boolean, flags: str = "U") -> tuple[Attr, ...]:
    return tuple(kind(name, flags, trigger=True) for name in names)
