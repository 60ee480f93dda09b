"""A mixed load, then a count that nothing was lost: ``--clients`` threads for ``--seconds`` against
``orderfactory serve`` (embedded worker on), each doing in turn what a storefront and an ERP do:

- **copy**: ``POST /api/order_copies`` of one of the placed source orders (every other copy places its target);
- **list**: ``GET /api/orders`` (page of 25, newest first, including line items) and ``GET /api/order_copies``;
- **place**: a new order the storefront way (order, 2 line items, address, wire transfer, ``_place``).

Then it waits for the worker to finish every copy and checks through the API that each copy accepted (201)
completed exactly once: every one ``completed`` with its own target order, and the orders are exactly the
orders the clients created plus one per copy. It prints operations, rates, p50/p99, non-2xx answers by
status, how long the queue took to drain, and the check. Figures only; the check's failure is exit status 1.

    .venv/bin/python bench/mixed_load.py [--seconds 60] [--clients 16]
    .venv/bin/python bench/mixed_load.py --database-url postgresql://postgres@127.0.0.1:5432/of_bench_mixed
"""

from __future__ import annotations

import argparse
import http.client
import json
import secrets
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from api_read import BenchError, Endpoint, authenticate, call, started_server
from place_orders import ADDRESS, Client, Shop, seed

SOURCES = 8


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: {"copy": [], "list": [], "place": []})
    refused: Counter[tuple[str, int]] = field(default_factory=Counter)
    accepted_copies: list[str] = field(default_factory=list)
    orders_created: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _send(c: Client, method: str, path: str, document: dict[str, Any] | None = None) -> tuple[int, Any]:
    """(status, parsed answer); one more try on a new connection when the server closed an idle one."""
    body = json.dumps(document).encode() if document is not None else None
    headers = c.endpoint.headers(body=body is not None)
    try:
        status, answer = call(c.connection, method, path, headers, body)
    except (http.client.HTTPException, OSError):
        c.connection.close()
        c.connection = c.endpoint.connect()
        status, answer = call(c.connection, method, path, headers, body)
    return status, json.loads(answer) if answer else None


def _copy(c: Client, source: str, place: bool, tally: Tally) -> int:
    relationships = {"source_order": {"data": {"type": "orders", "id": source}}}
    attributes = {"place_target_order": place, "reuse_wallet": True}
    document: dict[str, Any] = {"data": {"type": "order_copies", "attributes": attributes}}
    document["data"]["relationships"] = relationships
    status, answer = _send(c, "POST", "/api/order_copies", document)
    if status == 201:
        with tally.lock:
            tally.accepted_copies.append(answer["data"]["id"])
    return status


def _list(c: Client, k: int) -> int:
    if k % 2:
        return _send(c, "GET", "/api/orders?page%5Bsize%5D=25&sort=-created_at&include=line_items")[0]
    return _send(c, "GET", "/api/order_copies?page%5Bsize%5D=25&sort=-created_at")[0]


def _place(c: Client, shop: Shop, k: int, tally: Tally, lines: int = 2) -> tuple[int, str | None]:
    """An order the storefront way, its payment source saved to the customer's wallet: (the status of the
    first request that failed, or of _place; the order's id once it was created)."""
    relationships = {"market": {"data": {"type": "markets", "id": shop.market}}}
    status, answer = _send(
        c,
        "POST",
        "/api/orders",
        {
            "data": {
                "type": "orders",
                "attributes": {"customer_email": f"b{k % 50}@example.com"},
                "relationships": relationships,
            }
        },
    )
    if status != 201:
        return status, None
    order = answer["data"]["id"]
    with tally.lock:
        tally.orders_created.add(order)
    try:
        for i in range(lines):
            c.create(
                "line_items",
                {"sku_code": shop.skus[(k + i) % len(shop.skus)], "quantity": 1},
                {"order": ("orders", order)},
            )
        address = c.create("addresses", ADDRESS)
        transfer = c.create("wire_transfers", {})
        c.update(
            "orders",
            order,
            {"_save_payment_source_to_customer_wallet": True},
            {
                "billing_address": ("addresses", address),
                "shipping_address": ("addresses", address),
                "payment_method": ("payment_methods", shop.payment_method),
                "payment_source": ("wire_transfers", transfer),
            },
        )
    except BenchError as exc:
        return int(str(exc).split("HTTP ", 1)[1][:3]), order
    placing = {"data": {"type": "orders", "id": order, "attributes": {"_place": True}}}
    return _send(c, "PATCH", f"/api/orders/{order}", placing)[0], order


