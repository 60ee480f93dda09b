from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from orderfactory.core import clock
from orderfactory.factories import services as factories
from orderfactory.factories.models import OrderFactory
from orderfactory.subscriptions import services
from tests.conftest import document
from tests.orders.conftest import build_shop, new_order, place


@pytest.fixture
def shop(api: Any):
    return build_shop(api, skus={"TSHIRT": (1500, {"milan": 100}), "MUG": (800, {"milan": 50})})


@pytest.fixture
def placed_order(api: Any, shop: Any) -> dict[str, Any]:
    order = new_order(api, shop, {"TSHIRT": 2})
    r = api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True})
    assert r.status == 200, r
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data


def subscribe(api: Any, order_id: str, **attributes: Any) -> Any:
    body = document(
        "order_subscriptions", {"frequency": "daily", **attributes}, {"source_order": ("orders", order_id)}
    )
    return api.post("order_subscriptions", body)


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def tick() -> dict[str, int]:
    return services.tick()


def run_pending_factories() -> list[str | None]:
    """Run every pending factory job as the worker would, in creation order."""
    ids = list(
        OrderFactory.unscoped.filter(status="pending")
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    return [factories.run(i) for i in ids]


__all__ = ["clock", "parse", "run_pending_factories", "subscribe", "tick"]
