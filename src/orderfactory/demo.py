"""``orderfactory demo``: a demo organization to try the service with, made through the API as any client
would make it (every row validated, priced, audited and evented as usual).

It holds a catalog of four SKUs with prices and stock, two customers whose payment sources are in their
wallets, three placed orders, and two order subscriptions whose next run is due ``runs_in`` seconds from now
(``orderfactory serve`` runs the scheduler), and an admin operator of the console at ``/console/`` to watch
them with. The organization is made once: run again, the command refuses
and says how to get new credentials or another demo organization (docs/decisions.md, "The demo").
"""

from __future__ import annotations

import datetime as dt
import shlex
from dataclasses import dataclass, field
from typing import Any

import orjson

ORGANIZATION = "demo-store"
SKUS = {  # code: (name, price in cents, units in stock)
    "COFFEE-250G": ("Ground coffee, 250 g", 890, 500),
    "COFFEE-1KG": ("Coffee beans, 1 kg", 2990, 200),
    "FILTERS-100": ("Paper filters, 100", 390, 1000),
    "MUG": ("Enamel mug", 1200, 50),
}
ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "line_1": "Via Roma 1",
    "city": "Milano",
    "zip_code": "20100",
    "state_code": "MI",
    "country_code": "IT",
    "phone": "+39 02 123456",
}
CUSTOMERS = {  # email: orders to place (SKU code: quantity), the first one subscribed to
    "ada@example.com": [{"COFFEE-250G": 2, "FILTERS-100": 1}, {"COFFEE-1KG": 1, "MUG": 2}],
    "grace@example.com": [{"COFFEE-1KG": 2}],
}


class DemoExists(Exception):
    """The demo organization was made before."""


@dataclass
class Demo:
    organization: str
    client_id: str
    client_secret: str
    orders: list[str] = field(default_factory=list)
    subscriptions: list[str] = field(default_factory=list)
    next_run_at: str = ""
    operator_email: str = ""
    operator_password: str = ""

    def variables(self) -> dict[str, str]:
        """The shell variables the printed commands use."""
        return {
            "CLIENT_ID": self.client_id,
            "CLIENT_SECRET": self.client_secret,
            "ORDER_ID": self.orders[0],
            "SUBSCRIPTION_ID": self.subscriptions[0],
        }


def instructions(demo: Demo, base: str) -> str:
    """What ``orderfactory demo`` prints: what it made, its credentials, and commands to paste."""
    auth = '-H "Authorization: Bearer $TOKEN"'
    source = '{"type":"orders","id":"\'$ORDER_ID\'"}'
    variables = "\n".join(f"  {name}={shlex.quote(value)}" for name, value in demo.variables().items())
    return f"""Demo organization {demo.organization!r} (test mode): {len(SKUS)} SKUs in stock, {len(CUSTOMERS)} \
customers with wallets,
{len(demo.orders)} placed orders and {len(demo.subscriptions)} order subscriptions whose next run is due at \
{demo.next_run_at} (the scheduler of `orderfactory serve` runs them).

Its credentials (the secret is shown only now), an order and a subscription:
{variables}

With `orderfactory serve` running, paste those four lines, then:
  BASE={base}
  TOKEN=$(curl -s $BASE/oauth/token -H 'Content-Type: application/json' \\
    -d '{{"grant_type":"client_credentials","client_id":"'$CLIENT_ID'","client_secret":"'$CLIENT_SECRET'"}}' \\
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  # copy the order
  curl -s $BASE/api/order_copies {auth} -H 'Content-Type: application/vnd.api+json' \\
    -d '{{"data":{{"type":"order_copies","relationships":{{"source_order":{{"data":{source}}}}}}}}}'
  # watch the copy complete
  curl -s -g "$BASE/api/order_copies?fields[order_copies]=status,completed_at&sort=-created_at" {auth}
  # watch the subscription run when it is due
  curl -s -g "$BASE/api/order_subscriptions/$SUBSCRIPTION_ID/subscription_runs" {auth}
  # or watch it all in the console, $BASE/console/, signed in as {demo.operator_email}
  # with the password {demo.operator_password} (an admin; shown only now, stored hashed)"""


class _Client:
    """The API, called in process with the demo application's token; any answer but the expected one stops
    the demo with the API's errors."""

    def __init__(self, token: str) -> None:
        from django.test import Client

        self.http = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT="application/vnd.api+json")

    def send(self, method: str, path: str, body: dict[str, Any] | None, expect: int) -> dict[str, Any]:
        response = self.http.generic(
            method, f"/api/{path}", orjson.dumps(body) if body else b"", "application/vnd.api+json"
        )
        if response.status_code != expect:
            raise RuntimeError(
                f"{method} /api/{path} answered {response.status_code}: {response.content[:500]!r}"
            )
        return orjson.loads(response.content)["data"] if response.content else {}

    def create(self, type_name: str, attributes: dict[str, Any], **relationships: Any) -> dict[str, Any]:
        return self.send("POST", type_name, _document(type_name, attributes, relationships), 201)

    def update(
        self, resource: dict[str, Any], attributes: dict[str, Any], **relationships: Any
    ) -> dict[str, Any]:
        type_name, rid = resource["type"], resource["id"]
        return self.send(
            "PATCH", f"{type_name}/{rid}", _document(type_name, attributes, relationships, rid), 200
        )


