"""External promotions: the order's document POSTed to the merchant's ``promotion_url``, signed as Commerce Layer
signs (``X-CommerceLayer-Signature``: base64 of the HMAC-SHA256 of the raw body, keyed with the promotion's
shared secret), through core.outbound (the same refusals and limits as webhooks, gateways and tax calculators).
The answer is Commerce Layer's:

    {"success": true, "data": {"name": "...", "discount_cents": 1500, "metadata": {...}}}
    {"success": true, "data": {"discount_cents": 1500, "line_items": [{"id": "..."}, ...]}}
    {"success": true, "data": {"line_items": [{"id": "...", "discount_cents": 500}, ...]}}
    {"success": false, "error": {"code": "...", "message": "..."}}

the discount over every SKU line (in proportion to what is left of them, as a fixed amount), over the listed
lines only, or each listed line's own; a discount is an amount taken off, whatever its sign.

The call is never made while a transaction holds the order: pricing (``discount_for``, inside the caller's
transaction) reads the answer stored for the order as it is now (``fingerprint``) and, when there is none
for an order still ``draft`` or ``pending``, asks for one once the transaction commits: the function the
orders register (``refreshes_orders``) reads the order's document, calls each service with no transaction
open, stores what they answered (``store``) and prices the order again. Failures (docs/decisions.md,
"External promotions") add no promotion, as Commerce Layer's: no answer in time, a 5xx and an answer that is
not one count on the promotion's circuit; an open circuit is not called.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from django.db import transaction

from orderfactory.core import circuits, outbound
from orderfactory.core import scope as scopes
from orderfactory.promotions.models import ExternalDiscount, Promotion

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
CIRCUIT_THRESHOLD = circuits.THRESHOLD
APPLIED, FAILED, DECLINED = "applied", "failed", "declined"
# What Commerce Layer includes with the order it sends (its documentation of external promotions).
DOCUMENT_INCLUDE = (
    "market",
    "customer",
    "customer.tags",
    "line_items",
    "line_items.item",
    "shipping_address",
    "billing_address",
)
# The order's attributes a discount may depend on (with its SKU lines): a change of any calls the service again.
_FINGERPRINTED = (
    "currency_code",
    "language_code",
    "country_code",
    "customer_email",
    "customer_id",
    "coupon_code",
    "market_id",
    "tax_included",
    "shipping_amount_cents",
)
# Statuses whose totals follow the order's changes (Commerce Layer calls the service while the order is a cart).
CALLED_STATUSES = ("draft", "pending")


@dataclass(frozen=True)
class Result:
    """What one call came to, as stored (``ExternalDiscount``)."""

    outcome: str
    name: str | None = None
    discount_cents: int = 0
    line_items: dict[str, int | None] | None = None
    message: str | None = None


# --- pricing's side: inside the caller's transaction, no network ------------------------------------------


def fingerprint(
    order: Mapping[str, Any], lines: Sequence[tuple[str, str, int]], line_facts: Sequence[Mapping[str, Any]]
) -> str:
    """The order's state as far as a discount may depend on it: its SKU lines (id, code, total, and the
    quantity of ``line_facts``, in the same order) and the attributes of ``_FINGERPRINTED``."""
    quantities = [str(facts.get("quantity")) for facts in line_facts]
    quantities += [""] * (len(lines) - len(quantities))
    state = [
        [str(order.get(name)) for name in _FINGERPRINTED],
        sorted(
            [line_id, code, total, q] for (line_id, code, total), q in zip(lines, quantities, strict=True)
        ),
    ]
    return hashlib.sha256(orjson.dumps(state)).hexdigest()


Refresher = Callable[[str, str, tuple[str, ...]], None]
_refreshers: list[Refresher] = []
# The orders being refreshed in this context: pricing them again there must not ask for another call.
_refreshing: ContextVar[frozenset[str]] = ContextVar("external_promotions_refreshing", default=frozenset())


def refreshes_orders(fn: Refresher) -> Refresher:
    """Registers the orders' function that calls an order's external promotions and prices it again
    (``fn(order_id, fingerprint, promotion_ids)``): the orders build on the promotions, not the reverse."""
    _refreshers.append(fn)
    return fn


@contextlib.contextmanager
def refreshing(order_id: str) -> Iterator[None]:
    token = _refreshing.set(_refreshing.get() | {order_id})
    try:
        yield
    finally:
        _refreshing.reset(token)


def answers(order_id: str | None, promotion_ids: Sequence[str]) -> dict[str, ExternalDiscount]:
    """The answers stored for the order, by promotion id: one query for all its external promotions."""
    if not order_id or not promotion_ids:
        return {}
    rows = ExternalDiscount.objects.filter(order_id=order_id, promotion_id__in=list(promotion_ids))
    return {row.promotion_id: row for row in rows}


def usable(
    stored: ExternalDiscount | None, *, state: str, status: Any
) -> tuple[ExternalDiscount | None, bool]:
    """The stored answer the order takes now (or None), and whether the service must be called. An answer
    for another state of an order still a cart is stale: none applies until the service answers again. An
    order past ``pending`` keeps the last answer it had (it is not priced from its lines any more)."""
    if stored is not None and (stored.fingerprint == state or status not in CALLED_STATUSES):
        return (stored if stored.outcome == APPLIED else None), False
    return None, status in CALLED_STATUSES


def ask(order_id: str | None, state: str, promotion_ids: Sequence[str]) -> None:
    """Call the services of ``promotion_ids`` for the order once the caller's transaction commits (never
    while it holds the order), unless the order is being refreshed already."""
    if not order_id or not promotion_ids or order_id in _refreshing.get():
        return
    scope = scopes.current()
    for refresher in _refreshers:
        transaction.on_commit(partial(_after_commit, refresher, scope, order_id, state, tuple(promotion_ids)))


def _after_commit(
    refresher: Refresher, scope: scopes.Scope, order_id: str, state: str, promotion_ids: tuple[str, ...]
) -> None:
    # In the scope of the transaction that asked: a commit may run its callbacks after the request's own.
    if order_id not in _refreshing.get():
        with scopes.active(scope):
            refresher(order_id, state, promotion_ids)


def shares(
    answer: ExternalDiscount,
    line_ids: Sequence[str],
    remaining: Sequence[int],
    left: int,
    split: Callable[[int, Sequence[int]], list[int]],
) -> list[int]:
    """Each SKU line's share of the answer's discount (positive cents, in the order of ``line_ids``), never
    more than what is left of a line (``remaining``) nor of the order (``left``)."""
    listed = answer.line_items
    if listed is None:
        return split(min(answer.discount_cents, left), remaining)
    if listed and all(cents is not None for cents in listed.values()):
        own = [min(int(listed.get(line_id) or 0), r) for line_id, r in zip(line_ids, remaining, strict=True)]
        # Never more than the order has left (earlier promotions may have taken it): the last lines give way.
        over = max(sum(own) - left, 0)
        for i in reversed(range(len(own))):
            taken = min(own[i], over)
            own[i] -= taken
            over -= taken
        return own
    weights = [r if line_id in listed else 0 for line_id, r in zip(line_ids, remaining, strict=True)]
    return split(min(answer.discount_cents, left, sum(weights)), weights)


# --- the call: no transaction open -------------------------------------------------------------------------


def call(promotion: Promotion, document: Mapping[str, Any]) -> Result:
    """POST ``document`` (the order, with Commerce Layer's includes) to the promotion's service and read its
    answer; every failure is a Result, never an exception (the order is priced without the promotion)."""
    if promotion.circuit_state == "open":
        # Commerce Layer counts failures while the circuit is closed only.
        return Result(FAILED, message="the promotion's circuit is open (reset it with _reset_circuit)")
    body = orjson.dumps(dict(document))
    headers = outbound.signed_json_headers(body, promotion.shared_secret or "")
    try:
        answer = outbound.post(
            promotion.promotion_url or "",
            body,
            headers,
            timeout=outbound.timeout_setting("ORDERFACTORY_PROMOTION_TIMEOUT"),
            limit=MAX_RESPONSE_BYTES,
        )
    except outbound.Refused as exc:
        # Not sent, and sending again cannot help; the service did not fail: its circuit is left as it is.
        return Result(FAILED, message=f"the promotion's service was not called: its URL {exc}")
    except (outbound.Unreached, outbound.Failed) as exc:
        circuits.record_failure(promotion)
        log.warning("external promotion %s failed: %s", promotion.pk, exc)
        return Result(FAILED, message=f"the promotion's service {exc}"[:255])
    if answer.status >= 500:
        circuits.record_failure(promotion)
        return Result(FAILED, message=f"the promotion's service answered {answer.status}")
    result = parse(answer.status, answer.body)
    if result.outcome == FAILED:
        circuits.record_failure(promotion)
    else:
        circuits.record_success(promotion)
    return result


def _amount(value: Any) -> int | None:
    """Whole cents, whatever the sign (a discount is taken off), or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, float) and not value.is_integer():
        return None
    cents = abs(int(value))
    return cents if cents < 10**15 else None


