"""Transactions through an external gateway (a local receiver): every call signed, partial captures, a declined
authorization or capture leaves a failed transaction and a 422, and a void after cancelling is written."""

from __future__ import annotations

from typing import Any

import pytest

from orderfactory.core import scope
from orderfactory.payments.models import ExternalGateway
from tests.conftest import Api
from tests.orders import test_external_gateway as external
from tests.orders.conftest import build_shop, place
from tests.orders.test_external_gateway import DECLINE, Gateway, paid_externally
from tests.orders.test_transactions import meta_codes, of, patch, payment_status

gateway = external.gateway  # the local receiver fixture
TOTAL = 3700
CAPTURE_DECLINED = (
    200,
    {
        "success": False,
        "data": {"error": {"code": "05", "detail": "do not honor", "message": "insufficient funds"}},
    },
)


def placed_externally(api: Api, gateway: Gateway) -> dict[str, Any]:
    shop = build_shop(api)
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})
    with scope.active(api.scope()):
        ExternalGateway.objects.update(
            capture_url=f"{gateway.url}/capture", refund_url=f"{gateway.url}/refund"
        )
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data


@pytest.mark.django_db(transaction=True)
def test_a_declined_capture_leaves_a_failed_transaction_and_the_balance(api: Api, gateway: Gateway) -> None:
    order = placed_externally(api, gateway)
    [authorization] = of(api, order["id"], "authorizations")
    assert authorization["attributes"]["token"] == "tok-1"
    gateway.answers = [CAPTURE_DECLINED]
    r = patch(api, "orders", order["id"], {"_capture": True})
    assert r.status == 422, r
    assert meta_codes(r) == ["capture_failed"]
    assert r.json["errors"][0]["detail"].endswith("insufficient funds")
    [failed] = of(api, order["id"], "captures")
    a = failed["attributes"]
    assert (a["succeeded"], a["message"], a["error_code"], a["error_detail"]) == (
        False,
        "insufficient funds",
        "05",
        "do not honor",
    )
    assert (a["amount_cents"], a["refund_balance_cents"]) == (TOTAL, 0)
    assert payment_status(api, order["id"]) == "authorized"
    assert (
        api.get(f"authorizations/{authorization['id']}").data["attributes"]["capture_balance_cents"] == TOTAL
    )
    capture = gateway.requests[-1]
    assert capture["path"] == "/capture" and capture["signed"]
    sent = capture["body"]["data"]
    assert sent["type"] == "captures"
    assert (sent["attributes"]["amount_cents"], sent["attributes"]["transaction_token"]) == (TOTAL, "tok-1")


@pytest.mark.django_db(transaction=True)
def test_partial_captures_and_refunds_at_the_gateway(api: Api, gateway: Gateway) -> None:
    order = placed_externally(api, gateway)
    [authorization] = of(api, order["id"], "authorizations")
    r = patch(api, "authorizations", authorization["id"], {"_capture": True, "_capture_amount_cents": 1000})
    assert r.status == 200, r
    assert r.data["attributes"]["capture_balance_cents"] == TOTAL - 1000
    assert payment_status(api, order["id"]) == "partially_paid"
    r = patch(api, "orders", order["id"], {"_capture": True})
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "paid"
    captured = sorted(
        (c["attributes"]["number"], c["attributes"]["amount_cents"]) for c in of(api, order["id"], "captures")
    )
    assert [amount for _number, amount in captured] == [1000, TOTAL - 1000]
    # A refund across both captures, oldest first: one signed call each.
    r = patch(api, "orders", order["id"], {"_refund": True, "_refund_amount_cents": 1500})
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "partially_refunded"
    refunded = sorted(
        (x["attributes"]["number"], x["attributes"]["amount_cents"]) for x in of(api, order["id"], "refunds")
    )
    assert [amount for _number, amount in refunded] == [1000, 500]
    refunds = [q for q in gateway.requests if q["path"] == "/refund"]
    assert len(refunds) == 2 and all(q["signed"] for q in refunds)


@pytest.mark.django_db(transaction=True)
def test_a_declined_authorization_is_a_failed_transaction(api: Api, gateway: Gateway) -> None:
    shop = build_shop(api)
    order = paid_externally(api, shop, gateway, {"TSHIRT": 2})
    gateway.answers = [DECLINE]
    assert place(api, order["id"]).status == 422
    [declined] = of(api, order["id"], "authorizations")
    a = declined["attributes"]
    assert (a["succeeded"], a["message"], a["capture_balance_cents"]) == (False, "card declined", 0)
    assert a["number"] == f"{order['id']}/T/001"
    # Placed at the second try: the placed order's series starts anew from its number.
    r = place(api, order["id"])
    assert r.status == 200, r
    numbers = sorted(t["attributes"]["number"] for t in of(api, order["id"], "authorizations"))
    assert numbers == sorted([f"{order['id']}/T/001", f"{r.data['attributes']['number']}/T/001"])
    # A gateway with no capture URL cannot capture: a failed capture, the order still authorized.
    r = patch(api, "orders", order["id"], {"_capture": True})
    assert r.status == 422 and meta_codes(r) == ["capture_failed"], r
    assert r.json["errors"][0]["title"] == "the gateway has no captures url"
    assert payment_status(api, order["id"]) == "authorized"


@pytest.mark.django_db(transaction=True)
def test_cancelling_writes_the_void_the_gateway_made(api: Api, gateway: Gateway) -> None:
    order = placed_externally(api, gateway)
    r = patch(api, "orders", order["id"], {"_cancel": True})
    assert r.status == 200, r
    assert r.data["attributes"]["payment_status"] == "voided"
    [void] = of(api, order["id"], "voids")
    assert (void["attributes"]["succeeded"], void["attributes"]["amount_cents"]) == (True, TOTAL)
    assert [q["path"] for q in gateway.requests] == ["/authorize", "/void"]
