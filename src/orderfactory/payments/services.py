"""Payment writes (gateways, payment methods, payment sources) and the calls to gateways (authorize, void,
capture, refund).

``authorize``, ``void``, ``capture`` and ``refund`` talk to the network: callers must call them OUTSIDE any
database transaction (a gateway that answers in 5 s would otherwise hold the order's row locks for 5 s). They take no locks;
the only writes they make are single autocommit UPDATEs of the gateway's circuit counters.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from orderfactory.catalog.models import Market
from orderfactory.catalog.services import CURRENCY_CODE, blank, required, save
from orderfactory.core import circuits, clock, outbound
from orderfactory.core.errors import CommonErrorCode, Problem, problem
from orderfactory.core.errors import blank as blank_problem
from orderfactory.payments.models import (
    ExternalGateway,
    ExternalPayment,
    ManualGateway,
    PaymentMethod,
    WireTransfer,
    new_shared_secret,
)

log = logging.getLogger(__name__)

# Which payment source type each of our gateways processes.
GATEWAY_SOURCE_TYPES = {"manual_gateways": "wire_transfers", "external_gateways": "external_payments"}
# Consecutive transport failures (timeouts, refused connections, 5xx) that open a gateway's circuit
# (core.circuits).
CIRCUIT_THRESHOLD = circuits.THRESHOLD
VOID_ATTEMPTS = 3
BACKOFF_SECONDS = 0.2  # before the 2nd try; doubled before each later one
MAX_RESPONSE_BYTES = 64 * 1024


def _toggle_disabled(
    changes: dict[str, Any], disabled_at: Any, *, disable: bool, enable: bool
) -> dict[str, Any]:
    """``_disable``/``_enable``: disabling a disabled row keeps its first ``disabled_at``."""
    if disable and disabled_at is None:
        return {**changes, "disabled_at": clock.now()}
    if enable:
        return {**changes, "disabled_at": None}
    return changes


# --- gateways ---------------------------------------------------------------------------------------------


def manual_gateway_problems(gateway: ManualGateway) -> list[Problem]:
    return required(gateway, "name")


def save_manual_gateway(
    gateway: ManualGateway, changes: dict[str, Any], *, disable: bool = False, enable: bool = False
) -> ManualGateway:
    """Create (an unsaved ``gateway``) or update a manual gateway; ``disable``/``enable`` are the
    ``_disable``/``_enable`` triggers. Disabling a disabled gateway keeps its first ``disabled_at``."""
    changes = _toggle_disabled(changes, gateway.disabled_at, disable=disable, enable=enable)
    return save(gateway, changes, manual_gateway_problems)


def _url_problems(gateway: ExternalGateway, column: str) -> list[Problem]:
    value = getattr(gateway, column)
    if blank(value):
        return []
    why = outbound.problem(value)
    return [problem(column, why, CommonErrorCode.INVALID, value=value)] if why else []


URL_COLUMNS = ("authorize_url", "capture_url", "void_url", "refund_url", "token_url")


def external_gateway_problems(gateway: ExternalGateway) -> list[Problem]:
    found = required(gateway, "name")
    for column in URL_COLUMNS:
        found += _url_problems(gateway, column)
    return found


def save_external_gateway(
    gateway: ExternalGateway,
    changes: dict[str, Any],
    *,
    disable: bool = False,
    enable: bool = False,
    reset_circuit: bool = False,
    regenerate_shared_secret: bool = False,
) -> ExternalGateway:
    """Create (an unsaved ``gateway``, which gets a new shared secret) or update an external gateway, with
    the triggers ``_disable``, ``_enable``, ``_reset_circuit`` (closes the circuit, zeroes the failure count)
    and ``_regenerate_shared_secret``."""
    changes = _toggle_disabled(changes, gateway.disabled_at, disable=disable, enable=enable)
    if reset_circuit:
        changes = {**changes, "circuit_state": "closed", "circuit_failure_count": 0}
    if regenerate_shared_secret:
        changes = {**changes, "shared_secret": new_shared_secret()}
    return save(gateway, changes, external_gateway_problems)


def gateway_of(gateway_type: str | None, gateway_id: str | None) -> ManualGateway | ExternalGateway | None:
    model = {"manual_gateways": ManualGateway, "external_gateways": ExternalGateway}.get(gateway_type or "")
    if model is None or gateway_id is None:
        return None
    return model.objects.filter(pk=gateway_id).first()


# --- payment methods --------------------------------------------------------------------------------------


def titleized(source_type: str) -> str:
    """Commerce Layer's default payment method name: ``stripe_payments`` -> ``Stripe Payment``."""
    return " ".join(word.capitalize() for word in source_type.removesuffix("s").split("_"))


