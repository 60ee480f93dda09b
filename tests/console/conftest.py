"""Operators, a signed-in console client, and a shop with a subscription whose renewal failed for want of stock."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from orderfactory.console import services as operators
from orderfactory.console.models import Operator
from orderfactory.core import clock, scope
from orderfactory.events.models import Event, Webhook, WebhookDelivery
from orderfactory.factories.models import OrderFactory
from orderfactory.inventory.models import StockItem
from orderfactory.subscriptions.models import OrderSubscription
from tests.orders.conftest import Shop, build_shop, new_order, place
from tests.subscriptions.conftest import run_pending_factories, subscribe, tick

PASSWORD = "a long console password"
_seq = itertools.count(1)


@pytest.fixture
def fast_hashing(settings: Any) -> None:
    """Operators made by these tests are hashed with a fast hasher; the configured one is tested apart."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Console:
    """A browser-less console session of one operator (Django's test client, signed in)."""

    operator: Operator
    client: Client

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self.client.get(path, params or {})

    def post(self, path: str, data: dict[str, Any] | None = None) -> Any:
        return self.client.post(path, data or {})

    def text(self, path: str, params: dict[str, Any] | None = None) -> str:
        response = self.get(path, params)
        assert response.status_code == 200, (response.status_code, response.content[:2000])
        return response.content.decode()


@pytest.fixture
def make_console(db: Any, fast_hashing: Any) -> Callable[..., Console]:
    def factory(organization: str = "acme", role: str = "support", mode: str = "test") -> Console:
        operator = operators.create_operator(
            email=f"operator-{next(_seq)}@{organization}.example",
            organization_slug=organization,
            role=role,
            password=PASSWORD,
        )
        client = Client()
        client.force_login(operator)
        console = Console(operator, client)
        if mode != "test":
            assert console.post("/console/mode", {"mode": mode}).status_code == 303
        return console

    return factory


@pytest.fixture
def support(make_console: Callable[..., Console]) -> Console:
    return make_console(role="support")


@pytest.fixture
def admin(make_console: Callable[..., Console]) -> Console:
    return make_console(role="admin")


@pytest.fixture
def viewer(make_console: Callable[..., Console]) -> Console:
    return make_console(role="viewer")


@dataclass
class Renewal:
    """A daily manual subscription of 2 TSHIRT whose first run failed: TSHIRT was out of stock."""

    shop: Shop
    order: dict[str, Any]
    subscription: OrderSubscription
    failed_copy: OrderFactory


def failed_renewal(api: Any, *, email: str = "ada@example.com") -> Renewal:
    shop = build_shop(api, skus={"TSHIRT": (1500, {"milan": 100}), "MUG": (800, {"milan": 50})})
    order = new_order(api, shop, {"TSHIRT": 2}, email=email)
    assert api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True}).status == 200
    placed = place(api, order["id"])
    assert placed.status == 200, placed
    order = placed.data
    subscription_id = subscribe(api, order["id"]).data["id"]
    # Due a minute ago (a run within the missed-run grace is on time): the run happens now, on the real clock,
    # so the trail and the chart see it when it happened.
    a_minute_ago = clock.now() - dt.timedelta(minutes=1)
    with scope.active(api.scope()):
        OrderSubscription.objects.filter(pk=subscription_id).update(
            next_run_at=a_minute_ago, anchor_at=a_minute_ago
        )
    set_stock(api, "TSHIRT", 0)
    assert tick()["runs"] == 1
    run_pending_factories()  # here, unless a server's worker on this database took the job first
    with scope.active(api.scope()):
        copy = OrderFactory.objects.filter(order_subscription_id=subscription_id)
        deadline = time.monotonic() + 60
        while copy.get().status != "failed" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert copy.get().status == "failed"
    with scope.active(api.scope()):
        return Renewal(
            shop,
            order,
            OrderSubscription.objects.get(pk=subscription_id),
            OrderFactory.objects.get(order_subscription_id=subscription_id),
        )


def set_stock(api: Any, sku_code: str, quantity: int) -> None:
    with scope.active(api.scope()):
        StockItem.objects.filter(sku__code=sku_code).update(quantity=quantity)


@pytest.fixture
def renewal(api: Any) -> Renewal:
    return failed_renewal(api)


def failing_webhook(api: Any, *, name: str = "erp") -> tuple[Webhook, WebhookDelivery]:
    """A webhook whose circuit opened, with one failed delivery of an ``orders.place`` event."""
    with scope.active(api.scope()):
        webhook = Webhook.objects.create(
            name=name,
            topic="orders.place",
            callback_url="https://erp.example.com/hooks",
            circuit_state="open",
            circuit_failure_count=10,
        )
        event = Event.objects.create(name="orders.place", resource_type="orders", resource_id="ORDERxxxxx")
        delivery = WebhookDelivery.objects.create(
            webhook=webhook, event=event, body=b"{}", status="failed", attempts=5
        )
    return webhook, delivery


def rows(api: Any, model: Any, **filters: Any) -> list[Any]:
    with scope.active(api.scope()):
        return list(model.objects.filter(**filters).order_by("created_at", "id"))
