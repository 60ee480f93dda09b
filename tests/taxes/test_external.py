"""taxes.external against a real HTTP receiver on 127.0.0.1, the way a merchant's external tax calculator is
called: signed, through core.outbound, its answer read per line."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orderfactory.core import outbound
from orderfactory.core import scope as scopes
from orderfactory.core.errors import DomainError
from orderfactory.taxes import external, services
from orderfactory.taxes.calculation import Address, Line, LineKind, Order
from orderfactory.taxes.error_codes import TaxErrorCode
from orderfactory.taxes.models import TaxCalculator


@dataclass
class Receiver:
    url: str = ""
    answers: list[tuple[int, Any]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    secret: str = ""


@pytest.fixture
def receiver(local_network_allowed: None) -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = base64.b64encode(
                hmac.new(state.secret.encode(), raw, hashlib.sha256).digest()
            ).decode()
            state.requests.append(
                {
                    "path": self.path,
                    "body": json.loads(raw),
                    "signed": hmac.compare_digest(
                        self.headers.get("X-CommerceLayer-Signature", ""), expected
                    ),
                }
            )
            status, body = state.answers.pop(0) if state.answers else (200, {"success": True, "data": {}})
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/taxes"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def calculator(api: Any, receiver: Receiver) -> Iterator[TaxCalculator]:
    with scopes.active(api.scope()):
        made = services.save_external_tax_calculator(
            TaxCalculator(), {"name": "Ours", "tax_calculator_url": receiver.url}
        )
        receiver.secret = made.shared_secret or ""
        yield made


ORDER = Order(
    currency_code="EUR",
    tax_included=False,
    shipping_address=Address("IT", "MI", "20121"),
    lines=[
        Line("li1", LineKind.SKU, 1000),
        Line("li2", LineKind.SKU, 2000),
        Line("li3", LineKind.SKU, 500),
        Line("ship", LineKind.SHIPMENT, 700),
        Line("pay", LineKind.PAYMENT_METHOD, 150),
    ],
)
DOCUMENT = {"data": {"id": "ord1", "type": "orders", "attributes": {"number": 1}}, "included": []}


def by_line(taxes) -> dict[str, int]:
    return {line.id: line.tax_amount_cents for line in taxes.lines}


def test_the_order_is_posted_signed_and_the_global_rate_taxes_the_order(calculator, receiver) -> None:
    receiver.answers.append((200, {"success": True, "data": {"tax_rate": 0.25, "metadata": {"foo": "bar"}}}))
    taxes = external.calculate(calculator, DOCUMENT, ORDER)
    assert receiver.requests == [{"path": "/taxes", "body": DOCUMENT, "signed": True}]
    # The SKU lines at 25%; shipping is taxed only when the answer says freight_taxable.
    assert by_line(taxes) == {"li1": 250, "li2": 500, "li3": 125, "ship": 0, "pay": 0}
    assert taxes.tax_rate == Decimal("0.25") and taxes.total_tax_amount_cents == 875


def test_per_line_values_take_precedence_collectable_then_rate_then_global(calculator, receiver) -> None:
    answer = {
        "success": True,
        "data": {
            "freight_taxable": True,
            "tax_rate": 0.25,
            "line_items": [
                {"id": "li1", "tax_collectable": 2.25, "tax_rate": 0.4, "country_tax_rate": 0.2},
                {"id": "li2", "taxable_amount": 12, "tax_rate": 0.3},
            ],
        },
    }
    receiver.answers.append((200, answer))
    taxes = external.calculate(calculator, DOCUMENT, ORDER)
    # li1: its tax_collectable (2.25 EUR); li2: its rate, 2000 * 0.3; li3: the global rate, 500 * 0.25;
    # shipping: the global rate (freight_taxable), 700 * 0.25 = 175; the payment method line is not listed.
    assert by_line(taxes) == {"li1": 225, "li2": 600, "li3": 125, "ship": 175, "pay": 0}
    assert taxes.lines[0].tax_rate == Decimal("0.4")
    assert taxes.lines[0].tax_breakdown == {"tax_collectable": 2.25, "tax_rate": 0.4, "country_tax_rate": 0.2}
    assert taxes.lines[1].tax_breakdown == {"taxable_amount": 12, "tax_rate": 0.3}


def test_with_tax_included_the_rate_is_extracted(calculator, receiver) -> None:
    receiver.answers.append((200, {"success": True, "data": {"tax_rate": 0.22}}))
    included = Order("EUR", True, ORDER.shipping_address, [Line("li1", LineKind.SKU, 1220)])
    taxes = external.calculate(calculator, DOCUMENT, included)
    assert by_line(taxes) == {"li1": 220}
    assert taxes.lines[0].taxable_amount_cents == 1000


def failure(calculator, receiver, status: int, body: Any) -> DomainError:
    receiver.answers.append((status, body))
    with pytest.raises(DomainError) as raised:
        external.calculate(calculator, DOCUMENT, ORDER)
    return raised.value


def test_a_declined_order_is_an_error_with_the_calculators_message(calculator, receiver) -> None:
    error = failure(
        calculator, receiver, 422, {"success": False, "error": {"code": "NO", "message": "no nexus"}}
    )
    problem = error.problems[0]
    assert (problem.code, problem.message, problem.meta) == (
        TaxErrorCode.CALCULATOR_DECLINED,
        "no nexus",
        {"calculator_code": "NO"},
    )
    assert not problem.retryable


def test_a_5xx_is_retryable_and_counts_toward_the_circuit(calculator, receiver) -> None:
    error = failure(calculator, receiver, 503, {})
    assert error.problems[0].code is TaxErrorCode.CALCULATOR_FAILED and error.problems[0].retryable
    calculator.refresh_from_db()
    assert calculator.circuit_failure_count == 1
    receiver.answers.append((200, {"success": True, "data": {}}))
    external.calculate(calculator, DOCUMENT, ORDER)
    calculator.refresh_from_db()
    assert calculator.circuit_failure_count == 0


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        {"success": True},
        {"success": True, "data": {"tax_rate": "a lot"}},
        {"success": True, "data": {"tax_rate": 1.5}},
        {"success": True, "data": {"line_items": [{"tax_rate": 0.1}]}},
        {"success": True, "data": {"line_items": [{"id": "li1", "tax_collectable": "lots"}]}},
    ],
)
def test_an_answer_that_is_not_commerce_layers_is_an_error(calculator, receiver, body: Any) -> None:
    error = failure(calculator, receiver, 200, body)
    assert error.problems[0].code is TaxErrorCode.CALCULATOR_ANSWER_INVALID


def test_an_open_circuit_calls_nothing(calculator, receiver) -> None:
    TaxCalculator.objects.filter(pk=calculator.pk).update(circuit_state="open")
    calculator.refresh_from_db()
    with pytest.raises(DomainError) as raised:
        external.calculate(calculator, DOCUMENT, ORDER)
    assert raised.value.problems[0].code is TaxErrorCode.CALCULATOR_CIRCUIT_OPEN
    assert receiver.requests == []


def test_an_unreachable_calculator_is_retryable(calculator, receiver, monkeypatch) -> None:
    monkeypatch.setattr(calculator, "tax_calculator_url", "http://127.0.0.1:1/taxes")
    with pytest.raises(DomainError) as raised:
        external.calculate(calculator, DOCUMENT, ORDER)
    assert raised.value.problems[0].code is TaxErrorCode.CALCULATOR_UNREACHABLE
    assert raised.value.problems[0].retryable


def test_the_outbound_rules_apply_at_the_call(calculator, receiver, monkeypatch) -> None:
    """The operator stopped allowing the local network after the URL was stored: the call is refused."""
    monkeypatch.delenv("ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE")
    with pytest.raises(DomainError) as raised:
        external.calculate(calculator, DOCUMENT, ORDER)
    assert raised.value.problems[0].code is TaxErrorCode.CALCULATOR_REFUSED
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("raw", "seconds"), [(None, 5.0), ("0.5", 0.5), ("soon", 5.0), ("-1", 5.0), ("", 5.0)]
)
def test_the_timeout_is_the_operators_or_five_seconds(monkeypatch, raw, seconds) -> None:
    if raw is None:
        monkeypatch.delenv("ORDERFACTORY_TAX_CALCULATOR_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("ORDERFACTORY_TAX_CALCULATOR_TIMEOUT", raw)
    assert outbound.timeout_setting("ORDERFACTORY_TAX_CALCULATOR_TIMEOUT") == seconds