def payment_method_problems(method: PaymentMethod) -> list[Problem]:
    found = required(method, "payment_source_type", "price_amount_cents")
    if not method.payment_gateway_id:
        found.append(blank_problem("payment_gateway", relationship=True))
    else:
        processed = GATEWAY_SOURCE_TYPES.get(method.payment_gateway_type)
        if method.payment_source_type and processed != method.payment_source_type:
            found.append(
                problem(
                    "payment_source_type",
                    f"is not processed by {method.payment_gateway_type}",
                    CommonErrorCode.INVALID,
                    value=method.payment_source_type,
                )
            )
    code = method.currency_code
    if code is None or blank(code):
        found.append(blank_problem("currency_code"))
    elif not CURRENCY_CODE.fullmatch(code):
        found.append(problem("currency_code", "is invalid", CommonErrorCode.INVALID, value=code))
    for column in ("price_amount_cents", "auto_capture_max_amount_cents"):
        value = getattr(method, column)
        if value is not None and value < 0:
            found.append(
                problem(
                    column,
                    "must be greater than or equal to 0",
                    CommonErrorCode.GREATER_THAN_OR_EQUAL_TO,
                    value=value,
                    count=0,
                )
            )
    return found


def save_payment_method(
    method: PaymentMethod, changes: dict[str, Any], *, disable: bool = False, enable: bool = False
) -> PaymentMethod:
    """Create (an unsaved ``method``) or update a payment method. Its name defaults to the titleized
    payment source type; its currency, when not given, is inherited from its market's price list."""
    changes = _toggle_disabled(changes, method.disabled_at, disable=disable, enable=enable)
    source_type = changes.get("payment_source_type", method.payment_source_type)
    if blank(changes.get("name", method.name)) and isinstance(source_type, str):
        changes = {**changes, "name": titleized(source_type)}
    market_id = changes.get("market_id", method.market_id)
    if blank(changes.get("currency_code", method.currency_code)) and market_id:
        inherited = (
            Market.objects.filter(pk=market_id).values_list("price_list__currency_code", flat=True).first()
        )
        if inherited:
            changes = {**changes, "currency_code": inherited}
    return save(method, changes, payment_method_problems)


# --- payment sources --------------------------------------------------------------------------------------

PaymentSource = WireTransfer | ExternalPayment


def external_payment_problems(payment: ExternalPayment) -> list[Problem]:
    return required(payment, "payment_source_token")


def save_wire_transfer(transfer: WireTransfer, changes: dict[str, Any]) -> WireTransfer:
    return save(transfer, changes, lambda _transfer: [])


def save_external_payment(payment: ExternalPayment, changes: dict[str, Any]) -> ExternalPayment:
    return save(payment, changes, external_payment_problems)


@transaction.atomic
def delete_payment_source(source: PaymentSource) -> None:
    """Delete a payment source and the wallet entry holding it (which would otherwise point at nothing)."""
    from orderfactory.customers.services import forget_payment_source

    forget_payment_source(source)
    source.delete()


def clone_payment_source(source: PaymentSource, **columns: Any) -> PaymentSource:
    """A new payment source of the same type and data (token, options, gateway), attached to no order and
    in no wallet unless ``columns`` say so (``order_id``, ``customer_payment_source_id``), with no gateway
    answer yet: what an order copy pays with when it reuses a wallet."""
    if isinstance(source, ExternalPayment):
        clone: PaymentSource = ExternalPayment(
            payment_source_token=source.payment_source_token,
            options=source.options,
            payment_gateway_id=source.payment_gateway_id,
        )
    else:
        clone = WireTransfer()
    clone.metadata = dict(source.metadata or {})
    for column, value in columns.items():
        setattr(clone, column, value)
    clone.save()
    return clone


