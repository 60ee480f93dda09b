"""The call to an external tax calculator: the order's document is POSTed to the merchant's
``tax_calculator_url``, signed as Commerce Layer signs (``X-CommerceLayer-Signature``: base64 of the
HMAC-SHA256 of the raw body, keyed with the calculator's shared secret), through core.outbound (the same
refusals as webhooks and gateways). The answer is Commerce Layer's:

    {"success": true, "data": {"tax_rate": 0.25, "freight_taxable": true,
                               "line_items": [{"id": "...", "tax_collectable": 2.25, "tax_rate": 0.4, ...}]}}
    {"success": false, "error": {"code": "...", "message": "..."}}

Per line, as Commerce Layer's values precedence says: ``tax_collectable`` (an amount in the currency's units)
is the line's tax; else the line's ``tax_rate``; else the global ``tax_rate``, which also taxes the SKU and
bundle lines the answer does not list (and their shipping lines when ``freight_taxable``). The other keys
of a listed line are its tax breakdown. Amounts from rates round as taxes.calculation does.

It talks to the network: call it outside any transaction. Its only writes are single autocommit UPDATEs of
the calculator's circuit counters, as for external gateways. Every failure is a DomainError with a
TaxErrorCode.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import orjson

from orderfactory.core import circuits, outbound
from orderfactory.core.errors import DomainError
from orderfactory.core.money import to_float
from orderfactory.taxes.calculation import LineKind, LineTax, Order, Taxes, line_tax
from orderfactory.taxes.error_codes import TaxErrorCode
from orderfactory.taxes.models import TaxCalculator

log = logging.getLogger(__name__)

MAX_RESPONSE_BYTES = 64 * 1024
CIRCUIT_THRESHOLD = circuits.THRESHOLD  # consecutive failures (no answer, 5xx): core.circuits


def _error(code: TaxErrorCode, message: str, **meta: Any) -> DomainError:
    return DomainError.of(code, "tax_calculator", message, **meta)


def calculate(calculator: TaxCalculator, document: Mapping[str, Any], order: Order) -> Taxes:
    """The taxes of ``order`` as the external ``calculator`` answers for ``document`` (the order rendered with
    its line items and their items included, as Commerce Layer sends it)."""
    if calculator.circuit_state == "open":
        raise _error(
            TaxErrorCode.CALCULATOR_CIRCUIT_OPEN,
            "the tax calculator's circuit is open (reset it with _reset_circuit)",
        )
    url = calculator.tax_calculator_url or ""
    body = orjson.dumps(dict(document))
    headers = outbound.signed_json_headers(body, calculator.shared_secret or "")
    try:
        answer = outbound.post(
            url,
            body,
            headers,
            timeout=outbound.timeout_setting("ORDERFACTORY_TAX_CALCULATOR_TIMEOUT"),
            limit=MAX_RESPONSE_BYTES,
        )
    except outbound.Refused as exc:
        # Not sent, and sending again cannot help; the calculator did not fail: its circuit is left as it is.
        raise _error(
            TaxErrorCode.CALCULATOR_REFUSED, f"the tax calculator was not called: its URL {exc}"
        ) from None
    except (outbound.Unreached, outbound.Failed) as exc:
        circuits.record_failure(calculator)
        log.warning("tax calculator %s failed: %s", calculator.pk, exc)
        raise _error(TaxErrorCode.CALCULATOR_UNREACHABLE, f"the tax calculator {exc}") from None
    if answer.status >= 500:
        circuits.record_failure(calculator)
        raise _error(TaxErrorCode.CALCULATOR_FAILED, f"the tax calculator answered {answer.status}")
    circuits.record_success(calculator)
    return parse(answer.status, answer.body, order)


def parse(status: int, raw: bytes, order: Order) -> Taxes:
    """The taxes an answer gives ``order`` (see the module's docstring), or the DomainError it amounts to."""
    try:
        answer = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        answer = None
    if isinstance(answer, dict) and answer.get("success") is False:
        given = answer.get("error")
        error: dict[str, Any] = given if isinstance(given, dict) else {}
        message = str(error.get("message") or "the tax calculator refused the order")[:255]
        raise _error(TaxErrorCode.CALCULATOR_DECLINED, message, calculator_code=str(error.get("code") or ""))
    if not 200 <= status < 300:
        raise _error(TaxErrorCode.CALCULATOR_DECLINED, f"the tax calculator answered {status}")
    data = answer.get("data") if isinstance(answer, dict) and answer.get("success") is True else None
    if not isinstance(data, dict):
        raise _error(TaxErrorCode.CALCULATOR_ANSWER_INVALID, 'the answer has no "success": true and "data"')
    global_rate = _rate(data.get("tax_rate"), "data.tax_rate")
    listed = data.get("line_items", [])
    if not isinstance(listed, list) or not all(
        isinstance(item, dict) and isinstance(item.get("id"), str) for item in listed
    ):
        raise _error(TaxErrorCode.CALCULATOR_ANSWER_INVALID, "data.line_items is not a list of line items")
    by_id = {item["id"]: item for item in listed}
    freight_taxable = data.get("freight_taxable") is True
    out = Taxes(rule=None, tax_included=order.tax_included, tax_rate=global_rate or Decimal(0))
    for line in order.lines:
        base = line.amount_cents + line.discount_cents
        item = by_id.get(line.id)
        if item is not None:
            rate = _rate(item.get("tax_rate"), f"the tax_rate of line item {line.id}")
            rate = rate if rate is not None else global_rate
            collectable = item.get("tax_collectable")
            if collectable is not None:
                tax = _cents(collectable, order.currency_code, line.id)
            elif rate is not None:
                tax = line_tax(base, rate, tax_included=order.tax_included)
            else:
                tax = 0
            breakdown = {k: v for k, v in item.items() if k != "id"}
        elif global_rate is not None and (
            line.kind in (LineKind.SKU, LineKind.BUNDLE)
            or (line.kind is LineKind.SHIPMENT and freight_taxable)
        ):
            rate, tax, breakdown = (
                global_rate,
                line_tax(base, global_rate, tax_included=order.tax_included),
                {},
            )
        else:
            out.lines.append(LineTax(line.id, line.kind, Decimal(0), 0, 0, {}))
            continue
        taxable = base - tax if order.tax_included else base
        out.lines.append(LineTax(line.id, line.kind, rate or Decimal(0), tax, taxable, breakdown))
    return out


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _rate(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    rate = _number(value)
    if rate is None or not 0 <= rate <= 1:
        raise _error(TaxErrorCode.CALCULATOR_ANSWER_INVALID, f"{where} is not a rate from 0 to 1")
    return rate


def _cents(value: Any, currency_code: str, line_id: str) -> int:
    """An amount in the currency's units (``9.0`` euros) as cents (900); yen have no cents."""
    amount = _number(value)
    if amount is None or abs(amount) >= 10**15:
        raise _error(
            TaxErrorCode.CALCULATOR_ANSWER_INVALID,
            f"the tax_collectable of line item {line_id} is not an amount",
        )
    units_per_cent = Decimal(str(to_float(1, currency_code)))
    return int((amount / units_per_cent).quantize(Decimal(1), rounding=ROUND_HALF_UP))