def _document(
    type_name: str, attributes: dict[str, Any], relationships: dict[str, Any], rid: str | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"type": type_name, "attributes": attributes}
    if rid is not None:
        data["id"] = rid
    if relationships:
        data["relationships"] = {
            name: {"data": {"type": target["type"], "id": target["id"]}}
            for name, target in relationships.items()
        }
    return {"data": data}


def create(organization: str = ORGANIZATION, *, runs_in: float = 60) -> Demo:
    """Make the demo organization (test mode) and return its credentials and what it holds. Raises
    DemoExists when the organization exists already."""
    from orderfactory.auth import services, tokens
    from orderfactory.auth.models import Organization
    from orderfactory.console import services as console
    from orderfactory.core import clock
    from orderfactory.jsonapi.resource import format_datetime

    if Organization.objects.filter(slug=organization).exists():
        raise DemoExists(organization)
    app, secret = services.create_application(
        name="demo", kind="integration", mode="test", organization_slug=organization
    )
    api = _Client(tokens.issue_token(app, None)["access_token"])
    demo = Demo(organization, app.client_id, secret)
    demo.operator_email = f"operator@{organization}.example"
    demo.operator_password = console.generate_password()
    console.create_operator(
        email=demo.operator_email,
        organization_slug=organization,
        role="admin",
        password=demo.operator_password,
    )
    market, method = _catalog(api)
    for email, baskets in CUSTOMERS.items():
        for basket in baskets:
            demo.orders.append(_placed_order(api, market, method, email, basket)["id"])
    first_run = clock.now() + dt.timedelta(seconds=runs_in)
    demo.next_run_at = format_datetime(first_run)
    for order_id in (demo.orders[0], demo.orders[2]):  # one subscription per customer
        subscription = api.create(
            "order_subscriptions", {"frequency": "daily"}, source_order={"type": "orders", "id": order_id}
        )
        api.update(subscription, {"next_run_at": demo.next_run_at})
        demo.subscriptions.append(subscription["id"])
    return demo


def _catalog(api: _Client) -> tuple[dict[str, Any], dict[str, Any]]:
    """A market in euros with its stock, shipping and a wire transfer payment method: (market, method)."""
    home = api.create("addresses", {**ADDRESS, "business": True, "company": "Demo Coffee Co."})
    merchant = api.create("merchants", {"name": "Demo Coffee Co."}, address=home)
    price_list = api.create("price_lists", {"name": "Euro", "code": "EUR", "currency_code": "EUR"})
    inventory = api.create("inventory_models", {"name": "Europe"})
    warehouse = api.create(
        "stock_locations",
        {"name": "Milan warehouse", "code": "MILAN"},
        address=api.create("addresses", {**ADDRESS, "business": True, "company": "Milan warehouse"}),
    )
    api.create(
        "inventory_stock_locations", {"priority": 1}, stock_location=warehouse, inventory_model=inventory
    )
    category = api.create("shipping_categories", {"name": "Parcels", "code": "PARCELS"})
    plan = api.create(
        "subscription_models", {"name": "Subscribe & save", "frequencies": ["daily", "weekly", "monthly"]}
    )
    market = api.create(
        "markets",
        {"name": "Europe", "code": "EU"},
        merchant=merchant,
        price_list=price_list,
        inventory_model=inventory,
        subscription_model=plan,
    )
    shipping = api.create(
        "shipping_methods",
        {"name": "Standard", "price_amount_cents": 490, "free_over_amount_cents": 5000},
        market=market,
    )
    api.update(market, {}, default_shipping_method=shipping)
    gateway = api.create("manual_gateways", {"name": "Bank transfer"})
    method = api.create(
        "payment_methods",
        {"payment_source_type": "wire_transfers", "price_amount_cents": 0},
        market=market,
        payment_gateway=gateway,
    )
    for code, (name, cents, units) in SKUS.items():
        sku = api.create("skus", {"code": code, "name": name}, shipping_category=category)
        api.create("prices", {"amount_cents": cents}, price_list=price_list, sku=sku)
        api.create("stock_items", {"quantity": units}, stock_location=warehouse, sku=sku)
    return market, method


def _placed_order(
    api: _Client, market: dict[str, Any], method: dict[str, Any], email: str, basket: dict[str, int]
) -> dict[str, Any]:
    """An order of ``basket`` for ``email``, paid by wire transfer, placed, its payment source saved to the
    customer's wallet (which the subscription runs pay from)."""
    order = api.create("orders", {"customer_email": email}, market=market)
    for code, quantity in basket.items():
        api.create("line_items", {"sku_code": code, "quantity": quantity}, order=order)
    first_name = email.split("@")[0].title()
    address = api.create("addresses", {**ADDRESS, "first_name": first_name})
    api.update(
        order,
        {"_save_payment_source_to_customer_wallet": True},
        billing_address=address,
        shipping_address=address,
        payment_method=method,
        payment_source=api.create("wire_transfers", {}),
    )
    return api.update(order, {"_place": True})