# --- talking to gateways ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationResult:
    success: bool
    message: str
    transaction_token: str | None = None
    # The gateway's answer as received (its JSON body), to keep on the payment source.
    response: dict[str, Any] | None = None


VoidResult = AuthorizationResult
# The answer to any call: authorization, capture, void or refund.
GatewayResult = AuthorizationResult


def gateway_timeout() -> float:
    """Seconds to wait for a gateway (``ORDERFACTORY_GATEWAY_TIMEOUT``, default 5)."""
    return outbound.timeout_setting("ORDERFACTORY_GATEWAY_TIMEOUT")


def authorize(
    payment_method: PaymentMethod,
    source: PaymentSource,
    amount_cents: int,
    currency_code: str,
    order_reference: str,
) -> AuthorizationResult:
    """Authorize ``amount_cents`` on ``source`` through ``payment_method``'s gateway. A manual gateway
    authorizes at once; an external gateway is asked over HTTP (see docs/decisions.md, "Payments") and its
    answer decides. Never retried once the request may have reached the gateway: authorizing twice could
    charge twice. Call it outside any transaction."""
    gateway = payment_method.payment_gateway
    if gateway is None:
        return AuthorizationResult(False, "payment gateway not found")
    if gateway.disabled_at is not None or payment_method.disabled_at is not None:
        return AuthorizationResult(False, "payment method is disabled")
    if isinstance(gateway, ManualGateway):
        return AuthorizationResult(True, "authorized by the manual gateway")
    if not isinstance(source, ExternalPayment):
        return AuthorizationResult(False, "an external gateway authorizes external payments only")
    attributes = {
        "amount_cents": amount_cents,
        "currency_code": currency_code,
        "order_reference": order_reference,
        "payment_source_id": source.pk,
        "payment_source_token": source.payment_source_token,
        "options": source.options or {},
    }
    return _call(
        gateway, gateway.authorize_url, "authorizations", attributes, attempts=2, retry_on=(_Unreached,)
    )


def void(
    payment_method: PaymentMethod,
    source: PaymentSource,
    transaction_token: str | None,
    order_reference: str,
    *,
    amount_cents: int | None = None,
    currency_code: str | None = None,
) -> VoidResult:
    """Void the authorization ``transaction_token`` of ``source`` (the amount and currency are passed on to
    the gateway when given). Voiding is idempotent at the gateway, so a failed call (refused connection,
    timeout, 5xx) is tried up to 3 times with backoff. Call it outside any transaction."""
    gateway = payment_method.payment_gateway
    if gateway is None:
        return AuthorizationResult(False, "payment gateway not found")
    if isinstance(gateway, ManualGateway):
        return AuthorizationResult(True, "voided by the manual gateway", transaction_token)
    attributes = {
        "amount_cents": amount_cents,
        "currency_code": currency_code,
        "order_reference": order_reference,
        "payment_source_id": source.pk,
        "payment_source_token": getattr(source, "payment_source_token", None),
        "transaction_token": transaction_token,
    }
    return _call(
        gateway, gateway.void_url, "voids", attributes, attempts=VOID_ATTEMPTS, retry_on=(_Unreached, _Failed)
    )


def capture(
    payment_method: PaymentMethod,
    source: PaymentSource,
    transaction_token: str | None,
    order_reference: str,
    *,
    amount_cents: int,
    currency_code: str | None,
) -> GatewayResult:
    """Capture ``amount_cents`` of the authorization ``transaction_token``. Never retried once the request may
    have reached the gateway (capturing twice could charge twice). Call it outside any transaction."""
    return _settle(
        "captures", payment_method, source, transaction_token, order_reference, amount_cents, currency_code
    )


def refund(
    payment_method: PaymentMethod,
    source: PaymentSource,
    transaction_token: str | None,
    order_reference: str,
    *,
    amount_cents: int,
    currency_code: str | None,
) -> GatewayResult:
    """Refund ``amount_cents`` of the capture ``transaction_token``, as ``capture`` (never retried once it may
    have been seen). Call it outside any transaction."""
    return _settle(
        "refunds", payment_method, source, transaction_token, order_reference, amount_cents, currency_code
    )


