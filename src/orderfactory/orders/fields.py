"""Field helpers of the orders declarations: an amount's three attributes, triggers, the transactions'
relationships, and what an order's PATCH changes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import models

from orderfactory.core import money
from orderfactory.core import scope as scopes
from orderfactory.jsonapi import errors
from orderfactory.jsonapi.resource import Attr, Boolean, Float, Integer, Payload, Resource, String, ToMany

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


# Triggers Commerce Layer says "cannot be passed by sales channels": they move money. ``_refund_amount_cents``
# goes with ``_refund`` (docs/compatibility.md, Extensions).
STAFF_TRIGGERS = ("_capture", "_refund", "_refund_amount_cents")


def order_changes(payload: Payload, resource: type[Resource]) -> dict[str, Any]:
    """What an order's PATCH changes, as ``editing.change_order`` takes it: columns, and the payment source
    (its columns are set through its relationship only); a sales channel passing a staff trigger is refused."""
    refused = [name for name in STAFF_TRIGGERS if name in payload.triggers]
    if refused and scopes.current().application_kind == "sales_channel":
        raise errors.param_not_allowed(refused[0], pointer=f"/data/attributes/{refused[0]}")
    changes = payload.model_fields(resource)
    if "gift_card_or_coupon_code" in payload.attributes:  # computed when read: editing routes it
        changes["gift_card_or_coupon_code"] = payload.attributes["gift_card_or_coupon_code"]
    changes.pop("payment_source_type", None)
    changes.pop("payment_source_id", None)
    if "payment_source" in payload.relationships:
        changes["payment_source"] = payload.relationships["payment_source"]
    return changes


def transaction_relationships() -> tuple[ToMany, ...]:
    """The payments' transactions of an order (payments.models.Transaction.order_id), all and by type."""
    kinds = ("authorizations", "voids", "captures", "refunds")
    # All of them, each linked and included as its own kind; GET .../transactions lists them through the
    # transactions resource, which names each one's kind in its ``type`` attribute.
    every = ToMany("transactions", kinds, "f", reverse="order_id", listed_as="transactions")
    return (every, *(ToMany(name, name, "f", reverse="order_id") for name in kinds))
