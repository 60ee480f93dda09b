"""A small shop: one market (EUR), two stock locations, SKUs with prices and stock, a flat shipping method,
a manual-gateway wire transfer payment method."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest

from orderfactory.addresses.models import Address
from orderfactory.catalog.models import (
    Market,
    Merchant,
    Price,
    PriceList,
    ShippingCategory,
    ShippingMethod,
    Sku,
)
from orderfactory.core import scope
from orderfactory.inventory.models import InventoryModel, InventoryStockLocation, StockItem, StockLocation
from orderfactory.payments.models import ManualGateway, PaymentMethod

ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "line_1": "Via Roma 1",
    "city": "Milano",
    "zip_code": "20100",
    "country_code": "IT",
    "phone": "+39 02 123456",
}


@dataclass
class Shop:
    market: Market
    price_list: PriceList
    skus: dict[str, Sku]
    stock: dict[tuple[str, str], StockItem]
    locations: list[StockLocation]
    shipping_method: ShippingMethod
    payment_method: PaymentMethod
    category: ShippingCategory


def build_shop(
    api: Any, *, skus: dict[str, tuple[int, dict[str, int]]] | None = None, code: str = "EU"
) -> Shop:
    """``skus``: code -> (price cents, {location name: quantity})."""
    skus = skus or {"TSHIRT": (1500, {"milan": 10, "berlin": 5}), "MUG": (800, {"milan": 3})}
    with scope.active(api.scope()):
        address = Address.objects.create(**{**ADDRESS, "business": True, "company": "Shop"})
        merchant = Merchant.objects.create(name="Shop", address=address)
        price_list = PriceList.objects.create(name="EUR", currency_code="EUR")
        model = InventoryModel.objects.create(name="EU")
        locations = []
        for priority, name in enumerate(["milan", "berlin"], start=1):
            loc = StockLocation.objects.create(
                number=StockLocation.objects.count() + 1,
                name=name,
                code=f"{code}-{name}",
                address=Address.objects.create(**{**ADDRESS, "business": True, "company": name}),
            )
            InventoryStockLocation.objects.create(
                stock_location=loc, inventory_model=model, priority=priority
            )
            locations.append(loc)
        category = ShippingCategory.objects.create(name="Default")
        market = Market.objects.create(
            name="Europe", code=code, merchant=merchant, price_list=price_list, inventory_model=model
        )
        method = ShippingMethod.objects.create(
            name="Standard", price_amount_cents=700, free_over_amount_cents=10000, currency_code="EUR"
        )
        market.default_shipping_method = method
        market.save()
        gateway = ManualGateway.objects.create(name="Manual")
        payment_method = PaymentMethod.objects.create(
            name="Wire transfer",
            payment_source_type="wire_transfers",
            market=market,
            payment_gateway_type="manual_gateways",
            payment_gateway_id=gateway.pk,
            price_amount_cents=0,
        )
        sku_rows, stock = {}, {}
        for sku_code, (cents, levels) in skus.items():
            sku = Sku.objects.filter(code=sku_code).first() or Sku.objects.create(
                code=sku_code,
                name=sku_code.title(),
                shipping_category=category,
                image_url=f"https://img/{sku_code}.png",
            )
            Price.objects.create(price_list=price_list, sku=sku, amount_cents=cents, currency_code="EUR")
            for loc in locations:
                if loc.name in levels:
                    stock[(sku_code, loc.name)] = StockItem.objects.create(
                        stock_location=loc, sku=sku, quantity=levels[loc.name]
                    )
            sku_rows[sku_code] = sku
    return Shop(market, price_list, sku_rows, stock, locations, method, payment_method, category)


@pytest.fixture
def shop(api: Any) -> Shop:
    return build_shop(api)


def new_order(
    api: Any,
    shop: Shop,
    lines: dict[str, int] | None = None,
    *,
    email: str = "ada@example.com",
    ready: bool = True,
) -> dict[str, Any]:
    """An order with line items; ``ready`` adds addresses, payment method and a wire transfer."""
    order = _create_order(api, shop, email)
    for sku_code, quantity in (lines or {"TSHIRT": 2}).items():
        api.create("line_items", {"sku_code": sku_code, "quantity": quantity}, {"order": order})
    if ready:
        billing = api.create("addresses", ADDRESS)
        shipping = api.create("addresses", {**ADDRESS, "line_1": "Via Verdi 2"})
        transfer = api.create("wire_transfers", {}, None)
        r = api.update(
            "orders",
            order["id"],
            relationships={
                "billing_address": billing,
                "shipping_address": shipping,
                "payment_method": ("payment_methods", shop.payment_method.pk),
                "payment_source": transfer,
            },
        )
        assert r.status == 200, r
        order = r.data
    return api.get(f"orders/{order['id']}").data


def _create_order(api: Any, shop: Shop, email: str) -> dict[str, Any]:
    from tests.conftest import document

    body = document("orders", {"customer_email": email})
    body["data"]["relationships"] = {"market": {"data": {"type": "markets", "id": shop.market.pk}}}
    r = api.post("orders", body)
    assert r.status == 201, r
    return r.data


def place(api: Any, order_id: str) -> Any:
    from tests.conftest import document

    return api.patch(f"orders/{order_id}", document("orders", {"_place": True}, rid=order_id))


def place_at_once(api: Any, order_ids: list[str]) -> tuple[dict[str, int], dict[str, Any]]:
    """Place the orders at the same moment, each from its own thread, client and database connection: their
    statuses and response bodies by order id."""
    import threading

    from django.db import connections

    from tests.conftest import Api

    start = threading.Barrier(len(order_ids), timeout=30)
    statuses: dict[str, int] = {}
    bodies: dict[str, Any] = {}

    def buy(order_id: str) -> None:
        caller = Api(api.token, api.app, api.organization)
        try:
            start.wait()
            r = place(caller, order_id)
            statuses[order_id], bodies[order_id] = r.status, r.json
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy, args=(order_id,)) for order_id in order_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return statuses, bodies


def problems(response: Any) -> dict[str, list[str]]:
    """A 422's errors as pointer -> titles."""
    found: dict[str, list[str]] = {}
    for error in response.json["errors"]:
        found.setdefault(error.get("source", {}).get("pointer", ""), []).append(error["title"])
    return found


def line_items(api: Any, order_id: str, item_type: str = "skus") -> list[dict[str, Any]]:
    r = api.get(f"orders/{order_id}/line_items", {"filter[q][item_type_eq]": item_type, "page[size]": "25"})
    assert r.status == 200, r
    return r.data


def stock_of(api: Any, shop: Shop) -> dict[tuple[str, str], int]:
    with scope.active(api.scope()):
        return {key: StockItem.objects.get(pk=item.pk).quantity for key, item in shop.stock.items()}


def coupon(
    api: Any,
    code: str = "SUMMER2026",
    *,
    percentage: int = 10,
    usage_limit: int | None = None,
    days: int = 30,
) -> dict[str, Any]:
    """A percentage discount promotion with a coupon codes rule and one coupon, made through the API."""
    from orderfactory.core import clock
    from orderfactory.jsonapi.resource import format_datetime

    now = clock.now()
    promotion = api.create(
        "percentage_discount_promotions",
        {
            "name": f"{percentage}% off",
            "percentage": percentage,
            "starts_at": format_datetime(now - dt.timedelta(days=1)),
            "expires_at": format_datetime(now + dt.timedelta(days=days)),
        },
    )
    rule = api.create("coupon_codes_promotion_rules", {}, {"promotion": promotion})
    return api.create("coupons", {"code": code, "usage_limit": usage_limit}, {"promotion_rule": rule})
