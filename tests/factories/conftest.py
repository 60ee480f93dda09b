from __future__ import annotations

from typing import Any

import pytest

from orderfactory.core import scope
from orderfactory.factories import services
from orderfactory.inventory.models import StockItem
from orderfactory.subscriptions.models import OrderSubscription
from tests.conftest import document
from tests.orders.conftest import build_shop, line_items, new_order, place  # noqa: F401


@pytest.fixture
def shop(api: Any):
    return build_shop(api)


@pytest.fixture
def placed_order(api: Any, shop: Any) -> dict[str, Any]:
    return placed(api, shop)


def placed(api: Any, shop: Any) -> dict[str, Any]:
    """A placed order of 2 TSHIRT and 1 MUG, paid by wire transfer (not in the customer's wallet)."""
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data


def copy(
    api: Any,
    source_id: str,
    kind: str = "order_copies",
    attributes: dict[str, Any] | None = None,
    relationships: dict[str, Any] | None = None,
) -> Any:
    body = document(kind, attributes or {}, {"source_order": ("orders", source_id), **(relationships or {})})
    return api.post(kind, body)


def run_job(factory_id: str) -> str | None:
    """Run the factory's job as the worker does (synchronously)."""
    return services.run(factory_id)


def subscription(api: Any, source_id: str, status: str = "active") -> OrderSubscription:
    """An order subscription row (the subscriptions resource is another issue's)."""
    with scope.active(api.scope()):
        return OrderSubscription.objects.create(source_order_id=source_id, frequency="monthly", status=status)


def copied(
    api: Any, factory_id: str, kind: str = "order_copies"
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The factory's document and its target order's (None when it has none)."""
    factory = api.get(f"{kind}/{factory_id}")
    assert factory.status == 200, factory
    linked = api.get(f"{kind}/{factory_id}/target_order").data
    return factory.data, linked


@pytest.fixture
def source(api: Any, shop: Any) -> dict[str, Any]:
    """A placed order of 2 TSHIRT and 1 MUG whose payment source is in the customer's wallet (a copy can be
    placed)."""
    order = new_order(api, shop, {"TSHIRT": 2, "MUG": 1})
    r = api.update("orders", order["id"], {"_save_payment_source_to_customer_wallet": True})
    assert r.status == 200, r
    r = place(api, order["id"])
    assert r.status == 200, r
    return r.data


def source_lines(api: Any, order_id: str) -> dict[str, str]:
    """sku code -> the source's line id."""
    return {line["attributes"]["sku_code"]: line["id"] for line in line_items(api, order_id)}


def set_stock(api: Any, sku_code: str, quantity: int) -> None:
    """All of the SKU's stock in the first location, none elsewhere."""
    with scope.active(api.scope()):
        items = list(StockItem.objects.filter(sku__code=sku_code).order_by("pk"))
        for position, item in enumerate(items):
            item.quantity = quantity if position == 0 else 0
            item.save(update_fields=["quantity"])


def target_lines(api: Any, order_id: str) -> dict[str, tuple[int, int]]:
    """sku code -> (quantity, unit amount) of the target's SKU lines."""
    return {
        line["attributes"]["sku_code"]: (
            line["attributes"]["quantity"],
            line["attributes"]["unit_amount_cents"],
        )
        for line in line_items(api, order_id)
    }
