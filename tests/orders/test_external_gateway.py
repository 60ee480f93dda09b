"""Placing an order paid through an external gateway: the gateway is asked over HTTP, with no database
transaction open, and its answer decides."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection, connections

from orderfactory.core import scope
from orderfactory.inventory.models import StockItem
from orderfactory.orders.models import Order
from orderfactory.payments.models import ExternalGateway, ExternalPayment, PaymentMethod
from tests.conftest import Api, document
from tests.orders.conftest import Shop, build_shop, new_order, place, problems, stock_of

APPROVE = (200, {"success": True, "data": {"transaction_token": "tok-1", "message": "approved"}})
DECLINE = (200, {"success": False, "data": {"error": {"message": "card declined"}}})


@dataclass
class Gateway:
    """A local external gateway: records each request and whether its signature is right; answers from a
    script (an answer may be a float: sleep that long, then approve); runs ``during`` while it holds a request."""

    url: str = ""
    secret: str = ""
    answers: list[Any] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    during: Callable[[], None] | None = None


@pytest.fixture
def gateway(local_network_allowed: None) -> Iterator[Gateway]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = base64.b64encode(
                hmac.new(state.secret.encode(), raw, hashlib.sha256).digest()
            ).decode()
            signature = self.headers.get("X-CommerceLayer-Signature", "")
            state.requests.append(
                {
                    "path": self.path,
                    "body": json.loads(raw),
                    "signed": hmac.compare_digest(signature, expected),
                }
            )
            if state.during is not None and self.path == "/authorize":
                try:
                    state.during()
                finally:
                    connections.close_all()
            answer = state.answers.pop(0) if state.answers else APPROVE
            if isinstance(answer, float):
                time.sleep(answer)
                answer = APPROVE
            status, body = answer
            payload = json.dumps(body).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:
                pass  # the caller gave up waiting

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def paid_externally(api: Api, shop: Shop, gateway: Gateway, lines: dict[str, int]) -> dict[str, Any]:
    order = new_order(api, shop, lines)
    with scope.active(api.scope()):
        remote = ExternalGateway.objects.create(
            name="Remote", authorize_url=f"{gateway.url}/authorize", void_url=f"{gateway.url}/void"
        )
        gateway.secret = remote.shared_secret
        method = PaymentMethod.objects.create(
            name="Card",
            payment_source_type="external_payments",
            market=shop.market,
            payment_gateway_type="external_gateways",
            payment_gateway_id=remote.pk,
            currency_code="EUR",
        )
        payment = ExternalPayment.objects.create(payment_source_token="card-4242", payment_gateway=remote)
    r = api.update(
        "orders",
        order["id"],
        relationships={
            "payment_method": ("payment_methods", method.pk),
            "payment_source": ("external_payments", payment.pk),
        },
    )
    assert r.status == 200, r
    return r.data


def row(api: Api, order_id: str) -> Order:
    with scope.active(api.scope()):
        return Order.objects.get(pk=order_id)


def update_elsewhere(order_id: str, seen: list[str]) -> None:
    """From another connection, with a short lock wait: succeeds only if no transaction holds the order."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SET lock_timeout = '2s'" if connection.vendor == "postgresql" else "PRAGMA busy_timeout = 2000"
        )
    updated = Order.unscoped.filter(pk=order_id).update(affiliate_code="touched during authorization")
    seen.append(
        Order.unscoped.values_list("status", flat=True).get(pk=order_id) if updated else "not updated"
    )


@pytest.mark.django_db(transaction=True)
def test_an_approved_authorization_places_the_order_with_no_transaction_open(
    api: Api, gateway: Gateway
) -> None:
    shop = build_shop(api)
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})
    seen: list[str] = []
    gateway.during = lambda: update_elsewhere(order["id"], seen)
    r = place(api, order["id"])
    assert r.status == 200, r
    a = r.data["attributes"]
    assert (a["status"], a["payment_status"]) == ("placed", "authorized")
    assert a["payment_source_details"]["transaction_token"] == "tok-1"
    assert a["affiliate_code"] == "touched during authorization"
    assert seen == ["placing"]
    [request] = gateway.requests
    assert request["path"] == "/authorize" and request["signed"]
    attributes = request["body"]["data"]["attributes"]
    assert (attributes["amount_cents"], attributes["currency_code"], attributes["order_reference"]) == (
        3700,
        "EUR",
        order["id"],
    )
    assert attributes["payment_source_token"] == "card-4242"
    assert stock_of(api, shop)[("TSHIRT", "milan")] == 8


@pytest.mark.django_db(transaction=True)
def test_a_declined_authorization_leaves_the_order_pending(api: Api, gateway: Gateway) -> None:
    shop = build_shop(api)
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})
    stock = stock_of(api, shop)
    gateway.answers = [DECLINE]
    r = place(api, order["id"])
    assert r.status == 422, r
    assert problems(r) == {"/data/relationships/payment_source": ["card declined"]}
    assert (row(api, order["id"]).status, row(api, order["id"]).number) == ("pending", None)
    assert stock_of(api, shop) == stock
    assert [q["path"] for q in gateway.requests] == ["/authorize"]


@pytest.mark.django_db(transaction=True)
def test_a_gateway_slower_than_the_timeout_changes_nothing(
    api: Api, gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORDERFACTORY_GATEWAY_TIMEOUT", "0.5")
    shop = build_shop(api)
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})
    stock = stock_of(api, shop)
    gateway.answers = [1.5]
    began = time.monotonic()
    r = place(api, order["id"])
    assert time.monotonic() - began < 1.5
    assert r.status == 422, r
    assert list(problems(r)) == ["/data/relationships/payment_source"]
    assert row(api, order["id"]).status == "pending"
    assert stock_of(api, shop) == stock


@pytest.mark.django_db(transaction=True)
def test_stock_gone_during_the_authorization_voids_it(api: Api, gateway: Gateway) -> None:
    shop = build_shop(api)
    order = paid_externally(api, shop, gateway, {"MUG": 2})
    mug = shop.stock[("MUG", "milan")].pk
    gateway.during = lambda: StockItem.unscoped.filter(pk=mug).update(quantity=1)
    r = place(api, order["id"])
    assert r.status == 422, r
    assert problems(r) == {
        "/data/relationships/line_items": ["MUG is out of stock (requested 2, available 1)"]
    }
    assert row(api, order["id"]).status == "pending"
    assert [q["path"] for q in gateway.requests] == ["/authorize", "/void"]
    void = gateway.requests[1]
    assert void["signed"] and void["body"]["data"]["attributes"]["transaction_token"] == "tok-1"


@pytest.mark.django_db(transaction=True)
def test_cancelling_voids_the_authorization_at_the_gateway(api: Api, gateway: Gateway) -> None:
    shop = build_shop(api)
    order = paid_externally(api, shop, gateway, {"TSHIRT": 1})
    assert place(api, order["id"]).status == 200
    r = api.patch(f"orders/{order['id']}", document("orders", {"_cancel": True}, rid=order["id"]))
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "voided"
    assert [q["path"] for q in gateway.requests] == ["/authorize", "/void"]
    assert gateway.requests[1]["body"]["data"]["attributes"]["transaction_token"] == "tok-1"
