"""Placing orders through the HTTP API: how many per second, and how long ``_place`` takes.

Starts ``orderfactory serve --no-worker`` on a temporary database (SQLite by default, or ``--database-url``)
with rate limits off and a fresh data directory, creates an integration app with ``orderfactory apps create
--json``, seeds a catalog through the API (merchant, price list, inventory model with two stock locations,
SKUs with prices and stock, a flat shipping method, a manual gateway and a wire transfer payment method),
then for ``--seconds`` per phase at ``--concurrency`` threads, each thread over its own keep-alive
connection, builds and places orders the way a storefront does:

    POST /api/orders (customer_email, market)      POST /api/line_items  x lines
    POST /api/addresses                            POST /api/wire_transfers
    PATCH /api/orders/<id> (addresses, payment method and source)
    PATCH /api/orders/<id> {_place: true}          <- timed on its own

Phases: orders of 1 line item, then of 20; orders started before the deadline are finished and counted.
It prints orders placed, orders per second (whole flow), and p50/p99 of the ``_place`` request. Figures
only: nothing here asserts a timing.

    .venv/bin/python bench/place_orders.py [--seconds 10] [--concurrency 4]
    .venv/bin/python bench/place_orders.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from api_read import BenchError, Endpoint, authenticate, call, started_server

SKUS = 40
ADDRESS = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "line_1": "Via Roma 1",
    "city": "Milano",
    "zip_code": "20100",
    "country_code": "IT",
    "phone": "+39 02 123456",
}


class Client:
    """One keep-alive connection speaking JSON:API documents."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.connection = endpoint.connect()

    def send(self, method: str, path: str, document: dict[str, Any] | None, wanted: int) -> dict[str, Any]:
        body = json.dumps(document).encode() if document is not None else None
        try:
            status, answer = call(
                self.connection, method, path, self.endpoint.headers(body=body is not None), body
            )
        except (http.client.HTTPException, OSError):
            # The server may close an idle keep-alive connection; one more try on a new one.
            self.connection.close()
            self.connection = self.endpoint.connect()
            status, answer = call(
                self.connection, method, path, self.endpoint.headers(body=body is not None), body
            )
        if status != wanted:
            raise BenchError(f"{method} {path}: HTTP {status} {answer[:400]!r}")
        return json.loads(answer) if answer else {}

    def create(
        self,
        type_name: str,
        attributes: dict[str, Any],
        relationships: dict[str, tuple[str, str]] | None = None,
    ) -> str:
        data: dict[str, Any] = {"type": type_name, "attributes": attributes}
        if relationships:
            data["relationships"] = {k: {"data": {"type": t, "id": i}} for k, (t, i) in relationships.items()}
        return self.send("POST", f"/api/{type_name}", {"data": data}, 201)["data"]["id"]

    def update(
        self,
        type_name: str,
        rid: str,
        attributes: dict[str, Any],
        relationships: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        data: dict[str, Any] = {"type": type_name, "id": rid, "attributes": attributes}
        if relationships:
            data["relationships"] = {k: {"data": {"type": t, "id": i}} for k, (t, i) in relationships.items()}
        self.send("PATCH", f"/api/{type_name}/{rid}", {"data": data}, 200)

    def close(self) -> None:
        self.connection.close()


@dataclass
class Shop:
    market: str
    payment_method: str
    skus: list[str]


def seed(endpoint: Endpoint, tag: str) -> Shop:
    """A market whose SKUs never run out in a bench run, all created through the API."""
    c = Client(endpoint)
    merchant = c.create(
        "merchants",
        {"name": "Bench"},
        {"address": ("addresses", c.create("addresses", {**ADDRESS, "business": True, "company": "Bench"}))},
    )
    price_list = c.create("price_lists", {"name": f"{tag} EUR", "currency_code": "EUR"})
    model = c.create("inventory_models", {"name": f"{tag} inventory"})
    locations = []
    for priority, name in enumerate(("milan", "berlin"), start=1):
        address = c.create("addresses", {**ADDRESS, "business": True, "company": name})
        location = c.create("stock_locations", {"name": f"{tag} {name}"}, {"address": ("addresses", address)})
        c.create(
            "inventory_stock_locations",
            {"priority": priority},
            {"stock_location": ("stock_locations", location), "inventory_model": ("inventory_models", model)},
        )
        locations.append(location)
    category = c.create("shipping_categories", {"name": f"{tag} default"})
    skus = []
    for n in range(SKUS):
        code = f"{tag.upper()}-{n:03d}"
        sku = c.create(
            "skus",
            {"code": code, "name": f"Bench item {n}"},
            {"shipping_category": ("shipping_categories", category)},
        )
        c.create(
            "prices",
            {"amount_cents": 500 + n * 10},
            {"price_list": ("price_lists", price_list), "sku": ("skus", sku)},
        )
        for location in locations:
            c.create(
                "stock_items",
                {"quantity": 10_000_000},
                {"stock_location": ("stock_locations", location), "sku": ("skus", sku)},
            )
        skus.append(code)
    market = c.create(
        "markets",
        {"name": f"{tag} market", "code": tag},
        {
            "merchant": ("merchants", merchant),
            "price_list": ("price_lists", price_list),
            "inventory_model": ("inventory_models", model),
        },
    )
    shipping = c.create(
        "shipping_methods",
        {
            "name": "Standard",
            "price_amount_cents": 700,
            "free_over_amount_cents": 10000,
            "currency_code": "EUR",
        },
    )
    c.update("markets", market, {}, {"default_shipping_method": ("shipping_methods", shipping)})
    gateway = c.create("manual_gateways", {"name": "Manual"})
    payment_method = c.create(
        "payment_methods",
        {"payment_source_type": "wire_transfers", "price_amount_cents": 0, "currency_code": "EUR"},
        {
            "market": ("markets", market),
            "payment_gateway": ("manual_gateways", gateway),
        },
    )
    c.close()
    return Shop(market, payment_method, skus)


def build_and_place(c: Client, shop: Shop, lines: int, n: int) -> float:
    """One order the storefront way; returns the seconds the ``_place`` request took."""
    order = c.create(
        "orders", {"customer_email": f"buyer{n % 50}@example.com"}, {"market": ("markets", shop.market)}
    )
    for i in range(lines):
        c.create(
            "line_items",
            {"sku_code": shop.skus[(n + i) % len(shop.skus)], "quantity": 1 + i % 3},
            {"order": ("orders", order)},
        )
    address = c.create("addresses", ADDRESS)
    transfer = c.create("wire_transfers", {})
    c.update(
        "orders",
        order,
        {},
        {
            "billing_address": ("addresses", address),
            "shipping_address": ("addresses", address),
            "payment_method": ("payment_methods", shop.payment_method),
            "payment_source": ("wire_transfers", transfer),
        },
    )
    began = time.perf_counter()
    placed = c.send(
        "PATCH",
        f"/api/orders/{order}",
        {"data": {"type": "orders", "id": order, "attributes": {"_place": True}}},
        200,
    )
    took = time.perf_counter() - began
    if placed["data"]["attributes"]["status"] != "placed":
        raise BenchError(f"order {order} is {placed['data']['attributes']['status']} after _place")
    return took


@dataclass
class Phase:
    name: str
    seconds: float
    latencies: list[float] = field(repr=False)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def measure(endpoint: Endpoint, shop: Shop, lines: int, *, seconds: float, concurrency: int) -> Phase:
    """``concurrency`` threads start orders until the deadline and finish the ones they started; the rate is
    orders placed over the time until the last one was."""
    latencies: list[list[float]] = [[] for _ in range(concurrency)]
    failures: list[str] = []
    start = threading.Barrier(concurrency + 1)
    deadline: list[float] = []

    def worker(index: int) -> None:
        c = Client(endpoint)
        start.wait()
        n = index
        try:
            while not failures and time.perf_counter() < deadline[0]:
                latencies[index].append(build_and_place(c, shop, lines, n))
                n += concurrency
        except BenchError as exc:
            failures.append(str(exc))
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline.append(began + seconds)
    start.wait()
    for thread in threads:
        thread.join()
    if failures:
        raise BenchError(failures[0])
    everything = [t for mine in latencies for t in mine]
    return Phase(f"{lines} line item{'s' if lines > 1 else ''}", time.perf_counter() - began, everything)


def run(args: argparse.Namespace) -> int:
    with started_server(args) as server:
        authenticate(server)
        tag = f"b{secrets.token_hex(3)}"
        began = time.perf_counter()
        shop = seed(server.endpoint, tag)
        print(f"orderfactory placing benchmark: server {server.description}")
        print(
            f"catalog of {SKUS} SKUs seeded through the API in {time.perf_counter() - began:.1f} s; "
            f"{args.concurrency} threads, {args.seconds:g} s per phase"
        )
        # One order first: the server's first requests pay for imports and the first order number.
        warm = Client(server.endpoint)
        build_and_place(warm, shop, 1, 0)
        warm.close()
        phases = [
            measure(server.endpoint, shop, lines, seconds=args.seconds, concurrency=args.concurrency)
            for lines in (1, 20)
        ]
    print()
    print(f"{'orders of':<16}{'placed':>8}{'orders/s':>10}{'_place p50 ms':>15}{'_place p99 ms':>15}")
    for phase in phases:
        print(
            f"{phase.name:<16}{len(phase.latencies):>8}{phase.rate:>10.1f}{phase.percentile(0.5):>15.1f}{phase.percentile(0.99):>15.1f}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="measuring time per phase")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--server-threads", type=int, default=8)
    args = parser.parse_args(argv)
    args.with_worker = False
    try:
        return run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
