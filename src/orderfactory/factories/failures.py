"""Why a copy did not go as asked, as ``errors_log`` and ``errors_details``: every refusal the copy meets is
a ``DomainError``, whose codes say whether a later attempt may succeed (``retryable``); ``code_of`` reads a
stored entry's code back as its member."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from orderfactory.catalog.error_codes import ShippingErrorCode
from orderfactory.core.errors import CommonErrorCode, DomainError, ErrorCode, Problem
from orderfactory.factories.error_codes import FactoryErrorCode
from orderfactory.giftcards.error_codes import GiftCardErrorCode
from orderfactory.orders.error_codes import OrderErrorCode
from orderfactory.payments.error_codes import PaymentErrorCode
from orderfactory.promotions.services import CouponReason
from orderfactory.taxes.error_codes import TaxErrorCode

# What a failed copy's errors_log holds: attribute -> messages; its codes: attribute -> code.
Log = dict[str, list[str]]
Codes = dict[str, ErrorCode]


@dataclass(frozen=True)
class LineNote:
    """What ``errors_details`` adds to a message about one line of the source (an extension): a JSON pointer
    to it (``/line_items/<id>``, ``/order_subscription_items/<id>`` for a run's item) and its ``sku_code``;
    ``code``: the message's own when it is not its attribute's (a line dropped, another reduced)."""

    pointer: str | None
    sku_code: str | None
    code: ErrorCode | None = None


# message -> what it says of its line
Lines = dict[str, LineNote]


class Notes(dict[str, list[str]]):
    """What the copy notes as it builds (``errors_log``'s shape), with ``lines``: the notes about a line; and
    ``facts``: each line's facts (factories.policies.LineFact), when asked for (a preview, a copy made from
    one), else None."""

    def __init__(self, *, facts: bool = False) -> None:
        super().__init__()
        self.lines: Lines = {}
        self.facts: list[Any] | None = [] if facts else None

    def about_line(self, attribute: str, message: str, note: LineNote) -> None:
        self.setdefault(attribute, []).append(message)
        self.lines[message] = note


# The codes of a refusal that tell how a subscription's retry policy treats it (subscriptions' failure_kind):
# stock that ran out, a payment declined or missing. Members, told apart by identity (``is_one_of``): a
# ``StrEnum`` member equals, and hashes as, any other of the same value (``CommonErrorCode.BLANK`` is not
# a payment's).
STOCK_CODES: frozenset[ErrorCode] = frozenset({OrderErrorCode.OUT_OF_STOCK})
PAYMENT_CODES: frozenset[ErrorCode] = frozenset(
    {PaymentErrorCode.BLANK, PaymentErrorCode.AUTHORIZATION_FAILED}
)


def is_one_of(code: ErrorCode | None, codes: Collection[ErrorCode]) -> bool:
    return any(code is member for member in codes)


# The code families a copy's problem on an attribute carries, tried first when a stored errors_details entry
# (which holds a code's value only) is read back as its member; then the orders' and the common codes.
FAMILIES_OF_ATTRIBUTE: dict[str, tuple[type[ErrorCode], ...]] = {
    "line_items": (OrderErrorCode, FactoryErrorCode),
    "preview": (FactoryErrorCode,),
    "payment_source": (PaymentErrorCode,),
    "coupon_code": (FactoryErrorCode, CouponReason),
    "gift_card_code": (FactoryErrorCode, GiftCardErrorCode),
    "shipping_method": (ShippingErrorCode,),
    "tax_calculator": (TaxErrorCode,),
    "source_order": (FactoryErrorCode,),
    "order_subscription": (FactoryErrorCode,),
    "base": (FactoryErrorCode,),
}


def code_of(entry: Mapping[str, Any]) -> ErrorCode | None:
    """The code member of an ``errors_details`` entry: the first of its attribute's families (then the
    orders', then the common ones) with a member of its value and its retryability; None if none has."""
    families: tuple[type[ErrorCode], ...] = (
        *FAMILIES_OF_ATTRIBUTE.get(entry.get("attribute", ""), ()),
        OrderErrorCode,
        CommonErrorCode,
    )
    for family in families:
        try:
            member = family(str(entry.get("code")))
        except ValueError:
            continue
        if member.retryable == bool(entry.get("retryable")):
            return member
    return None


def reasons(failure: DomainError, pointers: Mapping[str, str] | None = None) -> tuple[Log, Codes, Lines]:
    """A refusal as errors_log (attribute -> messages), its codes (attribute -> code) and what it says of
    lines: a problem about a line names its ``sku_code`` (meta) and, when it knows, its ``line_pointer``; else
    ``pointers`` (sku code -> pointer to the source's line) tells it."""
    lines: Lines = {}
    for p in failure.problems:
        sku_code = p.meta.get("sku_code")
        if sku_code is not None:
            pointer = p.meta.get("line_pointer") or (pointers or {}).get(sku_code)
            lines[p.message] = LineNote(pointer, sku_code, p.code)
    return failure.log, {p.attribute: p.code for p in failure.problems}, lines


def about_lines(failure: DomainError) -> bool:
    """Whether a refusal has a problem about a line that does not know its pointer yet."""
    return any("sku_code" in p.meta and "line_pointer" not in p.meta for p in failure.problems)


def lines_of(entries: list[dict[str, Any]]) -> Lines:
    """The notes about lines of stored ``errors_details`` entries (kept when more are added to them)."""
    return {
        entry["message"]: LineNote(entry.get("pointer"), entry.get("sku_code"), code_of(entry))
        for entry in entries
        if "pointer" in entry
    }


def details(log: Log, codes: Codes, lines: Lines | None = None) -> list[dict[str, Any]]:
    """errors_log as errors_details: {attribute, message, code, retryable} per message (an extension), and
    {pointer, sku_code} for a message about a line (``lines``)."""
    if not log:
        return []
    lines = lines or {}
    entries = []
    for attribute, messages in log.items():
        for message in messages:
            note = lines.get(message)
            code = (note.code if note else None) or codes.get(attribute, CommonErrorCode.INVALID)
            entry = DomainError([Problem(code, attribute, message)]).details[0]
            if note is not None:
                entry.update(pointer=note.pointer, sku_code=note.sku_code)
            entries.append(entry)
    return entries


def count(log: Log) -> int:
    return sum(len(v) for v in log.values())


def merge(a: Log, b: Log) -> Log:
    out = {k: list(v) for k, v in a.items()}
    for k, v in b.items():
        out.setdefault(k, []).extend(m for m in v if m not in out.get(k, []))
    return out


# Why a copy is aborted before it starts: what it copies is gone or no longer runs.
ABORT_CODES: Codes = {
    "source_order": FactoryErrorCode.SOURCE_ORDER_UNAVAILABLE,
    "order_subscription": FactoryErrorCode.SUBSCRIPTION_INACTIVE,
    "order_copy_batch": FactoryErrorCode.BATCH_CANCELLED,
}
