"""External promotions end to end over HTTP, with the merchant's service a real HTTP receiver on 127.0.0.1 (the
operator allows the local network, as tests/conftest.py's ``local_network_allowed``): the order POSTed signed
once its change commits, the answer's discount on the lines to the cent, the failures Commerce Layer
documents, the outbound refusals, tenancy, the copy, and the queries of pricing an order with one."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import pytest
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from orderfactory.core import clock, outbound
from orderfactory.jsonapi.resource import format_datetime
from orderfactory.promotions import external
from tests.conftest import Api
from tests.factories.conftest import copied, copy, run_job
from tests.orders.conftest import Shop, build_shop, line_items, new_order, place


@dataclass
class Receiver:
    url: str = ""
    # (status, body or raw bytes, seconds to wait before answering), one per call; then DEFAULT.
    answers: list[tuple[int, Any, float]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    secret: str = ""

    def answer(self, body: Any, status: int = 200, wait: float = 0.0) -> None:
        self.answers.append((status, body, wait))


DEFAULT = {"success": True, "data": {"name": "Loyalty", "discount_cents": 1000}}


@pytest.fixture
def receiver(local_network_allowed: None) -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            expected = base64.b64encode(
                hmac.new(state.secret.encode(), raw, hashlib.sha256).digest()
            ).decode()
            signature = self.headers.get("X-CommerceLayer-Signature", "")
            state.requests.append(
                {"body": json.loads(raw), "signed": hmac.compare_digest(signature, expected)}
            )
            status, body, wait = state.answers.pop(0) if state.answers else (200, DEFAULT, 0.0)
            time.sleep(wait)
            payload = body if isinstance(body, bytes) else json.dumps(body).encode()
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
    state.url = f"http://127.0.0.1:{server.server_address[1]}/promotions"
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _each_request_commits(monkeypatch: Any, django_capture_on_commit_callbacks: Any) -> None:
    """The test runs in one transaction that never commits; a request's own commit is when the external
    services are called (promotions.external.ask): run what each request leaves for its commit as it ends."""
    request = Api.request

    def committing(self: Api, *args: Any, **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return request(self, *args, **kwargs)

    monkeypatch.setattr(Api, "request", committing)


@pytest.fixture
def shop(api: Api) -> Shop:
    return build_shop(api)


def external_promotion(api: Api, receiver: Receiver, **attributes: Any) -> dict[str, Any]:
    now = clock.now()
    made = api.create(
        "external_promotions",
        {
            "name": "Loyalty engine",
            "promotion_url": receiver.url,
            "starts_at": format_datetime(now - dt.timedelta(days=1)),
            "expires_at": format_datetime(now + dt.timedelta(days=30)),
            **attributes,
        },
    )
    receiver.secret = made["attributes"]["shared_secret"]
    return made


def discounts(api: Api, order_id: str) -> dict[str, int]:
    return {
        li["attributes"]["sku_code"]: li["attributes"]["discount_cents"] for li in line_items(api, order_id)
    }


def order_totals(api: Api, order_id: str) -> tuple[int, int, int]:
    a = api.get(f"orders/{order_id}").data["attributes"]
    return a["subtotal_amount_cents"], a["discount_amount_cents"], a["total_amount_cents"]


def test_the_order_is_posted_signed_and_the_discount_split_over_the_lines(
    api: Api, shop: Shop, receiver: Receiver
) -> None:
    promotion = external_promotion(api, receiver)
    secret = promotion["attributes"]["shared_secret"]
    assert len(secret) >= 32 and promotion["attributes"]["circuit_state"] == "closed"
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})  # 3000 + 800, shipping 700
    # Signed with the promotion's shared secret, the order with Commerce Layer's includes.
    assert receiver.requests and all(r["signed"] for r in receiver.requests)
    sent = receiver.requests[-1]["body"]
    assert sent["data"]["type"] == "orders" and sent["data"]["id"] == order["id"]
    included = {item["type"] for item in sent["included"]}
    assert {"markets", "line_items", "skus", "addresses"} <= included
    # 1000 over 3000:800: 789.47 and 210.53, the odd cent to the largest remainder.
    assert discounts(api, order["id"]) == {"TSHIRT": -789, "MUG": -211}
    assert order_totals(api, order["id"]) == (3800, -1000, 3800 - 1000 + 700)
    [line] = line_items(api, order["id"], "external_promotions")
    assert (line["attributes"]["name"], line["attributes"]["total_amount_cents"]) == ("Loyalty", -1000)
    breakdown = {
        li["attributes"]["sku_code"]: li["attributes"]["discount_breakdown"]
        for li in line_items(api, order["id"])
    }
    assert breakdown["TSHIRT"] == {
        promotion["id"]: {"name": "Loyalty", "cents": -789, "weight": 0.789, "coupon_code": None}
    }
    # In the promotions list, as its own type.
    listed = {p["id"]: p["attributes"]["type"] for p in api.get("promotions").data}
    assert listed[promotion["id"]] == "external_promotions"


def test_the_service_is_called_again_only_when_the_order_changes(
    api: Api, shop: Shop, receiver: Receiver
) -> None:
    external_promotion(api, receiver)
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    calls = len(receiver.requests)
    # Nothing a discount depends on: no call.
    assert api.update("orders", order["id"], {"reference": "R-1"}).status == 200
    assert len(receiver.requests) == calls
    [line] = line_items(api, order["id"])
    receiver.answer({"success": True, "data": {"discount_cents": 250}})
    assert api.update("line_items", line["id"], {"quantity": 3}).status == 200
    assert len(receiver.requests) == calls + 1
    assert order_totals(api, order["id"])[:2] == (4500, -250)


def test_listed_lines_and_each_lines_own_cents(api: Api, shop: Shop, receiver: Receiver) -> None:
    external_promotion(api, receiver)
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1}, ready=False)
    ids = {li["attributes"]["sku_code"]: li["id"] for li in line_items(api, order["id"])}
    # Over the listed lines only.
    receiver.answer({"success": True, "data": {"discount_cents": 300, "line_items": [{"id": ids["MUG"]}]}})
    api.update("orders", order["id"], {"customer_email": "bob@example.com"})
    assert discounts(api, order["id"]) == {"TSHIRT": 0, "MUG": -300}
    # Each line its own, never more than the line (MUG is 800); a negative amount is a discount too.
    own = [{"id": ids["TSHIRT"], "discount_cents": -120}, {"id": ids["MUG"], "discount_cents": 5000}]
    receiver.answer({"success": True, "data": {"line_items": own}})
    api.update("orders", order["id"], {"customer_email": "carl@example.com"})
    assert discounts(api, order["id"]) == {"TSHIRT": -120, "MUG": -800}
    assert order_totals(api, order["id"])[1] == -920


@pytest.mark.parametrize(
    ("status", "body", "counted"),
    [
        (500, {"error": "boom"}, True),
        (200, b"{not json", True),
        (200, {"success": True, "data": {"discount_cents": 12.5}}, True),
        (200, {"success": False, "error": {"code": "NO", "message": "not for you"}}, False),
    ],
)
def test_a_failure_adds_no_promotion_and_the_api_answers_200(
    api: Api, shop: Shop, receiver: Receiver, status: int, body: Any, counted: bool
) -> None:
    promotion = external_promotion(api, receiver)
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    receiver.answer(body, status)
    r = api.update("orders", order["id"], {"customer_email": "bob@example.com"})
    assert r.status == 200, r
    assert line_items(api, order["id"], "external_promotions") == []
    assert order_totals(api, order["id"])[1] == 0
    failures = api.get(f"external_promotions/{promotion['id']}").data["attributes"]["circuit_failure_count"]
    assert failures == (1 if counted else 0)


def test_a_timeout_counts_and_the_circuit_opens_at_the_threshold(
    api: Api, shop: Shop, receiver: Receiver, monkeypatch: Any
) -> None:
    monkeypatch.setenv("ORDERFACTORY_PROMOTION_TIMEOUT", "0.2")
    promotion = external_promotion(api, receiver)
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    receiver.answer(DEFAULT, wait=1.0)
    assert api.update("orders", order["id"], {"customer_email": "slow@example.com"}).status == 200
    assert order_totals(api, order["id"])[1] == 0
    attributes = api.get(f"external_promotions/{promotion['id']}").data["attributes"]
    assert attributes["circuit_failure_count"] == 1
    # At the threshold the circuit opens, and an open circuit is not called (nor counted).
    from orderfactory.core import scope
    from orderfactory.promotions.models import Promotion

    with scope.active(api.scope()):
        Promotion.objects.filter(pk=promotion["id"]).update(
            circuit_failure_count=external.CIRCUIT_THRESHOLD - 1
        )
    receiver.answer({}, 500)
    api.update("orders", order["id"], {"customer_email": "again@example.com"})
    attributes = api.get(f"external_promotions/{promotion['id']}").data["attributes"]
    assert (attributes["circuit_state"], attributes["circuit_failure_count"]) == (
        "open",
        external.CIRCUIT_THRESHOLD,
    )
    calls = len(receiver.requests)
    api.update("orders", order["id"], {"customer_email": "open@example.com"})
    assert len(receiver.requests) == calls and order_totals(api, order["id"])[1] == 0
    # _reset_circuit closes it: the next change is called and discounted.
    r = api.update("external_promotions", promotion["id"], {"_reset_circuit": True})
    assert (r.data["attributes"]["circuit_state"], r.data["attributes"]["circuit_failure_count"]) == (
        "closed",
        0,
    )
    api.update("orders", order["id"], {"customer_email": "closed@example.com"})
    assert order_totals(api, order["id"])[1] == -1000


def test_the_shared_secret_is_regenerated_on_demand(api: Api, receiver: Receiver) -> None:
    promotion = external_promotion(api, receiver)
    r = api.update("external_promotions", promotion["id"], {"_regenerate_shared_secret": True})
    assert r.status == 200
    assert r.data["attributes"]["shared_secret"] not in (None, promotion["attributes"]["shared_secret"])


def test_a_private_address_is_refused_when_stored_and_when_called(
    api: Api, shop: Shop, receiver: Receiver, monkeypatch: Any
) -> None:
    monkeypatch.delenv("ORDERFACTORY_OUTBOUND_ALLOW_PRIVATE")
    now = clock.now()
    attributes = {
        "name": "Internal",
        "starts_at": format_datetime(now - dt.timedelta(days=1)),
        "expires_at": format_datetime(now + dt.timedelta(days=1)),
    }
    for url in ("http://10.0.0.7/promo", "http://169.254.169.254/latest", "http://localhost:8000/x"):
        refused = api.create("external_promotions", {**attributes, "promotion_url": url}, expect=422)
        assert [e["source"]["pointer"] for e in refused["errors"]] == ["/data/attributes/promotion_url"]
    # A name that resolves to a private address is refused at the call: not sent, no promotion, and the
    # service did not fail, so its circuit counts nothing.
    promotion = api.create("external_promotions", {**attributes, "promotion_url": "http://promo.example/x"})
    monkeypatch.setattr(outbound, "resolve", lambda host, port: ["10.1.2.3"])
    order = new_order(api, shop, {"TSHIRT": 1}, ready=False)
    assert order_totals(api, order["id"])[1] == 0 and receiver.requests == []
    failures = api.get(f"external_promotions/{promotion['id']}").data["attributes"]["circuit_failure_count"]
    assert failures == 0


def test_tenants_and_modes_see_only_their_own(
    api: Api, other_org: Api, live_api: Api, shop: Shop, receiver: Receiver
) -> None:
    promotion = external_promotion(api, receiver)
    for other in (other_org, live_api):
        assert other.get(f"external_promotions/{promotion['id']}").status == 404
        assert other.get("external_promotions").data == []
        assert promotion["id"] not in {p["id"] for p in other.get("promotions").data}
    # Another organization's orders are not sent to it.
    other_shop = build_shop(other_org, code="EU2")
    new_order(other_org, other_shop, {"TSHIRT": 1}, ready=False)
    assert receiver.requests == []


def test_priority_exclusive_and_usage_limit_as_other_kinds(api: Api, shop: Shop, receiver: Receiver) -> None:
    promotion = external_promotion(api, receiver, priority=2, total_usage_limit=1)
    now = clock.now()
    api.create(
        "percentage_discount_promotions",
        {
            "name": "Ten",
            "percentage": 10,
            "priority": 1,
            "starts_at": format_datetime(now - dt.timedelta(days=1)),
            "expires_at": format_datetime(now + dt.timedelta(days=1)),
        },
    )
    order = new_order(api, shop, {"TSHIRT": 2})  # 3000: 10% first (300), then 1000 of what is left
    assert order_totals(api, order["id"])[:2] == (3000, -1300)
    assert place(api, order["id"]).status == 200
    counted = api.get(f"external_promotions/{promotion['id']}").data["attributes"]
    assert (counted["total_usage_count"], counted["total_usage_reached"]) == (1, True)
    # Used up: the next order is not sent to it.
    calls = len(receiver.requests)
    later = new_order(api, shop, {"TSHIRT": 2}, ready=False)
    assert len(receiver.requests) == calls and order_totals(api, later["id"])[1] == -300
    # Exclusive: only it applies.
    api.update("external_promotions", promotion["id"], {"total_usage_limit": None, "exclusive": True})
    exclusive = new_order(api, shop, {"TSHIRT": 2}, ready=False)
    assert order_totals(api, exclusive["id"])[1] == -1000


# PATCH /api/line_items/<id> {quantity} on an order with an external promotion, whatever its quantity: the
# request's transaction (its savepoint here: the line item, its order and price read, the line written, the
# order's lines, shipments, the promotions with their rules and the stored answer read, the stale promotion
# line deleted with what hangs on it, the lines and order written, the audit row, the event and its webhook
# lookup, render), then at its commit the call's two: the first (the order's status, the promotion, the
# order's document: one query per include level) and the second (the order locked, the answer replaced, the
# order priced again with it: its lines, shipments, promotions and answer read, the promotion line inserted,
# the lines and order written, the audit row, the event and its webhook lookup). Savepoints included.
PRICING_QUERIES = 45


def test_the_queries_of_pricing_an_order_with_an_external_promotion_are_pinned(
    api: Api, shop: Shop, receiver: Receiver
) -> None:
    external_promotion(api, receiver)
    counts = []
    for size in (1, 3):
        order = new_order(api, shop, {"TSHIRT": 1, "MUG": 1}, ready=False)
        [line, *_] = line_items(api, order["id"])
        with CaptureQueriesContext(connection) as captured:
            r = api.update("line_items", line["id"], {"quantity": size + 1})
        assert r.status == 200, r
        counts.append(len(captured.captured_queries))
    assert counts == [PRICING_QUERIES] * 2


def run_copy(api: Api, source_id: str, **attributes: Any) -> dict[str, Any]:
    """A copy of the source, its job run as the worker runs it (its commit calls the services it asks for):
    the target order."""
    r = copy(api, source_id, attributes=attributes)
    assert r.status == 201, r
    with TestCase.captureOnCommitCallbacks(execute=True):
        run_job(r.data["id"])
    factory, target = copied(api, r.data["id"])
    assert factory["attributes"]["status"] == "completed", factory
    assert target is not None
    return target


def test_the_copy_keeps_the_line_frozen_unless_apply_promotions_calls_again(
    api: Api, shop: Shop, receiver: Receiver
) -> None:
    promotion = external_promotion(api, receiver)
    source = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    assert api.update("orders", source["id"], {"_save_payment_source_to_customer_wallet": True}).status == 200
    assert place(api, source["id"]).status == 200
    calls = len(receiver.requests)
    # Frozen: the source's line and shares as they were, whatever the service would say now; no call.
    receiver.answer({"success": True, "data": {"discount_cents": 1}})
    target = run_copy(api, source["id"])
    assert len(receiver.requests) == calls
    assert discounts(api, target["id"]) == {"TSHIRT": -789, "MUG": -211}
    [line] = line_items(api, target["id"], "external_promotions")
    assert (line["attributes"]["total_amount_cents"], line["attributes"]["name"]) == (-1000, "Loyalty")
    assert order_totals(api, target["id"]) == (3800, -1000, 3500)
    # apply_promotions: the service is called for the target, whose own answer applies.
    target = run_copy(api, source["id"], apply_promotions=True)
    assert len(receiver.requests) == calls + 1
    sent = receiver.requests[-1]
    assert sent["signed"] and sent["body"]["data"]["id"] == target["id"]
    assert discounts(api, target["id"]) == {"TSHIRT": -1, "MUG": 0}
    assert order_totals(api, target["id"]) == (3800, -1, 4499)
    # Disabled: the copy that reapplies promotions has none, and calls nothing.
    api.update("external_promotions", promotion["id"], {"_disable": True})
    target = run_copy(api, source["id"], apply_promotions=True)
    assert len(receiver.requests) == calls + 1
    assert line_items(api, target["id"], "external_promotions") == []
    assert order_totals(api, target["id"]) == (3800, 0, 4500)


# Committed for real: the copy's job commits its copy, then places the target in a later transaction, and the
# call must come between the two (in the other tests, the test's own transaction holds every commit back).
@pytest.mark.django_db(transaction=True)
def test_a_copy_placed_at_once_is_placed_with_the_answer_for_its_target(
    api: Api, shop: Shop, receiver: Receiver
) -> None:
    promotion = external_promotion(api, receiver)
    source = new_order(api, shop, {"TSHIRT": 2})
    assert api.update("orders", source["id"], {"_save_payment_source_to_customer_wallet": True}).status == 200
    assert place(api, source["id"]).status == 200
    receiver.answer({"success": True, "data": {"discount_cents": 400}})
    target = run_copy(api, source["id"], apply_promotions=True, place_target_order=True)
    assert target["attributes"]["status"] == "placed"
    assert order_totals(api, target["id"]) == (3000, -400, 3300)
    # Placed: its usage counted, and its promotions are never called again.
    assert api.get(f"external_promotions/{promotion['id']}").data["attributes"]["total_usage_count"] == 2