def _client(
    endpoint: Endpoint, shop: Shop, sources: list[str], index: int, deadline: float, tally: Tally
) -> None:
    c = Client(endpoint)
    k = index
    try:
        while time.perf_counter() < deadline:
            action = ("copy", "list", "place")[k % 3]
            began = time.perf_counter()
            if action == "copy":
                status = _copy(c, sources[(k // 3) % len(sources)], k % 2 == 0, tally)
            elif action == "list":
                status = _list(c, k)
            else:
                status = _place(c, shop, k, tally)[0]
            took = time.perf_counter() - began
            with tally.lock:
                if 200 <= status < 300:
                    tally.latencies[action].append(took)
                else:
                    tally.refused[(action, status)] += 1
            k += 1
    finally:
        c.close()


def _count(c: Client, path: str) -> int:
    return int(c.send("GET", path, None, 200)["meta"]["record_count"])


def _copies(c: Client) -> dict[str, tuple[str, str | None]]:
    """Every copy: id -> (status, target order id)."""
    found: dict[str, tuple[str, str | None]] = {}
    page = 1
    while True:
        answer = c.send(
            "GET",
            f"/api/order_copies?page%5Bsize%5D=25&page%5Bnumber%5D={page}&include=target_order"
            "&fields%5Borders%5D=number&fields%5Border_copies%5D=status,target_order",
            None,
            200,
        )
        for row in answer["data"]:
            target = row["relationships"]["target_order"].get("data")
            found[row["id"]] = (row["attributes"]["status"], target["id"] if target else None)
        if page >= answer["meta"]["page_count"]:
            return found
        page += 1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def run(args: argparse.Namespace) -> int:
    with started_server(args) as server:
        authenticate(server)
        shop = seed(server.endpoint, f"m{secrets.token_hex(3)}")
        c = Client(server.endpoint)
        tally = Tally()
        sources = []
        for n in range(SOURCES):  # the copies that place their target pay from the customer's wallet
            status, source = _place(c, shop, n, tally, lines=3)
            if status != 200 or source is None:
                raise BenchError(f"placing a source order answered {status}")
            sources.append(source)
        print(f"orderfactory mixed load: server {server.description}")
        print(
            f"{args.clients} clients for {args.seconds:g} s: copies of {SOURCES} orders, lists, placed orders"
        )
        began = time.perf_counter()
        deadline = began + args.seconds
        threads = [
            threading.Thread(
                target=_client, args=(server.endpoint, shop, sources, i, deadline, tally), daemon=True
            )
            for i in range(args.clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        drain_began = time.perf_counter()
        while _count(
            c, "/api/order_copies?filter%5Bq%5D%5Bstatus_in%5D=pending,in_progress&page%5Bsize%5D=1"
        ):
            if time.perf_counter() - drain_began > args.drain_timeout:
                break
            time.sleep(0.5)
        drained = time.perf_counter() - drain_began
        copies = _copies(c)
        orders = _count(c, "/api/orders?page%5Bsize%5D=1")
        c.close()

    print()
    print(f"{'action':<8}{'ok':>8}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}")
    for action, latencies in tally.latencies.items():
        print(
            f"{action:<8}{len(latencies):>8}{len(latencies) / elapsed:>8.1f}"
            f"{_percentile(latencies, 0.5):>9.1f}{_percentile(latencies, 0.99):>9.1f}"
        )
    refused = ", ".join(f"{action} {status}: {n}" for (action, status), n in sorted(tally.refused.items()))
    print(f"non-2xx answers: {refused or 'none'}")
    accepted = set(tally.accepted_copies)
    completed = {pk for pk, (status, _) in copies.items() if status == "completed"}
    targets = [target for _, target in copies.values() if target is not None]
    problems = []
    if accepted - set(copies):
        problems.append(f"{len(accepted - set(copies))} accepted copies are missing")
    if accepted - completed:
        ended = Counter(copies[pk][0] for pk in accepted - completed if pk in copies)
        problems.append(f"{len(accepted - completed)} accepted copies did not complete ({dict(ended)})")
    if set(copies) - accepted:
        problems.append(f"{len(set(copies) - accepted)} copies exist that no 201 accepted")
    if any(copies[pk][1] is None for pk in completed) or len(set(targets)) != len(targets):
        problems.append("a completed copy has no target, or shares one")
    if orders != len(tally.orders_created) + len(targets) or set(targets) & tally.orders_created:
        problems.append(
            f"{orders} orders, not {len(tally.orders_created)} made by clients + {len(targets)} copies"
        )
    print(
        f"copies accepted {len(accepted)}, completed {len(completed)} (queue drained {drained:.1f} s after the load)"
    )
    print(f"orders {orders} = {len(tally.orders_created)} created by clients + {len(targets)} copy targets")
    print(
        "exactly once: " + ("yes, nothing lost or doubled" if not problems else "NO: " + "; ".join(problems))
    )
    return 0 if not problems else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL URL (default: a temporary SQLite file)"
    )
    parser.add_argument("--server-threads", type=int, default=8)
    parser.add_argument("--drain-timeout", type=float, default=600.0, help="seconds to wait for the copies")
    args = parser.parse_args(argv)
    args.with_worker = True
    try:
        return run(args)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