def _settle(
    kind: str,
    payment_method: PaymentMethod,
    source: PaymentSource,
    transaction_token: str | None,
    order_reference: str,
    amount_cents: int,
    currency_code: str | None,
) -> GatewayResult:
    gateway = payment_method.payment_gateway
    if gateway is None:
        return GatewayResult(False, "payment gateway not found")
    if isinstance(gateway, ManualGateway):
        done = "captured" if kind == "captures" else "refunded"
        return GatewayResult(True, f"{done} by the manual gateway", transaction_token)
    attributes = {
        "amount_cents": amount_cents,
        "currency_code": currency_code,
        "order_reference": order_reference,
        "payment_source_id": source.pk,
        "payment_source_token": getattr(source, "payment_source_token", None),
        "transaction_token": transaction_token,
    }
    url = gateway.capture_url if kind == "captures" else gateway.refund_url
    return _call(gateway, url, kind, attributes, attempts=2, retry_on=(_Unreached,))


class _Unreached(Exception):
    """The request never left: the connection was refused, so no gateway saw it (safe to retry)."""


class _Failed(Exception):
    """The gateway may have seen the request but gave no usable answer (timeout, reset, 5xx)."""


def _call(
    gateway: ExternalGateway,
    url: str | None,
    kind: str,
    attributes: dict[str, Any],
    *,
    attempts: int,
    retry_on: tuple[type[Exception], ...],
) -> AuthorizationResult:
    """POST ``{"data": {"type": kind, "attributes": attributes}}`` signed with the gateway's shared secret;
    up to ``attempts`` tries while the failure is one of ``retry_on``."""
    if blank(url):
        return AuthorizationResult(False, f"the gateway has no {kind} url")
    assert url is not None
    if gateway.circuit_state == "open":
        return AuthorizationResult(False, "the gateway's circuit is open")
    body = json.dumps({"data": {"type": kind, "attributes": attributes}}, separators=(",", ":")).encode()
    headers = outbound.signed_json_headers(body, gateway.shared_secret)
    for attempt in range(1, attempts + 1):
        try:
            status, answer = _post(url, body, headers)
        except outbound.Refused as exc:
            # Not sent, and sending again cannot help; the gateway did not fail, so its circuit stays as it is.
            log.warning("%s to gateway %s not sent: %s", kind, gateway.pk, exc)
            return AuthorizationResult(False, f"the gateway was not called: its URL {exc}")
        except (_Unreached, _Failed) as exc:
            message = str(exc)
            if attempt < attempts and isinstance(exc, retry_on):
                time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
                continue
            circuits.record_failure(gateway)
            log.warning("%s to gateway %s failed: %s", kind, gateway.pk, message)
            return AuthorizationResult(False, message)
        circuits.record_success(gateway)
        return _result(status, answer)
    raise AssertionError("attempts must be at least 1")


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST through core.outbound and read the answer: (status, parsed JSON or None). A gateway answers where
    it is asked: a redirect is an answer (a failed one), never followed, since following it would resend the
    signed body elsewhere. 5xx and transport errors raise."""
    try:
        answer = outbound.post(url, body, headers, timeout=gateway_timeout(), limit=MAX_RESPONSE_BYTES)
    except outbound.Unreached as exc:
        raise _Unreached(f"the gateway {exc}") from None
    except outbound.Failed as exc:
        raise _Failed(f"the gateway {exc}") from None
    if answer.status >= 500:
        raise _Failed(f"the gateway answered {answer.status}")
    return answer.status, _json(answer.body)


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _result(status: int, answer: Any) -> AuthorizationResult:
    """2xx with ``{"success": true}`` succeeds; anything else fails with the gateway's message if it gave one."""
    given = answer.get("data") if isinstance(answer, dict) else None
    data: dict[str, Any] = given if isinstance(given, dict) else {}
    token = data.get("transaction_token")
    token = str(token) if token is not None else None
    response = answer if isinstance(answer, dict) else None
    if 200 <= status < 300 and isinstance(answer, dict) and answer.get("success") is True:
        return AuthorizationResult(True, str(data.get("message") or "success"), token, response)
    error = data.get("error")
    message = (
        (error.get("message") if isinstance(error, dict) else None)
        or data.get("message")
        or f"the gateway answered {status}"
    )
    return AuthorizationResult(False, str(message)[:255], token, response)
