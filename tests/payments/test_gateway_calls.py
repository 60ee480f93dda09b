"""authorize and void against a real HTTP receiver on 127.0.0.1, the way an external gateway is called."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from orderfactory.core import scope as scopes
from orderfactory.payments import services
from orderfactory.payments.models import (
    ExternalGateway,
    ExternalPayment,
    ManualGateway,
    PaymentMethod,
    WireTransfer,
)

Answer = tuple[int, Any]  # (status, JSON body), or a float: sleep that many seconds first


@dataclass
class Receiver:
    """An external gateway: records each request, checks its signature, answers from a script."""

    url: str
    secret: str = ""
    answers: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)


@pytest.fixture
def receiver(local_network_allowed: None) -> Iterator[Receiver]:
    state = Receiver(url="")

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
                    "content_type": self.headers["Content-Type"],
                }
            )
            answer = state.answers.pop(0) if state.answers else (200, {"success": True, "data": {}})
            if isinstance(answer, float):
                time.sleep(answer)
                answer = (200, {"success": True, "data": {"transaction_token": "late"}})
            status, body = answer
            payload = json.dumps(body).encode()
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", f"{state.url}/elsewhere")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            state.requests.append({"path": self.path, "method": "GET"})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFACTORY_GATEWAY_TIMEOUT", "0.5")
    monkeypatch.setattr(services, "BACKOFF_SECONDS", 0.01)


@pytest.fixture
def in_scope(api: Any) -> Iterator[scopes.Scope]:
    with scopes.active(api.scope()) as scope:
        yield scope


@pytest.fixture
def external(
    in_scope: scopes.Scope, receiver: Receiver
) -> Callable[..., tuple[PaymentMethod, ExternalPayment]]:
    def make(**urls: str) -> tuple[PaymentMethod, ExternalPayment]:
        gateway = ExternalGateway.objects.create(
            name="PSP",
            authorize_url=urls.get("authorize_url", f"{receiver.url}/authorize"),
            void_url=urls.get("void_url", f"{receiver.url}/void"),
        )
        receiver.secret = gateway.shared_secret
        method = PaymentMethod.objects.create(
            name="Card",
            payment_source_type="external_payments",
            currency_code="EUR",
            payment_gateway_type="external_gateways",
            payment_gateway_id=gateway.pk,
        )
        return method, ExternalPayment.objects.create(payment_source_token="tok_4242", options={"3ds": True})

    return make


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gateway_of(method: PaymentMethod) -> ExternalGateway:
    return ExternalGateway.objects.get(pk=method.payment_gateway_id)


def test_a_manual_gateway_authorizes_at_once(in_scope: scopes.Scope) -> None:
    gateway = ManualGateway.objects.create(name="Manual")
    method = PaymentMethod.objects.create(
        name="Wire",
        payment_source_type="wire_transfers",
        currency_code="EUR",
        payment_gateway_type="manual_gateways",
        payment_gateway_id=gateway.pk,
    )
    transfer = WireTransfer.objects.create()
    assert services.authorize(method, transfer, 1000, "EUR", "ORD-1").success is True
    assert services.void(method, transfer, None, "ORD-1").success is True


def test_authorize_posts_a_signed_document_and_the_answer_decides(external, receiver: Receiver) -> None:
    method, payment = external()
    receiver.answers = [
        (200, {"success": True, "data": {"transaction_token": "txn_1", "amount_cents": 1000}})
    ]
    result = services.authorize(method, payment, 1000, "EUR", "ORD-1")
    assert (result.success, result.transaction_token) == (True, "txn_1")
    assert result.response == {"success": True, "data": {"transaction_token": "txn_1", "amount_cents": 1000}}
    [request] = receiver.requests
    assert (
        request["signed"]
        and request["path"] == "/authorize"
        and request["content_type"] == "application/json"
    )
    assert request["body"] == {
        "data": {
            "type": "authorizations",
            "attributes": {
                "amount_cents": 1000,
                "currency_code": "EUR",
                "order_reference": "ORD-1",
                "payment_source_id": payment.pk,
                "payment_source_token": "tok_4242",
                "options": {"3ds": True},
            },
        }
    }


def test_a_declined_authorization_fails_with_the_gateway_message(external, receiver: Receiver) -> None:
    method, payment = external()
    receiver.answers = [
        (
            200,
            {"success": False, "data": {"error": {"code": "card_declined", "message": "Insufficient funds"}}},
        ),
        (402, {"success": False, "data": {"error": {"message": "Card expired"}}}),
        (200, {"data": {"transaction_token": "txn_1"}}),  # no success flag is no success
        (201, ["not", "an", "object"]),
    ]
    messages = [services.authorize(method, payment, 1000, "EUR", "ORD-1") for _ in range(4)]
    assert [m.success for m in messages] == [False] * 4
    assert [m.message for m in messages[:3]] == [
        "Insufficient funds",
        "Card expired",
        "the gateway answered 200",
    ]
    assert len(receiver.requests) == 4
    assert gateway_of(method).circuit_failure_count == 0  # a refusal is an answer, not a gateway failure


def test_an_authorization_that_times_out_fails_and_is_not_retried(
    external, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERFACTORY_GATEWAY_TIMEOUT", "1")
    method, payment = external()
    receiver.answers = [2.5]  # sleeps past the timeout
    result = services.authorize(method, payment, 1000, "EUR", "ORD-1")
    assert result.success is False and result.message == "the gateway did not answer in time"
    assert len(receiver.requests) == 1
    assert gateway_of(method).circuit_failure_count == 1


def test_a_refused_connection_is_retried_once_then_fails(external, monkeypatch: pytest.MonkeyPatch) -> None:
    method, payment = external(authorize_url=f"http://127.0.0.1:{closed_port()}/authorize")
    tries = []
    post = services._post
    monkeypatch.setattr(services, "_post", lambda url, *rest: (tries.append(url), post(url, *rest))[1])
    result = services.authorize(method, payment, 1000, "EUR", "ORD-1")
    assert result.success is False and "refused" in result.message
    assert len(tries) == 2  # nothing reached a gateway, so the one retry cannot authorize twice
    assert gateway_of(method).circuit_failure_count == 1


def test_a_server_error_is_not_retried_for_authorize(external, receiver: Receiver) -> None:
    method, payment = external()
    receiver.answers = [(500, {}), (200, {"success": True, "data": {}})]
    result = services.authorize(method, payment, 1000, "EUR", "ORD-1")
    assert result.success is False and result.message == "the gateway answered 500"
    assert len(receiver.requests) == 1


def test_void_is_retried_with_backoff(external, receiver: Receiver) -> None:
    method, payment = external()
    receiver.answers = [
        (503, {}),
        (502, {}),
        (200, {"success": True, "data": {"transaction_token": "void_1"}}),
    ]
    result = services.void(method, payment, "txn_1", "ORD-1", amount_cents=1000, currency_code="EUR")
    assert (result.success, result.transaction_token) == (True, "void_1")
    assert [r["path"] for r in receiver.requests] == ["/void"] * 3
    assert all(r["signed"] for r in receiver.requests)
    assert receiver.requests[0]["body"]["data"]["type"] == "voids"
    assert receiver.requests[0]["body"]["data"]["attributes"] == {
        "amount_cents": 1000,
        "currency_code": "EUR",
        "order_reference": "ORD-1",
        "payment_source_id": payment.pk,
        "payment_source_token": "tok_4242",
        "transaction_token": "txn_1",
    }


def test_void_gives_up_after_three_tries(external, receiver: Receiver) -> None:
    method, payment = external()
    receiver.answers = [(500, {})] * 4
    result = services.void(method, payment, "txn_1", "ORD-1", amount_cents=1000, currency_code="EUR")
    assert result.success is False
    assert len(receiver.requests) == 3


def test_the_circuit_opens_after_consecutive_failures(external, receiver: Receiver) -> None:
    method, payment = external()
    ExternalGateway.objects.filter(pk=method.payment_gateway_id).update(
        circuit_failure_count=services.CIRCUIT_THRESHOLD - 1
    )
    receiver.answers = [(500, {})]
    assert services.authorize(method, payment, 1000, "EUR", "ORD-1").success is False
    gateway = gateway_of(method)
    assert (gateway.circuit_state, gateway.circuit_failure_count) == ("open", services.CIRCUIT_THRESHOLD)
    result = services.authorize(method, payment, 1000, "EUR", "ORD-1")
    assert result.success is False and "circuit" in result.message
    assert len(receiver.requests) == 1  # the open circuit sent nothing


def test_a_success_resets_the_failure_count(external, receiver: Receiver) -> None:
    method, payment = external()
    ExternalGateway.objects.filter(pk=method.payment_gateway_id).update(circuit_failure_count=5)
    assert services.authorize(method, payment, 1000, "EUR", "ORD-1").success is True
    assert gateway_of(method).circuit_failure_count == 0


def test_a_redirect_is_not_followed(external, receiver: Receiver) -> None:
    method, payment = external()
    receiver.answers = [(302, {})]
    result = services.authorize(method, payment, 1000, "EUR", "ORD-1")
    assert result.success is False and result.message == "the gateway answered 302"
    assert [r["path"] for r in receiver.requests] == ["/authorize"]


def test_a_disabled_payment_method_does_not_authorize(external, receiver: Receiver) -> None:
    from orderfactory.core import clock

    method, payment = external()
    method.disabled_at = clock.now()
    assert services.authorize(method, payment, 1000, "EUR", "ORD-1").success is False
    assert receiver.requests == []


def test_clone_payment_source(in_scope: scopes.Scope) -> None:
    gateway = ExternalGateway.objects.create(name="PSP")
    payment = ExternalPayment.objects.create(
        payment_source_token="tok_1",
        options={"a": 1},
        payment_gateway=gateway,
        order_id="ORDER00001",
        customer_payment_source_id="WALLET0001",
        payment_response={"success": True},
        metadata={"k": "v"},
    )
    clone = services.clone_payment_source(payment)
    assert isinstance(clone, ExternalPayment) and clone.pk != payment.pk
    assert (clone.payment_source_token, clone.options, clone.payment_gateway_id, clone.metadata) == (
        "tok_1",
        {"a": 1},
        gateway.pk,
        {"k": "v"},
    )
    assert (clone.order_id, clone.customer_payment_source_id, clone.payment_response) == (None, None, None)
    assert isinstance(services.clone_payment_source(WireTransfer.objects.create()), WireTransfer)


def test_timeout_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERFACTORY_GATEWAY_TIMEOUT", "2.5")
    assert services.gateway_timeout() == 2.5
    for bad in ("", "abc", "-1"):
        monkeypatch.setenv("ORDERFACTORY_GATEWAY_TIMEOUT", bad)
        assert services.gateway_timeout() == 5.0