def parse(status: int, raw: bytes) -> Result:
    """The Result of an answer (see the module's docstring)."""
    try:
        answer = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return Result(FAILED, message="the promotion's service answered something that is not JSON")
    if isinstance(answer, dict) and answer.get("success") is False:
        given = answer.get("error")
        error: dict[str, Any] = given if isinstance(given, dict) else {}
        return Result(DECLINED, message=str(error.get("message") or "declined")[:255])
    if not 200 <= status < 300:
        return Result(DECLINED, message=f"the promotion's service answered {status}")
    data = answer.get("data") if isinstance(answer, dict) and answer.get("success") is True else None
    if not isinstance(data, dict):
        return Result(FAILED, message="the promotion's service answered without success and data")
    name = data.get("name") if isinstance(data.get("name"), str) else None
    listed = data.get("line_items")
    if listed is None:
        total = _amount(data.get("discount_cents"))
        if total is None:
            return Result(FAILED, message="the answer's discount_cents is not a whole number of cents")
        return Result(APPLIED, name, total)
    if not isinstance(listed, list) or not all(
        isinstance(i, dict) and isinstance(i.get("id"), str) for i in listed
    ):
        return Result(FAILED, message="the answer's line_items is not a list of line items with an id")
    own = [i for i in listed if "discount_cents" in i]
    if own:
        # Commerce Layer: a line's own discount_cents is given for every listed line, or for none.
        cents = [_amount(i["discount_cents"]) for i in listed]
        if len(own) != len(listed) or any(c is None for c in cents):
            return Result(FAILED, message="the answer's line_items do not all have whole discount_cents")
        per_line: dict[str, int | None] = {i["id"]: c for i, c in zip(listed, cents, strict=True)}
        return Result(APPLIED, name, sum(c or 0 for c in cents), per_line)
    total = _amount(data.get("discount_cents"))
    if total is None:
        return Result(FAILED, message="the answer's discount_cents is not a whole number of cents")
    return Result(APPLIED, name, total, dict.fromkeys((i["id"] for i in listed), None))


def store(order_id: str, state: str, results: Mapping[str, Result]) -> None:
    """What each promotion's service answered for the order in ``state`` (promotion id -> Result), replacing
    what they answered before. Inside the caller's transaction."""
    ExternalDiscount.objects.filter(order_id=order_id, promotion_id__in=list(results)).delete()
    ExternalDiscount.objects.bulk_create(
        ExternalDiscount(
            promotion_id=promotion_id,
            order_id=order_id,
            fingerprint=state,
            outcome=result.outcome,
            name=result.name,
            discount_cents=result.discount_cents,
            line_items=result.line_items,
            message=result.message,
        )
        for promotion_id, result in results.items()
    )
